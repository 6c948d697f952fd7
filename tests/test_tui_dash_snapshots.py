"""SVG snapshots at 80x24 and 200x50: the workspace error banner and plots of ten experiments (issue 11).

Update only after looking at the report: `pytest tests/test_tui_dash_snapshots.py --snapshot-update`.
The demo repo is deterministic (fixed dates and seeds; experiments recorded with fixed commit dates).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_tui_plots_fixes import ten_repo  # noqa: F401 - the fixture
from tests.test_tui_screens import demo_template, make_app, repo, rows_by_name  # noqa: F401 - fixtures
from tests.tui_support import loaded, settled, workers_idle

SIZES = [(80, 24), (200, 50)]
IDS = ["80x24", "200x50"]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_snapshot_error_banner(repo: Path, snap_compare: Any, size: tuple[int, int]) -> None:  # noqa: F811
    from exptui.tui.widgets.problem_banner import ProblemBanner

    params = repo / "params.yaml"
    params.write_text(params.read_text() + "train:\n\t[bold]bad: 1\n")
    app = make_app(repo)

    async def run_before(pilot: Any) -> None:
        await settled(pilot, lambda: app.reloads > 0 and app.main.query_one(ProblemBanner).display
                      and workers_idle(app), "the table and the error banner")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_snapshot_plots_with_ten_series(ten_repo: Path, snap_compare: Any, size: tuple[int, int]) -> None:  # noqa: F811
    from exptui.tui.screens.plots import PlotScreen

    app = make_app(ten_repo)

    async def run_before(pilot: Any) -> None:
        await loaded(app, pilot)
        screen = PlotScreen(app.project, list(rows_by_name(app.project).values()))
        await app.push_screen(screen)
        await settled(pilot, lambda: screen.built and screen.step_data is not None and workers_idle(app),
                      "the plots built and the per-step files read")
        screen.query_one("#scatter-x").value = "train.max_depth"
        screen.query_one("#scatter-y").value = "accuracy"
        # Select.Changed redraws the scatter: handled once the message queues are idle (nothing else to wait for)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
