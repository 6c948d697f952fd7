"""Sorting rows: within baseline groups (the `dvc exp show` tree) or as a flat leaderboard.

Grouped mode keeps each baseline row as the header of its experiments: the workspace row
first, then HEAD's baseline group, then the other groups newest first; the sort keys order
the experiments inside each group. Leaderboard mode sorts every row together.

Every sort is stable and multi-key; a missing (``-``), unreadable (``!``) or NaN value sorts
last whatever the direction, so "best first" never starts with a row that has no score.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from exptui.errors import ExptuiError
from exptui.records import ExperimentRow
from exptui.query.columns import (
    ERROR,
    MISSING,
    Column,
    ColumnIndex,
    ColumnLookupError,
    as_index,
    field_column,
)


class SortSpecError(ExptuiError):
    """A ``--sort`` spec that names no column or has a bad direction."""


@dataclass(frozen=True)
class SortKey:
    column: Column
    descending: bool = False

    def spec(self) -> str:
        """The text form accepted by parse_sort_spec (round-trips)."""
        name = self.column.id
        return f"{name}:desc" if self.descending else name


_DIRECTION_SUFFIXES = {"desc": True, "descending": True, "asc": False, "ascending": False}


def parse_sort_spec(spec: str, columns: Iterable[Column] | ColumnIndex,
                    default_descending: bool = False) -> list[SortKey]:
    """``"metrics.yaml:f1:desc,train.max_depth"`` -> sort keys.

    Comma-separated column references (any form the filter accepts); each may end in
    ``:desc``/``:asc`` or `` desc``, or start with ``-`` (descending) / ``+``. A key without a direction
    is descending when `default_descending` is set (``exptui show --sort-order desc``, as DVC's).
    """
    index = as_index(columns)
    keys: list[SortKey] = []
    for part in spec.split(","):
        text = part.strip()
        if not text:
            continue
        descending = default_descending
        if text[0] in "+-" and len(text) > 1:
            descending = text[0] == "-"
            text = text[1:].strip()
        words = text.rsplit(None, 1)
        if len(words) == 2 and words[1].lower() in _DIRECTION_SUFFIXES:
            text, descending = words[0], _DIRECTION_SUFFIXES[words[1].lower()]
        else:
            head, sep, tail = text.rpartition(":")
            if sep and tail.lower() in _DIRECTION_SUFFIXES and index.try_resolve(text) is None:
                text, descending = head, _DIRECTION_SUFFIXES[tail.lower()]
        try:
            column = index.resolve(text)
        except ColumnLookupError as exc:
            head, sep, tail = text.rpartition(":")
            if sep and index.try_resolve(head) is not None:  # "f1:down": the column is fine, the direction not
                raise SortSpecError(f"sort: unknown direction '{tail}' in '{part.strip()}' (use :asc or :desc)") from None
            raise SortSpecError(f"sort: {exc.message}") from None
        keys.append(SortKey(column, descending))
    return keys


# --------------------------------------------------------------------------- sort values

def _sort_value(value: Any) -> tuple[int, Any] | None:
    """A comparable key, or None for values that sort last (missing, error, NaN).

    Mixed columns order numbers before bools before text before null.
    """
    if value is MISSING or value is ERROR:
        return None
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        return (0, value)
    if isinstance(value, datetime):
        return (0, value.timestamp())
    if isinstance(value, str):
        return (2, value)
    if value is None:
        return (3, 0)
    if isinstance(value, tuple):
        return (2, ", ".join(map(str, value)))
    return (2, str(value))


def sort_flat(rows: Sequence[ExperimentRow], keys: Sequence[SortKey]) -> list[ExperimentRow]:
    """Stable multi-key sort of ``rows`` as one list; absent values last for every key."""
    ordered = list(rows)
    for key in reversed(keys):
        get = key.column.getter()
        present: list[tuple[tuple[int, Any], ExperimentRow]] = []
        absent: list[ExperimentRow] = []
        for row in ordered:
            sv = _sort_value(get(row))
            if sv is None:
                absent.append(row)
            else:
                present.append((sv, row))
        present.sort(key=lambda pair: pair[0], reverse=key.descending)
        ordered = [row for _, row in present] + absent
    return ordered


# --------------------------------------------------------------------------- groups

@dataclass
class RowGroup:
    """A baseline header (None when only its experiments are present) and its experiments."""

    baseline_sha: str
    header: ExperimentRow | None
    rows: list[ExperimentRow] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.header is not None:
            return self.header.baseline_name or self.header.name
        for row in self.rows:
            if row.baseline_name:
                return row.baseline_name
        return self.baseline_sha[:7]

    def newest(self) -> float:
        """The group's date: its baseline commit's, else its newest experiment's."""
        created = field_column("created").getter()
        stamps = [v.timestamp() for v in ([created(self.header)] if self.header is not None else [])
                  if isinstance(v, datetime)]
        if not stamps:
            stamps = [v.timestamp() for v in map(created, self.rows) if isinstance(v, datetime)]
        return max(stamps) if stamps else float("-inf")

    def all_rows(self) -> list[ExperimentRow]:
        return ([self.header] if self.header is not None else []) + self.rows


def group_rows(rows: Sequence[ExperimentRow], head: str | None = None) -> list[RowGroup]:
    """Group rows under their baselines.

    Order: workspace row(s) first (each its own group, no children), then the group of
    ``head`` (HEAD's sha; defaults to the workspace row's baseline), then the rest newest
    first. Inside a group, rows keep their given order.
    """
    workspace: list[RowGroup] = []
    groups: dict[str, RowGroup] = {}
    for row in rows:
        if row.kind == "workspace":
            workspace.append(RowGroup(row.baseline, row))
            if head is None:
                head = row.baseline
            continue
        sha = row.rev if row.kind == "baseline" else row.baseline
        group = groups.get(sha)
        if group is None:
            group = groups[sha] = RowGroup(sha, None)
        if row.kind == "baseline" and group.header is None:
            group.header = row
        else:
            group.rows.append(row)
    ordered = sorted(groups.values(), key=lambda g: (g.baseline_sha != head, -g.newest()))
    return workspace + ordered


def sort_groups(rows: Sequence[ExperimentRow], keys: Sequence[SortKey] = (),
                head: str | None = None) -> list[RowGroup]:
    """Groups (see group_rows) with each group's experiments sorted by ``keys``."""
    groups = group_rows(rows, head)
    if keys:
        for group in groups:
            group.rows = sort_flat(group.rows, keys)
    return groups


def sort_rows(rows: Sequence[ExperimentRow], keys: Sequence[SortKey] = (), within_baseline: bool = True,
              head: str | None = None) -> list[ExperimentRow]:
    """Sorted rows: baseline headers each followed by their sorted experiments
    (``within_baseline``), or every row sorted as one leaderboard."""
    if not within_baseline:
        return sort_flat(rows, keys)
    out: list[ExperimentRow] = []
    for group in sort_groups(rows, keys, head):
        out.extend(group.all_rows())
    return out
