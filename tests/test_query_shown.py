"""The frame engine's columnar view (positions into the frame all the way to the table, `ShownRows`) shows the same
rows, lines, counts and columns as the row-by-row path, on a real repo: several baselines (one only with -A), ties,
an experiment without f1, one whose metrics file does not parse, queued/failed/cancelled queue entries."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exptui.project import Project
from exptui.query.shown import ShownRows
from exptui.query.table import TableModel

try:  # tests/ may or may not be a package
    from tests.test_store_support import (exptui, fail_first_cancel_second, git, import_experiments,
                                            make_pipeline)
except ImportError:  # pragma: no cover
    from test_store_support import exptui, fail_first_cancel_second, git, import_experiments, make_pipeline

_EXPS = [
    (0.5, 0.1, None), (0.7, 0.2, None), (0.5, 0.3, None), (None, 0.1, None), (0.9, 0.2, None),
    (0.7, 0.1, None), (0.2, 0.4, "{not json"), (0.9, 0.3, None),
]


def _experiments(repo: Path, baseline: str, prefix: str, start: int) -> None:
    experiments = []
    for i, (f1, lr, broken) in enumerate(_EXPS):
        params = f"train:\n  lr: {lr}\n  epochs: 3\nseed: {i % 3}\n".encode()
        metrics = (broken or json.dumps({"acc": lr * 2} | ({} if f1 is None else {"f1": f1}))).encode()
        experiments.append((f"{prefix}{i}", params, metrics))
    import_experiments(repo, baseline, experiments, start)


def build_two_baselines(repo: Path) -> None:
    """A repo at `repo` with a pipeline and experiments under two baselines (the branch `old` and `main`),
    ties, an experiment without f1, one whose metrics file does not parse, and three queued entries (one
    failed, one cancelled)."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "init")
    make_pipeline(repo)
    old = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "branch", "old")
    _experiments(repo, old, "o", 1_700_000_000)
    (repo / "README").write_text("v2\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2")
    _experiments(repo, git(repo, "rev-parse", "HEAD").strip(), "h", 1_700_001_000)
    exptui(repo, "run", "--queue", "-S", "train.lr=0.6,0.7,0.8")
    fail_first_cancel_second(repo)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list:
    repo = tmp_path_factory.mktemp("shown") / "repo"
    build_two_baselines(repo)
    with Project.open(repo) as project:
        listing = project.experiments(all_commits=True)
    assert len(listing) > 20
    return listing


CASES = [
    ("", "", True, False, None),
    ("f1 > 0.5", "", True, False, None),
    ("f1 > 0.5", "f1:desc", True, False, None),
    ("", "f1:desc,train.lr", True, False, None),
    ("f1 >= 0.7 or status == 'queued'", "train.lr", True, False, 7),
    ("", "f1:desc", False, False, None),
    ("", "f1:desc", False, True, None),
    ("acc > 0.3", "acc", False, True, 5),
    ("f1 > 2", "", True, False, None),        # nothing matches
    ("not f1 > 0.5", "", True, False, None),   # baselines as context headers
]


@pytest.mark.parametrize(("expr", "sort", "grouped", "hide_workspace", "limit"), CASES)
def test_the_columnar_view_equals_the_row_by_row_view(rows: list, expr: str, sort: str, grouped: bool,
                                                      hide_workspace: bool, limit: int | None) -> None:
    views = []
    for engine in ("rows", "frame"):
        model = TableModel(rows, engine=engine)  # type: ignore[arg-type]
        model.set_filter(expr).set_sort(sort).set_grouped(grouped).set_limit(limit)
        model.hide_workspace = hide_workspace
        views.append(model.view())
    by_rows, by_frame = views
    assert isinstance(by_frame.experiment_rows, ShownRows)
    assert [r.key for r in by_frame.experiment_rows] == [r.key for r in by_rows.experiment_rows]
    assert by_frame.experiment_rows == by_rows.experiment_rows
    assert by_frame.rows == by_rows.rows
    assert (by_frame.matched, by_frame.total, by_frame.experiments) == \
        (by_rows.matched, by_rows.total, by_rows.experiments)
    assert by_frame.experiments == sum(r.kind not in ("baseline", "workspace") for r in by_rows.experiment_rows)
    assert [c.id for c in by_frame.columns] == [c.id for c in by_rows.columns]
    assert [c.id for c in by_frame.fields] == [c.id for c in by_rows.fields]
    if hide_workspace:
        assert all(r.kind != "workspace" for r in by_frame.experiment_rows)


def test_shown_rows_reads_like_a_list_of_the_rows_at_its_positions() -> None:
    base_rows = list("abcdefgh")
    base = np.empty(len(base_rows), dtype=object)
    base[:] = base_rows
    shown = ShownRows(base, np.array([5, 1, 6], dtype=np.intp))
    assert len(shown) == 3 and shown[0] == "f" and shown[-1] == "g"
    assert shown[1:] == ["b", "g"] and list(shown) == ["f", "b", "g"] and shown == ["f", "b", "g"]
    assert shown.position(1) == 1 and shown.index_of_position(6) == 2 and shown.index_of_position(0) is None
    everything = ShownRows(base_rows)
    assert len(everything) == 8 and everything[3] == "d" and everything.index_of_position(7) == 7
    assert ShownRows(base_rows, [2, 0]).tolist() == ["c", "a"] and ShownRows(base_rows, [2, 0])[1] == "a"
    assert ShownRows(base, np.array([2, 0], dtype=np.intp)).same_base(shown)


def test_iterating_a_long_shown_rows_gives_each_row_once_in_order() -> None:
    """The iterator gathers growing chunks (a scan that stops early gathers little): every row once, in order."""
    n = 100_000
    base = np.empty(n, dtype=object)
    base[:] = list(range(n))
    at = np.arange(n - 1, -1, -3, dtype=np.intp)
    shown = ShownRows(base, at)
    assert list(iter(shown)) == at.tolist() and sum(1 for _ in shown) == len(at)
    assert next(iter(shown)) == n - 1
