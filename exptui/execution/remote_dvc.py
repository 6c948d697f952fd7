"""Big data through the repo's DVC remote instead of through the Dask scheduler: only hashes travel.

Two ways, by the default remote (``core.remote``):

- **a local path** (a mount every worker sees: NFS, a shared volume): exptui copies the objects itself. The client
  pushes the pipeline's input objects there if they are missing and sends their cache paths only; the task pulls
  what it lacks into its private cache and pushes the objects of the outs it made. The remote has DVC 3's layout,
  which is the cache's (``files/md5/ab/cdef...``), so ``dvc pull`` in the user's repo fetches the outs too.
- **any other type DVC supports** (s3, gs, azure, ssh, http, webdav, ``remote://``...), when ``dvc`` is installed
  where the client runs: DVC's own machinery moves the data. The client runs ``dvc push`` in its checkout of the
  snapshot (inputs and the outs dvc.lock records), the task runs ``dvc fetch`` before its stages and ``dvc push``
  after them, and the client ``dvc fetch``es the new outs into the repo's cache. The remote's config travels in
  the snapshot (``.dvc/config`` is committed); credentials never do: ``.dvc/config.local`` is not in git, so the
  worker's DVC finds them in its own environment and global/system config, the client's in the repo's
  ``config.local`` (copied to its local checkout only) and its own. A remote defined only in ``config.local`` is
  unknown to the worker: then, as without dvc on the client, objects travel with the task, up to the limit.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from exptui.execution.runner import CappedLog
from exptui.store.signals import run_process


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


# -- any remote type, through DVC ---------------------------------------------------------------------------

def dvc_command() -> list[str] | None:
    """How to run DVC in this Python environment (or from PATH), or None when it is not installed."""
    if importlib.util.find_spec("dvc") is not None:
        return [sys.executable, "-m", "dvc"]
    found = shutil.which("dvc")
    return [found] if found else None


def _host() -> str:
    import socket

    return socket.gethostname()


def dvc_remote(run_dir: Path) -> dict[str, Any] | None:
    """{"name", "url", "kind": "dvc"} when the snapshot checked out in `run_dir` (committed config only) names a
    default remote that is not a local path and DVC is installed here, else None."""
    from dvc_compat.config import load_config

    if (run_dir / ".dvc" / "config.local").exists() or dvc_command() is None:
        return None   # a checkout with local config is not the committed view the worker gets
    try:
        cfg = load_config(run_dir)
    except Exception:  # noqa: BLE001 - a broken config is reported by the stages that read it
        return None
    name = cfg.core_remote
    if not name or name not in cfg.remotes or default_remote(run_dir) is not None:
        return None
    url = cfg.remotes[name].get("url", "")
    return {"name": name, "url": url, "kind": "dvc"} if url else None


def dvc_sync(run_dir: Path, verb: str, remote: dict[str, Any], log: CappedLog | None = None) -> str | None:
    """``dvc VERB -r NAME`` (push or fetch) in `run_dir`; None when it worked, else its last error line (also in
    `log`). Objects missing on both sides are DVC's warning, not an error here: a stage that needs them says so."""
    cmd = dvc_command()
    if cmd is None:
        why = (f"no dvc on {_host()} to reach DVC remote {remote['name']} ({remote['url']}): install dvc with "
               "the remote's extra there (e.g. pip install 'dvc[s3]')")
        if log is not None:
            log.note(why)
        return why
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    # interrupted, dvc gets SIGTERM (it releases its repo lock and removes its temp files), not a SIGKILL; it
    # stays in the terminal's process group, where a remote may ask for a password
    proc = run_process([*cmd, verb, "-q", "-r", remote["name"]], cwd=run_dir, env=env, own_group=False)
    if proc.returncode == 0:
        if log is not None:
            log.note(f"dvc {verb}: DVC remote {remote['name']} ({remote['url']})")
        return None
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    why = f"dvc {verb} -r {remote['name']} failed: {lines[-1] if lines else f'exit {proc.returncode}'}"
    if log is not None:
        log.note(why)
    return why
