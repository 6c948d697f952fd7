"""Stat cache and directory hashing: DVC's hashes, .dvcignore, one hash per command, persistence."""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from dvc_compat.ignore import DvcIgnore
from exptui.pipeline.state import RACY_FINE_NS, StateDB, tmp_dir


def test_file_and_directory_hashes_are_dvcs(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    d = tmp_path / "data"
    (d / "sub").mkdir(parents=True)
    (d / "b.csv").write_bytes(b"2\n")
    (d / "sub" / "a.csv").write_bytes(b"1\n")
    (d / ".git").write_text("never hashed")  # DVC never looks at .git/.dvc/.hg inside outputs
    state = StateDB(tmp_path)
    h = state.hash(d)
    manifest = json.dumps(
        [{"md5": hashlib.md5(b"2\n").hexdigest(), "relpath": "b.csv"},
         {"md5": hashlib.md5(b"1\n").hexdigest(), "relpath": "sub/a.csv"}], sort_keys=True).encode()
    assert h is not None and h.manifest == manifest
    assert h.md5 == hashlib.md5(manifest).hexdigest() + ".dir"
    assert (h.size, h.nfiles) == (4, 2)
    f = state.hash(d / "b.csv")
    assert f is not None and f.md5 == hashlib.md5(b"2\n").hexdigest() and f.nfiles is None
    assert state.hash(tmp_path / "missing") is None
    state.close()


def test_dvcignore_rules(tmp_path: Path) -> None:
    (tmp_path / ".dvcignore").write_text(
        "# comment\n*.tmp\n/data/raw/\nlogs/\ncache/**/x\n!keep.tmp\n**/deep.bin\n"
    )
    ig = DvcIgnore(tmp_path)
    assert ig.is_ignored("data/a.tmp", False) and ig.is_ignored("a.tmp", False)
    assert not ig.is_ignored("data/keep.tmp", False)               # negation wins when it comes later
    assert ig.is_ignored("data/raw", True) and not ig.is_ignored("other/data/raw", True)  # anchored
    assert ig.is_ignored("x/logs", True) and not ig.is_ignored("x/logs", False)           # dir-only
    assert ig.is_ignored("x/logs/a.txt", False)                    # inside an ignored directory
    assert ig.is_ignored("a/b/deep.bin", False)
    assert not ig.is_ignored("data/a.csv", False)
    assert not DvcIgnore(tmp_path / "nowhere").applies_under(".")


def test_ignored_files_do_not_change_a_directory_hash(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text("a")
    before = StateDB(tmp_path).hash(tmp_path / "out")
    (tmp_path / ".dvcignore").write_text("*.log\n")
    (tmp_path / "out" / "run.log").write_text("noise")
    after = StateDB(tmp_path).hash(tmp_path / "out")
    assert before is not None and after is not None and before.md5 == after.md5


def _wait_until_the_clock_passes(path: Path) -> None:
    """Poll until the file system's clock is past `path`'s last change (its ctime): only then may a hash of it be
    remembered (a change within the same tick would be invisible to the stat cache)."""
    probe = path.with_name(".clock-probe")
    for _ in range(10_000):
        probe.touch()
        os.utime(probe)
        if probe.stat().st_mtime_ns > path.stat().st_ctime_ns:
            probe.unlink()
            break
    else:
        raise AssertionError("the file system clock does not advance")
    # and past the wall-clock guard too: a file changed less than RACY_FINE_NS ago is hashed but not remembered
    changed = max(path.stat().st_mtime_ns, path.stat().st_ctime_ns)
    while time.time_ns() - changed < RACY_FINE_NS:
        time.sleep(RACY_FINE_NS / 1e9 / 10)


def test_hashes_persist_and_each_file_is_read_once_per_command(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20))
    old = big.stat().st_mtime_ns - 10**10
    os.utime(big, ns=(old, old))
    _wait_until_the_clock_passes(big)
    first = StateDB(tmp_path)
    a = first.hash(big)
    assert first.hash(big) is a  # memo: hashed once per command
    assert first.hashed_bytes == 1 << 20
    first.close()
    second = StateDB(tmp_path)
    assert second.hash(big) == a and second.hashed_bytes == 0
    second.close()
    assert (tmp_dir(tmp_path) / "exptui" / "state.sqlite").exists()
    # replaced by a file of the same size: new inode/mtime, hashed again
    big.write_bytes(os.urandom(1 << 20))
    third = StateDB(tmp_path)
    c = third.hash(big)
    assert c is not None and c.md5 != a.md5 and third.hashed_bytes == 1 << 20
    third.close()


def test_tmp_dir_without_dvc_is_under_the_git_dir(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert tmp_dir(tmp_path) == tmp_path / ".git" / "exptui" / "tmp"
    (tmp_path / ".dvc").mkdir()
    assert tmp_dir(tmp_path) == tmp_path / ".dvc" / "tmp"
    wt = tmp_path / "wt"
    wt.mkdir()
    (wt / ".git").write_text(f"gitdir: {tmp_path / '.git' / 'worktrees' / 'wt'}\n")
    assert tmp_dir(wt) == tmp_path / ".git" / "worktrees" / "wt" / "exptui" / "tmp"


def test_read_only_state_location_degrades_to_memo(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "tmp").write_text("a file where a directory should be")
    (tmp_path / "f.txt").write_text("x")
    state = StateDB(tmp_path)
    assert state.hash(tmp_path / "f.txt") is not None
    state.close()  # nothing to write to, no error


def test_forget_drops_the_path_below_and_above(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "sub" / "a.txt").write_text("a")
    state = StateDB(tmp_path)
    before = state.hash(tmp_path / "data")
    (tmp_path / "data" / "sub" / "a.txt").write_text("changed")
    assert state.hash(tmp_path / "data") is before  # memoised for the command...
    state.forget(tmp_path / "data" / "sub" / "a.txt")  # ...until a stage says it wrote there
    after = state.hash(tmp_path / "data")
    assert after is not None and before is not None and after.md5 != before.md5
