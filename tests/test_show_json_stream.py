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
