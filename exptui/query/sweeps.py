"""Sweeps as things you can see: progress of each sweep, its ETA and its best trial.

A sweep is the set of rows sharing a sweep id (`ExperimentRow.sweep_id`: the trials queued together by
`exptui run --queue -S ...` or the sweep dialog). Its finished trials are recorded experiments (`success`) and
queue rows that ended otherwise; queued and running trials are queue rows. Everything here is computed from rows
and a clock passed in, so the TUI's header and notifications stay deterministic under test.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from dataclasses import dataclass

from exptui.query.columns import Column, is_number
from exptui.query.direction import DEFAULT_DIRECTIONS, Direction, Directions, known_direction
from exptui.records import ExperimentRow

FINISHED = frozenset({"success", "failed", "cancelled", "crashed"})


@dataclass(frozen=True)
class SweepProgress:
    """Where one sweep is: counts, and an ETA (seconds) once a trial has finished."""

    id: str
    label: str
    total: int
    done: int
    running: int
    queued: int
    failed: int
    eta: float | None

    @property
    def finished(self) -> bool:
        return self.done == self.total

    def text(self) -> str:
        """``sweep md-lr: 4/6 done, 1 running, ETA 0:40`` (the label is data: the caller makes it inert)."""
        parts = [f"{self.done}/{self.total} done"]
        if self.running:
            parts.append(f"{self.running} running")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if not self.finished:
            parts.append("ETA " + (format_eta(self.eta) if self.eta is not None else "?"))
        return f"sweep {self.label}: " + ", ".join(parts)


def format_eta(seconds: float) -> str:
    """``0:40``, ``12:05``, ``1:02:03``: minutes and seconds, hours when needed (rounded up)."""
    total = max(0, int(seconds + 0.999))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def group_sweeps(rows: Iterable[ExperimentRow]) -> dict[str, list[ExperimentRow]]:
    """{sweep id: its rows}, sweeps in the order their first row is met."""
    out: dict[str, list[ExperimentRow]] = {}
    for row in rows:
        sweep = row.sweep_id
        if sweep and row.kind in ("experiment", "queued"):
            out.setdefault(sweep, []).append(row)
    return out


def progress(sweep_id: str, rows: Sequence[ExperimentRow], workers: int, now: float) -> SweepProgress:
    """Counts and ETA of one sweep. ETA: the mean duration of its finished trials times the work left (queued
    trials in full, running ones minus their elapsed time), spread over `workers` parallel workers."""
    done = sum(1 for r in rows if r.status in FINISHED)
    running = [r for r in rows if r.status == "running"]
    queued = sum(1 for r in rows if r.status == "queued")
    failed = sum(1 for r in rows if r.status in ("failed", "crashed"))
    durations = [r.facts.duration for r in rows
                 if r.status == "success" and r.facts is not None and r.facts.duration is not None]
    eta = None
    if durations:
        mean = sum(durations) / len(durations)
        left = queued * mean + sum(max(mean - (now - r.started), 0.0) if r.started else mean for r in running)
        eta = left / max(1, workers)
    label = next((r.sweep for r in rows if r.sweep), sweep_id)
    return SweepProgress(sweep_id, label, len(rows), done, len(running), queued, failed, eta)


def all_progress(rows: Iterable[ExperimentRow], workers: int, now: float) -> list[SweepProgress]:
    """Progress of every sweep in `rows`, oldest first (sweep ids sort by creation time)."""
    return [progress(sid, members, workers, now) for sid, members in sorted(group_sweeps(rows).items())]


#: the metrics a ranking prefers, in order, when nothing is sorted: the usual headline numbers of a model
HEADLINE_METRICS: tuple[str, ...] = ("f1", "roc_auc", "auc", "accuracy", "acc", "r2")


def ranking_metric(columns: Sequence[Column], sort: Sequence[tuple[Column, bool]] = (),
                   directions: Directions = DEFAULT_DIRECTIONS) -> tuple[Column, Direction] | None:
    """The metric to rank on (the leaderboard `L`, a finished sweep's best trial): the first sorted metric (its sort
    order says which way is better); else a headline metric (f1, then roc_auc, auc, accuracy..., by the last part of
    the key); else the first metric whose direction is known (loss, error...); else None."""
    for column, descending in sort:
        if column.family == "metrics":
            return column, "higher" if descending else "lower"
    metrics = [c for c in columns if c.family == "metrics" and c.kind in ("numeric", "mixed")]
    for name in HEADLINE_METRICS:
        for column in metrics:
            if column.key.rsplit(".", 1)[-1].lower() == name:
                way = known_direction(column, directions)
                if way is not None:
                    return column, way
    for column in metrics:
        way = known_direction(column, directions)
        if way is not None:
            return column, way
    return None


def best_row(rows: Iterable[ExperimentRow], column: Column, way: Direction) -> ExperimentRow | None:
    """The row with the best finite value of `column` (the first one on a tie); None when none has a number."""
    get = column.getter()
    best: ExperimentRow | None = None
    best_value = 0.0
    for row in rows:
        value = get(row)
        if not is_number(value) or value != value or value in (float("inf"), float("-inf")):
            continue
        if best is None or (value > best_value if way == "higher" else value < best_value):
            best, best_value = row, value
    return best


def best_cells(rows: Sequence[ExperimentRow], columns: Iterable[Column],
               directions: Directions = DEFAULT_DIRECTIONS, frame: Any = None) -> dict[str, set[str]]:
    """{metric column id: keys of the rows holding the best value} per baseline (its experiments and itself) and
    per sweep, for metrics whose direction is known. A group where every value is the same has no best.

    Runs on every reload of the dashboard, so each column's values are read once (10k rows, 5 metrics: ~0.1 s).
    `frame`: a `exptui.query.frame.TableFrame` over these same rows (the dashboard's, from 5,000 rows): the
    columns are then read as the frame's typed columns, which a filter or sort on those metrics reuses, and each
    group's best is taken in numpy (the same cells as without it: tests/test_sweep_ids.py)."""
    baselines: dict[str, list[int]] = {}
    sweeps: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if row.kind in ("baseline", "experiment", "queued"):
            baselines.setdefault(row.baseline, []).append(i)
            facts = row.facts
            if facts is not None and facts.sweep and row.kind != "baseline":
                sweeps.setdefault(facts.sweep, []).append(i)
    groups = [g for g in (*baselines.values(), *sweeps.values()) if len(g) > 1]
    out: dict[str, set[str]] = {}
    inf = float("inf")
    arrays: list[Any] | None = None
    for column in columns:
        way = known_direction(column, directions)
        if way is None:
            continue
        if frame is not None:
            if arrays is None:
                import numpy as np

                arrays = [np.asarray(g, dtype=np.intp) for g in groups]
            found = _best_keys_in_frame(frame, column, way, arrays, rows)
            if found is not None:
                if found:
                    out[column.id] = found
                continue
        get = column.getter()
        values: list[float | None] = []
        for row in rows:
            v = get(row)
            values.append(v if v.__class__ in (int, float) and v == v and -inf < v < inf else None)
        keys: set[str] = set()
        for group in groups:
            numbers = [values[i] for i in group if values[i] is not None]
            if len(numbers) < 2:
                continue
            target = max(numbers) if way == "higher" else min(numbers)  # type: ignore[type-var]
            if min(numbers) == max(numbers):  # type: ignore[type-var]
                continue
            keys.update(rows[i].key for i in group if values[i] == target)
        if keys:
            out[column.id] = keys
    return out


def _best_keys_in_frame(frame: Any, column: Column, way: Direction, groups: list[Any],
                        rows: Sequence[ExperimentRow]) -> set[str] | None:
    """`best_cells` for one column over the frame's typed column; None when a cell needs Python's exact
    comparison (an int beyond float64's exact range)."""
    import numpy as np

    from exptui.query.frame import C_BIGINT, C_FLOAT, C_INT

    typed = frame.typed(column)
    codes, numbers = typed.codes, typed.numbers
    if (codes == C_BIGINT).any():
        return None
    usable = ((codes == C_INT) | (codes == C_FLOAT)) & np.isfinite(numbers)
    keys: set[str] = set()
    for group in groups:
        at = group[usable[group]]
        if at.size < 2:
            continue
        values = numbers[at]
        low, high = values.min(), values.max()
        if low == high:
            continue
        target = high if way == "higher" else low
        keys.update(rows[i].key for i in at[values == target].tolist())
    return keys
