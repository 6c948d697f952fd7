"""Experiment ref names, names, hashes and commit messages as DVC 3 writes them.

* a finished experiment is ``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>`` (baseline = full commit sha);
* DVC lists refs under ``refs/exps/`` that split into exactly 4 or 5 parts and skips its internal namespaces
  (``apply``, ``celery``, ``exec``, ``temp``, and ``refs/exps/stash``); `parse_exp_ref` applies the same rules;
* the commit message is ``dvc: commit experiment <exp_hash>`` (no trailing newline), where `exp_hash` is the
  sha256 of the JSON (sorted keys, default separators) of ``{stage name: dvc.lock entry}``;
* generated names are ``<five-letter adjective>-<four-letter noun>`` (word lists of our own), redrawn while
  taken under the baseline;
* DVC's own queue stores entries as stash commits with message ``dvc-exp:<rev>:<baseline_rev>:<name>[:<branch>]``.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Mapping

__all__ = [
    "EXPS_NAMESPACE",
    "EXPS_INTERNAL",
    "EXPS_STASH",
    "CELERY_STASH",
    "CELERY_FAILED",
    "ADJECTIVES",
    "NOUNS",
    "exp_ref",
    "baseline_prefix",
    "parse_exp_ref",
    "MAX_NAME_BYTES",
    "validate_exp_name",
    "is_valid_exp_name",
    "generate_name",
    "exp_hash",
    "legacy_exp_name",
    "commit_message",
    "parse_commit_message",
    "DvcStashEntry",
    "parse_dvc_stash_message",
]

from dvc_compat.ref_names import EXPS_NAMESPACE  # noqa: E402 - spelled there, apart (see that module)
EXPS_INTERNAL = ("apply", "celery", "exec", "temp")
"""Sub-namespaces of refs/exps that belong to DVC's machinery (never experiments)."""
EXPS_STASH = f"{EXPS_NAMESPACE}/stash"
CELERY_STASH = f"{EXPS_NAMESPACE}/celery/stash"
"""DVC's own queue: one reflog entry per queued run (`dvc exp run --queue`)."""
CELERY_FAILED = f"{EXPS_NAMESPACE}/celery/failed"
"""One reflog entry per queued run that failed, pointing at its stash commit."""
COMMIT_PREFIX = "dvc: commit experiment "
_HEX = re.compile(r"^[0-9a-f]+$")

ADJECTIVES: tuple[str, ...] = tuple("""
agile alert amber ample azure balmy basic beefy bland blunt brave brief brisk broad brown bumpy bushy civic
clean clear close comfy coral crisp curly dandy dense dizzy dusky dusty eager early elder fancy fizzy fleet
fluid foamy focal frank fresh fuzzy giant grand great green handy happy hardy hasty hazel hefty hilly humid
husky ideal inner jazzy jolly juicy jumbo lanky large leafy level light lilac loamy local lofty loose lucid
lucky lunar magic major mauve merry misty mossy muddy naval nifty noble novel oaken olive outer plaid plain
plump plush polar prime proud quick quiet rapid ready regal rigid rocky rough round royal ruddy rural rusty
salty sandy sharp shiny short silky sleek slick small smart smoky snowy solar solid sonic spare spicy spiky
stark steep still stony sunny super sweet swift tangy tawny tepid terse thick tidal tight timid total tough
ultra upper urban usual vivid windy witty woody young zesty zippy
""".split())

NOUNS: tuple[str, ...] = tuple("""
acre apex arch atom axis bark barn bead beam bean bear beet bell bird boat bolt bond book boot bowl brim bulb
cake calf cape card cart cave cell chip clam clay coat code coin comb cone cord core cove crab crew crow cube
dawn deck deer desk dial dove drum duck dune dust echo edge fern film fire fish flag foam fork frog gate gear
glen glow goat gold grid gulf hare harp hawk helm herb hill hive hood horn iris iron isle jade jazz kale kelp
kite knot lake lamp lark lava leaf lime line lion loaf loom lynx mane maze mesa mill mint mist moon moss moth
nest node note opal orca oven palm park path peak pear pine plum pond pony pool port quay rain reed reef ring
road robe rock roof root rope rose ruby sage sail salt sand seal seed shed ship silk snow soil song soup spur
star stem swan tail tide tile toad tree tune vale vane vase veil vine wave whey wing wolf wood wool yard yarn
yeti zinc
""".split())


def _check_baseline(baseline: str) -> None:
    if len(baseline) not in (40, 64) or not _HEX.match(baseline):
        raise ValueError(f"baseline must be a full lowercase hex commit sha, got {baseline!r}")


def baseline_prefix(baseline_sha: str) -> str:
    """``refs/exps/ab/cdef.../``: the prefix under which all experiments of a baseline live."""
    _check_baseline(baseline_sha)
    return f"{EXPS_NAMESPACE}/{baseline_sha[:2]}/{baseline_sha[2:]}/"


def exp_ref(baseline_sha: str, name: str) -> str:
    """The full ref of experiment `name` run from `baseline_sha` (validated)."""
    validate_exp_name(name)
    return baseline_prefix(baseline_sha) + name


def parse_exp_ref(ref: str) -> tuple[str, str] | None:
    """(baseline, name) of an experiment ref, read as DVC reads it; None for DVC-internal refs and anything else.

    DVC's listing (`exp_refs`) skips its internal namespaces, splits the rest with `ExpRefInfo.from_ref` (4 or 5
    parts; the baseline is parts 3 + 4, never checked for hex or length, so SHA-256 repositories and odd refs
    are listed) and reads each experiment back through ``str(info)``, which only round-trips a 2-character first
    part. A ref without a name (4 parts) is a baseline prefix, not an experiment.
    """
    parts = ref.split("/")
    if len(parts) != 5 or parts[0] != "refs" or parts[1] != "exps" or parts[2] in EXPS_INTERNAL:
        return None
    b1, b2, name = parts[2], parts[3], parts[4]
    if len(b1) != 2 or not b2 or not name:
        return None
    return b1 + b2, name


_BAD_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\]\\/]")
MAX_NAME_BYTES = 250
"""Longest experiment name in UTF-8 bytes: the ref is a file named after it, and git writes ``<name>.lock`` first,
which must fit the 255-byte file-name limit of common file systems (a longer name fails when the run is
recorded, after the whole pipeline ran)."""


def validate_exp_name(name: str) -> None:
    """Raise ValueError with the reason if `name` cannot be an experiment name.

    git ref component rules (no control characters, space, ``~ ^ : ? * [ \\``, no ``..``, no ``@{``, not
    starting with ``.``, not ending with ``.`` or ``.lock``, not ``@``) plus: no ``/`` (DVC's rule), no ``]``
    (DVC's queue cannot carry it) and at most `MAX_NAME_BYTES` bytes. These are format rules, for names being
    created; listing accepts whatever ref DVC wrote.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("experiment name must not be empty")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"invalid experiment name {name!r}: it is not valid UTF-8 text") from None
    if size > MAX_NAME_BYTES:
        raise ValueError(f"invalid experiment name {name[:20] + '...'!r}: it is {size} bytes long; the limit is "
                         f"{MAX_NAME_BYTES} bytes (UTF-8)")
    m = _BAD_CHARS.search(name)
    if m:
        ch = m.group(0)
        what = {"/": "'/'", " ": "a space"}.get(ch, repr(ch) if ch.isprintable() else "a control character")
        raise ValueError(f"invalid experiment name {name!r}: it contains {what}")
    if ".." in name:
        raise ValueError(f"invalid experiment name {name!r}: it contains '..'")
    if "@{" in name:
        raise ValueError(f"invalid experiment name {name!r}: it contains '@{{'")
    if name == "@":
        raise ValueError("invalid experiment name '@'")
    if name.startswith("."):
        raise ValueError(f"invalid experiment name {name!r}: it starts with '.'")
    if name.endswith("."):
        raise ValueError(f"invalid experiment name {name!r}: it ends with '.'")
    if name.endswith(".lock"):
        raise ValueError(f"invalid experiment name {name!r}: it ends with '.lock'")


def is_valid_exp_name(name: str) -> bool:
    try:
        validate_exp_name(name)
    except ValueError:
        return False
    return True


def generate_name(rng: random.Random, taken: Callable[[str], bool], max_tries: int = 1000) -> str:
    """``<adjective>-<noun>`` not yet taken (``taken(name)`` is asked for each draw).

    After `max_tries` taken draws (only with tens of thousands of experiments on one baseline) a numeric
    suffix is added so that the call always ends.
    """
    name = ""
    for _ in range(max_tries):
        name = f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"
        if not taken(name):
            return name
    n = 2
    while taken(f"{name}-{n}"):
        n += 1
    return f"{name}-{n}"


def exp_hash(stages: Mapping[str, Any]) -> str:
    """sha256 of ``json.dumps(stages, sort_keys=True)``: stages maps the name of each stage the run reproduced
    (ran or restored; DVC counts callback stages, which always run) to its dvc.lock entry, given as the dict
    `lockfile.lock_stage_to_dict` returns or as a `LockStage`."""
    from dvc_compat.lockfile import lock_stage_to_dict
    from dvc_compat.model import LockStage

    data = {name: lock_stage_to_dict(s) if isinstance(s, LockStage) else s for name, s in stages.items()}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def legacy_exp_name(hash_: str) -> str:
    """The pre-2.38 DVC name ``exp-<first 5 of exp_hash>``."""
    return f"exp-{hash_[:5]}"


def commit_message(hash_: str) -> str:
    """``dvc: commit experiment <hash>`` (no trailing newline)."""
    return f"{COMMIT_PREFIX}{hash_}"


def parse_commit_message(message: str) -> str | None:
    """The exp_hash of a DVC experiment commit message, or None."""
    msg = message.strip()
    if msg.startswith(COMMIT_PREFIX):
        h = msg[len(COMMIT_PREFIX) :]
        if len(h) == 64 and _HEX.match(h):
            return h
    return None


@dataclass(frozen=True)
class DvcStashEntry:
    """One entry of DVC's own queue (``refs/exps/celery/stash`` reflog)."""

    rev: str                    # the head rev the experiment was queued from
    baseline_rev: str
    name: str | None
    branch: str | None = None


_STASH_RE = re.compile(
    r"^dvc-exp:(?P<rev>[0-9a-f]+):(?P<baseline>[0-9a-f]+)(?::(?P<name>[^~^:\\?\[\]*]*))?(?::(?P<branch>.+))?$"
)


def parse_dvc_stash_message(message: str) -> DvcStashEntry | None:
    """Parse ``[commit: ]dvc-exp:<rev>:<baseline_rev>:<name>[:<branch>]``; None if it is not one."""
    msg = message.strip()
    if msg.startswith("commit: "):
        msg = msg[len("commit: ") :]
    m = _STASH_RE.match(msg)
    if not m:
        return None
    return DvcStashEntry(rev=m["rev"], baseline_rev=m["baseline"], name=m["name"] or None, branch=m["branch"])
