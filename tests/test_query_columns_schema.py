"""`columns.schema_of` + `columns_from_schemas` (the index's per-column store, issue 13) give exactly the columns
`collect_columns` gives over the rows themselves: the same columns, order, labels and kinds, so a listing that
reads only a filter's columns still resolves names and formats cells as the full table does."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

from exptui.query.columns import collect_columns, columns_from_schemas, schema_of
from exptui.records import ExperimentRow

_VALUES: list[Any] = [0, 1, 2.5, float("nan"), True, False, None, "adam", "", [1, 2], ("a",),
                      datetime(2026, 1, 2, tzinfo=timezone.utc), {"x": 1, "y": {"z": "deep"}}, {}]
_KEYS = ["lr", "train.lr", "epochs", "f1", "acc", "model", "seed", "train"]
_FILES = ["params.yaml", "conf/train.yaml", "metrics.json", "eval/m.json"]


def _random_row(rng: random.Random, i: int) -> ExperimentRow:
    def files() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for file in rng.sample(_FILES, rng.randint(0, 3)):
            if rng.random() < 0.05:
                out[file] = ["not", "a", "mapping"]
                continue
            out[file] = {key: rng.choice(_VALUES) for key in rng.sample(_KEYS, rng.randint(0, 5))}
        return out

    return ExperimentRow(name=f"e{i}", rev=f"{i:040x}", baseline="0" * 40, params=files(), metrics=files())


def _described(columns: list) -> list[tuple]:
    return [(c.family, c.file, c.key, c.label, c.kind) for c in columns]


def test_columns_from_schemas_equal_collect_columns_on_random_rows() -> None:
    rng = random.Random(13)
    for _ in range(300):
        rows = [_random_row(rng, i) for i in range(rng.randint(0, 12))]
        want = collect_columns(rows)
        got = columns_from_schemas(schema_of(r.metrics, r.params) for r in rows)
        assert _described(got) == _described(want)


def test_a_repeated_schema_adds_nothing_and_order_is_first_seen() -> None:
    a = ExperimentRow(name="a", rev="1" * 40, baseline="0" * 40, params={"p.yaml": {"b": 1, "a": "x"}})
    b = ExperimentRow(name="b", rev="2" * 40, baseline="0" * 40, params={"p.yaml": {"a": 2, "c": 1}},
                      metrics={"m.json": {"f1": 0.5}})
    schemas = [schema_of(r.metrics, r.params) for r in (a, b, a, b)]
    got = columns_from_schemas(schemas)
    assert _described(got) == _described(collect_columns([a, b]))
    assert [c.key for c in got] == ["f1", "b", "a", "c"]
    assert {c.key: c.kind for c in got}["a"] == "mixed"  # text in one row, a number in the other
