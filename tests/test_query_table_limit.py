"""TableModel.set_limit (`exptui show --limit`): the first N rows of the filtered, sorted view, trees closed."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from exptui.query.table import TableModel
from test_query_columns import make_row

NOW = datetime(2026, 11, 23, 15, 0)


def _rows() -> list:
    out = [make_row("main", kind="baseline", created=NOW, metrics={"m.json": {"f1": 0.1}})]
    out += [make_row(f"e{i}", created=NOW + timedelta(minutes=i), metrics={"m.json": {"f1": f1}})
            for i, f1 in enumerate([0.5, 0.9, 0.5, 0.7])]
    out += [make_row("old", kind="baseline", baseline="old", created=NOW - timedelta(days=9)),
            make_row("x1", baseline="old", created=NOW - timedelta(days=8), metrics={"m.json": {"f1": 0.95}})]
    return out


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 5, 6, 7, 50])
def test_limit_is_the_first_rows_of_the_full_view(limit: int) -> None:
    full = TableModel(_rows()).set_filter("f1 >= 0.5").set_sort("f1:desc")
    cut = TableModel(_rows()).set_filter("f1 >= 0.5").set_sort("f1:desc").set_limit(limit)
    assert [r.name for r in cut.shown_rows] == [r.name for r in full.shown_rows][:limit]
    view = cut.view()
    assert view.matched == full.view().matched  # the match count is the filter's, not the limit's
    if view.rows and view.rows[-1].depth == 1:
        assert view.rows[-1].last  # the tree is closed where the output stops


def test_a_limit_keeps_no_dangling_title_and_rejects_negative() -> None:
    rows = [r for r in _rows() if r.name != "old"]  # x1's baseline row is absent: a title line stands for it
    table = TableModel(rows).set_sort("f1:desc")
    titles = [d for d in table.view().rows if d.row is None]
    assert titles
    shown = [d for d in table.set_limit(len(rows) - 1).view().rows]
    assert shown[-1].row is not None
    with pytest.raises(ValueError):
        table.set_limit(-1)
