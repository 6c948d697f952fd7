"""TableModel: grouping, filter context, column selection, and every output format."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from exptui.query.filter import FilterError
from exptui.query.table import ENGINES, ColumnPatternError, TableModel
from exptui.records import RunFacts
from test_query_columns import make_row

NOW = datetime(2026, 11, 23, 15, 0)


@pytest.fixture
def rows():
    return [
        make_row("main", kind="baseline", created=NOW - timedelta(days=3),
                 params={"params.yaml": {"train.lr": 0.1, "seed": 1, "model": "rf"}},
                 metrics={"metrics.json": {"f1": 0.5, "loss": 0.8}}),
        make_row("exp-a", created=NOW - timedelta(hours=2), starred=True, labels=("keep",),
                 params={"params.yaml": {"train.lr": 0.01, "seed": 1, "model": "rf"}},
                 metrics={"metrics.json": {"f1": 0.612345678, "loss": 0.5}},
                 facts=RunFacts(duration=62.0, host="box", python="3.11.7")),
        make_row("exp-b", created=NOW - timedelta(hours=1), status="failed",
                 params={"params.yaml": {"train.lr": 0.001, "seed": 1, "model": "rf"}},
                 metrics={"metrics.json": {"f1": 0.7, "loss": 0.4}}),
        make_row("v1", kind="baseline", baseline="v1", created=datetime(2025, 5, 1),
                 params={"params.yaml": {"train.lr": 0.1, "seed": 1, "model": "rf"}}),
        make_row("exp-c", baseline="v1", created=datetime(2025, 5, 2), errors={"metrics.json": "bad yaml"},
                 params={"params.yaml": {"train.lr": 0.3, "seed": 1, "model": "rf"}}),
    ]


def test_default_text_table_is_a_tree(rows) -> None:
    table = TableModel(rows, head=rows[0].rev)
    assert table.render_text(now=NOW) == (
        "Experiment  Created     State         f1  loss  train.lr  seed  model\n"
        "──────────  ──────────  ───────  ───────  ────  ────────  ────  ─────\n"
        "main        Nov 20      Success      0.5   0.8       0.1     1  rf\n"
        "├── exp-a   13:00       Success  0.61235   0.5      0.01     1  rf\n"
        "└── exp-b   14:00       Failed       0.7   0.4     0.001     1  rf\n"
        "v1          2025-05-01  Success        -     -       0.1     1  rf\n"
        "└── exp-c   2025-05-02  Success        !     !       0.3     1  rf\n"
    )


def test_state_column_hidden_when_all_success(rows) -> None:
    table = TableModel(rows).set_filter("status == success")
    assert "State" not in table.render_text(now=NOW).splitlines()[0]
    assert [c.key for c in table.view().fields] == ["created"]


def test_filter_keeps_baseline_headers_as_context(rows) -> None:
    table = TableModel(rows, head=rows[0].rev).set_filter("f1 > 0.6")
    view = table.view()
    assert [(d.label, d.context) for d in view.rows] == [
        ("main", True), ("├── exp-a", False), ("└── exp-b", False)]
    assert view.matched == 2 and view.total == 5
    table.show_context = False
    assert [(d.row is None, d.label) for d in table.view().rows] == [
        (True, "main"), (False, "├── exp-a"), (False, "└── exp-b")]


def test_headerless_group_gets_a_title_line() -> None:
    rows = [make_row("lonely", baseline="gone", metrics={"m.json": {"f1": 1}})]
    view = TableModel(rows).view()
    assert [(d.row is None, d.label) for d in view.rows] == [(True, "gone"), (False, "└── lonely")]
    assert "gone" in TableModel(rows).to_markdown()


def test_leaderboard(rows) -> None:
    table = TableModel(rows).set_grouped(False).set_sort("f1:desc")
    assert [d.label for d in table.view().rows] == ["exp-b", "exp-a", "main", "v1", "exp-c"]


def test_filter_error_keeps_previous_filter(rows) -> None:
    table = TableModel(rows).set_filter("model == rf and f1 > 0.6")
    with pytest.raises(FilterError):
        table.set_filter("f1 >")
    assert table.predicate is not None and table.predicate.text == "model == rf and f1 > 0.6"
    assert table.set_filter("").predicate is None


def test_only_changed_and_empty_columns(rows) -> None:
    table = TableModel(rows).set_only_changed(True)
    assert [c.label for c in table.shown_columns] == ["f1", "loss", "train.lr"]
    # after filtering to the v1 baseline, f1/loss have no value left: dropped even without only-changed
    # (an unreadable value `!` is not empty: exp-c alone would keep them)
    table.set_only_changed(False).set_filter("name == v1")
    assert [c.label for c in table.shown_columns] == ["train.lr", "seed", "model"]
    table.drop_empty = False
    assert [c.label for c in table.shown_columns] == ["f1", "loss", "train.lr", "seed", "model"]


def test_keep_drop_like_dvc(rows) -> None:
    table = TableModel(rows)
    assert [c.label for c in table.set_drop(["seed", "model"]).shown_columns] == ["f1", "loss", "train.lr"]
    # keep protects from drop and from only-changed
    table.set_drop([".*"]).set_keep(["f1", r"params\.yaml:seed"]).set_only_changed(True)
    assert [c.label for c in table.shown_columns] == ["f1", "seed"]
    # patterns match whole names (label, id, file:key or key), not substrings
    assert [c.label for c in TableModel(rows).set_drop(["lr"]).shown_columns] == [
        "f1", "loss", "train.lr", "seed", "model"]
    assert [c.label for c in TableModel(rows).set_drop([r"params:.*"]).shown_columns] == ["f1", "loss"]
    # fixed fields can be dropped by key or header
    assert [c.key for c in TableModel(rows).set_drop(["Created", "status"]).view().fields] == []
    with pytest.raises(ColumnPatternError, match=r"--drop '\(' is not a valid regular expression"):
        table.set_drop(["("])


def test_hidden_pinned_and_moved_columns(rows) -> None:
    table = TableModel(rows)
    table.hide("params:params.yaml:seed").pin("params:params.yaml:model")
    assert [c.label for c in table.shown_columns] == ["model", "f1", "loss", "train.lr"]
    table.set_keep(["seed"])  # hidden beats keep
    assert "seed" not in [c.label for c in table.shown_columns]
    table.unpin("params:params.yaml:model").unhide("params:params.yaml:seed")
    table.move_column("params:params.yaml:seed", -10)
    assert [c.label for c in table.shown_columns] == ["seed", "f1", "loss", "train.lr", "model"]
    table.move_column("params:params.yaml:seed", 2)
    assert [c.label for c in table.shown_columns] == ["f1", "loss", "seed", "train.lr", "model"]


def test_keyed_upsert_and_remove(rows) -> None:
    table = TableModel(rows[:3])
    changed = make_row("exp-a", metrics={"metrics.json": {"f1": 0.99}, "extra.json": {"auc": 0.7}})
    table.upsert([changed, rows[3]])
    assert [r.name for r in table.rows] == ["main", "exp-a", "exp-b", "v1"]
    assert table.rows[1].metrics["metrics.json"]["f1"] == 0.99
    assert "auc" in [c.label for c in table.columns]
    table.remove([changed.key])
    assert [r.name for r in table.rows] == ["main", "exp-b", "v1"]


def test_json_records_schema(rows) -> None:
    rows[1].metrics["metrics.json"]["nan"] = float("nan")
    records = TableModel(rows, head=rows[0].rev).set_sort("f1:desc").to_json_records()
    json.loads(json.dumps(records, allow_nan=False))  # strict JSON: NaN became null
    assert [r["name"] for r in records] == ["main", "exp-b", "exp-a", "v1", "exp-c"]
    a = records[2]
    assert set(a) == {"name", "rev", "baseline", "baseline_name", "kind", "status", "created", "params", "metrics",
                      "errors", "starred", "labels", "note", "facts"}
    assert len(a["rev"]) == 40 and len(a["baseline"]) == 40 and a["baseline_name"] == "main"
    assert datetime.fromisoformat(a["created"]) == NOW - timedelta(hours=2)
    assert a["params"] == {"params.yaml": {"train.lr": 0.01, "seed": 1, "model": "rf"}}
    assert a["metrics"] == {"metrics.json": {"f1": 0.612345678, "loss": 0.5, "nan": None}}
    assert a["starred"] is True and a["labels"] == ["keep"] and a["note"] == ""
    assert a["facts"]["duration"] == 62.0 and a["facts"]["host"] == "box"
    c = records[4]
    assert c["errors"] == {"metrics.json": "bad yaml"} and c["metrics"] == {} and c["facts"] is None


def test_json_respects_keep_drop(rows) -> None:
    records = TableModel(rows).set_drop([".*"]).set_keep(["f1"]).to_json_records()
    assert records[0]["params"] == {} and records[0]["metrics"] == {"metrics.json": {"f1": 0.5}}


def test_csv(rows) -> None:
    text = TableModel(rows, head=rows[0].rev).to_csv()
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["name", "rev", "baseline", "kind", "status", "created", "f1", "loss", "train.lr",
                         "seed", "model"]
    assert parsed[2][0] == "exp-a" and parsed[2][6] == "0.612345678"  # full precision by default
    assert parsed[5][6] == "!" and parsed[4][6] == ""                  # error vs missing
    assert TableModel(rows).to_csv(precision=3).splitlines()[2].split(",")[6] == "0.612"


def test_markdown(rows) -> None:
    md = TableModel(rows, head=rows[0].rev).to_markdown(now=NOW)
    lines = md.splitlines()
    assert lines[0] == "| Experiment | Created | State | f1 | loss | train.lr | seed | model |"
    assert lines[1] == "|:---|:---|:---|---:|---:|---:|---:|:---|"
    assert lines[3] == "| ├── exp-a | 13:00 | Success | 0.61235 | 0.5 | 0.01 | 1 | rf |"
    assert len(lines) == 2 + len(rows)
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    piped = [make_row("a|b", params={"p.yaml": {"x": "1|2"}})]
    assert "a\\|b" in TableModel(piped).to_markdown()


def test_width_aware_text(rows) -> None:
    text = TableModel(rows).render_text(width=45, now=NOW)
    *table, note = text.splitlines()
    assert all(len(line) <= 45 for line in table)
    assert note.startswith("(4 more columns not shown: loss, train.lr, seed, model;")
    narrow = TableModel(rows).render_text(width=5, now=NOW).splitlines()
    assert narrow[2] == "main" and "not shown" in narrow[-1]


def test_long_cells_are_truncated() -> None:
    rows = [make_row("a", params={"p.yaml": {"cmd": "x" * 100}})]
    line = TableModel(rows).render_text().splitlines()[3]  # after the header, rule and group title
    assert line.endswith("x…") and len(line) < 60


def test_empty_results() -> None:
    assert TableModel([]).render_text() == "no experiments\n"
    table = TableModel([make_row("a", metrics={"m.json": {"f1": 1}})]).set_filter("f1 > 2")
    assert table.render_text() == "no experiments match the filter (1 in total)\n"
    assert table.to_json_records() == [] and table.to_csv().count("\n") == 1


def test_dataframe(rows) -> None:
    frame = TableModel(rows, head=rows[0].rev).to_dataframe()
    assert list(frame.columns) == ["name", "rev", "baseline", "kind", "status", "created", "f1", "loss",
                                   "train.lr", "seed", "model"]
    assert frame.attrs["column_ids"]["f1"] == "metrics:metrics.json:f1"
    assert frame["f1"].isna().tolist() == [False, False, False, True, True]
    assert frame.loc[frame["name"] == "exp-b", "f1"].item() == 0.7


def test_json_path_stays_free_of_pandas() -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests');"
        "import exptui.query.filter, exptui.query.table;"
        "from test_query_columns import make_row;"
        "t = exptui.query.table.TableModel([make_row('a', metrics={'m.json': {'f1': 1}})]);"
        "t.set_filter('f1 > 0'); t.to_json(); t.to_csv(); t.to_markdown(); t.render_text();"
        "import exptui.query.compare;"
        "print('pandas' in sys.modules, 'numpy' in sys.modules, 'textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1])).stdout
    assert out.split() == ["False", "False", "False"]


def test_assigned_state_invalidates_the_view(rows) -> None:
    """The TUI assigns hidden/pinned/order directly: the cached view must follow."""
    table = TableModel(rows)
    assert "seed" in [c.label for c in table.shown_columns]
    table.hidden = {"params:params.yaml:seed"}
    assert "seed" not in [c.label for c in table.shown_columns]
    table.pinned = ["params:params.yaml:model"]
    assert table.shown_columns[0].label == "model"
    table.order = ["params:params.yaml:train.lr"]
    assert [c.label for c in table.shown_columns] == ["model", "train.lr", "f1", "loss"]
    table.head = rows[3].rev
    assert table.view().rows[0].row is rows[3]


@pytest.mark.parametrize("engine", ENGINES)
def test_odd_data_never_crashes(engine) -> None:
    """Values a hand-edited params file can hold: a top-level list, None, sets, bytes, dates."""
    rows = [
        make_row("list-file", params={"p.yaml": [1, 2, 3], "q.yaml": {"when": datetime(2026, 1, 1)}}),  # type: ignore[dict-item]
        make_row("none-file", params={"p.yaml": None, "q.yaml": {"tags": {"a"}, "raw": b"\x00"}}),  # type: ignore[dict-item]
        make_row("ok", params={"q.yaml": {"when": "soon", "deep": {"er": {"x": 1}}}}),
    ]
    table = TableModel(rows, engine=engine)
    assert {c.key for c in table.columns} == {"when", "tags", "raw", "deep.er.x"}
    text = table.render_text()
    assert "list-file" in text and "soon" in text
    records = json.loads(json.dumps(table.to_json_records(), allow_nan=False))
    assert records[0]["params"] == {"q.yaml": {"when": "2026-01-01T00:00:00"}}
    assert records[2]["params"] == {"q.yaml": {"when": "soon", "deep.er.x": 1}}
    table.to_csv()
    table.to_markdown()
    table.set_filter("when ~= '2026' or deep.er.x == 1").set_sort("when:desc,tags")
    assert [r.name for r in table.shown_rows] == ["ok", "list-file"]  # desc: text ranks after dates
    from exptui.query.show_json import record as row_record

    json.dumps([row_record(r) for r in rows], default=str)


# --------------------------------------------------------------------------- view invariants

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FILTERS = ["", "f1 > 0.5", "f1 is missing", "not f1 > 0.5", "status == failed or f1 < 0.2", "is starred"]


@st.composite
def tables(draw):
    baselines = draw(st.lists(st.sampled_from(["main", "dev", "v1", "v2"]), min_size=1, max_size=4, unique=True))
    with_header = {b: draw(st.booleans()) for b in baselines}
    rows = [make_row(b, kind="baseline", baseline=b, created=NOW - timedelta(days=i),
                     metrics={"m.json": {"f1": draw(st.sampled_from([0.1, 0.5, 0.9]))}})
            for i, b in enumerate(baselines) if with_header[b]]
    for i in range(draw(st.integers(0, 15))):
        f1 = draw(st.one_of(st.none(), st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0])))
        rows.append(make_row(f"e{i}", baseline=draw(st.sampled_from(baselines)),
                             metrics={"m.json": {"f1": f1}} if f1 is not None else {},
                             status=draw(st.sampled_from(["success", "failed", "queued"])),
                             starred=draw(st.booleans())))
    order = draw(st.permutations(range(len(rows))))
    return [rows[i] for i in order]


@settings(max_examples=150, deadline=None)
@given(tables(), st.sampled_from(FILTERS), st.sampled_from(["", "f1", "f1:desc", "name:desc"]), st.booleans(),
       st.sampled_from(ENGINES))
def test_grouped_view_invariants(rows, text, sort, context, engine) -> None:
    if not any(r.metrics for r in rows) and "f1" in text + sort:
        rows = [*rows, make_row("anchor", metrics={"m.json": {"f1": 0.5}})]
    table = TableModel(rows, engine=engine).set_filter(text).set_sort(sort)
    table.show_context = context
    view = table.view()
    predicate = table.predicate
    matching = {r.key for r in rows if predicate is None or predicate(r)}
    shown_matches = {d.row.key for d in view.rows if d.row is not None and not d.context}
    assert shown_matches == matching and view.matched == len(matching)
    assert len([d for d in view.rows if d.row is not None]) == len({d.row.key for d in view.rows if d.row})
    current = None
    children: list = []
    groups = []
    for d in view.rows:
        if d.depth == 0:
            current = d
            children = []
            groups.append((current, children))
            assert not d.context or context
        else:
            assert current is not None
            base = current.row.rev if current.row is not None else None
            assert d.row.baseline == base or (current.row is None and current.title == d.row.baseline_name)
            children.append(d)
    for header, kids in groups:
        assert [k.last for k in kids] == [i == len(kids) - 1 for i in range(len(kids))]
        if header.context:
            assert kids, "a context header is only shown for matching experiments"
        if sort:
            keys = table.sort_keys
            values = [keys[0].column.value(k.row) for k in kids]
            present = [v for v in values if isinstance(v, (int, float, str))]
            assert values[: len(present)] == present  # missing last
            assert present == sorted(present, reverse=keys[0].descending)


def test_wide_characters_and_control_characters_keep_columns_aligned() -> None:
    from exptui.query.cells import cell_width as display_width
    from exptui.query.cells import fit as pad

    assert display_width("abc") == 3 and display_width("精度") == 4 and display_width("e\u0301") == 1
    assert pad("精度精度", 5) == "精度…" and display_width(pad("精度精度", 5)) == 5
    assert pad("ab", 4, right=True) == "  ab"
    rows = [make_row("模型-1", params={"p.yaml": {"note": "line1\nline2", "x": 1}}),
            make_row("b", params={"p.yaml": {"note": "ok", "x": 22}})]
    lines = TableModel(rows).render_text().splitlines()
    assert len(lines) == 5  # header, rule, group title, two rows: the newline did not split a row
    # the x column ends at the same terminal cell on every row
    ends = {display_width(line) for line in lines[3:]}
    assert len(ends) == 1


def test_very_long_names_are_cut() -> None:
    rows = [make_row("x" * 200, metrics={"m.json": {"f1": 1}})]
    lines = TableModel(rows).render_text(width=60).splitlines()
    assert all(len(line) <= 60 for line in lines[:-1] if "not shown" not in line)
    assert lines[3].startswith("└── xxx") and "…" in lines[3]


def test_delta_against_the_baseline_row(rows) -> None:
    from exptui.query.direction import Directions

    table = TableModel(rows)
    f1, loss = table.index.resolve("f1"), table.index.resolve("loss")
    exp_a = rows[1]
    assert table.baseline_row(exp_a) is rows[0] and table.baseline_row(rows[0]) is None
    assert table.delta(exp_a, f1).better is True and table.delta(exp_a, loss).better is True
    assert table.delta(rows[0], f1).abs is None
    assert table.delta(rows[4], f1).abs is None           # unreadable metrics: no delta
    flipped = TableModel(rows, directions=Directions({"f1": "lower"}))
    assert flipped.delta(exp_a, flipped.index.resolve("f1")).better is False
