"""Issue 9 item 1: the workspace lock (DVC's `.dvc/tmp/lock` flock) is held by `run`, `repro`, `apply` and the
snapshots of `run --queue` / `run --temp`, from before any workspace file is written.

A command that finds it taken waits a bounded time (`EXPTUI_LOCK_WAIT`, 3 s by default, as DVC), then fails with
one line naming the holder's pid, having changed nothing. `dvc` and `exptui` exclude each other.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rel_support import (
    has_open,
    PARAMS, env, error_lines, experiments, exptui, git, make_repo, start, wait_for,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def _hold(repo: Path, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    """Start an `exptui run` whose stage stays in flight until the returned release file is created; return once
    the stage is running."""
    mark = tmp_path / "stage.started"
    release = tmp_path / "stage.release"
    mark.unlink(missing_ok=True)
    release.unlink(missing_ok=True)
    proc = start(repo, "run", "-q", *args, REL_MARK=str(mark), REL_RELEASE=str(release))
    assert wait_for(mark.exists), proc.communicate()
    return proc, release


def test_queueing_during_a_run_never_snapshots_its_in_flight_params(repo: Path, tmp_path: Path) -> None:
    """The run edits p.x and fails (so its params are put back); an entry queued meanwhile must carry the
    committed p.x, never the run's in-flight value."""
    run, release = _hold(repo, tmp_path, "-S", "p.x=66", "-S", "p.fail=true", "-n", "doomed")
    queued = start(repo, "run", "--queue", "-S", "p.delay=0", "-n", "q1", EXPTUI_LOCK_WAIT="60")
    # the queueing process either snapshots at once (no lock: the bug) or waits on the lock file; only then does
    # the run go on (and fail, putting its params back)
    lock = repo / ".dvc" / "tmp" / "lock"
    assert wait_for(lambda: queued.poll() is not None or has_open(queued.pid, lock))
    release.touch()
    _out, err = run.communicate(timeout=120)
    _qout, qerr = queued.communicate(timeout=120)
    assert run.returncode != 0 and "Traceback" not in err
    assert queued.returncode == 0, qerr
    assert (repo / "params.yaml").read_text() == PARAMS          # the failed run put its params back
    entry = git(repo, "for-each-ref", "--format=%(objectname)", "refs/exptui/queue/").split()
    assert len(entry) == 1
    snap = yaml.safe_load(git(repo, "show", f"{entry[0]}:params.yaml"))["p"]
    assert snap["x"] == 1 and snap["fail"] is False and snap["delay"] == 0, snap


def test_a_second_command_waits_then_fails_in_one_line_naming_the_holder(repo: Path, tmp_path: Path) -> None:
    assert exptui(repo, "run", "-q", "-S", "p.x=2", "-S", "p.delay=0", "-n", "earlier").returncode == 0
    run, release = _hold(repo, tmp_path, "-S", "p.x=7", "-n", "holder")
    before = (repo / "params.yaml").read_bytes()
    commands = [
        ("run", "-q", "-S", "p.x=8", "-n", "second"),
        ("run", "--queue", "-S", "p.x=9"),
        ("run", "--temp", "-q", "-S", "p.x=10"),
        ("repro",),
        ("apply", "earlier"),
    ]
    for args in commands:
        proc = exptui(repo, *args, EXPTUI_LOCK_WAIT="0.3")
        lines = error_lines(proc.stderr)
        assert proc.returncode == 1 and len(lines) == 1, (args, proc.stderr)
        assert lines[0].startswith(f"error: another exptui/dvc command is running in this workspace "
                                   f"(pid {run.pid}): wait for it"), (args, lines)
        assert (repo / "params.yaml").read_bytes() == before, args    # nothing written meanwhile
    release.touch()
    _out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert set(experiments(repo)) == {"earlier", "holder"}
    assert not git(repo, "for-each-ref", "refs/exptui/queue/")


def test_bad_lock_wait_setting_is_one_line(repo: Path) -> None:
    proc = exptui(repo, "repro", EXPTUI_LOCK_WAIT="soon")
    assert proc.returncode == 1
    assert error_lines(proc.stderr) == ["error: EXPTUI_LOCK_WAIT='soon' is not a number of seconds; unset it or "
                                        "give e.g. EXPTUI_LOCK_WAIT=30"]


def test_dvc_and_exptui_exclude_each_other(repo: Path, tmp_path: Path) -> None:
    """Real DVC: its repository lock (zc.lockfile on .dvc/tmp/lock) held by a dvc process stops exptui, and an
    exptui run stops `dvc repro`."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from dvc.lock import Lock; lock = Lock(sys.argv[1]); lock.lock(); "
         "print('locked', flush=True); time.sleep(60)", str(repo / ".dvc" / "tmp" / "lock")],
        stdout=subprocess.PIPE, text=True, env=env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        before = (repo / "params.yaml").read_bytes()
        proc = exptui(repo, "run", "-q", "-S", "p.x=3", EXPTUI_LOCK_WAIT="0.2")
        assert proc.returncode == 1 and len(error_lines(proc.stderr)) == 1, proc.stderr
        assert f"(pid {holder.pid})" in proc.stderr
        assert (repo / "params.yaml").read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
    run, release = _hold(repo, tmp_path, "-S", "p.x=4", "-n", "mine")
    dvc = subprocess.run([str(Path(sys.executable).parent / "dvc"), "repro"], cwd=repo, capture_output=True,
                         text=True, env=env(), timeout=120)
    release.touch()
    assert dvc.returncode != 0 and "Unable to acquire lock" in dvc.stderr, dvc.stderr
    _out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert "mine" in experiments(repo)


def test_params_edited_while_a_stage_runs_never_reach_the_run_cache(repo: Path, tmp_path: Path) -> None:
    """Nothing that takes the lock can change params mid-run, but an editor can: the stage then computes from the
    new value while the run started with the old one. The run cache must not keep that output under either."""
    from rel_support import cache_object, expected_y, run_cache_entries

    (repo / "params.yaml").write_text(PARAMS.replace("x: 1", "x: 9").replace("delay: 0.3", "delay: 0"))
    mark, release = tmp_path / "stage.started", tmp_path / "stage.release"
    proc = start(repo, "repro", "-q", REL_MARK=str(mark), REL_RELEASE=str(release))
    assert wait_for(mark.exists), proc.communicate()
    (repo / "params.yaml").write_text(PARAMS.replace("x: 1", "x: 10").replace("delay: 0.3", "delay: 0"))
    release.touch()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    for entry in run_cache_entries(repo):
        x = entry["params"]["params.yaml"]["p.x"]
        out = next(o for o in entry["outs"] if o["path"] == "out.txt")
        assert cache_object(repo, out["md5"]).decode() == f"x={x} y={expected_y(x)}\n", entry
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["train"]
    assert lock["params"]["params.yaml"]["p.x"] == 10                    # as DVC: the params as they are now
    assert (repo / "out.txt").read_text() == f"x=10 y={expected_y(10)}\n"
