"""Sweeps you can see, best values at a glance, the leaderboard's ranks and the compare screen's fixes: Pilot tests
on the real app over the deterministic snapshot demo (a baseline and five experiments with distinct f1 values).

Rows of a running sweep are the repo's real rows with sweep facts and states set (`dataclasses.replace`), handed to
the dashboard as a reload would: a live queue's timing is not what these tests are about (the store side of sweep
ids is tested with real workers in test_sweep_ids.py).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.test_tui_snapshots import build_snapshot_repo
from tests.tui_support import async_test, record_notifications, wait_for

from exptui.project import Project
from exptui.records import ExperimentRow, RunFacts
from exptui.tui.app import ExptuiApp
from exptui.tui.screens.compare import CompareScreen
from exptui.tui.view_state import ViewState
from exptui.tui.widgets.compare_table import CompareTable
from exptui.tui.widgets.experiment_table import TableColumn, status_text
from exptui.tui.widgets.sweep_progress import SweepProgressLine

F1 = "metrics:metrics.yaml:f1"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_snapshot_repo(tmp_path_factory.mktemp("sweeps") / "demo")


def make_app(repo: Path, view: ViewState | None = None) -> ExptuiApp:
    # no reload races a test's hand-made rows: the repo does not change while these tests run
    return ExptuiApp(Project.open(repo), repo, poll_interval=30, view=view or ViewState())


def f1(row: ExperimentRow) -> float:
    return float(row.metrics["metrics.yaml"]["f1"])


SWEEP_ID = "1704200000000-abcdef"
TRIALS = ("depth-3", "depth-8", "trees-300", "lr-0.03")


def sweep_rows(rows: list[ExperimentRow], states: dict[str, str]) -> list[ExperimentRow]:
    """The repo's rows with four experiments turned into the trials of one sweep `md-lr`; a trial whose state is
    not success becomes a queue row in that state (no metrics yet, as the queue shows it)."""
    out = []
    for row in rows:
        if row.name not in TRIALS:
            out.append(row)
            continue
        status = states.get(row.name, "success")
        facts = replace(row.facts or RunFacts(), sweep=SWEEP_ID, sweep_label="md-lr", duration=20.0)
        if status == "success":
            out.append(replace(row, facts=facts))
        else:
            out.append(replace(row, kind="queued", status=status, metrics={}, queue_id=f"q-{row.name}",
                               stage="train" if status == "running" else None, started=None,
                               facts=replace(facts, duration=None)))
    return out


# --------------------------------------------------------------------------- sweeps


@async_test
async def test_a_running_sweep_shows_its_progress_and_eta_and_its_end_names_the_best_trial(demo: Path) -> None:
    app = make_app(demo)
    shown = record_notifications(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        main = app.main
        real = list(main.all_rows)
        line = main.query_one(SweepProgressLine)
        assert not line.display                               # no sweep: no line
        main.set_rows(sweep_rows(real, {"trees-300": "running", "lr-0.03": "queued"}))
        await pilot.pause()
        assert line.display
        # 2 done x 20 s each; 1 running + 1 queued left on the one busy worker: 40 s
        assert str(line.render()).strip() == "◔ sweep md-lr: 2/4 done, 1 running, ETA 0:40"
        main.set_rows(sweep_rows(real, {}))
        await pilot.pause()
        assert not line.display
    best = max((r for r in real if r.name in TRIALS), key=f1)
    assert [m for m in shown if m.startswith("sweep md-lr")] == \
        [f"sweep md-lr finished: 4 trials; best f1 {f1(best):.5g}: {best.name}"]


@async_test
async def test_the_sweep_filter_and_the_stage_of_a_running_row(demo: Path) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        main = app.main
        main.set_rows(sweep_rows(list(main.all_rows), {"trees-300": "running"}))
        await pilot.press("slash", *"sweep == 'md-lr'", "enter")
        await wait_for(pilot, lambda: main.view.filter == "sweep == 'md-lr'")
        assert sorted(r.name for r in main.shown_rows if r.kind != "baseline") == sorted(TRIALS)
        await wait_for(pilot, lambda: bool(main.stage_order))      # read from dvc.yaml in a worker
        running = next(r for r in main.shown_rows if r.status == "running")
        order = main.stage_order
        assert "train" in order
        assert status_text(running, 0.0, order) == f"Running train {order.index('train') + 1}/{len(order)}"


def test_status_text_of_a_running_row_says_stage_i_of_n_and_elapsed() -> None:
    row = ExperimentRow("t", "0" * 40, "0" * 40, kind="queued", status="running", stage="train", started=100.0)
    assert status_text(row, 165.0, ["prepare", "train", "evaluate"]) == "Running train 2/3 1m05s"
    assert status_text(row, 165.0) == "Running train 1m05s"


@async_test
async def test_best_values_are_highlighted_per_baseline_and_per_sweep(demo: Path) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        main = app.main
        rows = sweep_rows(list(main.all_rows), {})
        main.set_rows(rows)
        await pilot.pause()
        column = TableColumn(F1, "f1", numeric=True)
        tones = {r.name: main._cell(r, column)[1] for r in main.shown_rows if r.kind == "experiment"}
        experiments = [r for r in rows if r.kind == "experiment"]
        best_overall = max(experiments, key=f1).name              # best of the baseline (and of the sweep)
        assert tones[best_overall] == "best"
        assert [n for n, tone in tones.items() if tone == "best"] == [best_overall]
        # without depth-8 in the sweep, the sweep's own best is highlighted too
        main.set_rows([replace(r, facts=replace(r.facts, sweep=None, sweep_label=None))
                       if r.name == best_overall and r.facts else r for r in rows])
        await pilot.pause()
        tones = {r.name: main._cell(r, column)[1] for r in main.shown_rows if r.kind == "experiment"}
        in_sweep = max((r for r in experiments if r.name in TRIALS and r.name != best_overall), key=f1).name
        assert {n for n, tone in tones.items() if tone == "best"} == {best_overall, in_sweep}
        # precision is known too (higher is better): its best is highlighted on its own row
        precision = TableColumn("metrics:metrics.yaml:precision", "precision", numeric=True)
        top = max(experiments, key=lambda r: r.metrics["metrics.yaml"]["precision"]).name
        assert main._cell(next(r for r in main.shown_rows if r.name == top), precision)[1] == "best"


# --------------------------------------------------------------------------- leaderboard and compare


@async_test
async def test_mark_and_compare_the_top_three_by_f1_within_six_keys(demo: Path) -> None:
    """From a fresh dashboard: `L` ranks by f1 (the headline metric), three marks, `d`."""
    app = make_app(demo)
    keys = ["L", "space", "space", "space", "d"]
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        ranked = sorted((r for r in app.main.all_rows if r.kind in ("baseline", "experiment")), key=f1,
                        reverse=True)
        await pilot.press(*keys)
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert [r.name for r in screen.rows] == [r.name for r in ranked[:3]]
        table = app.main.table
        assert [table.cell_text(r, TableColumn("rank", "#")).plain for r in table.rows[:4]] == ["1", "2", "3", "4"]
    assert len(keys) <= 6


def compare_rows(demo: Path) -> list[ExperimentRow]:
    with Project.open(demo) as project:
        rows = {r.name: r for r in project.experiments()}
    return [rows["depth-8"], rows["trees-300"], rows["depth-3"]]


@async_test
async def test_compare_diff_only_hides_identical_fact_rows_and_counts_what_it_flags(demo: Path) -> None:
    rows = compare_rows(demo)
    # durations equal at the shown precision (1.2s) and one run slower: only the latter is a difference
    rows = [replace(r, facts=replace(r.facts or RunFacts(), duration=d, host="box", python="CPython 3.11.7",
                                     packages_digest="ab" * 32))
            for r, d in zip(rows, (1.21, 1.24, 1.22))]
    app = make_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.push_screen(CompareScreen(app.project, rows))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        table = screen.query_one(CompareTable)
        flagged = [line for line in table.lines if line is not None and line.differs]
        title = str(screen.query_one("#compare-title").render())
        assert f"{len(flagged)} differing rows" in title
        assert not any(line.section == "facts" and line.label == "duration" for line in flagged)
        await pilot.press("f")
        await pilot.pause()
        shown = [line for line in table.lines if line is not None]
        assert shown and all(line.differs for line in shown)
        assert not {"status", "host", "python", "packages digest", "duration"} & {line.label for line in shown}


@async_test
async def test_compare_at_80x24_fits_the_reference_and_two_experiments_despite_a_long_queued_command(
        demo: Path) -> None:
    rows = compare_rows(demo)
    command = "exptui queue 1704200000000-abcdef: md3-lr0.05 (train.max_depth=3 train.learning_rate=0.05)"
    rows[0] = replace(rows[0], facts=replace(rows[0].facts or RunFacts(), command=command + " " + "x" * 150))
    rows[1] = replace(rows[1], facts=replace(rows[1].facts or RunFacts(), command=command))
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(CompareScreen(app.project, rows))
        await pilot.pause()
        table = app.screen.query_one(CompareTable)
        assert table.virtual_size.width <= 80
        line = next(line for line in table.lines if line is not None and line.label == "command")
        assert line.texts[1] == "exptui run --queue -S train.max_depth=3 -S train.learning_rate=0.05"
        assert "1704200000000" not in line.texts[1]


@async_test
async def test_compare_highlights_the_best_of_each_row_and_r_picks_the_reference(demo: Path) -> None:
    rows = compare_rows(demo)
    app = make_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.push_screen(CompareScreen(app.project, rows))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        table = screen.query_one(CompareTable)
        line = next(line for line in table.lines if line is not None and line.label == "f1")
        best = max(range(3), key=lambda i: f1(rows[i]))
        assert line.best == (best,)
        row = table.get_row_at(table.lines.index(line))
        assert "underline" in str(row[best + 1].style)
        assert "r" in {b.key for b in screen.BINDINGS if hasattr(b, "key")}
        await pilot.press("r")
        await pilot.pause()
        assert [r.name for r in screen.rows] == [rows[1].name, rows[0].name, rows[2].name]
        assert str(screen.query_one("#compare-title").render()).endswith(f"deltas vs {rows[1].name}")
        line = next(line for line in table.lines if line is not None and line.label == "f1")
        assert line.deltas[0].abs is None and line.deltas[1].abs == pytest.approx(f1(rows[0]) - f1(rows[1]))


@async_test
async def test_a_sweep_queued_from_the_dialog_is_named_and_shows_its_progress(demo: Path, tmp_path: Path) -> None:
    """The real path: `e`, two values, ctrl+s; the queue rows come back through the store with the sweep's label."""
    import shutil

    from textual.widgets import Input

    from exptui.tui.screens.sweep import SweepScreen

    repo = tmp_path / "demo"
    shutil.copytree(demo, repo, symlinks=True)
    app = ExptuiApp(Project.open(repo), repo, poll_interval=0.1, view=ViewState())
    shown = record_notifications(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.ready)
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        field = next(f for f in screen.fields() if f.key == "train.max_depth")
        field.query_one(Input).focus()
        field.query_one(Input).value = ""
        await pilot.press("3", ",", "5", "ctrl+s")
        await wait_for(pilot, lambda: app.screen is app.main)
        line = app.main.query_one(SweepProgressLine)
        await wait_for(pilot, lambda: line.display)
        assert str(line.render()).strip() == "◔ sweep md: 0/2 done, ETA ?"
    assert "queued 2 experiments as sweep md" in shown


@async_test
async def test_better_sets_a_metrics_direction_for_the_highlight_and_keeps_it(demo: Path, tmp_path: Path) -> None:
    """`:better precision lower` flips which precision is highlighted; the setting is kept in the view state and
    `:better precision auto` goes back to the name's direction."""
    import shutil

    from exptui.tui.view_state import load_view

    repo = tmp_path / "demo"
    shutil.copytree(demo, repo, symlinks=True)
    app = make_app(repo)
    precision = TableColumn("metrics:metrics.yaml:precision", "precision", numeric=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        main = app.main

        def best() -> set[str]:
            return {r.name for r in main.shown_rows if main._cell(r, precision)[1] == "best"}

        experiments = [r for r in main.all_rows if r.kind in ("baseline", "experiment")]   # one baseline group
        values = {r.name: r.metrics["metrics.yaml"]["precision"] for r in experiments}
        assert best() == {max(values, key=values.__getitem__)}
        await pilot.press("colon", *"better precision lower", "enter")
        await wait_for(pilot, lambda: main.view.directions == {precision.id: "lower"})
        assert best() == {min(values, key=values.__getitem__)}
        main.save_view_now()
        assert load_view(repo).directions == {precision.id: "lower"}
        await pilot.press("colon", *"better precision auto", "enter")
        await wait_for(pilot, lambda: not main.view.directions)
        assert best() == {max(values, key=values.__getitem__)}
        await pilot.press("colon", *"better nosuch lower", "enter")
        await pilot.pause()
        assert "no metric named 'nosuch'" in str(main.query_one("#message-line").render())


@async_test
async def test_the_leaderboard_ranks_only_rows_with_a_value(demo: Path) -> None:
    """Queued and running trials have no f1 yet: they get no rank (not a shared last one)."""
    app = make_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        main = app.main
        main.set_rows(sweep_rows(list(main.all_rows), {"trees-300": "running", "lr-0.03": "queued"}))
        await pilot.press("L")
        await wait_for(pilot, lambda: main.view.leaderboard)
        table = main.table
        ranks = {r.name: table.cell_text(r, TableColumn("rank", "#")).plain for r in table.rows}
        assert ranks["trees-300"] == ranks["lr-0.03"] == ""
        ranked = sorted(int(v) for n, v in ranks.items() if v)
        assert ranked[0] == 1 and len(ranked) == len([r for r in table.rows if r.status != "queued"
                                                      and r.status != "running" and r.kind != "workspace"])
