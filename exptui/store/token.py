"""A cheap change token for polling: stat calls only, no git process.

Git writes a loose ref by renaming a lock file into place, and deletes/packs refs by rewriting `packed-refs`; both
change a directory's mtime or `packed-refs`' stat. So the mtimes of the ref directories exptui cares about, plus
`packed-refs`, `HEAD`, DVC's queue reflog and exptui's own state directory, change whenever an experiment, a note or
a queue entry does. Cost: one `scandir` per directory (a few dozen at most), well under 5 ms.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dvc_compat.exp_refs import CELERY_STASH, EXPS_NAMESPACE

_REF_DIRS = (EXPS_NAMESPACE, "refs/exptui", "refs/notes", "refs/heads", "refs/tags")
_FILES = ("packed-refs", "HEAD", f"logs/{CELERY_STASH}", "refs/notes/exptui")
# exptui's state directories whose entries change when the queue does (run infos, worker registry); never the
# run dirs (whole checkouts), the index cache or scratch space
_STATE_DIRS = ("exptui", "exptui/run", "exptui/workers")
_STATE_FILES = ("exptui/stop",)


def _stat_key(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"


def _walk_dirs(top: str, out: list[str], depth: int = 0) -> None:
    try:
        st = os.stat(top)
    except OSError:
        out.append(f"{top}=-")
        return
    out.append(f"{top}={st.st_mtime_ns}")
    if depth > 6:
        return
    try:
        with os.scandir(top) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    _walk_dirs(entry.path, out, depth + 1)
    except OSError:
        return


def changed_token(git_dir: Path, root: Path) -> str:
    parts: list[str] = []
    gd = str(git_dir)
    for rel in _REF_DIRS:
        _walk_dirs(os.path.join(gd, rel), parts)
    for rel in _FILES:
        parts.append(f"{rel}={_stat_key(os.path.join(gd, rel))}")
    for rel in _STATE_DIRS:
        parts.append(f"{rel}={_stat_key(os.path.join(gd, rel))}")
    for rel in _STATE_FILES:
        parts.append(f"{rel}={_stat_key(os.path.join(gd, rel))}")
    for rel in ("dvc.lock", "params.yaml", "dvc.yaml"):
        parts.append(f"{rel}={_stat_key(os.path.join(str(root), rel))}")
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()
