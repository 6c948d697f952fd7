"""Plot series from experiment rows: pure arithmetic over the table's values, no Textual, no plotext.

Metric against param (scatter), per-step curves from plots files, parallel coordinates. The plots screen only
renders what these functions return; the files come from `Project.plot_files` / `Project.read_plot`.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable

from dvc_compat.plots import PlotFile, parse_plot_records
from exptui.records import ExperimentRow

__all__ = [
    "PlotFile", "parse_plot_records", "flat_values", "as_number", "numeric_keys", "all_keys", "ScatterSeries",
    "metric_vs_param", "Curve", "curve_columns", "curve_of", "ParallelAxis", "ParallelLine",
    "parallel_coordinates", "PlotSubset", "rank_metric", "best_subset", "flat_value",
]


def flat_values(tree: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{file: {key: value}}`` -> ``{key: value}``; a key seen in two files keeps the file prefix."""
    counts: dict[str, int] = {}
    for values in tree.values():
        for key in values:
            counts[key] = counts.get(key, 0) + 1
    out: dict[str, Any] = {}
    for file, values in tree.items():
        for key, value in values.items():
            out[key if counts[key] == 1 else f"{file}:{key}"] = value
    return out


def flat_value(tree: dict[str, dict[str, Any]], key: str) -> Any:
    """``flat_values(tree).get(key)`` without building the flat dict: `best_subset` ranks every row of a family by
    one metric (100,000 rows: 0.2 s of CPU for the dicts alone). A key without ``:`` is unprefixed in the flat
    dict exactly when one file has it (prefixed keys all hold a ``:``); other keys take the general way."""
    if ":" in key:
        return flat_values(tree).get(key)
    found = None
    seen = 0
    for values in tree.values():
        if key in values:
            seen += 1
            found = values[key]
    return found if seen == 1 else None


def as_number(value: Any) -> float | None:
    """A finite float for numbers (bools excluded) and numeric strings, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def numeric_keys(rows: Iterable[ExperimentRow], family: str) -> list[str]:
    """Keys of `family` ("params" or "metrics") with a numeric value in at least one row, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for key, value in flat_values(getattr(row, family)).items():
            if as_number(value) is not None:
                seen.setdefault(key, None)
    return list(seen)


def all_keys(rows: Iterable[ExperimentRow], family: str) -> list[str]:
    """Every key of `family` in first-seen order (categorical params included)."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in flat_values(getattr(row, family)):
            seen.setdefault(key, None)
    return list(seen)


@dataclass
class ScatterSeries:
    """Points of one metric against one param: one point per experiment that has both."""

    x_key: str
    y_key: str
    names: list[str] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)   # position of each point's experiment in the input rows
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    categories: list[str] | None = None     # x tick labels when the param is categorical


def metric_vs_param(rows: list[ExperimentRow], x_key: str, y_key: str) -> ScatterSeries:
    """Collect (param, metric) pairs, sorted by x; categorical params map to 1..k in first-seen order."""
    raw: list[tuple[int, Any, float]] = []
    for index, row in enumerate(rows):
        x = flat_values(row.params).get(x_key, flat_values(row.metrics).get(x_key))
        y = as_number(flat_values(row.metrics).get(y_key, flat_values(row.params).get(y_key)))
        if x is None or y is None:
            continue
        raw.append((index, x, y))
    series = ScatterSeries(x_key, y_key)
    if raw and all(as_number(x) is not None for _, x, _ in raw):
        points = sorted(((as_number(x), y, name) for name, x, y in raw), key=lambda p: (p[0], p[1]))
    else:
        labels: dict[str, int] = {}
        for _, x, _ in raw:
            labels.setdefault(str(x), len(labels) + 1)
        series.categories = list(labels)
        points = sorted(((float(labels[str(x)]), y, name) for name, x, y in raw), key=lambda p: (p[0], p[1]))
    for x, y, index in points:
        series.xs.append(float(x))  # type: ignore[arg-type]
        series.ys.append(y)
        series.indices.append(index)
        series.names.append(rows[index].name)
    return series


@dataclass
class Curve:
    """One experiment's values of one column over steps (from a plots file)."""

    name: str
    index: int          # position of the experiment in the plotted rows (its palette colour)
    xs: list[float]
    ys: list[float]


def curve_columns(records: list[dict[str, Any]], x_hint: str | None = None) -> tuple[str | None, list[str]]:
    """(x column, numeric y columns) of a plots file; x = the declared `x`, else `step`/`epoch`, else the row index."""
    if not records:
        return None, []
    columns = list(records[0])
    numeric = [c for c in columns if any(as_number(r.get(c)) is not None for r in records)]
    x = x_hint if x_hint in columns else next((c for c in ("step", "epoch", "iteration", "iter") if c in columns), None)
    return x, [c for c in numeric if c != x]


def curve_of(name: str, index: int, records: list[dict[str, Any]], x: str | None, y: str) -> Curve:
    """The (x, y) points of column `y`; rows without a numeric value are skipped."""
    xs: list[float] = []
    ys: list[float] = []
    for position, record in enumerate(records):
        yv = as_number(record.get(y))
        xv = as_number(record.get(x)) if x else float(position)
        if yv is None or xv is None:
            continue
        xs.append(xv)
        ys.append(yv)
    return Curve(name, index, xs, ys)


@dataclass
class ParallelAxis:
    """One vertical axis of a parallel-coordinates plot."""

    key: str
    low: float
    high: float
    categories: list[str] | None = None

    def label(self) -> str:
        if self.categories is not None:
            return f"{self.key}: {' | '.join(self.categories)}"
        return f"{self.key}: {_short(self.low)} .. {_short(self.high)}"


@dataclass
class ParallelLine:
    """One experiment across the axes: positions in [0, 1] (None where the value is missing)."""

    name: str
    positions: list[float | None]
    metric: float | None


def _short(value: float) -> str:
    return f"{value:.4g}"


def parallel_coordinates(
    rows: list[ExperimentRow], param_keys: list[str], metric_key: str
) -> tuple[list[ParallelAxis], list[ParallelLine]]:
    """Normalise each param (and the metric, last axis) to [0, 1] across the experiments.

    Numeric axes are min-max scaled (a constant axis sits at 0.5); categorical ones spread their
    categories evenly in first-seen order. The returned lines carry the raw metric for colouring.
    """
    keys = [*param_keys, metric_key]
    columns: list[list[Any]] = []
    for key in keys:
        column = []
        for row in rows:
            params, metrics = flat_values(row.params), flat_values(row.metrics)
            column.append(params.get(key, metrics.get(key)))
        columns.append(column)
    axes: list[ParallelAxis] = []
    normalised: list[list[float | None]] = []
    for key, column in zip(keys, columns):
        present = [v for v in column if v is not None]
        if present and all(as_number(v) is not None for v in present):
            numbers = [as_number(v) for v in present]
            low, high = min(numbers), max(numbers)  # type: ignore[type-var]
            span = high - low  # type: ignore[operator]
            axes.append(ParallelAxis(key, low, high))  # type: ignore[arg-type]
            normalised.append([
                None if as_number(v) is None else (0.5 if span == 0 else (as_number(v) - low) / span)  # type: ignore[operator]
                for v in column
            ])
        else:
            cats: dict[str, int] = {}
            for v in present:
                cats.setdefault(str(v), len(cats))
            count = max(len(cats) - 1, 1)
            axes.append(ParallelAxis(key, 0.0, float(len(cats) - 1), categories=list(cats)))
            normalised.append([
                None if v is None else (0.5 if len(cats) == 1 else cats[str(v)] / count) for v in column
            ])
    lines = [
        ParallelLine(row.name, [normalised[a][i] for a in range(len(keys))], as_number(columns[-1][i]))
        for i, row in enumerate(rows)
    ]
    return axes, lines


@dataclass
class PlotSubset:
    """The rows a plot draws when there are too many to tell apart: which, out of how many, ranked by what."""

    rows: list[ExperimentRow]
    total: int
    metric: str | None = None           # the ranking metric (flat key), None when nothing was left out
    lower_is_better: bool = False

    @property
    def partial(self) -> bool:
        return len(self.rows) < self.total


def rank_metric(rows: Iterable[ExperimentRow]) -> str | None:
    """The metric to rank experiments by: the first numeric one with a known direction (f1, loss, auc...), else
    the first numeric one. Looks at the first rows that have metrics only: cheap at 10,000 rows."""
    from exptui.query.direction import HIGHER_IS_BETTER_WORDS, LOWER_IS_BETTER_WORDS, words_of

    known = HIGHER_IS_BETTER_WORDS | LOWER_IS_BETTER_WORDS
    first: str | None = None
    seen = 0
    for row in rows:
        if not row.metrics:
            continue
        for key, value in flat_values(row.metrics).items():
            if as_number(value) is None:
                continue
            if any(word in known for word in words_of(key.rsplit(":", 1)[-1])):
                return key
            first = first or key
        seen += 1
        if seen >= 20:
            break
    return first


def _scored(rows: list[ExperimentRow], skip: set[int], metric: str, sign: float) -> list[tuple[float, int]]:
    """(value × sign, index) of every row not in `skip` with a number for `metric` (smallest first = best)."""
    isfinite = math.isfinite
    scored = []
    for i, row in enumerate(rows):
        if i in skip:
            continue
        raw = flat_value(row.metrics, metric)
        # a float (most metrics) without as_number's call: 100,000 rows rank in ~0.05 s instead of ~0.1
        value = raw if type(raw) is float and isfinite(raw) else as_number(raw)
        if value is not None:
            scored.append((sign * value, i))
    return scored


def best_subset(rows: list[ExperimentRow], limit: int, pinned: Iterable[ExperimentRow] = (),
                lower_is_better: bool | None = None) -> PlotSubset:
    """At most `limit` of `rows`, in their order: the `pinned` ones (the rows the user chose), running ones (their
    curves move live) and baselines first, then the best by `rank_metric`. One pass plus a sort of the candidates:
    10,000 rows cost milliseconds, and the plots draw what a reader can tell apart (distinct colour+marker pairs)."""
    if len(rows) <= limit:
        return PlotSubset(list(rows), len(rows))
    from exptui.query.direction import name_direction

    metric = rank_metric(rows)
    lower = (name_direction(metric.rsplit(":", 1)[-1]) == "lower" if metric else False) \
        if lower_is_better is None else lower_is_better
    pinned_ids = {id(r) for r in pinned}
    must = [i for i, r in enumerate(rows)
            if id(r) in pinned_ids or r.status == "running" or r.kind in ("baseline", "workspace")][:limit]
    chosen = set(must)
    scored: list[tuple[float, int]] = []
    if metric is not None:
        from exptui.query.gc_pause import gc_paused

        with gc_paused():   # 100,000 pairs of acyclic tuples: the collector would walk them for nothing
            scored = _scored(rows, chosen, metric, 1.0 if lower else -1.0)
    # the few best, as sorted(scored)[:k] gives them (ties in table order), without sorting 100,000 pairs
    chosen.update(i for _, i in heapq.nsmallest(max(0, limit - len(chosen)), scored))
    if len(chosen) < limit:   # too few ranked rows: the first others in table order
        chosen.update([i for i in range(len(rows)) if i not in chosen][:limit - len(chosen)])
    return PlotSubset([rows[i] for i in sorted(chosen)], len(rows), metric, lower)
