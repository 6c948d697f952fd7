"""The DataFrame mask compiler (`exptui.query.mask`) against the row-by-row predicate.

The row predicate of `exptui.query.filter` defines what a filter means (its own tests pin
that); the mask must pick exactly the same rows. Hypothesis generates tables whose cells mix
every kind of value a params/metrics file can hold (ints, floats with NaN/inf/-0.0, ints
beyond 2**53, bools, null, text, lists, dicts, missing, unreadable files) plus the fixed
fields, and filters over them from the whole language; both evaluations must agree row for row.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exptui.errors import ExptuiError
from exptui.query.columns import collect_columns
from exptui.query.filter import FilterError, compile_filter
from exptui.query.frame import C_BIGINT, C_BOOL, C_FLOAT, C_INT, C_MISSING, C_STR, TableFrame, classify
from exptui.query.columns import ERROR, MISSING
from exptui.query.mask import compile_mask
from exptui.query.table import ENGINES, TableModel
from exptui.records import RunFacts
from test_query_columns import make_row

T0 = datetime(2026, 11, 20, 12, 0)
CELLS = st.one_of(
    st.sampled_from([0, 1, 2, -1, 3, 2**53, 2**53 + 1, -(2**60), 10**30]),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 1.0000000001, 2.5, -1.0, float("nan"), float("inf"), float("-inf"),
                     1e300, 3.0000000000000004]),
    st.booleans(),
    st.none(),
    st.sampled_from(["rf", "lgbm", "RF", "a b", "x'y", "", "1", "true", "null", "exp-1", "ünï"]),
    st.sampled_from([[1, 2], ["rf"], {"a": 1}, []]),
)
KEYS = ["a", "b", "model", "f1"]
NUMBERS = ["0", "1", "2", "-1", "0.5", "1.0", "2.5", "1e300", "9007199254740993", "1e999", "3", "1.0000000001"]
TEXTS = ["'rf'", "'RF'", "rf", "'a b'", "'x\\'y'", "''", "'1'", "'exp'", "'null'", "'ünï'"]
FIELDS = ["status", "kind", "name", "starred", "label", "rev", "baseline", "created", "duration", "note"]


@st.composite
def tables(draw):
    rows = []
    for i in range(draw(st.integers(0, 10))):
        params = {k: draw(CELLS) for k in KEYS[:2] if draw(st.booleans())}
        metrics = {k: draw(CELLS) for k in KEYS[2:] if draw(st.booleans())}
        errors = {"m.json": "unreadable"} if draw(st.integers(0, 6)) == 0 else {}
        rows.append(make_row(
            draw(st.sampled_from(["exp-1", "Fast-LR", "slow", "ünï", "a b"])) + f"-{i}",
            params={"p.yaml": params}, metrics={"m.json": metrics}, errors=errors,
            kind=draw(st.sampled_from(["experiment", "baseline", "queued"])),
            status=draw(st.sampled_from(["success", "failed", "queued"])),
            baseline=draw(st.sampled_from(["main", "v1"])),
            created=draw(st.sampled_from([None, T0, T0 - timedelta(days=3)])),
            starred=draw(st.booleans()), labels=tuple(draw(st.lists(st.sampled_from(["keep", "v2"]), max_size=2,
                                                                   unique=True))),
            note=draw(st.sampled_from(["", "good", "RF run"])),
            facts=draw(st.sampled_from([None, RunFacts(duration=62.0), RunFacts(duration=600)])),
        ))
    return rows


@st.composite
def filters(draw, depth: int = 0):
    choice = draw(st.integers(0, 8 if depth < 3 else 5))
    ref = draw(st.sampled_from(KEYS + FIELDS))
    if choice == 0:
        return f"{ref} {draw(st.sampled_from(['==', '!=', '<', '<=', '>', '>=']))} {draw(st.sampled_from(NUMBERS))}"
    if choice == 1:
        return f"{ref} {draw(st.sampled_from(['==', '!=', '<', '>=', '~=']))} {draw(st.sampled_from(TEXTS))}"
    if choice == 2:
        lits = draw(st.lists(st.sampled_from(NUMBERS + TEXTS + ["true", "null", "'failed'", "'Queued'"]),
                             max_size=3))
        return f"{ref} {'not in' if draw(st.booleans()) else 'in'} [{', '.join(lits)}]"
    if choice == 3:
        what = draw(st.sampled_from(["missing", "not missing", "null", "not null", "true", "false"]))
        return f"{ref} is {what}"
    if choice == 4:
        return draw(st.sampled_from(["is starred", "has label 'keep'", "'exp'", "'LR'", "has note",
                                     "status == 'Failed'", "created > '2026-11-19'", "duration < '5m'",
                                     "rev == '" + "0" * 4 + "'", "baseline == 'main'", "starred"]))
    if choice == 5:
        return f"{ref} ~= {draw(st.sampled_from(['r', '^R', 'b$', '1', 'tru', 'nu', '[', 'e-1']))!r}"
    left, right = draw(filters(depth + 1)), draw(filters(depth + 1))
    if choice == 6:
        return f"({left}) and ({right})"
    if choice == 7:
        return f"({left}) or ({right})"
    return f"not ({left})"


def _mask_rows(rows, text):
    predicate = compile_filter(text, collect_columns(rows))
    mask = compile_mask(predicate.node)(TableFrame(rows))
    assert mask.dtype == bool and mask.shape == (len(rows),)
    return [bool(hit) for hit in mask], [predicate(row) for row in rows]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), filters())
def test_mask_equals_row_by_row(rows, text) -> None:
    try:
        by_mask, by_row = _mask_rows(rows, text)
    except FilterError:
        return  # e.g. `status < 1`: refused at compile time, before any evaluation
    assert by_mask == by_row, text


def test_mask_handles_the_awkward_numbers() -> None:
    rows = [make_row(f"r{i}", params={"p.yaml": {"x": v}})
            for i, v in enumerate([2**53 + 1, 2**53, 1.0000000001, float("nan"), float("inf"), True, "2", -0.0])]
    for text, expected in [
        ("x > 9007199254740992", ["r0", "r4"]),      # 2**53 + 1 is not 2**53 in float64: compared exactly
        ("x == 9007199254740993", ["r0"]),
        ("x == 1", ["r2"]),                           # within 1e-9 relative
        ("x != 1", ["r0", "r1", "r3", "r4", "r5", "r6", "r7"]),
        ("x >= 1e308", ["r4"]),                       # only inf; bools and text never compare with numbers
        ("x == 0", ["r7"]),
        ("x is true", ["r5"]),
    ]:
        by_mask, by_row = _mask_rows(rows, text)
        assert [r.name for r, hit in zip(rows, by_mask) if hit] == expected, text
        assert by_mask == by_row, text


def test_classify_codes_each_kind_of_cell() -> None:
    typed = classify([1, 1.5, True, "x", MISSING, ERROR, 2**60])
    assert list(typed.codes) == [C_INT, C_FLOAT, C_BOOL, C_STR, C_MISSING, 1, C_BIGINT]
    assert list(typed.is_number) == [True, True, False, False, False, False, False]
    assert np.isnan(typed.numbers[3]) and typed.numbers[2] == 1.0


@pytest.mark.parametrize("engine", ENGINES)
def test_table_view_filters_and_keeps_groups(engine) -> None:
    rows = [make_row("main", kind="baseline", metrics={"m.json": {"f1": 0.5}}),
            make_row("good", metrics={"m.json": {"f1": 0.9}}),
            make_row("bad", metrics={"m.json": {"f1": 0.1}}),
            make_row("other", baseline="v1", metrics={"m.json": {"f1": 0.95}})]
    table = TableModel(rows, engine=engine).set_filter("f1 > 0.8")
    assert [d.label for d in table.view().rows] == ["main", "└── good", "v1", "└── other"]
    assert table.view().matched == 2
    assert [r.name for r in table.set_grouped(False).shown_rows] == ["good", "other"]
    # a new filter, then new rows: the mask is recompiled and the frame rebuilt
    table.set_filter("f1 < 0.2")
    assert [r.name for r in table.shown_rows] == ["bad"]
    table.upsert([make_row("worse", metrics={"m.json": {"f1": 0.0}})])
    assert [r.name for r in table.shown_rows] == ["bad", "worse"]
    assert (table._frame is not None) == (engine == "frame")  # the rows engine never builds (or imports) pandas


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), filters(), st.lists(st.sampled_from(KEYS + ["name", "created", "starred", "status"]), max_size=2),
       st.booleans(), st.booleans())
def test_both_engines_show_the_same_view(rows, text, sort_names, descending, grouped) -> None:
    views = []
    for engine in ENGINES:
        table = TableModel(rows, engine=engine).set_grouped(grouped)
        try:
            table.set_filter(text)
            table.set_sort(",".join(f"{name}:desc" if descending else name for name in sort_names))
        except ExptuiError:
            return  # a filter or sort naming a column these rows lack: refused the same way by both
        view = table.view()
        views.append(([(d.label, d.context, d.depth, d.last) for d in view.rows], view.matched,
                      [c.id for c in view.columns], table.to_csv(), [id(r) for r in view.experiment_rows]))
        # what the dashboard reads (the rows of the lines, without making the lines) agrees with the lines
        assert [id(r) for r in view.experiment_rows] == [id(d.row) for d in view.rows if d.row is not None]
    assert views[0] == views[1]


def test_numpy_scalars_from_a_store_filter_and_sort_like_python_numbers() -> None:
    """A store handing over numpy scalars (np.float64 is a float subclass; np.int64 is not an int) changes nothing."""
    values = [np.float64(0.5), np.float64("nan"), 0.7, np.int64(3), 2]
    rows = [make_row(f"r{i}", params={"p.yaml": {"x": v}}) for i, v in enumerate(values)]
    for text in ("x > 0.6", "x == 0.5", "x != 0.5", "x is missing", "x ~= '3'", "x < 1"):
        by_mask, by_row = _mask_rows(rows, text)
        assert by_mask == by_row, text
    assert [r.name for r in TableModel(rows, engine="frame").set_grouped(False).set_sort("x:desc").shown_rows] == \
        [r.name for r in TableModel(rows, engine="rows").set_grouped(False).set_sort("x:desc").shown_rows]
