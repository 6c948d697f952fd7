"""Kill a dead runner's stage processes: the one guard behind "a killed exptui leaves no stage running".

PR_SET_PDEATHSIG (set by exptui.pipeline.proc) only reaches the runner's *direct* child. With `/bin/sh` being
dash (Debian's default, and what DVC uses when $SHELL is unset) `sh -c "python train.py"` forks python instead of
exec'ing it, so the shell dies with its killed runner and python lives on, still writing outs and holding the GPU;
and a stage that daemonises (`setsid`, a double fork, `nohup`) leaves its process group altogether. Dask and Ray
leave exactly those running. So one small process per runner (the `exptui repro`/`run`, a queue worker) holds the
read end of a pipe whose write end only the runner has, and learns, as they come and go:

- ``+pgid`` / ``-pgid``: the process group of each stage (every stage runs in a group of its own);
- ``t+prefix`` / ``t-prefix``: environment tags (``EXPTUI_RUN_TOKEN=<prefix>...``) that every stage process of
  the runner inherits, daemons included, unless a stage scrubs its environment (then the group still catches it).

At EOF -- the kernel closes the pipe however the runner dies, SIGKILL included -- it SIGKILLs the groups and the
tagged processes still registered. After a clean exit none are, unless the runner meant it (a queue worker keeps
its tag registered: whatever its stages left behind dies with it).

It is started lazily (the first stage or tag of a process), in its own session so Ctrl-C in the terminal never
reaches it, with `python -S -c` so it costs one interpreter start (~10 ms) per process, not per stage; the tag scan
(`kill_tagged`, /proc/*/environ) is imported only at EOF, from this module, with the package's directory on its path.

(This replaced a second mechanism, a per-worker watchdog that killed by tag only: one process and one protocol
now cover both the dash-forked stage and the escaped daemon, for workspace runs as well as queue workers.)
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

#: environment variable carried by every stage process: lets the reaper (and recovery) find and kill orphans
RUN_TOKEN_ENV = "EXPTUI_RUN_TOKEN"

# The reaper's whole program: only builtins, no site; exptui is imported at EOF only, to scan tags.
_REAPER = r"""
import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
groups, tags, buf = set(), set(), b""
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
        if line[:2] == b"t+":
            tags.add(line[2:].decode())
        elif line[:2] == b"t-":
            tags.discard(line[2:].decode())
        elif line[:1] == b"+":
            groups.add(int(line[1:]))
        elif line[:1] == b"-":
            groups.discard(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
if tags:
    sys.path.insert(0, sys.argv[1])
    from exptui.pipeline.group_reaper import kill_tagged
    for _ in range(2):  # a tagged process may fork while the first sweep runs
        for tag in tags:
            kill_tagged(tag, signal.SIGKILL, prefix=True)
"""

_lock = threading.Lock()
_state: dict[str, object] = {}
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding the `exptui` package


def _pipe() -> int | None:
    """The write end to this process's reaper, started on first use (and again after a fork)."""
    if _state.get("pid") == os.getpid():
        return _state["fd"]  # type: ignore[return-value]
    read_end, write_end = os.pipe()  # non-inheritable: stages and git children never hold the write end
    try:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _REAPER, _PACKAGE_ROOT], stdin=read_end, stdout=subprocess.DEVNULL,
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


def guard_tag(prefix: str) -> None:
    """Kill every process whose ``EXPTUI_RUN_TOKEN`` starts with `prefix` when this process dies (before
    `release_tag(prefix)`), however it dies."""
    _send(f"t+{prefix}\n")


def release_tag(prefix: str) -> None:
    _send(f"t-{prefix}\n")


def kill_tagged(token: str, sig: int = signal.SIGKILL, prefix: bool = False) -> int:
    """Send `sig` to every process whose environment carries ``EXPTUI_RUN_TOKEN=token`` (with `prefix`, any
    token starting with `token`: all runs of one worker). The caller itself is never signalled.

    Stage processes are tagged at start; a stage that escaped its process group (``setsid``, daemonising
    tools) or outlived its SIGKILLed runner is still found this way. Returns how many were signalled.
    Only builtins on Linux: the reaper imports this with ``python -S``.
    """
    needle = f"{RUN_TOKEN_ENV}={token}".encode()
    me = os.getpid()
    count = 0
    if sys.platform.startswith("linux"):
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open(f"/proc/{name}/environ", "rb") as fh:
                    env = fh.read()
            except OSError:
                continue
            entries = env.split(b"\0")
            if (needle in entries) if not prefix else any(e.startswith(needle) for e in entries):
                try:
                    os.kill(int(name), sig)
                    count += 1
                except OSError:
                    pass
        return count
    import psutil

    for proc in psutil.process_iter():
        try:
            value = proc.environ().get(RUN_TOKEN_ENV) or ""
            if proc.pid != me and (value == token or (prefix and value.startswith(token))):
                proc.send_signal(sig)
                count += 1
        except (psutil.Error, OSError):
            continue
    return count
