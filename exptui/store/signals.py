"""Interruptions that never leave a write half done: held signals, and git children stopped the way git cleans up.

Two rules from docs/reliability.md meet here:

- `held_signals()`: a block that must finish once begun (recording an experiment: its commit, its ref, and the
  params the workspace keeps with it) defers Ctrl-C, SIGTERM and SIGHUP to its end, where the first one is
  delivered to whatever handler was in place before (a KeyboardInterrupt for the CLI, the worker's graceful stop).
  Without it, a signal between "the ref is written" and "the caller knows it" makes `exptui run` put the params
  back under an experiment that was in fact recorded.
- `run_process()`: `subprocess.run` answers a KeyboardInterrupt by SIGKILLing its child after 0.25 s. For git that
  is the one signal it cannot clean up after: a killed `update-ref`, `status` or `add` leaves `index.lock` or a
  ref's `.lock`, and every later git command in the repo fails until someone removes it. Here the child gets
  SIGTERM (git then removes its lock files and exits), is waited for, and is SIGKILLed only if it does not end
  within `STOP_GRACE` seconds. It runs in a process group of its own, so a terminal's Ctrl-C, sent to every
  process of the foreground group, reaches exptui alone and a held record's git child is not killed under it.

Only the standard library: `exptui.store.git` and the execution layer import this.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

#: the signals that interrupt a command (Ctrl-C, `kill`, a closed terminal)
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Popen arguments that start a child in a process group of its own (Python 3.10: in a session of its own, which
#: is a group of its own too; `preexec_fn=os.setpgrp` is not safe beside threads)
OWN_GROUP: dict[str, Any] = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}
#: seconds a git child gets after SIGTERM to remove its lock files and exit, before SIGKILL
STOP_GRACE = 10.0


class held_signals:
    """For a block: SIGINT/SIGTERM/SIGHUP are recorded, not acted on; the first one is delivered at the end of the
    block to the handler that was in place before it (so blocks nest). Outside the main thread (where Python runs
    no signal handler) this does nothing."""

    def __init__(self) -> None:
        self.pending: int | None = None
        self._old: dict[int, Any] = {}

    def _hold(self, signum: int, _frame: object) -> None:
        if self.pending is None:
            self.pending = signum

    def __enter__(self) -> held_signals:
        if threading.current_thread() is threading.main_thread():
            for sig in HELD_SIGNALS:
                self._old[sig] = signal.signal(sig, self._hold)
        return self

    def __exit__(self, *exc: object) -> None:
        old = dict(self._old)
        self._old.clear()
        for sig, handler in old.items():
            signal.signal(sig, handler)
        signum, self.pending = self.pending, None
        if signum is None:
            return
        handler = old.get(signum)
        if callable(handler):
            handler(signum, None)  # e.g. raises KeyboardInterrupt, or sets a worker's stop flag
        elif handler != signal.SIG_IGN:
            signal.raise_signal(signum)  # the default action: what the signal would have done without the hold


def run_process(cmd: Sequence[str], *, input: bytes | None = None, env: Mapping[str, str] | None = None,
                cwd: Any = None, own_group: bool = True) -> subprocess.CompletedProcess[bytes]:
    """`subprocess.run(cmd, input=input, capture_output=True, ...)`, except that when the caller is interrupted
    (KeyboardInterrupt, or any other exception while waiting) the child is stopped with SIGTERM and waited for, so a
    git child removes its lock files, instead of being SIGKILLed; then the interruption propagates.

    `own_group`: the child leads a process group of its own, so a Ctrl-C typed at the terminal (which the kernel
    sends to the whole foreground group) reaches only exptui, which decides: a held write (an experiment's ref)
    completes, anything else gets the SIGTERM above. In the terminal's group, the keypress would kill the git
    child of a held record and lose the experiment. `False` for a child that may need the terminal (a push or
    fetch asking for a password): outside the foreground group reading it would stop the child (SIGTTIN)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else None, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cwd, **(OWN_GROUP if own_group else {}))
    try:
        out, err = proc.communicate(input)
    except BaseException:
        stop_process(proc)
        raise
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def stop_process(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """SIGTERM, wait up to `grace` seconds for it to exit, then SIGKILL. Its output is not waited for: a hook git
    started may outlive it holding the pipes open (our ends are closed; a git still writing gets SIGPIPE, which it
    cleans up after too). Signals are held meanwhile: a second Ctrl-C must not cut short the wait that lets git
    remove its locks."""
    with held_signals():
        if proc.poll() is None:
            proc.terminate()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
