"""SIGTERM and SIGHUP to the dashboard: a clean exit, as on ctrl+q, never a terminal left in raw mode.

Without this the default action kills the process at once: the terminal stays in the alternate screen with
mouse reporting and raw input on (a killed `exptui` in a tmux pane, an ssh session dropped), and an action
running in a thread (apply, remove, a note) stops half-way. Here the signal goes through the event loop
(`loop.add_signal_handler`, which wakes it at once), the app waits for the action in flight (`project_lock`)
and exits; Textual's driver then restores the terminal, and `exptui ui` ends with one line and 128+signal.
Queue workers started from the dashboard are detached (their own session) and go on with their experiments,
as when the dashboard is quit with "keep". asyncio removes the handlers when `App.run` closes its loop.
"""
from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from exptui.tui.app import ExptuiApp

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def exit_on_signals(app: ExptuiApp) -> None:
    """Install the handlers on the running loop (call from the app's mount)."""
    loop = asyncio.get_running_loop()
    for sig in EXIT_SIGNALS:
        try:
            loop.add_signal_handler(sig, _received, app, sig)
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread (a test harness), no Unix
            return


def _received(app: ExptuiApp, signum: int) -> None:
    if app.exit_signal is not None:  # already on its way out
        return
    app.exit_signal = signum

    def exit_when_idle() -> None:
        with app.project_lock:  # an apply/remove/annotation in flight is finished first
            app.call_from_thread(app.exit, None, 128 + signum)

    app.run_worker(exit_when_idle, thread=True, group="exit-on-signal", exit_on_error=False)
