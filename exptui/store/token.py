"""A cheap change token for polling: stat calls only, no git process.

Git writes a loose ref by renaming a lock file into place, and deletes/packs refs by rewriting `packed-refs`; both
change a directory's mtime or `packed-refs`' stat. So the mtimes of the ref directories exptui cares about, plus
`packed-refs`, `HEAD`, DVC's queue reflog and exptui's own queue state, change whenever an experiment, a note or
a queue entry does. Cost: one `scandir` per directory (a few dozen at most), well under 5 ms.

Only state that changes what the listing shows is in the token. `.git/exptui/` itself is not: the dashboard saves
its view (`view.json`) there on every filter change and Escape, and compare exports land there too; with the
directory's mtime in the token each of those writes made the next poll reload every experiment (seconds at
100,000). The files in it that do matter (`workspace-run.json`, `stop`) are stat'ed one by one instead.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dvc_compat.exp_refs import CELERY_STASH, EXPS_NAMESPACE
from exptui.store.workspace_run import FILE as WORKSPACE_RUN_FILE

_REF_DIRS = (EXPS_NAMESPACE, "refs/exptui", "refs/notes", "refs/heads", "refs/tags")
_FILES = ("packed-refs", "HEAD", f"logs/{CELERY_STASH}", "refs/notes/exptui")
# exptui's state directories whose entries change when the queue does (run infos, worker registry); never the
# run dirs (whole checkouts), the index cache, scratch space or `exptui/` itself (view state, exports: see above)
_STATE_DIRS = ("exptui/run", "exptui/workers")
# files directly in `exptui/` that change what the listing shows: the stop marker, a run in the workspace
_STATE_FILES = ("exptui/stop", f"exptui/{WORKSPACE_RUN_FILE}")


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


def changed_token(git_dir: Path, root: Path, *, refs: bool = True) -> str:
    """`refs=False`: the state token, everything but the experiment refs, `packed-refs` and `HEAD` (which a
    ref update or deletion touches): what must be unchanged for the dashboard's saved first screen to be amended
    from a `for-each-ref` instead of dropped (`exptui.store.first_rows.amend`, which compares the refs itself)."""
    parts: list[str] = []
    gd = str(git_dir)
    for rel in _REF_DIRS:
        if refs or rel != EXPS_NAMESPACE:
            _walk_dirs(os.path.join(gd, rel), parts)
    for rel in _FILES:
        if refs or rel not in ("packed-refs", "HEAD"):
            parts.append(f"{rel}={_stat_key(os.path.join(gd, rel))}")
    for rel in _STATE_DIRS:
        parts.append(f"{rel}={_stat_key(os.path.join(gd, rel))}")
    for rel in _STATE_FILES:
        parts.append(f"{rel}={_stat_key(os.path.join(gd, rel))}")
    for rel in ("dvc.lock", "params.yaml", "dvc.yaml"):
        parts.append(f"{rel}={_stat_key(os.path.join(str(root), rel))}")
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()
