"""Wording of CLI messages that misled (issue 11): each through the real `exptui` executable on a real repo."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import git
from tests.test_tui_screens import demo_template, repo  # noqa: F401 - fixtures

EXE = Path(sys.executable).parent / "exptui"


def exptui(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), "-C", str(cwd), *args], capture_output=True, text=True, timeout=120)


def test_ui_refuses_a_negative_poll_interval(repo: Path) -> None:  # noqa: F811
    proc = exptui(repo, "ui", "--poll", "-1")
    assert proc.returncode == 2 and "--poll" in proc.stderr and "Traceback" not in proc.stderr


def test_init_does_not_ask_for_a_dvc_yaml_that_exists(git_repo: Path) -> None:
    (git_repo / "dvc.yaml").write_text("stages: {}\n")
    proc = exptui(git_repo, "init")
    assert proc.returncode == 0, proc.stderr
    assert "write dvc.yaml" not in proc.stdout and "run 'exptui repro'" in proc.stdout
    (git_repo / ".dvc").rename(git_repo / "old-dvc")
    (git_repo / "dvc.yaml").unlink()
    git(git_repo, "rm", "-rq", "--cached", ".dvc")
    assert "write dvc.yaml" in exptui(git_repo, "init").stdout


def test_a_missing_params_file_does_not_blame_a_colon_that_was_not_typed(repo: Path) -> None:  # noqa: F811
    proc = exptui(repo, "run", "--queue", "-S", "nosuch.yaml:train.seed=1")
    assert proc.returncode != 0 and "nosuch.yaml" in proc.stderr and "FILE:key=value" in proc.stderr
    assert "before ':'" not in proc.stderr and "Traceback" not in proc.stderr


def test_diff_of_a_queued_entry_does_not_call_its_missing_metrics_changed(repo: Path) -> None:  # noqa: F811
    assert exptui(repo, "run", "--queue", "-S", "train.max_depth=4", "-n", "waiting").returncode == 0
    proc = exptui(repo, "diff", "waiting")
    assert proc.returncode == 0, proc.stderr
    assert "train.max_depth" in proc.stdout
    assert "f1" not in proc.stdout and "accuracy" not in proc.stdout
    assert "waiting is queued: its metrics are not computed yet" in proc.stderr


def test_a_demo_inside_a_checkout_is_excluded_from_that_checkouts_git_status(git_repo: Path) -> None:
    from exptui.demo import ignore_in_enclosing_repo

    dest = git_repo / "exptui-demo"
    dest.mkdir()
    git(dest, "init", "-q")                     # the demo is its own repository
    assert "exptui-demo" in git(git_repo, "status", "--porcelain")
    exclude = ignore_in_enclosing_repo(dest)
    assert exclude is not None and exclude.name == "exclude"
    assert git(git_repo, "status", "--porcelain").strip() == ""
    assert ignore_in_enclosing_repo(dest) is None          # listed once
