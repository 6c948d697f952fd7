"""Issue 9 item 8: leftovers of killed commands and blind spots, each found by `doctor` and repaired by `--fix`
where it is exptui's to repair; `run`/`repro --timeout`.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from rel_support import (
    DAEMON, EXPTUI, env, error_lines, experiments, exptui, git, make_repo, start, wait_for, worker_children,
)


def doctor(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return exptui(repo, "doctor", *args)


def findings(repo: Path, kind: str) -> list[str]:
    return [line for line in doctor(repo).stdout.splitlines() if line.startswith(f"{kind}: ")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def _dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_scratch_dirs_of_a_sigkilled_run_queue_are_found_and_removed(repo: Path) -> None:
    """`run --queue` builds a sweep's objects in /dev/shm (or .git/exptui/tmp); SIGKILLed there, it used to leave
    `exptui-*` directories nobody would ever remove."""
    shm = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else repo / ".git" / "exptui" / "tmp"
    proc = start(repo, "run", "--queue", "-S", "p.x=range(1,3001)", "--yes")
    mine = lambda: [p for p in shm.glob(f"exptui-*-{proc.pid}-*")]  # noqa: E731
    assert wait_for(lambda: bool(mine()) or proc.poll() is not None, timeout=120)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    left = mine()
    proc.kill()
    proc.wait()
    assert left and all(p.exists() for p in left)
    report = doctor(repo)
    reported = [line for line in report.stdout.splitlines() if line.startswith("scratch-dir: ")]
    assert all(any(str(p) in line for line in reported) for p in left), (left, report.stdout, report.stderr)
    fixed = doctor(repo, "--fix")
    assert fixed.returncode == 0, fixed.stdout
    assert not any(p.exists() for p in left)
    assert not git(repo, "for-each-ref", "refs/exptui/queue/")          # all or nothing: no entry queued


def test_scratch_dirs_of_another_repository_are_left_to_it(repo: Path, tmp_path: Path) -> None:
    """/dev/shm is shared by every repository: one repository's doctor must not report (nor its recovery remove)
    another repository's leftovers, even of a dead process."""
    other = make_repo(tmp_path / "other")
    code = ("import sys; from pathlib import Path; from exptui.store.git import Git; "
            "from exptui.store.queue import scratch_mkdtemp; print(scratch_mkdtemp(Git(Path(sys.argv[1])), 'objects'))")
    made = subprocess.run([sys.executable, "-c", code, str(other)], check=True, env=env(), capture_output=True,
                          text=True).stdout.strip()
    try:
        assert Path(made).is_dir()                              # its process has exited: a dead process's dir
        assert not any(made in line for line in findings(repo, "scratch-dir"))
        assert any(made in line for line in findings(other, "scratch-dir"))
    finally:
        shutil.rmtree(made, ignore_errors=True)


def test_owner_file_left_in_the_claim_window_is_found_and_removed(repo: Path) -> None:
    """A worker killed after writing its run dir's owner file but before creating the dir leaves the owner file
    alone; a real (now dead) process writes it here exactly as the worker does."""
    runs = repo / ".git" / "exptui" / "runs"
    code = ("import sys; from pathlib import Path; from exptui.execution.recovery import write_owner; "
            "from exptui.store.claims import ProcessIdentity; "
            "write_owner(Path(sys.argv[1]), ProcessIdentity.current())")
    subprocess.run([sys.executable, "-c", code, str(runs / "0000000000001-abcdef")], check=True, env=env())
    owner = runs / "0000000000001-abcdef.owner.json"
    assert owner.exists() and not (runs / "0000000000001-abcdef").exists()
    assert any(str(owner) in line for line in findings(repo, "owner-file"))
    assert doctor(repo, "--fix").returncode == 0
    assert not owner.exists()


def test_no_keyboard_interrupt_traceback_in_worker_logs(tmp_path: Path) -> None:
    """Ctrl-C on `queue start --wait` at the earliest moments (its workers still starting) never leaves a
    KeyboardInterrupt traceback in `.git/exptui/workers/*.out`."""
    from test_queue_support import make_repo as make_queue_repo

    repo = make_queue_repo(tmp_path)
    assert exptui(repo, "run", "--queue", "-S", "train.lr=0.1,0.2", "-n", "early").returncode == 0
    out_dir = repo / ".git" / "exptui" / "workers"
    for trial in range(6):
        proc = subprocess.Popen([EXPTUI, "queue", "start", "-j", "2", "--wait"], cwd=repo, env=env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert wait_for(lambda: proc.poll() is not None or bool(worker_children(proc.pid)))
        time.sleep(trial * 0.02)   # the fault injected: 0 to 100 ms into the workers' start
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
        for out in out_dir.glob("*.out"):
            text = out.read_text(errors="replace")
            assert "Traceback" not in text and "KeyboardInterrupt" not in text, (trial, out, text)
        exptui(repo, "queue", "retry", "--failed")


def test_pull_with_a_remote_notes_ref_that_is_not_a_commit_leaves_no_scratch_ref(repo: Path, tmp_path: Path) -> None:
    """The remote's refs/notes/exptui points at a blob: pull says so in one line and leaves no scratch ref (it
    used to keep `refs/notes/exptui-scratch-fetch-*` for good)."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=remote, input="not notes\n",
                          capture_output=True, text=True, check=True).stdout.strip()
    git(remote, "update-ref", "refs/notes/exptui", blob)
    proc = exptui(repo, "pull", str(remote))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and "refs/notes/exptui points at a blob, not a notes commit" in lines[0], lines
    assert "scratch" not in git(repo, "for-each-ref", "refs/notes/"), "scratch ref left by pull"


def test_doctor_finds_and_removes_scratch_refs_of_dead_processes(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    ref = f"refs/notes/exptui-scratch-fetch-{dead}-0badc0de"
    git(repo, "update-ref", ref, head)
    assert any(ref in line for line in findings(repo, "scratch-ref"))
    assert doctor(repo, "--fix").returncode == 0
    assert not git(repo, "for-each-ref", ref)


@pytest.mark.dvc
def test_doctor_finds_experiment_refs_that_are_not_commits(repo: Path) -> None:
    """A ref under refs/exps/ pointing at a blob or a tree (a bad pull, a hand edit) makes `dvc exp show` crash;
    doctor reports it and --fix deletes it (the object stays until git gc)."""
    assert exptui(repo, "run", "-q", "-S", "p.x=3", "-S", "p.delay=0", "-n", "good").returncode == 0
    base = git(repo, "rev-parse", "HEAD").strip()
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input="x\n", capture_output=True,
                          text=True, check=True).stdout.strip()
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    bad = {f"refs/exps/{base[:2]}/{base[2:]}/blobby": blob, f"refs/exps/{base[:2]}/{base[2:]}/treeish": tree}
    for ref, sha in bad.items():
        git(repo, "update-ref", ref, sha)
    found = findings(repo, "bad-ref")
    assert all(any(ref in line and "not a commit" in line for line in found) for ref in bad), found
    assert doctor(repo).returncode == 1
    assert doctor(repo, "--fix").returncode == 0
    assert set(experiments(repo)) == {"good"}
    dvc = subprocess.run([str(Path(sys.executable).parent / "dvc"), "exp", "show", "--json"], cwd=repo,
                         capture_output=True, text=True, env=env(), timeout=300)
    assert dvc.returncode == 0, dvc.stderr


def test_pull_keeps_no_experiment_ref_that_is_not_a_commit(repo: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    tree = git(remote, "rev-parse", "HEAD^{tree}").strip()
    git(remote, "update-ref", f"refs/exps/{base[:2]}/{base[2:]}/bogus", tree)
    proc = exptui(repo, "pull", str(remote))
    assert proc.returncode == 1 and len(error_lines(proc.stderr)) == 1, proc.stderr
    assert "bogus" in proc.stderr and "not a commit" in proc.stderr.replace("other than a commit", "not a commit")
    assert not git(repo, "for-each-ref", "refs/exps/")


def test_a_failed_entrys_reason_names_its_own_log(tmp_path: Path) -> None:
    from test_queue_support import make_repo as make_queue_repo

    repo = make_queue_repo(tmp_path)
    (repo / "stage.py").write_text("import sys; print('bad stage'); sys.exit(3)\n")
    assert exptui(repo, "run", "--queue", "-n", "broken").returncode == 0
    exptui(repo, "queue", "start", "--wait")
    (entry,) = json.loads(exptui(repo, "queue", "status", "--json").stdout)["entries"]
    assert entry["status"] == "failed"
    own = Path(entry["log"]).resolve().relative_to(repo).as_posix()
    assert f"(log: {own})" in entry["reason"], entry["reason"]
    assert "bad stage" in (repo / own).read_text()




def test_run_temp_leaves_no_double_forked_daemon(repo: Path, tmp_path: Path) -> None:
    (repo / "daemon.py").write_text(DAEMON)
    text = (repo / "dvc.yaml").read_text().replace("cmd: python stage.py", "cmd: python daemon.py && python stage.py")
    (repo / "dvc.yaml").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a stage that leaves a daemon")
    pid_file = tmp_path / "daemon.pid"
    proc = exptui(repo, "run", "--temp", "-q", "-S", "p.x=4", "-S", "p.delay=0", REL_DAEMON=str(pid_file))
    assert proc.returncode == 0, proc.stderr
    daemon = int(pid_file.read_text())
    assert wait_for(lambda: _dead(daemon), timeout=10), "the stage's daemon outlived `run --temp`"


@pytest.mark.parametrize("command", ["run", "repro"])
def test_run_and_repro_have_a_stage_timeout(repo: Path, tmp_path: Path, command: str) -> None:
    mark = tmp_path / "stage.started"
    before = (repo / "params.yaml").read_bytes()
    args = ["run", "-q", "-S", "p.x=8", "-S", "p.delay=120"] if command == "run" else ["repro", "-q", "-f"]
    if command == "repro":
        (repo / "params.yaml").write_text(before.decode().replace("delay: 0.3", "delay: 120"))
    t0 = time.monotonic()
    proc = exptui(repo, *args, "--timeout", "1", REL_MARK=str(mark))
    assert time.monotonic() - t0 < 60
    lines = error_lines(proc.stderr)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "stage 'train' timed out after 1s" in lines[0], lines
    pid = int(mark.read_text())
    assert wait_for(lambda: _dead(pid), timeout=10)
    if command == "run":
        assert (repo / "params.yaml").read_bytes() == before        # params put back, nothing recorded
        assert experiments(repo) == {}
    bad = exptui(repo, command, "--timeout", "0")
    assert bad.returncode == 2 and len(error_lines(bad.stderr)) == 1
