"""Filter-bar completion: context-aware candidates; never raises on half-typed input."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exptui.query.complete import inline_completion, suggest
from exptui.query.table import TableModel
from test_query_columns import make_row


def _table() -> TableModel:
    return TableModel([
        make_row("a", params={"p.yaml": {"model": "rf", "train.lr": 0.1}}, metrics={"m.json": {"f1": 1}},
                 labels=("keep", "v 2")),
        make_row("b", params={"p.yaml": {"model": "lgbm"}}, labels=("keep",)),
        make_row("c", params={"p.yaml": {"model": "rf", "flag": True}}),
    ])


@pytest.fixture
def table():
    return _table()


SHARED = _table()  # read-only: shared by the hypothesis test's examples


@pytest.mark.parametrize("text, context, start, expected", [
    ("", "column", 0, ("f1", "model", "train.lr")),
    ("mo", "column", 0, ("model",)),
    ("f1 > 0.5 and tr", "column", 13, ("train.lr",)),
    ("(", "column", 1, ("f1",)),
    ("model ", "operator", 6, ("==", "!=", ">")),
    ("model i", "operator", 6, ("in", "is missing", "is not missing")),
    ("model == ", "value", 9, ("rf", "lgbm")),          # most frequent first
    ("model == l", "value", 9, ("lgbm",)),
    ("model == 'l", "value", 10, ("lgbm",)),
    ("model in ['rf', ", "value", 16, ("rf", "lgbm")),
    ("status == f", "value", 10, ("failed",)),
    ("kind == ", "value", 8, ("workspace", "baseline", "experiment", "queued")),
    ("flag == ", "value", 8, ("true", "false")),
    ("created > ", "value", 10, ("today", "yesterday")),
    ("has ", "has", 4, ("label", "note")),
    ("has label ", "value", 10, ("keep", "'v 2'")),
    ("is ", "is", 3, ("starred", "not", "queued")),
    ("f1 is ", "is-ref", 6, ("missing", "not", "null")),
    ("f1 not ", "not", 7, ("in",)),
    ("model == rf ", "joiner", 12, ("and", "or")),
    ("model == rf o", "joiner", 12, ("or",)),
    ("model == rf)", "joiner", 12, ("and", "or")),
])
def test_suggestions(table, text, context, start, expected) -> None:
    found = suggest(text, None, table.index, table.distinct_values)
    assert found.context == context
    assert found.start == start and found.end == len(text)
    assert found.candidates[: len(expected)] == expected


def test_cursor_in_the_middle(table) -> None:
    text = "mo == rf and f1 > 1"
    found = suggest(text, 2, table.index)
    assert (found.start, found.end, found.candidates) == (0, 2, ("model",))


def test_inline_completion(table) -> None:
    values = table.distinct_values
    assert inline_completion("mo", table.index, values) == "model"
    assert inline_completion("model == l", table.index, values) == "model == lgbm"
    assert inline_completion("f1 > 0.5 a", table.index, values) == "f1 > 0.5 and"
    assert inline_completion("model ", table.index, values) is None
    assert inline_completion("", table.index, values) is None
    assert inline_completion("zzz", table.index, values) is None


def test_distinct_values(table) -> None:
    from exptui.query.columns import field_column

    assert table.distinct_values(table.index.resolve("model")) == ["rf", "lgbm"]
    assert table.distinct_values(field_column("label")) == ["keep", "v 2"]
    assert table.distinct_values(table.index.resolve("f1")) == []


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("fmodel1 .:'\"()[],=!<>~ainsothb\\")), max_size=30), st.data())
def test_never_raises(text, data) -> None:
    table = SHARED
    cursor = data.draw(st.integers(0, len(text)))
    found = suggest(text, cursor, table.index, table.distinct_values)
    assert 0 <= found.start <= found.end == cursor
    inline_completion(text, table.index, table.distinct_values)
