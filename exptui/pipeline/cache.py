"""DVC 3 content cache: `files/md5/<xx>/<rest>` objects, directory manifests as `<md5>.dir` objects.

Objects are written temp-in-the-same-dir → fsync → rename → chmod 0444, so a crash never leaves a
torn object under a valid name, and two writers of the same object both end with a good one.
While saving, the bytes are hashed again as they are copied: a file that changed after it was
hashed is refused instead of being stored under the wrong name.

Checkout copies by default (safe: the workspace copy can be edited without touching the cache);
`hardlink`/`symlink` are used only when `.dvc/config` `cache.type` asks for them, like DVC.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from dvc_compat.hashing import parse_dir_manifest
from exptui.errors import PipelineError
from exptui.pipeline.state import Hashed, StateDB

_BUF = 1024 * 1024


def object_path(cache_dir: Path, md5: str, legacy: bool = False) -> Path:
    """Where the object for `md5` (with `.dir` for manifests) lives; `legacy`: DVC 2's md5-dos2unix layout."""
    from dvc_compat.cache_layout import object_path as _object_path

    return Path(_object_path(cache_dir, md5, legacy=legacy))


def write_object_file(dest: Path, data: bytes | None = None, src: Path | None = None, durable: bool = True) -> bool:
    """Put one cache object (`data`, or a copy of the file `src`) under `dest` the way the cache's own writes do:
    a temp file next to it, fsynced when `durable`, chmod 0444, renamed. A crash never leaves a torn object
    under a valid name, and two writers of one object both end with a good one.

    For objects that arrive from elsewhere (a Dask task's answer, a local-path DVC remote); the caller verifies
    the md5 when it has to. Returns False when `src` is not a file; True when `dest` exists (already or now).
    """
    if dest.exists():
        return True
    if data is None and (src is None or not src.is_file()):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".exptui-", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            if data is not None:
                out.write(data)
            else:
                assert src is not None
                with open(src, "rb") as fh:
                    shutil.copyfileobj(fh, out, _BUF)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
    except BaseException:
        _unlink(Path(tmp))
        raise
    return True


class ContentCache:
    """One DVC cache directory (usually `<repo>/.dvc/cache`)."""

    def __init__(self, cache_dir: Path, link_types: list[str] | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.link_types = link_types or ["reflink", "copy"]
        self._present: dict[tuple[str, bool], bool] = {}
        # string prefixes of the two layouts (checking 100k manifest entries must not build 100k Paths)
        self._roots = {legacy: str(object_path(self.cache_dir, "00", legacy).parent) for legacy in (False, True)}

    @classmethod
    def for_repo(cls, root: Path, cache_dir: Path | None = None) -> ContentCache:
        """The repo's cache: explicit dir, else `.dvc/config(.local)` `cache.dir`, else `.dvc/cache`."""
        from dvc_compat import config as dvc_config

        cfg = dvc_config.load_config(root)
        return cls(Path(cache_dir) if cache_dir else Path(cfg.cache_dir), list(cfg.link_types))

    # ------------------------------------------------------------ presence
    def path(self, md5: str, legacy: bool = False) -> Path:
        return object_path(self.cache_dir, md5, legacy)

    def has_object(self, md5: str, legacy: bool = False) -> bool:
        known = self._present.get((md5, legacy))
        if known is None:
            known = self._present[(md5, legacy)] = os.path.isfile(
                os.path.join(self._roots[legacy], md5[:2], md5[2:]))
        return known

    def read_manifest(self, md5: str, legacy: bool = False) -> list[tuple[str, str]]:
        """(relpath, md5) entries of a `.dir` object."""
        try:
            return parse_dir_manifest(self.path(md5, legacy).read_bytes())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PipelineError(f"cache object {self.path(md5, legacy)} is missing or corrupt: {exc}") from None

    def has(self, md5: str | None, legacy: bool = False) -> bool:
        """Is everything needed to check out `md5` present (for a directory: manifest and files)?

        `legacy` looks in DVC 2's layout (lock entries without `hash: md5`).
        """
        if not md5:
            return False
        if not self.has_object(md5, legacy):
            return False
        if md5.endswith(".dir"):
            try:
                return all(self.has_object(m, legacy) for _, m in self.read_manifest(md5, legacy))
            except PipelineError:
                return False
        return True

    # ------------------------------------------------------------ save
    def _stage_object(self, md5: str, src: str | None, data: bytes | None, sync: bool) -> tuple[str, str] | None:
        """Copy into a temp file next to the object's final name, verifying the md5 on the way.

        Returns (temp, final) for the caller to rename, or None when the object is already there.
        """
        if self.has_object(md5):
            return None
        dest = os.path.join(self._roots[False], md5[:2], md5[2:])
        parent = os.path.dirname(dest)
        os.makedirs(parent, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{md5[2:10]}.", suffix=".tmp", dir=parent)
        try:
            digest = hashlib.md5()
            with os.fdopen(fd, "wb") as out:
                if data is not None:
                    out.write(data)
                    digest.update(data)
                else:
                    assert src is not None
                    with open(src, "rb") as fh:
                        while chunk := fh.read(_BUF):
                            digest.update(chunk)
                            out.write(chunk)
                out.flush()
                if sync:
                    os.fsync(out.fileno())
            expected = md5[:-4] if md5.endswith(".dir") else md5
            if digest.hexdigest() != expected:
                raise PipelineError(f"'{src}' changed while it was being saved to the cache; run again")
            os.chmod(tmp, 0o444)
        except BaseException:
            _unlink(Path(tmp))
            raise
        return tmp, dest

    def _publish(self, staged: list[tuple[str, str]], md5s: list[str]) -> None:
        for (tmp, dest), md5 in zip(staged, md5s):
            os.replace(tmp, dest)
            self._present[(md5, False)] = True

    def _write_object(self, md5: str, src: Path | str | None = None, data: bytes | None = None) -> None:
        staged = self._stage_object(md5, None if src is None else str(src), data, sync=True)
        if staged is not None:
            self._publish([staged], [md5])

    def _write_many(self, items: list[tuple[str, str]]) -> None:
        """Save many (md5, src) objects with one file-system sync instead of one fsync each.

        All temp files are written, then `syncfs` flushes them together, then they are renamed:
        a crash leaves only temp files, never a truncated object under a valid name.
        """
        can_batch = _syncfs is not None and len(items) > 8
        staged: list[tuple[str, str]] = []
        md5s: list[str] = []
        try:
            for md5, src in items:
                result = self._stage_object(md5, src, None, sync=not can_batch)
                if result is not None:
                    staged.append(result)
                    md5s.append(md5)
            if can_batch and staged:
                _sync_filesystem(self._roots[False])
        except BaseException:
            for tmp, _ in staged:
                _unlink(Path(tmp))
            raise
        self._publish(staged, md5s)

    def save(self, path: Path, hashed: Hashed) -> None:
        """Store the workspace file or directory `path` whose current hash is `hashed`."""
        if hashed.is_dir:
            assert hashed.manifest is not None
            base = str(path)
            todo = {md5: os.path.join(base, rel) for rel, md5 in parse_dir_manifest(hashed.manifest)
                    if not self.has_object(md5)}
            self._write_many(list(todo.items()))
            self._write_object(hashed.md5, data=hashed.manifest)
        else:
            self._write_object(hashed.md5, src=Path(path))

    # ------------------------------------------------------------ checkout
    def _place(self, obj: Path, dest: Path, isexec: bool = False) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        for link in self.link_types:
            try:
                if link == "hardlink":
                    tmp = dest.with_name(f".{dest.name}.exptui-link")
                    _unlink(tmp)
                    os.link(obj, tmp)
                    os.replace(tmp, dest)
                    return
                if link == "symlink":
                    tmp = dest.with_name(f".{dest.name}.exptui-link")
                    _unlink(tmp)
                    os.symlink(obj, tmp)
                    os.replace(tmp, dest)
                    return
                if link in ("copy", "reflink"):
                    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
                    os.close(fd)
                    try:
                        shutil.copyfile(obj, tmp_name)
                        os.chmod(tmp_name, 0o755 if isexec else 0o644)
                        os.replace(tmp_name, dest)
                    except BaseException:
                        _unlink(Path(tmp_name))
                        raise
                    return
            except OSError:
                continue
        raise PipelineError(f"cannot check out '{dest}' from the cache with link types {','.join(self.link_types)}")

    @property
    def links(self) -> bool:
        """Does checkout place links (`cache.type` hardlink/symlink first), not private copies?

        Mirrors `_place`: reflink is done as a copy, and it always succeeds, so a link type listed after
        `copy`/`reflink` is never reached.
        """
        return bool(self.link_types) and self.link_types[0] in ("hardlink", "symlink")

    def link_saved(self, dest: Path, hashed: Hashed, state: StateDB | None = None) -> None:
        """Replace the just-saved workspace copy at `dest` by links into the cache, as DVC does after a commit.

        Only when `cache.type` asks for links (`links`); the objects are made read-only first (a hardlinked
        workspace file shares their inode, so it becomes read-only too: DVC's protection). Each file is
        swapped atomically (link to a temp name, rename over), so an interrupted relink leaves either the copy
        or the link, never nothing. The stat cache learns the new stats so the next status does not re-hash.
        When no listed link type works (e.g. hardlinks to a cache on another device), the copies stay.
        """
        if not self.links:
            return
        dest = Path(dest)
        if hashed.is_dir:
            assert hashed.manifest is not None
            files = [(dest / rel, md5, False) for rel, md5 in parse_dir_manifest(hashed.manifest)]
        else:
            files = [(dest, hashed.md5, hashed.isexec)]
        try:
            for target, md5, isexec in files:
                obj = self.path(md5)
                _protect(obj)
                self._place(obj, target, isexec)
                if state is not None:
                    state.record(target, md5)
        except PipelineError:
            pass  # no link type works here (a cache on another device): the committed copies stay, data is safe
        finally:
            if state is not None:
                state.forget(dest)

    def checkout(self, dest: Path, md5: str, state: StateDB | None = None, isexec: bool = False,
                 legacy: bool = False) -> None:
        """Make `dest` hold the object `md5` (file or directory), replacing what is there."""
        dest = Path(dest)
        if not self.has(md5, legacy):
            raise PipelineError(f"'{dest}' is not in the cache ({md5}); it cannot be restored")
        if state is not None:
            state.forget(dest)  # re-check by stat: the memo may predate edits to the workspace
        if md5.endswith(".dir"):
            entries = self.read_manifest(md5, legacy)
            if dest.is_dir() and not dest.is_symlink():
                # remove files the manifest does not list (DVC's checkout leaves the dir equal to the object)
                wanted = {rel for rel, _ in entries}
                for root, dirs, files in os.walk(dest, topdown=False):
                    for name in files:
                        full = Path(root) / name
                        if full.relative_to(dest).as_posix() not in wanted:
                            full.unlink()
                    for name in dirs:
                        try:
                            (Path(root) / name).rmdir()
                        except OSError:
                            pass
            else:
                remove_path(dest)
            for rel, file_md5 in entries:
                target = dest / rel
                if state is not None and not legacy:
                    current = state.hash(target)
                    if current is not None and current.md5 == file_md5 and not target.is_symlink():
                        continue
                remove_path(target)
                self._place(self.path(file_md5, legacy), target)
                if state is not None and not legacy:
                    state.record(target, file_md5)
            dest.mkdir(parents=True, exist_ok=True)
        else:
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            self._place(self.path(md5, legacy), dest, isexec)
            if state is not None and not legacy:
                state.record(dest, md5)
        if state is not None:
            state.forget(dest)


def _load_syncfs():
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).syncfs
        fn.argtypes = [ctypes.c_int]
        return fn
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs() if os.name == "posix" else None


def _sync_filesystem(path: str) -> None:
    """Flush every dirty page of the file system holding `path` (Linux syncfs)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _syncfs is None or _syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _protect(obj: Path) -> None:
    """Make a cache object read-only (objects written by other tools may not be)."""
    try:
        mode = os.stat(obj).st_mode
        if mode & 0o222:
            os.chmod(obj, mode & ~0o222)
    except OSError:
        pass  # a cache on a read-only or foreign file system: linking still works


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_path(path: Path) -> None:
    """Remove a file, symlink or directory tree if it exists (read-only files included)."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        def onerror(func, p, exc_info):  # read-only files in hardlinked outs
            os.chmod(p, 0o700)
            func(p)
        shutil.rmtree(path, onerror=onerror)


def unprotect(path: Path) -> None:
    """Turn hardlinks/symlinks into the cache into private copies (before a persist out is rewritten)."""
    path = Path(path)
    files = [path] if not path.is_dir() else [p for p in path.rglob("*") if p.is_file() or p.is_symlink()]
    for f in files:
        try:
            st = os.lstat(f)
        except FileNotFoundError:
            continue
        if f.is_symlink() or st.st_nlink > 1:
            tmp = f.with_name(f".{f.name}.exptui-unprotect")
            shutil.copyfile(f, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, f)
