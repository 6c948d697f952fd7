"""`show_json.indented_array_chunks`: the filtered ``show --json`` written record by record is byte for byte
``json.dumps(records, indent=2, ensure_ascii=False)`` (tests/test_cli_show_pushdown.py checks the CLI output)."""
from __future__ import annotations

import json
import random

from exptui.query.show_json import indented_array_chunks, json_array_chunks

_SAMPLES = [
    {}, {"a": []}, {"a": {}}, {"name": "ümlaut \u2028 tab\t nl\n quote\" back\\\\"},
    {"params": {"p.yaml": {"lr": 0.1, "layers": [1, [2, {"x": None}]], "flag": True}}, "metrics": {}},
    {"labels": ["a", "b"], "note": "", "facts": None, "created": "2026-12-07T00:00:00+00:00"},
]


def test_indented_chunks_equal_one_indented_dump() -> None:
    rng = random.Random(7)
    for n in range(0, 8):
        records = [rng.choice(_SAMPLES) for _ in range(n)]
        for indent in (2, 4):
            assert "".join(indented_array_chunks(iter(records), indent)) == json.dumps(records, indent=indent,
                                                                                      ensure_ascii=False)


def test_indented_chunks_yield_one_piece_per_record_lazily() -> None:
    made: list[int] = []

    def records():
        for i in range(3):
            made.append(i)
            yield {"i": i}

    chunks = indented_array_chunks(records())
    assert next(chunks).endswith('"i": 0\n  }') and made == [0]  # nothing built ahead of what was written
    assert len(list(chunks)) == 3  # two more records, then the closing bracket


def test_the_compact_array_chunks_still_equal_one_dump() -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in _SAMPLES]
    for chunk in (1, 2, 5, 2000):
        assert "".join(json_array_chunks(iter(lines), chunk)) == json.dumps(_SAMPLES, ensure_ascii=False)


class _Str(str):
    pass


class _Int(int):
    pass


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(12 if depth < 4 else 6)
    if kind == 0:
        return rng.choice(["", "a", "ümlaut", "quote\" back\\\\", "nl\n tab\t", "\x1b[31m\u202e\u2028", _Str("sub")])
    if kind == 1:
        return rng.choice([0, -3, 10**30, True, False, _Int(7)])
    if kind == 2:
        return rng.choice([0.1, -0.0, 1e300, 2.5e-8, float("nan"), float("inf"), -float("inf")])
    if kind == 3:
        return None
    if kind in (4, 5):
        return rng.choice([{}, [], ()])
    if kind in (6, 7, 8):
        keys = ["lr", "f1", "ümlaut", "a.b", "", _Str("k")] + ([1, 2.5, None, True] if rng.random() < 0.2 else [])
        return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randrange(1, 5))}
    items = [_random_value(rng, depth + 1) for _ in range(rng.randrange(1, 4))]
    return tuple(items) if kind == 9 else items


def test_dumps_indented_is_json_dumps_on_random_nested_values() -> None:
    """The C-encoder shortcut (`show_json.dumps_indented`) gives json's own indented text: nested dicts and lists,
    flat and mixed containers, tuples, empty ones, non-string keys, NaN/infinity, str/int subclasses, escapes."""
    from exptui.query.show_json import dumps_indented

    rng = random.Random(13)
    for _ in range(3000):
        value = _random_value(rng)
        for indent, level in ((2, 0), (2, 1), (4, 2)):
            expected = json.dumps(value, indent=indent, ensure_ascii=False).replace("\n", "\n" + " " * (indent * level))
            assert dumps_indented(value, indent, level) == expected, value
