"""A reload at scale is prepared in the loading thread (`exptui.tui.prepare`): the new model, frame (built columns
carried over by row identity), best cells and counts. Over a real repo (the threshold lowered so a few rows count
as "at scale"): a reload with one new experiment shows it, keeps the others, keeps the filter, and the carried
columns, best cells and counts equal what a fresh derivation of the same rows gives."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import git
from tests.tui_support import async_test, loaded, wait_for

from exptui.project import Project
from exptui.query.columns import collect_columns
from exptui.query.frame import TableFrame
from exptui.query.sweeps import best_cells
from exptui.tui.app import ExptuiApp
from exptui.tui import prepare as prepare_module
from exptui.tui.prepare import Prepared, counts_of, prepare
from exptui.tui.view_state import ViewState

try:
    from tests.test_store_support import import_experiments, make_pipeline
except ImportError:  # pragma: no cover
    from test_store_support import import_experiments, make_pipeline

SIZE = (120, 36)


def _add(repo: Path, names_f1: list[tuple[str, float]], start: int) -> None:
    """Experiments under HEAD in DVC's ref layout, one `git fast-import` stream."""
    head = git(repo, "rev-parse", "HEAD").strip()
    experiments = []
    for i, (name, f1) in enumerate(names_f1):
        params = f"train:\n  lr: {0.01 * (i + 1)}\n".encode()
        metrics = json.dumps({"f1": f1, "loss": 1 - f1}).encode()
        experiments.append((name, params, metrics))
    import_experiments(repo, head, experiments, start)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    repo = git_repo
    make_pipeline(repo)
    _add(repo, [(f"e{i:02d}", round(0.1 + 0.03 * i, 3)) for i in range(20)], 1_700_000_000)
    return repo


@async_test
async def test_a_reload_with_one_new_experiment_is_prepared_off_the_ui_thread(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exptui.tui.screens.main import MainScreen

    monkeypatch.setattr(MainScreen, "FRAME_ENGINE_ROWS", 1)
    made: list[Prepared] = []

    def spy(*args: Any) -> Prepared:
        result = prepare(*args)
        made.append(result)
        return result

    monkeypatch.setattr(prepare_module, "prepare", spy)
    app = ExptuiApp(Project.open(repo), repo, poll_interval=0.1, view=ViewState())
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        main = app.main
        await wait_for(pilot, lambda: main.model.engine == "frame")
        main._apply_filter("f1 > 0.5")
        await pilot.pause()
        before = {r.key: r for r in table.rows}
        assert sorted(r.name for r in table.rows if r.kind == "experiment") == \
            [f"e{i:02d}" for i in range(14, 20)]
        assert main._counts["shown"] == 6
        old_model = main.model
        assert "metrics:metrics.json:f1" in old_model.frame()._typed      # built by the filter

        reloads = app.reloads
        _add(repo, [("new-one", 0.97)], 1_800_000_000)
        app.request_reload()
        await wait_for(pilot, lambda: app.reloads > reloads)
        await pilot.pause()

        assert made and main.model is made[-1].model, "the reload was prepared in the loading thread"
        assert main.model is not old_model and made[-1].changed[0].name == "new-one"
        shown = [r.name for r in table.rows if r.kind == "experiment"]
        assert "new-one" in shown and sorted(shown) == sorted([f"e{i:02d}" for i in range(14, 20)] + ["new-one"])
        assert main._counts["shown"] == 7 and main._counts["total"] == 21
        for row in table.rows:            # the others are the very objects shown before
            if row.name != "new-one":
                assert before[row.key] is row
        # what was carried over equals a fresh derivation of the same rows
        rows = main.all_rows
        frame = main.model.frame()
        fresh = TableFrame(rows)
        f1 = main.model.index.resolve("f1")
        assert list(frame.cells(f1)) == list(fresh.cells(f1))
        assert frame.typed(f1).codes.tolist() == fresh.typed(f1).codes.tolist()
        assert frame.kind_codes().tolist() == fresh.kind_codes().tolist()
        assert frame.succeeded().tolist() == fresh.succeeded().tolist()
        assert frame.spread().tolist() == fresh.spread().tolist()
        assert main._best == best_cells(rows, main.model.columns, main.directions())
        assert {k: v for k, v in main._counts.items() if k != "shown"} == counts_of(rows)
        assert [c.id for c in main.model.columns] == [c.id for c in collect_columns(rows)]
        best_f1 = {r.name for r in rows if r.key in main._best.get(f1.id, set())}
        assert best_f1 == {"new-one"}          # the new experiment holds the best f1 of its baseline


@async_test
async def test_leaderboard_ranks_follow_a_filter_and_appear_with_a_sort_already_set(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`L` with a saved sort shows the # column (it did not: the layout key ignored the leaderboard), and a filtered
    leaderboard is ranked 1, 2, 3... over the rows it shows (rank cells change without their rows changing)."""
    from exptui.tui.screens.main import MainScreen

    monkeypatch.setattr(MainScreen, "FRAME_ENGINE_ROWS", 1)
    app = ExptuiApp(Project.open(repo), repo, poll_interval=60, view=ViewState(sort=[("metrics:metrics.json:f1",
                                                                                         True)]))
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        main = app.main
        await wait_for(pilot, lambda: main.model.engine == "frame")
        await pilot.press("L")
        await pilot.pause()
        assert table.fixed_columns[0].id == "rank" and "#" in table.render_line(1).text

        def ranks() -> list[tuple[str, str]]:
            lines = [table.render_line(y).text.split() for y in range(2, 2 + min(5, len(table.rows)))]
            return [(words[0], words[1]) for words in lines]

        assert ranks()[:3] == [("1", "e19"), ("2", "e18"), ("3", "e17")]
        main._apply_filter("f1 < 0.5")
        await pilot.pause()
        assert ranks()[:3] == [("1", "e13"), ("2", "e12"), ("3", "e11")]
        main._apply_filter("")
        await pilot.pause()
        assert ranks()[:2] == [("1", "e19"), ("2", "e18")]
