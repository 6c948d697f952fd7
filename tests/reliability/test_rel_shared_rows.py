"""The dashboard's rows share their params, metrics and errors dicts (`IndexCache.listed_row`): between two
experiment refs of one commit, between a reload's rows and the rows before it, and one empty `errors` dict among
every row without errors. They are read-only by convention only (plain dicts: a mappingproxy would not pickle
and would cost every reader). This walks the dashboard's actions that touch rows (star, label, note: annotations
and the reload they set off; sort, filter, leaderboard, only-changed, marks, best values, compare, sweep dialog, a
refresh) on a real repo and shows after each that no row's params, metrics or errors changed in place, so a
change to one experiment can never show in another's row.

A code audit (2026-12-07) found no write into a row's dicts in exptui (annotations are a frozen dataclass with a
tuple of labels; live values are kept beside the rows, in `LiveMetrics`; a sweep form copies the values it
prefills); this test keeps it so.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_query_shown import build_two_baselines
from tests.test_tui_streaming import SIZE
from tests.tui_support import async_test, wait_for

from exptui.project import Project
from exptui.records import ExperimentRow
from exptui.store import index as store_index
from exptui.tui.app import ExptuiApp
from exptui.tui.screens.main import MainScreen

F1 = "metrics:metrics.json:f1"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    build_two_baselines(repo)
    with Project.open(repo) as project:
        exp = next(r for r in project.experiments() if r.kind == "experiment" and r.params and r.ref)
    assert exp.ref is not None
    git(repo, "update-ref", f"{exp.ref}-copy", exp.rev)   # a second experiment of the same commit
    return repo


def _data(rows: list[ExperimentRow]) -> dict[str, tuple]:
    return {row.key: copy.deepcopy((row.params, row.metrics, row.errors)) for row in rows if row.kind != "workspace"}


@async_test
async def test_no_dashboard_action_changes_a_shared_row_in_place(repo: Path) -> None:
    app = ExptuiApp(Project.open(repo), repo, poll_interval=60)
    async with app.run_test(size=SIZE) as pilot:
        main: MainScreen = app.main
        await wait_for(pilot, lambda: app.reloads > 0 and main.loaded, timeout=120)
        rows = main.all_rows
        before = _data(rows)
        pair = [r for r in rows if r.kind == "experiment" and r.rev == next(
            x.rev for x in rows if x.ref and x.ref.endswith("-copy"))]
        assert len(pair) == 2 and pair[0].params is pair[1].params and pair[0].metrics is pair[1].metrics
        assert sum(r.errors is store_index._NO_ERRORS for r in rows) > 5   # the shared empty errors

        def unchanged(what: str) -> None:
            now = _data(main.all_rows)
            changed = [key for key, data in now.items() if key in before and data != before[key]]
            assert not changed, f"{what}: rows changed in place: {changed}"
            assert store_index._NO_ERRORS == {}, what

        async def on(row: ExperimentRow) -> None:
            main.table.cursor_row = next(i for i, r in enumerate(main.table.rows) if r.key == row.key)
            await pilot.pause()

        async def reloaded(after: int) -> None:
            await wait_for(pilot, lambda: app.reloads > after and main.loaded, timeout=120)

        first = pair[0]
        for keys, done in [(["asterisk"], lambda r: r.annotations.starred),
                           (["t", *"keep", "enter"], lambda r: r.annotations.labels == ("keep",)),
                           (["n", *"a note", "enter"], lambda r: r.annotations.note == "a note")]:
            await on(first)
            count = app.reloads
            await pilot.press(*keys)
            await reloaded(count)
            await wait_for(pilot, lambda: any(done(r) for r in main.all_rows if r.key == first.key), timeout=60)
            unchanged(f"after {keys[0]}")
        main.table.cursor_column = next(i for i, c in enumerate(main.table.columns) if c.id == F1)
        for keys in (["s"], ["L"], ["L"], ["o"], ["o"], ["space"], ["down", "space"],
                     ["slash", *"f1 >= 0", "enter"], ["escape"], ["d"], ["escape"], ["e"], ["escape"]):
            await pilot.press(*keys)
            await pilot.pause()
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), timeout=60) if keys == ["escape"] \
                else None
            unchanged(f"after {keys}")
        # a third ref of the commit, and a refresh (`R`; a refresh that finds nothing changed hands over no rows)
        copy_ref = next(r.ref for r in pair if r.ref and r.ref.endswith("-copy"))
        git(repo, "update-ref", f"{copy_ref}2", first.rev)
        count = app.reloads
        main.action_refresh()
        await reloaded(count)
        unchanged("after a refresh")
        again = [r for r in main.all_rows if r.rev == first.rev and r.kind == "experiment"]
        assert len(again) == 3 and again[0].params is again[1].params is again[2].params   # shared, unchanged
