"""The git layer: object batches, ref transactions, workspace snapshots — on real repos."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from exptui.errors import ExptuiError, NotAGitRepo
from exptui.store.git import ZERO_OID, Git, RefConflict, RefUpdate, parse_commit
try:  # tests/ may or may not be a package
    from tests.test_store_support import git
except ImportError:  # pragma: no cover
    from test_store_support import git


def _blob(repo: Path, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=data, capture_output=True,
                          check=True).stdout.decode().strip()


def test_discover_finds_top_level_from_subdir(git_repo: Path) -> None:
    sub = git_repo / "a" / "b"
    sub.mkdir(parents=True)
    g = Git.discover(sub)
    assert g.root == git_repo.resolve()
    assert g.git_dir == (git_repo / ".git").resolve()


def test_not_a_repo_and_no_commits(tmp_path: Path) -> None:
    with pytest.raises(NotAGitRepo, match="git init"):
        Git.discover(tmp_path)
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q")
    with pytest.raises(ExptuiError, match="initial commit"):
        Git.discover(repo).head()


def test_read_objects_batch_with_missing_and_paths(git_repo: Path) -> None:
    g = Git(git_repo)
    shas = [_blob(git_repo, f"blob {i}\n".encode()) for i in range(3)]
    answers = g.read_objects([shas[0], "0" * 40, "HEAD:.gitignore", "HEAD:nope", shas[2]])
    assert answers[0] == (shas[0], "blob", b"blob 0\n")
    assert answers[1] is None and answers[3] is None
    assert answers[2] is not None and answers[2][1] == "blob" and answers[2][2] == b""
    assert answers[4][2] == b"blob 2\n"
    info = g.object_info(["HEAD", "HEAD:missing"])
    assert info[0] is not None and info[0][1] == "commit" and info[1] is None
    g.close()


def test_large_batch_does_not_deadlock(git_repo: Path) -> None:
    """Thousands of requests whose answers exceed any pipe buffer: writer thread + reader must not block."""
    data = b"x" * 4000
    sha = _blob(git_repo, data)
    g = Git(git_repo)
    answers = g.read_objects([sha] * 3000)
    assert len(answers) == 3000 and all(a is not None and a[2] == data for a in answers)
    g.close()


def test_reader_is_thread_safe_and_restarts_after_death(git_repo: Path) -> None:
    g = Git(git_repo)
    shas = [_blob(git_repo, f"{i}\n".encode()) for i in range(50)]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for _ in range(20):
                got = g.read_objects(shas)
                assert [a[2] for a in got] == [f"{i}\n".encode() for i in range(50)]  # type: ignore[index]
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    proc = g._reader._proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert g.read_blob(shas[7]) == b"7\n"  # restarted transparently
    g.close()


def test_for_each_ref_fields(git_repo: Path) -> None:
    g = Git(git_repo)
    head = g.head()
    g.update_refs([RefUpdate("refs/exps/ab/" + "c" * 38 + "/x", head, ZERO_OID)])
    rows = g.for_each_ref(["refs/exps", "refs/heads"], ("refname", "objectname"))
    assert ("refs/heads/main", head) in rows
    assert ("refs/exps/ab/" + "c" * 38 + "/x", head) in rows


def test_update_refs_create_only_and_cas(git_repo: Path) -> None:
    g = Git(git_repo)
    head = g.head()
    g.update_refs([RefUpdate("refs/exptui-test/a", head, ZERO_OID)])
    with pytest.raises(RefConflict) as exc:
        g.update_refs([RefUpdate("refs/exptui-test/a", head, ZERO_OID)])
    assert exc.value.ref == "refs/exptui-test/a" and "already exists" in str(exc.value)
    # compare-and-swap with a wrong old value fails and names the ref
    other = g.commit_tree(g.run("rev-parse", "HEAD^{tree}").strip(), [head], "other")
    with pytest.raises(RefConflict, match="refs/exptui-test/a"):
        g.update_refs([RefUpdate("refs/exptui-test/a", other, other)])
    g.update_refs([RefUpdate("refs/exptui-test/a", other, head)])
    assert g.rev_parse("refs/exptui-test/a") == other


def test_transaction_is_all_or_nothing(git_repo: Path) -> None:
    g = Git(git_repo)
    head = g.head()
    g.update_refs([RefUpdate("refs/exptui-test/taken", head, ZERO_OID)])
    with pytest.raises(RefConflict, match="refs/exptui-test/taken"):
        g.update_refs([RefUpdate("refs/exptui-test/new", head, ZERO_OID),
                       RefUpdate("refs/exptui-test/taken", head, ZERO_OID)])
    assert g.rev_parse("refs/exptui-test/new") is None
    # delete with the right old value
    g.update_refs([RefUpdate("refs/exptui-test/taken", None, head)])
    assert g.rev_parse("refs/exptui-test/taken") is None


def test_concurrent_create_only_has_one_winner(git_repo: Path) -> None:
    """Two real processes race to create the same ref: exactly one wins."""
    head = Git(git_repo).head()
    script = (
        "import sys; from exptui.store.git import Git, RefUpdate, ZERO_OID, RefConflict\n"
        "g = Git(sys.argv[1]); wins = 0\n"
        "for i in range(40):\n"
        "    try:\n"
        "        g.update_refs([RefUpdate(f'refs/exptui-race/r{i}', sys.argv[2], ZERO_OID)]); wins += 1\n"
        "    except RefConflict: pass\n"
        "print(wins)\n"
    )
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", script, str(git_repo), head], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    wins = [int(p.communicate()[0]) for p in procs]
    assert sum(wins) == 40


def test_commit_tree_keeps_message_bytes_and_utc_date(git_repo: Path) -> None:
    g = Git(git_repo)
    tree = g.run("rev-parse", "HEAD^{tree}").strip()
    sha = g.commit_tree(tree, [g.head()], "dvc: commit experiment " + "a" * 64, date="1700000000 +0000")
    raw = g.read_objects([sha])[0]
    assert raw is not None
    assert raw[2].endswith(b"\n\ndvc: commit experiment " + b"a" * 64)  # no trailing newline
    assert b"committer Test <test@example.invalid> 1700000000 +0000" in raw[2]
    info = parse_commit(sha, raw[2])
    assert info.parents == (g.head(),) and info.commit_time == 1700000000


def test_snapshot_includes_untracked_skips_ignored_and_leaves_index_alone(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("ignored.txt\n")
    git(git_repo, "commit", "-qam", "ignore")
    (git_repo / "tracked.txt").write_text("v1")
    git(git_repo, "add", "tracked.txt")
    git(git_repo, "commit", "-qm", "tracked")
    (git_repo / "tracked.txt").write_text("v2 dirty")
    (git_repo / "new.txt").write_text("untracked")
    (git_repo / "ignored.txt").write_text("ignored")
    (git_repo / ".dvc" / "cache").mkdir(parents=True)
    (git_repo / ".dvc" / "cache" / "obj").write_text("cache object")
    index_before = (git_repo / ".git" / "index").read_bytes()
    status_before = git(git_repo, "status", "--porcelain")
    g = Git(git_repo)
    tree = g.snapshot_workspace()
    names = {e.path: e.sha for e in g.ls_tree(tree)}
    assert "new.txt" in names and "tracked.txt" in names
    assert "ignored.txt" not in names
    assert not any(p.startswith(".dvc/cache") for p in names)
    assert g.read_blob(names["tracked.txt"]) == b"v2 dirty"
    assert (git_repo / ".git" / "index").read_bytes() == index_before
    assert git(git_repo, "status", "--porcelain") == status_before
    assert not list((git_repo / ".git" / "exptui" / "tmp").iterdir())  # temp index removed


def test_snapshot_of_another_worktree_writes_into_this_repo(git_repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--shared", str(git_repo), str(clone))
    (clone / "result.txt").write_text("from the clone")
    g = Git(git_repo)
    tree = g.snapshot_workspace(clone, base=g.head())
    entries = {e.path: e.sha for e in g.ls_tree(tree)}
    assert g.read_blob(entries["result.txt"]) == b"from the clone"  # the object is in the main repo
    assert not (git_repo / "result.txt").exists()


def test_non_utf8_file_names_round_trip(git_repo: Path) -> None:
    name = b"caf\xe9 \xff.txt"
    (git_repo / os.fsdecode(name)).write_bytes(b"bytes")
    g = Git(git_repo)
    tree = g.snapshot_workspace()
    entry = next(e for e in g.ls_tree(tree) if e.path.encode("utf-8", "surrogateescape") == name)
    assert g.read_blob(f"{tree}:{entry.path}") == b"bytes"
    g.close()


def test_stale_lock_file_is_reported_not_retried(git_repo: Path) -> None:
    from exptui.store.git import RefLocked

    g = Git(git_repo)
    lock = git_repo / ".git" / "refs" / "heads" / "locked.lock"
    lock.write_text("")
    with pytest.raises(RefLocked, match="locked.lock exists"):
        g.update_refs([RefUpdate("refs/heads/locked", g.head(), ZERO_OID)])
    lock.unlink()
    g.update_refs([RefUpdate("refs/heads/locked", g.head(), ZERO_OID)])
    assert g.rev_parse("refs/heads/locked") == g.head()
