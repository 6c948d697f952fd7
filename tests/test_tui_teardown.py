"""Late work never crashes a closing dashboard: a thread's result, a timer or a posted message that arrives while a
screen (or the whole app) is being torn down does nothing (`exptui.tui.alive`).

Textual removes a screen children first; the screen stays attached, and its workers keep running, until every
child is gone. A callback that checked `is_attached` and then queried a child got `NoMatches` in that window,
raised in the worker thread that handed it over (a crash of the app for workers that exit on error). The window
is held open here deterministically: a screen whose unmount handler waits for the test, after its children left.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Log, Static

from exptui.records import ExperimentRow
from exptui.tui.alive import alive
from exptui.tui.app import ExptuiApp
from exptui.tui.screens.help import HelpScreen
from exptui.tui.screens.log import LogScreen
from exptui.tui.screens.queue import QueueScreen
from exptui.tui.widgets.queue_table import QueueTable
from tests.test_tui_screens import demo_template, make_app, repo, rows_by_name  # noqa: F401 - fixtures
from tests.tui_support import POLL, WAIT_TIMEOUT, async_test, wait_for

SIZE = (100, 30)


class Hold:
    """Mixin: the screen's unmount waits until `release`, after its children were removed (the teardown window)."""

    def hold_init(self) -> None:
        self.holding = False
        self.release = asyncio.Event()

    async def on_unmount(self) -> None:
        self.holding = True
        await self.release.wait()


class HeldQueue(Hold, QueueScreen):
    pass


class HeldLog(Hold, LogScreen):
    pass


class HeldHelp(Hold, HelpScreen):
    pass


def experiment(app: ExptuiApp) -> ExperimentRow:
    return next(r for r in rows_by_name(app.project).values() if r.kind == "experiment")


async def until(predicate: Callable[[], object], what: str) -> None:
    """Poll `predicate` on the event loop itself: while a screen is held in its removal the app's message pump
    waits for it (a `pilot.pause` would wait for the app to be idle, for ever)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_TIMEOUT
    while not predicate():
        assert loop.time() < deadline, f"not reached: {what}"
        await asyncio.sleep(POLL)


@asynccontextmanager
async def held(pilot: Any, screen: Any, child: type) -> AsyncIterator[None]:
    """Push `screen`, pop it and let Textual remove its children, the screen itself waiting in its unmount
    handler; the body runs in that window, then the removal goes on (also when the body fails)."""
    screen.hold_init()
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.is_mounted and bool(screen.query(child)), "the screen shown")
    pilot.app.pop_screen()
    try:
        await until(lambda: screen.holding, "the screen's children removed")
        assert screen.is_attached and not screen.query(child)   # the window: attached, its widgets gone
        assert not alive(screen)
        yield
    finally:
        screen.release.set()


@async_test
async def test_late_callbacks_of_a_closing_screen_do_nothing(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        row = experiment(app)

        queue = HeldQueue(app.project)
        async with held(pilot, queue, QueueTable):
            queue._show([], 0)      # what the poll thread hands over (`call_from_thread`) after its read
            queue._tick()           # the 1 s timer

        log = HeldLog(app.project, row)
        async with held(pilot, log, Log):
            log._append("late output\n", 12)     # the tail thread's
            log._status_changed("success")

        help_screen = HeldHelp()
        async with held(pilot, help_screen, Static):
            help_screen._show_table(Text("keys"), SIZE[0])     # the layout thread's

        await wait_for(pilot, lambda: app.screen is app.main)
    assert app._exception is None and app.return_code in (None, 0)


@async_test
async def test_the_dashboard_is_not_live_once_its_removal_began(repo: Path) -> None:  # noqa: F811
    """From the first moment of the dashboard's removal (the app shutting down) a late load hands nothing to it,
    and the warm-up reads nothing ahead from it."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        main = app.main
        assert app._live_main() is main and app.screen_warm_up._chosen_rows(app)
        main.remove()           # Textual marks the subtree as pruned at once (what `alive` reads)
        assert main.is_attached and not alive(main)
        assert app._live_main() is None
        assert app.screen_warm_up._chosen_rows(app) == []
    assert app._exception is None


# the moments the app is quit at: right at the first complete rows (the warm-up timer, the poller and the
# first-screen save pending), while the warm-up's worker runs (stylesheet, plots read ahead), after it
MOMENTS = ("first-rows", "warm-up-running", "warm-up-done")


@pytest.mark.parametrize("moment", MOMENTS)
@async_test
async def test_quitting_while_the_dashboard_works_exits_cleanly(repo: Path, moment: str) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        if moment == "warm-up-running":
            await wait_for(pilot, lambda: any(w.group == "screen-warm-up" for w in app.workers), "the warm-up")
        elif moment == "warm-up-done":
            await wait_for(pilot, lambda: app.screen_warm_up.done, "the warm-up adopted")
        await pilot.press("q")
    assert app._exception is None and app.return_code in (None, 0)


@async_test
async def test_leaving_run_test_while_the_dashboard_works_exits_cleanly(repo: Path) -> None:  # noqa: F811
    """The test harness's own teardown (screens pruned before the app's exit flag is set, timers still firing)
    right after the first rows: what crashed two unrelated tests when the warm-up ran into it."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
    assert app._exception is None


@pytest.mark.parametrize("key", ["p", "Q", "enter", "question_mark", "d"])
@async_test
async def test_closing_a_screen_while_it_loads_exits_cleanly(repo: Path, key: str) -> None:  # noqa: F811
    """Open a view and close it at once, while its worker reads (plots keys and files, the queue, the log tail, the
    help table, the compare values), a few times; then quit while one is loading."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        table = app.main.table
        table.move_cursor_to_key(experiment(app).key)
        for _ in range(3):
            await pilot.press(key)
            await wait_for(pilot, lambda: app.screen is not app.main, "the view opened")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.main, "back on the dashboard")
        await pilot.press(key)
        await wait_for(pilot, lambda: app.screen is not app.main, "the view opened")
    assert app._exception is None and app.return_code in (None, 0)
