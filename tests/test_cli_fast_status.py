"""The click-free ``exptui queue status`` (`exptui.cli.fast`): the same bytes, the same errors and exit codes as
the click command, and click never imported on the way (issue 13: 10,000 queued in ≤ 0.2 s)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


try:  # tests/ may or may not be a package
    from tests.test_store_support import exptui, fail_first_cancel_second, git, make_pipeline
except ImportError:  # pragma: no cover
    from test_store_support import exptui, fail_first_cancel_second, git, make_pipeline

_CLICK = ("import sys\n"
          "from exptui.cli.errors import run_guarded\n"
          "from exptui.cli.group import cli\n"
          "sys.exit(run_guarded(cli, sys.argv[1:]))\n")
_FAST = ("import sys\n"
         "from exptui.cli import main\n"
         "try:\n"
         "    main(sys.argv[1:])\n"
         "finally:\n"
         "    sys.stderr.write('CLICK ' + str('click' in sys.modules))\n")


def _run(code: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("fast") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    make_pipeline(repo)
    exptui(repo, "run", "--queue", "-S", "train.lr=0.1,0.2,0.3,0.4")
    exptui(repo, "run", "--queue", "-n", "tab\tand\x1b[31mred", "-S", "train.lr=0.9", check=False)
    fail_first_cancel_second(repo)
    return repo


@pytest.mark.parametrize("args,where", [(["queue", "status"], "repo"), (["-C", "REPO", "queue", "status"], "tmp"),
                                        (["--repo", "REPO", "queue", "status"], "tmp")])
def test_the_fast_path_prints_what_the_click_command_prints(repo: Path, args: list[str], where: str) -> None:
    args = [str(repo) if a == "REPO" else a for a in args]
    cwd = repo if where == "repo" else repo.parent
    fast, slow = _run(_FAST, args, cwd), _run(_CLICK, args, cwd)
    assert fast.stderr.endswith("CLICK False"), fast.stderr  # answered without importing click
    assert (fast.returncode, fast.stdout, fast.stderr[:-len("CLICK False")]) == (slow.returncode, slow.stdout,
                                                                                 slow.stderr)
    assert fast.returncode == 0 and "failed" in fast.stdout and "cancelled" in fast.stdout


def test_an_empty_queue_and_errors_are_the_click_commands(tmp_path: Path, repo: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "main")
    make_pipeline(empty)
    not_a_repo = tmp_path / "plain"
    not_a_repo.mkdir()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for cwd, args in [(empty, ["queue", "status"]), (not_a_repo, ["queue", "status"]),
                      (tmp_path, ["-C", str(a_file), "queue", "status"]),
                      (tmp_path, ["-C", str(tmp_path / "missing"), "queue", "status"]),
                      (repo, ["queue", "status", "--json"]), (repo, ["queue", "status", "extra"])]:
        fast, slow = _run(_FAST, args, cwd), _run(_CLICK, args, cwd)
        assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout), args
        assert fast.stderr.rsplit("CLICK ", 1)[0] == slow.stderr, args
        assert "Traceback" not in fast.stderr
    assert "the queue is empty" in _run(_FAST, ["queue", "status"], empty).stdout
    assert _run(_FAST, ["queue", "status"], not_a_repo).returncode != 0
