"""SIGTERM and SIGHUP to the dashboard: a clean exit, as on ctrl+q, never a terminal left in raw mode.

Without this the default action kills the process at once: the terminal stays in the alternate screen with
mouse reporting and raw input on (a killed `exptui` in a tmux pane, an ssh session dropped), and an action
running in a thread (apply, remove, a note) stops half-way. Here the signal goes through the event loop
(`loop.add_signal_handler`, which wakes it at once), the app waits for the action in flight (`project_lock`)
and exits; Textual's driver then restores the terminal, and `exptui ui` ends with one line and 128+signal.
A signal that comes while the app is still starting (before its mount) is remembered (`remember_until_mounted`)
and acted on at the mount. Queue workers started from the dashboard are detached (their own session) and go on
with their experiments, as when the dashboard is quit with "keep". asyncio removes the handlers when `App.run`
closes its loop.
"""
from __future__ import annotations

import asyncio
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from exptui.tui.app import ExptuiApp

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def remember_until_mounted(app: ExptuiApp) -> None:
    """Before `app.run()`: until the app's mount puts in the loop's handlers, a SIGTERM/SIGHUP is only noted (an
    exception raised inside Textual's start-up would leave the terminal as it was set up so far)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def note(signum: int, _frame: object) -> None:
        if app.exit_signal is None:
            app.exit_signal = signum

    for sig in EXIT_SIGNALS:
        signal.signal(sig, note)


def exit_on_signals(app: ExptuiApp) -> None:
    """Install the handlers on the running loop (call from the app's mount); a signal noted before exits now."""
    loop = asyncio.get_running_loop()
    for sig in EXIT_SIGNALS:
        try:
            loop.add_signal_handler(sig, _received, app, sig)
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread (a test harness), no Unix
            return
    if app.exit_signal is not None:
        _exit_when_idle(app, app.exit_signal)


def _received(app: ExptuiApp, signum: int) -> None:
    if app.exit_signal is not None:  # already on its way out
        return
    app.exit_signal = signum
    _exit_when_idle(app, signum)


def _exit_when_idle(app: ExptuiApp, signum: int) -> None:
    def exit_when_idle() -> None:
        with app.project_lock:  # an apply/remove/annotation in flight is finished first
            app.call_from_thread(app.exit, None, 128 + signum)

    app.run_worker(exit_when_idle, thread=True, group="exit-on-signal", exit_on_error=False)
