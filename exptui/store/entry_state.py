"""The lifecycle of a queue entry: its states and the one table of which state may follow which.

Why one table: the store (claim, finish, cancel, retry), the queue manager (kill, retry) and the front ends
(which keys apply to a row) all ask "may this entry become X now?". Answering from one table keeps them from
drifting apart, and an illegal move (retrying a success, claiming a cancelled entry) fails with one clear
line instead of writing a ref that contradicts the entry's history.

`EntryState` is a `str` enum: a state compares equal to its name (``EntryState.QUEUED == "queued"``) and prints,
formats and serialises to JSON as that name, so CLI and JSON output are unchanged. (Not `enum.StrEnum`: Python
3.10 is supported.)
"""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from exptui.errors import ExptuiError

if TYPE_CHECKING:  # annotations only: `queue status` never imports the records module (its dataclasses: ~2.5 ms)
    from exptui.records import Status


class EntryState(str, Enum):
    """Where a queue entry is. Stored: ``done/<id>`` gives a terminal state, else ``claims/<id>`` running,
    else queued (see exptui.store.queue)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CRASHED = "crashed"
    PRUNED = "pruned"

    @property
    def terminal(self) -> bool:
        """A run ended here (a terminal ``done/`` record exists)."""
        return self in TERMINAL_STATES

    @property
    def recorded(self) -> bool:
        """The run left an experiment under ``refs/exps`` (a success, or a trial an adaptive search stopped
        early with the metrics it reached): the table shows that experiment, not the entry."""
        return self in (EntryState.SUCCESS, EntryState.PRUNED)

    @property
    def retryable(self) -> bool:
        """The entry may be put back in the queue."""
        return may_follow(self, EntryState.QUEUED)

    def may_become(self, new: EntryState) -> bool:
        """Whether `new` may follow this state (see `TRANSITIONS`): what a front end asks before offering a key."""
        return may_follow(self, new)

    @property
    def row_status(self) -> Status:
        """The state as an experiments-table row's `status` (`exptui.records.Status`: the same names, kept in
        step by tests/test_queue_entry_state.py, so the query layer needs no import from the store)."""
        return self.value

    @classmethod
    def of_record(cls, text: object) -> EntryState:
        """The terminal state a stored ``done`` record names; a record naming no terminal state (written by a
        newer or broken exptui) reads as crashed: the run ended, and nothing says it succeeded."""
        try:
            state = cls(str(text))
        except ValueError:
            return cls.CRASHED
        return state if state.terminal else cls.CRASHED

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


TERMINAL_STATES: frozenset[EntryState] = frozenset(
    {EntryState.SUCCESS, EntryState.FAILED, EntryState.CANCELLED, EntryState.CRASHED, EntryState.PRUNED})

#: state -> the states that may follow it. Everything not listed here is refused by `check_transition`.
TRANSITIONS: dict[EntryState, frozenset[EntryState]] = {
    # a worker claims it; `queue kill` cancels it before it starts (claim + done in one transaction)
    EntryState.QUEUED: frozenset({EntryState.RUNNING, EntryState.CANCELLED}),
    # the run ends; `queue kill` cancels it; recovery declares a dead worker's entry crashed, or success when
    # the worker died right after recording the experiment; an adaptive search's pruner stops it early (its
    # partial metrics are recorded as an experiment)
    EntryState.RUNNING: frozenset({EntryState.SUCCESS, EntryState.FAILED, EntryState.CANCELLED,
                                   EntryState.CRASHED, EntryState.PRUNED}),
    # `queue retry`: back in the queue (the terminal record moves to attempts/)
    EntryState.FAILED: frozenset({EntryState.QUEUED}),
    EntryState.CANCELLED: frozenset({EntryState.QUEUED}),
    EntryState.CRASHED: frozenset({EntryState.QUEUED}),
    # a success is final: its experiment exists under refs/exps; run it again with a new entry
    EntryState.SUCCESS: frozenset(),
    # pruned: final like a success (its partial run is recorded); the search proposes new trials instead
    EntryState.PRUNED: frozenset(),
}

#: how a move to each state reads in an error message ("only ... entries can be <verb>")
_VERBS: dict[EntryState, str] = {
    EntryState.QUEUED: "retried",
    EntryState.RUNNING: "started",
    EntryState.CANCELLED: "cancelled (killed)",
    EntryState.SUCCESS: "finished",
    EntryState.FAILED: "finished",
    EntryState.CRASHED: "finished",
    EntryState.PRUNED: "pruned",
}


class IllegalTransition(ExptuiError):
    """An entry was asked to move to a state that may not follow its current one."""

    def __init__(self, name: str, current: EntryState, new: EntryState):
        self.name = name
        self.current = current
        self.new = new
        sources = [s.value for s in EntryState if new in TRANSITIONS[s]]
        allowed = " or ".join(", ".join(sources).rsplit(", ", 1)) if sources else "no"
        super().__init__(f"{name} is {current.value}: only {allowed} entries can be {_VERBS[new]}"
                         + ("" if new != EntryState.QUEUED or not current.recorded
                            else " (its experiment is recorded; queue a new run instead)"))


def may_follow(current: EntryState | str, new: EntryState | str) -> bool:
    """Whether `new` may follow `current` (see `TRANSITIONS`)."""
    return EntryState(new) in TRANSITIONS[EntryState(current)]


def check_transition(name: str, current: EntryState | str, new: EntryState | str) -> EntryState:
    """`new` as an `EntryState` when it may follow `current`; else `IllegalTransition` naming the entry."""
    cur, nxt = EntryState(current), EntryState(new)
    if nxt not in TRANSITIONS[cur]:
        raise IllegalTransition(name, cur, nxt)
    return nxt

