"""The table's data as a pandas DataFrame: one row per experiment, one column per column id.

Filters (`exptui.query.mask`) and sorts run over whole columns instead of calling a getter per
row per keystroke. A column is materialised the first time something asks for it and then
kept until the rows change (``TableModel.set_rows`` builds a new frame): a 10,000-row table
with 30 columns never pays for the columns nobody filters or sorts on.

Each column is held two ways:

* ``cells(column)``: the raw values (object dtype), ``MISSING``/``ERROR`` included, so any
  test can still be applied per cell with exactly the row-by-row semantics;
* ``typed(column)``: a ``TypedColumn`` with a small-int *code* per cell (what kind of value it
  is) and a float64 *number* per cell (the value for plain numbers and bools, NaN otherwise),
  which is what the vectorised comparisons use.

pandas and numpy are imported by the query layer only through this module and `mask`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from collections.abc import Sequence

import numpy as np
import pandas as pd

from exptui.query.columns import ERROR, MISSING, Column, field_column
from exptui.records import ExperimentRow

# cell codes
C_MISSING, C_ERROR, C_INT, C_FLOAT, C_BOOL, C_STR, C_NONE, C_DATETIME, C_OTHER, C_BIGINT = range(10)
EXACT_INT = 2 ** 53
"""Ints beyond this do not survive float64: their rows are compared in Python (code ``C_BIGINT``)."""


@dataclass(frozen=True)
class TypedColumn:
    """One column's cells classified once, for vectorised comparisons."""

    codes: np.ndarray      # int8, one of the C_* codes
    numbers: np.ndarray    # float64: ints, floats and bools (0/1) as numbers; NaN for everything else

    @property
    def is_number(self) -> np.ndarray:
        """Plain int/float cells (bools excluded, as the filter does) that float64 holds exactly."""
        return (self.codes == C_INT) | (self.codes == C_FLOAT)

    @property
    def present(self) -> np.ndarray:
        """Neither missing nor from an unreadable file."""
        return self.codes > C_ERROR


def classify(values: Sequence[Any]) -> TypedColumn:
    """Codes and numbers for a column's cell values (one Python pass, cached by the frame)."""
    n = len(values)
    codes = np.empty(n, dtype=np.int8)
    numbers = np.full(n, math.nan)
    for i, v in enumerate(values):
        cls = v.__class__
        if cls is float:
            codes[i] = C_FLOAT
            numbers[i] = v
        elif cls is str:
            codes[i] = C_STR
        elif cls is int:
            if -EXACT_INT <= v <= EXACT_INT:
                codes[i] = C_INT
                numbers[i] = v
            else:
                codes[i] = C_BIGINT
        elif v is MISSING:
            codes[i] = C_MISSING
        elif v is ERROR:
            codes[i] = C_ERROR
        elif cls is bool:
            codes[i] = C_BOOL
            numbers[i] = 1.0 if v else 0.0
        elif v is None:
            codes[i] = C_NONE
        elif isinstance(v, datetime):
            codes[i] = C_DATETIME
        elif isinstance(v, float):  # a float subclass (numpy.float64) is still exactly a float
            codes[i] = C_FLOAT
            numbers[i] = v
        elif isinstance(v, int):  # an int subclass: rare; kept exact by comparing in Python
            codes[i] = C_BIGINT
        else:
            codes[i] = C_OTHER
    return TypedColumn(codes, numbers)


class TableFrame:
    """A lazily filled DataFrame over a fixed list of rows (position ``i`` is ``rows[i]``)."""

    def __init__(self, rows: Sequence[ExperimentRow]) -> None:
        self.rows = list(rows)
        self.size = len(self.rows)
        self._cells: dict[str, pd.Series] = {}
        self._typed: dict[str, TypedColumn] = {}
        self._lower_names: pd.Series | None = None
        self._sort: dict[str, SortColumn] = {}
        self._dense: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._row_array: np.ndarray | None = None
        self._kinds: np.ndarray | None = None
        self._succeeded: np.ndarray | None = None
        self._spread: np.ndarray | None = None
        self._column_of: dict[str, Column] = {}

    @classmethod
    def updated(cls, rows: Sequence[ExperimentRow], previous: TableFrame | None) -> TableFrame:
        """A frame over `rows` that takes every column `previous` had built over to the new rows: a row that is
        the very object `previous` held keeps its cells (gathered by position in numpy), only the other rows are
        read through the getters. A reload that brings a few new experiments at 100,000 rows then costs in
        proportion to those, not 100,000 getter calls per filtered, sorted or best-marked column. Safe to call from
        a thread while `previous` is in use (its dicts are copied, each in one step)."""
        frame = cls(rows)
        if previous is None or not frame.size:
            return frame
        old_rows = previous.rows
        old_at = {id(row): i for i, row in enumerate(old_rows)}
        src = np.fromiter((old_at.get(id(row), -1) for row in frame.rows), dtype=np.intp, count=frame.size)
        kept = np.flatnonzero(src >= 0)
        fresh = np.flatnonzero(src < 0)
        taken = src[kept]
        cells = dict(previous._cells)
        column_of = dict(previous._column_of)     # set before its cells: every id in `cells` has its column
        typed = dict(previous._typed)
        fresh_rows = [frame.rows[i] for i in fresh.tolist()]
        for cid, series in cells.items():
            column = column_of[cid]
            values = np.empty(frame.size, dtype=object)
            values[kept] = series.to_numpy()[taken]
            if fresh_rows:
                get = column.getter()
                values[fresh] = [get(row) for row in fresh_rows]
            frame._column_of[cid] = column
            frame._cells[cid] = pd.Series(values, dtype=object, copy=False)
            old_typed = typed.get(cid)
            if old_typed is not None:
                codes = np.empty(frame.size, dtype=np.int8)
                numbers = np.full(frame.size, math.nan)
                codes[kept] = old_typed.codes[taken]
                numbers[kept] = old_typed.numbers[taken]
                if fresh_rows:
                    new = classify(values[fresh].tolist())
                    codes[fresh] = new.codes
                    numbers[fresh] = new.numbers
                frame._typed[cid] = TypedColumn(codes, numbers)
        fresh_frame = cls(fresh_rows)
        if previous._kinds is not None:
            frame._kinds = _carried(previous._kinds, kept, taken, fresh, fresh_frame.kind_codes)
        if previous._succeeded is not None:
            frame._succeeded = _carried(previous._succeeded, kept, taken, fresh, fresh_frame.succeeded)
        if previous._spread is not None:
            frame._spread = _carried(previous._spread, kept, taken, fresh, fresh_frame.spread)
        return frame

    def cells(self, column: Column) -> pd.Series:
        """The column's raw values (object dtype, sentinels kept), built on first use."""
        series = self._cells.get(column.id)
        if series is None:
            get = column.getter()
            values = np.empty(self.size, dtype=object)
            values[:] = [get(row) for row in self.rows]
            self._column_of[column.id] = column
            series = self._cells[column.id] = pd.Series(values, dtype=object, copy=False)
        return series

    def typed(self, column: Column) -> TypedColumn:
        typed = self._typed.get(column.id)
        if typed is None:
            typed = self._typed[column.id] = classify(self.cells(column).array)
        return typed

    def sort_column(self, column: Column) -> SortColumn:
        keys = self._sort.get(column.id)
        if keys is None:
            keys = self._sort[column.id] = sort_column(self.cells(column).array, self.typed(column))
        return keys

    def dense_rank(self, column: Column) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the place of its value in the column's ascending sort order (equal values share a place,
        absent ones come last and share the last), and which rows are absent; built once per column from its
        `SortColumn` with one lexsort over all rows. A sort by this one column is then one stable argsort of
        an int64 key, in either direction."""
        cached = self._dense.get(column.id)
        if cached is None:
            sc = self.sort_column(column)
            order = np.lexsort((sc.value, sc.rank, sc.absent))
            a, r, v = sc.absent[order], sc.rank[order], sc.value[order]
            change = np.empty(self.size, dtype=bool)
            if self.size:
                change[0] = True
                change[1:] = (a[1:] != a[:-1]) | (r[1:] != r[:-1]) | (v[1:] != v[:-1])
            dense = np.empty(self.size, dtype=np.int64)
            dense[order] = np.cumsum(change) - 1
            cached = self._dense[column.id] = (dense, sc.absent)
        return cached

    def lower_names(self) -> pd.Series:
        """Experiment names lower-cased (the quoted-text shorthand searches names case-insensitively)."""
        if self._lower_names is None:
            self._lower_names = self.cells(field_column("name")).str.lower()
        return self._lower_names

    def frame(self, columns: Sequence[Column]) -> pd.DataFrame:
        """A DataFrame of these columns (named by id), e.g. for inspection or export."""
        return pd.DataFrame({c.id: self.cells(c) for c in columns})

    def select(self, mask: np.ndarray) -> list[ExperimentRow]:
        return self.rows_at(np.flatnonzero(mask))

    @property
    def row_array(self) -> np.ndarray:
        """The rows as a numpy object array (built once): gathering rows by position runs in C."""
        if self._row_array is None:
            self._row_array = np.empty(self.size, dtype=object)
            self._row_array[:] = self.rows
        return self._row_array

    def rows_at(self, positions: Sequence[int] | np.ndarray | range) -> list[ExperimentRow]:
        """The rows at these positions, gathered in C through an object array of the rows (built once)."""
        if isinstance(positions, range):
            return self.row_array[positions.start:positions.stop:positions.step].tolist()
        return self.row_array[np.asarray(positions, dtype=np.intp)].tolist()

    def succeeded(self) -> np.ndarray:
        """Per row: its status is ``success`` (bool, built once): whether the State column says anything."""
        if self._succeeded is None:
            self._succeeded = np.fromiter((row.status == "success" for row in self.rows), dtype=bool,
                                          count=self.size)
        return self._succeeded

    def spread(self) -> np.ndarray:
        """Per row: a hash of its key (uint32, built once; the same for a row in every frame): a sample of rows
        picked by these bits is the same set of rows whatever positions they have now (a reload that inserts one
        experiment at the top shifts every position), so what was measured for them stays cached."""
        if self._spread is None:
            from zlib import crc32

            self._spread = np.fromiter((crc32(row.key.encode()) for row in self.rows), dtype=np.uint32,
                                       count=self.size)
        return self._spread

    def kind_codes(self) -> np.ndarray:
        """Per row: 0 experiment (or queue entry), 1 baseline, 2 workspace (int8, built once): counting the shown
        experiments and leaving the workspace out of a leaderboard are then vectorised."""
        if self._kinds is None:
            codes = {"baseline": 1, "workspace": 2}
            self._kinds = np.fromiter((codes.get(row.kind, 0) for row in self.rows), dtype=np.int8,
                                      count=self.size)
        return self._kinds


def _carried(old: np.ndarray, kept: np.ndarray, taken: np.ndarray, fresh: np.ndarray, compute: Any) -> np.ndarray:
    """A per-row array for the new rows: old values where the row was kept, `compute()` (over the fresh rows
    alone) for the rest."""
    out = np.empty(len(kept) + len(fresh), dtype=old.dtype)
    out[kept] = old[taken]
    if len(fresh):
        out[fresh] = compute()
    return out


# --------------------------------------------------------------------------- sorting

@dataclass(frozen=True)
class SortColumn:
    """A column's cells as numeric sort keys with `exptui.query.sort`'s order.

    ``absent``: missing, unreadable or NaN (always last); ``rank``: numbers and dates 0, bools 1,
    text (and lists, shown as text) 2, null 3; ``value``: the order within a rank (the number,
    a date's timestamp, 0/1, or a text's place among the column's sorted texts).
    """

    absent: np.ndarray   # bool
    rank: np.ndarray     # float64 (negated for descending)
    value: np.ndarray    # float64


def _sort_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return value if value.__class__ is str else str(value)


def sort_column(cells: Any, typed: TypedColumn) -> SortColumn:
    codes = typed.codes
    numbers = typed.numbers
    n = len(codes)
    rank = np.full(n, 2.0)
    value = np.zeros(n)
    absent = (codes <= C_ERROR) | ((codes == C_FLOAT) & np.isnan(numbers))
    numeric = (codes == C_INT) | (codes == C_FLOAT)
    rank[numeric] = 0.0
    value[numeric] = numbers[numeric]
    when = np.flatnonzero(codes == C_DATETIME)
    big = np.flatnonzero(codes == C_BIGINT)
    if when.size:
        rank[when] = 0.0
        value[when] = [cells[i].timestamp() for i in when]
    if big.size:  # ints float64 cannot hold: order every number of the column by its exact Python value
        # NaN cells are left out (they sort last anyway): NaN compares False with everything, so
        # sorted() over a set holding one has no defined order, and where a NaN sits in a set
        # depends on its id (hash(nan) is per object since Python 3.10): the order varied per process.
        exact = np.flatnonzero((numeric | (codes == C_DATETIME) | (codes == C_BIGINT)) & ~absent)
        keys = [cells[i].timestamp() if codes[i] == C_DATETIME else cells[i] for i in exact]
        places = {v: p for p, v in enumerate(sorted(set(keys)))}
        rank[big] = 0.0
        value[exact] = [places[v] for v in keys]
    flags = codes == C_BOOL
    rank[flags] = 1.0
    value[flags] = numbers[flags]
    nulls = codes == C_NONE
    rank[nulls] = 3.0
    texts = np.flatnonzero((codes == C_STR) | (codes == C_OTHER))
    if texts.size:
        places_of, _ = pd.factorize(pd.Series([_sort_text(cells[i]) for i in texts], dtype=object), sort=True)
        value[texts] = places_of
    rank[absent] = 0.0
    value[absent] = 0.0
    return SortColumn(absent, rank, value)


def sorted_positions(frame: TableFrame, positions: Sequence[int] | np.ndarray,
                     keys: Sequence[tuple[Column, bool]]) -> np.ndarray:
    """``positions`` reordered by ``(column, descending)`` keys: stable, absent values last for
    every key; the same order as `exptui.query.sort.sort_flat`, as one ``np.lexsort``."""
    at = np.asarray(positions, dtype=np.intp)
    if not keys or at.size < 2:
        return at
    if len(keys) == 1:       # the usual `s`: one stable argsort of an int key, no lexsort of three float planes
        column, descending = keys[0]
        dense, absent = frame.dense_rank(column)
        key = dense[at]
        if descending:          # absent rows keep the last place (dense.max()), the others reversed
            top = int(dense.max())
            key = np.where(absent[at], top + 1, top - key)
        # ties broken by the given order, so every key is distinct: numpy's default sort, as fast as the int
        # sort gets (a "stable" argsort of int64 keys was slower than the lexsort it replaces)
        m = len(at)
        return at[np.argsort(key * m + np.arange(m, dtype=np.int64))]
    planes: list[np.ndarray] = []
    for column, descending in reversed(keys):  # np.lexsort: the last plane is the primary key
        sc = frame.sort_column(column)
        sign = -1.0 if descending else 1.0
        planes += [sign * sc.value[at], sign * sc.rank[at], sc.absent[at]]
    return at[np.lexsort(planes)]
