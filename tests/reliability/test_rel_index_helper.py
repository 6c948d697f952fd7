"""The cold-build helper (`exptui.store.index_worker`) never outlives its parent, and what a killed build leaves is
never trusted.

A real parent (`cold_build_driver.py show --json`: the real CLI, thresholds lowered so a 30-experiment repo gets a
helper) is stopped while its helper is held in the middle of its chunk: a `git` wrapper first on PATH holds the
helper's `git cat-file` (and only the helper's: its parent process runs `exptui.store.index_worker`) until the test
releases it. Before 2026-12-07 the helper of a SIGKILLed parent read on to the end of its chunk (here: for ever,
held) and stopped only when it wrote its answer into the broken pipe; now it exits as soon as its stdin, which the
parent keeps open, reaches end-of-file. The helper is polled until it is gone; nothing is timed.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rel_support import env, git, wait_for
from tests.test_store_support import import_experiments

DRIVER = str(Path(__file__).with_name("cold_build_driver.py"))

#: holds a `git cat-file` started by the helper until $REL_RELEASE exists, after writing the helper's pid to
#: $REL_HELPER_MARK; every other git command goes straight to the real git
WRAPPER = """#!/bin/sh
case "$*" in *cat-file*)
  if tr '\\000' ' ' < /proc/$PPID/cmdline 2>/dev/null | grep -q index_worker; then
    echo $PPID > "$REL_HELPER_MARK.$$" && mv "$REL_HELPER_MARK.$$" "$REL_HELPER_MARK"
    while [ ! -e "$REL_RELEASE" ]; do sleep 0.02; done
  fi;;
esac
exec {git} "$@"
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the wrapper reads /proc")


def _gone(pid: int) -> bool:
    """No such process, or a zombie (dead, not yet reaped by whoever adopted it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".dvc").mkdir()
    (path / ".dvc" / "config").write_text("")
    (path / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    params: [train.lr]\n"
                                   "    metrics:\n      - metrics.json:\n          cache: false\n")
    (path / "params.yaml").write_text("train:\n  lr: 0.1\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "baseline")
    base = git(path, "rev-parse", "HEAD").strip()
    import_experiments(path, base, [(f"e{i}", f"train:\n  lr: {i / 100}\n".encode(),
                                     f'{{"acc": {i / 1000}}}'.encode()) for i in range(30)], 1_700_000_000)
    return path


def _show(repo: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "exptui", "show", "--json"], cwd=repo, env=env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "ctrl-c"])
def test_a_killed_parent_stops_its_helper_mid_chunk_and_nothing_half_built_is_trusted(tmp_path: Path,
                                                                                     how: str) -> None:
    repo = _repo(tmp_path / "repo")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "git"
    wrapper.write_text(WRAPPER.format(git=shutil.which("git")))
    wrapper.chmod(0o755)
    mark, release = tmp_path / "helper.pid", tmp_path / "release"
    run_env = env(REL_HELPER_MARK=str(mark), REL_RELEASE=str(release))
    run_env["PATH"] = f"{bindir}{os.pathsep}{run_env['PATH']}"
    parent = subprocess.Popen([sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, "
                               "signal.SIG_DFL); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
                               DRIVER, "show", "--json"], cwd=repo, env=run_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert wait_for(mark.exists, timeout=120), "the helper never asked git for its chunk"
        helper = int(mark.read_text())
        assert not _gone(helper)
        if how == "ctrl-c":   # a terminal's Ctrl-C: the whole foreground group (the parent and its helper)
            os.killpg(parent.pid, signal.SIGINT)
        else:
            os.kill(parent.pid, getattr(signal, how))
        parent.wait(timeout=120)
        # the helper is still held inside its chunk: only the end of its stdin can stop it now
        assert wait_for(lambda: _gone(helper), timeout=60), f"helper {helper} outlived its parent ({how})"
    finally:
        release.touch()   # the held git wrappers go on (into a closed pipe) and end
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    if how != "SIGKILL":
        assert "Traceback" not in parent.stderr.read().decode()   # type: ignore[union-attr]
    # the next listing (serial: the thresholds are the real ones) trusts no half-built state: the same records as
    # a build from nothing, and no temp file of the dead helper or parent left in the index
    index = repo / ".git" / "exptui" / "index"
    after = _show(repo)
    assert not [p.name for p in index.glob(".*.tmp")]
    shutil.rmtree(index)
    assert _show(repo) == after
    assert after.count('"rev"') >= 31


def test_temp_files_of_dead_index_writers_are_removed_by_the_next_write(tmp_path: Path) -> None:
    """A helper or an index write SIGKILLed mid-write leaves a temp file named with its pid: the next write of the
    index removes it at once (before: only when an hour old); a live writer's stays."""
    repo = _repo(tmp_path / "repo")
    _show(repo)
    index = repo / ".git" / "exptui" / "index"
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = os.getppid()
    names = [f".helper-{dead.pid}-0.tmp", f"..helper-{dead.pid}-1.tmp.{dead.pid}.x1y2.tmp",
             f".seg-000009.bin.{dead.pid}.abcd.tmp", f".helper-{live}-0.tmp", f".notes.bin.{live}.abcd.tmp"]
    for name in names:
        (index / name).write_bytes(b"half a segment")
    import_experiments(repo, git(repo, "rev-parse", "HEAD").strip(),
                       [("late", b"train:\n  lr: 1\n", b'{"acc": 1}')], 1_800_000_000)
    _show(repo)   # reads the new commit and writes the index
    assert sorted(p.name for p in index.glob(".*.tmp")) == sorted(names[3:])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _is_helper(pid: int) -> bool:
    try:
        return b"index_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.mark.parametrize("seed", range(int(os.environ.get("EXPTUI_KILL_SEEDS", "8"))))
def test_a_parent_sigkilled_anywhere_in_a_cold_build_leaves_no_helper_and_a_right_index(tmp_path: Path,
                                                                                      seed: int) -> None:
    """The same without a held moment: the parent SIGKILLed at a random moment of a cold build of 300 commits
    (60 chunks of 5, half of them for the helper), as often as its helper is seen running."""
    import random

    repo = _repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD").strip()
    import_experiments(repo, base, [(f"m{i}", f"train:\n  lr: {i / 1000}\n".encode(),
                                     f'{{"acc": {i / 10000}}}'.encode()) for i in range(270)], 1_750_000_000)
    rng = random.Random(seed)
    parent = subprocess.Popen([sys.executable, DRIVER, "show", "--json"], cwd=repo, env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    helpers: set[int] = set()
    try:
        # the helper is found as a child of the parent, and the parent killed a random number of polls later
        wait_for(lambda: bool(helpers.update(c for c in _children(parent.pid) if _is_helper(c)) or helpers)
                 or parent.poll() is not None, timeout=120)
        for _ in range(rng.randrange(0, 40)):
            if parent.poll() is not None:
                break
            helpers.update(c for c in _children(parent.pid) if _is_helper(c))
            wait_for(lambda: False, timeout=0.01)   # one poll interval: where in the build the kill lands
        parent.kill()
        parent.wait(timeout=60)
        for helper in helpers:
            assert wait_for(lambda: _gone(helper), timeout=60), f"helper {helper} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    index = repo / ".git" / "exptui" / "index"
    after = _show(repo)
    assert not [p.name for p in index.glob(".*.tmp")]
    shutil.rmtree(index)
    assert _show(repo) == after and after.count('"rev"') == 302


def test_a_zombie_is_dead_to_every_liveness_check() -> None:
    """A process that ended but was not reaped (here: by this test; after a kill: by a pid 1 that does not reap)
    is dead to the temp-file sweeps and to the queue's liveness checks."""
    from exptui.store.claims import ProcessIdentity, pid_alive, process_start_time

    child = subprocess.Popen(["true"])
    try:
        assert wait_for(lambda: _gone(child.pid), timeout=60)   # a zombie now: `true` ended, nobody waited
        assert not pid_alive(child.pid) and process_start_time(child.pid) is None
        me = ProcessIdentity.current()
        assert ProcessIdentity(child.pid, "123", me.host, "t").alive() is False
        assert pid_alive(os.getpid()) and me.alive() is True
    finally:
        child.wait()
