"""Issue 9 item 9: a stat cache must never call a rewritten file "unchanged".

Two stat caches decide "unchanged" in exptui: the pipeline's hash cache (`exptui.pipeline.state`, deps and outs)
and git's index, which `snapshot_workspace` copies so that `git add -A` re-hashes only changed files (every
recorded experiment's and every queued entry's params come from that snapshot). A params file rewritten with the
same size within the timestamp granularity of the cached entry must be read again: git's "racily clean" rule.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from exptui.pipeline.state import StateDB
from exptui.store.experiments import record_experiment
from exptui.store.git import Git
from rel_support import git

N = 100


def _same_tick_rewrite(path: Path, text: str, stat: os.stat_result) -> None:
    """Rewrite in place (same inode), same size, and the mtime the file had: what a rewrite within one tick of
    the file system's clock leaves (or `cp -p`, `tar -x`, `rsync -t`, which set old mtimes on purpose)."""
    assert len(text.encode()) == stat.st_size
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_pipeline_stat_cache_rereads_a_same_size_same_mtime_rewrite(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    params = tmp_path / "params.yaml"
    params.write_text("lr: 0.100\n")
    old = params.stat().st_mtime_ns - 10**10
    os.utime(params, ns=(old, old))       # an old mtime: nothing "young" about this file
    for i in range(N):
        before = params.stat()
        state = StateDB(tmp_path)
        first = state.hash(params)
        state.close()
        text = f"lr: 0.{200 + i:03d}\n" if i % 2 == 0 else "lr: 0.100\n"
        _same_tick_rewrite(params, text, before)
        state = StateDB(tmp_path)
        again = state.hash(params)
        state.close()
        assert first is not None and again is not None
        from dvc_compat.hashing import md5_file

        assert again.md5 == md5_file(params), f"stale hash after rewrite {i}"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "core.trustctime", "false")  # as on file systems that move ctime behind git's back
    return root


def test_index_copy_keeps_gits_racily_clean_check(repo: Path) -> None:
    """N params files committed and rewritten with the same size within the same tick as the index was written
    (the index file's mtime equals the entries'): the snapshot (a copy of the index + `git add -A`) must hold the
    new contents, as `git status` on the real index does. Copying the index with a new mtime made git trust every
    racily clean entry."""
    files = [repo / f"p{i:03d}" / "params.yaml" for i in range(N)]
    for f in files:
        f.parent.mkdir()
        f.write_text("v: 1000\n")
    # git (built without USE_NSEC) compares whole seconds: a tick ten seconds ago keeps the test independent of
    # when in the current second it runs
    tick = max(f.stat().st_mtime_ns for f in files) - 10 * 10**9
    for f in files:                                      # all written within one tick ...
        os.utime(f, ns=(tick, tick))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "params")
    os.utime(repo / ".git" / "index", ns=(tick, tick))  # ... and so was the index
    assert "mtime: {}:{}\n".format(*divmod(tick, 10**9)) in git(repo, "ls-files", "--debug")  # git: no zero padding
    stats = {f: f.stat() for f in files}
    for i, f in enumerate(files):
        _same_tick_rewrite(f, f"v: {2000 + i}\n", stats[f])
    assert git(repo, "--no-optional-locks", "status", "--porcelain").count(" M ") == N  # git sees every change
    g = Git(repo)
    base = g.head()
    rec = record_experiment(g, repo, base, "racy", {}, None)
    for i, f in enumerate(files):
        rel = f.relative_to(repo).as_posix()
        assert git(repo, "show", f"{rec.rev}:{rel}") == f"v: {2000 + i}\n", f"stale {rel} recorded"
    g.close()


def test_rewriting_params_100_times_in_a_row_never_records_a_stale_value(repo: Path) -> None:
    """No clock tricks: commit, then rewrite params.yaml with the same size and record, 100 times as fast as it
    goes (most iterations land in the same second as the commit and the previous record)."""
    params = repo / "params.yaml"
    params.write_text("v: 1000\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "params")
    g = Git(repo)
    base = g.head()
    for i in range(N):
        params.write_text(f"v: {2000 + i}\n")
        tree = g.snapshot_workspace()
        got = subprocess.run(["git", "cat-file", "blob", f"{tree}:params.yaml"], cwd=repo, capture_output=True,
                             text=True, check=True).stdout
        assert got == f"v: {2000 + i}\n", f"stale params in snapshot {i}"
    rec = record_experiment(g, repo, base, "last", {}, None)
    assert git(repo, "show", f"{rec.rev}:params.yaml") == f"v: {2000 + N - 1}\n"
    g.close()
