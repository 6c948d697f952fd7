"""`?` help: generated from the live bindings, so remapped keys (keys.toml) show as they really are."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, ClassVar
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from exptui.tui.alive import while_alive
from exptui.tui.app_ref import exptui_app
from exptui.tui.backdrop import DimmedModalScreen
from exptui.tui.opening import OpeningHold
from exptui.tui.bindings import COMMAND_LINE_HELP, HELP_SECTIONS

if TYPE_CHECKING:  # pragma: no cover
    from textual.app import App
    from textual.dom import DOMNode
    from textual.screen import Screen

#: (section title, [(keys, description, binding id)])
Section = tuple[str, list[tuple[str, str, str]]]


def _binding_index() -> dict[str, Binding]:
    """Binding id -> binding, after the keymap was applied (Textual rewrites `key` on keymap load)."""
    from exptui.tui.bindings import APP_BINDINGS, MAIN_BINDINGS
    from exptui.tui.widgets.experiment_table import TABLE_BINDINGS

    index: dict[str, Binding] = {}
    for binding in [*TABLE_BINDINGS, *MAIN_BINDINGS, *APP_BINDINGS]:
        if binding.id:
            index[binding.id] = binding
    return index


def key_label(app: App[Any], binding: Binding, keymap: dict[str, str]) -> str:
    keys = keymap.get(binding.id or "", binding.key)
    parts = []
    for key in keys.split(","):
        key = key.strip()
        if binding.key_display and keys == binding.key and key == binding.key.split(",")[0]:
            parts.append(binding.key_display)
        else:
            parts.append(app.get_key_display(Binding(key, binding.action)))
    return " ".join(dict.fromkeys(parts))


def _section_table(sections: Sequence[Section], show_ids: bool) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", style="bold", min_width=9)
    table.add_column()
    if show_ids:   # set apart from the description ("Only changed  · main.only_changed"), never run together
        table.add_column(style="dim italic")
    for title, rows in sections:
        table.add_row(Text(title, style="bold underline", justify="left"), "")
        for key, description, binding_id in rows:
            table.add_row(Text(key), Text(description), *([Text(f"\u00a0· {binding_id}")] if show_ids else []))
        table.add_row("", "")
    return table


def help_table(app: App[Any], show_ids: bool = True, two_columns: bool = True) -> Table:
    """Sections of keys and what they do (with binding ids, which keys.toml remaps), side by side when wide."""
    index = _binding_index()
    keymap = exptui_app(app).keymap
    sections: list[Section] = []
    for section in HELP_SECTIONS:
        rows = []
        for binding_id in section.binding_ids:
            binding = index.get(binding_id)
            if binding is not None:
                rows.append((key_label(app, binding, keymap), binding.description, binding_id))
        sections.append((section.title, rows))
    command_rows = [(command, meaning, "") for command, meaning in COMMAND_LINE_HELP]
    half = (len(sections) + 1) // 2
    left = _section_table(sections[:half], show_ids)
    right = _section_table(sections[half:], show_ids)
    commands = Table.grid(padding=(0, 1))
    commands.add_column(style="bold")
    commands.add_column()
    commands.add_row(Text("Command line", style="bold underline"), "")
    for command, meaning, _ in command_rows:
        commands.add_row(command, meaning)
    right_column = Table.grid()
    right_column.add_row(right)
    right_column.add_row(commands)
    grid = Table.grid(padding=(0, 4))
    if two_columns:
        grid.add_row(left, right_column)
    else:
        grid.add_row(left)
        grid.add_row(right_column)
    return grid


# terminal widths below which the help drops the binding ids, then stacks its two columns
IDS_MIN_WIDTH = 118
TWO_COLUMNS_MIN_WIDTH = 72
DIALOG_WIDTH = 112          # #help's width in app.tcss


def screen_keys(app: App[Any], screen: Screen[Any]) -> list[tuple[str, str]]:
    """(keys, description) of what `screen` (a view other than the dashboard) binds right now, its focused widget
    included, in binding order: `?` on the queue view should explain the queue view first."""
    def own(node: DOMNode) -> set[tuple[str, str]]:  # what the class itself declares, not Textual's generic widget keys
        declared = type(node).__dict__.get("BINDINGS", [])
        return {(b.action, b.description) for b in declared if isinstance(b, Binding)}

    wanted = own(screen) | (own(screen.focused) if screen.focused is not None else set())
    merged: dict[tuple[str, str], list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if (binding.action, binding.description) not in wanted or not binding.description:
            continue
        if binding.action in ("app.help", "help"):
            continue
        label = app.get_key_display(Binding(key, binding.action))
        keys = merged.setdefault((binding.action, binding.description), [])
        if label not in keys:
            keys.append(label)
    return [(" ".join(keys), description) for (_action, description), keys in merged.items()]


class HelpScreen(DimmedModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "dismiss", "Close", show=False)]

    def __init__(self, context: str | None = None, context_keys: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.context = context
        self.context_keys = context_keys or []
        self.loaded_width: int | None = None    # the width the key table was laid out for (None: still loading)
        self._opening = OpeningHold()            # the cyclic collector waits until the table is shown

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="dialog"):
            yield Label("exptui · keys", classes="dialog-title")
            if self.context_keys:
                here = Table.grid(padding=(0, 1))
                here.add_column(justify="right", style="bold", min_width=9)
                here.add_column()
                here.add_row(Text(self.context or "This view", style="bold underline", justify="left"), "")
                for keys, description in self.context_keys:
                    here.add_row(keys, description)
                here.add_row("", "")
                yield Static(here, id="help-context")
                yield Label("Dashboard", classes="dialog-title")
            yield Static("loading keys…", id="help-table", markup=False)   # filled by a worker: opens at once
            yield Static("Remap any key by its id in ~/.config/exptui/keys.toml ([keys] \"main.filter\" = \"f\")."
                         "  esc closes.", classes="dialog-hint", markup=False)

    def _table(self, width: int) -> Table:
        """As much as fits: ids only when the terminal is wide, one column on a narrow one (nothing cut off)."""
        return help_table(self.app, show_ids=width >= IDS_MIN_WIDTH, two_columns=width >= TWO_COLUMNS_MIN_WIDTH)

    def on_mount(self) -> None:
        self._render_table(self.app.size.width)

    def on_unmount(self) -> None:
        self._opening.release()

    def on_resize(self) -> None:
        if self.loaded_width not in (None, self.app.size.width):
            self._render_table(self.app.size.width)

    @work(thread=True, exclusive=True, group="help-table", exit_on_error=False)
    def _render_table(self, width: int) -> None:
        """Lay the nested rich tables out off the UI thread (measuring them was most of the 1.2 s `?` took under
        load) into plain styled lines, which the Static shows without measuring anything."""
        table = self._table(width)
        inner = min(DIALOG_WIDTH, width * 98 // 100) - 8     # #help's width and max-width, less padding and border
        console = Console(width=max(20, inner), file=io.StringIO(), color_system="truecolor", legacy_windows=False)
        rendered = Text("\n").join(
            Text.assemble(*((segment.text, segment.style or "") for segment in line if not segment.control))
            for line in console.render_lines(table, pad=False))
        self.app.call_from_thread(self._show_table, rendered, width)

    @while_alive   # closed (esc) while the thread laid the table out
    def _show_table(self, rendered: Text, width: int) -> None:
        self.query_one("#help-table", Static).update(rendered)
        self.loaded_width = width
        self.call_after_refresh(self._opening.release)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
