"""Kill a dead runner's stage process groups: the guard behind "a killed exptui leaves no stage running".

PR_SET_PDEATHSIG only reaches the runner's *direct* child. With `/bin/sh` being dash (Debian's default, and
what DVC uses when $SHELL is unset) `sh -c "python train.py"` forks python instead of exec'ing it, so the
shell dies with its killed runner and python lives on, still writing outs and holding the GPU. Every stage
already runs in a process group of its own, so one small process per runner suffices: it holds the read end
of a pipe whose write end only the runner has, learns the group of each stage as it starts ("+pgid") and
ends ("-pgid"), and at EOF — the kernel closes the pipe however the runner dies — SIGKILLs the groups still
registered. After a clean exit none are, and it just exits.

It is started lazily (the first stage a process runs), in its own session so Ctrl-C in the terminal never
reaches it, with `python -S -c` so it costs one interpreter start (~10 ms) per process, not per stage.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

# The reaper's whole program: only builtins, no site, no exptui import.
_REAPER = r"""
import os, signal
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
groups, buf = set(), b""
while True:
    try:
        chunk = os.read(0, 4096)
    except InterruptedError:
        continue
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        if line[:1] == b"+":
            groups.add(int(line[1:]))
        elif line[:1] == b"-":
            groups.discard(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""

_lock = threading.Lock()
_state: dict[str, object] = {}


def _pipe() -> int | None:
    """The write end to this process's reaper, started on first use (and again after a fork)."""
    if _state.get("pid") == os.getpid():
        return _state["fd"]  # type: ignore[return-value]
    read_end, write_end = os.pipe()  # non-inheritable: stages and git children never hold the write end
    try:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _REAPER], stdin=read_end, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
        )
    except OSError:
        os.close(write_end)
        return None  # no reaper is better than no stage; PDEATHSIG still covers the direct child
    finally:
        os.close(read_end)
    _state.update(pid=os.getpid(), fd=write_end, proc=proc)
    return write_end


def _send(line: str) -> None:
    with _lock:
        fd = _pipe()
        if fd is None:
            return
        try:
            os.write(fd, line.encode())
        except OSError:  # the reaper is gone (someone killed it): start a new one next time
            _state.clear()


def guard(pgid: int) -> None:
    """Kill process group `pgid` if this process dies before `release(pgid)`."""
    _send(f"+{pgid}\n")


def release(pgid: int) -> None:
    """The group ended (or is ours to leave running): stop guarding it."""
    _send(f"-{pgid}\n")
