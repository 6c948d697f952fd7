"""`repro --dry`: what a repro would do to each stage, and why, without running or writing anything.

`dvc repro --dry` prints "Running stage" for the stages that changed and calls every stage after them unchanged,
because nothing ran to change their deps. Here a stage after one that would run is "would run if ..." with the
upstream stage named, so the plan says what a real repro is likely to do. Outs missing but in the cache are
"would restore" (a real repro checks them out instead of running). Nothing is written: no lock, no cache, no
.gitignore; the workspace lock is not taken (this only reads).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dvc_compat.model import StageSpec
from exptui.pipeline.dag import load_pipeline, repo_path
from exptui.pipeline.datasources import DataSourceStage
from exptui.pipeline.repro import plan_stages
from exptui.pipeline.status import (
    Change,
    Workspace,
    can_run_cache,
    data_source_status,
    ensure_dvc_repo,
    ensure_stages,
    stage_status,
)

RUN = "run"
RESTORE = "restore"
COMMIT = "commit"          # a `dvc add`-ed data source changed in place: it would be committed again
MAYBE = "maybe"            # unchanged now, but downstream of a stage that would run
SKIP = "skip"
FROZEN = "frozen"


@dataclass
class PlannedStage:
    address: str
    action: str
    reasons: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list, repr=False)   # what `reasons` say, as status records

    def line(self) -> str:
        """One line in `dvc repro`'s words where it has them."""
        a = self.address
        return {
            RUN: f"Would run stage '{a}'",
            RESTORE: f"Would restore stage '{a}' from the cache",
            COMMIT: f"Would commit the changed data source '{a}'",
            MAYBE: f"Would run stage '{a}' if its upstream changes its deps",
            SKIP: f"Stage '{a}' didn't change, skipping",
            FROZEN: f"Stage '{a}' is frozen, skipping",
        }[self.action]


def dry_run(root: Path, targets: list[str] | None = None, *, force: bool = False, single_item: bool = False,
            downstream: bool = False, force_downstream: bool = False,
            cache_dir: Path | None = None) -> list[PlannedStage]:
    """The plan of `reproduce(root, targets, ...)` with the same selection flags, stage by stage."""
    root = Path(root).resolve()
    ensure_dvc_repo(root, cache_dir)
    pipeline = load_pipeline(root)
    ensure_stages(root, pipeline.stages)
    stages = plan_stages(pipeline, targets, single_item=single_item, downstream=downstream)
    ws = Workspace(root, cache_dir=cache_dir)
    out: list[PlannedStage] = []
    acting: set[str] = set()   # stages that would run or commit (their outs may change)
    restored: set[str] = set()  # repo paths of outs a restore would bring back as the lock records them
    try:
        for stage in stages:
            planned = _plan_one(ws, stage, force)
            if planned.action == RUN and not force and planned.changes and all(
                    c.kind == "dep" and c.path in restored for c in planned.changes):
                planned = PlannedStage(stage.address, SKIP)   # its deps come back unchanged before it is looked at
            if planned.action == RESTORE:
                restored.update(repo_path(stage, o.path) for o in stage.outs)
            if planned.action == SKIP:
                ups = [u for u in pipeline.upstream.get(stage.address, ()) if u in acting]
                if ups and force_downstream:
                    planned = PlannedStage(stage.address, RUN, [f"forced: downstream of '{ups[0]}'"])
                elif ups:
                    planned = PlannedStage(stage.address, MAYBE, [f"upstream stage '{u}' would run" for u in ups])
            if planned.action in (RUN, COMMIT, MAYBE):   # a restore brings back the outs the lock records:
                acting.add(stage.address)                   # nothing downstream sees a change
            out.append(planned)
    finally:
        ws.close()
    return out


def _plan_one(ws: Workspace, stage: StageSpec, force: bool) -> PlannedStage:
    address = stage.address
    if isinstance(stage, DataSourceStage):
        ds = data_source_status(ws, stage)
        if not ds.changed:
            return PlannedStage(address, SKIP)
        return PlannedStage(address, FROZEN if stage.frozen else COMMIT, [str(c) for c in ds.changes])
    if isinstance(stage.cmd, list) and not stage.cmd and not force:
        return PlannedStage(address, SKIP)
    status = stage_status(ws, stage)
    reasons = [str(c) for c in status.changes]
    if stage.frozen:
        return PlannedStage(address, FROZEN, reasons)
    if force:
        return PlannedStage(address, RUN, reasons or ["forced"], list(status.changes))
    if not status.changed:
        return PlannedStage(address, SKIP)
    if can_run_cache(stage) and status.changes and all(c.kind == "out" for c in status.changes):
        lock = ws.lock_entry(stage)
        recorded = {h.path: h for h in lock.outs} if lock is not None else {}
        changed_paths = {c.path for c in status.changes}
        git_kept_intact = all(repo_path(stage, o.path) not in changed_paths for o in stage.outs if not o.cache)
        if git_kept_intact and all(o.path in recorded and recorded[o.path].md5 and ws.cache.has(recorded[o.path].md5 or "",
                                                                             recorded[o.path].legacy)
               for o in stage.outs if o.cache):
            return PlannedStage(address, RESTORE, reasons, list(status.changes))
    return PlannedStage(address, RUN, reasons, list(status.changes))
