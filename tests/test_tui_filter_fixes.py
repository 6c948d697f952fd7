"""Filter fixes: `/` with a bare word searches names and labels, no match keeps the columns and says "0 of N
match", clearing keeps the cursor column in view. Real app over the demo repo, driven with Pilot."""
from __future__ import annotations

from pathlib import Path

from tests.test_tui_screens import demo_template, make_app, repo  # noqa: F401
from tests.tui_support import async_test, wait_for

SIZE = (80, 24)


def shown_names(app) -> list[str]:
    return [r.name for r in app.main.table.rows if r.kind == "experiment"]


def filter_count(app) -> str:
    return str(app.main.filter_bar.query_one("#filter-count").render())


@async_test
async def test_a_bare_word_searches_names_and_labels(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        slow = next(r for r in app.main.all_rows if r.name == "slow-lr")
        app.project.label(slow.ref or slow.name, add=["keeper"])
        app.main.action_refresh()
        await wait_for(pilot, lambda: any(r.annotations.labels for r in app.main.all_rows))
        await pilot.press("slash", *"deep")
        await wait_for(pilot, lambda: shown_names(app) == ["deep-trees"])
        assert filter_count(app) == "1 of 2 match" and not app.main._filter_error
        await pilot.press(*["backspace"] * 4, *"keeper")
        await wait_for(pilot, lambda: shown_names(app) == ["slow-lr"])     # a label matches too


@async_test
async def test_a_filter_matching_nothing_keeps_the_columns_and_clearing_keeps_the_cursor_column(  # noqa: F811
        repo: Path) -> None:
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        table = app.main.table
        for _ in range(8):                         # well to the right: the view has scrolled
            await pilot.press("l")
        column = table.cursor_column_id
        assert column is not None and table.scroll_x > 0
        before = [c.id for c in table.columns]
        await pilot.press("slash", *"f1 > 2")
        await wait_for(pilot, lambda: filter_count(app) == "0 of 2 match")
        assert shown_names(app) == [] and [c.id for c in table.columns] == before
        await pilot.press("escape")               # clears the filter
        await wait_for(pilot, lambda: len(shown_names(app)) == 2)
        await pilot.pause()
        assert table.cursor_column_id == column
        x0 = sum(table._eff_widths.get(c.id, 4) + 1 for c in table.scroll_columns[
            : table.cursor_column - len(table.fixed_columns)])
        avail = table.scrollable_content_region.width - table._fixed_width
        assert table.scroll_x <= x0 and x0 + table._eff_widths.get(column, 4) <= table.scroll_x + avail + 1


@async_test
async def test_s_on_a_new_column_replaces_the_sort_and_shift_s_adds_a_key(repo: Path) -> None:  # noqa: F811
    from tests.test_tui_app import move_to_column

    app = make_app(repo)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        table, main = app.main.table, app.main
        main.MESSAGE_SECONDS = 600.0
        await move_to_column(pilot, table, "metrics:metrics.yaml:f1")
        await pilot.press("s")
        assert main.view.sort == [("metrics:metrics.yaml:f1", False)] and main.message == "sorted by f1 ↑"
        await move_to_column(pilot, table, "metrics:metrics.yaml:recall")
        await pilot.press("s")                    # a new column: the sort is replaced, and the line says so
        assert main.view.sort == [("metrics:metrics.yaml:recall", False)]
        assert "replaced the previous sort; S adds a key" in main.message
        await move_to_column(pilot, table, "metrics:metrics.yaml:f1")
        await pilot.press("S")                    # shift+s: f1 becomes the second key
        assert main.view.sort == [("metrics:metrics.yaml:recall", False), ("metrics:metrics.yaml:f1", False)]
        assert main.message == "sorted by recall ↑, then f1 ↑"
        await pilot.press("S")                    # on a key already sorted: its direction flips in place
        assert main.view.sort == [("metrics:metrics.yaml:recall", False), ("metrics:metrics.yaml:f1", True)]
        header = str(main.query_one("#status-header").render())
        assert "sort recall ↑, f1 ↓" in header


@async_test
async def test_column_chooser_moves_with_j_k_and_shows_many_rows_at_80x24(repo: Path) -> None:  # noqa: F811
    from textual.widgets import SelectionList

    from exptui.tui.screens.columns import ColumnsScreen

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.pause()
        columns = app.screen.query_one(SelectionList)
        assert columns.size.height >= 10           # was 3 at 80x24
        start = columns.highlighted or 0
        await pilot.press("j", "j")
        assert columns.highlighted == start + 2
        await pilot.press("k")
        assert columns.highlighted == start + 1


@async_test
async def test_notes_show_as_a_column_once_an_experiment_has_one(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        table = app.main.table
        assert "note" not in [c.id for c in table.columns]       # no notes: no empty column
        deep = next(r for r in app.main.all_rows if r.name == "deep-trees")
        app.project.note(deep.ref or deep.name, "best so far [bold]x")
        app.main.action_refresh()
        await wait_for(pilot, lambda: "note" in [c.id for c in table.columns])
        row = next(r for r in table.rows if r.name == "deep-trees")
        column = next(c for c in table.columns if c.id == "note")
        assert app.main._cell(row, column)[0] == "best so far [bold]x"
