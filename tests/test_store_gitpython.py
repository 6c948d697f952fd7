"""Single-object reads through GitPython's object database, and no git process left behind — on real repos."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

import exptui.store.git as git_module
from exptui.errors import ExptuiError
from exptui.project import Project
from exptui.store.git import Git, GitError
try:  # tests/ may or may not be a package
    from tests.test_store_support import git, make_pipeline
except ImportError:  # pragma: no cover
    from test_store_support import git, make_pipeline


def _blob(repo: Path, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=data, capture_output=True,
                          check=True).stdout.decode().strip()


def _git_children() -> dict[int, tuple[str, list[str]]]:
    """This process's git children, zombies included: pid -> (status, argv)."""
    out = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.name() != "git":
                continue
            status = proc.status()
            try:
                argv = proc.cmdline()
            except psutil.Error:  # a zombie has no argv any more
                argv = []
        except psutil.NoSuchProcess:
            continue
        out[proc.pid] = (status, argv)
    return out


def _new_children(before: dict[int, tuple[str, list[str]]]) -> dict[int, tuple[str, list[str]]]:
    return {pid: v for pid, v in _git_children().items() if pid not in before}


def _gitpython_cat_file(children: dict[int, tuple[str, list[str]]]) -> list[int]:
    """GitPython's persistent reader runs `git cat-file --batch`; exptui's own runs `--batch-command`."""
    return [pid for pid, (_s, argv) in children.items() if "cat-file" in argv and "--batch" in argv]


def test_single_reads_through_gitpython_answer_like_the_batch_reader(git_repo: Path) -> None:
    (git_repo / "a.txt").write_bytes(b"alpha\n")
    git(git_repo, "add", "a.txt")
    git(git_repo, "commit", "-q", "-m", "a")
    blob = _blob(git_repo, b"some data\x00with a NUL\n")
    before = _git_children()
    long = Git(git_repo, long_lived=True)
    short = Git(git_repo)
    try:
        for name in (blob, "HEAD:a.txt", "HEAD", "HEAD^{tree}"):
            assert long.read_objects([name]) == short.read_objects([name, name])[:1]
            assert long.object_info([name]) == short.object_info([name, name])[:1]
        assert long.read_blob(blob) == b"some data\x00with a NUL\n"
        assert long.read_commit("HEAD") == short.read_commit("HEAD")
        for missing in ("0" * 40, "HEAD:nope", "no-such-rev"):
            assert long.read_objects([missing]) == [None]
            assert long.object_info([missing]) == [None]
        assert long.batch([("info", blob)]) == [(blob, "blob", None)]
        assert "git" in sys.modules
        assert _gitpython_cat_file(_new_children(before)), "the one-name reads did not go through GitPython"
    finally:
        long.close()
        short.close()
    assert _new_children(before) == {}


def test_short_lived_process_switches_to_gitpython_after_the_threshold(git_repo: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(git_module, "SINGLE_READS_BEFORE_GITPYTHON", 3)
    blob = _blob(git_repo, b"x\n")
    before = _git_children()
    g = Git(git_repo)
    try:
        for _ in range(3):
            assert g.read_blob(blob) == b"x\n"
        assert not _gitpython_cat_file(_new_children(before))  # the batch reader answered the first three
        g.read_objects([blob, blob])  # a batch never counts and never goes to GitPython
        assert not _gitpython_cat_file(_new_children(before))
        assert g.read_blob(blob) == b"x\n"
        assert _gitpython_cat_file(_new_children(before))
    finally:
        g.close()
    assert _new_children(before) == {}


def test_names_gitpythons_line_protocol_cannot_carry_use_the_batch_reader(git_repo: Path) -> None:
    (git_repo / "new\nline").write_bytes(b"odd name\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "odd")
    g = Git(git_repo, long_lived=True)
    try:
        assert g.read_blob("HEAD:new\nline") == b"odd name\n"
        assert g.read_blob("HEAD:new") is None  # the name was not cut at the line feed
    finally:
        g.close()


def test_gitpython_reader_restarts_after_death_then_reports_a_gone_repo_in_one_line(git_repo: Path,
                                                                                   tmp_path: Path) -> None:
    blob = _blob(git_repo, b"y\n")
    before = _git_children()
    g = Git(git_repo, long_lived=True)
    try:
        assert g.read_blob(blob) == b"y\n"
        (pid,) = _gitpython_cat_file(_new_children(before))
        os.kill(pid, signal.SIGKILL)
        psutil.Process(pid).wait(timeout=30)  # reaped by psutil: GitPython must cope with the dead process
        assert g.read_blob(blob) == b"y\n"  # restarted transparently
        (pid,) = _gitpython_cat_file(_new_children(before))
        os.rename(git_repo, tmp_path / "moved")
        os.kill(pid, signal.SIGKILL)
        psutil.Process(pid).wait(timeout=30)
        with pytest.raises(GitError) as info:
            g.read_blob(blob)
        assert isinstance(info.value, ExptuiError)
        message = str(info.value)
        assert "\n" not in message and "repository" in message
    finally:
        g.close()
    assert _new_children(before) == {}


def test_store_operations_leave_no_git_process_behind(git_repo: Path) -> None:
    """A long-lived process (the TUI, a worker) runs, stars and lists an experiment: while it works both readers
    are up; once it closes the project no git process of it is left, alive or zombie."""
    make_pipeline(git_repo)
    before = _git_children()
    project = Project.open(git_repo, long_lived=True)
    try:
        project.run(["train.lr=0.3"], name="a")
        project.star("a")
        project.label("a", ["best"])
        rows = project.experiments()
        assert [r.annotations.labels for r in rows if r.name == "a"] == [("best",)]
        during = _new_children(before)
        argvs = [argv for _s, argv in during.values()]
        assert any("--batch-command" in argv for argv in argvs), during  # the listing's batches
        assert _gitpython_cat_file(during), during  # the annotations' single reads
    finally:
        project.close()
    assert _new_children(before) == {}


def test_listing_does_not_import_gitpython(git_repo: Path) -> None:
    """`exptui show` reads in batches: a short command must not pay GitPython's import."""
    make_pipeline(git_repo)
    code = ("import sys; from exptui.project import Project; p = Project.open(sys.argv[1]); "
            "rows = p.experiments(); p.close(); print(len(rows), 'git' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(git_repo)], capture_output=True, text=True, check=True)
    count, imported = out.stdout.split()
    assert int(count) >= 1 and imported == "False"
