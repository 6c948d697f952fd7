"""Side-by-side comparison of the marked experiments (MLflow-style transposed table) with deltas."""
from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Label

from exptui.project import Project
from exptui.query.compare import Comparison, compare
from exptui.query.direction import DEFAULT_DIRECTIONS, Directions
from exptui.records import ExperimentRow
from exptui.tui.opening import OpeningHold
from exptui.tui.text import assemble, notify, plain
from exptui.tui.widgets.compare_table import CompareTable
from exptui.tui.stylesheets import SCREENS_TCSS
from exptui.tui.widgets.key_line import KeyLine


def export_dir(project: Project) -> Path:
    """`<git dir>/exptui/`: exptui's own files, never in the work tree (so exports are never committed)."""
    return project.git.git_dir / "exptui"


class CompareScreen(Screen[None]):
    """`f` diff-only, `n`/`N` next/previous difference, `r` next reference column, `m` Markdown for a pull request,
    `esc` back. The reference (deltas are against it) is always the first column; the best value of each metric
    row is highlighted."""

    CSS_PATH = SCREENS_TCSS   # the App read it at start-up (same path): pushing the screen re-parses nothing

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "toggle_diff_only", "Diff only"),
        Binding("n", "jump(True)", "Next diff"),
        Binding("N", "jump(False)", "Prev diff"),
        Binding("r", "next_reference", "Reference"),
        Binding("m", "export_markdown", "Markdown"),
    ]

    diff_only: reactive[bool] = reactive(False)

    def __init__(self, project: Project, rows: list[ExperimentRow],
                 directions: Directions = DEFAULT_DIRECTIONS) -> None:
        super().__init__()
        self._opening = OpeningHold()                        # the cyclic collector waits until it is painted
        self.directions = directions                         # the dashboard's (`:better` settings included)
        self.project = project
        self.marked = list(rows)                             # in table order; `r` picks the reference among them
        self.reference = 0
        self.rows = list(rows)                               # the reference first, the others in table order
        self.full: Comparison = compare(self.rows, directions=directions)   # every line: the ● count, n/N
        self.comparison: Comparison = self.full              # what is shown (diff-only drops equal lines)
        self.exported: Path | None = None

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="compare-title", classes="screen-title")
        yield CompareTable(id="compare-table")
        yield KeyLine()

    def _title(self) -> Text:
        differing = sum(1 for line in self.full.lines if line.differs)    # the lines flagged ● in the table
        mode = "differences only" if self.diff_only else "all rows"
        ref = self.full.names[0] if self.full.names else "-"
        return assemble(f"Compare · {len(self.rows)} experiments · {differing} differing rows · {mode} · "
                        "deltas vs ", plain(ref))

    def on_mount(self) -> None:
        table = self.query_one(CompareTable)
        table.show(self.comparison)
        table.focus()
        self.call_after_refresh(self._opening.release)
        if len(self.rows) < 2:
            notify(self, "mark two or more experiments (space) to compare them", severity="warning")

    def on_unmount(self) -> None:
        self._opening.release()

    def watch_diff_only(self, diff_only: bool) -> None:
        if not self.is_mounted:
            return
        self.comparison = compare(self.rows, diff_only, directions=self.directions) if diff_only else self.full
        self.query_one(CompareTable).show(self.comparison)
        self.query_one("#compare-title", Label).update(self._title())

    def action_next_reference(self) -> None:
        """Make the next compared experiment the reference (first column; deltas are against it)."""
        if len(self.marked) < 2:
            return
        self.reference = (self.reference + 1) % len(self.marked)
        chosen = self.marked[self.reference]
        self.rows = [chosen, *(r for i, r in enumerate(self.marked) if i != self.reference)]
        self.full = compare(self.rows, directions=self.directions)
        self.comparison = compare(self.rows, True, directions=self.directions) if self.diff_only else self.full
        self.query_one(CompareTable).show(self.comparison)
        self.query_one("#compare-title", Label).update(self._title())

    def action_toggle_diff_only(self) -> None:
        self.diff_only = not self.diff_only

    def action_jump(self, forward: bool) -> None:
        if not self.query_one(CompareTable).jump(forward):
            notify(self, "the experiments agree on every row", severity="information")

    def action_export_markdown(self) -> None:
        """Write the table as Markdown under `.git/exptui/` and say where; copy it to the clipboard through the
        terminal (OSC 52), and say "sent to the clipboard" only when there is a terminal to send it to."""
        text = self.markdown()
        folder = export_dir(self.project)
        path = folder / f"compare-{time.strftime('%Y%m%d-%H%M%S')}.md"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".md.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            notify(self, f"cannot write {path}: {exc.strerror or exc}", severity="error")
            return
        self.exported = path
        self.app.copy_to_clipboard(text)   # OSC 52: only a real terminal (not a headless run) receives it
        try:
            shown = path.relative_to(self.project.root)
        except ValueError:
            shown = path
        if self.app.is_headless:
            notify(self, f"Markdown saved to {shown} (no terminal to copy it to)")
        else:
            notify(self, f"Markdown saved to {shown}; also sent to the clipboard (OSC 52, if the terminal allows it)")

    def markdown(self) -> str:
        """The shown comparison as a pull-request table (query.compare's Markdown: values, deltas, ✅/❌)."""
        return self.comparison.to_markdown()
