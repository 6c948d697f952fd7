"""The queue entry lifecycle: one transition table, used by the store and the queue manager.

Table tests go through every pair of states; store tests drive a real queue in a real git repo and check that an
illegal move is refused with one line naming the entry, and leaves its refs untouched.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from exptui.errors import ExptuiError
from exptui.execution.queue_manager import UNSUCCESSFUL, QueueManager
from exptui.records import STATUSES
from exptui.store.claims import ProcessIdentity
from exptui.store.entry_state import (
    TRANSITIONS, EntryState, IllegalTransition, check_transition, may_follow,
)
from exptui.store.queue import TERMINAL, DoneRecord
from test_queue_support import git, qrepo  # noqa: F401 - fixture

LEGAL = {
    ("queued", "running"), ("queued", "cancelled"),
    ("running", "success"), ("running", "failed"), ("running", "cancelled"), ("running", "crashed"),
    ("running", "pruned"),
    ("failed", "queued"), ("cancelled", "queued"), ("crashed", "queued"),
}


def test_the_states_are_exactly_the_ones_the_store_writes_and_print_as_before() -> None:
    assert [s.value for s in EntryState] == ["queued", "running", "success", "failed", "cancelled", "crashed",
                                             "pruned"]
    assert tuple(s.value for s in EntryState) == STATUSES      # the table rows' statuses, same names
    assert TERMINAL == ("success", "failed", "cancelled", "crashed", "pruned")
    assert UNSUCCESSFUL == (EntryState.FAILED, EntryState.CANCELLED, EntryState.CRASHED)
    state = EntryState.CRASHED
    assert (str(state), f"{state}", json.dumps({"s": state}), state.row_status) == (
        "crashed", "crashed", '{"s": "crashed"}', "crashed")


@pytest.mark.parametrize("current, new", sorted(LEGAL))
def test_every_legal_transition_is_accepted(current: str, new: str) -> None:
    assert may_follow(current, new) and EntryState(current).may_become(EntryState(new))
    assert check_transition("exp-1", current, new) is EntryState(new)


ILLEGAL = sorted(set(itertools.product([s.value for s in EntryState], repeat=2)) - LEGAL)


@pytest.mark.parametrize("current, new", ILLEGAL)
def test_every_illegal_transition_is_rejected_with_one_clear_line(current: str, new: str) -> None:
    assert not may_follow(current, new) and not EntryState(current).may_become(EntryState(new))
    with pytest.raises(IllegalTransition) as info:
        check_transition("exp-1", current, new)
    message = str(info.value)
    assert message.startswith(f"exp-1 is {current}: only ") and "\n" not in message
    assert isinstance(info.value, ExptuiError)   # the CLI prints it as one line, exit 1
    assert (info.value.current, info.value.new) == (current, new)


def test_the_table_covers_every_state_and_only_recorded_runs_are_final() -> None:
    assert set(TRANSITIONS) == set(EntryState)
    assert {s for s, after in TRANSITIONS.items() if not after} == {EntryState.SUCCESS, EntryState.PRUNED}
    assert {s for s in EntryState if s.recorded} == {EntryState.SUCCESS, EntryState.PRUNED}
    assert {s for s in EntryState if s.terminal} == set(TERMINAL)
    assert {s for s in EntryState if s.retryable} == set(UNSUCCESSFUL)


def test_messages_say_what_can_be_done() -> None:
    with pytest.raises(IllegalTransition, match="only failed, cancelled or crashed entries can be retried"):
        check_transition("a", "queued", "queued")
    with pytest.raises(IllegalTransition, match="queue a new run instead"):
        check_transition("a", "success", "queued")
    with pytest.raises(IllegalTransition, match="a is pruned: .* retried .*queue a new run instead"):
        check_transition("a", "pruned", "queued")
    with pytest.raises(IllegalTransition, match="a is queued: only running entries can be pruned"):
        check_transition("a", "queued", "pruned")
    with pytest.raises(IllegalTransition, match="a is failed: only queued or running entries can be cancelled"):
        check_transition("a", "failed", "cancelled")


def test_a_stored_record_naming_no_terminal_state_reads_as_crashed() -> None:
    assert EntryState.of_record("success") is EntryState.SUCCESS
    assert [EntryState.of_record(x) for x in ("running", "queued", "bogus", None)] == [EntryState.CRASHED] * 4
    with pytest.raises(ValueError, match="cannot hold the state running"):
        DoneRecord("running")  # type: ignore[arg-type]  # the check a name from JSON or a caller goes through
    assert DoneRecord("failed").status is EntryState.FAILED  # type: ignore[arg-type]  # a name is coerced


def _exptui_refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "refs/exptui/")


def test_the_store_refuses_illegal_moves_and_leaves_the_refs_alone(qrepo: Path) -> None:  # noqa: F811
    q = QueueManager(qrepo)
    a, b = q.enqueue(["train.lr=0.1,0.2"], name="life")
    me = ProcessIdentity.current()
    assert a.status is EntryState.QUEUED
    # queued -> success skips running: refused before anything is written
    before = _exptui_refs(qrepo)
    with pytest.raises(IllegalTransition, match="life-1 is queued: only running entries can be finished"):
        q.store.finish(a, DoneRecord(EntryState.SUCCESS))
    with pytest.raises(IllegalTransition, match="life-1 is queued: only failed, cancelled or crashed"):
        q.retry("life-1")
    assert _exptui_refs(qrepo) == before
    # queued -> running: the claim updates the entry it was given
    assert q.store.claim(a, me) is not None
    assert (a.status, a.attempt, q.find("life-1").status) == (EntryState.RUNNING, 1, EntryState.RUNNING)
    assert q.store.finish(a, DoneRecord(EntryState.SUCCESS, attempt=1))
    done = q.find("life-1")
    assert done.status is EntryState.SUCCESS
    before = _exptui_refs(qrepo)
    with pytest.raises(IllegalTransition, match="its experiment is recorded"):
        q.retry("life-1")
    with pytest.raises(IllegalTransition, match="life-1 is success: only queued or running entries can be cancel"):
        q.kill("life-1")
    with pytest.raises(IllegalTransition, match="only queued entries can be started"):
        q.store.claim(done, me)
    assert _exptui_refs(qrepo) == before
    # queued -> cancelled -> queued -> running
    q.kill("life-2")
    assert q.find("life-2").status is EntryState.CANCELLED
    assert [e.name for e in q.retry("life-2")] == ["life-2"]
    again = q.find("life-2")
    assert again.status is EntryState.QUEUED and again.previous is not None
    assert q.store.claim(again, me) is not None and again.attempt == 2


def test_the_cli_refuses_an_illegal_move_in_one_line(qrepo: Path) -> None:  # noqa: F811
    import subprocess
    import sys

    q = QueueManager(qrepo)
    (entry,) = q.enqueue(["train.lr=0.1"], name="one")

    def exptui(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "exptui", *args], cwd=qrepo, capture_output=True, text=True,
                              timeout=120)

    proc = exptui("queue", "retry", "one")
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == [
        "error: one is queued: only failed, cancelled or crashed entries can be retried"]
    assert q.store.claim(entry, ProcessIdentity.current()) is not None
    assert q.store.finish(entry, DoneRecord(EntryState.SUCCESS, attempt=entry.attempt))
    proc = exptui("queue", "kill", "one")
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == [
        "error: one is success: only queued or running entries can be cancelled (killed)"]
    assert q.find("one").status is EntryState.SUCCESS
