"""The experiments table: a Line-API virtual table (toolong's pattern, not the stock DataTable).

Why not `DataTable`: it materialises every row and measures every cell when rows are added, which costs ~4 s for
10k rows on the target machine (see benchmarks/bench_tui.py). This widget keeps only the list of
`ExperimentRow`s, formats a row when it first becomes visible, and caches the rendered Strips per row key, so
first paint and a filter keystroke cost the same for 100 or 10,000 experiments.

Layout of one line: a fixed left part (marker, name, status and any pinned columns) and a right part that scrolls
horizontally (created, params, metrics). Two header lines sit on top: the file (`params.yaml`) over the short key.
Rows are keyed by `ExperimentRow.key`; `update_rows()` swaps the list in place and keeps cursor and marks.

Every text from data (names, labels, keys, values, stage names) is made inert (`exptui.query.inert`) before it is
measured, and measured and cut in terminal cells (`exptui.query.cells`): segments go to the terminal as they are,
so an ESC in a param would otherwise reach it as a command, and a wide name would push the columns off the divider.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar
from collections.abc import Callable, Iterable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from exptui.query.cells import cell_width, fit, truncate
from exptui.query.inert import inert
from exptui.query.shown import ShownRows
from exptui.records import ExperimentRow
from exptui.query.durations import format_duration

HEADER_HEIGHT = 2
GAP = 2                     # blank cells between columns
MARKER_WIDTH = 2
MEASURE_SAMPLE = 400        # rows measured per update, at most

Tone = str                  # "", "better", "worse", "missing", "error", "dim"
CellFn = Callable[[ExperimentRow, "TableColumn"], "tuple[str, Tone]"]


@dataclass(frozen=True)
class TableColumn:
    """One displayed column. `id` is the query layer's column id (`params:params.yaml:train.lr`) or a meta name."""

    id: str
    label: str                      # second header line: the (short) key
    group: str = ""                 # first header line: the file, shown once per run of equal groups
    family: str = "meta"            # meta | params | metrics | deps
    numeric: bool = False
    max_width: int = 24
    reserve: bool = False           # always as wide as max_width (a value that grows while it runs: no jumps)


META_NAME = TableColumn("name", "Experiment", max_width=44)
META_STATUS = TableColumn("status", "State", max_width=22)
META_CREATED = TableColumn("created", "Created", max_width=16)


def status_text(row: ExperimentRow, now: float, stage_order: Sequence[str] = ()) -> str:
    """What the State column says; queued/running rows also say where they are and for how long (a running
    row: its stage, ``i/n`` when the stage is one of the pipeline's `stage_order`, and the elapsed time)."""
    from exptui.query.format import status_text as word

    if row.kind in ("baseline", "workspace") and row.status == "success":
        return ""
    text = word(inert(row.status))
    if row.status == "running":
        parts = [text]
        if row.stage:
            parts.append(inert(row.stage))
            if row.stage in stage_order:
                parts.append(f"{stage_order.index(row.stage) + 1}/{len(stage_order)}")
        if row.started:
            parts.append(format_duration(now - row.started, tenths=False))
        return " ".join(parts)
    if row.status == "queued" and row.started:
        return f"{text} {format_duration(now - row.started, tenths=False)}"
    return text


def _label_suffix(row: ExperimentRow) -> str:
    labels = row.annotations.labels
    return "".join(f" #{inert(label)}" for label in labels) if labels else ""


#: the table's own keys (each with an id that keys.toml can remap; the help lists them)
TABLE_BINDINGS: list[Binding] = [
    Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
    Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
    Binding("left,h", "cursor_left", "Left", show=False, id="table.left"),
    Binding("right,l", "cursor_right", "Right", show=False, id="table.right"),
    Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="table.page_up"),
    Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="table.page_down"),
    Binding("home,g", "first", "Top", show=False, id="table.top"),
    Binding("end,G", "last", "Bottom", show=False, id="table.bottom"),
]


def _width_sample(rows: Sequence[ExperimentRow]) -> Sequence[ExperimentRow]:
    """The rows whose cells stand for all of `rows` when fitting column widths (all of them up to MEASURE_SAMPLE).

    Rows spread over a long list; for a `ShownRows` over numpy positions, the rows whose key hash (or position) is
    a multiple of a power of two (about MEASURE_SAMPLE/2-MEASURE_SAMPLE of them): filter keystrokes and reloads that show about as many
    rows pick mostly the same rows, whose widths are cached, instead of a new spread of unmeasured rows each time
    (formatting ~4,000 cells per keystroke at 100,000 rows)."""
    n = len(rows)
    if n <= MEASURE_SAMPLE:
        return rows
    at = rows.at if isinstance(rows, ShownRows) else None
    if isinstance(rows, ShownRows) and at is not None and hasattr(at, "dtype"):
        stride = 1 << (-(-n // MEASURE_SAMPLE) - 1).bit_length()    # the power of two >= n / MEASURE_SAMPLE
        # by the rows' key hashes where known (the same rows after a reload shifted every position)
        bits = at if rows.spread is None else rows.spread[at]
        picked = at[bits % stride == 0]
        if len(picked) > 2 * MEASURE_SAMPLE or len(picked) < MEASURE_SAMPLE // 4:   # clustered positions
            picked = at[:: max(1, n // MEASURE_SAMPLE)]
        return ShownRows(rows.base, picked).tolist()
    step = n / MEASURE_SAMPLE
    return [rows[int(i * step)] for i in range(MEASURE_SAMPLE)]


class ExperimentTable(ScrollView, can_focus=True):
    """Virtual table of experiments with a tree under each baseline, a cursor cell, marks and stars."""

    BINDINGS: ClassVar[list[BindingType]] = [*TABLE_BINDINGS]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "exp-table--header",
        "exp-table--header-group",
        "exp-table--header-params",
        "exp-table--header-metrics",
        "exp-table--header-deps",
        "exp-table--cursor",
        "exp-table--cursor-cell",
        "exp-table--baseline",
        "exp-table--marked",
        "exp-table--star",
        "exp-table--mark",
        "exp-table--tree",
        "exp-table--label",
        "exp-table--better",
        "exp-table--worse",
        "exp-table--best",
        "exp-table--missing",
        "exp-table--error",
        "exp-table--dim",
        "exp-table--divider",
        "exp-table--status-success",
        "exp-table--status-failed",
        "exp-table--status-running",
        "exp-table--status-queued",
        "exp-table--status-cancelled",
        "exp-table--status-crashed",
        "exp-table--status-pruned",
    }

    DEFAULT_CSS = """
    ExperimentTable { height: 1fr; }
    """

    grouped: reactive[bool] = reactive(True)
    cursor_row: reactive[int] = reactive(0, always_update=False)
    cursor_column: reactive[int] = reactive(0)

    class CursorMoved(Message):
        """The cursor moved to another row (key) or column (id)."""

        def __init__(self, table: ExperimentTable, row_key: str | None, column_id: str | None) -> None:
            super().__init__()
            self.table = table
            self.row_key = row_key
            self.column_id = column_id

    def __init__(
        self,
        cell: CellFn,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._cell = cell
        self.rows: Sequence[ExperimentRow] = []     # a list, or a `ShownRows` (positions into the model's frame)
        self._index_cache: dict[str, int] | None = {}   # row key -> position, built when first asked for
        self._versions: dict[str, int] = {}
        self._row_objs: dict[str, ExperimentRow] = {}
        self.marked: set[str] = set()
        self.fixed_columns: list[TableColumn] = [META_NAME, META_STATUS]
        self.scroll_columns: list[TableColumn] = [META_CREATED]
        self._widths: dict[str, int] = {}
        self._layout_version = 0
        self._strip_cache: LRUCache[tuple, tuple[Strip, Strip]] = LRUCache(4096)
        self._line_cache: LRUCache[tuple, tuple[Strip, Strip, Strip]] = LRUCache(1024)    # whole lines, per scroll offset and width
        self._styles: dict[str, Style] | None = None
        self._fixed_width = 0
        self._scroll_width = 0
        self._eff_widths: dict[str, int] = {}
        self._cell_widths: dict[tuple[str, int], dict[str, int]] = {}   # (key, version) -> column id -> cells
        self.stage_order: list[str] = []      # the pipeline's stages in run order: a running row's "(i/n)"
        #: widths are fitted to at most this many rows from the top (None: all rows, or a sample spread over them).
        #: The dashboard sets it while only the top rows of its first load are in: the first screenful is what
        #: is painted, and measuring ~30 cells of each of 300 rows was most of that `set_rows` (~25 ms at 100,000)
        self.measure_top: int | None = None

    # ------------------------------------------------------------------ data in
    @property
    def columns(self) -> list[TableColumn]:
        return [*self.fixed_columns, *self.scroll_columns]

    def set_columns(self, fixed: Sequence[TableColumn], scrolling: Sequence[TableColumn]) -> None:
        """Replace the column layout (after a keep/drop/pin/only-changed change); keeps the cursor column by id."""
        current = self.cursor_column_id
        lead = [c for c in fixed if c.id == "rank"]     # the leaderboard's rank comes before the name
        self.fixed_columns = [*lead, META_NAME, META_STATUS,
                              *[c for c in fixed if c.id not in ("name", "status", "rank")]]
        self.scroll_columns = list(scrolling)
        self._measure(self.rows)
        ids = [c.id for c in self.columns]
        self.cursor_column = ids.index(current) if current in ids else min(self.cursor_column, len(ids) - 1)
        self._relayout()

    def update_rows(self, rows: Sequence[ExperimentRow], *, changed: bool = True) -> None:
        """Show `rows` in this order. Rows are matched by key: changed ones are re-rendered, the rest stay cached.

        The cursor stays on the same experiment if it is still shown; marks of vanished rows are dropped.
        `changed=False`: every row is an object this table has been given before (a filter or sort of the same
        list), so no row needs a new version: a keystroke then costs no per-row Python work here at 100,000 rows
        (the key -> position map is built only when something asks for it). A `ShownRows` (positions into the
        model's frame) is kept as it is: the cursor is found again by its position, in numpy, and only the rows
        painted or sampled for widths are ever fetched.
        """
        cursor_obj = self.cursor_row_obj
        old, old_at = self.rows, self.cursor_row
        if changed:
            self.note_rows(rows)
        self.rows = rows if isinstance(rows, ShownRows) else list(rows)
        self._index_cache = None
        if self.marked:
            self.marked &= set(self._index)
        widths_changed = self._measure(self.rows)
        at = self.cursor_row
        if cursor_obj is not None and at < len(self.rows) and self.rows[at] is cursor_obj:
            pass    # the cursor row did not move (the workspace on top, a filter that keeps the rows above)
        else:
            found: int | None = None
            if cursor_obj is not None:
                new = self.rows
                if isinstance(old, ShownRows) and isinstance(new, ShownRows) and old.same_base(new):
                    found = new.index_of_position(old.position(old_at))
                else:
                    found = self._index.get(cursor_obj.key)
            if found is None:
                found = max(0, min(self.cursor_row, len(self.rows) - 1))
            self.set_reactive(ExperimentTable.cursor_row, found)
        if widths_changed:
            self._relayout()
        else:           # same widths: every cached line is still right, whatever rows it is shown for
            self._resize()
        self._scroll_cursor_into_view()

    def note_rows(self, rows: Iterable[ExperimentRow]) -> None:
        """Take note of new row objects (a reload): a row whose content changed gets a new version, so its cells
        are measured and rendered again. Given every row of a reload, not only the shown ones, later
        `update_rows(changed=False)` calls (filter keystrokes) can skip this per-row work."""
        # rows hidden by a filter stay in _row_objs: one that comes back changed must get a new version too
        for row in rows:
            key = row.key
            old = self._row_objs.get(key)
            if old is not None and old is not row and old != row:
                version = self._versions.get(key, 0)
                self._cell_widths.pop((key, version), None)
                self._versions[key] = version + 1
            self._row_objs[key] = row

    @property
    def _index(self) -> dict[str, int]:
        """Row key -> position in `rows`."""
        if self._index_cache is None:
            self._index_cache = {row.key: i for i, row in enumerate(self.rows)}
        return self._index_cache

    def row_at(self, index: int) -> ExperimentRow | None:
        return self.rows[index] if 0 <= index < len(self.rows) else None

    @property
    def cursor_key(self) -> str | None:
        row = self.row_at(self.cursor_row)
        return row.key if row else None

    @property
    def cursor_row_obj(self) -> ExperimentRow | None:
        return self.row_at(self.cursor_row)

    @property
    def cursor_column_id(self) -> str | None:
        cols = self.columns
        return cols[self.cursor_column].id if 0 <= self.cursor_column < len(cols) else None

    def move_cursor_to_key(self, key: str) -> bool:
        if key in self._index:
            self.cursor_row = self._index[key]
            return True
        return False

    # ------------------------------------------------------------------ marks
    def toggle_mark(self, key: str | None = None) -> None:
        key = key or self.cursor_key
        if key is None:
            return
        self.marked.symmetric_difference_update({key})
        self._refresh_key(key)

    def mark_range(self, start: int, end: int) -> None:
        lo, hi = sorted((start, end))
        for row in self.rows[lo : hi + 1]:
            self.marked.add(row.key)
        self.refresh()

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()

    def selected_rows(self) -> list[ExperimentRow]:
        """Marked rows in table order, else the cursor row: what a row action applies to."""
        if self.marked:
            return [row for row in self.rows if row.key in self.marked]
        row = self.cursor_row_obj
        return [row] if row else []

    # ------------------------------------------------------------------ layout
    def _group_end(self, i: int) -> bool:
        """Whether row `i` is the last experiment under its baseline (the └─ glyph); asked per painted line, so
        a new row list costs nothing here."""
        rows = self.rows
        row = rows[i]
        if row.kind in ("baseline", "workspace"):
            return False
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        return nxt is None or nxt.kind in ("baseline", "workspace") or nxt.baseline != row.baseline

    def refresh_keys(self, keys: Iterable[str]) -> None:
        """Re-measure and repaint these rows: their cells changed without the row itself changing (live values)."""
        for key in keys:
            version = self._versions.get(key, 0)
            self._cell_widths.pop((key, version), None)
            self._versions[key] = version + 1
        if self._measure(self.rows):
            self._layout_version += 1
        self._relayout()

    def _measure(self, rows: Sequence[ExperimentRow], columns: Sequence[TableColumn] | None = None) -> bool:
        """Fit column widths to the header and the rows shown now; True if any width changed.

        Widths follow the rows on screen both ways: a filter that hides the long names, or a value that goes
        away, gives the room back. Each row's cell widths are measured once per row version and cached, so a
        filter keystroke only takes maxima; at most MEASURE_SAMPLE rows (spread over the list) stand for a
        longer list, so a 10k-row load costs the same as a 400-row one.
        """
        columns = list(columns if columns is not None else self.columns)
        if self.measure_top is not None:
            rows = rows[:self.measure_top]
        rows = _width_sample(rows)
        now = time.time()
        wanted: dict[str, int] = {col.id: cell_width(inert(col.label)) for col in columns}
        noted = self._row_objs
        for row in rows:
            if noted.get(row.key, row) is row:
                stamp = (row.key, self._versions.get(row.key, 0))
                measured = self._cell_widths.get(stamp)
                if measured is None:
                    measured = self._cell_widths[stamp] = {}
            else:
                # an object a reload has already replaced (`note_rows` runs before the new list is shown): its
                # widths are not the new version's, so they are measured here but never cached under that version
                measured = {}
            for col in columns:
                width = measured.get(col.id)
                if width is None:
                    width = measured[col.id] = self._cell_width(row, col, now)
                if width > wanted[col.id]:
                    wanted[col.id] = width
        changed = False
        for col in columns:
            want = min(wanted[col.id], col.max_width)
            if self._widths.get(col.id) != want:
                self._widths[col.id] = want
                changed = True
        return changed

    def _cell_width(self, row: ExperimentRow, col: TableColumn, now: float) -> int:
        """Cells needed to show `col` of `row` in full (running rows: all the State column may take)."""
        if col.id == "name":
            return self._name_len(row)
        if col.reserve:
            return col.max_width
        if col.id == "status":
            # a running row's text changes with every stage and second: reserve the column's full width so the
            # columns to its right stand still while the queue runs
            if row.status == "running":
                return col.max_width
            text = status_text(row, now)
            width = cell_width(text)
            return max(width, len("Queued 59m59s")) if row.status == "queued" and row.started else width
        return cell_width(inert(self._cell(row, col)[0]))

    def _name_len(self, row: ExperimentRow) -> int:
        extra = 3 if row.kind not in ("baseline", "workspace") and self.grouped else 0
        return cell_width(self._display_name(row)) + extra + cell_width(_label_suffix(row))

    @staticmethod
    def _display_name(row: ExperimentRow) -> str:
        if row.kind == "baseline":
            return inert(row.baseline_name or row.name or row.rev[:7])
        return inert(row.name or row.rev[:7])

    def _effective_widths(self) -> dict[str, int]:
        """Widths after squeezing the name column so the fixed part leaves room on narrow terminals."""
        widths = dict(self._widths)
        avail = max(20, self.size.width or 80)
        fixed = MARKER_WIDTH + sum(widths.get(c.id, 4) + GAP for c in self.fixed_columns)
        budget = int(avail * 0.55)
        if fixed > budget:
            name_w = widths.get("name", 10)
            widths["name"] = max(10, name_w - (fixed - budget))
        return widths

    def _relayout(self) -> None:
        self._layout_version += 1
        widths = self._effective_widths()
        self._eff_widths = widths
        self._fixed_width = MARKER_WIDTH + sum(widths.get(c.id, 4) + GAP for c in self.fixed_columns) + 1
        self._scroll_width = sum(widths.get(c.id, 4) + GAP for c in self.scroll_columns)
        self._strip_cache.clear()
        self._line_cache.clear()
        self._resize()

    def invalidate_lines(self) -> None:
        """Draw every line again: something a cell shows changed without its row changing (the best value of a
        metric moved to a new experiment, leaderboard ranks, directions). Cached lines are keyed by row and
        version; update_rows keeps them when the widths stay, so the caller says when they are stale."""
        self._strip_cache.clear()
        self._line_cache.clear()
        self.refresh()

    def _resize(self) -> None:
        """The row count changed, the layout did not: cached lines stay (they are keyed by row, not position)."""
        self.virtual_size = Size(self._fixed_width + self._scroll_width, len(self.rows) + HEADER_HEIGHT)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def set_stage_order(self, order: list[str]) -> None:
        """The pipeline's stages in run order (a running row shows its stage as ``i/n``): lines drawn before it was
        known are dropped from the cache, or a running row would keep its bare stage name until its next change."""
        self.stage_order = order
        self._strip_cache.clear()
        self._line_cache.clear()
        self.refresh()

    def _refresh_key(self, key: str) -> None:
        index = self._index.get(key)
        if index is not None:
            self._refresh_row_index(index)

    def _refresh_screen_line(self, y: int) -> None:
        """Repaint one line of the widget, `y` in screen (not virtual) coordinates."""
        self.refresh(Region(0, y, self.size.width, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._strip_cache.clear()
        self._line_cache.clear()

    def _style(self, name: str) -> Style:
        if self._styles is None:
            self._styles = {}
        style = self._styles.get(name)
        if style is None:
            # row backgrounds use alpha ($primary 40%): blend them over the table's background (partial=False);
            # everything else only sets a colour/attribute and must not repaint the background it lands on
            if name in ("cursor", "marked"):
                style = self.get_component_rich_style(f"exp-table--{name}")
            else:
                style = self.get_component_rich_style(f"exp-table--{name}", partial=True)
                if style.color is not None:
                    # colours with alpha ($text-muted) only resolve when blended: take the blended colour,
                    # but never its background, which would hide the cursor/marked row behind the cell
                    blended = self.get_component_rich_style(f"exp-table--{name}")
                    style = style + Style(color=blended.color)
            self._styles[name] = style
        return style

    # ------------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        scroll_x = int(self.scroll_x)
        if y < HEADER_HEIGHT:
            fixed, scrolling = self._render_header(y)
            line_key: tuple | None = None
        else:
            index = y - HEADER_HEIGHT + int(self.scroll_y)
            if index >= len(self.rows):
                return Strip.blank(width, base)
            fixed, right = self._render_row(index, scroll_x, max(0, width - self._fixed_width))
            # the whole line once per row state, scroll offset and width: a repaint that shows the same rows
            # (the filter's count changed, the cursor moved elsewhere) costs a lookup per line, not five Strips
            line_key = (id(fixed), id(right), width, base)
            cached = self._line_cache.get(line_key)
            if cached is not None and cached[0] is fixed and cached[1] is right:   # ids are reused: check
                return cached[2]
        if line_key is None:
            right_width = max(0, width - self._fixed_width)
            right = scrolling.crop(scroll_x, scroll_x + right_width)
        # cells only set what they change: the widget's own colours go underneath, so rows and the empty
        # space below them share one background (a segment without one would show the screen's instead)
        line = Strip.join([fixed, right]).adjust_cell_length(width, base).apply_style(base).simplify()
        if line_key is not None:
            self._line_cache[line_key] = (fixed, right, line)
        return line

    def _header_style(self, col: TableColumn) -> Style:
        family = col.family if col.family in ("params", "metrics", "deps") else ""
        style = self._style("header")
        if family:
            style = style + self._style(f"header-{family}")
        return style

    def _render_header(self, y: int) -> tuple[Strip, Strip]:
        key = ("header", y, self._layout_version, self.cursor_column)
        cached = self._strip_cache.get(key)
        if cached is not None:
            return cached
        widths = self._eff_widths
        header = self._style("header")
        cursor_col = self.cursor_column

        def group_line(columns: list[TableColumn]) -> list[Segment]:
            """The file name spans every following column of the same file."""
            segments: list[Segment] = []
            i = 0
            while i < len(columns):
                col = columns[i]
                j, span = i, 0
                while j < len(columns) and columns[j].group == col.group and columns[j].family == col.family:
                    span += widths.get(columns[j].id, 4) + GAP
                    j += 1
                title = inert(col.group) if col.family != "meta" else ""
                style = self._header_style(col) + self._style("header-group")
                if title:
                    # "metrics.json ─────" spanning the file's columns, so groups read at a glance
                    title = truncate(title, max(1, span - GAP))
                    title_width = cell_width(title)
                    rule = "─" * max(0, span - GAP - title_width - 1)
                    segments.append(Segment(title + " ", style))
                    segments.append(Segment(rule, style + self._style("divider")))
                    segments.append(Segment(" " * max(0, span - title_width - 1 - len(rule)), style))
                else:
                    segments.append(Segment(" " * span, style))
                i = j
            return segments

        def label_line(columns: list[TableColumn], offset: int) -> list[Segment]:
            segments: list[Segment] = []
            for i, col in enumerate(columns):
                w = widths.get(col.id, 4)
                style = self._header_style(col)
                text = fit(inert(col.label), w, right=col.numeric)
                if offset + i == cursor_col:
                    style = style + self._style("cursor-cell")
                segments.append(Segment(text, style))
                segments.append(Segment(" " * GAP, self._header_style(col)))
            return segments

        def cells(columns: list[TableColumn], offset: int) -> list[Segment]:
            return group_line(columns) if y == 0 else label_line(columns, offset)

        fixed_segments = [Segment(" " * MARKER_WIDTH, header)] + cells(self.fixed_columns, 0)
        fixed_segments.append(Segment("│" if y else " ", header + self._style("divider")))
        fixed = Strip(fixed_segments).adjust_cell_length(self._fixed_width, header)
        scrolling = Strip(cells(self.scroll_columns, len(self.fixed_columns))).adjust_cell_length(
            self._scroll_width, header)
        result = (fixed, scrolling)
        self._strip_cache[key] = result
        return result

    def _render_row(self, index: int, scroll_x: int, right_width: int) -> tuple[Strip, Strip]:
        """The fixed part of row `index` and the visible window of its scrolling part (`right_width` cells from
        `scroll_x`): only the columns in that window are formatted (a screen shows ~6 of 30 params and metrics:
        a sort, whose arrow in a header changes the layout, re-renders every visible line)."""
        row = self.rows[index]
        key = row.key
        # the cursor stays drawn while the filter bar or a dialog has focus: it still says which row acts
        is_cursor = index == self.cursor_row
        tick = int(time.time()) if row.status in ("running", "queued") and row.started else 0
        cache_key = (key, self._versions.get(key, 0), is_cursor, self.cursor_column if is_cursor else -1,
                     key in self.marked, self._group_end(index), self.grouped, tick, self._layout_version,
                     scroll_x, right_width)
        cached = self._strip_cache.get(cache_key)
        if cached is not None:
            return cached
        widths = self._eff_widths
        base = Style()
        if row.kind in ("baseline", "workspace"):
            base = base + self._style("baseline")
        if key in self.marked:
            base = base + self._style("marked")
        if is_cursor:
            base = base + self._style("cursor")
        cursor_cell = self._style("cursor-cell") if is_cursor else None

        # marker
        fixed_segments = [
            Segment("★" if row.annotations.starred else " ", base + self._style("star")),
            Segment("●" if key in self.marked else " ", base + self._style("mark")),
        ]
        for i, col in enumerate(self.fixed_columns):
            fixed_segments.extend(self._cell_segments(row, index, col, widths.get(col.id, 4), base,
                                                      cursor_cell if i == self.cursor_column else None))
        fixed_segments.append(Segment("│", base + self._style("divider")))
        fixed = Strip(fixed_segments).adjust_cell_length(self._fixed_width, base)
        scroll_segments: list[Segment] = []
        offset = len(self.fixed_columns)
        end = scroll_x + right_width
        x = 0
        first: int | None = None        # where the first visible column starts
        for i, col in enumerate(self.scroll_columns):
            if x >= end:
                break
            width = widths.get(col.id, 4)
            if x + width + GAP > scroll_x:
                if first is None:
                    first = x
                scroll_segments.extend(self._cell_segments(row, index, col, width, base,
                                                           cursor_cell if offset + i == self.cursor_column else None))
            x += width + GAP
        if first is None:
            scrolling = Strip([], 0)
        else:
            scrolling = Strip(scroll_segments).crop(scroll_x - first, end - first)
        result = (fixed, scrolling)
        self._strip_cache[cache_key] = result
        return result

    def _cell_segments(self, row: ExperimentRow, index: int, col: TableColumn, width: int, base: Style,
                       cursor_cell: Style | None) -> Iterable[Segment]:
        gap = Segment(" " * GAP, base)
        if col.id == "name":
            glyph = ""
            if self.grouped and row.kind not in ("baseline", "workspace"):
                glyph = "└─ " if self._group_end(index) else "├─ "
            room = max(1, width - len(glyph))
            name = truncate(self._display_name(row), room)
            name_width = cell_width(name)
            labels = truncate(_label_suffix(row), room - name_width) if name_width < room else ""
            segs = []
            if glyph:
                segs.append(Segment(glyph, base + self._style("tree")))
            style = base + (cursor_cell or Style())
            if labels:
                # labels ride along after the name, quietly: "depth-8 #candidate"
                segs.append(Segment(name, style))
                segs.append(Segment(fit(labels, room - name_width), style + self._style("label")))
            else:
                segs.append(Segment(fit(name, room), style))
            return [*segs, gap]
        if col.id == "status":
            text = fit(status_text(row, time.time(), self.stage_order), width)
            style = base + self._style(f"status-{row.status}")
            if cursor_cell:
                style = style + cursor_cell
            return [Segment(text, style), gap]
        text, tone = self._cell(row, col)
        text = fit(inert(text), width, right=col.numeric)
        style = base
        if tone:
            style = style + self._style(tone)
        if cursor_cell:
            style = style + cursor_cell
        return [Segment(text, style), gap]

    # ------------------------------------------------------------------ cursor
    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row_index(old)
        self._refresh_row_index(new)
        self._scroll_cursor_into_view()
        self.post_message(self.CursorMoved(self, self.cursor_key, self.cursor_column_id))

    def watch_cursor_column(self, old: int, new: int) -> None:
        self._layout_version += 1  # header cursor cell moves
        self._strip_cache.clear()
        self.refresh()
        self._scroll_column_into_view()
        self.post_message(self.CursorMoved(self, self.cursor_key, self.cursor_column_id))

    def watch_grouped(self, value: bool) -> None:
        for measured in self._cell_widths.values():
            measured.pop("name", None)          # the tree glyph comes and goes with grouping
        self._measure(self.rows)
        self._relayout()

    def _refresh_row_index(self, index: int) -> None:
        y = index - int(self.scroll_y) + HEADER_HEIGHT
        if HEADER_HEIGHT <= y < self.size.height:
            self._refresh_screen_line(y)

    def _scroll_cursor_into_view(self) -> None:
        body = max(1, self.scrollable_content_region.height - HEADER_HEIGHT)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + body:
            self.scroll_to(y=self.cursor_row - body + 1, animate=False, immediate=True)

    def scroll_cursor_column_into_view(self) -> None:
        """After the rows (and so the column widths) changed, e.g. a filter was cleared: keep the cursor column
        in sight."""
        if 0 <= self.cursor_column < len(self.columns):
            self._scroll_column_into_view()

    def _scroll_column_into_view(self) -> None:
        if self.cursor_column < len(self.fixed_columns):
            return
        widths = self._eff_widths
        x0 = 0
        for col in self.scroll_columns[: self.cursor_column - len(self.fixed_columns)]:
            x0 += widths.get(col.id, 4) + GAP
        col = self.columns[self.cursor_column]
        x1 = x0 + widths.get(col.id, 4)
        avail = max(1, self.scrollable_content_region.width - self._fixed_width)
        sx = int(self.scroll_x)
        if x0 < sx:
            self.scroll_to(x=x0, animate=False, immediate=True)
        elif x1 > sx + avail:
            self.scroll_to(x=x1 - avail, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.cursor_row = max(0, self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.cursor_row = max(0, min(len(self.rows) - 1, self.cursor_row + 1))

    def action_cursor_left(self) -> None:
        self.cursor_column = max(0, self.cursor_column - 1)

    def action_cursor_right(self) -> None:
        self.cursor_column = min(len(self.columns) - 1, self.cursor_column + 1)

    def action_page_up(self) -> None:
        page = max(1, self.scrollable_content_region.height - HEADER_HEIGHT)
        self.cursor_row = max(0, self.cursor_row - page)

    def action_page_down(self) -> None:
        page = max(1, self.scrollable_content_region.height - HEADER_HEIGHT)
        self.cursor_row = max(0, min(len(self.rows) - 1, self.cursor_row + page))

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = max(0, len(self.rows) - 1)

    # ------------------------------------------------------------------ mouse
    def on_click(self, event: events.Click) -> None:
        if event.y < HEADER_HEIGHT:
            column = self._column_at_x(event.x)
            if column is not None:
                self.cursor_column = column
            return
        index = event.y - HEADER_HEIGHT + int(self.scroll_y)
        if 0 <= index < len(self.rows):
            self.cursor_row = index
            column = self._column_at_x(event.x)
            if column is not None:
                self.cursor_column = column

    def _column_at_x(self, x: int) -> int | None:
        widths = self._eff_widths
        pos = MARKER_WIDTH
        if x < self._fixed_width:
            for i, col in enumerate(self.fixed_columns):
                pos += widths.get(col.id, 4) + GAP
                if x < pos:
                    return i
            return len(self.fixed_columns) - 1
        pos = self._fixed_width - int(self.scroll_x)
        for i, col in enumerate(self.scroll_columns):
            pos += widths.get(col.id, 4) + GAP
            if x < pos:
                return len(self.fixed_columns) + i
        return None

    # ------------------------------------------------------------------ ticking
    def on_mount(self) -> None:
        self._eff_widths = self._effective_widths()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """Elapsed times of running/queued rows advance each second without a reload."""
        top = int(self.scroll_y)
        body = self.size.height - HEADER_HEIGHT
        for offset, row in enumerate(self.rows[top : top + body]):
            if row.status in ("running", "queued") and row.started:
                self._refresh_screen_line(offset + HEADER_HEIGHT)

    def cell_text(self, row: ExperimentRow, column: TableColumn) -> Text:
        """The plain text of one cell, as shown (tests and the detail view use it)."""
        return Text(inert(self._cell(row, column)[0]))
