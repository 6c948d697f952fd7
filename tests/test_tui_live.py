"""The dashboard's live columns: a running experiment's DVCLive step, latest value and sparkline, updated by the
poller while a real worker runs a real DVCLive-writing stage (each step gated by a file the test creates)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from exptui.project import Project
from exptui.tui.app import ExptuiApp
from exptui.tui.view_state import ViewState
from exptui.tui.widgets.experiment_table import HEADER_HEIGHT
from tests.live_support import make_live_repo, open_gate
from tests.tui_support import wait_for

pytest.importorskip("dvclive")


def line_of(app: ExptuiApp, name: str) -> str:
    table = app.main.table
    for index, row in enumerate(table.rows):
        if row.name == name:
            return table.render_line(HEADER_HEIGHT + index).text
    return ""


def header(app: ExptuiApp) -> str:
    table = app.main.table
    return table.render_line(0).text + "\n" + table.render_line(1).text


async def _watch_a_running_trial(repo: Path, gate: Path) -> None:
    project = Project.open(repo)
    (entry,) = project.queue.enqueue(["train.lr=2.0"], name="live-one")
    app = ExptuiApp(Project.open(repo), repo, poll_interval=0.1, view=ViewState())
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        project.queue.start(1)
        try:
            await wait_for(pilot, lambda: "Running" in line_of(app, "live-one"))
            assert "live" not in header(app)        # nothing logged yet: no live columns
            open_gate(gate, 2.0, 0)
            # DVCLive's first step: step 0, acc (the first key: no held-out metric is logged) 0.5, a one-point curve
            await wait_for(pilot, lambda: app.main.live.get(entry.id) is not None)
            await wait_for(pilot, lambda: "0.5" in line_of(app, "live-one"))
            head = header(app)
            assert "live" in head and "step" in head and "acc" in head and "curve" in head
            assert "▄" in line_of(app, "live-one")
            open_gate(gate, 2.0, 1)
            await wait_for(pilot, lambda: "▁█" in line_of(app, "live-one"))
            assert "0.6" in line_of(app, "live-one")
            # another metric for the live columns, by name
            await pilot.press("colon", *"live train.loss", "enter")
            await wait_for(pilot, lambda: "█▁" in line_of(app, "live-one"))
            assert "train.loss" in header(app) and app.main.live_metric == "train.loss"
            open_gate(gate, 2.0, 2)
            # the run ends: the row is a recorded experiment and the live columns go
            await wait_for(pilot, lambda: any(r.name == "live-one" and r.status == "success"
                                              for r in app.main.table.rows), timeout=120)
            await wait_for(pilot, lambda: not app.main.live)
            assert "curve" not in header(app)
            assert app.live_updates >= 3
        finally:
            for step in range(3):
                open_gate(gate, 2.0, step)
            project.queue.stop()


def test_running_row_shows_step_value_and_sparkline_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_live_repo(tmp_path)
    gate = tmp_path / "gate"
    gate.mkdir()
    monkeypatch.setenv("EXPTUI_TEST_LIVE_GATE", str(gate))
    asyncio.run(_watch_a_running_trial(repo, gate))
