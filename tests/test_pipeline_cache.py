"""Content cache: DVC 3 layout, read-only objects, verified saves, checkout by link type."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from exptui.errors import PipelineError
from exptui.pipeline.cache import ContentCache
from exptui.pipeline.state import Hashed, StateDB


def test_save_is_verified_and_leaves_nothing_behind_on_mismatch(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache")
    src = tmp_path / "f.txt"
    src.write_bytes(b"now")
    stale = Hashed(hashlib.md5(b"before").hexdigest(), 6)  # the file changed after it was hashed
    with pytest.raises(PipelineError, match="changed while it was being saved"):
        cache.save(src, stale)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    good = Hashed(hashlib.md5(b"now").hexdigest(), 3)
    cache.save(src, good)
    obj = tmp_path / "cache" / "files" / "md5" / good.md5[:2] / good.md5[2:]
    assert obj.read_bytes() == b"now" and obj.stat().st_mode & 0o777 == 0o444
    cache.save(src, good)  # present: skipped, no error on the read-only object


def test_directory_round_trip_and_presence(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    out = tmp_path / "out"
    (out / "d").mkdir(parents=True)
    (out / "a").write_text("A")
    (out / "d" / "b").write_text("B")
    state = StateDB(tmp_path)
    h = state.hash(out)
    assert h is not None
    cache = ContentCache(tmp_path / "cache")
    assert not cache.has(h.md5)
    cache.save(out, h)
    assert cache.has(h.md5) and ContentCache(tmp_path / "cache").has(h.md5)
    (out / "d" / "b").write_text("changed")
    (out / "extra").write_text("stray")
    cache.checkout(out, h.md5, state)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a", "d/b"]
    assert (out / "d" / "b").read_text() == "B" and os.access(out / "d" / "b", os.W_OK)
    state.close()
    # a missing file object makes the directory "not in cache"
    b_md5 = hashlib.md5(b"B").hexdigest()
    (tmp_path / "cache" / "files" / "md5" / b_md5[:2] / b_md5[2:]).unlink()
    assert not ContentCache(tmp_path / "cache").has(h.md5)
    with pytest.raises(PipelineError, match="not in the cache"):
        ContentCache(tmp_path / "cache").checkout(tmp_path / "elsewhere", h.md5)


def test_for_repo_reads_cache_dir_and_type(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[cache]\n    type = \"hardlink,copy\"\n")
    (tmp_path / ".dvc" / "config.local").write_text("[cache]\n    dir = ../shared\n")
    cache = ContentCache.for_repo(tmp_path)
    assert cache.cache_dir == tmp_path / "shared" and cache.link_types == ["hardlink", "copy"]
    assert ContentCache.for_repo(tmp_path, tmp_path / "x").cache_dir == tmp_path / "x"


def test_write_object_file_is_the_caches_atomic_read_only_write(tmp_path: Path) -> None:
    from exptui.pipeline.cache import write_object_file

    dest = tmp_path / "cache" / "files" / "md5" / "ab" / "cdef"
    assert write_object_file(dest, data=b"sent")
    assert dest.read_bytes() == b"sent" and dest.stat().st_mode & 0o777 == 0o444
    assert write_object_file(dest, data=b"other")          # present: left as it is (read-only, no error)
    assert dest.read_bytes() == b"sent"
    src = tmp_path / "src.bin"
    src.write_bytes(b"copied")
    copy = tmp_path / "remote" / "x" / "y"
    assert write_object_file(copy, src=src, durable=False) and copy.read_bytes() == b"copied"
    assert not write_object_file(tmp_path / "r" / "z", src=tmp_path / "missing")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["cdef", "src.bin", "y"]   # no temp left
