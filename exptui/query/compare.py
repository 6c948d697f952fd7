"""Side-by-side comparison of experiments, and the two-experiment diff of `exptui diff`.

``compare`` transposes the table: one column per experiment, one line per metric, param
and run fact (duration, host, python, packages digest, status, created), each value with
its delta against the first experiment and better/worse by the metric's direction. Its
markdown fits a pull-request comment.

``diff`` lists what changed between two experiments, in the spirit of ``dvc exp diff``
(its ``--json`` shape is ``{"metrics"|"params": {file: {key: {"old", "new", "diff"}}}}``).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from exptui.records import ExperimentRow
from exptui.query.cells import column_widths, fit
from exptui.query.columns import ERROR, MISSING, Column, collect_columns, field_column, is_number, same_value
from exptui.query.direction import DEFAULT_DIRECTIONS, NO_DELTA, Delta, Directions, delta, known_direction
from exptui.query.format import DEFAULT_PRECISION, format_cell, format_value, json_safe
from exptui.query.inert import inert

Section = Literal["metrics", "params", "facts"]
FACT_FIELDS: tuple[str, ...] = ("status", "created", "duration", "sweep", "search", "host", "python", "packages",
                                "command", "failure")
FACT_TITLES = {"status": "status", "created": "created", "duration": "duration", "sweep": "sweep", "search": "search",
               "host": "host", "python": "python", "packages": "packages digest", "command": "command",
               "failure": "failure"}


@dataclass(frozen=True)
class CompareLine:
    """One line of the comparison: a metric, param or fact across all experiments."""

    section: Section
    column: Column
    label: str
    values: tuple[Any, ...]
    texts: tuple[str, ...]
    deltas: tuple[Delta, ...]      # against the first experiment; the first is NO_DELTA
    differs: bool                  # not the same value in every experiment (facts: not the same text as shown)
    best: tuple[int, ...] = ()     # indices of the experiments with the best value (metrics of known direction)


@dataclass(frozen=True)
class Comparison:
    experiments: tuple[ExperimentRow, ...]
    lines: tuple[CompareLine, ...]
    precision: int | None = DEFAULT_PRECISION

    def section(self, name: Section) -> list[CompareLine]:
        return [line for line in self.lines if line.section == name]

    @property
    def names(self) -> list[str]:
        return [_title(row) for row in self.experiments]

    def to_markdown(self) -> str:
        """A GitHub-flavoured markdown table for a pull-request comment.

        Deltas are against the first experiment; ✅/❌ say better/worse by direction;
        values that differ across experiments are bold.
        """
        if not self.experiments:
            return "_no experiments to compare_\n"
        names = self.names
        header = ["", f"{names[0]} (reference)"] + names[1:]
        out = ["| " + " | ".join(_md(h) for h in header) + " |",
               "|:---|" + "|".join("---:" for _ in names) + "|"]
        for section in ("metrics", "params", "facts"):
            lines = self.section(section)
            if not lines:
                continue
            out.append(f"| **{section}** |" + " |" * len(names))
            for line in lines:
                label = f"**{_md(line.label)}**" if line.differs else _md(line.label)
                cells = []
                for i, (text, d) in enumerate(zip(line.texts, line.deltas)):
                    cell = _md(text)
                    if line.differs and i > 0 and not same_value(line.values[i], line.values[0]):
                        cell = f"**{cell}**"
                    if d.abs is not None and d.changed:
                        mark = " ✅" if d.better is True else " ❌" if d.better is False else ""
                        cell += f" ({_delta_note(d)}){mark}"
                    cells.append(cell)
                out.append(f"| {label} | " + " | ".join(cells) + " |")
        return "\n".join(out) + "\n"

    def to_text(self) -> str:
        """A plain aligned table (differing lines flagged with ``≠``)."""
        if not self.experiments:
            return "no experiments to compare\n"
        names = self.names
        grid: list[list[str]] = [["", ""] + names]
        for section in ("metrics", "params", "facts"):
            lines = self.section(section)
            if not lines:
                continue
            grid.append(["", section] + [""] * len(names))
            for line in lines:
                cells = []
                for text, d in zip(line.texts, line.deltas):
                    cells.append(text + (f" ({_delta_note(d)})" if d.changed else ""))
                grid.append(["≠" if line.differs else " ", line.label] + cells)
        grid = [[inert(cell) for cell in row] for row in grid]     # data shown, never obeyed; then measured
        widths = column_widths(grid)
        text_lines = []
        for row in grid:
            parts = [row[0], fit(row[1], widths[1])] + [fit(cell, widths[i], right=True) for i, cell in
                                                        enumerate(row[2:], start=2)]
            text_lines.append(" ".join(parts).rstrip())
        return "\n".join(text_lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "experiments": [{"name": row.name, "rev": row.rev} for row in self.experiments],
            "lines": [
                {
                    "section": line.section, "id": line.column.id, "label": line.label,
                    "values": [None if v is MISSING or v is ERROR else json_safe(v) for v in line.values],
                    "deltas": [None if d.abs is None else {"abs": d.abs, "rel": d.rel, "better": d.better}
                               for d in line.deltas],
                    "differs": line.differs,
                }
                for line in self.lines
            ],
        }


def _delta_note(d: Delta) -> str:
    """``+0.0877, +14.3%``: the change against the reference, for a cell's parentheses."""
    text = f"{d.abs:+.3g}"
    if d.rel is not None:
        text += f", {d.rel * 100:+.1f}%"
    return text


def _title(row: ExperimentRow) -> str:
    if row.kind == "baseline":
        return row.baseline_name or row.name or row.rev[:7]
    return row.name or row.rev[:7]


def _md(text: str) -> str:
    """A Markdown table cell: inert (one line, no control characters), pipes escaped."""
    return inert(text).replace("|", "\\|")


def compare(rows: Sequence[ExperimentRow], diff_only: bool = False, *,
            precision: int | None = DEFAULT_PRECISION, directions: Directions = DEFAULT_DIRECTIONS,
            now: datetime | None = None) -> Comparison:
    """Transpose ``rows`` into a comparison; ``diff_only`` keeps only the lines whose value is not the same in
    every experiment (facts included: two runs on one host with one Python are not "different" there; a time is
    compared as shown, so two durations of 1.2 s are equal)."""
    rows = tuple(rows)
    lines: list[CompareLine] = []
    columns = collect_columns(rows)
    for column in columns:
        line = _line(column.family, column, column.label, rows, precision, directions, now)  # type: ignore[arg-type]
        if diff_only and not line.differs:
            continue
        if all(v is MISSING for v in line.values):
            continue
        lines.append(line)
    for name in FACT_FIELDS:
        column = field_column(name)
        line = _line("facts", column, FACT_TITLES[name], rows, precision, directions, now)
        if all(v is MISSING for v in line.values) or (diff_only and not line.differs):
            continue
        lines.append(line)
    return Comparison(rows, tuple(lines), precision)


def _line(section: Section, column: Column, label: str, rows: Sequence[ExperimentRow], precision: int | None,
          directions: Directions, now: datetime | None) -> CompareLine:
    get = column.getter()
    values = tuple(get(row) for row in rows)
    texts = tuple(_fact_text(column, v, precision, now) for v in values)
    reference = values[0] if values else MISSING
    deltas = tuple(NO_DELTA if i == 0 else delta(v, reference, column, directions) for i, v in enumerate(values))
    if section == "facts":  # what the user reads: times equal at the shown precision are the same
        differs = any(text != texts[0] for text in texts[1:])
        if not differs:
            deltas = tuple(NO_DELTA for _ in values)
    else:
        differs = any(not same_value(v, reference) for v in values[1:])
    return CompareLine(section, column, label, values, texts, deltas, differs, _best(column, values, directions))


def _best(column: Column, values: Sequence[Any], directions: Directions) -> tuple[int, ...]:
    """Indices of the best finite values of a metric whose direction is known; () when all are equal."""
    way = known_direction(column, directions)
    if way is None:
        return ()
    numbers = [(i, v) for i, v in enumerate(values) if is_number(v) and v == v and abs(v) != float("inf")]
    if len(numbers) < 2:
        return ()
    target = max(v for _i, v in numbers) if way == "higher" else min(v for _i, v in numbers)
    if all(v == target for _i, v in numbers):
        return ()
    return tuple(i for i, v in numbers if v == target)


_QUEUE_COMMAND = re.compile(r"exptui queue \S+: .*? \((.*)\)")


def display_command(command: str) -> str:
    """A run's command as a person would type it: a queued run's recorded command carries the internal entry id
    (``exptui queue 1733…-ab12: md3 (train.max_depth=3)``, which recovery needs); shown as
    ``exptui run --queue -S train.max_depth=3``."""
    match = _QUEUE_COMMAND.fullmatch(command)
    if match is None:
        return command
    overrides = match.group(1)
    if overrides == "no overrides":
        return "exptui run --queue"
    return "exptui run --queue " + " ".join(f"-S {part}" for part in overrides.split(" "))


def _fact_text(column: Column, value: Any, precision: int | None, now: datetime | None) -> str:
    if column.is_field and column.key == "created" and isinstance(value, datetime):
        if value.tzinfo is not None:  # the store gives UTC; people read local time
            value = value.astimezone()
        return value.strftime("%Y-%m-%d %H:%M")
    if column.is_field and column.key == "packages" and isinstance(value, str):
        return value[:12]
    if column.is_field and column.key == "command" and isinstance(value, str):
        return display_command(value)
    return format_cell(column, value, precision, now)


# --------------------------------------------------------------------------- diff

@dataclass(frozen=True)
class DiffRow:
    """One changed (or, with include_unchanged, unchanged) value between two experiments."""

    column: Column
    old: Any                       # MISSING / ERROR when absent on that side
    new: Any
    abs_change: float | None
    rel_change: float | None
    better: bool | None = None

    @property
    def changed(self) -> bool:
        return not same_value(self.old, self.new)


def diff(a: ExperimentRow, b: ExperimentRow, *, include_unchanged: bool = False,
         directions: Directions = DEFAULT_DIRECTIONS) -> list[DiffRow]:
    """What changed from ``a`` to ``b``: metrics first, then params, in column order."""
    out: list[DiffRow] = []
    for column in collect_columns([a, b]):
        get = column.getter()
        old, new = get(a), get(b)
        if not include_unchanged and same_value(old, new):
            continue
        d = delta(new, old, column, directions)
        out.append(DiffRow(column, old, new, d.abs, d.rel, d.better))
    return out


def diff_to_json(rows: Sequence[DiffRow]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """``{"metrics": {file: {key: {"old", "new", "diff"?, "rel"?}}}, "params": {...}}``
    (``diff`` only when both sides are numbers, as ``dvc exp diff --json``)."""
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {"metrics": {}, "params": {}}
    for row in rows:
        entry: dict[str, Any] = {"old": _json_value(row.old), "new": _json_value(row.new)}
        if row.abs_change is not None:
            entry["diff"] = row.abs_change
            entry["rel"] = row.rel_change
            if row.better is not None:
                entry["better"] = row.better
        out[row.column.family].setdefault(row.column.file, {})[row.column.key] = entry
    return out


def _json_value(value: Any) -> Any:
    if value is MISSING:
        return None
    if value is ERROR:
        return "!"
    return json_safe(value)


def _diff_grid(rows: Sequence[DiffRow], old_name: str, new_name: str,
               precision: int | None) -> list[list[str]]:
    grid = [["Path", "Key", old_name, new_name, "Change"]]
    for family in ("metrics", "params"):
        for row in rows:
            if row.column.family != family:
                continue
            change = ""
            if row.abs_change is not None:
                change = format_value(row.abs_change, precision)
                if row.abs_change > 0:
                    change = "+" + change
                if row.rel_change is not None:
                    change += f" ({row.rel_change * 100:+.1f}%)"
            elif row.changed and not (is_number(row.old) and is_number(row.new)):
                change = "changed"
            grid.append([row.column.file, row.column.key, format_value(row.old, precision),
                         format_value(row.new, precision), change])
    return grid


def diff_to_markdown(rows: Sequence[DiffRow], old_name: str = "old", new_name: str = "new",
                     precision: int | None = DEFAULT_PRECISION) -> str:
    grid = _diff_grid(rows, old_name, new_name, precision)
    out = ["| " + " | ".join(_md(c) for c in grid[0]) + " |", "|:---|:---|---:|---:|---:|"]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in grid[1:]]
    return "\n".join(out) + "\n"


def diff_to_text(rows: Sequence[DiffRow], old_name: str = "old", new_name: str = "new",
                 precision: int | None = DEFAULT_PRECISION) -> str:
    if not rows:
        return "no differences\n"
    grid = [[inert(cell) for cell in r] for r in _diff_grid(rows, old_name, new_name, precision)]
    widths = column_widths(grid)
    lines = []
    for r in grid:
        lines.append("  ".join([fit(r[0], widths[0]), fit(r[1], widths[1]), fit(r[2], widths[2], right=True),
                                fit(r[3], widths[3], right=True), fit(r[4], widths[4])]).rstrip())
    return "\n".join(lines) + "\n"
