"""Every key of the dashboard in one place, each with an id so `keys.toml` can remap it.

The help screen and the command palette are generated from these lists, so a binding added here shows up in
both (vscode-dvc's "three routes to one action": key, palette, `:` command line).
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

# (group title, bindings) - the order is the order of the help screen
APP_BINDINGS: list[Binding] = [
    Binding("question_mark,f1", "help", "Help", id="app.help", key_display="?"),
    Binding("ctrl+p", "command_palette", "Commands", show=False, id="app.palette"),
    Binding("q", "quit_app", "Quit", id="app.quit"),
]

MAIN_BINDINGS: list[Binding] = [
    # view
    Binding("slash", "open_filter", "Filter", id="main.filter", key_display="/"),
    Binding("s", "sort_column", "Sort", id="main.sort"),
    Binding("S", "sort_add_column", "Add sort key", show=False, id="main.sort_add"),
    Binding("L", "toggle_leaderboard", "Leaderboard", show=False, id="main.leaderboard"),
    Binding("c", "columns", "Columns", id="main.columns"),
    Binding("o", "toggle_only_changed", "Only changed", show=False, id="main.only_changed"),
    Binding("colon", "command_line", "Command", show=False, id="main.command_line", key_display=":"),
    Binding("R", "refresh", "Refresh", show=False, id="main.refresh"),
    Binding("escape", "escape", "Clear", show=False, id="main.escape"),
    # selection
    Binding("space", "toggle_mark", "Mark", show=False, id="main.mark"),
    Binding("v", "range_mark", "Range mark", show=False, id="main.range_mark"),
    Binding("V", "clear_marks", "Clear marks", show=False, id="main.clear_marks"),
    Binding("asterisk", "star", "Star", show=False, id="main.star", key_display="*"),
    # actions on the cursor row / marked rows
    Binding("a", "apply", "Apply", show=False, id="main.apply"),
    Binding("b", "branch", "Branch", show=False, id="main.branch"),
    Binding("x,delete", "remove", "Remove", show=False, id="main.remove"),
    Binding("t", "label", "Label", show=False, id="main.label"),
    Binding("n", "note", "Note", show=False, id="main.note"),
    # other screens. `d`, `e`, `Q` and `p` are priority bindings: they open their screen as the key arrives, so the
    # keys read with them in one burst (`e`, Tab, Tab, `99`) reach that screen instead of the table behind it (a
    # non-priority key is handled only after it went through the focused widget and came back up). A focused
    # Input (the filter bar) still gets them as text: Textual leaves out bindings of keys an Input consumes.
    Binding("d", "compare", "Compare", id="main.compare", priority=True),
    Binding("e", "sweep", "Sweep", id="main.sweep", priority=True),
    Binding("Q", "queue_view", "Queue", id="main.queue", priority=True),
    # `l` stays vim-right in the table (h/j/k/l); the log of the cursor row is the row's "drill in"
    Binding("enter", "log", "Log", show=False, id="main.log"),
    Binding("p", "plots", "Plots", id="main.plots", priority=True),
]


@dataclass(frozen=True)
class HelpSection:
    title: str
    binding_ids: tuple[str, ...]


HELP_SECTIONS: tuple[HelpSection, ...] = (
    HelpSection("Move", ("table.up", "table.down", "table.left", "table.right", "table.page_up",
                         "table.page_down", "table.top", "table.bottom")),
    HelpSection("View", ("main.filter", "main.sort", "main.sort_add", "main.leaderboard", "main.columns", "main.only_changed",
                         "main.command_line", "main.refresh", "main.escape")),
    HelpSection("Select", ("main.mark", "main.range_mark", "main.clear_marks", "main.star")),
    HelpSection("Experiment", ("main.apply", "main.branch", "main.remove", "main.label", "main.note")),
    HelpSection("Screens", ("main.compare", "main.sweep", "main.queue", "main.log", "main.plots")),
    HelpSection("App", ("app.help", "app.palette", "app.quit")),
)

# `:` commands, for the help screen and the command line's own error message
COMMAND_LINE_HELP: tuple[tuple[str, str], ...] = (
    (":filter EXPR", "filter rows, like /"),
    (":sort f1 desc, lr", "multi-key sort; bare :sort clears"),
    (":drop REGEX", "hide matching columns"),
    (":keep REGEX", "protect columns from drop"),
    (":only-changed", "hide columns that never differ"),
    (":leaderboard", "rank across baselines"),
    (":reset", "clear filter, sort, columns"),
    (":q", "quit"),
)
