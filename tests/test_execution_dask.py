"""The Dask executor on a real `distributed` cluster (LocalCluster: real scheduler, real worker processes).

What must hold is what holds for the local pool: every entry recorded exactly once with its params, the workspace
untouched, cancel stops the stages, and losing a Dask worker neither loses nor repeats an experiment.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import distributed

from exptui.execution.dask_executor import DaskExecutor
from exptui.execution.queue_manager import QueueManager
from test_queue_support import fingerprint, qrepo, run_counts, wait_for  # noqa: E402,F401

EXPTUI = str(Path(sys.executable).parent / "exptui")


@pytest.fixture
def cluster():
    """An already running cluster, as a user's would be: the tests reach it by address only."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as c:
        yield c


def test_a_sweep_on_a_local_dask_cluster_runs_each_entry_once(qrepo: Path, tmp_path: Path) -> None:
    before = fingerprint(qrepo)
    q = QueueManager(qrepo)
    entries = q.enqueue(["train.lr=0.1,0.2,0.3,0.4"], name="dk")
    ex = DaskExecutor(qrepo, "local", jobs=2)
    try:
        assert ex.workers() == 2
        for e in entries:
            ex.submit(e)
        assert ex.wait(timeout=120)
        results = ex.results()
    finally:
        ex.shutdown()
    assert sorted(r["status"] for r in results) == ["success"] * 4
    assert [q.find(e.id).status for e in entries] == ["success"] * 4
    assert run_counts(tmp_path) == {"0.1": 1, "0.2": 1, "0.3": 1, "0.4": 1}
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], cwd=qrepo,
                          capture_output=True, text=True).stdout.split()
    assert sorted(r.rsplit("/", 1)[1] for r in refs) == ["dk-1", "dk-2", "dk-3", "dk-4"]
    assert fingerprint(qrepo) == before


def test_queue_start_dask_reaches_an_existing_scheduler(qrepo: Path, tmp_path: Path, cluster) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2,0.3"], name="cli")
    proc = subprocess.run([EXPTUI, "-C", str(qrepo), "queue", "start", "--dask", cluster.scheduler_address],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"sent 3 entries to the Dask scheduler at {cluster.scheduler_address} (2 workers)"
    assert lines[-1] == "3 success"
    assert run_counts(tmp_path) == {"0.1": 1, "0.2": 1, "0.3": 1}
    again = subprocess.run([EXPTUI, "-C", str(qrepo), "queue", "start", "--dask", cluster.scheduler_address],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.startswith("nothing queued")


def test_unreachable_scheduler_is_one_line(qrepo: Path) -> None:
    QueueManager(qrepo).enqueue(["train.lr=0.1"], name="nowhere")
    proc = subprocess.run([EXPTUI, "-C", str(qrepo), "queue", "start", "--dask", "tcp://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert QueueManager(qrepo).entries()[0].status == "queued"      # nothing lost


def test_cancel_stops_a_running_entry_on_dask(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    (entry,) = q.enqueue(["train.lr=0.7", "train.sleep=60"], name="long")
    ex = DaskExecutor(qrepo, "local", jobs=1)
    try:
        ex.submit(entry)
        pid_file = tmp_path / "pids" / "0.7.pid"
        assert wait_for(pid_file.exists, timeout=60)
        assert wait_for(lambda: ex.running() == [entry.id], timeout=30)
        assert ex.cancel(entry.id)
        assert ex.wait(timeout=60)
    finally:
        ex.shutdown()
    assert q.find(entry.id).status == "cancelled"
    stage_pid = int(pid_file.read_text())
    assert wait_for(lambda: not Path(f"/proc/{stage_pid}").exists(), timeout=10)
    assert run_counts(tmp_path) == {}


def test_a_killed_dask_worker_neither_loses_nor_repeats_the_experiment(qrepo: Path, tmp_path: Path,
                                                                      cluster) -> None:
    """SIGKILL the Dask worker process running the task: its stage dies with it (PDEATHSIG, group reaper), Dask
    runs the task again on the other worker, and the client, which holds the claim, records one experiment."""
    q = QueueManager(qrepo)
    (entry,) = q.enqueue(["train.lr=0.9", "train.sleep=3"], name="survivor")
    ex = DaskExecutor(qrepo, cluster.scheduler_address)
    try:
        ex.submit(entry)
        assert wait_for((tmp_path / "pids" / "0.9.pid").exists, timeout=60)
        processing = {addr: keys for addr, keys in ex.client.processing().items() if keys}
        assert len(processing) == 1
        (addr,) = processing
        pid = ex.client.run(os.getpid, workers=[addr])[addr]
        os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: q.find(entry.id).status == "success", timeout=90)
        ex.wait(timeout=90)
    finally:
        ex.shutdown(wait=False)
    time.sleep(1.0)
    assert run_counts(tmp_path) == {"0.9": 1}
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], cwd=qrepo,
                          capture_output=True, text=True).stdout.split()
    assert [r.rsplit("/", 1)[1] for r in refs] == ["survivor"]
