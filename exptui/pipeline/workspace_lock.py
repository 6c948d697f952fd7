"""The workspace lock: one command at a time may write a workspace, exptui's or DVC's.

Why DVC's lock file: DVC guards a repository with an flock on `.dvc/tmp/lock` (zc.lockfile); taking the very same
lock makes `dvc repro`/`dvc exp run` and `exptui run`/`repro`/`apply` exclude each other, not only exptui
commands among themselves. flock belongs to the open file, so the kernel drops it however the holder dies
(SIGKILL, power loss): a lock can never be left stale.

Why it is taken early: a command must hold the lock *before* it writes any workspace file. `exptui run` edits
params.yaml (`-S`), runs the stages and records the experiment: if a second run could write params.yaml before
taking a lock, the first run's stages would read the second run's params and the first experiment would be
recorded with the wrong metrics (and the run cache would keep that output under the wrong params). Queueing
(`run --queue`) and `run --temp` snapshot the workspace under the lock too, so they never capture a half-run's
in-flight params.

Reentrant within a process (per thread): `exptui run` holds it and calls `reproduce`, which takes it again.
Another thread of the same process waits exactly as another process does.

Wait or fail: the second command waits a bounded time (`DEFAULT_WAIT` seconds, as DVC does; the environment
variable `EXPTUI_LOCK_WAIT` changes it, `0` fails at once), then fails with one line naming the holder's pid.
Waiting longer would leave a second `exptui run` silently blocked behind a run that may take hours; failing at
once would turn a short `dvc status` in another terminal into an error.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from exptui.errors import ExptuiError

#: seconds a command waits for the lock before it gives up (DVC waits 3 s too)
DEFAULT_WAIT = 3.0
WAIT_ENV = "EXPTUI_LOCK_WAIT"
_POLL = 0.05


class WorkspaceLocked(ExptuiError):
    """Another exptui or dvc command holds the workspace lock."""


@dataclass
class _Held:
    fd: int
    thread: int
    depth: int


_guard = threading.Lock()
_held: dict[str, _Held] = {}


def lock_path(root: Path) -> Path:
    """DVC's repository lock file (`.dvc/tmp/lock`; `<git dir>/exptui/tmp/lock` in a repo without `.dvc`)."""
    from exptui.pipeline.state import tmp_dir

    return tmp_dir(Path(root)) / "lock"


def wait_seconds() -> float:
    """The bounded wait: `EXPTUI_LOCK_WAIT` if set to a number >= 0, else `DEFAULT_WAIT`."""
    raw = os.environ.get(WAIT_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise ExptuiError(f"{WAIT_ENV}={raw!r} is not a number of seconds; unset it or give e.g. "
                              f"{WAIT_ENV}=30") from None
        if value >= 0:
            return value
    return DEFAULT_WAIT


def holder_pid(path: Path) -> int | None:
    """The pid the holder wrote into the lock file (zc.lockfile's ` <pid>\\n`), if readable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    word = text.strip().split(":")[0].strip()
    return int(word) if word.isdigit() else None


def _try_flock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _locked_message(path: Path) -> str:
    pid = holder_pid(path)
    who = f" (pid {pid})" if pid is not None else ""
    return (f"another exptui/dvc command is running in this workspace{who}: wait for it to finish and run again "
            f"({path} is locked; nothing was changed)")


@contextmanager
def workspace_lock(root: Path | str, wait: float | None = None) -> Iterator[Path]:
    """Hold the workspace lock of `root` for the block (reentrant in this thread); yields the lock file's path.

    Raises `WorkspaceLocked` (one line, the holder's pid) when another process or thread keeps it longer than
    `wait` seconds (default: `wait_seconds()`).
    """
    path = lock_path(Path(root))
    key = str(path.absolute())
    me = threading.get_ident()
    deadline = time.monotonic() + (wait_seconds() if wait is None else wait)
    while True:
        with _guard:
            held = _held.get(key)
            if held is None:
                break
            if held.thread == me:
                held.depth += 1
                break
        if time.monotonic() >= deadline:  # another thread of this process holds it
            raise WorkspaceLocked(_locked_message(path))
        time.sleep(_POLL)
    if held is not None:
        try:
            yield path
        finally:
            with _guard:
                held.depth -= 1
        return
    fd = _acquire(path, deadline)
    with _guard:
        _held[key] = _Held(fd, me, 1)
    try:
        yield path
    finally:
        with _guard:
            entry = _held[key]
            entry.depth -= 1
            done = entry.depth == 0
            if done:
                del _held[key]
        if done:
            os.close(fd)  # releases the flock


def _acquire(path: Path, deadline: float) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ExptuiError(f"cannot open the workspace lock {path}: {exc.strerror or exc} (is the repository "
                          "read-only or the disk full?); nothing was changed") from None
    try:
        while not _try_flock(fd):
            if time.monotonic() >= deadline:
                raise WorkspaceLocked(_locked_message(path))
            time.sleep(_POLL)
        try:  # who holds it, for the other side's message (what zc.lockfile writes); best effort on a full disk
            os.ftruncate(fd, 0)
            os.pwrite(fd, f" {os.getpid()}\n".encode(), 0)
        except OSError:
            pass
    except BaseException:
        os.close(fd)
        raise
    return fd


def held_here(root: Path | str) -> bool:
    """Does this thread hold the workspace lock of `root`?"""
    with _guard:
        held = _held.get(str(lock_path(Path(root)).absolute()))
        return held is not None and held.thread == threading.get_ident()
