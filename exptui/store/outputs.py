"""Files of a revision as DVC sees them: tracked by git, or produced by a stage and kept in the DVC cache.

The one reader for such files (the listing's DVC-cached metrics, the plots screen): git first (the work tree for
the workspace row); else the output's hash in that revision's dvc.lock — out paths relative to their stage's
``wdir``, taken from the dvc.yaml beside the lock — and the object in the DVC cache directory the repo's
``.dvc/config`` names, laid out as dvc_compat's `cache_layout` says (DVC 2 objects included).
"""
from __future__ import annotations

import posixpath
from pathlib import Path

from dvc_compat.model import DvcFile, HashInfo
from exptui.store.git import Git

WORKSPACE = "workspace"   # the rev of the workspace row: files come from the work tree
_TREE_ROOT = Path("/__exptui_git_tree__")   # where dvc_compat believes a commit's tree is (read through git)


def read_file(git: Git, rev: str, path: str) -> bytes | None:
    """Bytes of `path` at `rev` (the work tree for `WORKSPACE`), None when it is not there."""
    if rev == WORKSPACE:
        try:
            return (git.root / path).read_bytes()
        except OSError:
            return None
    return git.read_blob(f"{rev}:{path}")


def parse_dvcfile_at(git: Git, rev: str, relpath: str = "dvc.yaml") -> DvcFile | None:
    """The dvc.yaml at `relpath` of `rev`, parsed by dvc_compat (vars files read from the same revision); None
    when it is missing. A malformed one raises dvc_compat's FormatError."""
    from dvc_compat.dvcyaml import parse_dvcfile

    text = read_file(git, rev, relpath)
    if text is None:
        return None
    root = git.root if rev == WORKSPACE else _TREE_ROOT
    return parse_dvcfile(text, root, relpath, reader=lambda path: read_file(git, rev, path))


def locked_out(git: Git, rev: str, path: str) -> HashInfo | None:
    """The dvc.lock record of output `path` at `rev`: the dvc.lock files of the path's directories are asked,
    nearest first (a stage is usually declared beside or above what it writes)."""
    from dvc_compat.errors import FormatError
    from dvc_compat.lockfile import find_out, parse_lock

    directory = posixpath.dirname(posixpath.normpath(path))
    while True:
        lock_path = posixpath.join(directory, "dvc.lock") if directory else "dvc.lock"
        text = read_file(git, rev, lock_path)
        if text is not None:
            try:
                lock = parse_lock(text, lock_path)
            except FormatError:
                lock = {}
            try:
                dvcfile = parse_dvcfile_at(git, rev, lock_path[: -len(".lock")] + ".yaml")
            except (FormatError, OSError, ValueError):
                dvcfile = None   # wdirs unknown: stages are taken to run beside their dvc.lock
            found = find_out(lock, path, dvcfile, directory)
            if found is not None:
                return found
        if not directory:
            return None
        directory = posixpath.dirname(directory)


def read_cached_output(git: Git, rev: str, path: str, cache_dir: Path, max_bytes: int | None = None,
                       hint: str = "") -> bytes | None:
    """A file output of `rev` from the DVC cache (None: not an output there, a directory, or not in the cache).

    `max_bytes` bounds what is read (files read for display): an object over it, or one that is not a plain file,
    raises dvc_compat's FormatError naming `path` (`hint` says how to raise the limit)."""
    from dvc_compat.cache_layout import object_path
    from dvc_compat.limits import read_limited

    out = locked_out(git, rev, path)
    if out is None or not out.md5 or out.is_dir:
        return None
    try:
        return read_limited(object_path(cache_dir, out.md5, legacy=out.legacy), path, max_bytes, hint)
    except OSError:
        return None


def read_output(git: Git, rev: str, path: str, cache_dir: Path) -> bytes | None:
    """Contents of `path` at `rev`: from git (or the work tree) when it is there, else from the DVC cache."""
    data = read_file(git, rev, path)
    if data is not None or rev == WORKSPACE:
        return data
    return read_cached_output(git, rev, path, cache_dir)
