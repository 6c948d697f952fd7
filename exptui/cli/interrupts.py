"""SIGTERM and SIGHUP handled like Ctrl-C, for commands that wait on workers (`queue start --wait`).

A `queue start --wait` killed by `kill`, a closed terminal or a CI job's timeout must stop its workers' stages
gracefully and report, exactly as on Ctrl-C, not vanish leaving them to run unwatched. This module imports nothing
but the standard library: the handlers go in before anything slow (imports, git) so the window in which a signal
still kills the command outright is Python's own start-up, when nothing has been started yet.
"""
from __future__ import annotations

import signal
import threading
from typing import Any


class interrupt_signals:
    """For a block: each SIGTERM/SIGHUP raises KeyboardInterrupt in the main thread. `signum` is the first signal
    received (None for a plain Ctrl-C, which Python turns into KeyboardInterrupt itself), for the exit code
    128+signal."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        raise KeyboardInterrupt

    def __enter__(self) -> interrupt_signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
