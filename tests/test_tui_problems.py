"""Problems shown where the user is looking: the workspace error banner, the queue view's Info column, status-line
messages that expire. Real app over a real demo repo (the fixtures of test_tui_screens), driven with Pilot."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from exptui.tui.widgets.problem_banner import ProblemBanner, workspace_problems
from tests.test_tui_screens import demo_template, make_app, repo  # noqa: F401
from tests.tui_support import async_test, wait_for

SIZE = (80, 24)


def banner_text(app: Any) -> str:
    banner = app.main.query_one(ProblemBanner)
    return str(banner.render()) if banner.display else ""


@async_test
async def test_a_broken_params_yaml_shows_a_banner_with_file_and_line_until_fixed(repo: Path) -> None:  # noqa: F811
    params = repo / "params.yaml"
    good = params.read_text()
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        assert banner_text(app) == ""
        # a tab in the indentation: YAML refuses it; the text also carries markup, which must stay text
        params.write_text(good + "train:\n\t[bold]bad: 1\n")
        await wait_for(pilot, lambda: "params.yaml:" in banner_text(app))
        text = banner_text(app)
        line = text.split("params.yaml:", 1)[1].split(":", 1)[0]
        assert line.isdigit(), text              # the line number is there
        assert "Fix the file" in text
        params.write_text(good)
        await wait_for(pilot, lambda: banner_text(app) == "")


@async_test
async def test_a_broken_dvc_yaml_is_named_in_the_banner_and_the_empty_hint(tmp_path: Path,  # noqa: F811
                                                                           repo: Path) -> None:  # noqa: F811
    dvc_yaml = repo / "dvc.yaml"
    good = dvc_yaml.read_text()
    dvc_yaml.write_text(good.replace("stages:", "stages:\n  broken:\n    cmd: [unclosed", 1))
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "dvc.yaml:" in banner_text(app))
        assert banner_text(app).splitlines()[0].startswith("✗ dvc.yaml:")   # dvc.yaml first: nothing runs without it
        dvc_yaml.write_text(good)
        await wait_for(pilot, lambda: banner_text(app) == "")


def test_workspace_problems_skip_metrics_not_written_yet_and_put_dvc_yaml_first() -> None:
    errors = {"metrics.json": "file not found", "params.yaml": "params.yaml:3: bad", "dvc.yaml": "dvc.yaml:1: worse",
              "extra.toml": "cannot parse"}
    assert workspace_problems(errors) == ["dvc.yaml:1: worse", "extra.toml: cannot parse", "params.yaml:3: bad"]


@async_test
async def test_status_line_messages_expire(repo: Path) -> None:  # noqa: F811
    """Seen first with a long timer (no race with a loaded machine), then a short one is waited out by polling."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        main = app.main
        main.MESSAGE_SECONDS = main.ERROR_SECONDS = 600.0
        await pilot.press("o")
        assert main.message == "only changed columns" and main._message_timer is not None
        main.MESSAGE_SECONDS = 0.2
        await pilot.press("o")
        await wait_for(pilot, lambda: main.message == "")          # the timer cleared it, no key pressed
        await pilot.press("a")         # apply on a baseline row: an error line
        assert "apply" in main.message
        main.ERROR_SECONDS = 0.2
        await pilot.press("a")
        await wait_for(pilot, lambda: main.message == "")
        await pilot.press("v")         # a prompt waiting for the next key stays until that key
        assert "range" in main.message and main._message_timer is None


@async_test
async def test_queue_info_shows_the_last_error_line_of_a_failure_and_the_experiment_of_a_success(
        repo: Path) -> None:  # noqa: F811
    from exptui.tui.screens.queue import QueueScreen
    from exptui.tui.widgets.queue_table import QueueTable
    from tests.test_tui_screens import _entries_in_every_state

    app = make_app(repo)
    ids = _entries_in_every_state(app.project)
    log = app.project.queue.log_path(ids["failed"])
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"$ python src/train.py\nTraceback (most recent call last):\n  File \"train.py\", line 3\n"
                    b"ValueError: unknown model '\x1b[31mxgb'\n\n[exptui] failed: stage 'train' exited with 1\n")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = QueueScreen(app.project)
        await app.push_screen(screen)
        table = screen.query_one(QueueTable)
        await wait_for(pilot, lambda: len(table.entries) == len(ids))
        failed = table.entries[ids["failed"]].info
        assert failed.startswith("ValueError: unknown model '") and "\x1b" not in failed   # the cause, inert
        success = table.entries[ids["success"]]
        assert success.info == f"→ {success.name}"
        assert table.entries[ids["crashed"]].info == "why it is crashed"   # no log: the stored reason


@async_test
async def test_queue_start_with_nothing_queued_says_so(repo: Path) -> None:  # noqa: F811
    from exptui.tui.screens.confirm import InputScreen
    from exptui.tui.screens.queue import QueueScreen
    from exptui.tui.widgets.queue_table import QueueTable
    from tests.tui_support import record_notifications

    app = make_app(repo)
    entry = app.project.queue.enqueue(["train.max_depth=2"], name="gone")[0]
    app.project.queue.kill(entry.id)
    async with app.run_test(size=SIZE) as pilot:
        shown = record_notifications(app)
        screen = QueueScreen(app.project)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: len(screen.query_one(QueueTable).entries) == 1)
        await pilot.press("s")
        assert not isinstance(app.screen, InputScreen)
        assert any(m.startswith("nothing is queued") for m in shown), shown
        app.project.queue.retry(entry.id)
        await wait_for(pilot, lambda: screen.query_one(QueueTable).entries[entry.id].status == "queued")
        await pilot.press("s")
        assert isinstance(app.screen, InputScreen)     # with something queued, it asks how many workers


@async_test
async def test_log_view_wraps_long_lines_and_its_header_follows_the_entry_to_its_end(repo: Path) -> None:  # noqa: F811
    from textual.widgets import Label, Log

    from exptui.project import EntryState
    from exptui.store.claims import ProcessIdentity
    from exptui.store.queue import DoneRecord
    from exptui.tui.screens.log import LogScreen

    app = make_app(repo)
    queue = app.project.queue
    entry = queue.enqueue(["train.max_depth=4"], name="wrapped")[0]
    row = next(r for r in app.project.experiments() if r.queue_id == entry.id)
    path = queue.log_path(entry.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    long_line = "loss " + "0123456789" * 20
    path.write_text(f"start\n{long_line}\n")
    async with app.run_test(size=SIZE) as pilot:
        screen = LogScreen(app.project, row)
        await app.push_screen(screen)
        log = screen.query_one(Log)
        await wait_for(pilot, lambda: any(line.startswith("↪ ") for line in log.lines))
        assert max(len(line) for line in log.lines) <= log.scrollable_content_region.width
        assert "".join(line.removeprefix("↪ ") for line in log.lines[1:]).startswith(long_line)
        title = screen.query_one("#log-title", Label)
        assert "queued" in str(title.render()) and "following new output (f: pause)" in str(title.render())
        assert queue.store.claim(entry, ProcessIdentity.current()) is not None
        assert queue.store.finish(entry, DoneRecord(EntryState.FAILED, "stage 'train' failed", attempt=entry.attempt))
        await wait_for(pilot, lambda: "failed" in str(title.render()))
        assert "ended" in str(title.render()) and "following" not in str(title.render())


@async_test
async def test_sweep_dialog_keys_of_one_terminal_read_apply_in_order(repo: Path) -> None:  # noqa: F811
    """As a terminal burst arrives (tmux `send-keys Down×6 C-u 99`): every key posted to the App before any is
    handled, not `pilot.press`, which waits for idle between keys. Moves and edits must not fall behind the
    typed text: focus moves are priority bindings, the field's own editing keys run as they reach it."""
    from textual import events
    from textual.widgets import Input

    from exptui.tui.screens.sweep import SweepScreen

    app = make_app(repo)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.ready)
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        fields = screen.fields()
        await wait_for(pilot, lambda: app.focused is fields[0].query_one(Input))
        burst = [events.Key("down", None)] * 6 + [events.Key("ctrl+u", None), events.Key("9", "9"),
                                                   events.Key("9", "9")]
        for key in burst:
            app.post_message(key)
        await wait_for(pilot, lambda: fields[6].text == "99")
        await pilot.pause()
        assert fields[6].text == "99" and not fields[0].changed, [f.text for f in fields]
        assert app.focused is fields[6].query_one(Input)


@async_test
async def test_sweep_dialog_keys_read_together_with_e_land_in_the_dialog(repo: Path) -> None:  # noqa: F811
    """`tmux send-keys e Tab Tab 9 9`: all five keys reach the App in one read, before `e` is handled. `e` is a
    priority binding, so it opens the dialog on arrival: the keys behind it reach the dialog (kept until its form
    exists), not the dashboard's table, where a non-priority `e` let them fall before the dialog was pushed."""
    from textual import events
    from textual.widgets import Input

    from exptui.tui.screens.sweep import SweepScreen

    app = make_app(repo)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0 and app.main.table.cursor_row_obj is not None)
        for key in (events.Key("e", "e"), events.Key("tab", None), events.Key("tab", None), events.Key("9", "9"),
                    events.Key("9", "9")):
            app.post_message(key)
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.ready
                       and app.screen.fields()[2].text == "99", "99 typed into the third field")
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        fields = screen.fields()
        await pilot.pause()
        assert [f.key for f in fields if f.changed] == [fields[2].key], [f.text for f in fields]
        assert app.focused is fields[2].query_one(Input)


@async_test
async def test_sweep_dialog_on_a_broken_workspace_names_the_file(repo: Path) -> None:  # noqa: F811
    from exptui.tui.screens.sweep import SweepScreen

    params = repo / "params.yaml"
    params.write_text(params.read_text() + "train:\n\t[bold]bad: 1\n")
    app = make_app(repo)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: "params.yaml:" in banner_text(app))
        workspace = next(r for r in app.main.table.rows if r.kind == "workspace")
        app.main.table.move_cursor_to_key(workspace.key)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.ready)
        text = str(app.screen.query_one(".sweep-empty").render())
        assert text.startswith("No params to sweep: params.yaml:") and "Fix the file" in text, text
