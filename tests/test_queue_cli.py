"""`exptui queue ...` and `exptui doctor` through the real CLI entry point (subprocesses, real repos)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exptui.execution.queue_manager import QueueManager
from exptui.store.claims import ProcessIdentity, RunInfo
from test_queue_support import git, qrepo, wait_for  # noqa: F401

EXPTUI = str(Path(sys.executable).parent / "exptui")


def cli(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([EXPTUI, "-C", str(repo), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_status_lists_every_state(qrepo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = tmp_path / "go"
    monkeypatch.setenv("EXPTUI_TEST_GATE", str(gate))  # st-1 stays running until the checks below are done
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2,0.3", "train.sleep=0"], name="st")
    q.kill("st-3")
    assert "3 queued" not in cli(qrepo, "queue", "status").stdout
    q.start(jobs=1, detach=True)
    assert wait_for(lambda: q.find("st-1").stage == "train")
    out = cli(qrepo, "queue", "status").stdout
    assert out.splitlines()[0].startswith("1 running · 1 queued · 1 cancelled · 1 worker")
    running_line = next(line for line in out.splitlines() if line.startswith("st-1"))
    assert "running" in running_line and "train" in running_line and "train.lr=0.1" in running_line
    data = json.loads(cli(qrepo, "queue", "status", "--json").stdout)
    assert [e["status"] for e in data["entries"]] == ["running", "queued", "cancelled"]
    assert data["entries"][0]["elapsed"] >= 0 and len(data["workers"]) == 1
    assert data["entries"][0]["finished"] is None and data["entries"][2]["finished"] > 0  # cancelled: when
    gate.touch()
    assert wait_for(lambda: not q.workers_running(), timeout=120)
    final = cli(qrepo, "queue", "status").stdout
    assert final.splitlines()[0].startswith("2 success · 1 cancelled · 0 workers")


def test_start_wait_logs_retry_remove(qrepo: Path) -> None:
    out = cli(qrepo, "queue", "start").stdout
    assert "nothing queued" in out
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2"], name="cl")
    (qrepo / "stage.py").write_text("import sys; print('bad stage'); sys.exit(4)\n")  # affects new entries only
    q.enqueue(["train.lr=0.3"], name="bad")
    res = cli(qrepo, "queue", "start", "-j", "2", "--wait", check=False)
    assert res.returncode == 1  # one failed
    assert "2 success" in res.stdout and "1 failed" in res.stdout
    logs = cli(qrepo, "queue", "logs", "bad").stdout
    assert "bad stage" in logs and "exit code 4" in logs
    assert "training lr=0.1" in cli(qrepo, "queue", "logs", "cl-1").stdout
    assert "re-queued 1 entry" in cli(qrepo, "queue", "retry", "--failed").stdout
    assert q.find("bad").status == "queued"
    assert "removed 1 entry" in cli(qrepo, "queue", "remove", "bad").stdout
    assert "removed 2 entries" in cli(qrepo, "queue", "remove", "--success").stdout
    assert q.entries() == []
    assert len(git(qrepo, "for-each-ref", "refs/exps/").splitlines()) == 2  # experiments stay
    err = cli(qrepo, "queue", "logs", "nope", check=False)
    assert err.returncode == 1 and err.stderr.startswith("error: no queue entry named 'nope'")
    assert "Traceback" not in err.stderr


def test_logs_follow_streams_until_the_entry_ends(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.sleep=1.5"], name="fo")
    q.start(jobs=1, detach=True)
    assert wait_for(lambda: q.find("fo").status == "running")
    res = cli(qrepo, "queue", "logs", "fo", "-f")
    assert "training lr=0.5" in res.stdout and "recorded experiment fo" in res.stdout
    assert q.find("fo").status == "success"


def test_kill_from_the_cli(qrepo: Path, tmp_path: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.sleep=300"], name="long")
    q.start(jobs=1, detach=True)
    assert wait_for((tmp_path / "pids" / "0.5.pid").exists)
    assert "cancelling long" in cli(qrepo, "queue", "kill", "long").stdout
    assert wait_for(lambda: q.find("long").status == "cancelled", timeout=15)
    assert wait_for(lambda: not q.workers_running(), timeout=15)


def test_unknown_key_from_the_cli_is_one_line(qrepo: Path) -> None:
    res = cli(qrepo, "run", "--queue", "-S", "train.lrr=0.1,0.2", check=False)
    assert res.returncode != 0
    assert res.stderr.count("\n") == 1 and "train.lrr" in res.stderr and "Traceback" not in res.stderr
    assert git(qrepo, "for-each-ref", "refs/exptui/") == ""
    (qrepo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: [unclosed\n")
    res = cli(qrepo, "run", "--queue", "-S", "train.lr=0.1,0.2", check=False)
    assert res.returncode != 0 and "dvc.yaml" in res.stderr and "Traceback" not in res.stderr
    assert git(qrepo, "for-each-ref", "refs/exptui/") == ""


def test_doctor_finds_and_fixes_partial_state(qrepo: Path) -> None:
    assert cli(qrepo, "doctor").stdout.strip() == "no problems found"
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2"], name="doc")
    gitdir = qrepo / ".git"
    # 1. an entry claimed by a worker that died (its pid is gone): looks "running"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ghost = ProcessIdentity(dead.pid, "1", ProcessIdentity.current().host, "deadbeef")
    entry = q.find("doc-1")
    assert q.store.claim(entry, ghost) is not None
    q.state.write(RunInfo(entry.id, entry.name, ghost, 1, "train"))
    # 2. a stale lock of one of our refs, 3. an orphan run dir, 4. a stale user lock (report only)
    lock = gitdir / "refs" / "exptui" / "claims" / f"{q.find('doc-2').id}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    old = time.time() - 3600
    os.utime(lock, (old, old))
    orphan = gitdir / "exptui" / "runs" / "run-orphan"
    orphan.mkdir(parents=True)
    (gitdir / "exptui" / "runs" / "run-orphan.owner.json").write_text(json.dumps(ghost.to_dict()))
    git(qrepo, "update-ref", "refs/exptui/done/1700000000000-abcdef", git(qrepo, "rev-parse", "HEAD").strip(),
        "0" * 40)  # 5. state of an entry that no longer exists
    index_lock = gitdir / "index.lock"
    index_lock.write_text("")
    os.utime(index_lock, (old, old))

    res = cli(qrepo, "doctor", check=False)
    assert res.returncode == 1
    kinds = {line.split(":")[0] for line in res.stdout.splitlines()}
    assert {"lock", "orphan-entry", "run-dir", "foreign-lock", "dangling-ref"} <= kinds, res.stdout
    assert q.find("doc-1").status == "running"  # doctor without --fix changes nothing

    res = cli(qrepo, "doctor", "--fix", check=False)
    assert res.returncode == 1  # the user's index.lock is reported, never removed
    assert "[fixed]" in res.stdout and index_lock.exists()
    assert not lock.exists() and not orphan.exists()
    assert git(qrepo, "for-each-ref", "refs/exptui/done/1700000000000-abcdef") == ""
    assert q.find("doc-1").status == "crashed" and "gone" in q.find("doc-1").reason
    index_lock.unlink()
    assert cli(qrepo, "doctor").stdout.strip() == "no problems found"
    # the unblocked entry runs normally now
    q.start(jobs=1, detach=False)
    assert q.find("doc-2").status == "success"


def test_claim_breaks_a_stale_lock_of_its_own_ref(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    (e,) = q.enqueue(["train.lr=0.7"], name="lk")
    lock = qrepo / ".git" / "refs" / "exptui" / "claims" / f"{e.id}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    assert q.store.claim(e, ProcessIdentity.current()) is None  # fresh lock: someone may hold it
    old = time.time() - 60
    os.utime(lock, (old, old))
    assert q.store.claim(e, ProcessIdentity.current()) is not None


def test_queued_stages_get_exptuis_python_without_an_activated_venv(qrepo: Path) -> None:
    """`.venv/bin/exptui queue start` with the venv not on PATH: a stage's `python` is still exptui's own (the
    one with the project's packages), as for `exptui repro`; the worker's inherited PATH must not undo that."""
    (qrepo / "dvc.yaml").write_text(
        "stages:\n  which:\n    cmd: python -c \"import sys; print('stage python:', sys.executable)\"\n"
    )
    git(qrepo, "add", "-A")
    git(qrepo, "commit", "-q", "-m", "which python")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env["PATH"] = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if os.path.isdir(p))
    base = [EXPTUI, "-C", str(qrepo)]
    subprocess.run([*base, "run", "--queue", "-n", "which"], check=True, env=env, capture_output=True, timeout=60)
    done = subprocess.run([*base, "queue", "start", "--wait"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(x for x in cli(qrepo, "queue", "logs", "which").stdout.splitlines() if x.startswith("stage python:"))
    assert Path(line.split(":", 1)[1].strip()).parent == Path(sys.executable).parent


def test_sweep_values_are_checked_against_the_params_type_before_queueing(qrepo: Path) -> None:
    """`train.lr=abc` would queue trials that all fail later: one line naming the file, key and current value,
    nothing queued; strings, numbers of the other kind and booleans for booleans stay allowed."""
    for bad, kind in (("train.lr=0.1,abc", "a number"), ("train.escape=maybe", "a boolean"),
                      ("train.spam=[1,2]", "a number")):
        proc = cli(qrepo, "run", "--queue", "-S", bad, check=False)
        assert proc.returncode != 0
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        key = bad.split("=")[0]
        assert "params.yaml" in proc.stderr and f"'{key}' is {kind}" in proc.stderr, proc.stderr
        dry = cli(qrepo, "run", "--queue", "--dry", "-S", bad, check=False)
        assert dry.returncode != 0 and f"'{key}' is {kind}" in dry.stderr
    assert not git(qrepo, "for-each-ref", "refs/exptui/queue/")
    ok = cli(qrepo, "run", "--queue", "--dry", "-S", "train.lr=1,0.25", "-S", "train.escape=true")
    assert ok.stdout.count("train.lr=") == 2


def test_random_draws_do_not_depend_on_constants_or_order(qrepo: Path) -> None:
    """The sweep dialog lists every param (constants included) where the CLI lists only the swept ones: the same
    seed must give the same trials either way."""
    alone = cli(qrepo, "run", "--queue", "--dry", "--random", "4", "--seed", "3",
                "-S", "train.lr=loguniform(0.01,0.3)").stdout.split()
    with_more = cli(qrepo, "run", "--queue", "--dry", "--random", "4", "--seed", "3", "-S", "train.spam=2",
                    "-S", "train.sleep=0.1,0.2", "-S", "train.lr=loguniform(0.01,0.3)").stdout.split()
    lrs = [w for w in alone if w.startswith("train.lr=")]
    assert len(set(lrs)) == 4
    assert [w for w in with_more if w.startswith("train.lr=")] == lrs
