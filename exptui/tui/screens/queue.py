"""The queue: every queued, running and finished entry, refreshed live; start, stop, kill, retry, remove, logs."""
from __future__ import annotations

import time
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Label
from textual.worker import get_current_worker

from exptui.project import EntryState, Project, QueueEntry
from exptui.records import ExperimentRow
from exptui.tui.alive import while_alive
from exptui.tui.app_ref import exptui_app
from exptui.tui.text import notify, plain
from exptui.tui.opening import OpeningHold
from exptui.tui.widgets.queue_info import info_text
from exptui.tui.widgets.queue_table import QueueRow, QueueTable
from exptui.tui.stylesheets import SCREENS_TCSS
from exptui.tui.widgets.key_line import KeyLine

POLL_SECONDS = 0.5
FULL_RELOAD_SECONDS = 5.0   # re-read even without a token change, to catch heartbeats going stale


class QueueScreen(Screen[None]):
    """Live table of the queue. Reads happen in a thread worker that polls `project.changed_token()`."""

    CSS_PATH = SCREENS_TCSS   # the App read it at start-up (same path): pushing the screen re-parses nothing

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "start", "Start workers"),
        Binding("S", "stop", "Stop"),
        Binding("K", "kill", "Kill"),            # capital: `k` moves up, as everywhere else
        Binding("r", "retry", "Retry"),
        Binding("R", "retry_all", "Retry all failed"),
        Binding("x", "remove", "Remove"),
        Binding("l", "log", "Log"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        self.refreshes = 0
        self._opening = OpeningHold()   # the cyclic collector waits until the queue was read and shown
        self._force = True
        self._infos: dict[tuple[str, int, EntryState], str] = {}

    def compose(self) -> ComposeResult:
        yield Label("Queue", id="queue-title", classes="screen-title")
        yield QueueTable(id="queue-table")
        yield Label("", id="queue-empty", classes="queue-hint")
        yield KeyLine()

    def on_mount(self) -> None:
        self.query_one(QueueTable).focus()
        self._poll()
        self.set_interval(1.0, self._tick)

    # -- loading ---------------------------------------------------------------------------------

    def _read(self) -> tuple[list[QueueRow], int]:
        """Entries and live worker count (runs in the worker thread)."""
        from exptui.query.overrides import summarize

        queue = self.project.queue
        entries = queue.entries()
        params = summarize([e.overrides for e in entries])
        rows = [QueueRow.of(e, text, self._info(e)) for e, text in zip(entries, params)]
        try:
            workers = len(queue.workers(entries))
        except Exception:  # noqa: BLE001 - worker count is decoration; the table matters
            workers = -1
        return rows, workers

    def _info(self, entry: QueueEntry) -> str:
        """The Info cell; a finished entry's never changes, so its log tail is read once per attempt."""
        if not entry.status.terminal:
            return info_text(entry)
        key = (entry.id, entry.attempt, entry.status)
        if key not in self._infos:
            self._infos[key] = info_text(entry)
        return self._infos[key]

    @work(thread=True, exclusive=True, group="queue-poll")
    def _poll(self) -> None:
        worker = get_current_worker()
        token: str | None = None
        last_full = 0.0
        while not worker.is_cancelled:
            try:
                current = self.project.changed_token()
                now = time.monotonic()
                if self._force or current != token or now - last_full > FULL_RELOAD_SECONDS:
                    self._force = False
                    token, last_full = current, now
                    rows, workers = self._read()
                    if worker.is_cancelled:
                        return
                    self.app.call_from_thread(self._show, rows, workers)
            except Exception as exc:  # noqa: BLE001 - keep polling; tell the user once per failure
                self.app.call_from_thread(notify, self, f"queue refresh failed: {exc}", severity="error")
                time.sleep(2.0)
            time.sleep(POLL_SECONDS)

    @while_alive   # the screen was closed while the worker was reading: its table may be gone already
    def _show(self, rows: list[QueueRow], workers: int) -> None:
        self.refreshes += 1
        if self._opening.held:
            self.call_after_refresh(self._opening.release)
        table = self.query_one(QueueTable)
        table.show(rows)
        counts: dict[EntryState, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        summary = " · ".join(f"{n} {status}" for status, n in counts.items())
        worker_text = "" if workers < 0 else f" · {workers} worker{'s' if workers != 1 else ''}"
        self.query_one("#queue-title", Label).update(plain(f"Queue · {len(rows)} entries{worker_text} · {summary}"))
        hint = self.query_one("#queue-empty", Label)
        hint.update("" if rows else "The queue is empty. Queue a sweep from the experiments table with `e`.")
        hint.display = not rows

    def on_unmount(self) -> None:
        self._opening.release()

    @while_alive
    def _tick(self) -> None:
        self.query_one(QueueTable).tick()

    def action_reload(self) -> None:
        self._force = True

    # -- actions ---------------------------------------------------------------------------------

    def _current(self) -> QueueRow | None:
        row = self.query_one(QueueTable).current()
        if row is None:
            notify(self, "no queue entry under the cursor", severity="warning")
        return row

    @work(thread=True, group="queue-actions")
    def _run(self, what: str, action: Callable[[], object], *, count: bool = False) -> None:
        """Queue operations touch git and processes: run `action` off the UI thread, report in one line
        (`count`: with how many entries it acted on)."""
        try:
            result = action()
        except Exception as exc:  # noqa: BLE001 - ExptuiError and friends carry a user-facing message
            self.app.call_from_thread(notify, self, f"{what} failed: {exc}", severity="error")
            return
        self._force = True
        extra = f" ({len(result)})" if count and isinstance(result, list) else ""
        self.app.call_from_thread(notify, self, f"{what}{extra}")

    def _start(self, jobs: int) -> object:
        started = self.project.queue.start(jobs)
        exptui_app(self.app).workers_started_here = True   # the app asks about them when quitting
        return started

    def action_start(self) -> None:
        from exptui.tui.screens.confirm import InputScreen

        if self.refreshes and not any(r.status == EntryState.QUEUED for r in self.query_one(QueueTable).entries.values()):
            notify(self, "nothing is queued: queue a sweep with e on the experiments table (or retry an entry with "
                         "r), then press s", severity="warning")
            return

        def started(answer: str | None) -> None:
            if answer is None:
                return
            try:
                jobs = int(answer)
            except ValueError:
                notify(self, f"workers: {answer!r} is not a whole number", severity="error")
                return
            if jobs < 1:
                notify(self, "workers: start at least 1", severity="error")
                return
            self._run(f"started {jobs} worker{'s' if jobs != 1 else ''}", lambda: self._start(jobs))

        self.app.push_screen(InputScreen("Start workers", "How many workers to run in parallel?", value="2"), started)

    def action_stop(self) -> None:
        self._run("asked workers to stop after their current experiment", lambda: self.project.queue.stop(),
                  count=True)

    def action_kill(self) -> None:
        row = self._current()
        if row is None:
            return
        if not row.status.may_become(EntryState.CANCELLED):
            notify(self, f"{row.name} is {row.status}: only running or queued entries can be killed",
                        severity="warning")
            return
        from exptui.tui.screens.confirm import ConfirmScreen

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run(f"asked {row.name} to stop", lambda: self.project.queue.kill(row.key))

        self.app.push_screen(
            ConfirmScreen("Kill experiment", f"Kill {row.name} ({row.status}) now? Running stage processes are "
                          "stopped and the entry ends cancelled.", yes="Kill", danger=True), confirmed)

    def action_retry(self) -> None:
        row = self._current()
        if row is None:
            return
        if not row.status.retryable:
            notify(self, f"only failed, crashed or cancelled entries can be retried ({row.name} is {row.status})",
                        severity="warning")
            return
        self._run(f"re-queued {row.name}", lambda: self.project.queue.retry(row.key), count=True)

    def action_retry_all(self) -> None:
        retryable = [r for r in self.query_one(QueueTable).entries.values() if r.status.retryable]
        if not retryable:
            notify(self, "nothing to retry: no failed, crashed or cancelled entries", severity="warning")
            return
        self._run("re-queued every failed, crashed or cancelled entry",
                  lambda: self.project.queue.retry(failed=True), count=True)

    def action_remove(self) -> None:
        row = self._current()
        if row is None:
            return
        if row.status == EntryState.RUNNING:
            notify(self, f"{row.name} is running: kill it first (K)", severity="warning")
            return
        from exptui.tui.screens.confirm import ConfirmScreen

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run(f"removed {row.name}", lambda: self.project.queue.remove([row.key]), count=True)

        self.app.push_screen(
            ConfirmScreen("Remove queue entry", f"Remove {row.name} ({row.status}) from the queue?",
                          yes="Remove", danger=True), confirmed)

    def action_log(self) -> None:
        row = self._current()
        if row is None:
            return
        from exptui.tui.screens.log import LogScreen

        experiment = ExperimentRow(
            name=row.name, rev=row.rev, baseline=row.baseline, kind="queued", status=row.status.row_status,
            queue_id=row.key, stage=row.stage or None, started=row.started,
        )
        self.app.push_screen(LogScreen(self.project, experiment))
