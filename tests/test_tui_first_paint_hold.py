"""With an early start (`exptui ui`), the dashboard holds its first paint until the first rows are in: the empty
table is never rendered and then rendered again with them (`ExptuiApp._hold_first_paint`). An early start that
is slow or fails must still give the dashboard.

Real repos with 1,500 experiments (`test_tui_streaming.big_template`), the real Project, index and app. What the
terminal would get is recorded where Textual hands it over (`App._display`, which headless runs call too).
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.test_tui_first_screen import FIRST, first_start, saving
from tests.test_tui_streaming import N, SIZE, big_repo, big_template  # noqa: F401 - fixtures
from tests.tui_support import async_test, wait_for

from exptui.project import Project
from exptui.store.first_rows import Early, EarlyStart
from exptui.tui.app import ExptuiApp
from exptui.tui.screens.main import MainScreen
from exptui.tui.view_state import ViewState
from exptui.tui.widgets.experiment_table import ExperimentTable


@pytest.fixture(autouse=True)
def few_first_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExptuiApp, "FIRST_ROWS", FIRST)


def record_frames(app: ExptuiApp) -> list[int]:
    """Per frame handed to the terminal (not held by a batch): how many rows the dashboard's table had."""
    frames: list[int] = []
    display = app._display

    def recording(screen, renderable) -> None:
        if renderable is not None and not app._batch_count and isinstance(screen, MainScreen):
            frames.append(len(screen.table.rows))
        display(screen, renderable)

    app._display = recording  # type: ignore[method-assign]
    return frames


def record_table_renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Per line the table rendered: how many rows it had then."""
    renders: list[int] = []
    real = ExperimentTable.render_line

    def recording(table: ExperimentTable, y: int):
        renders.append(len(table.rows))
        return real(table, y)

    monkeypatch.setattr(ExperimentTable, "render_line", recording)
    return renders



def held_early_start(repo: Path) -> tuple[Project, threading.Event, ExptuiApp]:
    """A dashboard whose early start (the real one, `exptui ui`'s) ends only once the returned gate is set."""
    project = Project.open(repo)
    real = project.start_first_screen()
    gate = threading.Event()

    def slow() -> Early | None:
        gate.wait()
        return real.result()

    return project, gate, ExptuiApp(project, repo, poll_interval=60, view=ViewState(), early=EarlyStart.start(slow))

@async_test
async def test_the_first_frame_already_has_the_saved_rows(big_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = await first_start(big_repo, ViewState())
    # the hold ends with the rows only (not by its bound), however slow this machine is
    monkeypatch.setattr(ExptuiApp, "FIRST_SCREEN_HOLD", 600.0)
    renders = record_table_renders(monkeypatch)
    project = Project.open(big_repo)
    app = ExptuiApp(project, big_repo, poll_interval=60, view=ViewState(), early=project.start_first_screen())
    frames = record_frames(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0 and not saving(app))
        await pilot.pause()
        assert app.partial_loads == 1 and app.first_paint is not None
        assert frames and frames[0] == FIRST          # the first frame out is the saved screen
        assert renders and min(renders) > 0           # the empty table was never rendered at all
        assert [row.key for row in app.main.table.rows[:FIRST]] == top
        assert not app.holding_first_paint
    project.close()


@async_test
async def test_a_slow_early_start_still_paints_the_empty_dashboard_first(big_repo: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    await first_start(big_repo, ViewState())
    monkeypatch.setattr(ExptuiApp, "FIRST_SCREEN_HOLD", 0.05)
    project, gate, app = held_early_start(big_repo)
    frames = record_frames(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            # the early start has not ended: the hold's bound let the empty dashboard through
            await wait_for(pilot, lambda: bool(frames))
            assert frames[0] == 0 and app.partial_loads == 0 and not app.holding_first_paint
            gate.set()
            await wait_for(pilot, lambda: app.reloads > 0 and not saving(app))
            assert len(app.main.all_rows) == N + 2
    finally:
        gate.set()
        project.close()


@async_test
async def test_a_failed_early_start_ends_the_hold_at_once(big_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No early result: the loading thread says so, the hold ends without waiting for its bound."""
    await first_start(big_repo, ViewState())
    monkeypatch.setattr(ExptuiApp, "FIRST_SCREEN_HOLD", 600.0)

    def failing() -> Early:
        raise OSError("the saved screen could not be read")

    project = Project.open(big_repo)
    app = ExptuiApp(project, big_repo, poll_interval=60, view=ViewState(), early=EarlyStart.start(failing))
    frames = record_frames(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(frames))
        assert not app.holding_first_paint
        await wait_for(pilot, lambda: app.reloads > 0 and not saving(app))
        assert len(app.main.all_rows) == N + 2 and app.main.table.rows
    project.close()


@async_test
async def test_while_loading_widths_fit_the_first_screenful(big_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The top of a first load is measured for its first screenful only (`ExperimentTable.measure_top`); a wide name
    further down widens its column once it is measured like every reload."""
    from dataclasses import replace

    from tests.test_tui_app import _rows, _table_app

    rows = _rows(200)
    rows[150] = replace(rows[150], name="a-much-longer-experiment-name-than-the-rest")
    app = _table_app(rows[:1])
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(ExperimentTable)
        table.measure_top = 60
        table.update_rows(rows)
        await pilot.pause()
        narrow = table._widths["name"]
        assert narrow < len(rows[150].name)
        table.measure_top = None
        table.update_rows(rows)
        await pilot.pause()
        assert table._widths["name"] > narrow

    # and the dashboard sets it for the top of its first load only
    tops: list[int | None] = []
    real_set_rows = MainScreen.set_rows

    def recording(main, rows, loading_total=None, prepared=None):
        real_set_rows(main, rows, loading_total, prepared)
        tops.append(main.table.measure_top)

    monkeypatch.setattr(MainScreen, "set_rows", recording)
    app2 = ExptuiApp(Project.open(big_repo), big_repo, poll_interval=60, view=ViewState())
    async with app2.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app2.reloads > 0)
        assert app2.partial_loads == 1 and len(tops) == 2
        assert tops[0] is not None and tops[0] >= SIZE[1] - 4 and tops[1] is None
    app2.project.close()


@async_test
async def test_keys_work_while_the_first_paint_is_held(big_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held, the dashboard still takes keys: `q` quits before anything was drawn (the hold ends with the app)."""
    await first_start(big_repo, ViewState())
    monkeypatch.setattr(ExptuiApp, "FIRST_SCREEN_HOLD", 600.0)
    project, gate, app = held_early_start(big_repo)
    frames = record_frames(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.is_mounted and app.holding_first_paint)
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running)
            assert frames == [] and app.return_code == 0
    finally:
        gate.set()
        project.close()
