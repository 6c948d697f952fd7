"""Records shared by every layer: what one row of the experiments table is.

The store produces them, `exptui.query` turns lists of them into tables and
filters them, the CLI prints them and the TUI renders them. Keeping them in one
small module lets the query layer stay below the store.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only: `queue status` does not import datetime
    from datetime import datetime

Status = Literal["queued", "running", "success", "failed", "cancelled", "crashed", "pruned"]
RowKind = Literal["workspace", "baseline", "experiment", "queued"]
STATUSES: tuple[str, ...] = ("queued", "running", "success", "failed", "cancelled", "crashed", "pruned")


@dataclass(frozen=True)
class Annotations:
    """User annotations that travel with `git push` (stored in git notes)."""

    starred: bool = False
    labels: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class RunFacts:
    """Facts about how and where an experiment ran: the answer to "it worked on my machine"."""

    created: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None
    duration: float | None = None          # seconds
    command: str | None = None
    host: str | None = None
    python: str | None = None
    packages_digest: str | None = None     # sha256 over sorted "name==version" of installed distributions
    exptui_version: str | None = None
    error: str | None = None               # why it failed, if it did
    sweep: str | None = None               # id of the sweep this trial belongs to (its first queue entry's id)
    sweep_label: str | None = None         # short name of that sweep, from the params it varies: "md-lr"
    search: str | None = None              # id of the adaptive search this trial belongs to
    search_name: str | None = None         # that search's name (its trials are NAME-1, NAME-2...): "tpe-3f9a1c"


@dataclass(slots=True)
class ExperimentRow:
    """One row of the experiments table: a baseline commit, an experiment or a queue entry.

    `params` and `metrics` are ``{file: {dotted.key: value}}`` (files repo-relative);
    `errors` maps a params/metrics file that could not be read to the reason (shown as `!`).

    Slots, not a ``__dict__``: the dashboard holds 100,000 of them (56 + 200 bytes each with a dict, 160 with
    slots: ~9 MiB less at 100k).
    """

    name: str
    rev: str                                # full sha (the experiment commit / queue snapshot / baseline)
    baseline: str                           # full sha of the baseline commit (== rev for baseline rows)
    kind: RowKind = "experiment"
    status: Status = "success"
    baseline_name: str = ""                 # "main", a tag, or a short sha
    created: datetime | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    annotations: Annotations = field(default_factory=Annotations)
    facts: RunFacts | None = None
    stage: str | None = None                # current stage while running
    started: float | None = None            # epoch seconds, for elapsed time while running
    queue_id: str | None = None             # id of the queue entry, if it came from the queue
    ref: str | None = None                  # full ref name, e.g. refs/exps/ab/cdef.../name

    @property
    def sweep(self) -> str | None:
        """The short label of the sweep this row is a trial of (``md-lr``); None outside a sweep."""
        facts = self.facts
        return None if facts is None else facts.sweep_label

    @property
    def sweep_id(self) -> str | None:
        facts = self.facts
        return None if facts is None else facts.sweep

    @property
    def search(self) -> str | None:
        """The name of the adaptive search this row is a trial of (``tpe-3f9a1c``); None outside a search."""
        facts = self.facts
        return None if facts is None else facts.search_name

    @property
    def key(self) -> str:
        """Stable identity for keyed table updates."""
        return self.queue_id or self.ref or self.rev
