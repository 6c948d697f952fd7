"""Secondary screens (compare, sweep, queue, log, plots) driven with Pilot on the real app over real demo repos.

The demo repo is built once per module and copied per test. Two extra experiments are recorded the way DVC
stores them (a commit whose single parent is the baseline, a create-only ref under refs/exps/), so rows come
back through the real store and Project, and the compare/plot screens read real commits.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import TEST_GIT_ENV, git, scoped_env, set_dotted
import asyncio

from tests.tui_support import async_test, record_notifications, wait_for, workers_idle

from exptui.project import Project
from exptui.query.format import format_value
from exptui.records import ExperimentRow
from exptui.tui.app import ExptuiApp
from exptui.tui.screens.compare import CompareScreen
from exptui.tui.screens.log import LogScreen
from exptui.tui.screens.plots import PlotScreen
from exptui.tui.screens.sweep import SweepScreen
from exptui.tui.view_state import ViewState
from exptui.tui.widgets.compare_table import CompareTable
from exptui.tui.widgets.log_tail import LogTail
from exptui.tui.widgets.plot_view import PlotView
from exptui.tui.widgets.sweep_form import SweepField
from exptui.tui.widgets.sweep_preview import SweepPreview

SIZE = (120, 36)

# name -> (params overrides, metrics overrides, train curve scale)
EXPERIMENTS: dict[str, tuple[dict[str, Any], dict[str, float], float]] = {
    "deep-trees": ({"train.max_depth": 9}, {"accuracy": 0.861, "roc_auc": 0.871}, 0.8),
    "slow-lr": ({"train.learning_rate": 0.01, "train.model": "random_forest"}, {"accuracy": 0.831}, 1.3),
}


def record_experiment(repo: Path, name: str, params: dict[str, Any], metrics: dict[str, float],
                      curve_scale: float) -> str:
    """Commit an experiment on HEAD as `dvc exp run` stores it (params, metrics and a per-step plots file)."""
    head = git(repo, "rev-parse", "HEAD").strip()
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / f"tmp-index-{name}")}

    def g(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=env, input=stdin, check=True, capture_output=True,
                              text=True).stdout.strip()

    g("read-tree", head)
    params_doc = yaml.safe_load(git(repo, "show", f"{head}:params.yaml"))
    for key, value in params.items():
        set_dotted(params_doc, key, value)
    metrics_doc = {**yaml.safe_load(git(repo, "show", f"{head}:metrics.yaml")), **metrics}
    curve = ["step,train_logloss,test_logloss"] + [
        f"{s},{0.69 * curve_scale / (1 + s / 8):.5f},{0.7 * curve_scale / (1 + s / 9):.5f}" for s in range(20)]
    for path, text in (("params.yaml", yaml.safe_dump(params_doc, sort_keys=False)),
                       ("metrics.yaml", yaml.safe_dump(metrics_doc, sort_keys=False)),
                       ("plots/train_curve.csv", "\n".join(curve) + "\n")):
        blob = g("hash-object", "-w", "--stdin", stdin=text)
        g("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    tree = g("write-tree")
    digest = hashlib.sha256(f"{head}{name}".encode()).hexdigest()
    commit = g("commit-tree", tree, "-p", head, "-m", f"dvc: commit experiment {digest}")
    g("update-ref", f"refs/exps/{head[:2]}/{head[2:]}/{name}", commit, "0" * 40)
    Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    return commit


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from exptui.demo import build_demo_repo

    dates = {"GIT_AUTHOR_DATE": "2024-01-02T10:00:00Z", "GIT_COMMITTER_DATE": "2024-01-02T10:00:00Z"}
    with scoped_env({**TEST_GIT_ENV, **dates}):
        repo = build_demo_repo(tmp_path_factory.mktemp("tpl") / "demo", pipeline="churn", experiments=0,
                               fixed_dates=True)
        for name, (params, metrics, scale) in EXPERIMENTS.items():
            record_experiment(repo, name, params, metrics, scale)
    return repo


@pytest.fixture
def repo(demo_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "demo"
    shutil.copytree(demo_template, dest, symlinks=True)
    return dest


def stop_all_workers(repo: Path, timeout: float = 60) -> None:
    """Ask this repo's workers to stop, kill what still runs, wait until none is left."""
    queue = Project.open(repo).queue
    queue.stop()
    for entry in queue.entries():
        if entry.status == "running":
            queue.kill(entry.id)
    deadline = time.monotonic() + timeout
    while queue.workers() and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.fixture
def no_worker_left(repo: Path) -> Any:
    """Tests that start real workers never leave one running, even when they fail."""
    yield
    stop_all_workers(repo)


def make_app(repo: Path) -> ExptuiApp:
    return ExptuiApp(Project.open(repo), repo, poll_interval=0.1, view=ViewState())


def rows_by_name(project: Project) -> dict[str, ExperimentRow]:
    return {row.name: row for row in project.experiments() if row.kind in ("baseline", "experiment")}


def value(row: ExperimentRow, family: str, key: str) -> Any:
    for values in getattr(row, family).values():
        if key in values:
            return values[key]
    raise KeyError(key)


# --------------------------------------------------------------------------- compare


@async_test
async def test_compare_shows_values_and_deltas_for_two_experiments(repo: Path) -> None:
    app = make_app(repo)
    rows = rows_by_name(app.project)
    base, exp = rows["main"], rows["deep-trees"]
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(CompareScreen(app.project, [base, exp]))
        await pilot.pause()
        table = app.screen.query_one(CompareTable)
        lines = {line.label: (row, line) for row, line in enumerate(table.lines) if line is not None}
        for label, family in (("accuracy", "metrics"), ("train.max_depth", "params"), ("f1", "metrics")):
            row_index, line = lines[label]
            cells = [str(table.get_cell_at((row_index, col)).plain) for col in range(3)]
            assert label in cells[0]
            assert cells[1].startswith(format_value(value(base, family, label)))
            assert cells[2].startswith(format_value(value(exp, family, label)))
        # accuracy went up: an up-arrow delta, abs and %, styled as better (green)
        row_index, line = lines["accuracy"]
        change = value(exp, "metrics", "accuracy") - value(base, "metrics", "accuracy")
        cell = table.get_cell_at((row_index, 2))
        assert f"{change:+.3g}" in cell.plain
        assert f"{change / value(base, 'metrics', 'accuracy') * 100:+.1f}%" in cell.plain
        assert any("green" in str(span.style) for span in cell.spans)
        assert line.differs and line.deltas[1] is not None and line.deltas[1].better is True
        # equal rows carry no delta
        row_index, line = lines["f1"]
        assert not line.differs and "▲" not in table.get_cell_at((row_index, 2)).plain
        # n jumps between differing rows only
        await pilot.press("n")
        assert table.current_line() is not None and table.current_line().differs
        first = table.current_line()
        await pilot.press("n")
        assert table.current_line().differs and table.current_line() is not first


@async_test
async def test_compare_diff_only_hides_equal_rows(repo: Path) -> None:
    app = make_app(repo)
    rows = rows_by_name(app.project)
    async with app.run_test(size=SIZE) as pilot:
        screen = CompareScreen(app.project, [rows["main"], rows["deep-trees"], rows["slow-lr"]])
        await app.push_screen(screen)
        await pilot.pause()
        table = screen.query_one(CompareTable)
        every = [line.label for line in table.lines if line is not None]
        assert "generate.seed" in every and "train.max_depth" in every
        await pilot.press("f")
        shown = [line for line in table.lines if line is not None]
        labels = [line.label for line in shown]
        assert all(line.differs for line in shown if line.section != "facts")   # run facts always stay
        assert "generate.seed" not in labels and "precision" not in labels
        assert {"train.max_depth", "train.learning_rate", "train.model", "accuracy"} <= set(labels)
        await pilot.press("f")
        assert [line.label for line in table.lines if line is not None] == every


@async_test
async def test_compare_markdown_export_contains_the_values(repo: Path) -> None:
    app = make_app(repo)
    rows = rows_by_name(app.project)
    base, exp = rows["main"], rows["slow-lr"]
    async with app.run_test(size=SIZE) as pilot:
        screen = CompareScreen(app.project, [base, exp])
        await app.push_screen(screen)
        await pilot.pause()
        shown = record_notifications(app)
        await pilot.press("f", "m")
        await wait_for(pilot, lambda: screen.exported is not None)
        path = screen.exported
        assert path is not None and path.parent == repo / ".git" / "exptui" and path.name.startswith("compare-")
        # the message says where the file went, and claims no clipboard copy without a terminal (headless)
        assert any(f"saved to .git/exptui/{path.name}" in m and "clipboard" not in m for m in shown)
        text = path.read_text()
        assert app.clipboard == text
        assert "main (reference) | slow-lr |" in text
        model_line = next(line for line in text.splitlines() if "train.model" in line)
        assert "lightgbm" in model_line and "random_forest" in model_line
        accuracy_line = next(line for line in text.splitlines() if "accuracy" in line)
        assert format_value(value(base, "metrics", "accuracy")) in accuracy_line
        assert format_value(value(exp, "metrics", "accuracy")) in accuracy_line and "❌" in accuracy_line
        assert "generate.seed" not in text     # diff-only was on when exporting
        assert git(repo, "status", "--porcelain") == ""   # nothing written into the work tree


# --------------------------------------------------------------------------- sweep dialog


async def _open_sweep(app: ExptuiApp, pilot: Any, row: ExperimentRow) -> SweepScreen:
    screen = SweepScreen(app.project, row)
    await app.push_screen(screen)
    await wait_for(pilot, lambda: screen.ready, timeout=120)   # the form is mounted after the first paint
    await pilot.pause()
    return screen


def _field(screen: SweepScreen, key: str) -> SweepField:
    return next(f for f in screen.fields() if f.key == key)


async def _type(pilot: Any, screen: SweepScreen, key: str, text: str) -> None:
    from textual.widgets import Input

    field_input = _field(screen, key).query_one(Input)
    field_input.focus()
    field_input.value = ""
    await pilot.press(*list(text))
    await pilot.pause()


@async_test
async def test_sweep_dialog_counts_and_previews_trials(repo: Path) -> None:
    app = make_app(repo)
    base = rows_by_name(app.project)["main"]
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_sweep(app, pilot, base)
        assert {f.key for f in screen.fields()} >= {"train.max_depth", "train.model", "generate.seed"}
        assert _field(screen, "train.max_depth").text == str(value(base, "params", "train.max_depth"))
        await _type(pilot, screen, "train.max_depth", "3,5,7")
        assert screen.problem is None and screen.trial_count == 3
        preview = screen.query_one(SweepPreview)
        assert preview.row_count == 3
        assert [str(preview.get_cell_at((i, 1))) for i in range(3)] == ["3", "5", "7"]
        assert "Queue 3 experiments" in str(screen.query_one("#sweep-confirm").label)
        await _type(pilot, screen, "train.learning_rate", "range(0.1,0.4,0.1)")
        assert screen.trial_count == 9 and preview.row_count == 9
        # a large grid asks before queueing; saying no queues nothing
        await _type(pilot, screen, "generate.seed", "range(0,20)")
        assert screen.trial_count == 180 and "large" in str(screen.query_one("#sweep-confirm").label)
        await pilot.press("ctrl+s")
        from exptui.tui.screens.confirm import ConfirmScreen

        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.queued is None and git(repo, "for-each-ref", "refs/exptui") == ""
        await _type(pilot, screen, "generate.seed", "42")
        # a distribution needs random trials; with them the count is the trial number
        await _type(pilot, screen, "train.learning_rate", "loguniform(0.01,0.3)")
        assert screen.problem is not None and "random trials" in screen.problem
        screen.query_one("#sweep-random").value = "4"
        screen.query_one("#sweep-seed").value = "1"
        await pilot.pause()
        assert screen.problem is None and screen.trial_count == 4 and preview.row_count == 4


@async_test
async def test_sweep_dialog_bad_syntax_shows_inline_error_and_queues_nothing(repo: Path) -> None:
    app = make_app(repo)
    base = rows_by_name(app.project)["main"]
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_sweep(app, pilot, base)
        await _type(pilot, screen, "train.max_depth", "range(1,")
        field = _field(screen, "train.max_depth")
        assert field.has_class("-invalid")
        error = str(field.query_one(".sweep-error").render())
        assert "range(1," in error and "unclosed" in error
        assert screen.query_one("#sweep-confirm").disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and screen.queued is None
        assert git(repo, "for-each-ref", "refs/exptui") == ""
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not screen)
        assert screen.queued is None


@async_test
async def test_sweep_from_an_experiment_pins_its_other_params(repo: Path) -> None:
    app = make_app(repo)
    exp = rows_by_name(app.project)["deep-trees"]            # max_depth 9, unlike the workspace's 5
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_sweep(app, pilot, exp)
        await _type(pilot, screen, "train.learning_rate", "0.05,0.2")
        screen.query_one("#sweep-name").value = "lr"
        await pilot.pause()
        assert screen.trial_count == 2 and "pinned to deep-trees" in str(screen.query_one("#sweep-status").render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not screen)
    entries = app.project.queue.entries()
    assert [e.name for e in entries] == ["lr-1", "lr-2"]
    queued = {r.name: r for r in app.project.experiments() if r.kind == "queued"}
    assert [value(queued[n], "params", "train.learning_rate") for n in ("lr-1", "lr-2")] == [0.05, 0.2]
    assert {value(queued[n], "params", "train.max_depth") for n in ("lr-1", "lr-2")} == {9}


# --------------------------------------------------------------------------- sweep dialog: keys, drafts, types


async def _dashboard_sweep(app: ExptuiApp, pilot: Any, name: str | None = None) -> SweepScreen:
    """Open the dialog the way a user does: `e` on the dashboard (on the named row, else where the cursor is)."""
    await wait_for(pilot, lambda: app.reloads > 0)
    if name is not None:
        app.main.table.move_cursor_to_key(next(r.key for r in app.main.table.rows if r.name == name))
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.ready)   # the form is mounted
    await pilot.pause()
    assert isinstance(app.screen, SweepScreen)
    return app.screen


def _inputs(screen: SweepScreen) -> list[Any]:
    from textual.widgets import Input

    return list(screen.query(Input))


@async_test
async def test_sweep_dialog_shows_its_own_keys_where_the_footer_was(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _dashboard_sweep(app, pilot, "main")
        keys = screen.query_one("#sweep-keys")
        text = str(keys.render())
        assert "ctrl+s queue" in text and "esc cancel" in text and "enter" in text
        # the bottom line of the terminal is the dialog's key line, not the dashboard's footer
        assert keys.region.y == SIZE[1] - 1 and keys.region.width == SIZE[0]


@async_test
async def test_sweep_dialog_enter_walks_the_inputs_and_queues_on_the_last(repo: Path) -> None:
    from textual.widgets import Input

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _dashboard_sweep(app, pilot, "main")
        await _type(pilot, screen, "train.max_depth", "3,7")
        inputs = _inputs(screen)
        inputs[0].focus()
        await pilot.pause()
        for expected in inputs[1:]:
            await pilot.press("enter")
            assert app.focused is expected           # never a button: Enter on Cancel would drop the form
        assert isinstance(app.focused, Input) and app.focused.id == "sweep-workers"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not screen)
    assert screen.queued is not None and len(screen.queued) == 2
    assert sorted(e.overrides["params.yaml"]["train.max_depth"] for e in app.project.queue.entries()) == [3, 7]


@async_test
async def test_sweep_dialog_closed_unqueued_says_discarded_and_e_brings_it_back(repo: Path) -> None:
    from textual.widgets import Input

    app = make_app(repo)
    shown = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _dashboard_sweep(app, pilot, "main")
        await pilot.press("escape")                  # nothing typed: closes quietly, nothing kept
        await wait_for(pilot, lambda: app.screen is app.main)
        assert not any("discarded" in m for m in shown)

        screen = await _dashboard_sweep(app, pilot, "main")
        await _type(pilot, screen, "train.max_depth", "3,7")
        screen.query_one("#sweep-seed", Input).value = "11"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert any("sweep discarded" in m for m in shown)
        assert app.project.queue.entries() == []

        screen = await _dashboard_sweep(app, pilot, "main")
        assert screen.restored and _field(screen, "train.max_depth").text == "3,7"
        assert screen.query_one("#sweep-seed", Input).value == "11" and screen.trial_count == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)

        other = await _dashboard_sweep(app, pilot, "deep-trees")   # another row's params: a fresh form
        assert not other.restored and not other.is_filled()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)

        screen = await _dashboard_sweep(app, pilot, "main")
        assert screen.restored
        await pilot.press("ctrl+s")                  # queued: the draft is spent
        await wait_for(pilot, lambda: app.screen is app.main)
        assert len(app.project.queue.entries()) == 2
        screen = await _dashboard_sweep(app, pilot, "main")
        assert not screen.restored and not screen.is_filled()


@async_test
async def test_sweep_dialog_keys_typed_right_after_tab_land_in_the_focused_field(repo: Path) -> None:
    from textual.widgets import Button, Input

    from exptui.tui.widgets.choice_field import ChoiceField

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        await pilot.press("e", *["tab"] * 6, "9", "9")         # one burst, no pause between the keys
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        fields = screen.fields()
        await wait_for(pilot, lambda: fields[6].text == "99")
        assert app.focused is fields[6].query_one(Input) and fields[6].key == "train.max_depth"   # 6 Tabs past the 1st
        assert fields[6].has_class("-current") and not fields[0].has_class("-current")
        assert [f.key for f in fields if f.changed] == [fields[6].key]
        # Up and Down move between fields too; typed keys follow the focus
        await pilot.press("up", "up", "8", "down", "7")
        assert fields[4].text == "8" and fields[5].text == "7" and app.focused is fields[5].query_one(Input)
        # a full Tab round stops on inputs, the adaptive choices and buttons only: never on the preview table or a
        # container
        seen: list[Any] = []
        for _ in range(len(_inputs(screen)) + 3):
            await pilot.press("tab")
            seen.append(app.focused)
        assert all(isinstance(w, (Input, Button, ChoiceField)) for w in seen), [type(w).__name__ for w in seen]
        assert not any(isinstance(w, SweepPreview) for w in seen)


@async_test
async def test_sweep_dialog_choices_cycle_with_keys_typed_in_one_burst(repo: Path) -> None:
    """The adaptive sampler and the direction are one-line choices (`‹ off ›`): right, space and enter go to the
    next choice, left back (wrapping), each as the key arrives, so keys typed in one burst with field moves land on
    the field focused at that moment; a click goes on too. What is shown is the value, as plain text."""
    from textual.widgets import Input

    from exptui.tui.widgets.choice_field import ChoiceField

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        table = app.main.table
        table.move_cursor_to_key(next(r for r in table.rows if r.name == "main").key)
        await pilot.pause()
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.ready)
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        n_fields = len(screen.fields())
        search = screen.query_one("#sweep-search", ChoiceField)
        direction = screen.query_one("#sweep-direction", ChoiceField)
        assert str(search.render()) == "‹ off    ›" and search.value == "off"
        # one burst: down to the sampler, two steps on, down to trials and type there, down past the metric to
        # the direction and step back (wraps to the other end)
        await pilot.press(*["down"] * n_fields, "right", "space", "down", "7", "down", "down", "left")
        await wait_for(pilot, lambda: app.focused is direction)
        assert search.value == "random" and screen.query_one("#sweep-trials", Input).value == "7"
        assert direction.value == "minimize"
        await pilot.press("enter", "left", "left", "left")        # 4 steps back from minimize over 2 choices
        assert direction.value == "minimize"
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "enter", "left")
        await wait_for(pilot, lambda: app.focused is search)
        assert search.value == "random" and str(search.render()) == "‹ random ›"
        await pilot.click(search)
        assert search.value == "cmaes" and screen.search_options() is not None
        search.value = "off"                                        # as `reopen` does
        await pilot.pause()
        assert screen.search_options() is None and "adaptive" not in str(screen.query_one("#sweep-count").render())


@async_test
async def test_sweep_dialog_shows_at_once_and_keys_typed_before_its_form_exists_land_in_order(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`e` pushes the dialog with a loading line; its form is mounted after the first paint. Keys typed before the
    form exists (held back here until they all arrived, so the test does not race the mount) are kept and
    replayed in order, focus moves included: Tab/Down/Up are priority bindings that run on arrival, typed digits
    queue on the screen."""
    from textual import events
    from textual.widgets import Input

    gate = asyncio.Event()
    build = SweepScreen._build

    async def held_build(self: SweepScreen) -> None:
        await gate.wait()
        await build(self)

    monkeypatch.setattr(SweepScreen, "_build", held_build)
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        app.post_message(events.Key("e", "e"))   # not pilot.press: it would wait for the held screen to idle
        for _ in range(6000):                     # until the dialog's frame is composed (2 minutes at most)
            if isinstance(app.screen, SweepScreen) and app.screen.query("#sweep-loading"):
                break
            await asyncio.sleep(0.02)
        screen = app.screen
        assert isinstance(screen, SweepScreen) and not screen.ready
        assert screen.query("#sweep-loading") and not screen.fields()
        for key in ("tab", "tab", "9", "9", "shift+tab", "4", "down", "down", "down", "7"):
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        routed = asyncio.Event()
        app.call_later(routed.set)          # runs once the App has routed every key posted before it
        await asyncio.wait_for(routed.wait(), 60)
        gate.set()
        await wait_for(pilot, lambda: screen.ready and screen.fields()[4].text == "7")
        fields = screen.fields()
        assert screen.early_key_count == 10
        assert [f.text for f in fields[1:5]] == ["4", "99", fields[3].shown, "7"]
        assert app.focused is fields[4].query_one(Input)
        assert not screen.query("#sweep-loading")


@async_test
async def test_sweep_dialog_refuses_a_value_of_the_wrong_type_on_the_field(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _dashboard_sweep(app, pilot, "main")
        await _type(pilot, screen, "train.max_depth", "abc")
        field = _field(screen, "train.max_depth")
        assert field.has_class("-invalid")
        error = str(field.query_one(".sweep-error").render())
        assert "train.max_depth=abc" in error and "give a number" in error and "(5)" in error
        assert screen.problem is not None and screen.query_one("#sweep-confirm").disabled
        await _type(pilot, screen, "train.max_depth", "3,deep")     # one bad value in a list is enough
        assert "train.max_depth=deep" in str(field.query_one(".sweep-error").render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and app.project.queue.entries() == []
        # a string param takes any text; a number field takes a float range
        await _type(pilot, screen, "train.model", "lightgbm,xgb")
        await _type(pilot, screen, "train.max_depth", "3,7")
        assert screen.problem is None and screen.trial_count == 4
        assert not field.has_class("-invalid")


@async_test
async def test_sweep_dialog_adaptive_stores_a_search_with_trials_metric_and_direction(repo: Path) -> None:
    """"adaptive" next to grid and random: no preview (trials are proposed one by one), the metric is required,
    and queueing stores the search the feeder runs (nothing queued yet: 0 workers were asked for)."""
    pytest.importorskip("optuna")
    from exptui.tui.widgets.choice_field import ChoiceField

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _dashboard_sweep(app, pilot, "main")
        await _type(pilot, screen, "train.learning_rate", "loguniform(0.01,0.3)")
        assert screen.problem is not None and "random trials" in screen.problem    # grid mode: needs a number
        screen.query_one("#sweep-search", ChoiceField).value = "tpe"
        await pilot.pause()
        assert screen.problem is not None and "name the metric to maximize" in screen.problem
        screen.query_one("#sweep-trials").value = "6"
        screen.query_one("#sweep-metric").value = "f1"
        screen.query_one("#sweep-direction", ChoiceField).value = "minimize"
        await pilot.pause()
        assert screen.problem is None and screen.trial_count == 6 and screen.trials == []
        assert str(screen.query_one("#sweep-confirm").label) == "Search 6 trials"
        assert "tpe: minimize f1" in str(screen.query_one("#sweep-status").render())
        screen.query_one("#sweep-random").value = "4"
        await pilot.pause()
        assert screen.problem is not None and "two kinds of sweep" in screen.problem
        screen.query_one("#sweep-random").value = ""
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not screen)
    (search,) = app.project.queue.open_searches()
    assert (search.sampler, search.trials, search.metric, search.direction) == ("tpe", 6, "f1", "minimize")
    assert "train.learning_rate=loguniform(0.01,0.3)" in search.overrides
    assert app.project.queue.entries() == []


@async_test
async def test_sweep_keystroke_budget_a_2x2_grid_from_the_cursor_row(repo: Path) -> None:
    """From a fresh dashboard: open the dialog, type two 2-value lists, queue; at most 12 key presses."""
    app = make_app(repo)
    keys = ["e", "1", ",", "2", "tab", "tab", "tab", "1", ",", "2", "ctrl+s"]
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        row = app.main.table.cursor_row_obj
        assert row is not None
        await pilot.press(*keys)
        await wait_for(pilot, lambda: len(app.project.queue.entries()) == 4)
        await wait_for(pilot, lambda: app.screen is app.main)
    assert len(keys) <= 12
    entries = app.project.queue.entries()
    assert sorted((e.overrides["params.yaml"]["generate.seed"], e.overrides["params.yaml"]["prepare.seed"])
                  for e in entries) == [(1, 1), (1, 2), (2, 1), (2, 2)]


# --------------------------------------------------------------------------- plots and logs


@async_test
async def test_plot_screen_renders_the_demo_repo(repo: Path) -> None:
    app = make_app(repo)
    workspace = next(r for r in app.project.experiments() if r.kind == "workspace")
    rows = [workspace, *rows_by_name(app.project).values()]     # the workspace's plots are read from disk
    async with app.run_test(size=SIZE) as pilot:
        screen = PlotScreen(app.project, rows)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.step_data is not None)
        await pilot.pause()
        scatter = screen.query_one("#scatter-plot", PlotView)
        assert scatter.render_count >= 1 and "vs" in scatter.render().plain
        # the curves come from plots/train_curve.csv declared in dvc.yaml, read at each experiment's commit
        options = screen.step_data.options()
        assert ("plots/train_curve.csv: train_logloss", "plots/train_curve.csv\ttrain_logloss") in options
        assert len(screen.step_data.files["plots/train_curve.csv"]) == len(rows)
        await pilot.press("2")
        await pilot.pause()
        steps = screen.query_one("#steps-plot", PlotView)
        assert "train_logloss" in steps.render().plain
        await pilot.press("3")
        await pilot.pause()
        parallel = screen.query_one("#parallel-plot", PlotView)
        assert "parallel coordinates" in parallel.render().plain
        assert "train.max_depth" in str(screen.query_one("#parallel-axes").render())
        # resizing re-renders at the new size
        before = parallel.render_count
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        text = parallel.render().plain
        assert parallel.render_count > before
        assert max(len(line) for line in text.splitlines()) == parallel.content_region.width


def test_log_tail_follows_growth_and_replaces_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    tail = LogTail(path)
    assert tail.read_new() == ""                       # missing file: nothing yet
    path.write_bytes(b"stage train\nbad \xff byte\ncaf\xc3")
    assert tail.read_new() == "stage train\nbad \ufffd byte\ncaf"   # half a UTF-8 char is kept back
    with open(path, "ab") as handle:
        handle.write(b"\xa9 done\n")
    assert tail.read_new() == "\u00e9 done\n"
    assert tail.read_new() == ""
    path.write_bytes(b"again\n")                        # rewritten shorter: start over
    assert tail.read_new().endswith("again\n")


# --------------------------------------------------------------------------- queue


@async_test
async def test_queue_screen_lists_entries_and_removes_one(repo: Path) -> None:
    from exptui.tui.screens.queue import QueueScreen
    from exptui.tui.widgets.queue_table import QueueTable

    app = make_app(repo)
    queued = app.project.queue.enqueue(["train.max_depth=3,5"], name="qs")
    async with app.run_test(size=SIZE) as pilot:
        screen = QueueScreen(app.project)
        await app.push_screen(screen)
        table = screen.query_one(QueueTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [table.entries[e.id].name for e in queued] == ["qs-1", "qs-2"]
        assert {table.entries[e.id].status for e in queued} == {"queued"}
        assert "train.max_depth=3" in str(table.get_row(queued[0].id)[5])
        assert "2 entries" in str(screen.query_one("#queue-title").render())
        await pilot.press("r")                          # a queued entry cannot be retried: nothing happens
        await pilot.pause()
        assert len(app.project.queue.entries()) == 2
        await pilot.press("x")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press("y")                          # confirm the removal
        await wait_for(pilot, lambda: table.row_count == 1)
        assert [e.name for e in app.project.queue.entries()] == ["qs-2"]
        await pilot.press("escape")                     # closing while the poll thread runs is clean
        await wait_for(pilot, lambda: app.screen is app.main and workers_idle(app, ignore=("poll",)),
                       "the queue view closed and its poll thread stopped")
        assert app.screen is app.main


@pytest.mark.slow
@async_test
async def test_sweep_dialog_queues_three_entries_that_workers_turn_into_experiments(
        repo: Path, no_worker_left: Any) -> None:
    from exptui.tui.screens.queue import QueueScreen
    from exptui.tui.widgets.queue_table import QueueTable

    app = make_app(repo)
    base = rows_by_name(app.project)["main"]
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_sweep(app, pilot, base)
        await _type(pilot, screen, "train.max_depth", "3,5,7")
        screen.query_one("#sweep-name").value = "depth"
        screen.query_one("#sweep-workers").value = "2"
        await pilot.pause()
        assert screen.trial_count == 3
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not screen)
        assert screen.queued is not None and [e.name for e in screen.queued] == ["depth-1", "depth-2", "depth-3"]
        entries = app.project.queue.entries()
        assert sorted(e.name for e in entries) == ["depth-1", "depth-2", "depth-3"]
        assert sorted(e.overrides["params.yaml"]["train.max_depth"] for e in entries) == [3, 5, 7]

        queue_screen = QueueScreen(app.project)
        await app.push_screen(queue_screen)
        table = queue_screen.query_one(QueueTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        # real workers run the real pipeline: wait until the three entries are recorded experiments
        await wait_for(pilot, lambda: {r.status for r in table.entries.values()} <= {"success", "failed", "crashed"}
                       and len(table.entries) == 3, timeout=400)
        assert {r.status for r in table.entries.values()} == {"success"}, [
            (r.name, r.status, r.info) for r in table.entries.values()]
        depths = {r.name: value(r, "params", "train.max_depth")
                  for r in app.project.experiments() if r.kind == "experiment" and r.name.startswith("depth-")}
        assert sorted(depths.values()) == [3, 5, 7]

        # the log of a finished entry opens from the queue screen with `l`
        table.move_cursor(row=0)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen))
        log_screen = app.screen
        from textual.widgets import Log

        log = log_screen.query_one(Log)
        await wait_for(pilot, lambda: log.line_count > 1 and log_screen.bytes_read > 0)
        assert log_screen.path is not None and log_screen.path.is_file()
        text = "\n".join(log.lines)
        assert log_screen.path.read_bytes().decode("utf-8", "replace").strip().splitlines()[0] in text


@async_test
async def test_log_screen_shows_and_follows_a_queue_entry_log(repo: Path) -> None:
    from textual.widgets import Log

    app = make_app(repo)
    entry = app.project.queue.enqueue(["train.max_depth=4"], name="logged")[0]
    row = next(r for r in app.project.experiments() if r.queue_id == entry.id)
    path = app.project.queue.log_path(entry.id)
    async with app.run_test(size=SIZE) as pilot:
        screen = LogScreen(app.project, row)
        await app.push_screen(screen)
        log = screen.query_one(Log)
        assert screen.path == path
        await wait_for(pilot, lambda: any("waiting for" in line for line in log.lines))   # not started yet
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"$ python src/train.py\nstep 1 loss 0.69\n")
        await wait_for(pilot, lambda: "step 1 loss 0.69" in log.lines)
        with open(path, "ab") as handle:                        # the run goes on: new output is followed
            handle.write(b"step 2 loss \xff0.52\n")
        await wait_for(pilot, lambda: "step 2 loss \ufffd0.52" in log.lines)
        assert log.is_vertical_scroll_end or log.max_scroll_y == 0
        await pilot.press("f")
        assert not screen.follow and not log.auto_scroll
        assert "paused" in str(screen.query_one("#log-title").render())
        await pilot.press("f")
        assert screen.follow and log.auto_scroll


@async_test
async def test_dashboard_keys_open_every_secondary_screen(repo: Path) -> None:
    """The core app's keys reach these screens with the rows they act on (lazy imports, real table)."""
    from exptui.tui.screens.queue import QueueScreen

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        table = app.main.table
        for name in ("main", "deep-trees"):
            table.move_cursor_to_key(next(r.key for r in table.rows if r.name == name))
            await pilot.press("space")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert [r.name for r in app.screen.rows] == ["main", "deep-trees"]
        await pilot.press("escape", "p")
        await wait_for(pilot, lambda: isinstance(app.screen, PlotScreen))
        assert [r.name for r in app.screen.rows] == ["main", "deep-trees"]
        await pilot.press("escape", "V")
        table.move_cursor_to_key(next(r.key for r in table.rows if r.name == "slow-lr"))
        await pilot.press("p")                  # one row: the plots cover its baseline's experiments
        await wait_for(pilot, lambda: isinstance(app.screen, PlotScreen))
        assert sorted(r.name for r in app.screen.rows) == ["deep-trees", "main", "slow-lr"]
        await pilot.press("escape")
        table.move_cursor_to_key(next(r.key for r in table.rows if r.name == "deep-trees"))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        assert app.screen.row.name == "deep-trees"
        await pilot.press("escape", "Q")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.press("escape", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen))
        assert app.screen.row.name == "deep-trees"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)


@pytest.mark.slow
@async_test
async def test_queue_screen_starts_a_worker_kills_retries_and_removes(repo: Path, no_worker_left: Any) -> None:
    app = make_app(repo)
    # random forest with many trees: long enough to be caught running
    entry = app.project.queue.enqueue(["train.model=random_forest", "train.n_estimators=3000"], name="slow")[0]
    await _start_kill_retry_remove(app, entry)


@async_test
async def test_queue_screen_moves_with_vim_keys_and_retries_all_failed(repo: Path) -> None:
    """j/k move (k is not kill there), R re-queues every failed/cancelled entry, and the Params column shows
    what differs between the entries first."""
    from exptui.tui.screens.confirm import ConfirmScreen
    from exptui.tui.screens.queue import QueueScreen
    from exptui.tui.widgets.queue_table import QueueTable

    app = make_app(repo)
    entries = app.project.queue.enqueue(["train.max_depth=2,4", "train.seed=5"], name="vim")
    for e in entries:
        app.project.queue.kill(e.id)                    # queued -> cancelled, no worker needed
    async with app.run_test(size=SIZE) as pilot:
        screen = QueueScreen(app.project)
        await app.push_screen(screen)
        table = screen.query_one(QueueTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [table.entries[e.id].params for e in entries] == [
            "train.max_depth=2 (+1 shared)", "train.max_depth=4 (+1 shared)"]
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("k")
        assert table.cursor_row == 0 and not isinstance(app.screen, ConfirmScreen)
        await pilot.press("R")
        await wait_for(pilot, lambda: all(table.entries[e.id].status == "queued" for e in entries))
        assert [e.status for e in app.project.queue.entries()] == ["queued", "queued"]


def _entries_in_every_state(project: Project) -> dict[str, str]:
    """{state: entry id}: one queue entry in each state the store produces, made through the store's own
    transitions (claim, finish, kill) in the real repo, without running a pipeline."""
    from exptui.project import EntryState
    from exptui.store.claims import ProcessIdentity, RunInfo
    from exptui.store.queue import DoneRecord

    queue = project.queue
    entries = queue.enqueue([f"train.max_depth={','.join(str(2 + i) for i in range(len(EntryState)))}"], name="st")
    me = ProcessIdentity.current()          # this (live) process owns the running entry: it stays running
    ids: dict[str, str] = {}
    for entry, state in zip(entries, EntryState):
        ids[state.value] = entry.id
        if state in (EntryState.QUEUED, EntryState.CANCELLED):
            if state is EntryState.CANCELLED:
                queue.kill(entry.id)        # queued -> cancelled
            continue
        assert queue.store.claim(entry, me) is not None   # queued -> running
        if state is EntryState.RUNNING:
            queue.state.write(RunInfo(entry.id, entry.name, me, entry.attempt, stage="train"))
        else:
            reason = None if state is EntryState.SUCCESS else f"why it is {state.value}"
            assert queue.store.finish(entry, DoneRecord(state, reason, attempt=entry.attempt))
    assert {e.id: e.status.value for e in queue.entries()} == {i: s for s, i in ids.items()}
    return ids


@async_test
async def test_queue_screen_shows_every_entry_state_and_offers_only_legal_moves(repo: Path) -> None:
    from exptui.project import EntryState
    from exptui.tui.screens.queue import QueueScreen
    from exptui.tui.widgets.queue_table import STATUS_STYLES, QueueTable

    from exptui.tui.widgets.experiment_table import status_text

    app = make_app(repo)
    ids = _entries_in_every_state(app.project)
    async with app.run_test(size=SIZE) as pilot:
        # the dashboard lists every entry not yet an experiment, its State column saying where it is
        await wait_for(pilot, lambda: app.reloads > 0)
        by_entry = {r.queue_id: r for r in app.main.table.rows if r.queue_id}
        # a success (and a pruned trial) is an experiment
        assert set(by_entry) == {i for s, i in ids.items() if s not in ("success", "pruned")}
        for state, entry_id in ids.items():
            if state not in ("success", "pruned"):
                assert by_entry[entry_id].status == state
                assert status_text(by_entry[entry_id], time.time()).split()[0] == state.capitalize()
        assert status_text(by_entry[ids["running"]], time.time()).split()[1] == "train"
        screen = QueueScreen(app.project)
        await app.push_screen(screen)
        table = screen.query_one(QueueTable)
        await wait_for(pilot, lambda: table.row_count == len(EntryState))
        for state in EntryState:
            row = table.entries[ids[state.value]]
            assert row.status is state
            cells = table.get_row(ids[state.value])
            assert (cells[1].plain, str(cells[1].style)) == (state.value, STATUS_STYLES[state])
            assert cells[2].plain == ("train" if state is EntryState.RUNNING else "")   # stage: while running
            expected_info = "" if state in (EntryState.QUEUED, EntryState.RUNNING, EntryState.SUCCESS) \
                else f"why it is {state.value}"
            if state is EntryState.CANCELLED:
                expected_info = "cancelled by user before it started"
            if state is EntryState.SUCCESS:             # the experiment it became (no exp ref here: its name)
                expected_info = f"→ {row.name}"
            assert cells[6].plain == expected_info
        title = str(screen.query_one("#queue-title").render())
        assert all(f"1 {state.value}" in title for state in EntryState), title

        async def press_on(state: EntryState, key: str) -> None:
            table.move_cursor(row=table.get_row_index(ids[state.value]))
            await pilot.press(key)
            await pilot.pause()

        # `r` on a success (final) and on a running entry: refused in the UI, the store is not asked
        for state in (EntryState.SUCCESS, EntryState.RUNNING, EntryState.QUEUED):
            await press_on(state, "r")
            assert app.project.queue.find(ids[state.value]).status is state
        # `K` on finished entries: nothing to kill, no confirmation dialog
        for state in (EntryState.SUCCESS, EntryState.FAILED, EntryState.CANCELLED, EntryState.CRASHED):
            await press_on(state, "K")
            assert app.screen is screen
        # `r` on each retryable state puts it back in the queue, and the table follows
        for state in (EntryState.FAILED, EntryState.CANCELLED, EntryState.CRASHED):
            await press_on(state, "r")
            await wait_for(pilot, lambda: table.entries[ids[state.value]].status is EntryState.QUEUED)
        assert app.project.queue.find(ids["success"]).status is EntryState.SUCCESS


async def _start_kill_retry_remove(app: ExptuiApp, entry: Any) -> None:
    from textual.widgets import Input

    from exptui.tui.screens.confirm import ConfirmScreen, InputScreen
    from exptui.tui.screens.queue import QueueScreen
    from exptui.tui.widgets.queue_table import QueueTable

    async with app.run_test(size=SIZE) as pilot:
        screen = QueueScreen(app.project)
        await app.push_screen(screen)
        table = screen.query_one(QueueTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, InputScreen))
        app.screen.query_one(Input).value = "1"
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.entries[entry.id].status == "running")
        assert app.workers_started_here
        first = str(table.get_row(entry.id)[3])
        # elapsed time ticks while it runs
        await wait_for(pilot, lambda: str(table.get_row(entry.id)[3]) not in ("", first), "the elapsed time to tick")
        assert str(table.get_row(entry.id)[3]) not in ("", first)
        await pilot.press("K")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: table.entries[entry.id].status in ("cancelled", "crashed"))
        from textual.widgets.data_table import ColumnKey

        ended = table.entries[entry.id].status.value       # cancelled, or crashed if the kill won a race with the stage
        assert table.columns[ColumnKey("status")].content_width >= len(ended)   # cells widen the column
        await pilot.press("S")                           # no worker picks the retried entry up again
        await wait_for(pilot, lambda: not app.project.queue.workers())
        await pilot.press("r")
        await wait_for(pilot, lambda: table.entries[entry.id].status == "queued")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: table.row_count == 0)
        assert app.project.queue.entries() == []
        assert "queue is empty" in str(screen.query_one("#queue-empty").render())


# --------------------------------------------------------------------------- plot data (pure)


def _row(name: str, params: dict[str, Any], metrics: dict[str, Any]) -> ExperimentRow:
    return ExperimentRow(name=name, rev="0" * 40, baseline="0" * 40,
                         params={"params.yaml": params}, metrics={"metrics.json": metrics})


def test_metric_vs_param_sorts_numeric_and_spreads_categories() -> None:
    from exptui.query.plots import metric_vs_param

    rows = [_row("a", {"d": 7, "m": "rf"}, {"acc": 0.8}), _row("b", {"d": 3, "m": "gb"}, {"acc": 0.9}),
            _row("c", {"m": "rf"}, {"acc": 0.7}), _row("d", {"d": 5, "m": "rf"}, {"acc": "n/a"})]
    numeric = metric_vs_param(rows, "d", "acc")
    assert (numeric.xs, numeric.ys, numeric.names, numeric.indices) == ([3.0, 7.0], [0.9, 0.8], ["b", "a"], [1, 0])
    assert numeric.categories is None
    categorical = metric_vs_param(rows, "m", "acc")
    assert categorical.categories == ["rf", "gb"]
    assert list(zip(categorical.xs, categorical.names)) == [(1.0, "c"), (1.0, "a"), (2.0, "b")]


def test_parallel_coordinates_normalise_each_axis() -> None:
    from exptui.query.plots import parallel_coordinates

    rows = [_row("a", {"lr": 0.1, "seed": 1, "m": "rf"}, {"loss": 0.5}),
            _row("b", {"lr": 0.3, "seed": 1, "m": "gb"}, {"loss": 0.3}),
            _row("c", {"seed": 1, "m": "rf"}, {"loss": 0.4})]
    axes, lines = parallel_coordinates(rows, ["lr", "seed", "m"], "loss")
    assert [a.key for a in axes] == ["lr", "seed", "m", "loss"]
    assert axes[2].categories == ["rf", "gb"] and axes[0].label() == "lr: 0.1 .. 0.3"
    by_name = {line.name: line for line in lines}
    assert by_name["a"].positions == [0.0, 0.5, 0.0, 1.0]       # a constant axis sits in the middle
    assert by_name["b"].positions == [1.0, 0.5, 1.0, 0.0]
    assert by_name["c"].positions[0] is None and by_name["c"].metric == 0.4


def test_plot_records_parse_csv_tsv_json_yaml_and_tolerate_garbage() -> None:
    from exptui.query.plots import curve_columns, curve_of, parse_plot_records

    csv_rows = parse_plot_records("plots/curve.csv", b"step,loss,acc\n0,0.9,0.5\n1,0.7,x\n")
    assert curve_columns(csv_rows) == ("step", ["loss", "acc"])
    curve = curve_of("e", 2, csv_rows, "step", "acc")
    assert (curve.xs, curve.ys, curve.index) == ([0.0], [0.5], 2)     # a non-numeric cell is skipped
    assert parse_plot_records("p.tsv", b"epoch\tloss\n1\t0.5\n") == [{"epoch": "1", "loss": "0.5"}]
    assert parse_plot_records("p.json", b'{"train": [{"step": 0, "loss": 1.0}]}') == [{"step": 0, "loss": 1.0}]
    assert parse_plot_records("p.yaml", b"- {fpr: 0.0, tpr: 0.0}\n- {fpr: 1.0, tpr: 1.0}\n")[1] == {
        "fpr": 1.0, "tpr": 1.0}
    assert curve_columns(parse_plot_records("roc.csv", b"fpr,tpr\n0,0\n"), "fpr") == ("fpr", ["tpr"])
    assert parse_plot_records("p.json", b"{not json") == []
    assert parse_plot_records("p.json", b'{"a": [], "b": []}') == []


def test_sweep_field_text_and_errors_point_into_the_field() -> None:
    from dvc_compat.errors import SweepSyntaxError
    from dvc_compat.sweep import parse_override

    from exptui.tui.widgets.sweep_form import field_error, override_text

    assert override_text("params.yaml", "train.lr", " 0.1,0.2 ") == "train.lr=0.1,0.2"
    text = override_text("conf/model.yaml", "opt.lr", "uniform(0.1)")
    assert text == "conf/model.yaml:opt.lr=uniform(0.1)"
    assert parse_override(override_text("conf/model.yaml", "opt.lr", "0.1,0.2")).path == "conf/model.yaml"
    with pytest.raises(SweepSyntaxError) as caught:
        parse_override(text)
    message = field_error(caught.value, text, "uniform(0.1)")
    assert not message.startswith("-S") and "uniform() needs 2 numbers" in message and "(column 1)" in message


def test_parallel_plot_draws_the_best_lines_when_there_are_too_many() -> None:
    from exptui.query.plots import parallel_coordinates
    from exptui.tui.widgets.plot_render import MAX_PARALLEL_LINES, draw_parallel, render

    rows = [_row(f"e{i}", {"lr": i / 10, "depth": i % 7}, {"loss": 1 / (i + 1)}) for i in range(150)]
    axes, lines = parallel_coordinates(rows, ["lr", "depth"], "loss")
    text = render(draw_parallel(axes, lines, lower_is_better=True), 100, 24)
    assert f"best {MAX_PARALLEL_LINES} of 150" in text
    assert len(text.splitlines()) == 24


def test_declared_plots_merge_stage_and_top_level_props_and_interpolate_paths(git_repo: Path) -> None:
    from tests.conftest import copy_pipeline
    churn = Project.open(copy_pipeline("churn", git_repo))
    plots = {p.path: p for p in churn.plot_files(git(git_repo, "rev-parse", "HEAD").strip())}
    curve = plots["plots/train_curve.csv"]          # declared under the train stage and at the top level
    assert (curve.x, curve.ys, curve.title) == ("step", ("train_logloss", "test_logloss"), "Log loss per training step")
    assert (plots["plots/roc.csv"].x, plots["plots/roc.csv"].ys) == ("fpr", ("tpr",))

    sentiment = git_repo.parent / "sentiment"
    sentiment.mkdir()
    git(sentiment, "init", "-q", "-b", "main")
    copy_pipeline("sentiment", sentiment)
    paths = [p.path for p in Project.open(sentiment).plot_files("workspace")]
    assert paths == ["dvclive/plots/metrics",         # the train stage's DVCLive series
                     "eval/confusion.csv"]            # `${eval_dir}/confusion.csv`, eval_dir from dvc.yaml's vars


def test_declared_plots_of_a_broken_dvc_yaml_fall_back_to_literal_paths(git_repo: Path) -> None:
    (git_repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python t.py\n    bogus_key: 1\n    plots:\n      - loss.csv\n"
        "plots:\n  - loss.csv:\n      x: epoch\n")
    plots = Project.open(git_repo).plot_files("workspace")
    assert [(p.path, p.x) for p in plots] == [("loss.csv", "epoch")]
    (git_repo / "dvc.yaml").unlink()
    assert Project.open(git_repo).plot_files("workspace") == []


def test_nice_ticks_are_round_numbers_covering_the_range() -> None:
    from exptui.tui.widgets.plot_data import nice_ticks, tick_label

    assert nice_ticks(1, 100) == [20, 40, 60, 80, 100]
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert [tick_label(t) for t in nice_ticks(0.001, 0.0037)] == ["0.001", "0.002", "0.003"]
    assert nice_ticks(5, 5) == [5]
