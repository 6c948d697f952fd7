"""The Dask executor on a real `distributed` cluster (LocalCluster: real scheduler, real worker processes).

What must hold is what holds for the local pool: every entry recorded exactly once with its params, the workspace
untouched. Cancel, kill, lost workers and a lost client are tested on workers that cannot see the repository
(tests/test_dask_remote.py).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
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

# cancel and a killed Dask worker: tests/test_dask_remote.py (workers that cannot see the repository)


def test_resources_go_to_the_worker_that_offers_them(qrepo: Path, tmp_path: Path) -> None:
    """Two workers, only one offers GPU=1: every experiment queued with resources GPU=1 runs on that one."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as c, distributed.Client(c) as probe:
        gpu = subprocess.Popen([str(Path(sys.executable).parent / "dask"), "worker", c.scheduler_address,
                                "--nthreads", "1", "--resources", "GPU=1", "--no-dashboard",
                                "--local-directory", str(tmp_path / "gpu-worker")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            probe.wait_for_workers(2, timeout=120)
            (gpu_addr,) = [a for a, w in probe.scheduler_info()["workers"].items() if w.get("resources")]
            q = QueueManager(qrepo)
            entries = q.enqueue(["train.lr=0.51,0.52"], name="gpu")
            ex = DaskExecutor(qrepo, c.scheduler_address, resources={"GPU": 1})
            try:
                assert ex.unschedulable() is None
                with distributed.get_task_stream(client=probe) as stream:
                    for e in entries:
                        ex.submit(e)
                    assert ex.wait(timeout=180)
            finally:
                ex.shutdown()
            assert [q.find(e.id).status for e in entries] == ["success", "success"]
            ran_on = {t["worker"] for t in stream.data if str(t["key"]).startswith("exptui-gpu")}
            assert ran_on == {gpu_addr}
        finally:
            os.killpg(gpu.pid, signal.SIGKILL)
            gpu.wait()
