"""SVG snapshots of the compare screen and the sweep dialog at 120x36, on the real app over a demo repo.

Update only after looking at the report: `pytest tests/test_tui_screens_snapshots.py --snapshot-update`.
The demo repo is deterministic (fixed dates, fixed seeds, recorded experiments with fixed commit dates).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


from tests.test_tui_screens import demo_template, make_app, repo, rows_by_name  # noqa: F401

SIZE = (120, 36)


def _no_blink(app: Any) -> None:
    from textual.widgets import Input

    for widget in app.screen.query(Input):
        widget.cursor_blink = False


async def _form_ready(pilot: Any, screen: Any) -> None:
    """The sweep dialog mounts its form after its first paint: wait for it (bounded for a loaded machine)."""
    for _ in range(2400):
        if screen.ready:
            break
        await pilot.pause(0.05)
    assert screen.ready, "the sweep form was not mounted within 2 minutes"
    await pilot.pause(0.1)


def test_snapshot_compare(repo: Path, snap_compare: Any) -> None:  # noqa: F811 - the fixture
    from exptui.tui.screens.compare import CompareScreen

    app = make_app(repo)
    rows = rows_by_name(app.project)

    async def run_before(pilot: Any) -> None:
        await pilot.pause(0.3)
        await app.push_screen(CompareScreen(app.project, [rows["main"], rows["deep-trees"], rows["slow-lr"]]))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_sweep_dialog(repo: Path, snap_compare: Any) -> None:  # noqa: F811 - the fixture
    from textual.widgets import Input

    from exptui.tui.screens.sweep import SweepScreen

    app = make_app(repo)
    base = rows_by_name(app.project)["main"]

    async def run_before(pilot: Any) -> None:
        await pilot.pause(0.3)
        screen = SweepScreen(app.project, base)
        await app.push_screen(screen)
        await _form_ready(pilot, screen)
        _no_blink(app)
        field = next(f for f in screen.fields() if f.key == "train.max_depth")
        field.query_one(Input).value = "3,5,7"
        field.query_one(Input).focus()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_sweep_dialog_small_with_a_type_error(repo: Path, snap_compare: Any) -> None:  # noqa: F811 - the fixture
    """80x24: the compact layout (one line per field), an inline type error, the dialog's own key line."""
    from textual.widgets import Input

    from exptui.tui.screens.sweep import SweepScreen

    app = make_app(repo)
    base = rows_by_name(app.project)["main"]

    async def run_before(pilot: Any) -> None:
        await pilot.pause(0.3)
        screen = SweepScreen(app.project, base)
        await app.push_screen(screen)
        await _form_ready(pilot, screen)
        _no_blink(app)
        for key, text in (("generate.seed", "1,2"), ("train.max_depth", "abc")):
            field = next(f for f in screen.fields() if f.key == key)
            field.query_one(Input).value = text
            field.query_one(Input).focus()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
