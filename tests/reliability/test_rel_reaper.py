"""One mechanism kills a dead runner's stages (issue 10's "one source of truth", exptui.pipeline.group_reaper):
the stage's process group (dash forks `python` instead of exec'ing it) and every process carrying the runner's
environment tag (a double-forked daemon leaves the group, not the tag). Proved here for the workspace runner;
tests/test_queue_workers.py proves it for queue workers, tests/test_pipeline_cli.py for dash and bash.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from rel_support import DAEMON, EXPTUI, env, git, make_repo, wait_for


def _dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    (repo / "daemon.py").write_text(DAEMON)
    text = (repo / "dvc.yaml").read_text().replace("cmd: python stage.py", "cmd: python daemon.py && python stage.py")
    (repo / "dvc.yaml").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a stage that starts a daemon")
    return repo


@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
def test_a_sigkilled_repro_takes_its_stage_and_the_stages_daemon_with_it(repo: Path, tmp_path: Path,
                                                                        shell: str) -> None:
    if not Path(shell).exists():
        pytest.skip(f"{shell} is not installed")
    daemon_file, mark = tmp_path / "daemon.pid", tmp_path / "stage.pid"
    proc = subprocess.Popen([EXPTUI, "repro", "-q", "-f"], cwd=repo, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env(SHELL=shell, REL_DAEMON=str(daemon_file),
                                                               REL_MARK=str(mark), REL_RELEASE=str(tmp_path / "never")))
    assert wait_for(lambda: mark.exists() and mark.read_text() and daemon_file.exists() and daemon_file.read_text())
    stage, daemon = int(mark.read_text()), int(daemon_file.read_text())
    assert not _dead(stage) and not _dead(daemon)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert wait_for(lambda: _dead(stage), timeout=10), "the stage outlived its SIGKILLed exptui"
    assert wait_for(lambda: _dead(daemon), timeout=10), "the stage's daemon outlived its SIGKILLed exptui"


def test_a_clean_repro_leaves_what_the_user_started_running(repo: Path, tmp_path: Path) -> None:
    """As `dvc repro`: a daemon a stage starts on purpose outlives a repro that ended normally."""
    daemon_file = tmp_path / "daemon.pid"
    proc = subprocess.run([EXPTUI, "repro", "-q", "-f"], cwd=repo, capture_output=True, text=True, timeout=120,
                          env=env(REL_DAEMON=str(daemon_file)))
    assert proc.returncode == 0, proc.stderr
    daemon = int(daemon_file.read_text())
    try:
        assert not _dead(daemon)
    finally:
        os.kill(daemon, signal.SIGKILL)
