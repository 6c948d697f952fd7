"""The queue as a keyed table: one row per queue entry, updated in place as entries move along.

Rows are keyed by entry id and refreshed with `update_cell` for the cells that
changed (dolphie/memray's pattern), so a refresh every second never flickers
or loses the cursor.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from exptui.project import EntryState, QueueEntry
from exptui.query.durations import format_duration
from exptui.tui.text import plain

STATUS_STYLES: dict[EntryState, str] = {
    EntryState.QUEUED: "dim",
    EntryState.RUNNING: "bold yellow",
    EntryState.SUCCESS: "green",
    EntryState.FAILED: "bold red",
    EntryState.CRASHED: "bold magenta",
    EntryState.CANCELLED: "dim italic",
    EntryState.PRUNED: "yellow",
}
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"), ("status", "Status"), ("stage", "Stage"), ("elapsed", "Elapsed"),
    ("created", "Queued at"), ("params", "Params"), ("info", "Info"),
)


@dataclass(frozen=True)
class QueueRow:
    """What the table shows of one queue entry."""

    key: str                      # the entry id
    name: str
    status: EntryState
    stage: str
    started: float | None         # epoch seconds
    finished: float | None
    created: float | None
    params: str
    info: str                     # the last error line of a failed entry, the experiment a success became
    rev: str
    baseline: str

    @classmethod
    def of(cls, entry: QueueEntry, params: str | None = None, info: str | None = None) -> QueueRow:
        """`params`: the text for the Params column (`exptui.query.overrides.summarize` of all entries shown);
        by default all of this entry's overrides. `info`: the Info column (`queue_info.info_text`); by default the
        entry's stored reason."""
        from exptui.query.overrides import full_text

        return cls(
            key=entry.id,
            name=entry.name,
            status=entry.status,
            stage=entry.stage or "",
            started=entry.started,
            finished=entry.finished,
            created=entry.created or None,
            params=full_text(entry.overrides) if params is None else params,
            info=(entry.reason or "") if info is None else info,
            rev=entry.rev,
            baseline=entry.baseline,
        )

    def elapsed(self, now: float | None = None) -> float | None:
        if self.started is None:
            return None
        end = self.finished if self.finished is not None else (now or time.time())
        return end - self.started

    def cells(self, now: float | None = None) -> tuple[Text, ...]:
        """The row's cells: `Text`, never ``str`` (DataTable parses a ``str`` cell as markup), data made inert."""
        created = datetime.fromtimestamp(self.created).strftime("%m-%d %H:%M:%S") if self.created else ""
        running = self.status == EntryState.RUNNING
        return (
            plain(self.name),
            plain(self.status.value, style=STATUS_STYLES[self.status]),
            plain(self.stage if running else "", style="yellow"),
            Text(format_duration(self.elapsed(now), tenths=False, missing="")),
            Text(created),
            plain(self.params),
            plain(self.info, style="red" if self.status in (EntryState.FAILED, EntryState.CRASHED) else "dim"),
        )


class QueueTable(DataTable):
    """DataTable of queue entries with keyed, minimal updates."""

    DEFAULT_CSS = """
    QueueTable { height: 1fr; }
    """

    BINDINGS = [  # vim moves, as on the experiments table (DataTable binds the arrows and home/end)
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.entries: dict[str, QueueRow] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, rows: list[QueueRow], now: float | None = None) -> bool:
        """Apply the new entry list; returns whether anything changed."""
        changed = False
        new = {row.key: row for row in rows}
        for key in [k for k in self.entries if k not in new]:
            self.remove_row(key)
            del self.entries[key]
            changed = True
        for row in rows:
            cells = row.cells(now)
            old = self.entries.get(row.key)
            if old is None:
                self.add_row(*cells, key=row.key)
                changed = True
            else:
                previous = old.cells(now)
                for (column, _), before, after in zip(COLUMNS, previous, cells):
                    if str(before) != str(after) or old.status != row.status:
                        self.update_cell(row.key, column, after, update_width=True)
                        changed = True
            self.entries[row.key] = row
        return changed

    def tick(self, now: float | None = None) -> None:
        """Advance the elapsed time of running entries (no reload needed)."""
        for key, row in self.entries.items():
            if row.status == EntryState.RUNNING:
                self.update_cell(key, "elapsed", Text(format_duration(row.elapsed(now), tenths=False, missing="")))

    def current(self) -> QueueRow | None:
        if not self.entries or self.cursor_row < 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - empty table
            return None
        return self.entries.get(str(key))
