"""SVG snapshots at 80x24 and 200x50: the table with a running sweep (its progress line, a running row's stage
i/n, best values highlighted) and compare with the best of each row highlighted.

Update only after looking at the report: `pytest tests/test_tui_sweeps_snapshots.py --snapshot-update`.
The running sweep is the snapshot demo's rows with sweep facts and states set (see test_tui_sweeps.sweep_rows),
with no start time, so no clock shows in the picture.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_tui_snapshots import dashboard, snapshot_repo, until_loaded  # noqa: F401 - the fixture
from tests.test_tui_sweeps import compare_rows, sweep_rows
from tests.tui_support import settled, workers_idle

SIZES = [(80, 24), (200, 50)]
IDS = ["80x24", "200x50"]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_snapshot_table_with_a_running_sweep(snap_compare: Any, snapshot_repo: Path,  # noqa: F811
                                             size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await until_loaded(pilot)
        main = pilot.app.main
        main.set_rows(sweep_rows(list(main.all_rows), {"trees-300": "running", "lr-0.03": "queued"}))
        # the stage order is read in a worker: wait for "train 3/4" (a loaded CI machine took more than 10 s)
        await settled(pilot, lambda: main.stage_order and workers_idle(pilot.app), "the stage order loaded")
        assert main.stage_order, "the stage order was never loaded"

    assert snap_compare(dashboard(snapshot_repo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_snapshot_compare_with_the_best_of_each_row(snap_compare: Any, snapshot_repo: Path,  # noqa: F811
                                                    size: tuple[int, int]) -> None:
    from exptui.tui.screens.compare import CompareScreen

    async def run_before(pilot: Any) -> None:
        await until_loaded(pilot)
        app = pilot.app
        await app.push_screen(CompareScreen(app.project, compare_rows(snapshot_repo)))
        await settled(pilot, lambda: workers_idle(app), "the dashboard's loads")

    assert snap_compare(dashboard(snapshot_repo), terminal_size=size, run_before=run_before)
