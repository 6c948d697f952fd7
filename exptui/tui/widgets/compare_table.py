"""The transposed comparison table: a column per experiment, a row per param / metric / run fact."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
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
MAX_FACT_WIDTH = 16     # run facts (command, host, python) are context: they never size a column


def _clip(text: str, width: int = MAX_VALUE_WIDTH) -> str:
    """The value as shown: inert, at most ``width`` terminal cells."""
    return truncate(inert(text), width)


#: how much of a delta a cell shows, widest first: the table takes the first that fits the screen
DELTA_LEVELS = ("full", "abs", "arrow")


def delta_text(d: Delta | None, level: str = "full") -> Text:
    """`▲ +0.004 (+0.5%)` in green when better, red when worse, cyan when there is no better (params); narrower
    levels: `▲+0.004` (`abs`), `▲` (`arrow`)."""
    if d is None or d.abs is None or not d.changed:
        return Text("")
    arrow = "▲" if (d.abs or 0) > 0 else "▼"
    style = "cyan" if d.better is None else ("bold green" if d.better else "bold red")
    if level == "arrow":
        return Text(f" {arrow}", style=style)
    if level == "abs":
        return Text(f" {arrow}{d.abs:+.3g}", style=style)
    return Text(f" {arrow} {format_delta(d)}", style=style)


def section_title(section: str, lines: Sequence[CompareLine]) -> Text:
    """`` Metrics   metrics.yaml``: the section's name and the files its lines come from."""
    title = Text(f" {SECTION_TITLES.get(section, section)} ", style="bold reverse")
    files = list(dict.fromkeys(v.column.file for v in lines if v.section == section and v.column.file))
    if files:
        title.append("  " + ", ".join(inert(f) for f in files), style="dim")
    return title


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
        self.level = "full"     # the delta level shown (DELTA_LEVELS): the widest that fits the width

    def show(self, comparison: Comparison) -> None:
        """(Re)build the table; keeps the cursor on the same line when it is still shown."""
        previous = self.current_line()
        self.clear(columns=True)
        self.lines = []
        self.level = self._fitting_level(comparison)
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
        label_width = max((self._cells(line, self.level)[0].cell_len for line in visible), default=0)
        for line in visible:
            if line.section != section:
                section = line.section
                title = section_title(section, visible)
                if self.level != "full":        # short of room: the labels size their column, not the files
                    title.truncate(max(label_width, 10), overflow="ellipsis")
                self.add_row(title, *([""] * len(names)), key=f"section:{section}")
                self.lines.append(None)
            self.add_row(*self._cells(line, self.level), key="line:" + ":".join(line_key(line)))
            self.lines.append(line)
        if previous is None or not self.move_to(previous):
            first = next((row for row, line in enumerate(self.lines) if line is not None), 0)
            self.move_cursor(row=first)

    def _fitting_level(self, comparison: Comparison) -> str:
        """The widest delta level whose table fits the screen's width (the last one when none does)."""
        available = (self.size.width or self.app.size.width) - 2    # room for the vertical scrollbar
        names = comparison.names
        for level in DELTA_LEVELS:
            widths = [0] * (len(names) + 1)
            for index, name in enumerate(names):
                widths[index + 1] = cell_len(_clip(name)) + (6 if index == 0 else 0)   # " (ref)"
            for line in comparison.lines:
                for index, cell in enumerate(self._cells(line, level)):
                    widths[index] = max(widths[index], cell.cell_len)
            total = sum(w + 2 for w in widths)      # each column has one cell of padding either side
            if total <= available:
                return level
        return DELTA_LEVELS[-1]

    @staticmethod
    def _cells(line: CompareLine, level: str = "full") -> list[Text]:
        label = Text()
        if line.differs:
            label.append("● ", style="bold yellow")
        else:
            label.append("  ")
        label.append_text(plain(line.label, style="bold" if line.differs else "dim"))
        cells = [label]
        for index, (text, d) in enumerate(zip(line.texts, line.deltas)):
            width = MAX_FACT_WIDTH if line.section == "facts" else MAX_VALUE_WIDTH
            style = "" if line.differs or index == 0 else "dim"
            if index in line.best:
                style = "bold underline green"        # a style on inert text, never markup from data
            cell = Text(_clip(text, width), style=style)
            cell.append_text(delta_text(d, level))
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
