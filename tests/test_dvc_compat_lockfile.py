"""dvc.lock reading/writing: layout rules, round trips (hypothesis), errors, atomic keep-others writes."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvc_compat.errors import FormatError
from dvc_compat.lockfile import (
    dump_lock,
    lock_stage_to_dict,
    lockfile_path,
    parse_lock,
    read_lock,
    write_lock,
)
from dvc_compat.model import HashInfo, LockStage

EXAMPLE = """\
schema: '2.0'
stages:
  prepare:
    cmd: python src/prepare.py data/data.xml
    deps:
    - path: data/data.xml
      hash: md5
      md5: 22a1a2931c8370d3aeedd7183606fd7f
      size: 14445097
    params:
      params.yaml:
        prepare.seed: 20170428
        prepare.split: 0.2
    outs:
    - path: data/prepared
      hash: md5
      md5: 153aad06d376b6595932470e459ef42a.dir
      size: 8437363
      nfiles: 2
"""


def test_example_from_the_spec_round_trips() -> None:
    stages = parse_lock(EXAMPLE)
    prep = stages["prepare"]
    assert prep.cmd == "python src/prepare.py data/data.xml"
    assert prep.deps == [HashInfo("data/data.xml", "22a1a2931c8370d3aeedd7183606fd7f", 14445097)]
    assert prep.outs[0].is_dir and prep.outs[0].nfiles == 2
    assert prep.params == {"params.yaml": {"prepare.seed": 20170428, "prepare.split": 0.2}}
    assert dump_lock(stages) == EXAMPLE


def test_layout_rules() -> None:
    stage = LockStage(
        cmd=["a", "b"],
        deps=[HashInfo("z.txt", "1" * 32, 1), HashInfo("a.txt", "2" * 32, 2, isexec=True)],
        params={"z.yaml": {"b": 1, "a": {"y": 1, "x": 2}}, "params.yaml": {"t.lr": 1, "s": 2}, "a.json": {"k": 0}},
        outs=[HashInfo("m", "3" * 32 + ".dir", 5, 2), HashInfo("legacy.bin", "4" * 32, 3, legacy=True)],
    )
    d = lock_stage_to_dict(stage)
    assert list(d) == ["cmd", "deps", "params", "outs"]
    assert [x["path"] for x in d["deps"]] == ["a.txt", "z.txt"]
    assert list(d["deps"][0]) == ["path", "hash", "md5", "size", "isexec"]
    assert list(d["params"]) == ["params.yaml", "a.json", "z.yaml"]
    assert list(d["params"]["params.yaml"]) == ["s", "t.lr"]
    assert list(d["params"]["z.yaml"]["a"]) == ["y", "x"]  # nested order kept: DVC sorts the top level only
    assert [x["path"] for x in d["outs"]] == ["legacy.bin", "m"]
    assert "hash" not in d["outs"][0] and list(d["outs"][1]) == ["path", "hash", "md5", "size", "nfiles"]
    assert list(lock_stage_to_dict(LockStage(cmd="x"))) == ["cmd"]


def test_dump_format_details() -> None:
    text = dump_lock({"s": LockStage(cmd="echo 'a: b' \"q\"", params={"params.yaml": {"l": [1, 2], "e": {}}})})
    assert text.startswith("schema: '2.0'\nstages:\n  s:\n")
    assert "    params:\n      params.yaml:\n        e: {}\n        l:\n        - 1\n        - 2\n" in text
    assert parse_lock(text)["s"].cmd == "echo 'a: b' \"q\""


_paths = st.from_regex(r"[a-z][a-z0-9_/.-]{0,12}", fullmatch=True)
_md5 = st.from_regex(r"[0-9a-f]{32}(\.dir)?", fullmatch=True)
_hashinfo = st.builds(
    lambda p, m, s, n, x, legacy: HashInfo(p, m, s, n if m.endswith(".dir") else None, x, legacy),
    _paths, _md5, st.integers(0, 2**40), st.integers(0, 10**6), st.booleans(), st.booleans(),
)
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20)
_scalar = (st.none() | st.booleans() | st.integers(-2**53, 2**53)
           | st.floats(allow_nan=False, allow_infinity=False) | _text)
_value = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(_text.filter(bool), inner, max_size=3), max_leaves=8)
_stage = st.builds(
    LockStage,
    cmd=_text.filter(bool) | st.lists(_text.filter(bool), min_size=1, max_size=3),
    deps=st.lists(_hashinfo, max_size=3, unique_by=lambda h: h.path),
    params=st.dictionaries(_paths, st.dictionaries(_text.filter(bool), _value, min_size=1, max_size=3),
                           max_size=3),
    outs=st.lists(_hashinfo, max_size=3, unique_by=lambda h: h.path),
)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_@-]{0,10}", fullmatch=True), _stage, min_size=1, max_size=3))
@settings(max_examples=60, deadline=None)
def test_dump_then_read_round_trips(stages: dict[str, LockStage]) -> None:
    text = dump_lock(stages)
    back = parse_lock(text)
    assert list(back) == list(stages)
    for name, stage in stages.items():
        assert lock_stage_to_dict(back[name]) == lock_stage_to_dict(stage)
    assert dump_lock(back) == text  # stable: a second write changes nothing


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "dvc.lock") == {}


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("schema: '2.0'\nstages:\n  s:\n    cmd: [x\n", "invalid YAML", 5),
        ("schema: '3.0'\nstages: {}\n", "invalid schema version '3.0'", 1),
        ("schema: '2.0'\nstages:\n  s:\n    deps: []\n", "stage 's': missing 'cmd'", 3),
        ("schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - md5: abc\n", "needs a 'path'", 6),
        ("schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n    - path: a\n      size: big\n", "must be integers", 6),
        ("- 1\n", "must be a mapping", 1),
        ("prepare:\n  cmd: x\n", "DVC 1.x", 1),
    ],
)
def test_malformed_lock_errors(tmp_path: Path, text: str, fragment: str, line: int) -> None:
    p = tmp_path / "dvc.lock"
    p.write_text(text)
    with pytest.raises(FormatError) as info:
        read_lock(p, display="dvc.lock")
    assert fragment in str(info.value) and info.value.line == line, str(info.value)
    assert str(info.value).startswith(f"dvc.lock:{line}: ")


def test_write_lock_creates_updates_removes(tmp_path: Path) -> None:
    p = tmp_path / "dvc.lock"
    a = LockStage(cmd="a", outs=[HashInfo("a.txt", "1" * 32, 1)])
    b = LockStage(cmd="b")
    assert write_lock(p, {"a": a}) is True
    assert write_lock(p, {"b": b}) is True
    assert list(read_lock(p)) == ["a", "b"]
    assert write_lock(p, {"a": LockStage(cmd="a2")}) is True
    assert list(read_lock(p)) == ["a", "b"] and read_lock(p)["a"].cmd == "a2"
    mtime = p.stat().st_mtime_ns
    assert write_lock(p, {"b": b}) is False and p.stat().st_mtime_ns == mtime
    assert write_lock(p, {}, remove=["a"]) is True
    assert list(read_lock(p)) == ["b"]
    assert not [f for f in os.listdir(tmp_path) if f != "dvc.lock"]  # no temp files left


def test_write_lock_refuses_to_clobber_a_malformed_lock(tmp_path: Path) -> None:
    p = tmp_path / "dvc.lock"
    p.write_text("schema: '2.0'\nstages: [\n")
    with pytest.raises(FormatError):
        write_lock(p, {"a": LockStage(cmd="a")})
    assert p.read_text() == "schema: '2.0'\nstages: [\n"


def test_lockfile_path() -> None:
    assert lockfile_path("dvc.yaml") == "dvc.lock" and lockfile_path("sub/dvc.yaml") == "sub/dvc.lock"


def test_write_lock_keeps_other_top_level_sections(tmp_path: Path) -> None:
    p = tmp_path / "dvc.lock"
    p.write_text("schema: '2.0'\ndatasets:\n- name: ds\n  type: dvc\n  url: x\nstages:\n  a:\n    cmd: a\n")
    assert write_lock(p, {"b": LockStage(cmd="b")}) is True
    assert p.read_text() == ("schema: '2.0'\ndatasets:\n- name: ds\n  type: dvc\n  url: x\nstages:\n  a:\n"
                             "    cmd: a\n  b:\n    cmd: b\n")
