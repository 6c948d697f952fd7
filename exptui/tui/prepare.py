"""What a reload hands the dashboard, prepared in the loading thread.

Why: at 100,000 experiments a reload that found one new experiment spent ~1.2 s of CPU on the UI thread (columns
collected again, a new frame whose filtered/sorted/best-marked columns were read again through 100,000 getter
calls each, the best cells, the counts, the table's check of every row), freezing keystrokes meanwhile. Here the
same work runs in the loading thread, and in proportion to what changed: the columns of the new rows are merged
into the last ones, the frame carries its built columns over (`TableFrame.updated`), the model's grouping is done,
and only the rows that are new objects are handed to the table to be re-measured. The UI thread then swaps the
prepared model in and redraws.

Nothing here touches a widget; it reads the current model (owned by the UI thread) only through copies taken in
one step, and builds a new one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Sequence

from exptui.records import ExperimentRow


@dataclass
class Prepared:
    """A reload's rows with everything derived from them alone (not from the view state)."""

    rows: list[ExperimentRow]
    model: Any                       # exptui.query.table.TableModel over `rows` (frame engine), grouping done
    best: dict[str, set[str]]
    directions: Any                  # the directions `best` was computed with
    counts: dict[str, int]
    changed: list[ExperimentRow]     # rows that are not objects of the previous listing (new or changed)
    baselines: dict[str, ExperimentRow] = field(default_factory=dict)
    has_notes: bool = False
    workspace: ExperimentRow | None = None


def merged_columns(previous: Sequence[Any], new_rows: Sequence[ExperimentRow], removed: bool,
                   rows: Sequence[ExperimentRow]) -> list[Any]:
    """The columns of `rows`: the previous columns when the new rows bring no new column and no new kind of value
    (the usual reload: a few more experiments of the same sweep), else collected again over every row."""
    from exptui.query.columns import collect_columns

    if removed or not previous:
        return collect_columns(rows)
    by_id = {c.id: c for c in previous}
    for column in collect_columns(new_rows):
        old = by_id.get(column.id)
        if old is None or (old.kind != column.kind and old.kind != "mixed"):
            return collect_columns(rows)
    return list(previous)


def counts_of(rows: Sequence[ExperimentRow]) -> dict[str, int]:
    """The header's experiment counts over all rows (baselines and the workspace are context)."""
    total = running = queued = failed = 0
    for r in rows:
        if r.kind in ("baseline", "workspace"):
            continue
        total += 1
        status = r.status
        if status == "success":
            continue
        running += status == "running"
        queued += status == "queued"
        failed += status in ("failed", "crashed")
    return {"total": total, "running": running, "queued": queued, "failed": failed}


def prepare(rows: list[ExperimentRow], current: Any, directions: Any) -> Prepared:
    """Everything the dashboard derives from `rows` alone, over the frame engine, reusing what `current` (the
    model shown now) has for the rows that are the same objects (`app._reuse_unchanged` made them so)."""
    from exptui.query.frame import TableFrame
    from exptui.query.gc_pause import gc_paused
    from exptui.query.sweeps import best_cells
    from exptui.query.table import TableModel

    with gc_paused():
        previous_rows = list(current.rows) if current is not None else []
        known = {id(row) for row in previous_rows}
        changed = [row for row in rows if id(row) not in known]
        removed = len(previous_rows) - (len(rows) - len(changed)) > 0
        columns = merged_columns(current.columns if current is not None else [], changed, removed, rows)
        old_frame = current._frame if current is not None and current.engine == "frame" else None
        frame = TableFrame.updated(rows, old_frame)
        model = TableModel(fields=(), engine="frame")
        model.set_rows(rows, columns=columns, frame=frame)
        model._grouping()               # group_rows over every row: done here, not on the first keystroke
        frame.kind_codes()
        frame.succeeded()
        frame.spread()
        _ = frame.row_array
        best = best_cells(rows, columns, directions, frame=frame)
        baselines = {r.rev: r for r in rows if r.kind == "baseline"}
        return Prepared(rows=rows, model=model, best=best, directions=directions, counts=counts_of(rows),
                        changed=changed, baselines=baselines,
                        has_notes=any(r.annotations.note for r in rows),
                        workspace=next((r for r in rows if r.kind == "workspace"), None))
