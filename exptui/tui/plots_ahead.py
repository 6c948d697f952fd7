"""The cursor row's plots files, read ahead in the dashboard's idle warm-up, for the session's first `p`.

A first `p` read its rows' plots files (git round trips for up to 49 commits, then parsing) in the screen's worker:
20-33 ms of CPU, 60-200 ms of wall time under load, between the key and the "over steps" data. The warm-up
(`screen_warmup.py`), a second after the first listing, reads them for the rows `p` would plot from the cursor row
then, one `RowPlots` per commit; the screen's worker takes those and reads only the rows it does not find.

A read is keyed by what it depends on: the commit. A commit's files never change, so a read ahead is never stale
whatever happened since (the cursor moved to another row of the family, a refresh brought other experiments: the
rows found are taken, the others read). Rows that are not commits (the workspace row, whose files change on disk)
and running rows (their curves come live) are never read ahead. The reads are taken once, by the first screen.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from exptui.query.step_data import PlotReader, RowPlots
    from exptui.records import ExperimentRow

_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
WAIT = 5.0   # seconds a screen waits for a read ahead under way (a few tens of ms); then it reads itself
#: records (rows of plots files, DVCLive points) kept at most: a read ahead is held until `p`, maybe all session,
#: and 49 experiments of 10,000-row plots files would hold ~0.5 M dicts; past this the rest is read by the screen
MAX_RECORDS = 100_000


def commits(rows: Sequence[ExperimentRow]) -> list[str]:
    """The commits of `rows` whose plots files can be read ahead (finished rows, full commit ids), in order."""
    return [row.rev for row in rows if row.status != "running" and _COMMIT.fullmatch(row.rev)]


class PlotsAhead:
    """The plots files read ahead, by commit, until a screen takes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reads: dict[str, RowPlots] = {}
        self._ready = threading.Event()
        self._ready.set()      # nothing under way
        self.read_commits = 0   # commits read ahead (tests)
        self.taken_commits = 0  # commits a screen took (tests)

    def read(self, project: PlotReader, rows: Sequence[ExperimentRow]) -> None:
        """In a worker thread: read `rows`' plots files, for a screen to take."""
        from exptui.query.step_data import read_row_plots

        wanted = commits(rows)
        if not wanted:
            return
        self._ready.clear()
        reads: dict[str, RowPlots] = {}
        try:
            kept = 0
            for rev in dict.fromkeys(wanted):
                read = reads[rev] = read_row_plots(project, rev)
                kept += sum(len(records) for _plot, records in read.files)
                kept += sum(len(points) for points in read.live.values())
                if kept > MAX_RECORDS:
                    del reads[rev]
                    break
        except Exception:  # noqa: BLE001 - a failed read ahead is no read: the screen reads (and reports) itself
            reads = {}
        finally:
            with self._lock:
                self._reads.update(reads)
                self.read_commits += len(reads)
            self._ready.set()

    def take(self, wait: float = WAIT) -> dict[str, RowPlots]:
        """Every read ahead (waiting for one under way), once: later calls get what was read since."""
        self._ready.wait(wait)
        with self._lock:
            reads, self._reads = self._reads, {}
            self.taken_commits += len(reads)
            return reads
