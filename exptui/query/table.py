"""TableModel: rows + columns + the operations the CLI and the TUI share.

State (filter, sort, grouping, only-changed, keep/drop, hidden/pinned/order) lives here and
``view()`` computes what to show: the ordered display rows (baseline headers with their
experiments, like ``dvc exp show``) and the visible columns. The CLI renders the view as
text/markdown/csv/json; the TUI renders the same view into its widget, so both always
agree on what a filter or sort means.

Column selection follows ``dvc exp show``: ``drop`` regexes remove columns, ``keep``
regexes protect columns from ``drop`` and ``only_changed`` (``--drop '.*' --keep f1``
shows only f1). Patterns must match a column's whole label, id, ``file:key`` or key.
Hidden columns are gone whatever ``keep`` says; pinned columns come first.

Filter and sort run row by row (``engine="rows"``, the default: pandas is never imported unless
``to_dataframe()`` is called) or over a DataFrame of the rows (``engine="frame"``); see ``ENGINES``.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, Generic, Literal, TypeVar, overload

from exptui.errors import ExptuiError
from exptui.records import ExperimentRow
from exptui.query.columns import (
    ERROR,
    MISSING,
    Column,
    ColumnIndex,
    collect_columns,
    column_groups,
    ColumnGroup,
    field_column,
    same_value,
)
from exptui.query.cells import cell_width, fit
from exptui.query.direction import DEFAULT_DIRECTIONS, NO_DELTA, Delta, Directions, delta
from exptui.query.filter import Predicate, compile_filter
from exptui.query.regex import BoundedRegex, RegexError, compile_regex
from exptui.query.format import DEFAULT_PRECISION, cell_formatter, is_right_aligned, json_safe
from exptui.query.inert import inert
from exptui.query.show_json import record, section
from exptui.query.shown import ShownRows
from exptui.query.sort import RowGroup, SortKey, group_rows, parse_sort_spec, sort_flat

TREE_MID = "├── "
TREE_LAST = "└── "
DEFAULT_FIELDS: tuple[str, ...] = ("created", "status")
FIELD_HEADERS = {"created": "Created", "status": "State", "starred": "★", "label": "Labels", "note": "Note",
                 "duration": "Duration", "host": "Host", "python": "Python", "stage": "Stage",
                 "kind": "Kind", "rev": "Rev", "baseline": "Baseline", "command": "Command", "name": "Experiment"}
_KIND = attrgetter("kind")
MAX_CELL_WIDTH = 32
MAX_NAME_WIDTH = 48
_UNSET: Any = object()
Engine = Literal["rows", "frame"]
ENGINES: tuple[str, ...] = ("rows", "frame")
"""``rows``: compiled per-row predicate and `sort.sort_flat`, pandas never imported (what a one-shot CLI
command wants: importing pandas costs more than filtering 10,000 rows). ``frame``: the rows as a DataFrame
(`exptui.query.frame`), filters as vectorised masks (`exptui.query.mask`), sorts as one ``np.lexsort``; the
columns a filter or sort touches are built once per ``set_rows``, so repeated keystrokes over a big table are
cheaper. Both give the same rows in the same order (tests/test_query_mask.py, tests/test_query_frame_sort.py).
docs/performance.md has the measurements behind the default."""


class ColumnPatternError(ExptuiError):
    """A --keep/--drop pattern that is not a valid regular expression."""


@dataclass(frozen=True, slots=True)
class DisplayRow:
    """One line of the table.

    ``row`` is None for a group title line (experiments whose baseline row is not in the
    data, or is filtered out while ``show_context`` is off); ``depth`` is 0 for workspace/baseline rows and 1 for experiments under a
    baseline; ``last`` marks the last experiment of its group (``└──``); ``context`` marks a
    baseline shown only because some of its experiments matched the filter.
    """

    row: ExperimentRow | None
    depth: int = 0
    last: bool = False
    context: bool = False
    title: str = ""

    @property
    def tree_prefix(self) -> str:
        if self.depth == 0:
            return ""
        return TREE_LAST if self.last else TREE_MID

    @property
    def label(self) -> str:
        """The Experiment cell: the name, indented with a tree glyph under its baseline."""
        if self.row is None:
            return self.title
        return self.tree_prefix + _row_title(self.row)


def _row_title(row: ExperimentRow) -> str:
    if row.kind == "baseline":
        return row.baseline_name or row.name or row.rev[:7]
    return row.name or row.rev[:7]


ViewPart = tuple["DisplayRow | None", Any, int]
"""A run of the view: an optional header line, then rows at one depth (1: a baseline's experiments): a list of
rows (row engine) or a numpy array of their positions in the frame (frame engine)."""


class TableView:
    """What to show: ordered display rows, visible field columns and data columns.

    Held as runs (`ViewPart`) and expanded into one `DisplayRow` per line only when ``rows`` is read: the
    dashboard reads ``experiment_rows`` alone, and at 100,000 rows making a line object per row was a large part
    of a filter keystroke. The frame engine's runs hold positions into the frame (numpy arrays) and its
    ``experiment_rows`` is a `ShownRows` over them: no row object is gathered until someone reads one."""

    __slots__ = ("_parts", "fields", "columns", "matched", "total", "experiments", "_rows", "_experiment_rows",
                 "_shown")

    def __init__(self, parts: list[ViewPart], fields: tuple[Column, ...], columns: tuple[Column, ...],
                 matched: int, total: int, shown: ShownRows | None = None) -> None:
        self._parts = parts
        self.fields = fields
        self.columns = columns
        self.matched = matched      # rows that matched the filter (context headers not counted)
        self.total = total          # rows in the table
        self.experiments = 0        # shown rows that are experiments or queue entries (not baselines, workspace)
        self._rows: tuple[DisplayRow, ...] | None = None
        self._experiment_rows: list[ExperimentRow] | None = None
        self._shown = shown         # the frame engine's: runs hold positions into shown.base

    def _children(self, children: Any) -> Sequence[ExperimentRow]:
        if self._shown is None:
            return children
        return ShownRows(self._shown.base, children).tolist()

    @property
    def rows(self) -> tuple[DisplayRow, ...]:
        if self._rows is None:
            lines: list[DisplayRow] = []
            for header, children, depth in self._parts:
                if header is not None:
                    lines.append(header)
                kids = self._children(children)
                end = len(kids) - 1
                lines.extend(DisplayRow(row, depth=depth, last=depth > 0 and i == end)
                             for i, row in enumerate(kids))
            self._rows = tuple(lines)
        return self._rows

    @property
    def experiment_rows(self) -> Sequence[ExperimentRow]:
        """The shown rows in order (group headers included): a list copy from the row engine, a read-only
        `ShownRows` from the frame engine."""
        if self._shown is not None:
            return self._shown
        if self._experiment_rows is None:
            shown: list[ExperimentRow] = []
            for header, children, _depth in self._parts:
                if header is not None and header.row is not None:
                    shown.append(header.row)
                shown.extend(children)
            self._experiment_rows = shown
        return list(self._experiment_rows)

    @property
    def groups(self) -> list[ColumnGroup]:
        return column_groups(self.columns)


_T = TypeVar("_T")


class _ViewSetting(Generic[_T]):
    """An attribute whose assignment invalidates the cached view (``table.grouped = False``
    works as well as ``table.set_grouped(False)``)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _ViewSetting[_T]: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> _T: ...
    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj: Any, value: _T) -> None:
        setattr(obj, self.slot, value)
        obj._view = None


class TableModel:
    """The experiments table model. Mutating methods return ``self`` so calls chain.

    View settings may also be assigned directly; every assignment invalidates the view.
    """

    predicate: _ViewSetting[Predicate | None] = _ViewSetting()
    sort_keys: _ViewSetting[list[SortKey]] = _ViewSetting()
    grouped: _ViewSetting[bool] = _ViewSetting()
    show_context: _ViewSetting[bool] = _ViewSetting()
    only_changed: _ViewSetting[bool] = _ViewSetting()
    drop_empty: _ViewSetting[bool] = _ViewSetting()
    hide_unchanged_status: _ViewSetting[bool] = _ViewSetting()
    keep: _ViewSetting[list[BoundedRegex]] = _ViewSetting()
    drop: _ViewSetting[list[BoundedRegex]] = _ViewSetting()
    engine: _ViewSetting[Engine] = _ViewSetting()
    limit: _ViewSetting[int | None] = _ViewSetting()
    hide_workspace: _ViewSetting[bool] = _ViewSetting()

    def __init__(self, rows: Iterable[ExperimentRow] = (), *, precision: int | None = DEFAULT_PRECISION,
                 directions: Directions = DEFAULT_DIRECTIONS, head: str | None = None,
                 fields: Sequence[str] = DEFAULT_FIELDS, engine: Engine = "rows",
                 columns: Sequence[Column] | None = None) -> None:
        self._view: TableView | None = None
        self.engine = engine                    # how filter and sort run; see ENGINES
        self.precision = precision
        self.directions = directions
        self._head = head
        self.fields: list[Column] = [field_column(name) for name in fields]
        self.predicate = None
        self.sort_keys = []
        self.grouped = True               # False: flat leaderboard
        self.show_context = True          # baselines of matching experiments stay as headers
        self.only_changed = False
        self.drop_empty = True            # columns with no value in any shown row
        self.hide_unchanged_status = True  # the State column when every shown row succeeded
        self.keep = []
        self.drop = []
        self.limit = None                 # at most this many rows shown, in view order (None: all)
        self.hide_workspace = False       # leaderboard (not grouped) without the workspace row (the dashboard's)
        self._hidden: set[str] = set()
        self._pinned: list[str] = []
        self._order: list[str] = []
        self._rows: list[ExperimentRow] = []
        self._mask_fn: tuple[Predicate, Any] | None = None
        self._groups: list[RowGroup] | None = None
        self.set_rows(rows, columns=columns)

    # ------------------------------------------------------------------ data
    @property
    def head(self) -> str | None:
        """HEAD's sha: its baseline group is listed first (default: the workspace row's)."""
        return self._head

    @head.setter
    def head(self, sha: str | None) -> None:
        self._head = sha
        self._groups = None
        self._changed()

    @property
    def rows(self) -> list[ExperimentRow]:
        return list(self._rows)

    # state that is also assigned directly (the TUI syncs its saved view into these):
    # setters invalidate the cached view so an assignment can never show stale columns
    @property
    def hidden(self) -> set[str]:
        """Ids of columns the user hid (beats keep)."""
        return self._hidden

    @hidden.setter
    def hidden(self, ids: Iterable[str]) -> None:
        self._hidden = set(ids)
        self._changed()

    @property
    def pinned(self) -> list[str]:
        """Ids of columns shown first, in this order."""
        return self._pinned

    @pinned.setter
    def pinned(self, ids: Iterable[str]) -> None:
        self._pinned = list(dict.fromkeys(ids))
        self._changed()

    @property
    def order(self) -> list[str]:
        """Column ids in the user's order; columns not listed keep their place after them."""
        return self._order

    @order.setter
    def order(self, ids: Iterable[str]) -> None:
        self._order = list(ids)
        self._changed()

    def set_rows(self, rows: Iterable[ExperimentRow], *, columns: Sequence[Column] | None = None,
                 frame: Any = None) -> TableModel:
        """Replace all rows (columns are collected again; filter and sort stay).

        `columns`: the columns of these rows, already known (the dashboard merges a reload's new columns into the
        last ones in its loading thread), or those of a larger listing these rows are part of (``show --filter
        --limit`` over the index's per-column store); `frame`: a `TableFrame` over these same rows (`TableFrame.updated`,
        which carries the previous frame's columns over)."""
        self._rows = list(rows)
        self._groups = None
        self._group_positions: list[tuple[int | None, list[int]]] = []
        self._group_arrays: list[tuple[int | None, Any]] | None = None
        self._frame: Any = frame
        self._baselines: dict[str, ExperimentRow] | None = None
        self.columns: list[Column] = collect_columns(self._rows) if columns is None else list(columns)
        self.index = ColumnIndex(self.columns)
        self._changed()
        return self

    def upsert(self, rows: Iterable[ExperimentRow]) -> TableModel:
        """Insert or replace rows by ``row.key`` (keyed updates from the store)."""
        position = {row.key: i for i, row in enumerate(self._rows)}
        merged = list(self._rows)
        for row in rows:
            i = position.get(row.key)
            if i is None:
                position[row.key] = len(merged)
                merged.append(row)
            else:
                merged[i] = row
        return self.set_rows(merged)

    def remove(self, keys: Iterable[str]) -> TableModel:
        gone = set(keys)
        return self.set_rows(row for row in self._rows if row.key not in gone)

    def _changed(self) -> None:
        self._view = None

    # ------------------------------------------------------------------ operations
    def set_filter(self, text: str) -> TableModel:
        """Filter with the filter language; raises FilterError and keeps the old filter."""
        predicate = compile_filter(text, self.index)
        self.predicate = None if predicate.matches_everything else predicate
        self._changed()
        return self

    def set_sort(self, keys: Sequence[SortKey] | str | None) -> TableModel:
        """Sort by keys, or by a spec like ``"f1:desc,train.lr"`` (None/"" clears)."""
        if isinstance(keys, str):
            keys = parse_sort_spec(keys, self.index)
        self.sort_keys = list(keys or [])
        self._changed()
        return self

    def set_limit(self, limit: int | None) -> TableModel:
        """Show at most ``limit`` rows (workspace and baseline rows count), the first ones in view order: the
        filter and sort run over every row first, as ``exptui show --limit`` promises."""
        if limit is not None and limit < 0:
            raise ValueError("limit must be 0 or more")
        self.limit = limit
        self._changed()
        return self

    def set_grouped(self, grouped: bool) -> TableModel:
        """True: baseline headers with their experiments; False: flat leaderboard."""
        self.grouped = grouped
        self._changed()
        return self

    def set_only_changed(self, only_changed: bool) -> TableModel:
        self.only_changed = only_changed
        self._changed()
        return self

    def set_keep(self, patterns: Iterable[str]) -> TableModel:
        self.keep = _compile_patterns(patterns, "--keep")
        self._changed()
        return self

    def set_drop(self, patterns: Iterable[str]) -> TableModel:
        self.drop = _compile_patterns(patterns, "--drop")
        self._changed()
        return self

    def hide(self, column_id: str) -> TableModel:
        self._hidden.add(column_id)
        if column_id in self._pinned:
            self._pinned.remove(column_id)
        self._changed()
        return self

    def unhide(self, column_id: str) -> TableModel:
        self._hidden.discard(column_id)
        self._changed()
        return self

    def pin(self, column_id: str) -> TableModel:
        self._hidden.discard(column_id)
        if column_id not in self._pinned:
            self._pinned.append(column_id)
        self._changed()
        return self

    def unpin(self, column_id: str) -> TableModel:
        if column_id in self._pinned:
            self._pinned.remove(column_id)
        self._changed()
        return self

    def move_column(self, column_id: str, offset: int) -> TableModel:
        """Move a column left (negative) or right among the currently visible ones."""
        visible = [c.id for c in self.view().columns]
        if column_id not in visible:
            return self
        i = visible.index(column_id)
        j = max(0, min(len(visible) - 1, i + offset))
        visible.insert(j, visible.pop(i))
        self.order = visible + [cid for cid in self._order if cid not in visible]
        return self

    # ------------------------------------------------------------------ the view
    def view(self) -> TableView:
        if self._view is None:
            self._view = self._compute_view()
        return self._view

    @property
    def shown_rows(self) -> list[ExperimentRow]:
        return list(self.view().experiment_rows)

    @property
    def shown_columns(self) -> list[Column]:
        return list(self.view().columns)

    def frame(self) -> Any:
        """The rows as a lazily filled DataFrame (`exptui.query.frame`); pandas is imported on first use."""
        if self._frame is None:
            from exptui.query.frame import TableFrame

            self._frame = TableFrame(self._rows)
        return self._frame

    def _filter_mask(self) -> Any:
        """Which rows (by position) match the filter; None without a filter. The frame engine computes it
        over whole columns (a numpy bool array), the rows engine calls the compiled predicate per row (a list)."""
        predicate = self.predicate
        if predicate is None:
            return None
        if self.engine == "rows":
            test = predicate._fn
            return [test(row) for row in self._rows]
        if self._mask_fn is None or self._mask_fn[0] is not predicate:
            from exptui.query.mask import compile_mask

            self._mask_fn = (predicate, compile_mask(predicate.node))
        return self._mask_fn[1](self.frame())

    def _sorted(self, positions: Any) -> list[ExperimentRow]:
        """The rows at ``positions`` (the row engine's), ordered by the sort keys."""
        rows = self._rows
        if not self.sort_keys or len(positions) < 2:
            return [rows[i] for i in positions]
        return sort_flat([rows[i] for i in positions], self.sort_keys)

    def _compute_view(self) -> TableView:
        if self.engine == "frame":
            return self._compute_frame_view()
        matched = 0
        parts: list[ViewPart] = []
        mask = self._filter_mask()
        if not self.grouped:
            if mask is None:
                at: Any = range(len(self._rows))
            else:
                at = [i for i, hit in enumerate(mask) if hit]
            if self.hide_workspace:
                at = [i for i in at if self._rows[i].kind != "workspace"]
            matched = len(at)
            parts.append((None, self._sorted(at), 0))
        else:
            groups, positions = self._grouping()
            for group, (header_at, children_at) in zip(groups, positions):
                if mask is None and not self.sort_keys:
                    children = group.rows
                elif mask is None:
                    children = self._sorted(children_at)
                else:
                    children = self._sorted([i for i in children_at if mask[i]])
                matched += len(children)
                header = group.header
                header_matches = header is not None and (mask is None or bool(mask[header_at]))
                matched += header_matches
                if header is not None and (header_matches or (children and self.show_context)):
                    parts.append((DisplayRow(header, context=not header_matches), children, 1))
                elif children:  # no baseline row to show: a title line keeps the tree readable
                    parts.append((DisplayRow(None, title=group.name), children, 1))
        if self.limit is not None:
            parts = _first_parts(parts, self.limit)
        view = TableView(parts, (), (), matched, len(self._rows))
        shown = view.experiment_rows
        kinds = Counter(map(_KIND, shown))      # C-level passes
        view.experiments = len(shown) - kinds["baseline"] - kinds["workspace"]
        view.fields = tuple(self._visible_fields(shown))
        view.columns = tuple(self._visible_columns(shown))
        return view

    def _grouping(self) -> tuple[list[RowGroup], list[tuple[int | None, list[int]]]]:
        """The baseline groups and their rows' positions (depend on rows and head only: reused per keystroke)."""
        if self._groups is None:
            self._groups = group_rows(self._rows, self._head)
            position = {id(row): i for i, row in enumerate(self._rows)}
            self._group_positions = [
                (None if g.header is None else position[id(g.header)], [position[id(r)] for r in g.rows])
                for g in self._groups
            ]
            self._group_arrays = None
        return self._groups, self._group_positions

    def _compute_frame_view(self) -> TableView:
        """The frame engine's view: positions into the frame all the way (masks, lexsorts, counts in numpy); no row
        object is gathered here. The view's rows are a `ShownRows` over the frame's row array."""
        import numpy as np

        frame = self.frame()
        mask = self._filter_mask()
        matched = 0
        parts: list[ViewPart] = []
        header_at: dict[int, int] = {}
        if not self.grouped:
            at: Any = np.arange(len(self._rows), dtype=np.intp) if mask is None else np.flatnonzero(mask)
            if self.hide_workspace:
                at = at[frame.kind_codes()[at] != 2]
            matched = len(at)
            parts.append((None, self._sorted_positions(at), 0))
        else:
            groups, _positions = self._grouping()
            if self._group_arrays is None:   # the same positions as numpy arrays: masked in C per keystroke
                self._group_arrays = [(h, np.asarray(c, dtype=np.intp)) for h, c in self._group_positions]
            for group, (header_pos, children_at) in zip(groups, self._group_arrays):
                children = children_at if mask is None else children_at[mask[children_at]]
                children = self._sorted_positions(children)
                matched += len(children)
                header = group.header
                header_matches = header is not None and (mask is None or bool(mask[header_pos]))
                matched += header_matches
                if header is not None and (header_matches or (len(children) and self.show_context)):
                    line = DisplayRow(header, context=not header_matches)
                    assert header_pos is not None
                    header_at[id(line)] = header_pos
                    parts.append((line, children, 1))
                elif len(children):  # no baseline row to show: a title line keeps the tree readable
                    parts.append((DisplayRow(None, title=group.name), children, 1))
        if self.limit is not None:
            parts = _first_parts(parts, self.limit)
        pieces: list[Any] = []
        for line_or_none, children, _depth in parts:
            if line_or_none is not None and line_or_none.row is not None:
                pieces.append(np.array([header_at[id(line_or_none)]], dtype=np.intp))
            pieces.append(np.asarray(children, dtype=np.intp))
        shown_at = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.intp)
        shown = ShownRows(frame.row_array, shown_at, frame.spread())
        view = TableView(parts, (), (), matched, len(self._rows), shown=shown)
        view.experiments = int(len(shown_at) - np.count_nonzero(frame.kind_codes()[shown_at]))
        view.fields = tuple(self._visible_fields(shown))
        view.columns = tuple(self._visible_columns(shown))
        return view

    def _sorted_positions(self, positions: Any) -> Any:
        """Positions (a numpy array) reordered by the sort keys: one lexsort over the frame's columns."""
        if not self.sort_keys or len(positions) < 2:
            return positions
        from exptui.query.frame import sorted_positions

        return sorted_positions(self.frame(), positions, [(key.column, key.descending) for key in self.sort_keys])

    def _visible_fields(self, shown: Sequence[ExperimentRow]) -> list[Column]:
        fields = []
        for column in self.fields:
            if column.id in self.hidden or self._dropped(column, shown):
                continue
            if column.key == "status" and self.hide_unchanged_status and not self._selected(column, self.keep):
                if isinstance(shown, ShownRows) and self.engine == "frame" and hasattr(shown.at, "dtype"):
                    if self.frame().succeeded()[shown.at].all():    # over 50,000 shown rows: in numpy
                        continue
                elif all(row.status == "success" for row in shown):
                    continue
            fields.append(column)
        return fields

    def _visible_columns(self, shown: Sequence[ExperimentRow]) -> list[Column]:
        by_id = {c.id: c for c in self.columns}
        columns = [c for c in self.columns if c.id not in self.hidden and not self._dropped(c, shown)]
        if self.order:
            rank = {cid: i for i, cid in enumerate(self.order)}
            columns.sort(key=lambda c: rank.get(c.id, len(rank)))  # stable: unknown keep their place
        pinned = [by_id[cid] for cid in self.pinned if cid in by_id and cid not in self.hidden]
        pinned_ids = {c.id for c in pinned}
        return pinned + [c for c in columns if c.id not in pinned_ids]

    def _dropped(self, column: Column, shown: Sequence[ExperimentRow]) -> bool:
        if column.id in self.pinned or self._selected(column, self.keep):
            return False
        if self._selected(column, self.drop):
            return True
        if column.is_field or not (self.drop_empty or self.only_changed):
            return False
        # one pass that stops as soon as the column is known to stay (usually the first rows)
        get = column.getter()
        present = False
        first: Any = _UNSET
        for row in shown:
            value = get(row)
            if value is not MISSING:
                present = True
                if not self.only_changed:
                    return False
            if self.only_changed:
                if first is _UNSET:
                    first = value
                elif not same_value(first, value):
                    return False
        return self.only_changed or not present

    @staticmethod
    def _selected(column: Column, patterns: list[BoundedRegex]) -> bool:
        if not patterns:
            return False
        names = {column.label, column.id, column.file_key, column.key}
        if column.is_field:
            names.add(FIELD_HEADERS.get(column.key, column.key))
        return any(p.search(name) for p in patterns for name in names)

    # ------------------------------------------------------------------ cells
    def value(self, row: ExperimentRow, column: Column) -> Any:
        return column.getter()(row)

    def cell_text(self, row: ExperimentRow, column: Column, now: datetime | None = None) -> str:
        return cell_formatter(column, self.precision, now)(column.getter()(row))

    def baseline_row(self, row: ExperimentRow) -> ExperimentRow | None:
        """The baseline row an experiment is compared against (None for baselines)."""
        if row.kind in ("baseline", "workspace"):
            return None
        if self._baselines is None:
            self._baselines = {r.rev: r for r in self._rows if r.kind == "baseline"}
        return self._baselines.get(row.baseline)

    def delta(self, row: ExperimentRow, column: Column) -> Delta:
        """How ``row``'s value moved from its baseline's, by this table's directions
        (for better/worse colouring of cells)."""
        base = self.baseline_row(row)
        if base is None:
            return NO_DELTA
        get = column.getter()
        return delta(get(row), get(base), column, self.directions)

    def distinct_values(self, column: Column, limit: int = 50) -> list[str]:
        """Distinct text values of a column over all rows, most frequent first (for
        filter-bar completion: ``complete.suggest(..., values_of=table.distinct_values)``)."""
        get = column.getter()
        counts: dict[str, int] = {}
        for row in self._rows:
            value = get(row)
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                if isinstance(item, str):
                    counts[item] = counts.get(item, 0) + 1
        return sorted(counts, key=lambda v: (-counts[v], v))[:limit]

    def header(self, column: Column) -> str:
        return FIELD_HEADERS.get(column.key, column.key) if column.is_field else column.label

    # ------------------------------------------------------------------ outputs
    def to_json_records(self, live: Mapping[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The ``exptui show --json`` objects, one per shown row (pandas-free).

        ``params``/``metrics`` hold the visible columns' values; missing and unreadable
        values are left out (the file is named in ``errors``).
        """
        return list(self.iter_json_records(live))

    def iter_json_records(self, live: Mapping[str, dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
        """`to_json_records` one at a time (``show --json`` into a pipe writes each as it is made)."""
        view = self.view()
        visible: dict[tuple[str, str], set[str]] = {}
        for column in view.columns:
            visible.setdefault((column.family, column.file), set()).add(column.key)
        for row in view.experiment_rows:
            params = section(row.params, "params", visible, row.errors)
            metrics = section(row.metrics, "metrics", visible, row.errors)
            yield record(row, params, metrics, live)

    def to_json(self, indent: int | None = 2, live: Mapping[str, dict[str, Any]] | None = None) -> str:
        return json.dumps(self.to_json_records(live), indent=indent, ensure_ascii=False)

    def to_csv(self, precision: int | None = None) -> str:
        """Every shown row; floats at full precision unless ``precision`` is given (as DVC)."""
        view = self.view()
        out = io.StringIO()
        writer = _CsvWriter(out)
        writer.writerow(["name", "rev", "baseline", "kind", "status", "created", *(c.label for c in view.columns)])
        getters = [c.getter() for c in view.columns]
        for row in view.experiment_rows:
            created = field_column("created").getter()(row)
            cells = [row.name, row.rev, row.baseline_name or row.baseline, row.kind, row.status,
                     created.isoformat() if isinstance(created, datetime) else ""]
            for get in getters:
                value = get(row)
                cells.append("" if value is MISSING else "!" if value is ERROR else _csv_text(value, precision))
            writer.writerow(cells)
        return out.getvalue()

    def to_markdown(self, now: datetime | None = None) -> str:
        header, aligns, body = self._grid(now)
        def esc(text: str) -> str:
            return inert(text).replace("|", "\\|")
        lines = ["| " + " | ".join(esc(h) for h in header) + " |",
                 "|" + "|".join("---:" if right else ":---" for right in aligns) + "|"]
        lines += ["| " + " | ".join(esc(cell) for cell in cells) + " |" for cells in body]
        return "\n".join(lines) + "\n"

    def render_text(self, width: int | None = None, now: datetime | None = None) -> str:
        """A plain terminal table; with ``width``, trailing columns that do not fit are
        left out and a note says which."""
        header, aligns, body = self._grid(now)
        if not body:
            return f"no experiments match the filter ({self.view().total} in total)\n" \
                if self.predicate is not None else "no experiments\n"
        header = [inert(h) for h in header]                  # data shown, never obeyed; then measured
        body = [[inert(cell) for cell in cells] for cells in body]
        widths = [cell_width(h) for h in header]
        for cells in body:
            for i, cell in enumerate(cells):
                w = cell_width(cell)
                if w > widths[i]:
                    widths[i] = w
        widths = [min(widths[0], MAX_NAME_WIDTH)] + [min(w, MAX_CELL_WIDTH) for w in widths[1:]]
        if width is not None and widths[0] > width:
            widths[0] = max(width, 1)
        keep = len(header)
        if width is not None:
            total = widths[0]
            keep = 1
            for w in widths[1:]:
                if total + 2 + w > width:
                    break
                total += 2 + w
                keep += 1

        def line(cells: Sequence[str]) -> str:
            return "  ".join(fit(cells[i], widths[i], aligns[i]) for i in range(keep)).rstrip()

        out = [line(header), "  ".join("─" * widths[i] for i in range(keep))]
        out += [line(cells) for cells in body]
        if keep < len(header):
            left_out = header[keep:]
            names = ", ".join(left_out[:6]) + (", …" if len(left_out) > 6 else "")
            out.append(f"({len(left_out)} more column{'s' if len(left_out) > 1 else ''} not shown: {names}; "
                       "widen the terminal, use --keep/--drop/--only-changed, or --csv/--json)")
        return "\n".join(out) + "\n"

    def _grid(self, now: datetime | None) -> tuple[list[str], list[bool], list[list[str]]]:
        """Header texts, right-alignment flags and cell texts of the view."""
        view = self.view()
        now = now or datetime.now()
        cols = list(view.fields) + list(view.columns)
        header = ["Experiment"] + [self.header(c) for c in cols]
        aligns = [False] + [c.kind == "numeric" or (c.is_field and c.key == "duration") for c in cols]
        getters = [c.getter() for c in cols]
        pairs = [(get, cell_formatter(c, self.precision, now)) for c, get in zip(cols, getters)]
        blank = [""] * len(cols)
        body = []
        for display in view.rows:
            row = display.row
            if row is None:
                body.append([display.label, *blank])
                continue
            body.append([display.label, *[fmt(get(row)) for get, fmt in pairs]])
        # a mixed column still right-aligns if everything shown in it is a number
        for i, column in enumerate(cols, start=1):
            if column.kind == "mixed":
                get = getters[i - 1]
                values = [get(d.row) for d in view.rows if d.row is not None]
                aligns[i] = all(is_right_aligned(v) or v is MISSING or v is ERROR for v in values)
        return header, aligns, body

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of the view (pandas imported here, lazily).

        One row per shown row; columns ``name, rev, baseline, kind, status, created`` then
        one per visible column, named by label; ``df.attrs["column_ids"]`` maps labels to
        ids. Missing and unreadable values are NA.
        """
        import pandas as pd

        view = self.view()
        rows = view.experiment_rows
        created = field_column("created").getter()
        data: dict[str, list[Any]] = {
            "name": [r.name for r in rows], "rev": [r.rev for r in rows],
            "baseline": [r.baseline_name or r.baseline for r in rows], "kind": [r.kind for r in rows],
            "status": [r.status for r in rows],
            "created": [c if isinstance(c := created(r), datetime) else None for r in rows],
        }
        ids: dict[str, str] = {}
        for column in view.columns:
            get = column.getter()
            label = column.label if column.label not in data else column.id
            ids[label] = column.id
            data[label] = [None if (v := get(r)) is MISSING or v is ERROR else v for r in rows]
        frame = pd.DataFrame(data)
        frame.attrs["column_ids"] = ids
        return frame


# --------------------------------------------------------------------------- helpers

def _first_parts(parts: list[ViewPart], limit: int) -> list[ViewPart]:
    """The runs holding the first ``limit`` rows (baseline and experiment rows count, title lines do not). A cut
    run's last kept experiment closes its tree (``└──``), since `TableView.rows` marks the end of each run."""
    out: list[ViewPart] = []
    kept = 0
    for header, children, depth in parts:
        if kept >= limit:
            break
        if header is not None and header.row is not None:
            kept += 1
        taken = children[:max(limit - kept, 0)]
        kept += len(taken)
        if header is not None and header.row is None and not len(taken):
            continue                     # a title line only stays before a kept row
        out.append((header, taken, depth))
    return out


def _compile_patterns(patterns: Iterable[str], option: str) -> list[BoundedRegex]:
    """Keep/drop patterns, matched against whole column names by RE2 (names come from data: linear time)."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(compile_regex(pattern, whole=True))
        except RegexError as exc:
            raise ColumnPatternError(f"{option} {exc}") from None
    return compiled



class _CsvWriter:
    """`csv.writer` with ``\n`` line ends. Python 3.10's csv module cannot write a NUL character at all ("need to
    escape"); there a NUL from data is written as U+FFFD instead of failing the whole export (3.11+ writes it)."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, cells: list[str]) -> None:
        if sys.version_info < (3, 11):
            cells = [c.replace("\x00", "\ufffd") if isinstance(c, str) else c for c in cells]
        self._writer.writerow(cells)


def _csv_text(value: Any, precision: int | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if precision is None else f"{value:.{precision}g}"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(json_safe(value))
    return str(value)
