"""The dashboard's rows (`Project.experiments(shared=True)`: each experiment holds only the parts of its index entry
a row shows, the entries decoded with shared key strings) give the same table, CSV/JSON export and comparison as the
plain listing (each row with its own copies), on a real repo read warm from its on-disk index: two baselines, an
experiment without f1, one whose metrics file does not parse, queued/failed/cancelled queue entries."""
from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest

from exptui.project import Project
from exptui.query.compare import compare
from exptui.query.table import TableModel
from exptui.store.index_segments import Entries

try:  # tests/ may or may not be a package
    from tests.test_query_shown import build_two_baselines
except ImportError:  # pragma: no cover
    from test_query_shown import build_two_baselines


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("shared") / "repo"
    build_two_baselines(repo)
    with Project.open(repo) as project:
        assert len(project.experiments(all_commits=True)) > 20  # the index is written: the next opens are warm
    return repo


def _model(rows: list) -> TableModel:
    model = TableModel(rows, engine="frame")
    model.set_filter("f1 >= 0.5 or status == 'queued'").set_sort("f1:desc,train.lr").set_grouped(True)
    return model


def test_shared_rows_give_the_same_table_export_and_comparison(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Entries, "BULK_AFTER", 2)  # the warm listing reads the data column whole, as at scale
    with Project.open(repo) as project:
        plain = project.experiments(all_commits=True)
    with Project.open(repo) as project:
        shared = project.experiments(all_commits=True, shared=True)
        assert not any(r.rev in project.index.cache._decoded for r in shared if r.kind == "experiment")
        stored = project.index.cache.stored_sha  # a row's rev is the index's str, not a second copy from the refs
        assert all(stored(r.rev.encode().decode()) is r.rev for r in shared if r.kind == "experiment")
        again = project.experiments(all_commits=True, shared=True)  # a reload: from the kept parts
    assert shared == plain and again == plain
    for row in shared:  # key-sharing dicts (`_keyed_dict`) are plain dicts to every reader
        for family in (row.params, row.metrics):
            assert type(family) is dict and all(type(inner) is dict for inner in family.values())
    assert [json.dumps([r.params, r.metrics]) for r in shared] == [json.dumps([r.params, r.metrics]) for r in plain]
    assert pickle.loads(pickle.dumps(shared)) == plain and copy.deepcopy(shared) == plain
    pairs = [(a, b) for a, b in zip(shared, again) if a.kind == "experiment"]
    assert pairs and all(a is not b and a.params is b.params and a.metrics is b.metrics and a.created is b.created
                         for a, b in pairs)  # a reload's rows share the parts of the rows before it
    assert sum(r.kind == "experiment" for r in shared) == 16 and any(r.errors for r in shared)
    for rows in (shared, again):
        a, b = _model(plain), _model(rows)
        shown = [(d.row and d.row.key, d.depth, d.last, d.context, d.title) for d in b.view().rows]
        assert shown == [(d.row and d.row.key, d.depth, d.last, d.context, d.title) for d in a.view().rows]
        assert b.to_csv() == a.to_csv() and b.to_json() == a.to_json()
        assert b.to_csv(precision=3) == a.to_csv(precision=3)
    picked = [r for r in plain if r.kind == "experiment"][:3] + [r for r in plain if r.kind == "baseline"][:1]
    by_key = {r.key: r for r in shared}
    mine = [by_key[r.key] for r in picked]
    for diff_only in (False, True):
        left, right = compare(picked, diff_only), compare(mine, diff_only)
        assert ([(line.label, line.values, line.texts, line.best) for line in right.lines]
                == [(line.label, line.values, line.texts, line.best) for line in left.lines])


def test_shared_values_are_one_object_per_value_of_a_column_with_its_class_kept() -> None:
    """Equal values of a column (file, key) are one object across rows, but only within their class (1, 1.0 and
    True are equal), never for 0.0/-0.0 (equal, printed differently) or NaN; nested dicts keep their values."""
    from exptui.store.index import _MAX_DISTINCT, _share_values

    keys: dict[str, str] = {}
    values: dict = {}
    given = [int("1000"), float("1000"), True, -0.0, 0.0, float("nan"), "".join(["r", "f"]), float("0.5"),
             int("1000"), "".join(["r", "f"]), float("0.5"), float("1000")]
    rows = [_share_values({"p.yaml": {"a": v, "n": {"c": [1]}}}, keys, values, "params") for v in given]
    got = [r["p.yaml"]["a"] for r in rows]
    assert [(type(v), repr(v)) for v in got] == [(type(v), repr(v)) for v in given]
    assert got[8] is got[0] and got[9] is got[6] and got[10] is got[7]
    assert got[1] is given[1] and got[11] is given[11]  # a column shares the class it saw first (int 1000)
    assert got[4] is given[4] and got[3] is given[3]  # zeros are kept as read
    assert all(r["p.yaml"]["n"] == {"c": [1]} for r in rows)
    assert len({id(k) for r in rows for k in r["p.yaml"]}) == 2  # the keys are shared too
    many = [_share_values({"m.json": {"seed": int(str(10**6 + i))}}, keys, values, "metrics") for i in range(_MAX_DISTINCT + 5)]
    assert values["m.json"]["seed"] is None  # too many distinct values: the column is no longer shared
    assert [r["m.json"]["seed"] for r in many] == [10**6 + i for i in range(_MAX_DISTINCT + 5)]


def test_key_sharing_dicts_keep_any_keys_in_their_order_and_stay_independent() -> None:
    """Rows of one file whose keys differ, come in another order or are not strings get the same dicts as a
    plain listing's; writing to one row's dict never shows in another's."""
    from exptui.store.index import _share_values

    keys: dict[str, str] = {}
    values: dict = {}
    given = [{"p.yaml": {"a": 1, "b": 2}}, {"p.yaml": {1: "x", "a": 2, None: 3, (1, 2): 4}},
             {"p.yaml": {"b": 1, "a": 2, "c": 5}}, {"q.yaml": {}, "p.yaml": {"a": 1}}, {}]
    rows = [_share_values(g, keys, values, "params") for g in given]
    assert [json.dumps([list(r), [list(inner.items()) for inner in r.values()]], default=str) for r in rows] == \
        [json.dumps([list(g), [list(inner.items()) for inner in g.values()]], default=str) for g in given]
    rows[0]["p.yaml"]["a"] = 9
    rows[1]["p.yaml"]["z"] = 1
    assert rows[3]["p.yaml"] == {"a": 1} and rows[2]["p.yaml"] == {"b": 1, "a": 2, "c": 5}
    assert rows[0]["p.yaml"] == {"a": 9, "b": 2} and "z" not in rows[0]["p.yaml"]
