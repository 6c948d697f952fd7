"""DVC's run cache: `<cache>/runs/<key[:2]>/<key>/<value>`, each file one stage's lock entry as YAML.

The key identifies the inputs (cmd, deps, params, and the out *paths*); the value the whole
result. A stage seen before with the same inputs can therefore be restored — its outs checked
out from the content cache — instead of re-run, even after the lock moved on (for example when
a param goes 0.1 → 0.2 → 0.1). The format is DVC's, so DVC and exptui share entries both ways.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dvc_compat.fsutil import atomic_write
from dvc_compat.model import LockStage, StageSpec
from exptui.pipeline.status import can_run_cache


def entry_dict(lock: LockStage) -> dict[str, Any]:
    from dvc_compat.lockfile import lock_stage_to_dict

    return lock_stage_to_dict(lock)


def may_save(stage: StageSpec) -> bool:
    """Eligible (dvc-internals §4.3). Outs kept out of the cache (`cache: false`: metrics, plots, or plain outs
    such as DVCLive's `metrics.json`) do not stop it: as DVC does, their content is committed to the cache for the
    run-cache entry, and restored by copy."""
    return can_run_cache(stage)


class RunCache:
    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)

    def _key_dir(self, entry: dict[str, Any]) -> tuple[Path, str]:
        from dvc_compat.cache_layout import run_cache_key_value, run_cache_path

        key, value = run_cache_key_value(entry)
        path = Path(run_cache_path(self.cache_dir, key, value))
        return path.parent, value

    def save(self, lock: LockStage) -> Path:
        """Write the entry for a successful run (no-op when the identical entry exists)."""
        from dvc_compat.lockfile import dump_yaml_like_dvc

        entry = entry_dict(lock)
        key_dir, value = self._key_dir(entry)
        path = key_dir / value
        if path.exists():
            return path
        atomic_write(path, dump_yaml_like_dvc(entry).encode("utf-8"))
        return path

    def candidates(self, lock_without_outs: LockStage, out_paths: list[str]) -> list[LockStage]:
        """Entries recorded for these inputs, newest first (DVC uses the newest by mtime)."""
        from dvc_compat.lockfile import lock_stage_from_dict
        from dvc_compat.yamlio import load_yaml
        from dvc_compat.errors import FormatError

        entry = entry_dict(lock_without_outs)
        entry["outs"] = [{"path": p} for p in sorted(out_paths)]
        key_dir, _ = self._key_dir(entry)
        try:
            names = os.listdir(key_dir)
        except (FileNotFoundError, NotADirectoryError):
            return []
        files = []
        for name in names:
            if name.startswith("."):
                continue
            try:
                files.append((os.stat(key_dir / name).st_mtime_ns, key_dir / name))
            except OSError:
                continue
        found = []
        for _, path in sorted(files, reverse=True):
            try:
                data = load_yaml(path.read_bytes(), str(path))
                found.append(lock_stage_from_dict(data))
            except (OSError, FormatError, ValueError, TypeError, KeyError, AttributeError):
                continue  # a corrupt entry is skipped, as DVC skips entries failing its schema
        return found
