"""The DVC-remote side of `exptui push`/`pull`: the cached outputs of experiments, to and from the repo's DVC remote.

Which objects: every out recorded in the experiment commit's dvc.lock files (outs a dvc.yaml marks ``cache: false``
are in git and left out) and in its ``.dvc`` files (data from `dvc add`), directory manifests with their files, as
`dvc exp push`/`dvc exp pull` send them. Where: the remote `-r NAME` names, else ``core.remote`` of
``.dvc/config`` (and ``config.local``). A local-path remote (a path, or ``file://``; relative paths are relative
to ``.dvc/``, as DVC reads them) has DVC's cache layout (``files/md5/ab/cdef...``), so objects are copied
directly, each verified by its md5 and written under a temporary name first. Other remote types (``s3://``,
``ssh://``...) need DVC's plugins: the result says which `dvc` command moves the data.
"""
from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from exptui.errors import ExptuiError
from exptui.pipeline.cache import ContentCache
from exptui.store.git import Git


@dataclass
class DataTransfer:
    """What a data push/pull did: objects copied, already there, and outs not found where they come from."""

    remote: str = ""
    url: str = ""
    copied: int = 0
    present: int = 0
    missing: list[str] = field(default_factory=list)   # repo-relative outs (or `out (object)`) not available
    command: str | None = None                          # for a remote exptui cannot reach: the dvc command to run

    def summary(self, verb: str) -> str:
        if self.command is not None:
            return (f"DVC remote '{self.remote}' ({self.url}) is not a local path: exptui moves data only to and "
                    f"from local-path remotes; run: {self.command}")
        text = f"{verb} {self.copied} data object(s) ({self.present} already there) - DVC remote '{self.remote}'"
        return text


@dataclass(frozen=True)
class _Object:
    md5: str
    where: str   # the out it belongs to, for messages


def resolve_remote(root: Path, name: str | None) -> tuple[str, str, Path | None]:
    """(remote name, url, local directory or None) of `name` or the default remote; ExptuiError when none is set."""
    from dvc_compat.config import load_config

    cfg = load_config(root)
    chosen = name or cfg.core_remote
    if not chosen:
        raise ExptuiError("no DVC remote configured for the data: add one with `dvc remote add -d NAME PATH` "
                          "(or pass --no-data to move the git refs only)")
    section = cfg.remotes.get(chosen)
    if section is None or not section.get("url"):
        known = ", ".join(sorted(cfg.remotes)) or "none"
        raise ExptuiError(f"no DVC remote named '{chosen}' in .dvc/config (remotes: {known})")
    url = section["url"]
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return chosen, url, Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:   # `c:\...` is a Windows path, `s3://` a remote
        return chosen, url, None
    path = Path(os.path.expanduser(url))
    return chosen, url, path if path.is_absolute() else (root / ".dvc" / path).resolve()


def experiment_objects(git: Git, revs: Iterable[str]) -> dict[str, _Object]:
    """{md5: object} of every cached out the commits `revs` record (directory manifests, not yet their files:
    `_expand_dirs` adds those once the manifest is at hand).

    Experiments of one baseline share most files, so each dvc.lock (with its dvc.yaml) and `.dvc` file is parsed
    once per blob. (A dvc.yaml whose `cache: false` out paths are interpolated from params could mark other paths
    at another experiment; the cost of that is one object copied that git also holds, or one skipped that git has.)
    """
    found: dict[str, _Object] = {}
    parsed: dict[tuple[str, str | None], list[_Object]] = {}
    for rev in dict.fromkeys(revs):
        blobs = {e.path: e.sha for e in git.ls_tree(rev) if e.type == "blob"}
        for name, sha in blobs.items():
            base = posixpath.basename(name)
            if base == "dvc.lock":
                key = (sha, blobs.get(name[: -len(".lock")] + ".yaml"))
                if key not in parsed:
                    parsed[key] = _lock_objects(git, rev, name, sha)
            elif base.endswith(".dvc") and base != ".dvc":
                key = (sha, None)
                if key not in parsed:
                    parsed[key] = _dotdvc_objects(git, name, sha)
            else:
                continue
            for obj in parsed[key]:
                found.setdefault(obj.md5, obj)
    return found


def _lock_objects(git: Git, rev: str, name: str, sha: str) -> list[_Object]:
    """The cached outs a dvc.lock records (outs its dvc.yaml marks `cache: false` are in git: left out)."""
    from dvc_compat.errors import FormatError
    from dvc_compat.lockfile import parse_lock
    from exptui.store.outputs import parse_dvcfile_at

    text = git.read_blob(sha)
    if text is None:
        return []
    try:
        lock = parse_lock(text, name)
    except FormatError:
        return []
    try:
        dvcfile = parse_dvcfile_at(git, rev, name[: -len(".lock")] + ".yaml")
    except (FormatError, OSError, ValueError):
        dvcfile = None
    folder = posixpath.dirname(name)
    out: list[_Object] = []
    for stage_name, entry in lock.items():
        spec = dvcfile.stages.get(stage_name) if dvcfile is not None else None
        in_git = {o.path for o in spec.outs if not o.cache} if spec is not None else set()
        out.extend(_Object(h.md5, posixpath.join(folder, h.path)) for h in entry.outs
                   if h.md5 and not h.legacy and h.path not in in_git)
    return out


def _dotdvc_objects(git: Git, name: str, sha: str) -> list[_Object]:
    """The cached outs of a `.dvc` file (`dvc add` data)."""
    from dvc_compat.dotdvc import parse_dotdvc
    from dvc_compat.errors import FormatError

    text = git.read_blob(sha)
    if text is None:
        return []
    try:
        dotdvc = parse_dotdvc(text, name)
    except FormatError:
        return []
    folder = posixpath.dirname(name)
    return [_Object(h.md5, posixpath.join(folder, h.path)) for h, flags in zip(dotdvc.outs, dotdvc.out_flags)
            if h.md5 and not h.legacy and flags.get("cache", True) is not False]


def _expand_dirs(objects: dict[str, _Object], cache: ContentCache) -> dict[str, _Object]:
    """The objects plus the files of every directory manifest `cache` holds."""
    out = dict(objects)
    for obj in objects.values():
        if obj.md5.endswith(".dir") and cache.has_object(obj.md5):
            for rel, md5 in cache.read_manifest(obj.md5):
                out.setdefault(md5, _Object(md5, f"{obj.where}/{rel}"))
    return out


def _copy(objects: Sequence[_Object], src: ContentCache, dst: ContentCache, result: DataTransfer) -> None:
    todo: list[tuple[str, str]] = []
    for obj in objects:
        if dst.has_object(obj.md5):
            result.present += 1
        elif src.has_object(obj.md5):
            todo.append((obj.md5, str(src.path(obj.md5))))
        else:
            result.missing.append(obj.where)
    for i in range(0, len(todo), 500):
        dst._write_many(todo[i:i + 500])   # md5-verified, temp names, one sync per batch
    result.copied += len(todo)


def transfer(git: Git, revs: Sequence[str], local_cache: Path, remote: str | None, direction: str,
             git_remote: str, names: Sequence[str]) -> DataTransfer:
    """Push (`direction="push"`) or pull the cached outs of the commits `revs` between the local DVC cache and
    the DVC remote. Manifests move first, then the files they list."""
    name, url, directory = resolve_remote(git.root, remote)
    result = DataTransfer(remote=name, url=url)
    if directory is None:
        import shlex

        which = [shlex.quote(n) for n in names] if names else ["-A"]
        result.command = " ".join(["dvc", "exp", direction, "-r", shlex.quote(name), shlex.quote(git_remote),
                                   *which]) if names else \
            " ".join(["dvc", "exp", direction, "-A", "-r", shlex.quote(name), shlex.quote(git_remote)])
        return result
    if direction == "push" and not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True)
    elif direction == "pull" and not directory.is_dir():
        raise ExptuiError(f"DVC remote '{name}' ({url}) does not exist: nothing to pull the data from")
    local = ContentCache(local_cache)
    far = ContentCache(directory)
    src, dst = (local, far) if direction == "push" else (far, local)
    objects = experiment_objects(git, revs)
    dirs = [o for o in objects.values() if o.md5.endswith(".dir")]
    _copy(dirs, src, dst, result)
    files = [o for o in _expand_dirs(objects, dst).values() if not o.md5.endswith(".dir")]
    _copy(files, src, dst, result)
    return result
