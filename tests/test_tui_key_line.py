"""The compare, queue and log screens' key line (`exptui.tui.widgets.key_line.KeyLine`): the keys are in the
screen's first paint (Textual's `Footer` mounted them one refresh later), in binding order, with the command
palette's key on the right; a click on a key presses it, the key under the mouse is highlighted (with its tooltip).
How it looks is pinned by the compare snapshots (120x36, 80x24 and 200x50: byte-identical to Textual's `Footer`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding

from exptui.tui.screens.compare import CompareScreen
from exptui.tui.screens.queue import QueueScreen
from exptui.tui.widgets.key_line import KeyLine
from tests.test_tui_screens import demo_template, make_app, repo  # noqa: F401 - fixtures
from tests.tui_support import async_test, wait_for

SIZE = (120, 36)


def first_paints(app: Any) -> list[tuple[str, str]]:
    """(screen class, key line text or "") of every compositor update the app hands to its driver from now on."""
    paints: list[tuple[str, str]] = []
    display = app._display

    def recorded(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None:
            lines = screen.query(KeyLine)
            paints.append((type(screen).__name__, str(lines.first().render()) if lines and lines.first()._spans
                           else ""))

    app._display = recorded
    return paints


async def cursor_on_experiment(app: Any, pilot: Any) -> None:
    await wait_for(pilot, lambda: app.reloads > 0)
    table = app.main.table
    table.move_cursor_to_key(next(r for r in table.rows if r.kind == "experiment").key)
    await pilot.pause()


@async_test
async def test_d_paints_the_compare_keys_in_its_first_paint(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_on_experiment(app, pilot)
        paints = first_paints(app)
        await pilot.press("d")
        await wait_for(pilot, lambda: any(name == "CompareScreen" for name, _ in paints))
        name, text = next(p for p in paints if p[0] == "CompareScreen")
        assert "Diff only" in text and "Markdown" in text
        line = app.screen.query_one(KeyLine)
        shown = str(line.render())
        assert shown.index("esc") < shown.index("Diff only") < shown.index("Next diff") < shown.index("Markdown")
        assert shown.rstrip().endswith("^p Commands") and len(shown) == SIZE[0]


@async_test
async def test_a_click_on_a_key_presses_it(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_on_experiment(app, pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.is_mounted)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        line = screen.query_one(KeyLine)
        await pilot.pause()
        x = str(line.render()).index("Diff only")
        assert line.key_at(x) == ("f", True)
        assert line.key_at(SIZE[0] - 3) == ("ctrl+p", True)
        assert not screen.diff_only
        await pilot.click(KeyLine, offset=(x, 0))
        await wait_for(pilot, lambda: screen.diff_only)


@async_test
async def test_the_queue_screen_shows_its_keys(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        await pilot.press("Q")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.refreshes > 0)
        await pilot.pause()
        shown = str(app.screen.query_one(KeyLine).render())
        assert shown.startswith(" esc Back ") and "Start workers" in shown
        assert shown.endswith("▏^p Commands ") and len(shown) == 80   # on the right, over keys that do not fit


def background_at(line: KeyLine, x: int) -> object:
    """The background colour drawn at column `x` of the key line's last render."""
    text = line.render()
    style = text.get_style_at_offset(line.app.console, x)
    return style.bgcolor


@async_test
async def test_the_key_under_the_mouse_is_highlighted(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_on_experiment(app, pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.is_mounted)
        line = app.screen.query_one(KeyLine)
        await pilot.pause()
        shown = str(line.render())
        diff, markdown = shown.index("Diff only"), shown.index("Markdown")
        plain_background = background_at(line, diff)
        assert line.hovered is None and background_at(line, markdown) == plain_background
        await pilot.hover(KeyLine, offset=(diff, 0))
        await wait_for(pilot, lambda: line.hovered == "f", "the hovered key")
        assert background_at(line, diff) != plain_background          # the hovered key, and only it
        assert background_at(line, markdown) == plain_background
        assert str(line.render()) == shown                           # the same text: only a colour changed
        await pilot.hover(KeyLine, offset=(markdown, 0))
        await wait_for(pilot, lambda: line.hovered is not None and line.hovered != "f", "the next key hovered")
        assert background_at(line, diff) == plain_background
        await pilot.hover(offset=(SIZE[0] // 2, SIZE[1] // 2))         # off the line
        await wait_for(pilot, lambda: line.hovered is None, "no key hovered")
        assert background_at(line, markdown) == plain_background


class OneKey(App[None]):
    """A screen with one key that declares a tooltip, in `KeyLine`."""

    BINDINGS = [Binding("x", "thing", "Thing", tooltip="Does the thing")]

    def __init__(self) -> None:
        super().__init__()
        self.things = 0

    def compose(self) -> ComposeResult:
        yield KeyLine()

    def action_thing(self) -> None:
        self.things += 1


@async_test
async def test_a_hovered_key_shows_its_tooltip_and_a_click_runs_its_action() -> None:
    app = OneKey()
    async with app.run_test(size=(60, 10)) as pilot:
        line = app.query_one(KeyLine)
        await wait_for(pilot, lambda: bool(line._spans), "the keys drawn")
        x = str(line.render()).index("Thing")
        assert line.tooltip is None
        await pilot.hover(KeyLine, offset=(x, 0))
        await wait_for(pilot, lambda: line.hovered == "x", "the hovered key")
        assert line.tooltip == "Does the thing"
        await pilot.click(KeyLine, offset=(x, 0))
        await wait_for(pilot, lambda: app.things == 1, "the action run by the click")
        await pilot.hover(KeyLine, offset=(58, 0))     # the palette's key: the tooltip Textual gives it
        await wait_for(pilot, lambda: line.hovered == "ctrl+p", "the palette key hovered")
        assert line.tooltip == app.screen.active_bindings[app.COMMAND_PALETTE_BINDING].tooltip != ""
        await pilot.hover(offset=(30, 5))              # off the line: no key, no tooltip
        await wait_for(pilot, lambda: line.hovered is None, "no key hovered")
        assert line.tooltip is None
