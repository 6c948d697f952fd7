"""The transposed comparison table: a column per experiment, a row per param / metric / run fact."""
from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from exptui.query.cells import truncate
from exptui.query.compare import CompareLine, Comparison
from exptui.query.direction import Delta, format_delta
from exptui.query.inert import inert
from exptui.tui.text import plain
from exptui.tui.widgets.plot_data import colour_for

SECTION_TITLES = {"metrics": "Metrics", "params": "Params", "facts": "Run"}
MAX_VALUE_WIDTH = 40    # one long value (a run's command line) must not push the other experiments off screen


def _clip(text: str, width: int = MAX_VALUE_WIDTH) -> str:
    """The value as shown: inert, at most ``width`` terminal cells."""
    return truncate(inert(text), width)


def delta_text(d: Delta | None) -> Text:
    """`▲ +0.004 (+0.5%)` in green when better, red when worse, cyan when there is no better (params)."""
    if d is None or d.abs is None or not d.changed:
        return Text("")
    arrow = "▲" if (d.abs or 0) > 0 else "▼"
    style = "cyan" if d.better is None else ("bold green" if d.better else "bold red")
    return Text(f" {arrow} {format_delta(d)}", style=style)


def line_key(line: CompareLine) -> tuple[str, str]:
    return (line.section, line.column.id)


class CompareTable(DataTable):
    """Shows a `Comparison` (exptui.query.compare); `lines` holds the shown lines in row order (None for
    section rows)."""

    DEFAULT_CSS = """
    CompareTable { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.lines: list[CompareLine | None] = []

    def show(self, comparison: Comparison) -> None:
        """(Re)build the table; keeps the cursor on the same line when it is still shown."""
        previous = self.current_line()
        self.clear(columns=True)
        self.lines = []
        self.add_column(Text("", style="bold"), key="label")
        names = comparison.names
        for index, name in enumerate(names):
            r, g, b = colour_for(index)
            header = Text(_clip(name), style=f"bold rgb({r},{g},{b})")
            if index == 0:
                header.append(" (ref)", style="dim")
            self.add_column(header, key=f"exp{index}")
        section = None
        visible = list(comparison.lines)
        for line in visible:
            if line.section != section:
                section = line.section
                title = Text(f" {SECTION_TITLES.get(section, section)} ", style="bold reverse")
                files = list(dict.fromkeys(v.column.file for v in visible if v.section == section and v.column.file))
                if files:
                    title.append("  " + ", ".join(inert(f) for f in files), style="dim")
                self.add_row(title, *([""] * len(names)), key=f"section:{section}")
                self.lines.append(None)
            self.add_row(*self._cells(line), key="line:" + ":".join(line_key(line)))
            self.lines.append(line)
        if previous is None or not self.move_to(previous):
            first = next((row for row, line in enumerate(self.lines) if line is not None), 0)
            self.move_cursor(row=first)

    @staticmethod
    def _cells(line: CompareLine) -> list[Text]:
        label = Text()
        if line.differs:
            label.append("● ", style="bold yellow")
        else:
            label.append("  ")
        label.append_text(plain(line.label, style="bold" if line.differs else "dim"))
        cells = [label]
        for index, (text, d) in enumerate(zip(line.texts, line.deltas)):
            cell = Text(_clip(text), style="" if line.differs or index == 0 else "dim")
            cell.append_text(delta_text(d))
            cells.append(cell)
        return cells

    def current_line(self) -> CompareLine | None:
        if 0 <= self.cursor_row < len(self.lines):
            return self.lines[self.cursor_row]
        return None

    def move_to(self, line: CompareLine) -> bool:
        for row, candidate in enumerate(self.lines):
            if candidate is not None and line_key(candidate) == line_key(line):
                self.move_cursor(row=row)
                return True
        return False

    def jump(self, forward: bool) -> bool:
        """Move the cursor to the next (previous) differing line, wrapping around; False if none."""
        count = len(self.lines)
        if not count:
            return False
        start = self.cursor_row
        for step in range(1, count + 1):
            row = (start + step if forward else start - step) % count
            line = self.lines[row]
            if line is not None and line.differs:
                self.move_cursor(row=row)
                return True
        return False
