"""Big data through the repo's DVC remote instead of through the Dask scheduler: only hashes travel.

When the repo has a default DVC remote (``core.remote`` in ``.dvc/config``) that is a local path (a mount every
worker sees: NFS, a shared volume), the client pushes the pipeline's input objects there if they are missing and
sends their cache paths only; the task pulls what it lacks into its private cache and pushes the objects of the
outs it made. The remote has DVC 3's layout, which is the cache's (``files/md5/ab/cdef...``), so ``dvc pull``
in the user's repo fetches the outs too. Other remote types (s3, ssh...) are not driven from here yet: with
one of those the objects travel with the task, up to the payload limit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from exptui.execution.runner import CappedLog


def default_remote(root: Path) -> dict[str, Any] | None:
    """{"name", "path"} of the repo's default remote when it is a local path, else None."""
    from dvc_compat.config import load_config

    try:
        cfg = load_config(root)
    except Exception:  # noqa: BLE001 - a broken config is reported by the stages that read it
        return None
    name = cfg.core_remote
    if not name or name not in cfg.remotes:
        return None
    url = cfg.remotes[name].get("url", "")
    if url.startswith("file://"):
        url = url[len("file://"):]
    if not url or "://" in url:
        return None
    path = Path(url)
    if not path.is_absolute():
        path = (root / ".dvc" / path).resolve()   # DVC resolves a relative url against .dvc/
    return {"name": name, "path": str(path)}


def _copy(src: Path, dest: Path) -> bool:
    """Copy one object (the cache's atomic read-only write, no fsync: a remote or a scratch cache); False when
    `src` is missing."""
    from exptui.pipeline.cache import write_object_file

    return write_object_file(dest, src=src, durable=False)


def push(remote: dict[str, Any], cache_dir: Path, rels: list[str], log: CappedLog | None = None) -> list[str]:
    """Copy these cache objects to the remote (those already there are skipped); returns the ones pushed."""
    base = Path(remote["path"])
    pushed = [rel for rel in rels if not (base / rel).exists() and _copy(cache_dir / rel, base / rel)]
    if log is not None and pushed:
        log.note(f"pushed {len(pushed)} objects to DVC remote {remote['name']}")
    return pushed


def pull(remote: dict[str, Any], cache_dir: Path, rels: list[str], log: CappedLog | None = None) -> set[str]:
    """Copy these objects from the remote into `cache_dir`; returns the ones now present."""
    base = Path(remote["path"])
    got = {rel for rel in rels if _copy(base / rel, cache_dir / rel)}
    if log is not None:
        missing = len(rels) - len(got)
        log.note(f"pulled {len(got)} objects from DVC remote {remote['name']}"
                 + (f"; {missing} missing there" if missing else ""))
    return got


def pull_outs(remote: dict[str, Any], cache_dir: Path, stages_lock: dict[str, Any]) -> None:
    """Fetch the objects of these lock entries' outs (a directory: manifest first, then its files)."""
    from exptui.execution.remote_payload import object_paths
    from exptui.pipeline.cache import object_path

    for lock in stages_lock.values():
        for out in getattr(lock, "outs", []):
            if not out.md5:
                continue
            first = object_path(cache_dir, out.md5, out.legacy).relative_to(cache_dir).as_posix()
            pull(remote, cache_dir, [first])
            pull(remote, cache_dir, object_paths(cache_dir, out.md5, out.legacy))
