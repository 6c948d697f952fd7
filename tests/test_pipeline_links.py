"""Outs of a stage that just ran are linked into the cache when `.dvc/config` says `cache.type` symlink/hardlink.

DVC commits a stage's outs and then checks them out again as links (and keeps the cache objects read-only),
so the workspace does not hold a second copy; reflink/copy leave private copies. A re-run must never write
through a link into the cache: every object still hashes to its name afterwards.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, git
from exptui.pipeline.repro import reproduce
from exptui.pipeline.status import pipeline_status

pytestmark = pytest.mark.dvc

DVC = str(BIN / "dvc")

DVC_YAML = """\
stages:
  make:
    cmd: >-
      mkdir -p d/sub && cp seed.txt d/x.txt && cat seed.txt seed.txt > d/sub/y.txt
      && cat seed.txt > f.txt && cat seed.txt >> log.txt && echo '{"n": 1}' > m.json
    deps: [seed.txt]
    outs:
      - d
      - f.txt
      - log.txt:
          persist: true
    metrics:
      - m.json:
          cache: false
"""
CACHED = ("f.txt", "d/x.txt", "d/sub/y.txt", "log.txt")


def dvc(repo: Path, *args: str) -> str:
    proc = subprocess.run([DVC, *args], cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def make(repo: Path, link: str | None) -> Path:
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    if link:
        dvc(repo, "config", "cache.type", link)
    (repo / "seed.txt").write_text("seed\n")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    return repo


def objects(repo: Path) -> dict[str, bytes]:
    root = repo / ".dvc" / "cache" / "files" / "md5"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_cache_intact(repo: Path) -> None:
    for name, data in objects(repo).items():
        assert hashlib.md5(data).hexdigest() == name.replace("/", "").removesuffix(".dir"), name


def object_of(repo: Path, path: Path) -> Path:
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def up_to_date(repo: Path) -> bool:
    return "Data and pipelines are up to date." in dvc(repo, "status") and not any(
        s.changed for s in pipeline_status(repo))


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_outs_that_just_ran_are_links_into_the_cache_like_dvcs(tmp_path: Path, link: str) -> None:
    ours, theirs = make(tmp_path / "ours", link), make(tmp_path / "theirs", link)
    reproduce(ours)
    dvc(theirs, "repro", "-q")
    assert (ours / "dvc.lock").read_bytes() == (theirs / "dvc.lock").read_bytes()
    for rel in CACHED:
        path, obj = ours / rel, object_of(ours, ours / rel)
        assert path.is_symlink() == (theirs / rel).is_symlink() == (link == "symlink"), rel
        if link == "symlink":
            assert Path(os.readlink(path)) == obj
        else:
            assert path.stat().st_ino == obj.stat().st_ino and path.stat().st_nlink >= 2, rel
        assert not obj.stat().st_mode & 0o222, rel  # protected, as DVC leaves them
    metric = (ours / "m.json").lstat()  # a cache: false out is the stage's own file
    assert not (ours / "m.json").is_symlink() and metric.st_nlink == 1
    assert up_to_date(ours)

    (ours / "seed.txt").write_text("seed 2\n")  # re-run: links are replaced, never written through
    reproduce(ours)
    assert (ours / "log.txt").read_text() == "seed\nseed 2\n"  # the persist out kept its old content
    assert (ours / "d" / "sub" / "y.txt").read_text() == "seed 2\nseed 2\n"
    assert all((ours / rel).is_symlink() == (link == "symlink") for rel in CACHED)
    assert_cache_intact(ours)
    assert up_to_date(ours)


@pytest.mark.parametrize("link", [None, "reflink,copy", "copy"])
def test_copies_stay_private_copies(tmp_path: Path, link: str | None) -> None:
    repo = make(tmp_path / "repo", link)
    reproduce(repo)
    for rel in CACHED:
        st = (repo / rel).lstat()
        assert not (repo / rel).is_symlink() and st.st_nlink == 1 and st.st_mode & 0o200, rel
    (repo / "f.txt").write_text("edited by hand\n")  # editing a copy never touches the cache
    assert_cache_intact(repo)


def test_a_symlinked_run_restores_and_reruns_through_dvc(tmp_path: Path) -> None:
    """DVC takes over a repo whose outs exptui linked: checkout after deletion, and a forced re-run."""
    repo = make(tmp_path / "repo", "symlink")
    reproduce(repo)
    (repo / "f.txt").unlink()
    dvc(repo, "checkout", "-q")
    assert (repo / "f.txt").is_symlink() and (repo / "f.txt").read_text() == "seed\n"
    dvc(repo, "repro", "-q", "-f")
    assert_cache_intact(repo)
    assert up_to_date(repo)


def test_hardlinks_to_a_cache_on_another_device_leave_the_copies(tmp_path: Path) -> None:
    """No link type works: the run still succeeds, the committed outs stay plain copies, status is clean."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a second file system for the cache")
    cache = Path(tempfile.mkdtemp(prefix="exptui-test-cache-", dir=shm))
    try:
        repo = make(tmp_path / "repo", "hardlink")
        dvc(repo, "cache", "dir", str(cache))
        reproduce(repo)
        for rel in CACHED:
            assert (repo / rel).lstat().st_nlink == 1 and not (repo / rel).is_symlink(), rel
        assert (cache / "files" / "md5").is_dir()
        assert not any(s.changed for s in pipeline_status(repo))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
