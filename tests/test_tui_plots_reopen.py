"""`p` reopens one kept plots screen (issue 11): for another row of the same dropdown choices it shows what a new
screen would (the row's family, the first tab at its first choices, the other tabs filled again for the new rows
when shown), and rows of other choices get a new screen. Real app, real demo repo."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.widgets import Select, TabbedContent

from exptui.tui.screens.plots import PlotScreen, PlotTabs
from exptui.tui.widgets.plot_view import PlotLegend, PlotView
from tests.test_tui_screen_open import cursor_to
from tests.test_tui_screens import (  # noqa: F401 - fixtures
    demo_template,
    make_app,
    repo,
    rows_by_name,
)
from tests.tui_support import async_test, wait_for

SIZE = (120, 36)


def plot_text(screen: PlotScreen, widget: str) -> str:
    return screen.query_one(widget, PlotView).render().plain


def legend_text(screen: PlotScreen, widget: str) -> str:
    return str(screen.query_one(widget, PlotLegend).render())


async def press_p(app: Any, pilot: Any) -> PlotScreen:
    await pilot.press("p")
    screen = app.screen
    assert isinstance(screen, PlotScreen)
    await wait_for(pilot, lambda: screen.built and screen.step_data is not None and not screen._opening.held)
    await pilot.pause()
    return screen


async def show_tab(pilot: Any, screen: PlotScreen, key: str, plot: str, words: str) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: screen.query(plot) and words in plot_text(screen, plot), f"{plot} shows {words}")


async def close(app: Any, pilot: Any) -> None:
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is app.main)


@async_test
async def test_p_reopens_one_screen_for_rows_of_the_same_choices(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        names = [r.name for r in rows_by_name(app.project).values() if r.kind == "experiment"]
        await cursor_to(app, pilot, "experiment", names[0])
        first = await press_p(app, pilot)
        tabs = first.query_one(PlotTabs)
        assert len(tabs.params) > 1
        await show_tab(pilot, first, "3", "#parallel-plot", "parallel coordinates")
        await show_tab(pilot, first, "2", "#steps-plot", "train_logloss")
        await pilot.press("1")
        first.query_one("#scatter-x", Select).value = tabs.params[1]     # another param than a new screen shows
        await pilot.pause()
        await close(app, pilot)

        await cursor_to(app, pilot, "experiment", names[1])
        again = await press_p(app, pilot)
        assert again is first and [r.name for r in again.chosen] == [names[1]]
        assert again.query_one(TabbedContent).active == "scatter"
        assert again.query_one("#scatter-x", Select).value == tabs.params[0]
        assert not again.query("#parallel-plot") and not again.query("#steps-plot")   # filled again when shown
        assert "vs" in plot_text(again, "#scatter-plot")
        await show_tab(pilot, again, "2", "#steps-plot", "train_logloss")
        await show_tab(pilot, again, "3", "#parallel-plot", "parallel coordinates")
        await pilot.press("1")
        reopened = {w: plot_text(again, w) for w in ("#scatter-plot", "#steps-plot", "#parallel-plot")}
        legends = {w: legend_text(again, w) for w in ("#scatter-legend", "#steps-legend")}
        await close(app, pilot)

        # what a new screen over the same row shows
        row = next(r for r in app.main.table.rows if r.name == names[1])
        new = PlotScreen(app.project, [row])
        await app.push_screen(new)
        await wait_for(pilot, lambda: new.built and new.step_data is not None)
        await show_tab(pilot, new, "2", "#steps-plot", "train_logloss")
        await show_tab(pilot, new, "3", "#parallel-plot", "parallel coordinates")
        await pilot.press("1")
        await pilot.pause()
        assert [r.key for r in new.rows] == [r.key for r in again.rows]
        assert {w: plot_text(new, w) for w in reopened} == reopened
        assert {w: legend_text(new, w) for w in legends} == legends
        assert str(new.query_one(".screen-title").render()) == str(again.query_one(".screen-title").render())


@async_test
async def test_rows_of_other_choices_get_a_new_plots_screen(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        kept = await press_p(app, pilot)
        await close(app, pilot)
        exp = next(r for r in rows_by_name(app.project).values() if r.kind == "experiment")
        others = [replace(exp, name=f"other{i}", params={}, metrics={"metrics.json": {"f1": i / 10}})
                  for i in range(3)]
        rows, generation = list(kept.rows), kept._generation
        assert not kept.reopen(others)                         # nothing changed
        assert kept.rows == rows and kept._generation == generation

        # the dashboard then builds a new screen and keeps that one
        table = app.main.table
        table.move_cursor_to_key(next(r.key for r in table.rows if r.kind == "workspace"))
        app.main.plot_screen.reopen = lambda *args: False     # as for rows of other choices
        await pilot.pause()
        fresh = await press_p(app, pilot)
        assert fresh is not kept and app.main.plot_screen is fresh
        await wait_for(pilot, lambda: not kept.is_attached)     # the old one was let go
        await close(app, pilot)
