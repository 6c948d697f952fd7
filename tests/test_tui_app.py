"""The dashboard, driven with Textual's Pilot over real demo repos (real git, real refs, real files).

The demo repo is built once per module with `build_demo_repo` and copied per test. Extra experiments are
recorded the way DVC stores them (one commit whose parent is the baseline, a create-only ref under
refs/exps/...), so the table is read back through the real store and Project.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dvc_compat.config import init_dvc_dir
from tests.conftest import TEST_GIT_ENV, git, scoped_env, set_dotted
from tests.tui_support import async_test, loaded, wait_for

from exptui.project import Project
from exptui.tui.app import ExptuiApp
from exptui.tui.screens.confirm import ConfirmScreen, InputScreen
from exptui.tui.screens.help import HelpScreen
from exptui.tui.view_state import ViewState, load_view
from exptui.tui.widgets.experiment_table import HEADER_HEIGHT, ExperimentTable
from exptui.tui.widgets.filter_bar import FilterBar

SIZE = (120, 36)


# name -> (params overrides, metrics)
EXPERIMENTS: dict[str, tuple[dict[str, Any], dict[str, float]]] = {
    "deep-trees": ({"train.max_depth": 9}, {"accuracy": 0.861, "f1": 0.58, "precision": 0.70, "recall": 0.49,
                                            "roc_auc": 0.871}),
    "many-trees": ({"train.n_estimators": 400}, {"accuracy": 0.852, "f1": 0.52, "precision": 0.69,
                                                 "recall": 0.41, "roc_auc": 0.866}),
    "slow-lr": ({"train.learning_rate": 0.01}, {"accuracy": 0.831, "f1": 0.31, "precision": 0.74,
                                                "recall": 0.20, "roc_auc": 0.842}),
}


def record_experiment(repo: Path, name: str, params: dict[str, Any], metrics: dict[str, float],
                      date: str | None = None) -> str:
    """Commit an experiment on top of HEAD exactly as `dvc exp run` stores it; return its ref.

    `date` (ISO 8601) fixes the commit dates, so snapshots of the table are byte-for-byte stable.
    """
    head = git(repo, "rev-parse", "HEAD").strip()
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / f"tmp-index-{name}")}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)

    def g(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=env, input=stdin, check=True, capture_output=True,
                              text=True).stdout.strip()

    g("read-tree", head)
    content = yaml.safe_load(git(repo, "show", f"{head}:params.yaml"))
    for key, value in params.items():
        set_dotted(content, key, value)
    for path, text in (("params.yaml", yaml.safe_dump(content, sort_keys=False)),
                       ("metrics.yaml", yaml.safe_dump(metrics, sort_keys=False))):
        blob = g("hash-object", "-w", "--stdin", stdin=text)
        g("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    tree = g("write-tree")
    digest = hashlib.sha256(f"{head}{name}".encode()).hexdigest()
    commit = g("commit-tree", tree, "-p", head, "-m", f"dvc: commit experiment {digest}")
    ref = f"refs/exps/{head[:2]}/{head[2:]}/{name}"
    g("update-ref", ref, commit, "0" * 40)
    Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    return ref


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from exptui.demo import build_demo_repo

    with scoped_env(TEST_GIT_ENV):
        repo = build_demo_repo(tmp_path_factory.mktemp("tpl") / "demo", pipeline="churn", experiments=0,
                               fixed_dates=True)
        for name, (params, metrics) in EXPERIMENTS.items():
            record_experiment(repo, name, params, metrics)
    return repo


@pytest.fixture
def repo(demo_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "demo"
    shutil.copytree(demo_template, dest, symlinks=True)
    return dest


def make_app(repo: Path, **kwargs: Any) -> ExptuiApp:
    return ExptuiApp(Project.open(repo), repo, poll_interval=0.1, view=kwargs.pop("view", ViewState()), **kwargs)


def names(table: ExperimentTable) -> list[str]:
    return [r.name for r in table.rows if r.kind == "experiment"]


def f1_of(name: str) -> float:
    return EXPERIMENTS[name][1]["f1"]


@async_test
async def test_table_groups_experiments_under_baseline(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        kinds = [r.kind for r in table.rows]
        assert kinds[:2] == ["workspace", "baseline"]
        assert sorted(names(table)) == sorted(EXPERIMENTS)
        lines = [table.render_line(y).text for y in range(2 + len(table.rows))]
        assert "metrics.yaml" in lines[0] and "params.yaml" in lines[0]
        assert "f1" in lines[1] and "Experiment" in lines[1]
        assert "train.max_depth" in [c.label for c in table.scroll_columns]
        experiment_lines = [line for line in lines if any(n in line for n in EXPERIMENTS)]
        assert [line.strip()[:2] for line in experiment_lines] == ["├─", "├─", "└─"]


@async_test
async def test_filter_narrows_rows_and_counts(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"f1 > 0.5")
        expected = sorted(n for n in EXPERIMENTS if f1_of(n) > 0.5)
        await wait_for(pilot, lambda: sorted(names(table)) == expected)
        count = str(app.main.query_one("#filter-count").render())
        assert count == f"{len(expected)} of {len(EXPERIMENTS)} match"
        # the baseline stays as the group header of the matching experiments
        assert any(r.kind == "baseline" for r in table.rows)
        await pilot.press("escape")
        await wait_for(pilot, lambda: sorted(names(table)) == sorted(EXPERIMENTS))
        assert not app.main.filter_bar.display


@async_test
async def test_large_tables_filter_and_sort_over_the_dataframe_engine(repo: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """From `FRAME_ENGINE_ROWS` rows on (lowered here: the demo has a handful), once pandas is imported in the
    background the table model runs filter and sort over a DataFrame, with the same rows shown as the row engine."""
    from exptui.tui.screens.main import MainScreen

    monkeypatch.setattr(MainScreen, "FRAME_ENGINE_ROWS", 1)
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await wait_for(pilot, lambda: app.main.model.engine == "frame")
        await pilot.press("slash")
        await pilot.press(*"f1 > 0.5")
        expected = sorted(n for n in EXPERIMENTS if f1_of(n) > 0.5)
        await wait_for(pilot, lambda: sorted(names(table)) == expected)
        await pilot.press("escape")
        await wait_for(pilot, lambda: sorted(names(table)) == sorted(EXPERIMENTS))
        assert app.main.model.engine == "frame"


@async_test
async def test_leaderboard_ranks_by_the_headline_metric_and_headers_show_the_sort(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await pilot.press("L")
        await pilot.pause()
        f1 = next(c for c in table.scroll_columns if c.id == "metrics:metrics.yaml:f1")
        assert f1.label.endswith(" ↓")              # f1 before accuracy (the first metric): higher is better
        ranked = [r for r in table.rows if r.kind == "experiment"]
        scores = [EXPERIMENTS[r.name][1]["f1"] for r in ranked]
        assert scores == sorted(scores, reverse=True)
        assert " ↓" in table.render_line(1).text


@async_test
async def test_empty_repo_says_what_to_do(git_repo: Path) -> None:
    app = make_app(git_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, pilot)
        hint = app.main.query_one("#empty-hint")
        assert hint.display and "run `exptui init`" in str(hint.render())
        init_dvc_dir(git_repo)
        app.main.set_rows(app.main.all_rows)
        assert "No dvc.yaml here" in str(hint.render())
        (git_repo / "dvc.yaml").write_text("stages: {}\n")
        app.main.set_rows(app.main.all_rows)
        assert "No experiments yet" in str(hint.render())


@async_test
async def test_filter_error_points_at_the_column(repo: Path) -> None:
    from exptui.query.filter import FilterError, compile_filter

    good, bad = "f1 > 0.5", "f1 > 0.5 and nosuch > 1"
    with pytest.raises(FilterError) as info:
        compile_filter(bad, app_columns(repo))
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await pilot.press("slash", *good)
        expected = sorted(n for n in EXPERIMENTS if f1_of(n) > 0.5)
        await wait_for(pilot, lambda: sorted(names(table)) == expected)
        await pilot.press(*bad[len(good):])
        bar = app.main.query_one(FilterBar)
        await wait_for(pilot, lambda: bar.has_class("-error"))
        error = str(app.main.query_one("#filter-error").render())
        assert "nosuch" in error
        assert error.index("^") == 3 + info.value.column
        assert bad[info.value.column:].startswith("nosuch")
        assert sorted(names(table)) == expected     # the last good filter stays while the text is broken
        for _ in range(len(" and nosuch > 1")):
            await pilot.press("backspace")
        await wait_for(pilot, lambda: not bar.has_class("-error"))


def app_columns(repo: Path):
    from exptui.query.columns import collect_columns

    with Project.open(repo) as project:
        return collect_columns(project.experiments())


async def move_to_column(pilot, table: ExperimentTable, column_id: str) -> None:
    await pilot.press("home")
    ids = [c.id for c in table.columns]
    target = ids.index(column_id)
    while table.cursor_column < target:
        await pilot.press("l")
    while table.cursor_column > target:
        await pilot.press("h")


@async_test
async def test_sort_cycles_on_cursor_column_within_baseline(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await move_to_column(pilot, table, "metrics:metrics.yaml:f1")
        await pilot.press("s")
        assert names(table) == sorted(EXPERIMENTS, key=f1_of)
        assert table.rows[1].kind == "baseline"   # still grouped: the baseline heads its experiments
        await pilot.press("s")
        assert names(table) == sorted(EXPERIMENTS, key=f1_of, reverse=True)
        # the sort is saved for this repo (debounced: once the keys stop)
        await wait_for(pilot, lambda: load_view(repo).sort == [("metrics:metrics.yaml:f1", True)])
        await pilot.press("s")
        assert app.main.view.sort == []
        await wait_for(pilot, lambda: load_view(repo).sort == [])
        await pilot.press("s", "s")
        await pilot.press("L")
        assert not table.grouped
        assert names(table) == sorted(EXPERIMENTS, key=f1_of, reverse=True)
        f1s = [r.metrics["metrics.yaml"]["f1"] for r in table.rows]
        assert f1s == sorted(f1s, reverse=True)    # one ranking across baselines and the workspace
    # quitting right after a change still saves it
    saved = load_view(repo)
    assert saved.leaderboard and saved.sort == [("metrics:metrics.yaml:f1", True)]


@async_test
async def test_command_line_sort_keep_and_quit(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await pilot.press("colon", *"sort recall desc", "enter")
        recall = {n: m["recall"] for n, (_, m) in EXPERIMENTS.items()}
        assert names(table) == sorted(EXPERIMENTS, key=recall.get, reverse=True)
        await pilot.press("colon", *"drop .*", "enter")
        await pilot.press("colon", *"keep metrics:.*", "enter")     # dvc semantics: keep protects from drop
        data_columns = [c.id for c in table.scroll_columns if c.family != "meta"]
        assert data_columns and all(c.startswith("metrics:") for c in data_columns)
        await pilot.press("colon", *"sort nosuchcolumn", "enter")
        message = app.main.query_one("#message-line")
        assert "nosuchcolumn" in str(message.render())
        await pilot.press("colon", *"sort recall", "enter")
        assert not message.display  # the old error went away with a command that worked
        await pilot.press("colon", "q", "enter")
        await pilot.pause()
    assert app.return_code == 0


@async_test
async def test_command_line_sort_takes_the_cli_spec_syntax_too(repo: Path) -> None:
    """`:sort` reads what `exptui show --sort-by` reads (`f1:desc`, `-f1`, `f1 desc`): one sort spec syntax."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        recall = {n: m["recall"] for n, (_, m) in EXPERIMENTS.items()}
        for spec in ("recall:desc", "-recall", "recall desc"):
            await pilot.press("colon", *f"sort {spec}", "enter")
            assert names(table) == sorted(EXPERIMENTS, key=recall.get, reverse=True), spec
            await pilot.press("colon", *"sort recall:asc", "enter")
            assert names(table) == sorted(EXPERIMENTS, key=recall.get), spec
        assert not app.main.query_one("#message-line").display


@async_test
async def test_mark_range_and_star(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        first = table._index[next(r.key for r in table.rows if r.kind == "experiment")]
        table.cursor_row = first
        await pilot.press("space")
        assert table.marked == {table.rows[first].key}
        assert table.cursor_row == first + 1
        await pilot.press("v", "j", "v")
        assert {table.rows[i].key for i in (first, first + 1, first + 2)} == table.marked
        await pilot.press("escape")
        assert not table.marked
        table.cursor_row = first
        starred = table.rows[first].name
        await pilot.press("asterisk")
        await wait_for(pilot, lambda: any(r.name == starred and r.annotations.starred for r in table.rows))


@async_test
async def test_remove_asks_first_then_removes_the_ref(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        row = next(r for r in table.rows if r.name == "slow-lr")
        table.move_cursor_to_key(row.key)
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert row.ref in git(repo, "for-each-ref", "refs/exps")
        await pilot.press("x", "enter")        # enter alone takes the focused default: Cancel
        assert not isinstance(app.screen, ConfirmScreen)
        assert row.ref in git(repo, "for-each-ref", "refs/exps")
        await pilot.press("x")
        await pilot.press("y")
        await wait_for(pilot, lambda: "slow-lr" not in names(table))
        assert row.ref not in git(repo, "for-each-ref", "refs/exps")


@async_test
async def test_apply_asks_first_then_writes_params(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        table.move_cursor_to_key(next(r.key for r in table.rows if r.name == "deep-trees"))
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["max_depth"] == 5
        await pilot.press("a")
        await pilot.press("y")
        await wait_for(pilot, lambda: yaml.safe_load((repo / "params.yaml").read_text())["train"]["max_depth"] == 9)


@async_test
async def test_branch_prompts_for_a_name(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        table.move_cursor_to_key(next(r.key for r in table.rows if r.name == "many-trees"))
        await pilot.press("b")
        assert isinstance(app.screen, InputScreen)
        await pilot.press("ctrl+u", *"try-400", "enter")
        await wait_for(pilot, lambda: "try-400" in git(repo, "branch", "--list", "try-400"))


@async_test
async def test_new_experiment_appears_live(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        cursor = table.cursor_key
        def run_one() -> None:          # the real engine, in another Project, as a second terminal would
            with Project.open(repo) as other:
                other.run(overrides=["train.n_estimators=50"], name="late-arrival", temp=True)

        runner = asyncio.get_running_loop().run_in_executor(None, run_one)
        await wait_for(pilot, lambda: "late-arrival" in names(table))
        await runner
        row = next(r for r in table.rows if r.name == "late-arrival")
        assert row.params["params.yaml"]["train.n_estimators"] == 50
        assert row.metrics["metrics.yaml"]["f1"] > 0
        assert table.cursor_key == cursor     # a keyed update keeps the cursor where it was


@async_test
async def test_help_lists_bindings_and_q_quits(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        from rich.console import Console

        from exptui.tui.screens.help import help_table

        console = Console(width=120, record=True, file=open(os.devnull, "w"))
        console.print(help_table(app))
        text = console.export_text()
        for label in ("Filter", "Sort", "Remove", "main.filter", ":sort"):
            assert label in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


@async_test
async def test_help_on_the_queue_view_explains_the_queue_view_first(repo: Path) -> None:
    from exptui.tui.screens.queue import QueueScreen

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("Q")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.context == "Queue view"
        keys = dict((description, k) for k, description in app.screen.context_keys)
        assert keys["Kill"] == "K" and keys["Retry all failed"] == "R" and keys["Start workers"] == "s"
        assert "j" in keys["Down"].split() and "k" in keys["Up"].split()
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


@async_test
async def test_keymap_file_remaps_a_binding(repo: Path, tmp_path: Path) -> None:
    from exptui.tui.config import ConfigError, load_keymap

    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\n"main.filter" = "f"\n')
    keymap = load_keymap(keys, known_ids={"main.filter"})
    app = make_app(repo, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("f")
        assert app.main.filter_bar.display
        assert app.focused is app.main.filter_bar.input
    keys.write_text('[keys]\n"main.flter" = "f"\n')
    with pytest.raises(ConfigError, match="main.flter"):
        load_keymap(keys, known_ids={"main.filter"})
    keys.write_text('[keys\n')
    with pytest.raises(ConfigError, match="keys.toml"):
        load_keymap(keys)


@async_test
async def test_view_state_restored_on_start(repo: Path) -> None:
    from exptui.tui.view_state import save_view

    save_view(repo, ViewState(filter="f1 > 0.5", sort=[("metrics:metrics.yaml:f1", True)]))
    app = ExptuiApp(Project.open(repo), repo, poll_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        assert names(table) == sorted((n for n in EXPERIMENTS if f1_of(n) > 0.5), key=f1_of, reverse=True)
        assert app.main.filter_bar.display


@async_test
async def test_missing_secondary_screen_is_reported_not_fatal(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("Q")
        await pilot.pause()
        assert app.screen is not None   # either the queue screen opened or a notification said why


@async_test
async def test_filter_bar_completes_column_names(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await pilot.press("slash", *"roc_a")
        bar = app.main.filter_bar
        await wait_for(pilot, lambda: bar.input._suggestion == "roc_auc")
        await pilot.press("right", *" > 0.86")
        expected = sorted(n for n, (_, m) in EXPERIMENTS.items() if m["roc_auc"] > 0.86)
        await wait_for(pilot, lambda: sorted(names(table)) == expected)


@async_test
async def test_column_chooser_hides_and_pins(repo: Path) -> None:
    from exptui.tui.screens.columns import ColumnsScreen

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await pilot.press("c")
        assert isinstance(app.screen, ColumnsScreen)
        screen = app.screen
        ids = [c.id for c in screen._columns]
        first, second = ids[0], ids[1]
        await pilot.press("space")           # hide the first column
        await pilot.press("down", "p")       # pin the second
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, ColumnsScreen)
        assert first not in [c.id for c in table.columns]
        assert second in [c.id for c in table.fixed_columns]
        await wait_for(pilot, lambda: load_view(repo).hidden == [first] and load_view(repo).pinned == [second])
        await pilot.press("c")
        await pilot.press("o", "escape")     # cancel: nothing changes
        assert not app.main.view.only_changed


def _palette_highlight(app: ExptuiApp) -> str:
    """The highlighted hit of the open command palette ("" while it has none)."""
    from textual.command import CommandList

    hits = app.screen.query(CommandList)
    if not hits or hits.first().highlighted is None:
        return ""
    return str(hits.first().highlighted_option.prompt)


@async_test
async def test_command_palette_runs_dashboard_actions(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Leaderboard")
        await wait_for(pilot, lambda: "Leaderboard" in _palette_highlight(app), "the palette's search to find it")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.view.leaderboard)
        assert not table.grouped


@pytest.mark.parametrize("key, screen_name", [("d", "CompareScreen"), ("e", "SweepScreen"), ("Q", "QueueScreen"),
                                              ("enter", "LogScreen"), ("p", "PlotScreen")])
@async_test
async def test_secondary_screens_open_from_the_table(repo: Path, key: str, screen_name: str) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        table.move_cursor_to_key(next(r.key for r in table.rows if r.name == "deep-trees"))
        await pilot.press(key)
        await wait_for(pilot, lambda: type(app.screen).__name__ == screen_name)
        assert type(app.screen).__name__ == screen_name


def _wait_workers_gone(repo: Path, timeout: float = 90) -> None:
    import time

    with Project.open(repo) as project:
        deadline = time.monotonic() + timeout
        while project.queue.workers_running():
            if time.monotonic() > deadline:
                for worker in project.queue.workers():
                    os.kill(worker.pid, 9)
                raise AssertionError("queue workers did not stop")
            time.sleep(0.2)


@pytest.mark.parametrize("choice", ["keep", "stop"])
@async_test
async def test_quit_asks_when_workers_started_here_are_running(repo: Path, choice: str) -> None:
    from textual.widgets import Button

    from exptui.tui.screens.confirm import ChoiceScreen

    app = make_app(repo)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(app, pilot)
            queue = app.project.queue
            queue.enqueue(["train.n_estimators=20,30"])
            queue.start(jobs=1)
            app.workers_started_here = True          # what the queue screen sets when it starts workers
            await pilot.press("q")
            await pilot.pause()
            assert isinstance(app.screen, ChoiceScreen)
            app.screen.query_one(f"#choice-{choice}", Button).press()
            await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)
        with Project.open(repo) as project:
            if choice == "keep":
                assert project.queue.workers_running()   # quitting the window left the queue running
            else:
                assert project.queue.state.workers()     # told to stop: exits after its current entry
    finally:
        with Project.open(repo) as project:
            project.queue.stop()
        _wait_workers_gone(repo)


# ---------------------------------------------------------------------------------------------------------------
# the table widget on its own: keyed updates, marks, click, elapsed time

def _rows(n: int, status: str = "success") -> list:
    from exptui.records import ExperimentRow

    base = "b" * 40
    rows = [ExperimentRow(name="main", rev=base, baseline=base, kind="baseline", baseline_name="main")]
    for i in range(n):
        rows.append(ExperimentRow(name=f"exp-{i}", rev=f"{i:040x}", baseline=base, status=status,  # type: ignore[arg-type]
                                  metrics={"m.json": {"acc": i / n}}, ref=f"refs/exps/bb/{'b' * 38}/exp-{i}"))
    return rows


def _table_app(rows: list):
    from textual.app import App, ComposeResult

    from exptui.tui.widgets.experiment_table import TableColumn

    column = TableColumn("metrics:m.json:acc", "acc", "m.json", "metrics", numeric=True)

    def cell(row, col) -> tuple[str, str]:
        value = row.metrics.get("m.json", {}).get("acc")
        return ("-", "missing") if value is None else (f"{value:.3f}", "")

    class TableApp(App):
        def compose(self) -> ComposeResult:
            yield ExperimentTable(cell)

        def on_mount(self) -> None:
            table = self.query_one(ExperimentTable)
            table.set_columns([], [column])
            table.update_rows(rows)
            table.focus()

    return TableApp()


@async_test
async def test_keyed_update_keeps_cursor_and_marks() -> None:
    rows = _rows(50)
    app = _table_app(rows)
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(ExperimentTable)
        await pilot.press("j", "j", "j")
        cursor_key = table.cursor_key
        assert cursor_key == rows[3].key
        table.toggle_mark()                         # the cursor row
        table.toggle_mark(rows[10].key)
        # new rows arrive in front, one row changes, one vanishes
        from dataclasses import replace

        from exptui.records import ExperimentRow

        fresh = [ExperimentRow(name="new", rev="f" * 40, baseline=rows[0].rev, ref="refs/exps/bb/x/new")]
        changed = replace(rows[3], metrics={"m.json": {"acc": 0.999}})
        updated = [rows[0], *fresh, *[changed if r.key == changed.key else r for r in rows[1:] if r.key != rows[20].key]]
        table.update_rows(updated)
        await pilot.pause()
        assert table.cursor_key == cursor_key
        assert table.marked == {rows[3].key, rows[10].key}
        line = table.render_line(2 + table.cursor_row).text
        assert "0.999" in line                      # the changed row was re-rendered, not served from cache
        table.update_rows([r for r in updated if r.key != rows[10].key])
        assert table.marked == {rows[3].key}        # marks of vanished rows are dropped


@async_test
async def test_click_selects_and_virtual_rendering_scales() -> None:
    rows = _rows(20000)
    app = _table_app(rows)
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(ExperimentTable)
        await pilot.pause()
        await pilot.click(ExperimentTable, offset=(10, 6))
        assert table.cursor_row == 4 + int(table.scroll_y)
        await pilot.press("G")
        assert table.cursor_row == len(rows) - 1
        assert table.scroll_y > 0
        assert "exp-19999" in table.render_line(2 + table.cursor_row - int(table.scroll_y)).text
        # only what was on screen was ever rendered: the strip cache holds a few screens, not 20k rows
        assert len(table._strip_cache) < 200


@async_test
async def test_column_widths_shrink_back_when_long_values_go_away() -> None:
    from dataclasses import replace

    rows = _rows(5)
    long_named = replace(rows[2], name="a-very-long-experiment-name-indeed")
    wide = replace(rows[3], metrics={"m.json": {"acc": 123456789.5}})
    app = _table_app([*rows[:2], long_named, wide, *rows[4:]])
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(ExperimentTable)
        await pilot.pause()
        assert table._widths["name"] >= len(long_named.name)
        wide_acc = table._widths["metrics:m.json:acc"]
        assert wide_acc == len("123456789.500")
        table.update_rows([r for r in rows if r.key != long_named.key])       # a filter hides the long name
        assert table._widths["name"] == len("Experiment")                       # back to the header's width
        table.update_rows(rows)                                                # the wide value changed back
        assert table._widths["metrics:m.json:acc"] == len("0.000") < wide_acc
        header = table.render_line(1).text
        assert header.index("│") == 2 + len("Experiment  State    ")               # the fixed part shrank too


def test_status_text_shows_stage_and_elapsed() -> None:
    from exptui.records import ExperimentRow
    from exptui.tui.widgets.experiment_table import status_text

    row = ExperimentRow(name="e", rev="a" * 40, baseline="b" * 40, status="running", stage="train", started=1000.0)
    assert status_text(row, 1065.0) == "Running train 1m05s"
    assert status_text(row, 1066.0) == "Running train 1m06s"
    queued = ExperimentRow(name="q", rev="c" * 40, baseline="b" * 40, status="queued")
    assert status_text(queued, 0) == "Queued"


def test_exptui_without_a_repo_is_one_clear_error(tmp_path: Path) -> None:
    exe = Path(__import__("sys").executable).parent / "exptui"
    proc = subprocess.run([str(exe), "-C", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_bad_keys_file_stops_exptui_with_the_file_and_key(repo: Path, tmp_path: Path) -> None:
    """Not TOML at all: one line naming the file, no traceback (an unknown binding id only warns, below)."""
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys\n"main.filter" = "f"\n')
    exe = Path(__import__("sys").executable).parent / "exptui"
    proc = subprocess.run([str(exe), "-C", str(repo)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "EXPTUI_CONFIG": str(keys)})
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: ") and str(keys) in proc.stderr and "Traceback" not in proc.stderr


@async_test
async def test_an_unknown_binding_id_in_keys_toml_is_a_warning_in_the_app(repo: Path, tmp_path: Path) -> None:
    from exptui.tui.bindings import APP_BINDINGS, MAIN_BINDINGS
    from exptui.tui.config import ConfigError, load_keymap

    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\n"main.fliter" = "f"\n"main.sort" = "S"\n')
    known = {b.id for b in [*APP_BINDINGS, *MAIN_BINDINGS] if b.id}
    with pytest.raises(ConfigError):           # without a warnings list it is still an error (library use)
        load_keymap(keys, known_ids=known)
    warnings: list[str] = []
    keymap = load_keymap(keys, known_ids=known, warnings=warnings)
    assert keymap == {"main.sort": "S"}        # the good line still applies
    assert len(warnings) == 1 and str(keys) in warnings[0] and "did you mean 'main.filter'" in warnings[0]
    app = make_app(repo, keymap=keymap, warnings=warnings)
    shown: list[str] = []
    notify = app.notify

    def recording(message: Any, *args: Any, **kwargs: Any) -> None:
        shown.append(str(message))
        notify(message, *args, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        assert shown == warnings and app.screen is app.main   # the app started and said what it ignored


@async_test
async def test_label_and_note_are_stored_with_the_experiment(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        key = next(r.key for r in table.rows if r.name == "many-trees")
        table.move_cursor_to_key(key)
        await pilot.press("t")
        assert isinstance(app.screen, InputScreen)
        await pilot.press(*"keep, best", "enter")
        await wait_for(pilot, lambda: set(table.rows[table._index[key]].annotations.labels) == {"keep", "best"})
        await pilot.press("n", *"400 trees overfit less than expected", "enter")
        await wait_for(pilot, lambda: table.rows[table._index[key]].annotations.note.startswith("400 trees"))
        await pilot.press("t", "ctrl+u", *"best", "enter")     # editing the list removes dropped labels
        await wait_for(pilot, lambda: table.rows[table._index[key]].annotations.labels == ("best",))
    with Project.open(repo) as project:                    # it is in git, not in the app
        row = next(r for r in project.experiments() if r.name == "many-trees")
        assert row.annotations.labels == ("best",) and "overfit" in row.annotations.note


@async_test
async def test_a_row_that_starts_running_gets_the_whole_state_column(repo: Path) -> None:
    """A reload where the only change is a queued row that now runs: the State column widens to its running width
    (`Running train 1/1 3s`), never `Runni…`. The reload notes the new row objects before the columns are laid
    out again with the old ones still shown: a width measured then must not be kept for the new object."""
    from dataclasses import replace

    from exptui.tui.widgets.experiment_table import META_STATUS

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(app, pilot)
        main = app.main
        rows = list(main.all_rows)
        at = next(i for i, r in enumerate(rows) if r.kind == "experiment")
        rows[at] = replace(rows[at], kind="queued", status="queued", queue_id="q-1")
        main.set_rows(rows)
        await wait_for(pilot, lambda: any(r.status == "queued" for r in table.rows))
        running = list(rows)
        running[at] = replace(rows[at], status="running", stage="train")
        main.set_rows(running)
        await wait_for(pilot, lambda: any(r.status == "running" for r in table.rows))
        await pilot.pause()
        assert table._widths["status"] == META_STATUS.max_width
        line = next(table.render_line(HEADER_HEIGHT + i).text for i, r in enumerate(table.rows)
                    if r.status == "running")
        assert "Running" in line and "Runni…" not in line, line
