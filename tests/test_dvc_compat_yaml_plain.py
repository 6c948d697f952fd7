"""`dvc_compat.yaml_plain.load_plain` (the cold listing's fast params reader) gives exactly what `load_yaml` gives,
or None: generated documents of plain mappings with every kind of scalar, and documents just outside the subset."""
from __future__ import annotations

import math
import random
from typing import Any

import pytest

from dvc_compat.errors import FormatError
from dvc_compat.yaml_plain import load_plain
from dvc_compat.yamlio import load_yaml

SCALARS = [
    "1", "-1", "+1", "0", "007", "1_000", "0x1F", "0o17", "0b101", "0x_", "1.5", "-0.25", ".5", "1.", "1e3", "1E-3",
    "1.5e+3", "-.inf", ".Inf", "+.INF", ".nan", ".NaN", "._", "true", "True", "TRUE", "false", "yes", "no", "on",
    "off", "y", "n", "~", "null", "Null", "NULL", "nil", "None", "2020-01-01", "2020-1-1 10:00:00", "lgbm",
    "random_forest", "a b", "a  b", "x-y", "-x", "-", "--", "- 1", "=", "<<", "a=b", "/tmp/x", "~/x", "...", "---",
    "1/2", "e5", "inf", "nan", "0.1.2", "1__0", "_1", "+", ".", "a.b.c", "1-2", "12:30", "a: b", "a#b", "'q'", '"q"',
    "[1, 2]", "{a: 1}", "&a 1", "*a", "!!str 1", "|", ">", "%x", "@x", "`x`", "a,b", "ü", "a\tb", "? x",
]
KEYS = ["lr", "train", "max_depth", "model.name", "a-b", "_x", "true", "null", "1", "e1", "y", "yes", "on", "x y",
        "seed", "n_estimators", "~", "<<", "-a", "a.b"]


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _reference(text: str) -> Any:
    try:
        return load_yaml(text.encode(), "params.yaml")
    except FormatError:
        return FormatError


def _doc(rng: random.Random, depth: int = 0, indent: int = 0) -> list[str]:
    lines = []
    for _ in range(rng.randint(1, 4)):
        key = rng.choice(KEYS)
        pad = " " * indent
        r = rng.random()
        if r < 0.25 and depth < 3:
            lines.append(f"{pad}{key}:" + rng.choice(["", "  # section", " "]))
            lines += _doc(rng, depth + 1, indent + rng.choice([2, 4]))
        elif r < 0.3:
            lines.append(f"{pad}{key}:")  # null
        else:
            value = rng.choice(SCALARS)
            comment = rng.choice(["", "", "  # note", " #x", "#x"])
            lines.append(f"{pad}{key}: {value}{comment}")
        if rng.random() < 0.1:
            lines.append(rng.choice(["", "# a comment", "  # indented comment", "   "]))
    return lines


@pytest.mark.parametrize("seed", range(4))
def test_generated_documents_read_the_same_or_fall_back(seed: int) -> None:
    rng = random.Random(seed)
    accepted = 0
    for _ in range(1500):
        text = "\n".join(_doc(rng)) + rng.choice(["\n", "", "\n\n"])
        got = load_plain(text.encode())
        if got is None:
            continue
        accepted += 1
        want = _reference(text)
        assert want is not FormatError, f"accepted a document the reference refuses:\n{text}"
        assert _same(got, want), f"{text!r}: {got!r} != {want!r}"
    assert accepted > 100  # (the scalars above are mostly odd ones: a document with any of those falls back)


@pytest.mark.parametrize("text", [
    "train:\n  lr: 0.1\n  epochs: 3\nseed: 1\n",
    "train:\n  lr: 0.1  # learning rate\n  epochs: 3\nseed: 1\n",
    "a:\n    b:\n        c: 1\n    d: 2\ne: 3\n",
    "a:\nb: 1\n",
    "a: 1\n\n\n# end\n",
])
def test_typical_params_files_are_read_by_the_fast_reader(text: str) -> None:
    got = load_plain(text.encode())
    assert got is not None and _same(got, load_yaml(text.encode(), "params.yaml"))


@pytest.mark.parametrize("text", [
    "", "# only a comment\n", "a: 1\na: 2\n", "  a: 1\n", "a:\n  b: 1\n c: 2\n", "a: 1\n  b: 2\n", "a:\n- 1\n",
    "a: [1, 2]\n", "a: 'x'\n", "a: &x 1\nb: *x\n", "---\na: 1\n", "a:\tb\n", "a: 1\r\n", "\ufeffa: 1\n", "a: ü\n",
    "a: b\n  c\n", "a: 2020-01-01\n", "a: =\n", "<<: 1\n", "a: x: y\n", "a: -\n",
])
def test_anything_else_falls_back_to_the_reference(text: str) -> None:
    assert load_plain(text.encode()) is None
