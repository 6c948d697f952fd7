"""`queue start --dask` on a cluster whose workers cannot see the repository.

A real `dask scheduler` and two `dask worker` processes on 127.0.0.1; each worker runs in a private mount
namespace (`unshare --mount`, as root) where the folder holding the test repositories is covered by an empty
tmpfs, and in a working dir of its own. Everything an experiment needs must travel as data.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import distributed

from conftest import PIPELINES, TEST_GIT_ENV
from dvc_compat.config import init_dvc_dir
from exptui.execution.dask_executor import DaskExecutor, RemoteWorker
from exptui.execution.queue_manager import QueueManager
from test_queue_support import make_repo, wait_for

BIN = Path(sys.executable).parent
EXPTUI = str(BIN / "exptui")


class Cluster:
    def __init__(self, address: str, hidden: Path, shared: Path, procs: list[subprocess.Popen[bytes]]) -> None:
        self.address = address
        self.hidden = hidden      # covered by a tmpfs on the workers: the repos live here
        self.shared = shared      # seen by workers and tests: pid files, run counts, the gate, DVC remotes
        self.procs = procs

    @property
    def gate(self) -> Path:
        return self.shared / "gate"

    def env(self) -> dict[str, str]:
        return {**os.environ, **TEST_GIT_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "EXPTUI_TEST_PIDS": str(self.shared / "pids"), "EXPTUI_TEST_RUNS": str(self.shared / "runs.txt"),
                "EXPTUI_TEST_GATE": str(self.gate)}

    def run_counts(self) -> dict[str, int]:
        runs = self.shared / "runs.txt"
        counts: dict[str, int] = {}
        for line in (runs.read_text().split() if runs.exists() else []):
            counts[line] = counts.get(line, 0) + 1
        return counts

    def reset(self) -> None:
        for p in (self.shared / "pids").iterdir():
            p.unlink()
        (self.shared / "runs.txt").unlink(missing_ok=True)
        self.gate.touch()


def _unshare_problem(probe: Path) -> str | None:
    probe.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(["unshare", "--mount", "sh", "-c", f"mount -t tmpfs none '{probe}'"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare --mount cannot run here: {exc}"
    if proc.returncode != 0:
        return f"unshare --mount + mount -t tmpfs failed (needs root): {proc.stderr.strip()}"
    return None


def _start_scheduler(base: Path, env: dict[str, str], procs: list[subprocess.Popen[bytes]]) -> str:
    """A `dask scheduler` process on 127.0.0.1 (in a session of its own); its address."""
    sched_file = base / "scheduler.json"
    procs.append(subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(sched_file)],
        cwd=base, env=env, stdout=subprocess.DEVNULL, stderr=open(base / "scheduler.log", "wb"),
        start_new_session=True))
    assert wait_for(sched_file.exists, timeout=120), (base / "scheduler.log").read_text()
    assert wait_for(lambda: "address" in sched_file.read_text(), timeout=30)
    return str(json.loads(sched_file.read_text())["address"])


def _start_workers(base: Path, hidden: Path, address: str, env: dict[str, str], procs: list[subprocess.Popen[bytes]],
                   n: int = 2) -> None:
    """`n` single-threaded `dask worker`s, each in a mount namespace where `hidden` is an empty tmpfs."""
    for i in range(n):
        wdir = base / f"w{i}"
        wdir.mkdir()
        script = ('mount -t tmpfs none "$1" && cd "$2" && exec "$3" worker "$4" --nthreads 1 --no-dashboard '
                  '--local-directory "$2" --name "w$5"')
        procs.append(subprocess.Popen(
            ["unshare", "--mount", "sh", "-c", script, "sh", str(hidden), str(wdir), str(BIN / "dask"),
             address, str(i)],
            env={**env, "TMPDIR": str(wdir)}, stdout=subprocess.DEVNULL,
            stderr=open(base / f"w{i}.log", "wb"), start_new_session=True))
    with distributed.Client(address, timeout="30s") as c:
        c.wait_for_workers(n, timeout=120)
        seen = c.run(os.path.exists, str(hidden / "marker"))
    (hidden / "marker").touch()
    with distributed.Client(address, timeout="30s") as c:
        assert not any(c.run(os.path.exists, str(hidden / "marker")).values()), "workers see the repo folder"
    assert len(seen) == n


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Each runs in a session of its own: SIGKILL the whole group (nanny, worker process), nothing to save."""
    for p in reversed(procs):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for p in procs:
        p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("dask-remote")
    hidden, shared = base / "hidden", base / "shared"
    hidden.mkdir()
    (shared / "pids").mkdir(parents=True)
    problem = _unshare_problem(base / "probe")
    if problem:
        pytest.skip(problem)
    procs: list[subprocess.Popen[bytes]] = []
    env = Cluster("", hidden, shared, []).env()
    try:
        address = _start_scheduler(base, env, procs)
        _start_workers(base, hidden, address, env, procs)
        c_ = Cluster(address, hidden, shared, procs)
        c_.gate.touch()
        yield c_
    finally:
        _stop(procs)


def _repo(cluster: Cluster, name: str, sleep: float = 0.1) -> Path:
    where = cluster.hidden / name
    where.mkdir()
    return make_repo(where, sleep=sleep)


def _exptui(repo: Path, cluster: Cluster, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXPTUI, "-C", str(repo), *args], capture_output=True, text=True, timeout=timeout,
                          env=cluster.env())


def _exp_refs(repo: Path) -> list[str]:
    out = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], cwd=repo,
                         capture_output=True, text=True).stdout.split()
    return sorted(r.rsplit("/", 1)[1] for r in out)


# -- the must-show: a churn sweep ------------------------------------------------------------------------------

def _churn_repo(root: Path) -> Path:
    repo = root / "churn"
    shutil.copytree(PIPELINES / "churn", repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["generate"]["n_rows"] = 400          # small data: the test is about the wire, not the model
    params["train"]["n_estimators"] = 5
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    init_dvc_dir(repo)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "churn"], cwd=repo, check=True, env={**os.environ, **TEST_GIT_ENV})
    return repo


@pytest.mark.dvc
def test_a_churn_sweep_runs_on_workers_that_cannot_see_the_repo(cluster: Cluster) -> None:
    repo = _churn_repo(cluster.hidden / "sweep")
    QueueManager(repo).enqueue(["train.max_depth=2,3,4,5"], name="ch")
    proc = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "4 success"
    names = _exp_refs(repo)
    assert names == ["ch-1", "ch-2", "ch-3", "ch-4"]          # each recorded once
    depths = set()
    for name in names:
        metrics = yaml.safe_load(subprocess.run(["git", "show", f"refs/exps/{_prefix(repo)}/{name}:metrics.yaml"],
                                                cwd=repo, capture_output=True, text=True, check=True).stdout)
        assert 0.0 <= float(metrics["roc_auc"]) <= 1.0
        params = yaml.safe_load(subprocess.run(["git", "show", f"refs/exps/{_prefix(repo)}/{name}:params.yaml"],
                                               cwd=repo, capture_output=True, text=True, check=True).stdout)
        depths.add(params["train"]["max_depth"])
        message = subprocess.run(["git", "log", "-1", "--format=%B", f"refs/exps/{_prefix(repo)}/{name}"],
                                 cwd=repo, capture_output=True, text=True, check=True).stdout
        assert "Exptui-Host:" in message and "Exptui-Packages-Digest:" in message
    assert depths == {2, 3, 4, 5}
    shown = subprocess.run([str(BIN / "dvc"), "exp", "show", "--json"], cwd=repo, capture_output=True, text=True,
                           env=cluster.env(), timeout=300)
    assert shown.returncode == 0, shown.stderr
    listed = {e["name"] for base in json.loads(shown.stdout) for exp in (base.get("experiments") or [])
              for e in exp.get("revs", [])}
    assert {"ch-1", "ch-2", "ch-3", "ch-4"} <= listed
    applied = _exptui(repo, cluster, "apply", "ch-3")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    model = repo / "models" / "model.joblib"
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    (out,) = [o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.joblib"]
    assert hashlib.md5(model.read_bytes()).hexdigest() == out["md5"]


def _prefix(repo: Path) -> str:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    return f"{head[:2]}/{head[2:]}"


# -- exactly once, client death -------------------------------------------------------------------------------

def _stage_pid(cluster: Cluster, lr: str) -> int:
    pid_file = cluster.shared / "pids" / f"{lr}.pid"
    assert wait_for(pid_file.exists, timeout=120)
    return int(pid_file.read_text())


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_a_killed_dask_worker_neither_repeats_nor_leaves_its_stage(cluster: Cluster) -> None:
    cluster.reset()
    repo = _repo(cluster, "killworker")
    q = QueueManager(repo)
    held = q.enqueue(["train.lr=0.91"], name="held")
    quick = q.enqueue(["train.lr=0.92"], name="quick")
    cluster.gate.unlink()
    ex = DaskExecutor(repo, cluster.address)
    try:
        for e in held + quick:
            ex.submit(e)
        stage = _stage_pid(cluster, "0.91")
        (addr,) = [a for a, keys in ex.client.processing().items() if any("held" in str(k) for k in keys)]
        worker_pid = ex.client.run(os.getpid, workers=[addr])[addr]
        os.kill(worker_pid, signal.SIGKILL)
        assert wait_for(lambda: _gone(stage), timeout=30), "the stage outlived its Dask worker"
        cluster.gate.touch()
        assert ex.wait(timeout=240)
    finally:
        cluster.gate.touch()
        ex.shutdown()
    assert [q.find(e.id).status for e in held + quick] == ["success", "success"]
    assert _exp_refs(repo) == ["held", "quick"]
    assert cluster.run_counts() == {"0.91": 1, "0.92": 1}
    assert "runs again" in Path(q.find(held[0].id).log_path or "").read_text()


def test_a_killed_client_stops_the_remote_stages_and_a_new_start_finishes(cluster: Cluster) -> None:
    cluster.reset()
    repo = _repo(cluster, "killclient")
    q = QueueManager(repo)
    entries = q.enqueue(["train.lr=0.81,0.82,0.83"], name="kc")
    cluster.gate.unlink()
    client = subprocess.Popen([EXPTUI, "-C", str(repo), "queue", "start", "--dask", cluster.address],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cluster.env())
    try:
        stages = [_stage_pid(cluster, lr) for lr in ("0.81", "0.82")]
    finally:
        client.kill()
        client.wait()
    killed = time.monotonic()
    assert wait_for(lambda: all(_gone(p) for p in stages), timeout=10), "remote stages outlived the client"
    assert time.monotonic() - killed <= 10
    cluster.gate.touch()
    status = _exptui(repo, cluster, "queue", "status")
    assert status.returncode == 0, status.stderr
    statuses = [q.find(e.id).status for e in entries]
    assert statuses[:2] == ["crashed", "crashed"]
    assert statuses[2] in ("crashed", "queued")      # claimed (waiting in Dask's queue) or not yet when it died
    assert _exptui(repo, cluster, "queue", "retry", "--failed").returncode == 0
    again = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == "3 success"
    assert _exp_refs(repo) == ["kc-1", "kc-2", "kc-3"]
    assert cluster.run_counts() == {"0.81": 1, "0.82": 1, "0.83": 1}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signalled_client_stops_the_remote_stages_and_its_entries_stay_retryable(cluster: Cluster,
                                                                                   sig: int) -> None:
    """SIGTERM/SIGHUP to `queue start --dask` (not SIGKILL, above): handled as Ctrl-C. The client cancels its
    running tasks through the heartbeat (the remote stages stop), says so, exits 128+signal with no traceback;
    no entry stays running, and `queue retry --failed` + a new start finish the sweep, each stage completed once."""
    cluster.reset()
    repo = _repo(cluster, f"termclient{int(sig)}")
    q = QueueManager(repo)
    entries = q.enqueue(["train.lr=0.71,0.72,0.73"], name="tc")
    cluster.gate.unlink()
    client = subprocess.Popen([EXPTUI, "-C", str(repo), "queue", "start", "--dask", cluster.address],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env())
    try:
        stages = [_stage_pid(cluster, lr) for lr in ("0.71", "0.72")]
        client.send_signal(sig)
        out, err = client.communicate(timeout=120)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.returncode == 128 + sig, (out, err)
    assert "Traceback" not in err and "Aborted" not in err, err
    assert "stopping running stages" in err, err
    assert wait_for(lambda: all(_gone(p) for p in stages), timeout=60), "remote stages outlived the client"
    statuses = [q.find(e.id).status for e in entries]
    assert "running" not in statuses, statuses
    assert statuses[:2] == ["cancelled", "cancelled"], statuses
    cluster.gate.touch()
    assert _exptui(repo, cluster, "queue", "retry", "--failed").returncode == 0
    again = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == "3 success"
    assert _exp_refs(repo) == ["tc-1", "tc-2", "tc-3"]
    # the cancelled stages were stopped at the gate, before they count a run: each stage completed once
    assert cluster.run_counts() == {"0.71": 1, "0.72": 1, "0.73": 1}


def test_a_late_duplicate_result_is_dropped_with_a_line_and_no_second_experiment(cluster: Cluster) -> None:
    """Two real runs of one entry's task (as when Dask re-runs it after losing a worker and both answer), and
    one answer delivered twice: the client's record path takes the first, drops the others with a line in the
    entry's log; a new client (another process's memory) drops it too, since git already has the experiment."""
    from exptui.execution.remote_task import run_task
    from exptui.execution.runner import CappedLog

    cluster.reset()
    repo = _repo(cluster, "duplicate")
    (entry,) = QueueManager(repo).enqueue(["train.lr=0.51"], name="twice")
    ex = DaskExecutor(repo, cluster.address)
    worker = RemoteWorker(ex)
    try:
        claimed = worker.claim_next(only=[entry.id])
        assert claimed is not None
        run_dir = worker.state.runs_dir / entry.id
        payload = ex.pack(worker, claimed, run_dir)
        first, again = [ex.client.submit(run_task, payload, pure=False).result(timeout=240) for _ in range(2)]
        assert (first.status, again.status) == ("success", "success") and first.run_id != again.run_id
        log = CappedLog(worker.store.log_path(entry.id, claimed.attempt))
        recorded = ex.record(worker, claimed, first, run_dir, log)
        dropped = [ex.record(worker, claimed, r, run_dir, log) for r in (again, first)]
        log.close()
    finally:
        worker.git.close()
        ex.shutdown()
    other = DaskExecutor(repo, cluster.address)
    other_worker = RemoteWorker(other)
    try:
        log = CappedLog(other_worker.store.log_path(entry.id, claimed.attempt))
        dropped.append(other.record(other_worker, claimed, again, run_dir, log))
        log.close()
    finally:
        other_worker.git.close()
        other.shutdown()
    assert recorded.status == "success" and recorded.exp_ref
    assert [(d.status, d.exp_ref, d.exp_rev) for d in dropped] == [("success", recorded.exp_ref,
                                                                      recorded.exp_rev)] * 3
    assert _exp_refs(repo) == ["twice"]                       # one experiment
    assert cluster.run_counts() == {"0.51": 2}                # both runs were real
    text = log.path.read_text()
    assert text.count("a second result for twice") == 3 and text.count("recorded experiment twice") == 1
    assert f"(run {again.run_id}) was dropped: already recorded as {recorded.exp_ref}" in text


def test_a_lost_scheduler_is_one_line_and_a_new_scheduler_finishes_the_sweep(cluster: Cluster,
                                                                            tmp_path: Path) -> None:
    cluster.reset()
    repo = _repo(cluster, "lostscheduler")
    q = QueueManager(repo)
    entries = q.enqueue(["train.lr=0.31,0.32,0.33"], name="ls")
    env = cluster.env()
    first: list[subprocess.Popen[bytes]] = []
    second: list[subprocess.Popen[bytes]] = []
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cluster.gate.unlink()
    try:
        address = _start_scheduler(tmp_path / "a", env, first)
        _start_workers(tmp_path / "a", cluster.hidden, address, env, first)
        client = subprocess.Popen([EXPTUI, "-C", str(repo), "queue", "start", "--dask", address],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            stages = [_stage_pid(cluster, lr) for lr in ("0.31", "0.32")]
            os.killpg(first[0].pid, signal.SIGKILL)          # the scheduler, mid-sweep
            _out, err = client.communicate(timeout=180)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        assert client.returncode == 1 and "Traceback" not in err
        assert err.strip().splitlines() == [
            f"error: lost the connection to the Dask scheduler at {address}: 2 running entries put back in the "
            "queue (ls-1, ls-2), nothing lost; run them with: exptui queue start --dask ADDRESS"], err
        assert wait_for(lambda: all(_gone(p) for p in stages), timeout=60), "remote stages outlived the scheduler"
        assert [q.find(e.id).status for e in entries] == ["queued"] * 3
        _stop(first)
        cluster.gate.touch()
        address2 = _start_scheduler(tmp_path / "b", env, second)
        _start_workers(tmp_path / "b", cluster.hidden, address2, env, second)
        again = _exptui(repo, cluster, "queue", "start", "--dask", address2)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.splitlines()[-1] == "3 success"
    finally:
        cluster.gate.touch()
        _stop(first)
        _stop(second)
    assert _exp_refs(repo) == ["ls-1", "ls-2", "ls-3"]
    assert cluster.run_counts() == {"0.31": 1, "0.32": 1, "0.33": 1}
    assert "lost the connection to the Dask scheduler" in q.store.log_path(entries[0].id, 1).read_text()


# -- logs and kill over the wire --------------------------------------------------------------------------------

def test_queue_logs_follow_a_remote_experiment_and_queue_kill_stops_it(cluster: Cluster) -> None:
    cluster.reset()
    repo = _repo(cluster, "logs")
    q = QueueManager(repo)
    (entry,) = q.enqueue(["train.lr=0.71"], name="followed")
    cluster.gate.unlink()
    client = subprocess.Popen([EXPTUI, "-C", str(repo), "queue", "start", "--dask", cluster.address],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env())
    follower = subprocess.Popen([EXPTUI, "-C", str(repo), "queue", "logs", "followed", "-f"],
                                stdout=subprocess.PIPE, text=True, env=cluster.env())
    lines: list[str] = []
    assert follower.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(follower.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        stage = _stage_pid(cluster, "0.71")
        assert wait_for(lambda: any("training lr=0.71" in line for line in lines), timeout=60), lines
        assert q.find(entry.id).status == "running"            # streamed while it runs, not after
        assert wait_for(lambda: q.find(entry.id).stage == "train", timeout=30)   # `queue status` shows the stage
        killed = _exptui(repo, cluster, "queue", "kill", "followed")
        assert killed.returncode == 0, killed.stderr
        assert wait_for(lambda: _gone(stage), timeout=20), "queue kill did not reach the remote stage"
        client.communicate(timeout=120)
    finally:
        cluster.gate.touch()
        for p in (client, follower):
            if p.poll() is None:
                p.kill()
            p.wait()
    assert q.find(entry.id).status == "cancelled"
    assert _exp_refs(repo) == []
    assert cluster.run_counts() == {}


# -- data: through the task up to a limit, through a DVC remote beyond -----------------------------------------

USE = """import hashlib, os, yaml
data = open("data/big.bin", "rb").read()
pad = b"x" * (1024 * int(yaml.safe_load(open("params.yaml"))["out_kib"]))
os.makedirs("out", exist_ok=True)
open("out/summary.txt", "wb").write(b"%d bytes\\n" % len(data) + pad)
open("metrics.yaml", "w").write("md5: %s\\n" % hashlib.md5(data).hexdigest())
"""

USE_YAML = """stages:
  use:
    cmd: python use.py
    deps:
      - use.py
      - data/big.bin
    outs:
      - out/summary.txt
    metrics:
      - metrics.yaml:
          cache: false
"""


def _data_repo(root: Path, remote: Path | None, size: int = 6 << 20, via_dvc: bool = False) -> tuple[Path, str]:
    """A repo whose stage reads `dvc add`-ed data of `size` bytes (in the repo's cache, not in git). `via_dvc`: the
    default remote is a `remote://` URL on top of `remote` (a type only DVC's own machinery resolves)."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    init_dvc_dir(repo)
    data = hashlib.sha256(b"seed").digest() * (size // 32)
    md5 = hashlib.md5(data).hexdigest()
    (repo / "data").mkdir()
    (repo / "data" / "big.bin").write_bytes(data)
    (repo / "data" / ".gitignore").write_text("/big.bin\n")
    (repo / "data" / "big.bin.dvc").write_text(f"outs:\n- md5: {md5}\n  size: {len(data)}\n  hash: md5\n"
                                                "  path: big.bin\n")
    obj = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    obj.parent.mkdir(parents=True)
    obj.write_bytes(data)
    if remote is not None and via_dvc:
        with open(repo / ".dvc" / "config", "a") as fh:
            fh.write(f"[core]\n    remote = store\n['remote \"base\"']\n    url = {remote}\n"
                     "['remote \"store\"']\n    url = remote://base/sub\n")
    elif remote is not None:
        with open(repo / ".dvc" / "config", "a") as fh:
            fh.write(f"[core]\n    remote = store\n['remote \"store\"']\n    url = {remote}\n")
    (repo / "use.py").write_text(USE)
    (repo / "dvc.yaml").write_text(USE_YAML)
    (repo / "params.yaml").write_text("seed: 1\nout_kib: 0\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "data"], cwd=repo, check=True, env={**os.environ, **TEST_GIT_ENV})
    return repo, md5


def test_big_deps_travel_through_a_dvc_remote_and_only_hashes_go_with_the_task(cluster: Cluster) -> None:
    remote = cluster.shared / "remote"
    repo, md5 = _data_repo(cluster.hidden / "remote", remote)
    q = QueueManager(repo)
    (entry,) = q.enqueue(["seed=2"], name="viaremote")
    ex = DaskExecutor(repo, cluster.address)
    try:
        ex.submit(entry)
        assert ex.wait(timeout=240)
        payload = ex.last_payload_size
    finally:
        ex.shutdown()
    done = q.find(entry.id)
    assert done.status == "success", done.reason
    assert payload < 256 << 10, payload                 # the 6 MiB dep did not ride along
    assert (remote / "files" / "md5" / md5[:2] / md5[2:]).stat().st_size == 6 << 20
    lock = yaml.safe_load(subprocess.run(["git", "show", f"{done.exp_rev}:dvc.lock"], cwd=repo,
                                         capture_output=True, text=True, check=True).stdout)
    out_md5 = lock["stages"]["use"]["outs"][0]["md5"]
    assert (remote / "files" / "md5" / out_md5[:2] / out_md5[2:]).is_file()      # pushed by the worker
    assert (repo / ".dvc" / "cache" / "files" / "md5" / out_md5[:2] / out_md5[2:]).is_file()   # and fetched
    metrics = subprocess.run(["git", "show", f"{done.exp_rev}:metrics.yaml"], cwd=repo, capture_output=True,
                             text=True, check=True).stdout
    assert metrics == f"md5: {md5}\n"


@pytest.mark.dvc
def test_a_remote_type_exptui_does_not_copy_itself_goes_through_dvc_push_and_fetch(cluster: Cluster) -> None:
    """A `remote://` URL (DVC resolves it; exptui's own copier only knows local paths): the client, the task and
    the client again run `dvc push`/`dvc fetch`; the remote's config travels in the snapshot, no data does."""
    base = cluster.shared / "dvcbase"
    repo, md5 = _data_repo(cluster.hidden / "viadvc", base, size=3 << 20, via_dvc=True)
    q = QueueManager(repo)
    (entry,) = q.enqueue(["seed=4"], name="viadvc")
    ex = DaskExecutor(repo, cluster.address)
    try:
        ex.submit(entry)
        assert ex.wait(timeout=300)
        payload = ex.last_payload_size
    finally:
        ex.shutdown()
    done = q.find(entry.id)
    assert done.status == "success", done.reason
    assert payload < 256 << 10, payload                            # the 3 MiB dep did not ride along
    assert (base / "sub" / "files" / "md5" / md5[:2] / md5[2:]).stat().st_size == 3 << 20   # the client's push
    lock = yaml.safe_load(subprocess.run(["git", "show", f"{done.exp_rev}:dvc.lock"], cwd=repo,
                                         capture_output=True, text=True, check=True).stdout)
    (out_md5,) = [o["md5"] for o in lock["stages"]["use"]["outs"] if o["path"] == "out/summary.txt"]
    assert (base / "sub" / "files" / "md5" / out_md5[:2] / out_md5[2:]).is_file()        # the task's push
    assert (repo / ".dvc" / "cache" / "files" / "md5" / out_md5[:2] / out_md5[2:]).is_file()   # the client's fetch
    metrics = subprocess.run(["git", "show", f"{done.exp_rev}:metrics.yaml"], cwd=repo, capture_output=True,
                             text=True, check=True).stdout
    assert metrics == f"md5: {md5}\n"
    log = Path(done.log_path or "").read_text()
    assert log.count("dvc push: DVC remote store (remote://base/sub)") == 2 and "dvc fetch: DVC remote store" in log


def test_data_over_the_limit_without_a_remote_is_one_line_naming_it(cluster: Cluster) -> None:
    repo, _ = _data_repo(cluster.hidden / "limit", None, size=2 << 20)
    q = QueueManager(repo)
    (entry,) = q.enqueue(["seed=3"], name="toobig")
    proc = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address, "--payload-limit", "1M")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    reason = q.find(entry.id).reason or ""
    assert q.find(entry.id).status == "failed"
    assert reason.startswith("data/big.bin: 2.0 MiB of data") and "configure a DVC remote" in reason


def test_outs_over_the_limit_without_a_remote_fail_naming_the_out(cluster: Cluster) -> None:
    repo, _ = _data_repo(cluster.hidden / "outlimit", None, size=1024)
    q = QueueManager(repo)
    (entry,) = q.enqueue(["out_kib=2048"], name="bigout")
    proc = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address, "--payload-limit", "1M")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    done = q.find(entry.id)
    assert done.status == "failed" and _exp_refs(repo) == []
    assert (done.reason or "").startswith("out/summary.txt: 2.0 MiB of data"), done.reason
    assert "configure a DVC remote" in (done.reason or "")


def test_resources_no_worker_offers_are_reported_unschedulable(cluster: Cluster) -> None:
    repo = _repo(cluster, "gpu")
    q = QueueManager(repo)
    (entry,) = q.enqueue(["train.lr=0.61"], name="needsgpu")
    proc = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address, "--resources", "GPU=1", timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert q.find(entry.id).status == "failed"
    assert q.find(entry.id).reason == "unschedulable: no Dask worker offers GPU=1 (2 workers connected)"
    bad = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address, "--resources", "GPU")
    assert bad.returncode != 0 and bad.stderr.strip() == (
        "error: --resources: 'GPU' is not NAME=NUMBER (e.g. --resources GPU=1)")


def test_a_stage_needing_a_resource_no_worker_offers_makes_its_entry_unschedulable(cluster: Cluster) -> None:
    repo = _repo(cluster, "stagegpu")
    (repo / "exptui.yaml").write_text("resources:\n  train: {GPU: 1}\n")
    subprocess.run(["git", "add", "exptui.yaml"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "train needs a GPU"], cwd=repo, check=True,
                   env={**os.environ, **TEST_GIT_ENV})
    q = QueueManager(repo)
    (entry,) = q.enqueue(["train.lr=0.62"], name="stagegpu")
    proc = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert q.find(entry.id).status == "failed"
    assert q.find(entry.id).reason == ("unschedulable: no Dask worker offers GPU=1 (for stage train, exptui.yaml) "
                                       "(2 workers connected)")


def test_a_worker_with_other_packages_warns_and_the_same_ones_do_not() -> None:
    from exptui.execution.remote_task import environment_warning
    from exptui.store.facts import packages_digest

    assert environment_warning(packages_digest()) is None
    warning = environment_warning("0" * 64)
    assert warning is not None and "differ from the client's" in warning and "000000000000" in warning


def test_a_stage_printing_megabytes_is_streamed_in_bounded_bursts_and_its_end_kept(cluster: Cluster) -> None:
    cluster.reset()
    repo = _repo(cluster, "spam")
    q = QueueManager(repo)
    (entry,) = q.enqueue(["train.lr=0.41", "train.spam=3"], name="loud")
    proc = _exptui(repo, cluster, "queue", "start", "--dask", cluster.address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = Path(q.find(entry.id).log_path or "").read_bytes()
    assert len(log) < 6 << 20                                   # capped, as a local run's log
    assert b"\xff\xfe not utf-8 \xc3\x28 end\n" in log          # the end arrives, bytes as they were
    assert b"training lr=0.41" in log and b"recorded experiment loud" in log
