"""The log of one experiment, followed live while it runs (`tail -f` in a thread worker).

A stage's output is data: it goes through `exptui.query.inert.InertStream` before it reaches the `Log` widget, so
escape sequences, carriage returns and bidi controls are shown inert. SGR colour codes are dropped here (the `Log`
widget shows plain text); `exptui queue logs` on a terminal keeps them as colour.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Label, Log
from textual.worker import get_current_worker

from exptui.project import Project
from exptui.query.inert import InertStream, inert
from exptui.records import ExperimentRow
from exptui.tui.alive import while_alive
from exptui.tui.text import assemble, plain
from exptui.tui.widgets.log_tail import LogTail
from exptui.tui.stylesheets import SCREENS_TCSS
from exptui.tui.widgets.key_line import KeyLine

POLL_SECONDS = 0.25
STATUS_SECONDS = 1.0      # how often a live entry's state is re-read for the header
MAX_LINES = 50_000
WRAP_FALLBACK = 80        # columns to wrap at before the view has a size
MIN_WRAP = 20
CONTINUATION = "↪ "


def log_source(project: Project, row: ExperimentRow) -> Path | None:
    """Where the experiment's log lives: the log file of the queue entry that ran it (by name or entry id; the
    first that exists). Experiments run in the workspace (`exptui run`) print to the terminal and keep no log."""
    paths: list[Path] = []
    for key in dict.fromkeys(k for k in (row.name, row.queue_id) if k):
        try:
            paths.append(project.queue.log_path(key))
        except Exception:  # noqa: BLE001 - an unknown name just means "not a queue entry"
            continue
    return next((p for p in paths if p.is_file()), paths[0] if paths else None)


class LogScreen(Screen[None]):
    """Shows the log and keeps appending while it grows; `f` toggles following the end, `esc` goes back."""

    CSS_PATH = SCREENS_TCSS   # the App read it at start-up (same path): pushing the screen re-parses nothing

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "toggle_follow", "Pause/follow"),
        Binding("g", "top", "Top", show=False),
        Binding("G", "bottom", "Bottom", show=False),
    ]

    follow: reactive[bool] = reactive(True)

    def __init__(self, project: Project, row: ExperimentRow) -> None:
        super().__init__()
        self.project = project
        self.row = row
        self.path = log_source(project, row)
        self.bytes_read = 0
        self._column = 0          # cells on the last (unfinished) line written, for wrapping the next chunk

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="log-title", classes="screen-title")
        yield Log(id="log-view", max_lines=MAX_LINES, highlight=False, auto_scroll=True)
        yield KeyLine()

    def _title(self) -> Text:
        where = "no log recorded"
        if self.path is not None:
            try:
                where = str(self.path.relative_to(self.project.root))
            except ValueError:
                where = str(self.path)
        if self.row.status in ("queued", "running"):
            mode = "following new output (f: pause)" if self.follow else "paused, new output not shown (f: follow)"
        else:
            mode = "ended" if self.follow else "ended · scrolled away from the end (f: back to it)"
        return assemble("Log · ", plain(self.row.name), " · ", plain(self.row.status, style="bold"), " · ",
                        plain(where), f" · {mode}")

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.focus()
        if self.path is None:
            log.write_line(f"No log is recorded for {inert(self.row.name)}.")
            return
        self._tail(self.path)

    def watch_follow(self, follow: bool) -> None:
        if not self.is_mounted:
            return
        log = self.query_one(Log)
        log.auto_scroll = follow
        if follow:
            log.scroll_end(animate=False)
        self.query_one("#log-title", Label).update(self._title())

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def action_top(self) -> None:
        self.follow = False
        self.query_one(Log).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(Log).scroll_end(animate=False)

    @while_alive   # closed while the tail thread was reading: its `Log` may be gone already
    def _append(self, text: str, size: int) -> None:
        self.bytes_read = size
        log = self.query_one(Log)
        self.query_one(Log).write(self._wrap(text, log.scrollable_content_region.width or WRAP_FALLBACK))

    def _wrap(self, text: str, width: int) -> str:
        """Break lines longer than the view (the `Log` widget does not wrap and a long line's end would be out of
        sight at 80 columns); continuation lines start with `↪`. Chunks may end mid-line: the column carries over."""
        from rich.cells import cell_len, chop_cells

        width = max(width, MIN_WRAP)
        out: list[str] = []
        for number, part in enumerate(text.split("\n")):
            if number:
                out.append("\n")
                self._column = 0
            while part:
                room = width - self._column
                if cell_len(part) <= room:
                    out.append(part)
                    self._column += cell_len(part)
                    break
                head = chop_cells(part, room)[0] if room > 0 else ""
                out.append(head + "\n" + CONTINUATION)
                self._column = cell_len(CONTINUATION)
                part = part[len(head):]
        return "".join(out)

    @while_alive
    def _status_changed(self, status: str) -> None:
        if status == self.row.status:
            return
        self.row = replace(self.row, status=status)  # type: ignore[arg-type]
        self.query_one("#log-title", Label).update(self._title())

    def _entry_status(self) -> str | None:
        """The queue entry's state now (a git read: called from the tail thread), None when it is not one."""
        key = self.row.queue_id or self.row.name
        try:
            return self.project.queue.find(key).status.row_status
        except Exception:  # noqa: BLE001 - a workspace experiment or a removed entry: nothing to follow
            return None

    @work(thread=True, exclusive=True, group="log-tail")
    def _tail(self, path: Path) -> None:
        """Poll the file for appended bytes until the screen goes away."""
        worker = get_current_worker()
        tail = LogTail(path)
        shown = InertStream(strip_colour=True)   # the stage's bytes are data: inert, colour codes dropped
        announced_missing = False
        live = self.row.status in ("queued", "running")
        next_check = 0.0
        while not worker.is_cancelled:
            text = tail.read_new()
            if text:
                self.app.call_from_thread(self._append, shown.feed(text), tail.offset)
                continue               # more may be waiting: read again without sleeping
            if live and time.monotonic() >= next_check:   # the header follows the entry to its final state
                next_check = time.monotonic() + STATUS_SECONDS
                status = self._entry_status()
                if status is not None and status != self.row.status:
                    live = status in ("queued", "running")
                    self.app.call_from_thread(self._status_changed, status)
            if not announced_missing and not tail.exists():
                announced_missing = True
                self.app.call_from_thread(self._append, inert(f"waiting for {path} …\n", multiline=True), 0)
            time.sleep(POLL_SECONDS)
