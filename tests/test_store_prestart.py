"""`exptui ui`'s for-each-ref started first thing (`exptui.store.prestart`): the same bytes as the index's own
read, used by the early start only when it is this repository's and git succeeded, stopped when not used; a
directory that is not a repository gets no head start and the usual one-line error.

Real git repos in temp dirs, real git processes, the real `exptui` command in a subprocess.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_store_support import exptui

from exptui.cli import _dashboard_repo
from exptui.project import Project
from exptui.store import prestart
from exptui.store.git_args import git_env, refs_args
from exptui.store.index import read_refs


@pytest.fixture(autouse=True)
def nothing_left_started():
    yield
    prestart.discard()


def with_experiments(repo: Path) -> Project:
    head = git(repo, "rev-parse", "HEAD").strip()
    for i in range(3):
        git(repo, "update-ref", f"refs/exps/{head[:2]}/{head[2:]}/exp-{i}", head)
    git(repo, "update-ref", "refs/heads/other", head)
    return Project.open(repo)


def test_the_prestarted_output_is_the_index_reads_bytes_and_its_tokens_the_projects(git_repo: Path) -> None:
    project = with_experiments(git_repo)
    started = prestart.start(str(git_repo / "."))
    assert started is not None and prestart.take() is started and prestart.take() is None
    assert (started.root, started.git_dir) == (str(project.root), str(project.git.git_dir))
    assert (started.token, started.state) == (project.changed_token(), project.state_token())
    out = started.output()
    assert out is not None and out == read_refs(project.git).raw and b"refs/exps/" in out
    assert started.output() is None   # handed out once


def test_the_early_start_uses_the_prestarted_refs_and_their_tokens(git_repo: Path) -> None:
    project = with_experiments(git_repo)
    started = prestart.take() or prestart.start(str(git_repo))
    assert started is not None
    early = project.start_first_screen(started).result()
    assert early is not None and early.refs is not None   # no saved screen: the refs are read (and amended)
    assert (early.token, early.state) == (started.token, started.state)
    assert early.refs.raw == read_refs(project.git).raw and project.index.refs_read == 1
    assert started.proc.returncode == 0


def test_an_unchanged_start_starts_no_git(git_repo: Path) -> None:
    """The saved screen was saved under the current token: nothing is started (no refs are read before the
    paint); after a ref change it is."""
    project = with_experiments(git_repo)
    rows = project.experiments(shared=True)
    project.save_first_rows(project.changed_token(), rows, len(rows))
    assert prestart.start(str(git_repo)) is None and prestart.take() is None
    head = git(git_repo, "rev-parse", "HEAD").strip()
    git(git_repo, "update-ref", f"refs/exps/{head[:2]}/{head[2:]}/exp-new", head)
    started = prestart.start(str(git_repo))
    assert started is not None and started.output() is not None


def test_an_unchanged_start_stops_the_prestarted_git(git_repo: Path) -> None:
    """The saved screen's key is the token read before git started (saved after `start` looked): it is the first
    screen, git is stopped and its output never read (the listing reads the refs after the paint, as before)."""
    project = with_experiments(git_repo)
    rows = project.experiments(shared=True)
    started = prestart.start(str(git_repo))
    project.save_first_rows(project.changed_token(), rows, len(rows))
    assert started is not None and prestart.take() is started
    early = Project.open(git_repo).start_first_screen(started).result()
    assert early is not None and early.rows is not None and early.refs is None and early.token == started.token
    assert started.proc.returncode is not None and started.output() is None


def test_git_failing_leaves_the_refs_to_the_early_start(git_repo: Path) -> None:
    """A pre-started git that failed gives no output; the early start reads the refs itself (once more)."""
    project = with_experiments(git_repo)
    out = prestart._scratch_fd()
    proc = subprocess.Popen(["git", f"--git-dir={git_repo / 'missing'}", *refs_args()], stdout=out,
                            stderr=subprocess.DEVNULL, env=git_env(), cwd=git_repo)
    started = prestart.StartedRefs(str(project.root), str(project.git.git_dir), project.changed_token(),
                                   project.state_token(), proc, out)
    early = project.start_first_screen(started).result()
    assert proc.returncode not in (None, 0)
    assert early is not None and early.refs is not None and early.refs.raw == read_refs(project.git).raw


def test_another_repositorys_refs_are_stopped_not_used(git_repo: Path, tmp_path: Path) -> None:
    project = with_experiments(git_repo)
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    git(other, "commit", "-q", "--allow-empty", "-m", "init")
    started = prestart.start(str(other))
    assert started is not None
    early = project.start_first_screen(started).result()
    assert started.proc.returncode is not None and started.output() is None   # stopped, never read
    assert early is not None and early.token == project.changed_token() != started.token
    assert early.refs is not None and b"refs/exps/" in early.refs.raw


def test_a_subdirectory_and_a_linked_worktree_are_found_as_git_finds_them(git_repo: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository is found without a git process (`_find_repo`); it is the one git finds (`Project.open`),
    from a subdirectory and in a linked worktree (a `.git` file); with GIT_DIR set nothing is guessed."""
    with_experiments(git_repo)
    (git_repo / "sub" / "deeper").mkdir(parents=True)
    linked = tmp_path / "linked"
    git(git_repo, "worktree", "add", "-q", "--detach", str(linked))
    for where in (git_repo / "sub" / "deeper", linked):
        project = Project.open(where)
        started = prestart.start(str(where))
        assert started is not None and prestart.take() is started
        assert (started.root, started.git_dir) == (str(project.root), str(project.git.git_dir))
        assert started.output() == read_refs(project.git).raw
        project.close()
    monkeypatch.setenv("GIT_DIR", str(git_repo / ".git"))
    assert prestart.start(str(git_repo)) is None


def test_no_head_start_outside_a_repository(tmp_path: Path) -> None:
    assert prestart.start(str(tmp_path)) is None and prestart.take() is None
    assert prestart.start(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("args", [["ui"], []])
def test_the_dashboard_outside_a_repository_is_the_usual_one_line_error(tmp_path: Path, args: list[str]) -> None:
    proc = exptui(tmp_path, *args, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: ") and "not inside a git repository" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    proc = exptui(empty, *args, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "initial commit" in proc.stderr


@pytest.mark.parametrize(("argv", "repo"), [
    ([], "."), (["ui"], "."), (["ui", "--poll", "2"], "."), (["-C", "d"], "d"), (["--repo", "d", "ui"], "d"),
    (["show"], None), (["-C", "d", "queue", "status"], None), (["--help"], None), (["ui", "-h"], None),
    (["--version"], None), (["-C", "--help"], None),
])
def test_only_the_dashboard_starts_git_early(argv: list[str], repo: str | None) -> None:
    assert _dashboard_repo(argv) == repo


def test_the_early_arguments_name_dvcs_experiment_namespace_and_import_nothing_heavy() -> None:
    """git_args takes DVC's namespace from dvc_compat.ref_names (so the dashboard's first step and `queue status`
    do not import dvc_compat.exp_refs, with hashlib and random): the same one exp_refs names."""
    import subprocess
    import sys

    from dvc_compat.exp_refs import EXPS_NAMESPACE
    from exptui.store import git_args

    assert git_args.EXPS_NAMESPACE == EXPS_NAMESPACE
    assert git_args.refs_args()[2] == EXPS_NAMESPACE
    code = ("import sys, exptui.store.git_args\n"
            "print(sorted(m for m in ('hashlib', 'random', 'dvc_compat.exp_refs') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
