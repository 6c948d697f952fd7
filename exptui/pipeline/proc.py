"""Run one stage command as a process group we own.

Why a hand-written runner instead of `subprocess.run`:
- the stage runs in its own session/process group, so a cancel or timeout can
  stop the whole tree (shell, python, its workers), not just the shell;
- on Linux the child gets PR_SET_PDEATHSIG, so it dies with the runner even when
  the runner is SIGKILLed (Dask/Ray leave orphans otherwise), and
  `group_reaper` kills the rest of its group (dash forks rather than execs `sh -c cmd`);
- output is read as bytes from one pipe (stderr merged) in chunks and handed to a
  sink: a stage printing gigabytes never grows our memory, and the pipe is always
  drained so the child never blocks on a full pipe.

The queue workers reuse `run_command` with their own capped log sinks.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exptui.pipeline import group_reaper

Sink = Callable[[bytes], None]

CHUNK = 64 * 1024
#: seconds between SIGTERM and SIGKILL when stopping a process group
TERM_GRACE = 5.0
#: after the shell exits, how long we wait for leftover children holding the pipe
LINGER = 2.0

_PR_SET_PDEATHSIG = 1
_prctl = None
if sys.platform.startswith("linux"):
    try:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
        _prctl = _libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        _prctl = None


@dataclass
class ProcResult:
    """How a command ended. `returncode` is negative (-signal) when killed by a signal."""

    returncode: int
    timed_out: bool = False
    cancelled: bool = False
    elapsed: float = 0.0


def shell_argv(command: str, shell: str | None = None) -> list[str]:
    """The argv DVC uses for one cmd entry: `$SHELL -c` (bash/zsh without rc files), else /bin/sh."""
    executable = shell or os.environ.get("SHELL") or "/bin/sh"
    name = os.path.basename(executable).lower()
    opts = {"bash": ["--noprofile", "--norc"], "zsh": ["--no-rcs"]}.get(name, [])
    return [executable, *opts, "-c", command]


def _child_setup(parent_pid: int) -> Callable[[], None] | None:
    if _prctl is None:
        return None
    prctl = _prctl

    def setup() -> None:  # runs in the forked child, before exec
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent already died before prctl took effect
            os._exit(137)

    return setup


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _run_one(argv: list[str], cwd: Path, env: dict[str, str], sink: Sink,
             deadline: float | None, cancel: threading.Event | None) -> ProcResult:
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=str(cwd),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_child_setup(os.getpid()),
        bufsize=0,
    )
    group_reaper.guard(proc.pid)  # the stage's group dies with us even if we are SIGKILLed
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    try:
        return _pump(proc, fd, sel, sink, deadline, cancel, start)
    except KeyboardInterrupt:
        # Ctrl-C reaches only our process group (the stage has its own session): pass it on as
        # SIGINT, give the stage the grace period to stop, SIGKILL on a second Ctrl-C or timeout.
        _interrupt(proc)
        raise
    except BaseException:
        # the sink failed (disk full, closed terminal...): never leave the stage running unobserved
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        sel.close()
        proc.stdout.close()
        if proc.returncode is not None:
            group_reaper.release(proc.pid)


def _interrupt(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc.pid, signal.SIGINT)
    try:
        proc.wait(TERM_GRACE)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def _pump(proc: subprocess.Popen[bytes], fd: int, sel: selectors.BaseSelector, sink: Sink,
          deadline: float | None, cancel: threading.Event | None, start: float) -> ProcResult:
    """Drain the pipe into the sink until EOF, enforcing cancel/timeout; return how it ended."""
    timed_out = cancelled = False
    term_sent_at: float | None = None
    exited_at: float | None = None
    while True:
        now = time.monotonic()
        if term_sent_at is None:
            if cancel is not None and cancel.is_set():
                cancelled = True
            elif deadline is not None and now >= deadline:
                timed_out = True
            if cancelled or timed_out:
                _signal_group(proc.pid, signal.SIGTERM)
                term_sent_at = now
        elif now - term_sent_at >= TERM_GRACE:
            _signal_group(proc.pid, signal.SIGKILL)
        if exited_at is None and proc.poll() is not None:
            exited_at = now
            # Leftover background children of the stage belong to the stage: stop them,
            # otherwise they would hold the pipe open forever.
            _signal_group(proc.pid, signal.SIGTERM)
        if exited_at is not None and now - exited_at >= LINGER:
            _signal_group(proc.pid, signal.SIGKILL)
            if now - exited_at >= LINGER + 1.0:
                break  # a grandchild escaped into its own session and kept our pipe
        if not sel.select(timeout=0.1):
            continue
        try:
            chunk = os.read(fd, CHUNK)
        except BlockingIOError:
            continue
        if not chunk:
            break
        sink(chunk)
    returncode = proc.wait()
    return ProcResult(returncode, timed_out, cancelled, time.monotonic() - start)


def run_command_result(
    cmd: str | list[str],
    cwd: Path,
    env: dict[str, str],
    sink: Sink,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    *,
    shell: bool = True,
) -> ProcResult:
    """Run `cmd` and report how it ended (exit code, timeout, cancel).

    With `shell=True` (the stage semantics) a string is one shell command and a list is
    several, run one after another through `$SHELL -c`, stopping at the first failure.
    With `shell=False` a list is a plain argv. `timeout` covers all entries together.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    if not shell:
        argvs = [[cmd] if isinstance(cmd, str) else list(cmd)]
    else:
        argvs = [shell_argv(c) for c in ([cmd] if isinstance(cmd, str) else cmd)]
    start = time.monotonic()
    result = ProcResult(0)
    for argv in argvs:
        result = _run_one(argv, Path(cwd), env, sink, deadline, cancel)
        if result.returncode != 0 or result.timed_out or result.cancelled:
            break
    result.elapsed = time.monotonic() - start
    return result


def run_command(
    cmd: str | list[str],
    cwd: Path,
    env: dict[str, str],
    sink: Sink,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Run a stage command (see `run_command_result`) and return its exit code.

    A command stopped by a signal returns -signal (as `subprocess` does); use
    `run_command_result` to tell a timeout or a cancel from an ordinary failure.
    """
    return run_command_result(cmd, cwd, env, sink, timeout, cancel).returncode
