"""The worker pool end to end: real worker processes, real stages, real kills."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import yaml

from exptui.execution.queue_manager import QueueManager
from test_queue_support import fingerprint, git, qrepo, run_counts, wait_for, worker_cmd  # noqa: F401


def exp_refs(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/")
    return dict(line.split() for line in out.splitlines())


def assert_recorded(repo: Path, entry, lr: float) -> None:
    """The entry's experiment ref exists in DVC's layout with the right params, metrics and lock."""
    assert entry.status == "success", (entry.name, entry.reason)
    baseline = git(repo, "rev-parse", "HEAD").strip()
    assert entry.exp_ref == f"refs/exps/{baseline[:2]}/{baseline[2:]}/{entry.name}"
    rev = entry.exp_rev
    assert git(repo, "rev-parse", f"{rev}^").strip() == baseline
    assert git(repo, "log", "-1", "--format=%s", rev).startswith("dvc: commit experiment ")
    assert yaml.safe_load(git(repo, "show", f"{rev}:params.yaml"))["train"]["lr"] == lr
    assert yaml.safe_load(git(repo, "show", f"{rev}:metrics.yaml")) == {"acc": lr * 2}
    lock = yaml.safe_load(git(repo, "show", f"{rev}:dvc.lock"))
    assert lock["stages"]["train"]["params"]["params.yaml"]["train"]["lr"] == lr


def test_sweep_of_six_on_two_workers(qrepo: Path, tmp_path: Path) -> None:
    before = fingerprint(qrepo)
    q = QueueManager(qrepo)
    lrs = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    q.enqueue(["train.lr=" + ",".join(map(str, lrs))], name="six")
    started = q.start(jobs=2, detach=False)
    assert len(started) == 2
    entries = q.entries()
    assert len(entries) == 6
    for e, lr in zip(entries, lrs):
        assert_recorded(qrepo, e, lr)
    assert len(exp_refs(qrepo)) == 6
    assert run_counts(tmp_path) == {str(lr): 1 for lr in lrs}
    assert fingerprint(qrepo) == before  # I1: workspace, index, HEAD, stash untouched
    assert q.workers() == []
    gitdir = qrepo / ".git" / "exptui"
    assert not list((gitdir / "runs").iterdir())  # run dirs removed
    assert not list((gitdir / "run").iterdir())  # no running state left
    assert q.store.rows() == []  # successes show up as experiments, not queue rows
    log = q.log_path("six-3").read_text()
    assert "training lr=0.3" in log and "recorded experiment six-3" in log


def test_worker_sigkilled_mid_stage_is_detected_and_the_rest_completes(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1", "train.sleep=30"], name="long")
    q.enqueue(["train.lr=0.2,0.3"], name="rest")
    victim = subprocess.Popen(worker_cmd(qrepo), start_new_session=True)
    pid_file = tmp_path / "pids" / "0.1.pid"
    assert wait_for(pid_file.exists)
    stage_pid = int(pid_file.read_text())
    assert wait_for(lambda: q.find("long").stage == "train")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    # the stage dies with its worker (PR_SET_PDEATHSIG, the group reaper), and recover() would kill it by its tag
    assert wait_for(lambda: not psutil.pid_exists(stage_pid) or
                    psutil.Process(stage_pid).status() == psutil.STATUS_ZOMBIE, timeout=10)
    # the next worker (or `queue status`, or `doctor`) declares the entry crashed before claiming anything
    q.start(jobs=2, detach=False)
    crashed = q.find("long")
    assert crashed.status == "crashed" and "gone" in crashed.reason
    log = Path(crashed.log_path).read_text()
    assert "training lr=0.1" in log and "crashed" in log  # log kept, with the reason
    assert not (qrepo / ".git" / "exptui" / "runs" / crashed.id).exists()
    assert [e.status for e in q.entries()] == ["crashed", "success", "success"]  # the rest completes
    assert all(not r.endswith("/long") for r in exp_refs(qrepo))  # no ref for the crashed run
    assert run_counts(tmp_path) == {"0.2": 1, "0.3": 1}  # never retried behind the user's back


def test_escaped_grandchild_dies_with_its_sigkilled_worker(qrepo: Path, tmp_path: Path) -> None:
    """No recover() call here: the worker's group reaper alone must kill a stage process that left the group
    (it kills by the environment tag every stage process of the worker carries)."""
    q = QueueManager(qrepo)
    q.enqueue(["train.sleep=300", "train.escape=true"], name="esc")
    worker = subprocess.Popen(worker_cmd(qrepo), start_new_session=True)
    escape_file = tmp_path / "pids" / "escape-0.5.pid"
    assert wait_for(escape_file.exists)
    stage_pid = int((tmp_path / "pids" / "0.5.pid").read_text())
    escaped = int(escape_file.read_text())
    assert psutil.Process(escaped).status() != psutil.STATUS_ZOMBIE
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()

    def dead(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    assert wait_for(lambda: dead(escaped) and dead(stage_pid), timeout=10)
    assert q.find("esc").status == "running"  # until someone looks: then crashed
    q.recover()
    assert q.find("esc").status == "crashed"


def test_two_concurrent_queue_starts_run_each_entry_once(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    lrs = [0.1, 0.2, 0.3, 0.4, 0.5]
    q.enqueue(["train.lr=" + ",".join(map(str, lrs)), "train.sleep=0"], name="c")
    env = dict(os.environ)
    cmd = [str(Path(os.sys.executable).parent / "exptui"), "-C", str(qrepo), "queue", "start", "-j", "2", "--wait"]
    a = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    b = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out_a, out_b = a.communicate(timeout=120)[0], b.communicate(timeout=120)[0]
    assert a.returncode == 0 and b.returncode == 0, (out_a, out_b)
    assert run_counts(tmp_path) == {str(lr): 1 for lr in lrs}
    assert all(e.status == "success" for e in q.entries())
    assert len(exp_refs(qrepo)) == 5


def test_timeout_kills_a_hanging_stage(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.sleep=600"], name="hang")
    t0 = time.monotonic()
    q.start(jobs=1, detach=False, timeout=1.0)
    assert time.monotonic() - t0 < 30
    e = q.find("hang")
    assert e.status == "failed" and "timed out" in e.reason
    pid = int((tmp_path / "pids" / "0.5.pid").read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not exp_refs(qrepo)


def test_kill_cancels_a_running_entry(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.sleep=600", "train.lr=0.1,0.2"], name="kc")
    q.start(jobs=1, detach=True)
    assert wait_for((tmp_path / "pids" / "0.1.pid").exists)
    pid = int((tmp_path / "pids" / "0.1.pid").read_text())
    q.kill("kc-1")
    assert q.kill("kc-2").status == "queued"  # a queued entry is cancelled before it starts
    assert wait_for(lambda: q.find("kc-1").terminal, timeout=15)
    e = q.find("kc-1")
    assert (e.status, e.reason) == ("cancelled", "cancelled by user (queue kill)")
    assert q.find("kc-2").status == "cancelled"
    assert wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    assert wait_for(lambda: not q.workers_running(), timeout=15)
    assert run_counts(tmp_path) == {}


def test_ctrl_c_on_wait_cancels_running_entries(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.sleep=600", "train.lr=0.1,0.2,0.3"], name="cc")
    cmd = [str(Path(os.sys.executable).parent / "exptui"), "-C", str(qrepo), "queue", "start", "-j", "2", "--wait"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert wait_for(lambda: len(list((tmp_path / "pids").iterdir())) == 2)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=30)[0].decode()
    assert "stopping" in out
    statuses = {e.name: e.status for e in q.entries()}
    assert statuses == {"cc-1": "cancelled", "cc-2": "cancelled", "cc-3": "queued"}, out
    assert "SIGINT" in q.find("cc-1").reason
    assert not q.workers_running()
    assert not list((qrepo / ".git" / "exptui" / "run").iterdir())


def test_huge_output_keeps_worker_memory_flat_and_log_capped(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.spam=200", "train.sleep=0"], name="loud")  # ~200 MiB of output
    worker = subprocess.Popen(worker_cmd(qrepo), start_new_session=True)
    proc = psutil.Process(worker.pid)
    peak = 0
    while worker.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    assert worker.returncode == 0
    e = q.find("loud")
    assert e.status == "success", e.reason
    assert peak < 150 * 2**20, f"worker RSS peaked at {peak / 2**20:.0f} MiB"
    log = Path(e.log_path)
    assert log.stat().st_size < 6 * 2**20
    data = log.read_bytes()
    assert b"output truncated" in data
    assert b"\xff\xfe not utf-8 \xc3\x28 end" in data  # bytes kept as printed
    assert data.startswith(b"\n[exptui] stage train")


def test_stop_lets_the_current_entry_finish_and_claims_no_more(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2,0.3", "train.sleep=1.5"], name="stp")
    q.start(jobs=1, detach=True)
    assert wait_for((tmp_path / "pids" / "0.1.pid").exists)
    told = q.stop()
    assert len(told) == 1
    assert wait_for(lambda: not q.workers_running(), timeout=30)
    assert [e.status for e in q.entries()] == ["success", "queued", "queued"]
    # a worker started after the stop is not bound by it
    q.start(jobs=2, detach=False)
    assert [e.status for e in q.entries()] == ["success", "success", "success"]
