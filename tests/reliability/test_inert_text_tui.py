"""Issue 9 items 2 and 3 (escape and markup injection) and issue 10 (cell width), in the dashboard.

The real app (`App.run_test()` + Pilot) over a real repo whose params, metrics, names, notes, labels, queue entry and
stage log carry the hostile corpus, part of it pulled from a second clone. After every view is opened we take what
Textual would write to the terminal for the whole screen (the compositor's full update, rendered to the escape
sequences a real terminal receives) and check:

- no escape sequence but Textual's own (SGR, cursor positioning, synchronized output) and no control, C1 or bidi
  character: data is shown inert;
- no link and no click action in the rendered segments: markup in data is text, never markup;
- the hostile text is visible (as ``␛]0;PWNED␇`` and friends), so nothing was silently dropped;
- the app is still running and still answers keys.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, TEST_GIT_ENV, scoped_env
from tests.reliability.corpus import foreign_sequences
from tests.reliability.hostile_text_repo import (
    LABEL,
    NOTE,
    PULLED_NAMES,
    HostileRepo,
    build_hostile_repo,
    copy_repo,
)
from tests.tui_support import async_test, loaded, notifications, settled, wait_for, workers_idle

from exptui.project import Project
from exptui.tui.app import ExptuiApp
from exptui.tui.view_state import ViewState

WIDE = (400, 50)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> HostileRepo:
    env = {**TEST_GIT_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    with scoped_env(env):
        return build_hostile_repo(tmp_path_factory.mktemp("inert-tui"))


@pytest.fixture
def repo(built: HostileRepo, tmp_path: Path) -> Path:
    return copy_repo(built, tmp_path)


def make_app(repo: Path, view: ViewState | None = None) -> ExptuiApp:
    return ExptuiApp(Project.open(repo), repo, poll_interval=0.1, view=view or ViewState())


# ------------------------------------------------------------------------------------------- what the terminal gets

def terminal_output(app: ExptuiApp) -> str:
    """The bytes Textual writes to a real terminal to paint the whole current screen (modal dialogs blended over
    the screens under them), exactly as `App._display` would."""
    screen = app.screen
    update = screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return update.render_segments(app.console)


def screen_lines(app: ExptuiApp) -> list[str]:
    """The screen as plain text, one string per line (wide characters take two cells, as on a terminal)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def on_screen(app: ExptuiApp, text: str) -> bool:
    return any(text in line for line in screen_lines(app))


def actions_and_links(app: ExptuiApp) -> list[tuple[str, str, str]]:
    """Every link and click action in the rendered segments of every screen on the stack."""
    found = []
    for screen in [*app._background_screens, app.screen]:
        for strip in screen._compositor.render_strips():
            for segment in strip:
                style = segment.style
                if style is None:
                    continue
                if style.link:
                    found.append(("link", style.link, segment.text))
                meta = style.meta
                if meta and "@click" in meta:
                    found.append(("click", str(meta["@click"]), segment.text))
    return found


# Textual's own widgets that carry click actions (none of which comes from data)
OWN_ACTIONS = ("app.bell",)


def assert_inert_screen(app: ExptuiApp, what: str) -> str:
    assert app.is_running, f"{what}: the app is gone"
    output = terminal_output(app)
    foreign = foreign_sequences(output)
    assert foreign == [], f"{what}: escape/control characters from data reached the terminal: {foreign[:5]}"
    assert "\x1b]8;" not in output, f"{what}: a hyperlink reached the terminal"
    actions = [a for a in actions_and_links(app) if a[0] == "link" or "quit" in a[1] or "click" in a[2].lower()]
    assert actions == [], f"{what}: data became an action or a link: {actions[:5]}"
    return "\n".join(screen_lines(app))


async def assert_responsive(app: ExptuiApp, pilot: Any) -> None:
    """A key still does what it says: ? opens the help, esc closes it."""
    from exptui.tui.screens.help import HelpScreen

    before = app.screen
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is before)
    assert app.is_running


async def click_on(app: ExptuiApp, pilot: Any, text: str) -> bool:
    """Click the first place on screen showing ``text`` (False if it is not on screen)."""
    from rich.cells import cell_len

    for y, line in enumerate(screen_lines(app)):
        x = line.find(text)
        if x >= 0:
            await pilot.click(offset=(cell_len(line[:x]) + 1, y))
            await pilot.pause()
            return True
    return False


def row_named(table: Any, name: str) -> Any:
    return next(r for r in table.rows if r.name == name)


# ------------------------------------------------------------------------------------------- the views

@async_test
async def test_main_table_header_filter_and_command_line(repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=WIDE) as pilot:
        table = await loaded(app, pilot)
        text = assert_inert_screen(app, "main table")
        assert "␛]0;PWNED␇" in text and "csi\\x9b2J" in text and "rtl\\u202egnp.exe" in text
        assert "p[/]" in text                                    # a key that froze the dashboard before
        for _ in range(60):                                      # walk the cursor over every column
            await pilot.press("l")
        assert_inert_screen(app, "main table scrolled right")
        await pilot.press("slash", *"nosuch > 1")
        await settled(pilot, lambda: app.main.filter_bar.has_class("-error"), "the debounced filter's error")
        assert_inert_screen(app, "filter error")
        await pilot.press("escape")
        from textual import events

        await pilot.press("slash")
        app.main.filter_bar.input.post_message(events.Paste("acc > 0 \x1b]0;PWNED\x07\x1b[2J"))
        await pilot.pause()              # the paste is one message: handled once the queues are idle (refused, so
                                         # there is no change to wait for)
        assert "\x1b" not in app.main.filter_bar.input.value     # a pasted escape sequence is refused
        assert_inert_screen(app, "paste into the filter")
        await pilot.press("escape")
        await pilot.press("slash", *"t")                         # completion suggests a hostile column name
        await settled(pilot, lambda: app.main.view.filter == "t" and workers_idle(app),
                      "the filter applied and its completion worker done")
        assert_inert_screen(app, "filter completion")
        await pilot.press("escape", "colon", *"sort p[/]", "enter")
        await settled(pilot, lambda: any("p[/]" in key for key, _ in app.main.view.sort), "the sort by p[/]")
        assert_inert_screen(app, "command line sort by a hostile column")
        await pilot.press("colon", *"sort nosuch", "enter")
        await settled(pilot, lambda: "nosuch" in app.main.message, "the command line's error")
        assert_inert_screen(app, "command line error")
        table.move_cursor_to_key(row_named(table, "plain").key)
        await pilot.press("space")
        for name in PULLED_NAMES[:3]:
            table.move_cursor_to_key(row_named(table, name).key)
            await pilot.press("space")
        await pilot.pause()
        assert_inert_screen(app, "marked rows in the header")
        await assert_responsive(app, pilot)


@async_test
async def test_compare_view(repo: Path) -> None:
    from exptui.tui.screens.compare import CompareScreen

    app = make_app(repo)
    async with app.run_test(size=WIDE) as pilot:
        table = await loaded(app, pilot)
        for name in ("plain", *PULLED_NAMES):
            table.move_cursor_to_key(row_named(table, name).key)
            await pilot.press("space")
        await pilot.press("d")
        await settled(pilot, lambda: isinstance(app.screen, CompareScreen))
        text = assert_inert_screen(app, "compare")
        assert "␛]0;PWNED␇" in text and "rtl\\u202egnp.exe" in text
        await pilot.press("f")
        await settled(pilot, lambda: app.screen.diff_only, "differences only")
        assert_inert_screen(app, "compare, differences only")
        await pilot.press("m")                                   # Markdown export: a toast naming the file
        await settled(pilot, lambda: app.screen.exported is not None and notifications(app), "the export's toast")
        assert_inert_screen(app, "compare export toast")
        await assert_responsive(app, pilot)


@async_test
async def test_queue_view_log_view_and_their_dialogs(repo: Path, built: HostileRepo) -> None:
    from exptui.tui.screens.confirm import ConfirmScreen
    from textual.widgets import Log

    from exptui.tui.screens.log import LogScreen
    from exptui.tui.screens.queue import QueueScreen
    from exptui.tui.widgets.queue_table import QueueTable

    app = make_app(repo)
    async with app.run_test(size=WIDE) as pilot:
        await loaded(app, pilot)
        await pilot.press("Q")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
        await settled(pilot, lambda: bool(app.screen.query_one(QueueTable).entries))
        text = assert_inert_screen(app, "queue view")
        assert "q\\u202e-\\x9b2J-$accent" in text and "[@click=app.quit]queued[/]" in text
        await pilot.press("K")                                   # a finished entry: a warning toast names it
        await settled(pilot, lambda: notifications(app), "the warning toast")
        assert_inert_screen(app, "queue kill warning toast")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert_inert_screen(app, "queue remove confirmation")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen))
        await settled(pilot, lambda: app.screen.bytes_read > 0)
        text = assert_inert_screen(app, "log view")
        assert "log: ␛]0;PWNED␇" in text and "log: [@click=app.quit]CLICK[/]" in text
        assert "green is only colour" in text and "␛[32m" not in text   # colour codes dropped, never obeyed
        await pilot.press("G", "g")
        await settled(pilot, lambda: app.screen.query_one(Log).scroll_y == 0, "the log scrolled to its top")
        assert_inert_screen(app, "log view, top")
        assert not await click_on(app, pilot, "CLICK") or app.is_running
        assert app.is_running
        await assert_responsive(app, pilot)


@async_test
async def test_log_view_of_the_cursor_row(repo: Path, built: HostileRepo) -> None:
    from exptui.tui.screens.log import LogScreen

    app = make_app(repo)
    async with app.run_test(size=WIDE) as pilot:
        table = await loaded(app, pilot)
        table.move_cursor_to_key(row_named(table, built.queue_name).key)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen))
        await settled(pilot, lambda: app.screen.bytes_read > 0)
        text = assert_inert_screen(app, "log view from the table")
        assert "q\\u202e-\\x9b2J-$accent" in text               # the title names the entry, inert
        await assert_responsive(app, pilot)


@async_test
async def test_plots_with_legends_and_parallel_coordinates(repo: Path) -> None:
    from textual.widgets import Select, TabbedContent

    from exptui.tui.screens.plots import PlotScreen

    app = make_app(repo)
    async with app.run_test(size=(200, 50)) as pilot:
        table = await loaded(app, pilot)
        for name in ("plain", *PULLED_NAMES):
            table.move_cursor_to_key(row_named(table, name).key)
            await pilot.press("space")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PlotScreen))
        screen = app.screen
        await settled(pilot, lambda: screen.built and screen.step_data is not None and workers_idle(app),
                      "the plots built and the per-step files read")
        text = assert_inert_screen(app, "plots: metric vs param")
        assert "rtl\\u202egnp.exe" in text                      # the legend names the experiments, inert
        assert not await click_on(app, pilot, "CLICK") or app.is_running
        await pilot.press("3")
        await settled(pilot, lambda: screen.query_one(TabbedContent).active == "parallel", "the parallel tab")
        text = assert_inert_screen(app, "plots: parallel coordinates")
        assert "p[/]" in text and "t␛]0;PWNED␇" in text          # the axes list hostile param names
        await click_on(app, pilot, "CLICK")
        assert app.is_running
        await pilot.press("2")
        await settled(pilot, lambda: screen.query_one(TabbedContent).active == "steps", "the steps tab")
        assert_inert_screen(app, "plots: over steps")
        await pilot.press("1")
        await settled(pilot, lambda: screen.query_one(TabbedContent).active == "scatter", "the scatter tab")
        await pilot.click("#scatter-x")                          # open the param chooser: hostile options
        await settled(pilot, lambda: screen.query_one("#scatter-x", Select).expanded, "the param chooser open")
        assert_inert_screen(app, "plots: the param chooser open")
        await pilot.press("escape")
        await settled(pilot, lambda: not screen.query_one("#scatter-x", Select).expanded, "the chooser closed")
        await assert_responsive(app, pilot)


@async_test
async def test_sweep_dialog(repo: Path) -> None:
    from textual.widgets import Input

    from exptui.tui.screens.sweep import SweepScreen
    from exptui.tui.widgets.sweep_form import SweepField

    app = make_app(repo)
    async with app.run_test(size=(200, 60)) as pilot:
        table = await loaded(app, pilot)
        table.move_cursor_to_key(row_named(table, "plain").key)
        await pilot.press("e")
        await settled(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.ready,
                      "the sweep dialog's fields")
        screen = app.screen
        text = assert_inert_screen(app, "sweep dialog")
        assert "␛]0;PWNED␇" in text
        fields = {f.key: f for f in screen.query(SweepField)}
        assert not any(f.changed for f in fields.values())      # shown inert, still the experiment's values
        fields["train.lr"].query_one(Input).value = "0.1,0.2"
        fields["train.tag"].query_one(Input).value = "[@click=app.quit]CLICK[/],p[/]"
        await settled(pilot, lambda: screen.trial_count == 4, "the 2 x 2 sweep validated")
        text = assert_inert_screen(app, "sweep dialog with a markup sweep")
        assert "[@click=app.quit]CLICK[/]" in text
        # the other params are pinned to the experiment's real values, never to their inert pictures
        assert any("\x9b" in o for o in screen.overrides)
        assert not any("␛" in o or "\\x9b" in o for o in screen.overrides)
        await click_on(app, pilot, "CLICK")
        assert app.is_running
        fields["train.lr"].query_one(Input).value = "range(1,"               # a syntax error quoting the field
        await settled(pilot, lambda: screen.problem is not None, "the sweep's syntax error")
        assert_inert_screen(app, "sweep dialog error")
        await pilot.press("escape")                                  # esc still cancels the dialog
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen))
        await assert_responsive(app, pilot)


@async_test
async def test_note_label_branch_apply_and_remove_dialogs(repo: Path) -> None:
    from textual.widgets import Input

    from exptui.tui.screens.confirm import ConfirmScreen, InputScreen

    app = make_app(repo)
    async with app.run_test(size=WIDE) as pilot:
        table = await loaded(app, pilot)
        name = PULLED_NAMES[1]
        table.move_cursor_to_key(row_named(table, name).key)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, InputScreen))
        text = assert_inert_screen(app, "note prompt")
        assert "Note for rtl\\u202egnp.exe:" in text and "note [@click=app.quit]CLICK" in text
        await pilot.press("enter")                                # accepted unchanged: the note is unchanged
        await settled(pilot, lambda: not isinstance(app.screen, InputScreen) and workers_idle(app))
        assert Project.open(repo).resolve(name).annotations.note == NOTE
        assert_inert_screen(app, "after the note")

        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, InputScreen))
        assert_inert_screen(app, "label prompt")
        await pilot.press("enter")
        await settled(pilot, lambda: not isinstance(app.screen, InputScreen) and workers_idle(app))
        assert Project.open(repo).resolve(name).annotations.labels == (LABEL,)

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "rtl\\u202egnp.exe" in assert_inert_screen(app, "apply confirmation")
        await pilot.press("escape")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, InputScreen))
        assert_inert_screen(app, "branch prompt")
        app.screen.query_one(Input).value = "bad\x1b[2J [@click=app.quit]x[/] name"   # git refuses it: an error
        await pilot.press("enter")
        await settled(pilot, lambda: not isinstance(app.screen, InputScreen) and workers_idle(app)
                      and bool(app.main.message) and bool(notifications(app)), "the branch error's message and toast")
        assert_inert_screen(app, "branch error message and toast")

        for other in PULLED_NAMES[2:4]:
            table.move_cursor_to_key(row_named(table, other).key)
            await pilot.press("space")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = assert_inert_screen(app, "remove confirmation")
        assert "@click=app.quit]CLICK" in text
        await click_on(app, pilot, "CLICK")
        assert app.is_running
        await pilot.press("escape")
        await assert_responsive(app, pilot)


@async_test
async def test_columns_dialog_help_and_palette(repo: Path) -> None:
    from textual.command import CommandList

    from exptui.tui.screens.columns import ColumnsScreen

    app = make_app(repo)
    async with app.run_test(size=(200, 60)) as pilot:
        await loaded(app, pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        text = assert_inert_screen(app, "columns dialog")
        assert "t␛]0;PWNED␇" in text
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await settled(pilot, lambda: bool(app.screen.query(CommandList)) and app.screen.query_one(CommandList)
                      .option_count > 0, "the command palette's list")
        assert_inert_screen(app, "command palette")
        await pilot.press("escape")
        await assert_responsive(app, pilot)


# ------------------------------------------------------------------------------------------- cell width (issue 10)

@async_test
async def test_wide_characters_keep_the_divider_in_one_cell_column(repo: Path) -> None:
    """学習率-実験 as an experiment name, a param key and a metric key: every line of the table draws the divider
    between the fixed and the scrolling part in the same cell column, and the right-aligned ``acc`` values end in
    the cell where their header ends."""
    from rich.cells import cell_len

    app = make_app(repo, ViewState(drop=["train\\.v.*", "train\\.long"]))
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(app, pilot)
        lines = screen_lines(app)
        rows = [line for line in lines if "│" in line]
        assert any("├─ 学習率-実験" in line for line in rows), "\n".join(lines)
        dividers = {cell_len(line[: line.index("│")]) for line in rows}
        assert len(dividers) == 1, "\n".join(rows)
        header = next(line for line in rows if "Experiment" in line)
        assert "学習率-実験" in header
        acc_end = cell_len(header[: header.index(" acc ") + 4])        # the cell after "acc"
        checked = 0
        for line in rows:
            cells = cells_of(line)
            if line is header or cells.get(acc_end - 1, " ") == " ":
                continue
            assert cells[acc_end - 1].isdigit() and cells.get(acc_end) == " ", f"acc misplaced: {line!r}"
            checked += 1
        assert checked >= 8
        # the same screen, as an image, for people: docs/screenshots is not touched, the test only proves it renders
        svg = app.export_screenshot()
        assert "学習率-実験" in svg and "\x1b" not in svg


def cells_of(line: str) -> dict[int, str]:
    """Cell column -> the character drawn there (the second cell of a wide character has no entry)."""
    from rich.cells import cell_len

    out: dict[int, str] = {}
    col = 0
    for ch in line:
        out[col] = ch
        col += cell_len(ch)
    return out
