"""Put an experiment's files into the workspace without moving HEAD (what `dvc exp apply` does).

Only the files that differ between HEAD and the experiment commit are written (read from git objects), so
unrelated uncommitted work is left alone; a file the experiment would change that has uncommitted changes makes
the whole apply refuse (before anything is written) unless forced. The user's index and HEAD are not touched:
afterwards `git status` shows the experiment's changes as modifications, as after `dvc exp apply`. DVC-cached
outputs are then checked out of the DVC cache by the hashes in the experiment's dvc.lock files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from exptui.errors import DirtyWorkspace, ExptuiError
from exptui.store.git import Git
from exptui.store.signals import held_signals


@dataclass
class ApplyResult:
    rev: str
    written: list[str] = field(default_factory=list)     # git-tracked files written
    deleted: list[str] = field(default_factory=list)     # files the experiment does not have
    restored: list[str] = field(default_factory=list)    # DVC-cached outs checked out from the cache
    missing: list[str] = field(default_factory=list)     # cached outs whose objects are not in the local cache
    #: the git-tracked files are all written; `complete`: the cached outs are restored too. An interrupted apply
    #: (a signal while the outs are copied) has the first without the second: `apply` again completes it
    files_applied: bool = False
    complete: bool = False


def _changes(git: Git, rev: str) -> list[tuple[str, str, str, str]]:
    """(status, path, new mode, new blob) for every file that differs between HEAD and `rev`."""
    out = git.run_bytes("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", "HEAD", rev)
    recs = out.split(b"\0")
    changes = []
    i = 0
    while i + 1 < len(recs):
        meta = recs[i].decode()
        path = recs[i + 1].decode("utf-8", "surrogateescape")
        i += 2
        if not meta.startswith(":"):
            continue
        _old_mode, new_mode, _old_sha, new_sha, status = meta[1:].split(" ")
        changes.append((status[0], path, new_mode, new_sha))
    return changes


def _recorded_elsewhere(git: Git, paths: list[str], commits: list[str]) -> set[str]:
    """The `paths` whose current content is exactly that file in one of `commits` (e.g. the results of the last
    `exptui run` still in the workspace): overwriting them loses nothing, since git keeps that version."""
    present = [p for p in paths if os.path.lexists(git.root / p)]
    safe = {p for p in paths if p not in present}  # a deleted file has nothing to lose
    if not present or not commits:
        return safe
    out = git.run("hash-object", "--no-filters", "--stdin-paths", input="\n".join(present) + "\n")
    current = dict(zip(present, out.split()))
    names = [f"{c}:{p}" for c in commits for p in present]
    known: dict[str, set[str]] = {}
    for name, info in zip(names, git.object_info(names)):
        if info is not None:
            known.setdefault(name.split(":", 1)[1], set()).add(info[0])
    return safe | {p for p in present if current.get(p) in known.get(p, set())}


def _leftovers(git: Git, rev: str, changing: set[str], recorded: list[str]) -> list[tuple[str, str, str, str]]:
    """Files `rev` has as HEAD has them, but that the workspace holds another recorded experiment's version of
    (the params, lock and metrics the last `exptui run` left): put back as `rev` has them, so applying an
    experiment, or the baseline itself, switches completely. Any other uncommitted work is left alone."""
    if not recorded:
        return []
    out = git.run_bytes("diff", "--name-only", "-z", "--no-renames", "HEAD")
    modified = [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]
    present = [p for p in modified if p not in changing and os.path.lexists(git.root / p)]
    if not present:
        return []
    safe = _recorded_elsewhere(git, present, recorded)
    back = [p for p in present if p in safe]
    if not back:
        return []
    listing = git.run_bytes("ls-tree", "-z", "--full-tree", rev, "--", *back)
    in_rev: dict[str, tuple[str, str]] = {}
    for rec in listing.split(b"\0"):
        if not rec:
            continue
        meta, path = rec.split(b"\t", 1)
        mode, _type, sha = meta.decode().split(" ")
        in_rev[path.decode("utf-8", "surrogateescape")] = (mode, sha)
    return [("M", p, *in_rev[p]) if p in in_rev else ("D", p, "", "") for p in back]


def apply_commit(git: Git, rev: str, force: bool = False, cache_dir: Path | None = None,
                 recorded: list[str] | None = None, result: ApplyResult | None = None) -> ApplyResult:
    """Write `rev`'s files into the work tree. `recorded`: experiment commits whose versions of a file count as
    safe to overwrite (the workspace often still holds the last run's results). `result`: filled in as the work
    goes, so a caller that is interrupted can tell how far it got (`files_applied`, `complete`)."""
    from exptui.store.experiments import git_is_clean_for

    changes = _changes(git, rev)
    changes += _leftovers(git, rev, {p for _s, p, _m, _b in changes}, recorded or [])
    paths = [p for _s, p, _m, _b in changes]
    dirty = git_is_clean_for(git, paths)
    if dirty and not force:
        safe = _recorded_elsewhere(git, dirty, [rev, *(recorded or [])])
        dirty = [p for p in dirty if p not in safe]
    if dirty and not force:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise DirtyWorkspace(
            f"uncommitted changes to {shown} would be overwritten; commit or stash them, or use --force"
        )
    result = ApplyResult(rev) if result is None else result
    blobs = [b for s, _p, _m, b in changes if s != "D"]
    contents = {}
    if blobs:
        for sha, ans in zip(blobs, git.read_objects(blobs)):
            if ans is None:
                raise ExptuiError(f"object {sha} of {rev[:7]} is missing from the repository")
            contents[sha] = ans[2]
    root = git.root
    # The git-tracked files (params, dvc.lock, metrics: already read into memory) change together: a Ctrl-C or
    # SIGTERM is delivered after the last of them, never leaving params of one experiment beside the lock of
    # another. The cached outs after them may be large and stay interruptible; `apply` again completes them.
    with held_signals():
        for status, path, mode, blob in changes:
            target = root / path
            if status == "D":
                try:
                    target.unlink()
                    result.deleted.append(path)
                except FileNotFoundError:
                    pass
                continue
            if mode == "160000":
                continue  # submodule: nothing to write
            _write(target, contents[blob], mode)
            result.written.append(path)
        result.files_applied = True
    _restore_cached_outs(git, rev, cache_dir, result)
    result.complete = True
    return result


def _write(target: Path, data: bytes, mode: str) -> None:
    from dvc_compat.fsutil import atomic_write

    if target.is_dir() and not target.is_symlink():
        import shutil

        shutil.rmtree(target)
    if mode == "120000":
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        os.symlink(os.fsdecode(data), target)
        return
    if target.is_symlink():
        target.unlink()
    atomic_write(target, data, mode=0o755 if mode == "100755" else 0o644)


def _restore_cached_outs(git: Git, rev: str, cache_dir: Path | None, result: ApplyResult) -> None:
    """Check out every DVC-cached out of the experiment from the cache (outs with `cache: false` are in git)."""
    root = git.root
    from dvc_compat.dvcyaml import load_project
    from dvc_compat.errors import FormatError
    from dvc_compat.lockfile import lockfile_path, read_lock
    from exptui.pipeline.cache import ContentCache

    try:
        dvcfiles = load_project(root)
    except FormatError as exc:
        raise ExptuiError(f"files were applied, but cached outputs were not restored: {exc}") from None
    cache = ContentCache.for_repo(root, cache_dir)
    unreadable: list[str] = []
    for dvcfile in dvcfiles:
        lock_rel = lockfile_path(dvcfile.path)
        try:
            lock = read_lock(root / lock_rel, lock_rel)
        except FileNotFoundError:
            continue
        except FormatError as exc:  # its outs cannot be known: said below, never a silent success
            unreadable.append(str(exc))
            continue
        for stage in dvcfile.stages.values():
            entry = lock.get(stage.name)
            if entry is None:
                continue
            by_path = {h.path: h for h in entry.outs}
            for out in stage.outs:
                if not out.cache:
                    continue
                info = by_path.get(out.path)
                if info is None or not info.md5:
                    continue
                wdir = stage.wdir if stage.wdir not in ("", ".") else ""
                rel = os.path.normpath(os.path.join(wdir, out.path)) if wdir else os.path.normpath(out.path)
                dest = root / rel
                if not cache.has(info.md5):
                    result.missing.append(rel)
                    continue
                try:
                    cache.checkout(dest, info.md5, isexec=info.isexec)
                    result.restored.append(rel)
                except Exception as exc:  # noqa: BLE001 - report per out, keep going
                    result.missing.append(f"{rel} ({exc})")
    if unreadable:
        # the workspace now holds the experiment's metrics beside outputs of another run: say so, exit non-zero
        raise ExptuiError(f"the experiment's files were applied, but not the cached outputs its lock file records: "
                          f"{unreadable[0]}" + (f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else "")
                          + "; the outputs in the workspace are not the experiment's (re-run it to make them)")
