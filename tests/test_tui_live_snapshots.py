"""SVG snapshot of the plots view's "over steps" tab drawing DVCLive curves live: three running trials of a sweep
(their values handed in as the app's poller hands them) beside the finished baseline's recorded DVCLive series.

Update only after looking at the report: `pytest tests/test_tui_live_snapshots.py --snapshot-update`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from exptui.project import LiveMetrics
from exptui.records import ExperimentRow
from tests.test_tui_screens import demo_template, make_app, repo, rows_by_name  # noqa: F401
from tests.tui_support import loaded, settled, wait_for, workers_idle

SIZE = (120, 36)


def trial_live(rate: float, steps: int) -> LiveMetrics:
    """A made-up run at `steps` steps: a test logloss falling at `rate` towards its floor."""
    test = [(s, round(0.33 + 0.15 * math.exp(-rate * s), 6)) for s in range(steps)]
    train = [(s, round(0.25 + 0.2 * math.exp(-rate * 1.3 * s), 6)) for s in range(steps)]
    return LiveMetrics(steps - 1, {"test.logloss": test[-1][1], "train.logloss": train[-1][1]},
                       {"test.logloss": test, "train.logloss": train})


def running_rows(base: ExperimentRow) -> list[ExperimentRow]:
    return [replace(base, name=f"trial-{i}", kind="queued", status="running", queue_id=f"q{i}", ref=None,
                    metrics={}, facts=None) for i in (1, 2, 3)]


def test_snapshot_live_over_steps_with_three_running_trials(repo: Path, snap_compare: Any) -> None:  # noqa: F811
    from exptui.tui.screens.plots import PlotScreen

    app = make_app(repo)
    main = rows_by_name(app.project)["main"]
    trials = running_rows(main)
    rates = {"q1": 0.02, "q2": 0.06, "q3": 0.12}

    async def run_before(pilot: Any) -> None:
        await loaded(app, pilot)                      # no first reload races the snapshot
        first = {key: trial_live(rate, 20) for key, rate in rates.items()}
        screen = PlotScreen(app.project, [main, *trials], live=first)
        await app.push_screen(screen)
        screen.action_tab("steps")
        # the finished baseline's series are read from git in a worker
        await wait_for(pilot, lambda: screen.step_data is not None, "the plots' per-step files read")
        live = screen.step_data.files["dvclive"]
        assert [index for index, _ in live] == [0, 1, 2, 3]      # the baseline, then the three trials
        assert len(live[0][1]) == 100 and len(live[1][1]) == 20
        # the poller brings newer values: the running curves grow, the finished one stays
        screen.set_live({key: trial_live(rate, 45 + 5 * i) for i, (key, rate) in enumerate(rates.items())})
        live = screen.step_data.files["dvclive"]
        assert [len(records) for _, records in live] == [100, 45, 50, 55]
        await settled(pilot, lambda: workers_idle(app), "the plots' loads")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
