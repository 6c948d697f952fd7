"""Small filesystem helpers shared by the writers in dvc_compat and exptui.

`atomic_write` is the one place a file is replaced whole: every writer of a small file (params, dvc.lock, .dvc
files, config, run-cache entries, exptui's state and cache files) goes through it, so "temp in the same directory,
fsync, rename" and its failure handling are written once.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from dvc_compat.errors import WriteError

__all__ = ["atomic_write", "temp_name_pid"]

#: errors that mean "this file system cannot take the write now": the message says what to do about them
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int | None = None, *, durable: bool = True,
                 display: str | None = None) -> None:
    """Write `data` to `path` via a temp file in the same directory -> fsync -> rename.

    A crash or a full disk leaves either the old file or the new one, never a torn one, and no temp file: any
    failure removes it and raises `WriteError` (an OSError whose message is one line naming `display` or the
    path, the reason, and that the old file is unchanged). The old file's permission bits are kept (or `mode`,
    or 0o644 for a new file). `durable=False` skips the fsync, for files that may be lost in a power cut but must
    never be torn (liveness files, caches).

    The temp file is named ``.<name>.<pid>.<random>.tmp``: a writer killed between create and rename leaves one,
    and cleaners (`exptui doctor`) can tell from the pid whether its writer is still alive.
    """
    p = Path(path)
    shown = display or str(p)
    tmp: str | None = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # here, not at import: readers of temp names (`temp_name_pid`) never need it

        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.{os.getpid()}.", suffix=".tmp", dir=p.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        if mode is None:
            try:
                mode = p.stat().st_mode & 0o7777
            except FileNotFoundError:
                mode = 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, p)
        tmp = None
    except OSError as exc:
        raise _write_error(shown, p, exc) from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _write_error(shown: str, path: Path, exc: OSError) -> WriteError:
    if isinstance(exc, WriteError):
        return exc
    reason = exc.strerror or str(exc)
    if exc.errno in _NO_ROOM:
        hint = "free some space and run again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = "make it writable and run again"
    else:
        hint = "run again once that is fixed"
    return WriteError(exc.errno or 0, reason, str(path),
                      f"cannot write {shown}: {reason} ({hint}; {shown} is unchanged)")


def temp_name_pid(name: str) -> int | None:
    """The writer's pid in an `atomic_write` temp file name (``.<name>.<pid>.<random>.tmp``), else None."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    parts = name[1:-4].rsplit(".", 2)
    if len(parts) != 3:
        return None
    try:
        return int(parts[1])
    except ValueError:
        return None
