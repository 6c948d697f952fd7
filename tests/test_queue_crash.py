"""Kill-anywhere: the queue's workers are SIGKILLed at seeded random moments, then the queue recovers.

Invariants checked after each kill (RELIABILITY.md):
- I3: after `recover()` nothing is "running"; every entry is queued or terminal; no stage process survives;
- I2/I4: after re-running (and retrying what crashed) every entry is recorded exactly once in refs/exps
  with the right params and metrics; no duplicate experiments; no leftovers (run dirs, run files, locks);
- a stage's completion is counted at most once per attempt, and more than once only for an entry whose
  earlier attempt crashed after its stage had finished (the kill landed between stage end and record);
- I1: the workspace is byte-identical.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import yaml

from exptui.execution.queue_manager import QueueManager
from exptui.store.claims import RUN_TOKEN_ENV, find_locks
from test_queue_support import fingerprint, git, qrepo, run_counts, wait_for, worker_cmd  # noqa: F401

LRS = [0.1, 0.2, 0.3]


def tagged_processes(repo: Path) -> list[int]:
    """Live (non-zombie) processes carrying an exptui run token and working inside `repo` (its run dirs):
    stages of this test's runs, not of tests running in parallel."""
    out = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if RUN_TOKEN_ENV in proc.environ() and proc.cwd().startswith(str(repo)):
                out.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return out


def git_children_running(repo: Path) -> bool:
    """A git process of a killed worker (e.g. its `update-ref` of a claim) still finishing its work in `repo`."""
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] == "git" and proc.cwd().startswith(str(repo)):
                return True
        except (psutil.Error, OSError):
            continue
    return False


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_sigkill_at_random_moments_recovers_every_entry_exactly_once(qrepo: Path, tmp_path: Path,
                                                                     seed: int) -> None:
    rng = random.Random(seed)
    before = fingerprint(qrepo)
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=" + ",".join(map(str, LRS)), "train.sleep=0.05"], name="crash")
    workers = [subprocess.Popen(worker_cmd(qrepo), start_new_session=True) for _ in range(2)]
    time.sleep(rng.uniform(0.05, 2.5))  # anywhere: claim, clone, stage, record, terminal state, exit
    for w in workers:
        w.send_signal(signal.SIGKILL)
        w.wait()
    # A git child of a killed worker is not killed with it and may still land its ref update (a claim, a
    # terminal state) a moment later. Real recovery heals that on its next pass; here we let it land first so
    # that one recover() pass must settle everything.
    assert wait_for(lambda: not git_children_running(qrepo), timeout=10)

    report = q.recover()
    entries = q.entries()
    assert all(e.status in ("queued", "success", "crashed") for e in entries), [(e.name, e.status) for e in entries]
    assert {name for name, _ in report.crashed} <= {e.name for e in entries}
    time.sleep(0.2)
    assert tagged_processes(qrepo) == [], "a stage outlived its killed worker"
    crashed_first = {e.name for e in entries if e.status == "crashed"}

    q.start(jobs=2, detach=False)
    q.retry(failed=True)
    q.start(jobs=2, detach=False)

    entries = q.entries()
    assert [e.status for e in entries] == ["success"] * 3, [(e.name, e.status, e.reason) for e in entries]
    exps = git(qrepo, "for-each-ref", "--format=%(refname)", "refs/exps/").split()
    assert sorted(e.exp_ref for e in entries) == sorted(exps)  # one experiment per entry, no duplicate
    for e, lr in zip(entries, LRS):
        assert yaml.safe_load(git(qrepo, "show", f"{e.exp_rev}:metrics.yaml")) == {"acc": lr * 2}
    counts = run_counts(tmp_path)
    for e, lr in zip(entries, LRS):
        n = counts.get(str(lr), 0)
        assert 1 <= n <= max(e.attempt, 1), (e.name, n, e.attempt)
        if n > 1:
            assert e.name in crashed_first
    state = qrepo / ".git" / "exptui"
    assert not [p for p in (state / "runs").iterdir()]
    assert not [p for p in (state / "run").iterdir()]
    assert not find_locks(qrepo / ".git")
    assert q.workers() == []
    assert fingerprint(qrepo) == before
    assert subprocess.run(["git", "fsck", "--no-progress"], cwd=qrepo, capture_output=True).returncode == 0


def test_recover_clears_the_run_file_of_an_attempt_that_already_finished(qrepo: Path) -> None:
    """A worker SIGKILLed right after writing the terminal state leaves its run file behind; recovery removes
    it, and never the run file of a retried entry's newer attempt."""
    from exptui.execution.recovery import recover
    from exptui.store.claims import ProcessIdentity, RunInfo
    from exptui.store.queue import DoneRecord

    q = QueueManager(qrepo)
    first, second = q.enqueue(["train.lr=1,2"], name="stale")
    me = ProcessIdentity.current()
    for entry in (first, second):
        claim = q.store.claim(entry, me)
        assert claim is not None
        entry.claim, entry.attempt = claim, claim.attempt
        q.state.write(RunInfo(entry.id, entry.name, me, entry.attempt))
        assert q.store.finish(entry, DoneRecord("success", attempt=entry.attempt))
    # `second` was retried and claimed again meanwhile: its run file is the new attempt's, which is live
    q.state.write(RunInfo(second.id, second.name, me, second.attempt + 1))
    recover(q.store)
    assert q.state.read(first.id) is None
    live = q.state.read(second.id)
    assert live is not None and live.attempt == second.attempt + 1
