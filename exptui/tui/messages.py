"""Messages that cross widget boundaries. Widget-local messages live nested in the widget that sends them."""
from __future__ import annotations

from typing import Any

from textual.message import Message

from exptui.project import LiveMetrics
from exptui.records import ExperimentRow


class RowsLoaded(Message):
    """A background reload finished: the full, unfiltered experiment list and the change token it matches."""

    def __init__(self, rows: list[ExperimentRow], token: str, branch: str = "", *,
                 loading_total: int | None = None, prepared: Any = None, since: Any = None) -> None:
        super().__init__()
        self.rows = rows
        #: `exptui.tui.prepare.Prepared` for these rows (model, frame, best cells, counts), built in the loading
        #: thread at scale; None: the dashboard derives them itself
        self.prepared = prepared
        self.token = token
        self.branch = branch        # HEAD's branch (empty when detached), for the header
        #: set on the first rows of a first load (the top of the table, painted while the rest are built): how
        #: many rows the whole listing has; None for a complete list
        self.loading_total = loading_total
        #: (state token, refs) the listing was read with, for the saved first screen (`Project.save_first_rows`)
        self.since = since


class FirstScreenLate(Message):
    """The first load has no first screen at hand (no early start's rows, no saved screen for this token): the
    dashboard stops holding its first paint for one (`ExptuiApp._hold_first_paint`) and draws the empty table."""


class LoadFailed(Message):
    """A background reload raised; the dashboard keeps the old rows and shows why."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class ActionDone(Message):
    """A project action (apply, remove, ...) finished in a worker; `message` is shown, a reload follows."""

    def __init__(self, message: str, *, error: bool = False) -> None:
        super().__init__()
        self.message = message
        self.error = error


class LiveLoaded(Message):
    """The poller read DVCLive's files of the running experiments: ``{row key: LiveMetrics}``."""

    def __init__(self, live: dict[str, LiveMetrics]) -> None:
        super().__init__()
        self.live = live
