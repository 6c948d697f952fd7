"""Signals at the moments the first signal suite did not reach: a command blocked on the workspace lock, and
`apply` between writing an experiment's git-tracked files and restoring its DVC-cached outputs.

The moments are found, not waited for: a waiting command has the lock file open (`/proc/<pid>/fd`) while this
test holds the flock; `apply` is run through `pause_driver.py`, which stops before the first cached output is
placed until the test says so. Then the signal, and a check of what is left: the workspace is the old state, or
the applied one, or the command's message names the one command that completes it.
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rel_support import (EXPTUI, PARAMS, env, error_lines, experiments, exptui, git, has_open, install_hook,
                         make_repo, wait_for)

SIGNALS = pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                                  ids=["SIGTERM", "SIGHUP", "SIGINT"])
DRIVER = str(Path(__file__).with_name("pause_driver.py"))
#: exec ARGV with SIGINT at its default action: a shell without job control starts background commands with SIGINT
#: ignored, which a child inherits (Python then installs no KeyboardInterrupt handler); a terminal's process has it
DEFAULT_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                  "os.execv(sys.argv[1], sys.argv[1:])")


def popen(repo: Path, argv: list[str], own_group: bool = False, **extra: str) -> subprocess.Popen[str]:
    """`argv` in `repo` as a terminal would start it (SIGINT at its default); `own_group`: leading a process group
    of its own (its children join it unless put in one of their own), so that `os.killpg` is the terminal's
    Ctrl-C, which the kernel sends to every process of the foreground group. The pid is the command's (exec)."""
    return subprocess.Popen([sys.executable, "-c", DEFAULT_SIGINT, *argv], cwd=repo, env=env(**extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=own_group)


def stop(proc: subprocess.Popen[str], *release: Path) -> None:
    """After a test, pass or fail: let a held hook or pause go, and end the command if it is still there."""
    for path in release:
        path.touch()
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def lock_files(repo: Path) -> list[str]:
    return sorted(str(p.relative_to(repo)) for p in (repo / ".git").rglob("*.lock"))


def workspace(repo: Path) -> dict[str, bytes]:
    """Every file of the work tree (not `.git`, not `.dvc/tmp`, where the lock file lives) with its bytes."""
    out = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo)
        if rel.parts[0] == ".git" or rel.parts[:2] == (".dvc", "tmp") or not path.is_file():
            continue
        out[str(rel)] = path.read_bytes()
    return out


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def interrupted(proc: subprocess.Popen[str], err: str, sig: int) -> None:
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert "Traceback" not in err and "Aborted" not in err, err
    line = "Interrupted." if sig == signal.SIGINT else f"Interrupted by {signal.Signals(sig).name}."
    assert error_lines(err)[-1] == line, err


@SIGNALS
@pytest.mark.parametrize("command", [["run", "-S", "p.x=5", "-n", "waited"], ["run", "--queue", "-S", "p.x=6"],
                                     ["repro", "-f"], ["apply", "five"]],
                         ids=["run", "run-queue", "repro", "apply"])
def test_a_command_waiting_for_the_workspace_lock_stops_at_once_and_changes_nothing(
        repo: Path, tmp_path: Path, sig: int, command: list[str]) -> None:
    """Blocked on the lock another command holds (`EXPTUI_LOCK_WAIT` long enough never to give up here), the
    command stops at the signal: one line, 128+signal, not a file of the workspace, a ref or a lock file changed;
    once the lock is free the same command works."""
    assert exptui(repo, "run", "-q", "--temp", "-S", "p.x=5", "-n", "five").returncode == 0
    before, refs_before = workspace(repo), refs(repo)
    path = repo / ".dvc" / "tmp" / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = popen(repo, [EXPTUI, *command], EXPTUI_LOCK_WAIT="600")
        try:
            assert wait_for(lambda: has_open(proc.pid, path) or proc.poll() is not None, timeout=120)
            assert proc.poll() is None, proc.communicate()
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=120)
        finally:
            stop(proc)
    finally:
        os.close(fd)
    interrupted(proc, err, sig)
    assert workspace(repo) == before
    assert refs(repo) == refs_before
    assert lock_files(repo) == []
    again = exptui(repo, *command, EXPTUI_LOCK_WAIT="0")   # the lock is free: nothing of the waiter is left
    assert again.returncode == 0, again.stderr


def _start_paused_apply(repo: Path, tmp_path: Path, name: str) -> tuple[subprocess.Popen[str], Path]:
    mark, release = tmp_path / "place.mark", tmp_path / "place.release"
    proc = popen(repo, [sys.executable, DRIVER, "apply", name], REL_PLACE_MARK=str(mark), REL_RELEASE=str(release))
    if not wait_for(lambda: mark.exists() or proc.poll() is not None, timeout=120) or proc.poll() is not None:
        stop(proc, release)
        pytest.fail(f"apply never reached its first cached output: {proc.returncode}")
    return proc, release


@SIGNALS
def test_apply_interrupted_while_restoring_cached_outs_names_the_command_that_completes_it(
        repo: Path, tmp_path: Path, sig: int) -> None:
    """`apply` writes the experiment's params, dvc.lock and metrics together (signals held), then restores its
    cached outs (interruptible: they may be large). A signal there leaves the files of the experiment beside the
    old output; the command says so and names `exptui apply NAME`, which completes it."""
    assert exptui(repo, "run", "-q", "--temp", "-S", "p.x=5", "-n", "five").returncode == 0
    old_out = (repo / "out.txt").read_text()
    proc, release = _start_paused_apply(repo, tmp_path, "five")
    try:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        stop(proc, release)
    interrupted(proc, err, sig)
    assert "exptui apply five" in err, err           # the one command that completes it
    assert yaml.safe_load((repo / "params.yaml").read_text())["p"]["x"] == 5
    assert (repo / "out.txt").read_text() == old_out  # not restored yet, and not half-written
    assert [p.name for p in repo.iterdir() if p.name.endswith(".tmp")] == []
    assert lock_files(repo) == []
    again = exptui(repo, "apply", "five", EXPTUI_LOCK_WAIT="0")
    assert again.returncode == 0, again.stderr
    assert (repo / "out.txt").read_text() == "x=5 y=36\n"
    assert yaml.safe_load((repo / "params.yaml").read_text())["p"]["x"] == 5
    assert git(repo, "show", f"{experiments(repo)['five']}:metrics.json") == (repo / "metrics.json").read_text()


def test_apply_released_after_the_pause_completes(repo: Path, tmp_path: Path) -> None:
    """The driver's pause changes nothing by itself: released, the same apply restores the output and exits 0."""
    assert exptui(repo, "run", "-q", "--temp", "-S", "p.x=5", "-n", "five").returncode == 0
    proc, release = _start_paused_apply(repo, tmp_path, "five")
    release.touch()
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        stop(proc)
    assert proc.returncode == 0, err
    assert (repo / "out.txt").read_text() == "x=5 y=36\n"
    assert (repo / "params.yaml").read_text() != PARAMS


def test_a_terminal_ctrl_c_while_run_records_still_records_the_experiment(repo: Path, tmp_path: Path) -> None:
    """Ctrl-C at a terminal reaches the whole foreground process group at once. While `run` records (its ref
    transaction held open by a hook), exptui holds the signal until the record is complete; the git child (and
    its hook) must not be killed by the same keypress, or the experiment the stages just produced is lost."""
    hooks = install_hook(repo, tmp_path, "refs/exps/")
    proc = popen(repo, [EXPTUI, "run", "-q", "-S", "p.x=5", "-n", "held"], own_group=True, **hooks)
    try:
        assert wait_for(Path(hooks["HOOK_MARK"]).exists, timeout=120)
        os.killpg(proc.pid, signal.SIGINT)
        Path(hooks["HOOK_RELEASE"]).touch()
        _, err = proc.communicate(timeout=120)
    finally:
        stop(proc, Path(hooks["HOOK_RELEASE"]))
    interrupted(proc, err, signal.SIGINT)
    assert "Recorded experiment held" in err, err
    assert list(experiments(repo)) == ["held"]
    assert yaml.safe_load((repo / "params.yaml").read_text())["p"]["x"] == 5   # kept with the experiment
    assert lock_files(repo) == []
    assert git(repo, "fsck", "--no-progress", "--no-dangling") == ""


def test_a_terminal_ctrl_c_while_star_writes_its_note_leaves_no_lock(repo: Path, tmp_path: Path) -> None:
    """The other side: a git write exptui does not hold (a star's notes update) is still stopped on Ctrl-C, by
    exptui (SIGTERM, waited for), and leaves no lock file and no scratch ref."""
    assert exptui(repo, "run", "-q", "-S", "p.x=3", "-n", "keep").returncode == 0
    hooks = install_hook(repo, tmp_path, "refs/notes/exptui")
    proc = popen(repo, [EXPTUI, "star", "keep"], own_group=True, **hooks)
    try:
        assert wait_for(Path(hooks["HOOK_MARK"]).exists, timeout=120)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        stop(proc, Path(hooks["HOOK_RELEASE"]))
    interrupted(proc, err, signal.SIGINT)
    assert lock_files(repo) == []
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/notes/") == ""


REMOTE_GIT = """
import sys
from pathlib import Path
from exptui.execution.remote_task import _git
try:
    _git(Path(sys.argv[1]), "update-ref", "HEAD", sys.argv[2])
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def test_an_interrupted_dask_task_git_write_leaves_no_lock_in_its_run_dir(tmp_path: Path) -> None:
    """A Dask task's git (`remote_task._git`: add, write-tree, commit-tree, update-ref in its run dir) interrupted
    while its ref transaction is in flight: git gets SIGTERM and removes the ref's lock, the ref is unchanged.
    With `subprocess.run`, as before 2026-12-07, git was SIGKILLed and `refs/heads/main.lock` stayed."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    git(run_dir, "init", "-q", "-b", "main")
    (run_dir / "f").write_text("1\n")
    git(run_dir, "add", "f")
    git(run_dir, "commit", "-q", "-m", "one")
    first = git(run_dir, "rev-parse", "HEAD").strip()
    (run_dir / "f").write_text("2\n")
    git(run_dir, "commit", "-q", "-am", "two")
    hooks = install_hook(run_dir, tmp_path, "refs/heads/main")
    proc = popen(run_dir, [sys.executable, "-c", REMOTE_GIT, str(run_dir), first], **hooks)
    try:
        assert wait_for(Path(hooks["HOOK_MARK"]).exists, timeout=120)
        assert lock_files(run_dir)   # the transaction is in flight: the ref's lock is taken
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        stop(proc, Path(hooks["HOOK_RELEASE"]))
    assert proc.returncode == 130 and out == "interrupted\n", (out, err)
    assert lock_files(run_dir) == []
    assert git(run_dir, "rev-parse", "HEAD").strip() != first   # not half-moved: the update did not happen
