"""Stars, labels and notes in git notes: compare-and-swap under concurrency, sharing through a remote."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exptui.errors import ExptuiError
from exptui.project import Project
from exptui.records import Annotations
from exptui.store.annotations import NOTES_REF, decode, read_all, read_one, set_labels, set_note, set_star
try:  # tests/ may or may not be a package
    from tests.test_store_support import git, make_pipeline, project  # noqa: F401 (fixture)
except ImportError:  # pragma: no cover
    from test_store_support import git, make_pipeline, project  # noqa: F401 (fixture)


def test_star_label_note_show_in_listing(project: Project) -> None:
    project.run(["train.lr=0.3"], name="a")
    project.star("a")
    project.label("a", ["best", "prod"])
    project.label("a", remove=["prod"])
    project.note("a", "looks good\nsecond line")
    row = next(r for r in project.experiments() if r.name == "a")
    assert row.annotations == Annotations(starred=True, labels=("best",), note="looks good\nsecond line")
    # plain git sees the note too
    out = git(project.root, "notes", f"--ref={NOTES_REF}", "show", row.rev)
    assert '"starred": true' in out
    project.star("a", on=False)
    row = next(r for r in project.experiments() if r.name == "a")
    assert not row.annotations.starred and row.annotations.labels == ("best",)


def test_invalid_label_and_queued_targets(project: Project) -> None:
    project.run(["train.lr=0.3"], name="a")
    with pytest.raises(ExptuiError, match="invalid label"):
        project.label("a", ["two words"])


def test_clearing_everything_removes_the_note(project: Project) -> None:
    project.run(["train.lr=0.3"], name="a")
    project.note("a", "x")
    project.note("a", "")
    rev = project.resolve("a").rev
    assert read_one(project.git, rev) == Annotations()
    assert read_all(project.git, project.git.rev_parse(NOTES_REF)) == {}


def test_notes_written_by_git_notes_are_read(project: Project) -> None:
    rev = project.git.head()
    git(project.root, "notes", f"--ref={NOTES_REF}", "add", "-m", '{"labels": ["x"], "starred": true}', rev)
    assert read_one(project.git, rev).labels == ("x",)
    assert decode(b"not json at all").note == "not json at all"


_WRITER = """
import sys
from exptui.store.git import Git
from exptui.store.annotations import set_labels
g = Git(sys.argv[1])
for i in range(int(sys.argv[4])):
    set_labels(g, sys.argv[2], add=(f"{sys.argv[3]}{i}",))
"""


def test_concurrent_writers_lose_nothing(project: Project) -> None:
    """Two processes add labels to the same commit at once: every label survives (compare-and-swap + retry)."""
    rev = project.git.head()
    n = 8
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(project.root), rev, tag, str(n)],
                              stderr=subprocess.PIPE, text=True) for tag in ("p", "q")]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    labels = set(read_one(project.git, rev).labels)
    assert labels == {f"p{i}" for i in range(n)} | {f"q{i}" for i in range(n)}
    assert not git(project.root, "for-each-ref", "refs/notes/exptui-scratch-*").strip()  # scratch refs cleaned


def test_push_and_pull_experiments_with_merged_annotations(project: Project, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(project.root, "remote", "add", "origin", str(remote))
    git(project.root, "push", "-q", "origin", "main")
    project.run(["train.lr=0.3"], name="a")
    project.run(["train.lr=0.4"], name="b")
    project.star("a")
    pushed = project.push("origin")
    assert len(pushed) == 2
    remote_refs = git(remote, "for-each-ref", "--format=%(refname)")
    assert "refs/notes/exptui" in remote_refs and remote_refs.count("refs/exps/") == 2

    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    theirs = Project.open(other)
    fetched = theirs.pull("origin", ["a"])
    assert len(fetched) == 1
    rows = {r.name: r for r in theirs.experiments()}
    assert "a" in rows and "b" not in rows
    assert rows["a"].annotations.starred
    assert rows["a"].metrics["metrics.json"]["acc"] == 0.6
    # both sides annotate; pushing from one and pulling into the other merges, nothing lost
    theirs.label("a", ["from-clone"])
    project.label("a", ["from-main"])
    theirs.push("origin", ["a"])
    project.pull("origin")
    ann = next(r for r in project.experiments() if r.name == "a").annotations
    assert set(ann.labels) == {"from-clone", "from-main"} and ann.starred
    project.push("origin")  # fast-forward after the merge
    with pytest.raises(ExptuiError, match="no git remote named"):
        project.push("nowhere")


def test_set_functions_return_stored_value(project: Project) -> None:
    rev = project.git.head()
    assert set_star(project.git, rev, True).starred
    assert set_note(project.git, rev, "  hi  ").note == "hi"
    assert set_labels(project.git, rev, add=("a", "b")).labels == ("a", "b")
    assert set_labels(project.git, rev, add=("c",), remove=("a",)).labels == ("b", "c")


def test_incremental_notes_reading_matches_a_full_read(project: Project) -> None:
    from exptui.store.annotations import read_changes

    a = project.run(["train.lr=0.3"], name="a")
    b = project.run(["train.lr=0.4"], name="b")
    project.star("a")
    project.label("b", ["x"])
    tip1 = project.git.rev_parse(NOTES_REF)
    before = read_all(project.git, tip1)
    project.note("a", "n")
    project.label("b", remove=["x"])  # b's note disappears
    tip2 = project.git.rev_parse(NOTES_REF)
    assert read_changes(project.git, tip1, tip2, before) == read_all(project.git, tip2)
    assert b.rev not in read_all(project.git, tip2) and a.rev in read_all(project.git, tip2)
    # the listing (which caches notes by tip) agrees after each change
    assert next(r for r in project.experiments() if r.name == "a").annotations.note == "n"
    project.star("a", on=False)
    assert not next(r for r in project.experiments() if r.name == "a").annotations.starred


def test_pull_reports_diverged_refs_and_keeps_ours(project: Project, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(project.root, "remote", "add", "origin", str(remote))
    git(project.root, "push", "-q", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    theirs = Project.open(other)
    (other / ".dvc" / "config").write_text("")
    theirs.run(["train.lr=0.7"], name="same")
    theirs.run(["train.lr=0.8"], name="only-theirs")
    theirs.push("origin")
    mine = project.run(["train.lr=0.2"], name="same")
    with pytest.raises(ExptuiError, match="could not be fetched.*same"):
        project.pull("origin")
    rows = {r.name: r for r in project.experiments()}
    assert rows["same"].rev == mine.rev  # ours kept, not overwritten
    assert "only-theirs" in rows  # the rest still arrived
    with pytest.raises(ExptuiError, match="differ on origin.*same"):
        project.push("origin", ["same"])


def test_one_project_used_from_several_threads(project: Project) -> None:
    """The TUI lists in a worker thread while actions run in others: no corrupted cache, no lost updates."""
    import threading

    names = [project.run([f"train.lr=0.{i + 1}"], name=f"t{i}").name for i in range(3)]
    errors: list[BaseException] = []

    def lister() -> None:
        try:
            for _ in range(15):
                assert {r.name for r in project.experiments()} >= set(names)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def starrer() -> None:
        try:
            for n in names:
                project.star(n)
                project.label(n, [f"l-{n}"])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=lister), threading.Thread(target=lister), threading.Thread(target=starrer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = {r.name: r for r in project.experiments()}
    assert all(rows[n].annotations.starred and rows[n].annotations.labels == (f"l-{n}",) for n in names)
