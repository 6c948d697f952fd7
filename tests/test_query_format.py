"""Cell formatting and metric direction/deltas."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from exptui.errors import ExptuiError
from exptui.query.columns import ERROR, MISSING, Column, field_column
from exptui.query.direction import Delta, Directions, arrow, delta, format_delta, name_direction
from exptui.query.format import format_cell, format_created, format_duration, format_value, is_right_aligned


@pytest.mark.parametrize("value, text", [
    (0.123456789, "0.12346"), (123456.7, "1.2346e+05"), (1.0, "1"), (3, "3"), (10**12, "1000000000000"),
    (True, "true"), (False, "false"), (None, "null"), ("rf", "rf"), ([0.1234567, "a", 2], "[0.12346, a, 2]"),
    (MISSING, "-"), (ERROR, "!"), (float("nan"), "nan"), (float("-inf"), "-inf"), (1e-7, "1e-07"),
    ({"b": 1, "a": 2}, '{"a": 2, "b": 1}'),
])
def test_format_value(value, text) -> None:
    assert format_value(value) == text


def test_precision_is_configurable() -> None:
    assert format_value(0.123456789, precision=3) == "0.123"
    assert format_value(0.123456789, precision=None) == "0.123456789"
    assert format_value(2, precision=1) == "2"


def test_alignment() -> None:
    assert is_right_aligned(1) and is_right_aligned(0.5)
    assert not is_right_aligned(True) and not is_right_aligned("1") and not is_right_aligned(MISSING)


def test_created() -> None:
    now = datetime(2026, 11, 23, 15, 0)
    assert format_created(datetime(2026, 11, 23, 9, 5), now) == "09:05"
    assert format_created(datetime(2026, 3, 4, 9, 5), now) == "Mar 04"
    assert format_created(datetime(2025, 12, 31, 23, 0), now) == "2025-12-31"
    assert format_created(None, now) == "-"
    aware = datetime(2026, 11, 23, 9, 5, tzinfo=timezone.utc)
    local = aware.astimezone().replace(tzinfo=None)
    assert format_created(aware, now) == format_created(local, now)


@pytest.mark.parametrize("seconds, text", [
    (0.42, "0.4s"), (9.96, "10.0s"), (45, "45s"), (62, "1m02s"), (3599.6, "1h00m"), (3725, "1h02m"),
    (90000, "1d01h"), (None, "-"), (-3, "-"), (float("nan"), "-"),
])
def test_duration(seconds, text) -> None:
    assert format_duration(seconds) == text


def test_format_cell_fields() -> None:
    assert format_cell(field_column("duration"), 62.0) == "1m02s"
    assert format_cell(field_column("label"), ("a", "b")) == "a, b"
    assert format_cell(field_column("starred"), True) == "★"
    assert format_cell(field_column("rev"), "a" * 40) == "aaaaaaa"
    assert format_cell(field_column("created"), MISSING) == "-"
    assert format_cell(Column("metrics", "m.json", "f1"), ERROR) == "!"


@pytest.mark.parametrize("key, way", [
    ("loss", "lower"), ("val_loss", "lower"), ("train.loss", "lower"), ("valLoss", "lower"), ("log_loss", "lower"),
    ("logloss", "lower"), ("error_rate", "lower"), ("err", "lower"), ("test.rmse", "lower"), ("MAE", "lower"),
    ("perplexity", "lower"), ("train_time", "lower"), ("latency_ms", "lower"), ("losses", "lower"),
    ("accuracy", "higher"), ("f1", "higher"), ("auc", "higher"), ("timestamp", "higher"), ("errands", "higher"),
    ("precision", "higher"),
])
def test_name_direction(key, way) -> None:
    assert name_direction(key) == way


def test_directions_overrides_and_params() -> None:
    acc = Column("metrics", "m.json", "acc", "acc")
    loss = Column("metrics", "m.json", "loss", "loss")
    lr = Column("params", "p.yaml", "lr", "lr")
    d = Directions({"acc": "min", "m.json:loss": "max"})
    assert d.of(acc) == "lower" and d.of(loss) == "higher"
    assert Directions().of(lr) is None
    assert Directions().of(field_column("duration")) == "lower"
    with pytest.raises(ExptuiError, match="direction for 'acc' must be one of"):
        Directions({"acc": "sideways"})


def test_delta() -> None:
    acc = Column("metrics", "m.json", "acc")
    loss = Column("metrics", "m.json", "loss")
    lr = Column("params", "p.yaml", "lr")
    assert delta(0.9, 0.8, acc) == Delta(pytest.approx(0.1), pytest.approx(0.125), True)
    assert delta(0.9, 0.8, loss).better is False
    assert delta(0.5, 0.8, loss).better is True
    assert delta(0.5, 0.5, loss) == Delta(0.0, 0.0, None)
    assert delta(0.1, 0.2, lr).better is None and delta(0.1, 0.2, lr).abs == pytest.approx(-0.1)
    assert delta(1.0, 0, acc) == Delta(1.0, None, True)
    for a, b in [(MISSING, 1), (1, ERROR), ("x", 1), (True, 1), (float("nan"), 1)]:
        assert delta(a, b, acc) == Delta(None, None, None)
    assert format_delta(delta(0.9, 0.8, acc)) == "+0.1 (+12.5%)"
    assert arrow(delta(0.9, 0.8, loss)) == "▲" and arrow(delta(0.5, 0.8, loss)) == "▼"
    assert arrow(delta(0.5, 0.5, loss)) == "" and format_delta(delta("a", 1, acc)) == ""


def test_created_this_year_boundary() -> None:
    now = datetime(2026, 1, 1, 0, 30)
    assert format_created(now - timedelta(hours=1), now) == "2025-12-31"


# --------------------------------------------------------------------------- robustness

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=20), st.datetimes())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=4)),
                      max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.one_of(st.none(), st.integers(1, 12)))
def test_any_value_formats(value, precision) -> None:
    text = format_value(value, precision)
    assert isinstance(text, str)
    if isinstance(value, float) and value == value and precision is None:
        assert float(text) == value  # full precision round-trips


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b.c", "d"]), VALUES, max_size=3), min_size=1, max_size=5))
def test_any_rows_render_in_every_format(params) -> None:
    import json

    from exptui.query.table import TableModel
    from test_query_columns import make_row

    rows = [make_row(f"r{i}", params={"p.yaml": p}) for i, p in enumerate(params)]
    rows.append(make_row("anchor", params={"p.yaml": {"a": 1, "d": "x"}}))  # the sort columns exist
    table = TableModel(rows).set_only_changed(True)
    table.render_text(width=80)
    table.to_markdown()
    table.to_csv()
    json.dumps(table.to_json_records(), allow_nan=False)
    table.set_grouped(False).set_sort("a:desc,d")
    table.render_text()


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (7, "7s"), (65, "1m05s"), (3725, "1h02m"), (7322, "2h02m"),
                                           (90000, "1d01h")])
def test_one_elapsed_time_shape_in_the_cli_and_every_table(seconds: float, text: str) -> None:
    """A running entry's elapsed time reads the same in `exptui queue status`, the queue view and the State
    column: whole seconds (a ticking clock shows no tenths), the shapes of the Duration column."""
    from exptui.cli import queue_cmds
    from exptui.tui.widgets import experiment_table, queue_table

    assert format_duration(seconds, tenths=False) == text
    assert queue_cmds.format_duration(seconds, tenths=False) == text
    assert queue_table.format_duration(seconds, tenths=False) == text
    assert experiment_table.format_duration(seconds, tenths=False) == text
    assert format_duration(None, tenths=False, missing="") == ""
    assert format_duration(None) == format_cell(field_column("duration"), None) == "-"
