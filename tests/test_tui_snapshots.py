"""How the dashboard looks: SVG snapshots (pytest-textual-snapshot) of a deterministic demo repo.

The repo is built with fixed commit dates and identity, and the extra experiments are recorded with fixed dates,
so shas, the Created column and every cell are the same on every machine. Review changes with
`pytest tests/test_tui_snapshots.py --snapshot-update` only after looking at the report.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import scoped_env
from tests.test_tui_app import record_experiment
from tests.tui_support import settled, wait_for, workers_idle

from exptui.project import Project
from exptui.tui.app import ExptuiApp
from exptui.tui.view_state import ViewState

FIXED_ENV = {"GIT_AUTHOR_NAME": "Demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid", "GIT_COMMITTER_NAME": "Demo",
             "GIT_COMMITTER_EMAIL": "demo@example.invalid", "GIT_CONFIG_NOSYSTEM": "1", "DVC_NO_ANALYTICS": "1"}

# a small, plausible sweep over the churn pipeline: (name, params, metrics, date)
SNAPSHOT_EXPERIMENTS = [
    ("depth-3", {"train.max_depth": 3}, {"accuracy": 0.8395, "f1": 0.45212, "precision": 0.70213, "recall": 0.33415,
                                          "roc_auc": 0.85532}),
    ("depth-8", {"train.max_depth": 8}, {"accuracy": 0.8525, "f1": 0.55046, "precision": 0.68571, "recall": 0.45946,
                                          "roc_auc": 0.86731}),
    ("trees-300", {"train.n_estimators": 300}, {"accuracy": 0.8505, "f1": 0.53731, "precision": 0.6855,
                                                 "recall": 0.44226, "roc_auc": 0.86512}),
    ("lr-0.03", {"train.learning_rate": 0.03}, {"accuracy": 0.8435, "f1": 0.47195, "precision": 0.70909,
                                                 "recall": 0.35381, "roc_auc": 0.86087}),
    ("random-forest", {"train.model": "random_forest"}, {"accuracy": 0.8455, "f1": 0.49169, "precision": 0.69507,
                                                          "recall": 0.38084, "roc_auc": 0.85914}),
]


def build_snapshot_repo(dest: Path) -> Path:
    from exptui.demo import build_demo_repo

    with scoped_env(FIXED_ENV):
        repo = build_demo_repo(dest, pipeline="churn", experiments=0, fixed_dates=True)
        for i, (name, params, metrics) in enumerate(SNAPSHOT_EXPERIMENTS):
            record_experiment(repo, name, params, metrics, date=f"2024-01-02T1{i}:00:00+00:00")
    return repo


@pytest.fixture(scope="module")
def snapshot_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_snapshot_repo(tmp_path_factory.mktemp("snap") / "demo")


def dashboard(repo: Path, view: ViewState | None = None) -> ExptuiApp:
    # a long poll interval: the snapshot must not race a reload
    return ExptuiApp(Project.open(repo), repo, poll_interval=30, view=view or ViewState())


async def until_loaded(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.reloads > 0, "the first reload of the dashboard's rows")
    # and the start-up warm-up (a second after the first listing): its stylesheet, adopted on the UI thread,
    # restyles every screen, and a snapshot taken meanwhile (seen once at load ~10: the help dialog over no dimmed
    # dashboard) shows a frame of that restyle
    from exptui.tui.screen_warmup import GROUP

    def warmed_up() -> bool:   # adopted, or its worker ended without (a warm-up that fails changes nothing)
        ended = any(w.group == GROUP and w.is_finished for w in app.workers)
        return (app.screen_warm_up.done or ended) and workers_idle(app)

    await wait_for(pilot, warmed_up, "the start-up warm-up")
    for input_widget in app.screen.query("Input"):
        input_widget.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_main_view(snap_compare, snapshot_repo: Path, size: tuple[int, int]) -> None:
    assert snap_compare(dashboard(snapshot_repo), terminal_size=size, run_before=until_loaded)


def test_main_view_sorted_and_marked(snap_compare, snapshot_repo: Path) -> None:
    view = ViewState(sort=[("metrics:metrics.yaml:f1", True)])

    async def run_before(pilot) -> None:
        await until_loaded(pilot)
        await pilot.press("j", "j", "space", "space")

    assert snap_compare(dashboard(snapshot_repo, view), terminal_size=(120, 36), run_before=run_before)


def test_filter_bar_with_error(snap_compare, snapshot_repo: Path) -> None:
    async def run_before(pilot) -> None:
        from textual.widgets import Static

        await until_loaded(pilot)
        bar = pilot.app.main.filter_bar
        count = bar.query_one("#filter-count", Static)
        # A valid prefix first, applied, then the mistake: the table keeps the last valid filter (2 of 5)
        # whatever the machine's speed; typing it all at once would make the snapshot depend on whether the
        # debounce fired between keystrokes.
        await pilot.press("slash", *"f1 > 0.5")
        await wait_for(pilot, lambda: "2 of 5" in str(count.render()), "the valid prefix applied (2 of 5)")
        assert "2 of 5" in str(count.render())
        await pilot.press(*" and nosuch > 1")
        for input_widget in pilot.app.screen.query("Input"):
            input_widget.cursor_blink = False
        # the debounced filter has run and reported the error, and the completion worker has answered
        await settled(pilot, lambda: bar.has_class("-error") and workers_idle(pilot.app), "the filter's error")

    assert snap_compare(dashboard(snapshot_repo), terminal_size=(120, 36), run_before=run_before)


def test_help_screen(snap_compare, snapshot_repo: Path) -> None:
    async def run_before(pilot) -> None:
        await until_loaded(pilot)
        await pilot.press("question_mark")
        # the key table is laid out by a worker
        await settled(pilot, lambda: getattr(pilot.app.screen, "loaded_width", None), "the help's key table")

    assert snap_compare(dashboard(snapshot_repo), terminal_size=(120, 36), run_before=run_before)


@pytest.mark.skipif(not os.environ.get("EXPTUI_SCREENSHOTS"), reason="set EXPTUI_SCREENSHOTS=1 to refresh docs/")
def test_write_readme_screenshots(tmp_path: Path) -> None:
    """Regenerate docs/screenshots/{dashboard,dashboard-80x24,filter,help,compare,plot}.svg: a live queue (one
    running, one queued entry), a starred and labelled experiment, only-changed columns, two experiments compared,
    the loss curves of one baseline's experiments."""
    import asyncio
    import time

    out = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    repo = build_snapshot_repo(tmp_path / "churn")
    with Project.open(repo) as project:
        rows = {r.name: r for r in project.experiments()}
        project.star(rows["depth-8"].ref, True)
        project.label(rows["depth-8"].ref, add=["candidate"])
        project.queue.enqueue(["train.max_depth=6,7", "train.n_estimators=200"])

    async def shoot(name: str, keys: tuple[str, ...] = (), size: tuple[int, int] = (120, 36),
                    start_worker: bool = False, then: tuple[str, ...] = ()) -> None:
        project = Project.open(repo)
        app = ExptuiApp(project, repo, poll_interval=0.3, view=ViewState(only_changed=True))
        try:
            async with app.run_test(size=size) as pilot:
                await until_loaded(pilot)
                if start_worker:
                    project.queue.start(jobs=1)
                    await settled(pilot, lambda: any(r.status == "running" and r.stage for r in app.main.table.rows)
                                  and workers_idle(app), "a running row with its stage")
                await pilot.press(*keys)
                if then:                   # keys for a screen that loads in a thread (plots read git blobs)
                    await settled(pilot, lambda: workers_idle(app), "the screen's loads")
                    await pilot.press(*then)
                for input_widget in app.screen.query("Input"):
                    input_widget.cursor_blink = False
                await settled(pilot, lambda: workers_idle(app), "the screen's loads")
                (out / f"{name}.svg").write_text(app.export_screenshot(title="exptui"))
        finally:
            if start_worker:
                project.queue.stop()
                while project.queue.workers_running():
                    time.sleep(0.3)
            project.close()

    asyncio.run(shoot("dashboard", start_worker=True))
    asyncio.run(shoot("dashboard-80x24", size=(80, 24)))
    asyncio.run(shoot("filter", keys=("slash", *"f1 > 0.5 and model == 'lightgbm'")))
    asyncio.run(shoot("help", keys=("question_mark",)))
    asyncio.run(shoot("compare", keys=("j", "j", "j", "space", "j", "space", "d")))   # past the fresh queue run
    asyncio.run(shoot("plot", keys=("j", "j", "p"), then=("2",)))
