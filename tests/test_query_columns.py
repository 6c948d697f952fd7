"""Columns: ids, labels, kinds, header groups, values with MISSING/ERROR, resolution.

Also home of `make_row`, the row builder the other test_query_* modules import: the
query layer is pure, so rows are built directly (no git needed).
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import pytest

from exptui.records import Annotations, ExperimentRow, RunFacts
from exptui.query.columns import (
    ERROR,
    MISSING,
    ColumnIndex,
    ColumnLookupError,
    collect_columns,
    column_groups,
    field_column,
)


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def make_row(
    name: str,
    *,
    params: dict[str, dict[str, Any]] | None = None,
    metrics: dict[str, dict[str, Any]] | None = None,
    kind: str = "experiment",
    status: str = "success",
    baseline: str = "main",
    created: datetime | None = None,
    starred: bool = False,
    labels: tuple[str, ...] = (),
    note: str = "",
    errors: dict[str, str] | None = None,
    facts: RunFacts | None = None,
) -> ExperimentRow:
    """A row; `baseline` is the baseline's *name*, its sha is derived from it."""
    base_sha = sha(f"baseline:{baseline}")
    rev = base_sha if kind == "baseline" else sha(f"exp:{name}")
    return ExperimentRow(
        name=name, rev=rev, baseline=base_sha, kind=kind, status=status,  # type: ignore[arg-type]
        baseline_name=baseline, created=created, params=params or {}, metrics=metrics or {},
        errors=errors or {}, annotations=Annotations(starred, labels, note), facts=facts,
        ref=None if kind == "baseline" else f"refs/exps/{base_sha[:2]}/{base_sha[2:]}/{name}",
    )


def test_ids_labels_and_kinds() -> None:
    rows = [
        make_row("a", params={"params.yaml": {"train.lr": 0.1, "model": "rf", "seed": 1}},
                 metrics={"metrics.json": {"f1": 0.5, "loss": 1.0}}),
        make_row("b", params={"params.yaml": {"train.lr": 0.2, "model": 3, "seed": 2}},
                 metrics={"metrics.json": {"f1": 0.6}, "eval/metrics.json": {"f1": 0.4, "status": "ok"}}),
    ]
    cols = collect_columns(rows)
    by_id = {c.id: c for c in cols}
    assert [c.id for c in cols] == [
        "metrics:metrics.json:f1", "metrics:metrics.json:loss",
        "metrics:eval/metrics.json:f1", "metrics:eval/metrics.json:status",
        "params:params.yaml:train.lr", "params:params.yaml:model", "params:params.yaml:seed",
    ]
    # f1 is in two files -> file:key; status collides with the fixed field -> file:key
    assert by_id["metrics:metrics.json:f1"].label == "metrics.json:f1"
    assert by_id["metrics:eval/metrics.json:f1"].label == "eval/metrics.json:f1"
    assert by_id["metrics:eval/metrics.json:status"].label == "eval/metrics.json:status"
    assert by_id["params:params.yaml:train.lr"].label == "train.lr"
    assert by_id["params:params.yaml:train.lr"].kind == "numeric"
    assert by_id["params:params.yaml:model"].kind == "mixed"
    assert by_id["metrics:eval/metrics.json:status"].kind == "text"


def test_same_file_key_in_both_families_gets_full_ids() -> None:
    rows = [make_row("a", params={"x.yaml": {"k": 1}}, metrics={"x.yaml": {"k": 2}})]
    labels = sorted(c.label for c in collect_columns(rows))
    assert labels == ["metrics:x.yaml:k", "params:x.yaml:k"]


def test_nested_dicts_are_flattened() -> None:
    rows = [make_row("a", params={"params.yaml": {"train": {"lr": 0.1, "opt": {"name": "adam"}}, "empty": {}}})]
    cols = collect_columns(rows)
    assert [c.key for c in cols] == ["train.lr", "train.opt.name"]
    assert cols[1].value(rows[0]) == "adam"
    assert cols[0].value(rows[0]) == 0.1


def test_values_missing_and_error() -> None:
    ok = make_row("ok", metrics={"m.json": {"f1": 0.5}})
    missing_key = make_row("nokey", metrics={"m.json": {}})
    missing_file = make_row("nofile")
    broken = make_row("broken", errors={"m.json": "while parsing a flow mapping, line 3"})
    (col,) = collect_columns([ok])
    assert col.value(ok) == 0.5
    assert col.value(missing_key) is MISSING
    assert col.value(missing_file) is MISSING
    assert col.value(broken) is ERROR
    assert not MISSING and not ERROR and MISSING is not ERROR
    assert (MISSING.text, ERROR.text) == ("-", "!")


def test_field_columns() -> None:
    row = make_row("x", starred=True, labels=("a", "b"), note="", created=datetime(2026, 1, 2),
                   facts=RunFacts(duration=62.0, host="box"))
    assert field_column("name").value(row) == "x"
    assert field_column("starred").value(row) is True
    assert field_column("labels").value(row) == ("a", "b")
    assert field_column("note").value(row) is MISSING
    assert field_column("duration").value(row) == 62.0
    assert field_column("host").value(row) == "box"
    assert field_column("python").value(row) is MISSING
    assert field_column("baseline").value(row) == "main"


def test_column_groups_follow_family_and_file() -> None:
    rows = [make_row("a", params={"p.yaml": {"a": 1, "b": 2}, "q.yaml": {"c": 3}}, metrics={"m.json": {"f1": 1}})]
    cols = collect_columns(rows)
    groups = column_groups(cols)
    assert [(g.family, g.file, g.start, len(g.columns)) for g in groups] == [
        ("metrics", "m.json", 0, 1), ("params", "p.yaml", 1, 2), ("params", "q.yaml", 3, 1)]
    assert column_groups([]) == []


def test_resolution_forms_and_errors() -> None:
    rows = [make_row("a", params={"params.yaml": {"train.lr": 0.1, "train.max_depth": 3}, "other.yaml": {"lr": 1},
                                    "third.yaml": {"lr": 2}},
                     metrics={"metrics.json": {"f1": 0.5}})]
    index = ColumnIndex(collect_columns(rows))
    f1 = index.resolve("f1")
    assert f1.id == "metrics:metrics.json:f1"
    assert index.resolve("metrics:metrics.json:f1") is f1
    assert index.resolve("metrics.json:f1") is f1
    assert index.resolve("metrics:f1") is f1
    assert index.resolve("max_depth").key == "train.max_depth"  # unique dotted suffix
    assert index.resolve("train.lr").file == "params.yaml"
    assert index.resolve("status").is_field
    assert index.resolve("labels").key == "label"
    with pytest.raises(ColumnLookupError, match=r"ambiguous column 'lr'.*other.yaml:lr.*third.yaml:lr"):
        index.resolve("lr")
    with pytest.raises(ColumnLookupError, match=r"unknown column 'f2' \(did you mean 'f1'\?\)"):
        index.resolve("f2")


def test_columns_pickle_and_copy_with_cached_getters() -> None:
    import copy
    import pickle

    row = make_row("a", metrics={"m.json": {"f1": 0.5}})
    (col,) = collect_columns([row])
    assert col.getter() is col.getter() and col.value(row) == 0.5
    for clone in (pickle.loads(pickle.dumps(col)), copy.deepcopy(col)):
        assert clone == col and clone.label == col.label and clone.value(row) == 0.5


def test_fields_aliases_and_clashing_keys() -> None:
    rows = [make_row("a", params={"p.yaml": {"name": "resnet", "a:b": 1}}, metrics={"m.json": {"time": 3.5}})]
    cols = {c.id: c for c in collect_columns(rows)}
    # a key named like a fixed field gets file:key; a key named like an alias keeps its bare label
    assert cols["params:p.yaml:name"].label == "p.yaml:name"
    assert cols["metrics:m.json:time"].label == "time"
    index = ColumnIndex(cols.values())
    assert index.resolve("name").is_field
    assert index.resolve("p.yaml:name").id == "params:p.yaml:name"
    assert index.resolve("time").id == "metrics:m.json:time"      # the real column beats the alias
    assert index.resolve("timestamp").key == "created"              # aliases still work
    assert index.resolve("a:b").id == "params:p.yaml:a:b"           # keys may contain ':'
    assert index.resolve("params:p.yaml:a:b").value(rows[0]) == 1


def test_a_file_name_is_not_a_column() -> None:
    index = ColumnIndex(collect_columns([make_row("a", params={"params.yaml": {"train.lr": 0.1}})]))
    with pytest.raises(ColumnLookupError, match=r"'params.yaml' is a file, not a column: .* 'params.yaml:train.lr'"):
        index.resolve("params.yaml")
