"""File/dir hashes, legacy dos2unix hashes, cache paths and run-cache formulas (real files)."""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvc_compat.cache_layout import object_path, run_cache_key_value, run_cache_path, strip_meta
from dvc_compat.hashing import (
    CHUNK_SIZE,
    dir_manifest,
    hash_dir,
    hash_path,
    is_text_chunk,
    legacy_md5_dos2unix,
    md5_file,
    parse_dir_manifest,
)


def test_md5_file_matches_hashlib_across_chunk_boundaries(tmp_path: Path) -> None:
    rng = random.Random(3)
    for size in (0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 17):
        data = rng.randbytes(size)
        p = tmp_path / f"f{size}"
        p.write_bytes(data)
        assert md5_file(p) == hashlib.md5(data).hexdigest()


def test_dir_manifest_matches_the_documented_example() -> None:
    data, oid = dir_manifest([("y.csv", "3ecfad755fa825f7a17c5526ec44e651"), ("x.csv", "f69f5b72bc79a92dc70c63c9aa142e36")])
    assert data == (b'[{"md5": "f69f5b72bc79a92dc70c63c9aa142e36", "relpath": "x.csv"}, '
                    b'{"md5": "3ecfad755fa825f7a17c5526ec44e651", "relpath": "y.csv"}]')
    assert oid == "0e432d5d08ff55712307d92f3ba8f821.dir"
    assert parse_dir_manifest(data) == [("x.csv", "f69f5b72bc79a92dc70c63c9aa142e36"),
                                        ("y.csv", "3ecfad755fa825f7a17c5526ec44e651")]


@given(st.dictionaries(st.from_regex(r"[a-zA-Z0-9_./-]{1,12}", fullmatch=True),
                       st.from_regex(r"[0-9a-f]{32}", fullmatch=True), min_size=0, max_size=8),
       st.randoms())
@settings(max_examples=100, deadline=None)
def test_dir_manifest_is_order_independent(files: dict[str, str], rnd: random.Random) -> None:
    entries = list(files.items())
    shuffled = entries[:]
    rnd.shuffle(shuffled)
    assert dir_manifest(entries) == dir_manifest(shuffled)
    data, oid = dir_manifest(entries)
    assert oid == hashlib.md5(data).hexdigest() + ".dir"
    assert [e["relpath"] for e in json.loads(data)] == sorted(files)


def test_hash_dir_walks_nested_files(tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / "a.txt").write_text("a")
    (d / "sub" / "b.txt").write_text("bb")
    (d / "sub" / "deeper" / "c.txt").write_text("ccc")
    (d / ".hidden").write_text("h")
    h = hash_dir(d)
    assert [rel for rel, _ in h.entries] == [".hidden", "a.txt", "sub/b.txt", "sub/deeper/c.txt"]
    assert (h.size, h.nfiles) == (7, 4)
    assert h.md5 == dir_manifest(list(h.entries))[1]
    assert hash_path(d) == (h.md5, 7, 4, False)
    assert hash_path(d / "a.txt") == (hashlib.md5(b"a").hexdigest(), 1, None, False)
    (d / "a.txt").chmod(0o755)
    assert hash_path(d / "a.txt")[3] is True


def test_legacy_dos2unix(tmp_path: Path) -> None:
    text = tmp_path / "t.csv"
    text.write_bytes(b"a,b\r\n1,2\r\n")
    assert legacy_md5_dos2unix(text) == hashlib.md5(b"a,b\n1,2\n").hexdigest()
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\x01\r\n\xff" * 10)
    assert legacy_md5_dos2unix(binary) == md5_file(binary)
    # like dvc-data: chunks of 1 MiB are judged and converted one by one (a CRLF split across chunks stays)
    split = tmp_path / "split.txt"
    split.write_bytes(b"x" * (CHUNK_SIZE - 1) + b"\r\n" + b"y\r\n")
    assert legacy_md5_dos2unix(split) == hashlib.md5(b"x" * (CHUNK_SIZE - 1) + b"\r\ny\n").hexdigest()
    mixed = tmp_path / "mixed.bin"
    mixed.write_bytes(b"\x00" * CHUNK_SIZE + b"text\r\n")
    assert legacy_md5_dos2unix(mixed) == hashlib.md5(b"\x00" * CHUNK_SIZE + b"text\n").hexdigest()
    assert is_text_chunk(b"") and is_text_chunk(b"hello\n") and not is_text_chunk(b"\x00abc")


def test_object_paths() -> None:
    assert object_path("/c", "0e432d5d08ff55712307d92f3ba8f821.dir") == Path(
        "/c/files/md5/0e/432d5d08ff55712307d92f3ba8f821.dir")
    assert object_path("/c", "22a1a2931c8370d3aeedd7183606fd7f", legacy=True) == Path(
        "/c/22/a1a2931c8370d3aeedd7183606fd7f")
    assert run_cache_path("/c", "ab" + "1" * 62, "f" * 64) == Path(f"/c/runs/ab/ab{'1' * 62}/{'f' * 64}")


def test_run_cache_key_value_formula() -> None:
    entry = {
        "cmd": "python train.py",
        "deps": [{"path": "d", "hash": "md5", "md5": "1" * 32 + ".dir", "size": 10, "nfiles": 2}],
        "params": {"params.yaml": {"size": 3, "lr": 0.1}},
        "outs": [{"path": "m.pkl", "hash": "md5", "md5": "2" * 32, "size": 5}],
    }
    key, value = run_cache_key_value(entry)
    stripped = {
        "cmd": "python train.py",
        "deps": [{"path": "d", "hash": "md5", "md5": "1" * 32 + ".dir"}],
        "params": {"params.yaml": {"lr": 0.1}},  # DVC quirk: a param named `size` is stripped too
        "outs": [{"path": "m.pkl", "hash": "md5", "md5": "2" * 32}],
    }
    assert strip_meta(entry) == stripped
    assert value == hashlib.sha256(json.dumps(stripped, sort_keys=True).encode()).hexdigest()
    assert key == hashlib.sha256(json.dumps({**stripped, "outs": ["m.pkl"]}, sort_keys=True).encode()).hexdigest()
    # the key ignores out hashes (same inputs), the value does not
    other = {**entry, "outs": [{"path": "m.pkl", "hash": "md5", "md5": "3" * 32, "size": 5}]}
    assert run_cache_key_value(other)[0] == key and run_cache_key_value(other)[1] != value


@pytest.mark.dvc
def test_hashes_equal_dvc_datas(tmp_path: Path) -> None:
    """dvc-data (DVC's own hashing library, installed with dvc) gives the same file hashes, legacy included."""
    from dvc_data.hashfile.hash import file_md5

    rng = random.Random(5)
    samples = {
        "crlf.txt": b"a,b\r\n1,2\r\n" * 1000,
        "split.txt": b"x" * (CHUNK_SIZE - 1) + b"\r\ny\r\n",
        "binary.bin": rng.randbytes(CHUNK_SIZE + 100),
        "mixed.bin": b"\x00" * CHUNK_SIZE + b"text\r\n",
        "empty": b"",
    }
    for name, data in samples.items():
        p = tmp_path / name
        p.write_bytes(data)
        assert md5_file(p) == file_md5(str(p)), name
        assert legacy_md5_dos2unix(p) == file_md5(str(p), name="md5-dos2unix"), name
