"""Record the workspace's pipeline state without running anything, as `dvc commit --force` does for `dvc exp save`.

Every stage whose lock entry no longer matches the workspace gets a new one, hashed from what is there now (deps,
params, outs), and its cached outs are saved to the DVC cache; data sources changed in place (`dvc add`) are
committed again. Nothing runs. Missing outs are refused up front, before any lock entry is written, because an
experiment that claims outputs nobody can restore is worse than none.
"""
from __future__ import annotations

import time
from pathlib import Path

from dvc_compat.model import LockStage
from exptui.errors import PipelineError
from exptui.pipeline.dag import is_outside_repo, load_pipeline, repo_path
from exptui.pipeline.datasources import DataSourceStage
from exptui.pipeline.repro import _noop_events, _noop_sink, _os_errors_as_one_line, _Reproducer
from exptui.pipeline.state import tmp_dir
from exptui.pipeline.status import Workspace, ensure_dvc_repo, ensure_stages, stage_status


def commit_workspace(root: Path, cache_dir: Path | None = None) -> dict[str, LockStage]:
    """{stage address: its lock entry as the workspace is now} for every pipeline stage, dvc.lock updated where
    it changed. The caller holds the workspace lock."""
    root = Path(root).resolve()
    ensure_dvc_repo(root, cache_dir)
    pipeline = load_pipeline(root)
    ensure_stages(root, pipeline.stages)
    stages = pipeline.order()
    missing = [(s.address, repo_path(s, o.path)) for s in stages if not isinstance(s, DataSourceStage)
               for o in s.outs if not is_outside_repo(repo_path(s, o.path)) and not (root / repo_path(s, o.path)).exists()]
    if missing:
        address, path = missing[0]
        raise PipelineError(f"stage '{address}': output '{path}' does not exist; run `exptui repro` (or restore it) "
                            "first; nothing was saved")
    ws = Workspace(root, cache_dir=cache_dir)
    rep = _Reproducer(root, ws, False, _noop_sink, _noop_events, None, tmp_dir(root) / "exptui" / "logs", None,
                      None, run_cache=False)
    locks: dict[str, LockStage] = {}
    try:
        with _os_errors_as_one_line():
            for stage in stages:
                if isinstance(stage, DataSourceStage):
                    rep._data_source(stage, time.monotonic())
                    continue
                if isinstance(stage.cmd, list) and not stage.cmd:
                    continue  # nothing dvc.lock can record
                status = stage_status(ws, stage)
                lock = rep._commit(stage) if status.changed else ws.lock_entry(stage)
                if lock is not None:
                    locks[stage.address] = lock
    finally:
        rep.finish()
        ws.close()
    return locks
