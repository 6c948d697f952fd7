"""SIGTERM and SIGHUP handled like Ctrl-C, by every command.

A command killed by `kill`, a closed terminal or a CI job's timeout must stop as it does on Ctrl-C (its stage
gets SIGINT and the grace period, its params are put back, its git child removes its lock files, `queue start
--wait` stops its workers' stages), and say so in one line with exit 128+signal, not vanish half-way or print
click's "Aborted.". `exptui.cli.errors.run_guarded` puts the handlers in around the whole command; `queue start`
also takes them itself (its interrupted path needs the signal's number). This module imports nothing but the
standard library: the handlers go in before anything slow (imports, git), so the window in which a signal still
kills a command outright is Python's own start-up, when nothing has been started yet.
"""
from __future__ import annotations

import signal
import threading
from typing import Any


class SignalInterrupt(KeyboardInterrupt):
    """A KeyboardInterrupt raised for SIGTERM/SIGHUP: every `except KeyboardInterrupt` (a stage stopped
    gracefully, params put back) treats it as Ctrl-C; the guard reads `signum` for the message and exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Interrupted(Exception):
    """A command was interrupted (Ctrl-C: `signum` SIGINT). Raised instead of KeyboardInterrupt past the command,
    which click would turn into its "Aborted." (exit 1, or 130 here), hiding which signal it was."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def interrupted_line(signum: int) -> str:
    """The one line an interrupted command ends with."""
    if signum == signal.SIGINT:
        return "Interrupted."
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return f"Interrupted by {name}."


def signum_of(exc: BaseException) -> int:
    """The signal behind a KeyboardInterrupt (SIGINT for a plain Ctrl-C)."""
    return exc.signum if isinstance(exc, SignalInterrupt) else signal.SIGINT


class interrupt_signals:
    """For a block: each SIGTERM/SIGHUP raises SignalInterrupt (a KeyboardInterrupt) in the main thread. `signum`
    is the first signal received (None for a plain Ctrl-C, which Python turns into KeyboardInterrupt itself), for
    the exit code 128+signal."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        raise SignalInterrupt(signum)

    def __enter__(self) -> interrupt_signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
