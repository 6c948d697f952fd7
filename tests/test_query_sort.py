"""Sorting: multi-key, stable, missing last, baseline groups, leaderboard, sort specs."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exptui.query.columns import ColumnIndex, collect_columns, field_column
from exptui.query.sort import SortKey, SortSpecError, group_rows, parse_sort_spec, sort_flat, sort_rows
from test_query_columns import make_row

T0 = datetime(2026, 11, 1, 12, 0)


def exp(name, f1=None, depth=None, baseline="main", created=None, **kw):
    metrics = {"metrics.yaml": {"f1": f1}} if f1 is not None else {}
    params = {"params.yaml": {"train.max_depth": depth}} if depth is not None else {}
    return make_row(name, metrics=metrics, params=params, baseline=baseline, created=created, **kw)


def cols(rows):
    return ColumnIndex(collect_columns(rows))


def test_multi_key_stable_missing_last() -> None:
    rows = [exp("a", 0.5, 3), exp("b", 0.9, 2), exp("c", None, 1), exp("d", 0.9, 1), exp("e", 0.5, None),
            exp("f", 0.7, 2, errors={"metrics.yaml": "bad"})]
    index = cols(rows)
    keys = parse_sort_spec("f1:desc,train.max_depth", index)
    assert [r.name for r in sort_flat(rows, keys)] == ["d", "b", "a", "e", "c", "f"]
    keys = parse_sort_spec("f1,train.max_depth:desc", index)
    assert [r.name for r in sort_flat(rows, keys)] == ["a", "e", "b", "d", "f", "c"]  # ties among absent f1 go by depth desc
    # descending still puts missing (c) and unreadable (f) last, in their original order
    assert [r.name for r in sort_flat(rows, parse_sort_spec("-f1", index))][-2:] == ["c", "f"]
    # no keys: original order
    assert sort_flat(rows, []) == rows


def test_nan_sorts_last_both_ways() -> None:
    rows = [exp("a", float("nan")), exp("b", 0.1), exp("c", 0.2)]
    index = cols(rows)
    assert [r.name for r in sort_flat(rows, parse_sort_spec("f1", index))] == ["b", "c", "a"]
    assert [r.name for r in sort_flat(rows, parse_sort_spec("f1 desc", index))] == ["c", "b", "a"]


def test_mixed_types_numbers_then_bools_then_text() -> None:
    rows = [make_row(n, params={"p.yaml": {"v": v}}) for n, v in [("s", "x"), ("n", 2), ("b", True), ("z", None), ("m", 1.5)]]
    keys = parse_sort_spec("v", cols(rows))
    assert [r.name for r in sort_flat(rows, keys)] == ["m", "n", "b", "s", "z"]


def test_sort_by_fields() -> None:
    rows = [exp("b", created=T0), exp("a", created=T0 + timedelta(hours=2)), exp("c")]
    index = cols(rows)
    assert [r.name for r in sort_flat(rows, parse_sort_spec("created:desc", index))] == ["a", "b", "c"]
    assert [r.name for r in sort_flat(rows, parse_sort_spec("name", index))] == ["a", "b", "c"]


@pytest.mark.parametrize("spec, ids", [
    ("metrics.yaml:f1:desc,train.max_depth",
     [("metrics:metrics.yaml:f1", True), ("params:params.yaml:train.max_depth", False)]),
    ("metrics:metrics.yaml:f1:asc", [("metrics:metrics.yaml:f1", False)]),
    ("-f1, +max_depth", [("metrics:metrics.yaml:f1", True), ("params:params.yaml:train.max_depth", False)]),
    ("f1 DESC", [("metrics:metrics.yaml:f1", True)]),
    ("created:desc", [("created", True)]),
    ("", []),
    (" , ", []),
])
def test_parse_sort_spec(spec, ids) -> None:
    index = cols([exp("a", 0.5, 3)])
    keys = parse_sort_spec(spec, index)
    assert [(k.column.id, k.descending) for k in keys] == ids
    assert parse_sort_spec(",".join(k.spec() for k in keys), index) == keys  # round trip


def test_parse_sort_spec_errors() -> None:
    index = cols([exp("a", 0.5, 3)])
    with pytest.raises(SortSpecError, match=r"sort: unknown column 'f2' \(did you mean 'f1'\?\)"):
        parse_sort_spec("f2:desc", index)


def _baseline(name, created):
    return make_row(name, kind="baseline", baseline=name, created=created)


def test_groups_head_first_then_newest() -> None:
    old = _baseline("old", T0 - timedelta(days=10))
    head = _baseline("main", T0 - timedelta(days=5))
    new = _baseline("feature", T0)
    rows = [
        exp("o1", 0.1, baseline="old", created=T0), old,
        exp("m1", 0.2, created=T0), exp("m2", 0.9, created=T0 + timedelta(minutes=1)), head,
        new, exp("n1", 0.5, baseline="feature"),
        exp("orphan", 0.3, baseline="gone", created=T0 - timedelta(days=1)),
    ]
    groups = group_rows(rows, head=head.rev)
    assert [g.name for g in groups] == ["main", "feature", "gone", "old"]
    assert groups[2].header is None and [r.name for r in groups[2].rows] == ["orphan"]
    keys = parse_sort_spec("f1:desc", cols(rows))
    assert [r.name for r in sort_rows(rows, keys, head=head.rev)] == [
        "main", "m2", "m1", "feature", "n1", "orphan", "old", "o1"]
    # without a head (and no workspace row) groups are simply newest first
    assert [g.name for g in group_rows(rows)] == ["feature", "gone", "main", "old"]


def test_workspace_row_first_and_defines_head() -> None:
    head = _baseline("main", T0 - timedelta(days=5))
    new = _baseline("feature", T0)
    ws = make_row("workspace", kind="workspace", baseline="main")
    rows = [new, head, exp("m1", 0.2), ws]
    assert [r.name for r in sort_rows(rows)] == ["workspace", "main", "m1", "feature"]


def test_leaderboard_mode_sorts_everything_together() -> None:
    rows = [_baseline("main", T0), exp("a", 0.5), exp("b", 0.9, baseline="other"), _baseline("other", T0)]
    rows[0].metrics = {"metrics.yaml": {"f1": 0.7}}
    keys = parse_sort_spec("f1:desc", cols(rows))
    assert [r.name for r in sort_rows(rows, keys, within_baseline=False)] == ["b", "main", "a", "other"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False)),
                          st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))), min_size=0, max_size=25),
       st.booleans(), st.booleans())
def test_sort_matches_reference(values, desc1, desc2) -> None:
    """Against a reference: present values ordered, missing last per key, ties stable."""
    rows = [make_row(f"r{i}", metrics={"m.json": {"x": x}} if x is not None else {},
                     params={"p.yaml": {"s": s}} if s is not None else {}) for i, (x, s) in enumerate(values)]
    rows.append(make_row("anchor", metrics={"m.json": {"x": 0}}, params={"p.yaml": {"s": "a"}}))
    values = [*values, (0, "a")]
    keys = [SortKey(c, d) for c, d in zip(collect_columns(rows), (desc1, desc2))]
    got = [int(r.name[1:]) if r.name != "anchor" else len(values) - 1 for r in sort_flat(rows, keys)]

    def cmp_key(a, b, desc):
        if a is None or b is None:
            return (a is None) - (b is None)  # absent last, whatever the direction
        c = (a > b) - (a < b)
        return -c if desc else c

    def cmp(i, j):
        for k, desc in ((0, desc1), (1, desc2)):
            c = cmp_key(values[i][k], values[j][k], desc)
            if c:
                return c
        return i - j  # stable

    assert got == sorted(range(len(values)), key=functools.cmp_to_key(cmp))


def test_field_column_of_alias() -> None:
    assert field_column("labels").key == "label"
