"""Experiment refs, names, hashes and DVC queue messages; names checked with real `git check-ref-format`."""
from __future__ import annotations

import hashlib
import json
import random
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvc_compat.exp_refs import (
    ADJECTIVES,
    EXPS_NAMESPACE,
    NOUNS,
    baseline_prefix,
    commit_message,
    exp_hash,
    exp_ref,
    generate_name,
    is_valid_exp_name,
    legacy_exp_name,
    parse_commit_message,
    parse_dvc_stash_message,
    parse_exp_ref,
    validate_exp_name,
)

B = "c38578015cb4b6207dde4c093257777822c6558a"


def test_ref_layout_and_parse() -> None:
    ref = exp_ref(B, "boric-coal")
    assert ref == "refs/exps/c3/8578015cb4b6207dde4c093257777822c6558a/boric-coal"
    assert ref.startswith(EXPS_NAMESPACE + "/") and ref.startswith(baseline_prefix(B))
    assert parse_exp_ref(ref) == (B, "boric-coal")


@pytest.mark.parametrize(
    "ref",
    [
        "refs/exps/celery/stash", "refs/exps/celery/failed", "refs/exps/exec/EXEC_HEAD", "refs/exps/stash",
        "refs/exps/apply/ORIG_HEAD", "refs/exps/temp/head-abc", f"refs/exps/{B[:2]}/{B[2:]}",
        f"refs/exps/{B[:2]}/{B[2:]}/a/b", "refs/heads/main", f"refs/exps/{B[:3]}/{B[3:]}/x",
        "refs/exps/celery/abcdef0123/x",
        "refs/exps/exec/8578015cb4b6207dde4c093257777822c6558aaa/x", f"refs/exps/{B[:2]}/{B[2:]}/",
    ],
)
def test_parse_rejects_internal_and_malformed_refs(ref: str) -> None:
    assert parse_exp_ref(ref) is None


def _dvc_reads(ref: str) -> tuple[str, str] | None:
    """What the real DVC makes of `ref` when it lists experiments: `exp_refs` skips its internal namespaces
    (`_ignore_ref`), parses the rest with `ExpRefInfo.from_ref`, and reads each experiment back through
    `str(info)`; a ref without a name (4 parts, or an empty last part) is a baseline prefix, not an experiment."""
    from dvc.repo.experiments.exceptions import InvalidExpRefError
    from dvc.repo.experiments.refs import ExpRefInfo
    from dvc.repo.experiments.utils import _ignore_ref

    if not ref.startswith("refs/exps/") or _ignore_ref(ref):
        return None
    try:
        info = ExpRefInfo.from_ref(ref)
    except InvalidExpRefError:
        return None
    if not info.name or str(info) != ref:
        return None
    return info.baseline_sha, info.name


B256 = "c3" + "8578015cb4b6207dde4c093257777822c6558a" + "0" * 24
# the five inputs on which exptui once had two parsers that disagreed, and neighbours of them
DVC_CASES = [
    f"refs/exps/{B[:2]}/{B[2:]}/boric-coal",                        # plain
    f"refs/exps/zz/{B[2:]}/nonhex",                                  # non-hex baseline: DVC lists it
    f"refs/exps/{B256[:2]}/{B256[2:]}/sha256",                       # SHA-256 repository
    f"refs/exps/{B[:2]}/{B[2:]}/",                                   # empty name
    f"refs/exps/{B[:3]}/{B[3:]}/threeprefix",                       # does not round-trip: DVC cannot read it
    f"refs/exps/{B[:2]}/{B[2:]}",                                    # baseline prefix only
    f"refs/exps/{B[:2]}/{B[2:]}/a/b",                                # too deep: DVC's from_ref refuses it
    "refs/exps/celery/stash", "refs/exps/exec/EXEC_HEAD", "refs/exps/stash", "refs/exps/apply/ORIG_HEAD",
    "refs/exps/temp/x/y", "refs/heads/main",
]


@pytest.mark.dvc
@pytest.mark.parametrize("ref", DVC_CASES)
def test_parse_exp_ref_reads_refs_as_dvc_does(ref: str) -> None:
    assert parse_exp_ref(ref) == _dvc_reads(ref)


@pytest.mark.dvc
@pytest.mark.parametrize("ref", DVC_CASES)
def test_the_index_uses_the_same_parser(ref: str) -> None:
    from exptui.store import index

    assert index.parse_exp_ref(ref) == _dvc_reads(ref)


_PART = st.text(st.sampled_from("0123456789abcdefzA-_.x"), min_size=1, max_size=66)


@pytest.mark.dvc
@given(st.lists(_PART, min_size=1, max_size=4), st.sampled_from(["refs/exps/", "refs/exps/celery/", "refs/"]))
@settings(max_examples=400, deadline=None)
def test_parse_exp_ref_agrees_with_dvc_on_generated_refs(parts: list[str], prefix: str) -> None:
    ref = prefix + "/".join(parts)
    assert parse_exp_ref(ref) == _dvc_reads(ref)


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "empty"), ("a/b", "'/'"), ("a b", "a space"), ("a..b", "'..'"), ("a~1", "'~'"), ("a^", "'^'"),
     ("a:b", "':'"), ("a?", "'?'"), ("a*", "'*'"), ("a[", "'['"), ("a]", "']'"), ("a\\b", "'\\\\'"),
     ("x@{1}", "'@{'"), ("@", "'@'"), (".hidden", "starts with '.'"), ("end.", "ends with '.'"),
     ("name.lock", "ends with '.lock'"), ("tab\there", "control character"), ("del\x7f", "control character")],
)
def test_invalid_names_give_a_reason(name: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_exp_name(name)
    assert reason in str(info.value)


@given(st.text(st.characters(min_codepoint=1, max_codepoint=0x17F), min_size=1, max_size=12))
@settings(max_examples=300, deadline=None)
def test_valid_names_are_valid_git_refs(name: str) -> None:
    if is_valid_exp_name(name):
        proc = subprocess.run(["git", "check-ref-format", f"refs/exps/c3/{B[2:]}/{name}"], capture_output=True)
        assert proc.returncode == 0, name


def test_word_lists_are_our_own_shape() -> None:
    assert len(ADJECTIVES) >= 150 and len(NOUNS) >= 150
    assert all(len(w) == 5 and w.isalpha() and w.islower() for w in ADJECTIVES)
    assert all(len(w) == 4 and w.isalpha() and w.islower() for w in NOUNS)
    assert len(set(ADJECTIVES)) == len(ADJECTIVES) and len(set(NOUNS)) == len(NOUNS)


def test_generate_name_avoids_taken_and_is_seedable() -> None:
    taken: set[str] = set()
    for _ in range(300):
        name = generate_name(random.Random(len(taken)), taken.__contains__)
        assert name not in taken and is_valid_exp_name(name)
        adj, noun = name.split("-")
        assert adj in ADJECTIVES and noun in NOUNS
        taken.add(name)
    assert generate_name(random.Random(1), lambda n: False) == generate_name(random.Random(1), lambda n: False)


def test_generate_name_terminates_when_everything_is_taken() -> None:
    name = generate_name(random.Random(0), lambda n: n.count("-") == 1, max_tries=5)
    assert name.endswith("-2")


def test_exp_hash_and_messages() -> None:
    stages = {"train": {"cmd": "python t.py", "outs": [{"path": "m", "hash": "md5", "md5": "0" * 32, "size": 1}]}}
    h = exp_hash(stages)
    assert h == hashlib.sha256(json.dumps(stages, sort_keys=True).encode()).hexdigest()
    from dvc_compat.model import HashInfo, LockStage

    assert exp_hash({"train": LockStage(cmd="python t.py", outs=[HashInfo("m", "0" * 32, 1)])}) == h
    assert commit_message(h) == f"dvc: commit experiment {h}" and not commit_message(h).endswith("\n")
    assert parse_commit_message(commit_message(h)) == h
    assert parse_commit_message("dvc: commit experiment xyz") is None
    assert legacy_exp_name(h) == f"exp-{h[:5]}"


def test_parse_dvc_stash_messages() -> None:
    head = "a" * 40
    e = parse_dvc_stash_message(f"commit: dvc-exp:{head}:{B}:sunny-colt")
    assert e is not None and (e.rev, e.baseline_rev, e.name, e.branch) == (head, B, "sunny-colt", None)
    e = parse_dvc_stash_message(f"dvc-exp:{head}:{B}:")
    assert e is not None and e.name is None
    e = parse_dvc_stash_message(f"dvc-exp:{head}:{B}:n:refs/heads/feature")
    assert e is not None and e.name == "n" and e.branch == "refs/heads/feature"
    assert parse_dvc_stash_message("WIP on main: abc") is None
    assert parse_dvc_stash_message(f"dvc-exp:{head}") is None
