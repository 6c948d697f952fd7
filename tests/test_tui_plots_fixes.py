"""Plots with many experiments, overlapping points, the mean line, tab keys after a dropdown was used, the series
dropdown after loading: reproduced on the real plot screen over a demo repo with ten experiments."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exptui.tui.screens.plots import PlotScreen
from exptui.tui.widgets.plot_data import PALETTE, colour_for, point_marker
from exptui.tui.widgets.plot_view import PlotLegend, PlotView
from tests.test_tui_screens import (  # noqa: F401 - fixtures
    demo_template,
    make_app,
    record_experiment,
    repo,
    rows_by_name,
)
from tests.tui_support import async_test, wait_for

SIZE = (120, 36)


@pytest.fixture
def ten_repo(repo: Path) -> Path:  # noqa: F811
    """The demo repo (main + two experiments) with eight more: ten series, two of them on the very same point."""
    for i in range(8):
        depth = 3 + i if i < 7 else 9      # the last one repeats deep-trees' depth and metrics: an overlap
        metrics = {"accuracy": 0.80 + i / 100} if i < 7 else {"accuracy": 0.861, "roc_auc": 0.871}
        record_experiment(repo, f"md{i}", {"train.max_depth": depth}, metrics, 0.9 + i / 20)
    return repo


async def open_plots(app: Any, pilot: Any) -> PlotScreen:
    rows = [r for r in rows_by_name(app.project).values()]
    screen = PlotScreen(app.project, rows)
    await app.push_screen(screen)
    await wait_for(pilot, lambda: screen.built and screen.step_data is not None)   # tabs up and files read
    await pilot.pause()
    return screen


def test_colour_and_marker_pairs_stay_distinct_past_the_palette() -> None:
    pairs = {(colour_for(i), point_marker(i)) for i in range(len(PALETTE) * 3)}
    assert len(pairs) == len(PALETTE) * 3


@async_test
async def test_ten_series_overlaps_and_the_mean_line_are_in_the_legend(ten_repo: Path) -> None:
    app = make_app(ten_repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plots(app, pilot)
        assert len(screen.rows) == 11
        screen.query_one("#scatter-x").value = "train.max_depth"
        screen.query_one("#scatter-y").value = "accuracy"
        await pilot.pause()
        legend = str(screen.query_one("#scatter-legend", PlotLegend).render()).replace("\u00a0", " ")
        assert "mean per x" in legend and "experiments on one point" in legend
        # the 8th..11th experiments reuse colours: their markers differ from the first round's
        assert point_marker(0) in legend and point_marker(len(PALETTE)) in legend
        plot = screen.query_one("#scatter-plot", PlotView).render().plain
        assert "×2" in plot                       # md7 and deep-trees share one point: counted, not hidden
        await pilot.press("2")
        await pilot.pause()
        steps = str(screen.query_one("#steps-legend", PlotLegend).render()).replace("\u00a0", " ")
        assert "━━" in steps and "••" in steps    # curves past the palette are drawn (and keyed) with dots


@async_test
async def test_tab_keys_work_after_a_dropdown_was_used_and_no_loading_choice_is_left(repo: Path) -> None:  # noqa: F811
    from textual.widgets import Select, TabbedContent

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plots(app, pilot)
        tabs = screen.query_one(TabbedContent)
        x = screen.query_one("#scatter-x", Select)
        x.focus()
        await pilot.press("enter", "down", "enter")          # pick another param in the dropdown
        await pilot.pause()
        assert screen.focused is x
        await pilot.press("2")
        assert tabs.active == "steps"
        await wait_for(pilot, lambda: "train_logloss" in screen.query_one("#steps-plot", PlotView).render().plain)
        series = screen.query_one("#steps-series", Select)
        series.focus()
        await pilot.pause()
        await pilot.press("3")
        assert tabs.active == "parallel"
        await pilot.press("1")
        assert tabs.active == "scatter"
        # the series dropdown lists series only: no blank "loading plots files…" entry stayed behind
        assert not series._allow_blank and series.value != Select.BLANK
        assert not screen.query("#steps-loading")


@async_test
async def test_plots_open_at_once_with_a_loading_state(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        await pilot.press("p")
        screen = app.screen
        assert isinstance(screen, PlotScreen)
        assert screen.built or screen.query("#plots-loading")     # the screen is up before its plots are
        await wait_for(pilot, lambda: screen.built and screen.step_data is not None)
        assert not screen.query("#plots-loading") and "vs" in screen.query_one("#scatter-plot", PlotView).render().plain


@async_test
async def test_many_experiments_plot_the_best_ones_and_a_shows_all(repo: Path) -> None:  # noqa: F811
    """Past 49 experiments (the distinct colour+marker pairs) the plots draw the chosen row and the best by a known
    metric, say so in the title, and `a` switches to all of them and back."""
    from dataclasses import replace

    from exptui.tui.screens.plots import MAX_SERIES

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        exp = next(r for r in rows_by_name(app.project).values() if r.kind == "experiment")
        rows = [replace(exp, name=f"copy{i}", metrics={"metrics.json": {"accuracy": i / 100}}) for i in range(60)]
        screen = PlotScreen(app.project, rows)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.built and screen.step_data is not None)
        assert len(screen.rows) == MAX_SERIES and screen.subset.total == 60
        assert [r.name for r in screen.rows] == [f"copy{i}" for i in range(60 - MAX_SERIES, 60)]   # the best
        title = str(screen.query_one(".screen-title").render())
        assert f"best {MAX_SERIES} of 60 experiments by accuracy (a: all)" in title
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, PlotScreen) and app.screen is not screen)
        every = app.screen
        assert isinstance(every, PlotScreen) and len(every.rows) == 60 and every.show_all
        await wait_for(pilot, lambda: every.built and every.step_data is not None)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, PlotScreen) and not app.screen.show_all)
        assert len(app.screen.rows) == MAX_SERIES   # type: ignore[attr-defined]


class KeysFail(PlotScreen):
    """The plots screen whose key lists cannot be read (the error text looks like markup: shown as it is)."""

    def _keys(self, rows: list[Any]) -> tuple[list[str], list[str]]:
        raise OSError("plots unreadable: [bold]params.yaml[/bold]\n  second line")


@async_test
async def test_keys_that_cannot_be_read_leave_one_inert_line_and_the_app_goes_on(repo: Path) -> None:  # noqa: F811
    """`PlotScreen._keys_failed`: the key lists' worker fails; the screen says why on its one loading line (plain
    text, one line), builds no tabs, reads no plots files, gives the collector back, and the app goes on."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        screen = KeysFail(app.project, list(rows_by_name(app.project).values()))
        await app.push_screen(screen)
        loading = screen.query_one("#plots-loading")
        await wait_for(pilot, lambda: str(loading.render()).startswith("could not read plots"), "the failure shown")
        assert str(loading.render()) == "could not read plots: plots unreadable: [bold]params.yaml[/bold] second line"
        assert not screen.built and not screen.query("PlotTabs") and screen.step_data is None
        assert not screen._opening.held
        await pilot.press("2")                   # a tab key: kept for tabs that never come, nothing breaks
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, "back on the dashboard")
        await pilot.press("j")                   # the dashboard still answers
        await wait_for(pilot, lambda: app.main.table.cursor_row == 1, "the cursor moved")
    assert app._exception is None and app.return_code in (None, 0)
