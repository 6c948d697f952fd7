"""The first `p` (issue 11): the plots files read ahead by the dashboard's warm-up, by commit, are what the screen
shows (never a stale read: the workspace row's files are read when `p` opens), and a plots file git cannot read
says so in the screen while the app goes on. Real app, real demo repo, a really damaged git object."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from exptui.query.live_series import LIVE_PLOT_PATH
from exptui.query.step_data import StepData, load_step_data
from exptui.tui.plots_ahead import commits
from exptui.tui.screens.plots import PlotScreen
from tests.test_tui_plots_reopen import close, press_p, show_tab
from tests.test_tui_screen_open import cursor_to
from tests.test_tui_screens import (  # noqa: F401 - fixtures
    demo_template,
    make_app,
    repo,
    rows_by_name,
)
from tests.tui_support import async_test, wait_for

SIZE = (120, 36)
CURVE = "plots/train_curve.csv"


def same(a: StepData, b: StepData) -> bool:
    return (a.files, a.x_hints, a.y_hints, a.titles) == (b.files, b.x_hints, b.y_hints, b.titles)


async def warmed_up(app: Any, pilot: Any) -> None:
    ahead = app.screen_warm_up.plots
    await wait_for(pilot, lambda: app.screen_warm_up.done and ahead.read_commits > 0, "plots files read ahead")


@async_test
async def test_the_first_p_takes_the_plots_files_read_ahead(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        await warmed_up(app, pilot)
        ahead = app.screen_warm_up.plots
        requested: list[str] = []
        app.project.git.objects_requested = requested      # what git is asked from here on
        screen = await press_p(app, pilot)
        assert ahead.taken_commits == ahead.read_commits >= len(commits(screen.rows)) > 1
        assert screen.step_data is not None and CURVE in screen.step_data.files
        assert not [name for name in requested if name.endswith(f":{CURVE}")]   # not read again
        assert same(screen.step_data, load_step_data(app.project, screen.rows))
        await show_tab(pilot, screen, "2", "#steps-plot", "train_logloss")
        await close(app, pilot)


@async_test
async def test_the_workspace_rows_files_are_read_when_p_opens(repo: Path) -> None:  # noqa: F811
    """Read ahead, then the workspace's plots file changes on disk: `p` on the workspace row shows the new file
    (only commits are read ahead), beside the experiments' files it took."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        await warmed_up(app, pilot)
        (repo / CURVE).write_text("step,train_logloss\n1,123.5\n2,120.25\n")
        await cursor_to(app, pilot, "workspace")
        screen = await press_p(app, pilot)
        assert screen.rows[0].kind == "workspace" and screen.step_data is not None
        assert app.screen_warm_up.plots.taken_commits > 0
        assert (0, [{"step": "1", "train_logloss": "123.5"}, {"step": "2", "train_logloss": "120.25"}]) \
            in screen.step_data.files[CURVE]
        assert same(screen.step_data, load_step_data(app.project, screen.rows))
        await close(app, pilot)


def damage(repo: Path, rev: str, path: str) -> None:
    """Cut the loose object of `path` at `rev` in half: git finds it, then fails to read it (cat-file dies)."""
    sha = subprocess.run(["git", "rev-parse", f"{rev}:{path}"], cwd=repo, capture_output=True, text=True,
                         check=True).stdout.strip()
    loose = repo / ".git" / "objects" / sha[:2] / sha[2:]
    data = loose.read_bytes()
    loose.chmod(0o644)
    loose.write_bytes(data[:len(data) // 2])


@async_test
async def test_a_plots_file_git_cannot_read_is_said_in_the_screen(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        exp = next(r for r in rows_by_name(app.project).values() if r.kind == "experiment")
        damage(repo, exp.rev, CURVE)
        await cursor_to(app, pilot, "experiment", exp.name)
        await pilot.press("p")
        screen = app.screen
        assert isinstance(screen, PlotScreen)
        await wait_for(pilot, lambda: screen.built and screen.step_data is not None and not screen._opening.held)
        assert screen.steps_error is not None and "cat-file" in screen.steps_error
        assert "vs" in screen.query_one("#scatter-plot").render().plain   # type: ignore[attr-defined]
        await pilot.press("2")
        placeholder = "#steps-loading"
        await wait_for(pilot, lambda: screen.query(placeholder)
                       and "could not read plots: git cat-file" in str(screen.query_one(placeholder).render()))
        assert not screen.step_data.files or list(screen.step_data.files) == [LIVE_PLOT_PATH]
        await close(app, pilot)
        assert app.is_running
        await pilot.press("?")                 # the app goes on
        await wait_for(pilot, lambda: app.screen is not app.main)


def test_a_read_ahead_keeps_at_most_max_records(repo: Path, monkeypatch: Any) -> None:  # noqa: F811
    """Held until `p` (maybe all session): past MAX_RECORDS the read stops, and the screen reads the rest."""
    from exptui.project import Project
    from exptui.query.step_data import read_row_plots
    from exptui.tui import plots_ahead

    project = Project.open(repo)
    try:
        by_rev = {r.rev: r for r in project.experiments() if r.kind in ("baseline", "experiment") and commits([r])}
        rows = list(by_rev.values())[:3]
        first = read_row_plots(project, rows[0].rev)
        size = sum(len(r) for _p, r in first.files) + sum(len(p) for p in first.live.values())
        assert size > 0 and len(commits(rows)) >= 2
        monkeypatch.setattr(plots_ahead, "MAX_RECORDS", size + 1)
        ahead = plots_ahead.PlotsAhead()
        ahead.read(project, rows)
        taken = ahead.take()
        assert list(taken) == [rows[0].rev] and taken[rows[0].rev] == first
        assert ahead.take() == {}                                   # taken once
        data = load_step_data(project, rows, known=taken)
        assert same(data, load_step_data(project, rows))
    finally:
        project.close()
