"""Issue 9 item 4: `queue start --wait` never reports success it did not have.

It runs recovery before its summary (a dead worker's entry is `crashed`, never "running"), exits non-zero and
names the entries when any entry it waited for ended crashed, failed or cancelled or was left unfinished, and
treats SIGTERM/SIGHUP like Ctrl-C (running stages stopped gracefully, one line, exit 128+signal).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from rel_support import EXPTUI, env, error_lines, wait_for, worker_children
from test_queue_support import make_repo

SLOW = ["-S", "train.sleep=60"]


@pytest.fixture
def qrepo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("EXPTUI_TEST_PIDS", str(pids))
    return make_repo(tmp_path)


def cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXPTUI, "-C", str(repo), *args], capture_output=True, text=True, env=env(), timeout=300)


def start_wait(repo: Path, jobs: int) -> subprocess.Popen[str]:
    return subprocess.Popen([EXPTUI, "-C", str(repo), "queue", "start", "-j", str(jobs), "--wait"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())


def statuses(repo: Path) -> dict[str, str]:
    data = json.loads(cli(repo, "queue", "status", "--json").stdout)
    return {e["name"]: e["status"] for e in data["entries"]}


def workers_of(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    return worker_children(proc.pid)


def stage_started(tmp_path: Path, n: int = 1):
    return lambda: len([p for p in (tmp_path / "pids").iterdir() if p.name.endswith(".pid")]) >= n


def test_a_clean_run_exits_zero(qrepo: Path) -> None:
    assert cli(qrepo, "run", "--queue", "-S", "train.lr=0.1,0.2", "-S", "train.sleep=0", "-n", "ok").returncode == 0
    proc = cli(qrepo, "queue", "start", "-j", "2", "--wait")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "2 success"


@pytest.mark.parametrize("jobs", [1, 2], ids=["single-worker", "all-workers"])
def test_sigkilled_workers_make_wait_fail_and_name_the_entries(qrepo: Path, tmp_path: Path, jobs: int) -> None:
    assert cli(qrepo, "run", "--queue", "-S", "train.lr=0.1,0.2,0.3,0.4", *SLOW, "-n", "k").returncode == 0
    proc = start_wait(qrepo, jobs)
    assert wait_for(stage_started(tmp_path, jobs))
    assert wait_for(lambda: len(workers_of(proc)) == jobs)
    for worker in workers_of(proc):
        worker.kill()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    lines = error_lines(err)
    assert len(lines) == 1 and "Traceback" not in err, err
    states = statuses(qrepo)
    assert "running" not in states.values(), states                # recovery ran before the summary
    crashed = sorted(n for n, s in states.items() if s == "crashed")
    queued = sorted(n for n, s in states.items() if s == "queued")
    assert len(crashed) == jobs and len(queued) == 4 - jobs, states
    assert f"{jobs} crashed" in out.splitlines()[-1] and f"{4 - jobs} queued" in out.splitlines()[-1], out
    for name in crashed + queued:
        assert name in lines[0], (name, lines[0])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_are_handled_like_ctrl_c(qrepo: Path, tmp_path: Path, sig: signal.Signals) -> None:
    assert cli(qrepo, "run", "--queue", "-S", "train.lr=0.1,0.2", *SLOW, "-n", "t").returncode == 0
    proc = start_wait(qrepo, 1)
    assert wait_for(stage_started(tmp_path))
    workers = workers_of(proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, (proc.returncode, out, err)
    assert "Traceback" not in err and len(error_lines(err)) == 1, err
    assert "stopping running stages" in err
    assert statuses(qrepo) == {"t-1": "cancelled", "t-2": "queued"}
    assert all(not w.is_running() or w.status() == psutil.STATUS_ZOMBIE for w in workers)
    stage = int((tmp_path / "pids" / "0.1.pid").read_text())
    assert wait_for(lambda: not psutil.pid_exists(stage) or psutil.Process(stage).status() == psutil.STATUS_ZOMBIE)


def test_a_sigtermed_worker_is_not_a_silent_success(qrepo: Path, tmp_path: Path) -> None:
    """SIGTERM to the worker (not to `queue start`): its entry ends cancelled, and `--wait` says so and fails."""
    assert cli(qrepo, "run", "--queue", "-S", "train.lr=0.1", *SLOW, "-n", "termed").returncode == 0
    proc = start_wait(qrepo, 1)
    assert wait_for(stage_started(tmp_path))
    (worker,) = workers_of(proc)
    worker.terminate()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    assert statuses(qrepo) == {"termed": "cancelled"}
    lines = error_lines(err)
    assert len(lines) == 1 and "termed" in lines[0] and "cancelled" in lines[0], err
    data = json.loads(cli(qrepo, "queue", "status", "--json").stdout)
    assert "SIGTERM" in data["entries"][0]["reason"]


def test_an_interrupted_worker_exits_with_128_plus_the_signal(qrepo: Path, tmp_path: Path) -> None:
    from test_queue_support import worker_cmd

    assert cli(qrepo, "run", "--queue", "-S", "train.lr=0.1", *SLOW, "-n", "w").returncode == 0
    worker = subprocess.Popen(worker_cmd(qrepo), env=env(), start_new_session=True)
    assert wait_for(stage_started(tmp_path))
    worker.terminate()
    assert worker.wait(60) == 128 + signal.SIGTERM
    assert statuses(qrepo) == {"w": "cancelled"}


def test_read_only_object_store_is_one_line_before_anything_runs(qrepo: Path, tmp_path: Path) -> None:
    """A read-only `.git/objects` (a read-only bind mount, which binds root too): `queue start --wait` and `run`
    fail at once in one line instead of printing "1 queued" with exit 0 or failing after the whole pipeline."""
    if os.geteuid() != 0 or not Path("/usr/bin/unshare").exists():
        pytest.skip("needs root and unshare for a read-only bind mount")
    assert cli(qrepo, "run", "--queue", "-S", "train.lr=0.1", "-S", "train.sleep=0", "-n", "ro").returncode == 0
    objects = qrepo / ".git" / "objects"
    script = (f"mount --bind {objects} {objects} && mount -o remount,bind,ro {objects} && "
              f"{EXPTUI} -C {qrepo} queue start --wait; echo \"rc=$?\"; "
              f"{EXPTUI} -C {qrepo} run -q -S train.lr=0.2 -n ro2; echo \"rc=$?\"")
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, env=env(),
                          timeout=120)
    if "rc=" not in proc.stdout:
        pytest.skip(f"read-only bind mount not possible here: {proc.stderr.strip()}")
    assert proc.stdout.count("rc=1") == 2, (proc.stdout, proc.stderr)
    lines = error_lines(proc.stderr)
    assert len(lines) == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert all("objects" in line and "Read-only file system" in line for line in lines), lines
    assert "training" not in proc.stdout   # no stage ran
    assert statuses(qrepo) == {"ro": "queued"}
