"""SIGTERM and SIGHUP are Ctrl-C for every command, and no interruption leaves a half-written store.

Each test starts the real command as a subprocess, waits for a marker that proves the command is inside its work
(a stage's `REL_MARK` file, or a git `reference-transaction` hook that holds a ref transaction open in its
"prepared" state, with the ref's lock file taken), sends the signal, and then checks what is left: the one
line, the exit status 128+signal, the params, the refs, and that no `*.lock` file remains in `.git`.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
import yaml

from rel_support import (EXPTUI, PARAMS, env, error_lines, experiments, exptui, git, install_hook, make_repo, start,
                         wait_for)

SIGNALS = pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def lock_files(repo: Path) -> list[str]:
    return sorted(str(p.relative_to(repo)) for p in (repo / ".git").rglob("*.lock"))


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = proc.communicate(timeout=120)
    return out, err


def assert_interrupted(proc: subprocess.Popen[str], err: str, sig: int) -> None:
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert "Traceback" not in err and "Aborted" not in err, err
    assert error_lines(err)[-1] == f"Interrupted by {signal.Signals(sig).name}.", err


@SIGNALS
def test_run_mid_stage_stops_the_stage_and_puts_the_params_back(repo: Path, tmp_path: Path, sig: int) -> None:
    mark, release = tmp_path / "stage.mark", tmp_path / "stage.release"
    proc = start(repo, "run", "-S", "p.x=5", "-n", "cut", REL_MARK=str(mark), REL_RELEASE=str(release))
    assert wait_for(lambda: mark.exists() and mark.read_text() != "")
    stage = int(mark.read_text())
    proc.send_signal(sig)
    _, err = finish(proc)
    assert_interrupted(proc, err, sig)
    assert (repo / "params.yaml").read_text() == PARAMS          # put back, comment and all
    assert experiments(repo) == {}
    assert wait_for(lambda: not psutil.pid_exists(stage) or psutil.Process(stage).status() == psutil.STATUS_ZOMBIE)
    assert lock_files(repo) == []
    again = exptui(repo, "run", "-q", "-S", "p.x=5", "-n", "cut")   # the workspace lock was released
    assert again.returncode == 0, again.stderr


def test_run_signalled_twice_still_puts_every_params_file_back(repo: Path, tmp_path: Path) -> None:
    """Two SIGTERMs in a row (the second one is "at once"): the stage is killed instead of given its grace
    period, and the params files (two of them here) are still all put back: their restore holds signals."""
    (repo / "extra.yaml").write_text("# second params file\nq: 1\n")
    git(repo, "add", "extra.yaml")
    git(repo, "commit", "-q", "-m", "extra params file")
    mark, release = tmp_path / "stage.mark", tmp_path / "stage.release"
    proc = start(repo, "run", "-S", "p.x=5", "-S", "extra.yaml:q=2", REL_MARK=str(mark), REL_RELEASE=str(release))
    assert wait_for(lambda: mark.exists() and mark.read_text() != "")
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)
    _, err = finish(proc)
    assert_interrupted(proc, err, signal.SIGTERM)
    assert (repo / "params.yaml").read_text() == PARAMS
    assert (repo / "extra.yaml").read_text() == "# second params file\nq: 1\n"
    assert experiments(repo) == {} and lock_files(repo) == []


@pytest.mark.parametrize("command", [["repro", "-f"], ["run", "--temp", "-S", "p.x=6"], ["exp", "save", "-f"]],
                         ids=["repro", "run-temp", "exp-save"])
def test_other_commands_exit_128_plus_the_signal_in_one_line(repo: Path, tmp_path: Path, command: list[str]) -> None:
    mark, release = tmp_path / "stage.mark", tmp_path / "stage.release"
    if command[0] == "exp":  # exp save runs no stage: hold its ref write instead
        hooks = install_hook(repo, tmp_path, "refs/exps/")
        (repo / "params.yaml").write_text(PARAMS.replace("x: 1", "x: 9"))
        exptui(repo, "repro", "-q")
        proc = start(repo, *command, "-n", "saved", **hooks)
        mark, release = Path(hooks["HOOK_MARK"]), Path(hooks["HOOK_RELEASE"])
    else:
        proc = start(repo, *command, REL_MARK=str(mark), REL_RELEASE=str(release))
    assert wait_for(mark.exists)
    proc.send_signal(signal.SIGTERM)
    if command[0] == "exp":
        release.touch()   # the record was under way: it completes, then the signal is delivered
    _, err = finish(proc)
    release.touch()
    assert_interrupted(proc, err, signal.SIGTERM)
    assert lock_files(repo) == []
    if command[0] == "exp":
        assert list(experiments(repo)) == ["saved"]
        assert "Experiment has been saved as: saved (before the interruption)" in err, err
    if command[:2] == ["run", "--temp"]:
        assert experiments(repo) == {}
        assert (repo / "params.yaml").read_text() == PARAMS
        runs = repo / ".git" / "exptui" / "runs"
        assert not runs.exists() or [p.name for p in runs.iterdir()] == []   # the isolated run dir is gone
    assert git(repo, "fsck", "--no-progress", "--no-dangling") == ""


def test_a_signal_while_run_records_is_delivered_once_the_experiment_is_recorded(repo: Path, tmp_path: Path) -> None:
    """The ref transaction is held open by a hook; SIGTERM arrives then. The record completes (the signal is held),
    the params the experiment ran with stay in the workspace, and only then the command exits 143."""
    hooks = install_hook(repo, tmp_path, "refs/exps/")
    proc = start(repo, "run", "-q", "-S", "p.x=5", "-n", "held", **hooks)
    assert wait_for(Path(hooks["HOOK_MARK"]).exists)
    assert lock_files(repo)  # the ref's lock is taken: the transaction is in flight
    proc.send_signal(signal.SIGTERM)
    Path(hooks["HOOK_RELEASE"]).touch()
    out, err = finish(proc)
    assert_interrupted(proc, err, signal.SIGTERM)
    assert "Recorded experiment held" in err, err
    assert list(experiments(repo)) == ["held"]
    assert yaml.safe_load(git(repo, "show", f"{experiments(repo)['held']}:params.yaml"))["p"]["x"] == 5
    assert yaml.safe_load((repo / "params.yaml").read_text())["p"]["x"] == 5   # kept with the experiment
    assert lock_files(repo) == []


@SIGNALS
def test_an_interrupted_git_write_leaves_no_lock_and_the_repo_usable(repo: Path, tmp_path: Path, sig: int) -> None:
    """`star` is interrupted while its `git notes` child holds a notes ref's lock: git gets SIGTERM and removes the
    lock (subprocess.run's SIGKILL would have left `refs/notes/exptui-scratch-….lock` behind), the scratch ref is
    deleted, and the next `star` works."""
    assert exptui(repo, "run", "-q", "-S", "p.x=3", "-n", "keep").returncode == 0
    hooks = install_hook(repo, tmp_path, "refs/notes/exptui")
    proc = start(repo, "star", "keep", **hooks)
    assert wait_for(Path(hooks["HOOK_MARK"]).exists)
    (held,) = lock_files(repo)
    assert held.startswith(".git/refs/notes/exptui"), held
    proc.send_signal(sig)
    _, err = finish(proc)
    Path(hooks["HOOK_RELEASE"]).touch()   # the orphaned hook ends
    assert_interrupted(proc, err, sig)
    assert lock_files(repo) == []
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/notes/") == ""   # no scratch ref, no star
    (repo / ".git" / "hooks" / "reference-transaction").unlink()
    again = exptui(repo, "star", "keep")
    assert again.returncode == 0, again.stderr
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/notes/") == "refs/notes/exptui\n"
    assert git(repo, "fsck", "--no-progress", "--no-dangling") == ""


def _dashboard_in_a_pty(repo: Path, sig: int, early: bool = False) -> tuple[int, bytes, bytes]:
    """`exptui ui` on a pseudo-terminal: wait until it has drawn (`early`: until it has switched to the alternate
    screen, which may be before or after the app's mount), send `sig`, read to the end. Returns the exit status,
    the output before the signal and the output after it."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: the dashboard on a terminal
        try:
            os.chdir(repo)
            os.execve(EXPTUI, [EXPTUI, "ui"], env(TERM="xterm-256color"))
        finally:
            os._exit(127)
    before, after = b"", b""
    sent = False
    deadline = time.monotonic() + 90   # a guard against a hang, not a timing assertion
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                if sent:
                    after += chunk
                else:
                    before += chunk
            # the title is drawn after the app's mount, where its handlers go in
            if not sent and b"\x1b[?1049h" in before and (early or b"exptui" in before.split(b"\x1b[?1049h", 1)[1]):
                os.kill(pid, sig)
                sent = True
        status = None
        end = time.monotonic() + 30
        while status is None and time.monotonic() < end:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
            else:
                time.sleep(0.05)
        if status is None:  # our own child: stop it and fail
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the dashboard did not exit; output: {(before + after)[-500:]!r}")
    finally:
        os.close(fd)
    assert sent, before[-1000:]
    return os.waitstatus_to_exitcode(status), before, after


@SIGNALS
def test_the_dashboard_exits_cleanly_and_a_running_experiment_is_recorded(repo: Path, tmp_path: Path,
                                                                          sig: int) -> None:
    """SIGTERM/SIGHUP to `exptui ui` while a queued experiment runs: the app exits through Textual (alternate
    screen left, mouse reporting off), one line, 128+signal; the detached worker goes on and records it."""
    import json

    mark, release = tmp_path / "stage.mark", tmp_path / "stage.release"
    assert exptui(repo, "run", "--queue", "-S", "p.x=4", "-n", "bg").returncode == 0
    assert exptui(repo, "queue", "start", REL_MARK=str(mark), REL_RELEASE=str(release)).returncode == 0
    assert wait_for(mark.exists)
    code, before, after = _dashboard_in_a_pty(repo, sig)
    text = after.decode("utf-8", "replace")
    assert code == 128 + sig, text[-1000:]
    assert b"\x1b[?1049l" in after and b"\x1b[?1000l" in after, after[-500:]   # the terminal was restored
    assert "Traceback" not in text and "Aborted" not in text, text[-1000:]
    assert f"Interrupted by {signal.Signals(sig).name}." in text
    release.touch()

    def recorded() -> bool:
        entries = json.loads(exptui(repo, "queue", "status", "--json").stdout)["entries"]
        return [e["status"] for e in entries] == ["success"]

    assert wait_for(recorded, timeout=120, interval=0.2)
    assert list(experiments(repo)) == ["bg"]
    assert lock_files(repo) == []


@SIGNALS
def test_a_signal_while_the_dashboard_starts_is_a_clean_exit_too(repo: Path, sig: int) -> None:
    """Sent as soon as the terminal is switched to the alternate screen (the app may not be mounted yet): the
    signal is noted until the mount, then the same clean exit."""
    code, _before, after = _dashboard_in_a_pty(repo, sig, early=True)
    text = after.decode("utf-8", "replace")
    assert code == 128 + sig, text[-1000:]
    assert b"\x1b[?1049l" in after, after[-500:]
    assert "Traceback" not in text and f"Interrupted by {signal.Signals(sig).name}." in text, text[-1000:]


def test_held_signals_deliver_the_first_signal_once_at_the_outermost_end() -> None:
    """In this process: signals sent inside a held block (nested too) reach the handler that was in place only when
    the outermost block ends, once."""
    from exptui.store.signals import held_signals

    got: list[int] = []
    old = signal.signal(signal.SIGTERM, lambda signum, _frame: got.append(signum))
    try:
        with held_signals():
            with held_signals():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)
                assert got == []
            assert got == []      # the inner block hands it to the outer one, still held
        assert got == [signal.SIGTERM]                           # the first one, once
    finally:
        signal.signal(signal.SIGTERM, old)
