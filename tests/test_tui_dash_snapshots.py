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

SIZES = [(80, 24), (200, 50)]
IDS = ["80x24", "200x50"]


async def _settle(pilot: Any, done: Any) -> None:
    for _ in range(400):
        if done():
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_snapshot_error_banner(repo: Path, snap_compare: Any, size: tuple[int, int]) -> None:  # noqa: F811
    from exptui.tui.widgets.problem_banner import ProblemBanner

    params = repo / "params.yaml"
    params.write_text(params.read_text() + "train:\n\t[bold]bad: 1\n")
    app = make_app(repo)

    async def run_before(pilot: Any) -> None:
        await _settle(pilot, lambda: app.reloads > 0 and app.main.query_one(ProblemBanner).display)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_snapshot_plots_with_ten_series(ten_repo: Path, snap_compare: Any, size: tuple[int, int]) -> None:  # noqa: F811
    from exptui.tui.screens.plots import PlotScreen

    app = make_app(ten_repo)

    async def run_before(pilot: Any) -> None:
        await _settle(pilot, lambda: app.reloads > 0)
        screen = PlotScreen(app.project, list(rows_by_name(app.project).values()))
        await app.push_screen(screen)
        await _settle(pilot, lambda: screen.built and screen.step_data is not None)
        screen.query_one("#scatter-x").value = "train.max_depth"
        screen.query_one("#scatter-y").value = "accuracy"
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
