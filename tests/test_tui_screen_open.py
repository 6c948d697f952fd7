"""Opening screens (issue 11): `p` on the workspace row, a plot of one experiment, tabs built when first shown,
the cyclic collector held only while a screen opens, the covered dashboard footer, the memoised dimmed backdrop,
the sweep form validated once per open, and the stylesheet work done before the first `e` and `p`. Real app, real demo repo."""
from __future__ import annotations

import gc
import subprocess
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet
from textual.renderables.background_screen import BackgroundScreen
from textual.widgets import TabbedContent
from textual.widgets._footer import FooterKey

from exptui.tui.backdrop import TintedBackground
from exptui.tui.screen_warmup import ScreenWarmUp
from exptui.tui.screens.plots import NOTHING_TO_COMPARE, PlotScreen
from exptui.tui.screens.sweep import SweepScreen
from exptui.tui.stylesheets import APP_TCSS, SCREENS_TCSS
from exptui.tui.widgets.plot_view import PlotLegend, PlotView
from tests.test_tui_screens import (  # noqa: F401 - fixtures
    demo_template,
    make_app,
    repo,
    rows_by_name,
)
from tests.tui_support import async_test, wait_for

SIZE = (120, 36)


async def cursor_to(app, pilot, kind: str, name: str | None = None) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: app.reloads > 0)
    table = app.main.table
    row = next(r for r in table.rows if r.kind == kind and (name is None or r.name == name))
    table.move_cursor_to_key(row.key)
    await pilot.pause()


async def open_plots(app, pilot, kind: str) -> PlotScreen:  # type: ignore[no-untyped-def]
    """`p` on the first row of `kind`, once the plots screen has built its first tab and loaded its data."""
    await cursor_to(app, pilot, kind)
    await pilot.press("p")
    screen = app.screen
    assert isinstance(screen, PlotScreen)
    await wait_for(pilot, lambda: screen.built and screen.step_data is not None)
    return screen


@async_test
async def test_p_on_the_workspace_row_plots_its_baseline_family(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plots(app, pilot, "workspace")
        names = sorted(r.name for r in screen.rows if r.kind != "workspace")
        assert names == sorted(rows_by_name(app.project)), names   # main and its experiments
        assert any(r.kind == "workspace" for r in screen.rows)
        assert "vs" in screen.query_one("#scatter-plot", PlotView).render().plain


@async_test
async def test_one_experiment_says_there_is_nothing_to_compare(repo: Path) -> None:  # noqa: F811
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.split()
    for ref in refs:
        subprocess.run(["git", "update-ref", "-d", ref], cwd=repo, check=True)
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plots(app, pilot, "baseline")
        assert len(screen.rows) == 1
        legend = str(screen.query_one("#scatter-legend", PlotLegend).render())
        assert "1 experiment: nothing to compare yet" in legend
        assert screen.query_one("#scatter-plot", PlotView).render().plain == ""
        await pilot.press("3")
        await wait_for(pilot, lambda: screen.query("#parallel-axes"))
        await pilot.pause()
        assert NOTHING_TO_COMPARE in str(screen.query_one("#parallel-axes").render())


@async_test
async def test_plot_tabs_are_built_when_first_shown_and_the_collector_comes_back(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plots(app, pilot, "experiment")
        # only the first tab's widgets exist on open
        assert screen.query("#scatter-x") and not screen.query("#parallel-metric") and not screen.query("#steps-plot")
        await wait_for(pilot, lambda: not screen._opening.held)
        await wait_for(pilot, gc.isenabled)   # (the dashboard's own reloads pause it for a moment too)
        await pilot.press("3")
        assert screen.query_one(TabbedContent).active == "parallel"
        await wait_for(pilot, lambda: "parallel coordinates" in screen.query_one("#parallel-plot", PlotView)
                       .render().plain if screen.query("#parallel-plot") else False)
        await pilot.press("2")
        await wait_for(pilot, lambda: "train_logloss" in screen.query_one("#steps-plot", PlotView).render().plain
                       if screen.query("#steps-plot") else False)
        assert not screen.query("#steps-loading")


@async_test
async def test_a_screen_closed_while_loading_gives_the_collector_back(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        row = next(r for r in app.main.table.rows if r.kind == "experiment")
        screen = PlotScreen(app.project, [row])
        assert screen._opening.held and not gc.isenabled()   # held from the key press on
        await app.push_screen(screen)
        app.pop_screen()
        await wait_for(pilot, lambda: not screen.is_attached)
        assert not screen._opening.held
        await wait_for(pilot, gc.isenabled)


@async_test
async def test_the_covered_footer_keeps_the_dashboard_keys_and_comes_back_whole(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        footer = app.main.query_one("DashboardFooter")
        await wait_for(pilot, lambda: footer.query(FooterKey))
        before = [key.description for key in footer.query(FooterKey)]
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: getattr(app.screen, "loaded_width", None) is not None)
        await pilot.pause()
        assert [key.description for key in footer.query(FooterKey)] == before   # not rebuilt while covered
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        await pilot.pause()
        assert [key.description for key in footer.query(FooterKey)] == before


@async_test
async def test_the_sweep_form_is_validated_once_per_open(repo: Path) -> None:  # noqa: F811
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        calls: list[int] = []
        original = SweepScreen.revalidate

        def counting(self: SweepScreen) -> None:
            calls.append(1)
            original(self)

        SweepScreen.revalidate = counting   # type: ignore[method-assign]
        try:
            await pilot.press("e")
            screen = app.screen
            assert isinstance(screen, SweepScreen)
            await wait_for(pilot, lambda: screen.ready and not screen._opening.held)
            await pilot.pause()
            assert len(calls) == 1
            await pilot.press("9")           # a real change still validates
            await pilot.pause()
            assert len(calls) == 2 and screen.fields()[0].changed
        finally:
            SweepScreen.revalidate = original   # type: ignore[method-assign]


def test_the_memoised_backdrop_tints_exactly_as_textual_does() -> None:
    styles = [None, Style(), Style(color="red"), Style(bgcolor="#102030"), Style(color="#abcdef", bold=True,
              bgcolor="blue", link="https://example.invalid"), Style(meta={"@click": "x"})]
    segments = [Segment(f"t{i}", style) for i, style in enumerate(styles)] + [Segment("\x1b[0m", None, [(1,)])]
    for color in (Color(0, 0, 0, 0.6), Color(10, 20, 30, 0), Color(255, 255, 255, 0.25)):
        for _ in range(2):   # the second pass comes from the memo
            ours = list(TintedBackground.process_segments(segments, color))
            theirs = list(BackgroundScreen.process_segments(segments, color))
            assert ours == theirs


@async_test
async def test_a_filter_burst_clears_then_types_in_order(repo: Path) -> None:  # noqa: F811
    """tmux `send-keys C-u z z z q` in the filter bar: all keys reach the App in one read. The bar's editing keys
    (ctrl+u) ran only after bubbling up, behind the typed letters, so the filter came out empty."""
    from textual import events

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        await pilot.press("slash", "l", "o")
        bar = app.main.query_one("FilterBar")
        await wait_for(pilot, lambda: bar.input.value == "lo")
        for key in (events.Key("ctrl+u", None), *(events.Key(c, c) for c in "zzzq")):
            app.post_message(key)
        await wait_for(pilot, lambda: bar.input.value in ("zzzq", ""))
        await pilot.pause()
        assert bar.input.value == "zzzq"


def described(rules: list[RuleSet]) -> list[str]:
    """Rules as comparable text (a parsed layout has no equality; its repr names it)."""
    return [repr((rule.selector_set, sorted(rule.styles.get_rules().items()), rule.is_default_rules, rule.tie_breaker))
            for rule in rules]


def fresh_rules(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The App's stylesheet sources parsed from scratch, as Textual's own reparse would."""
    sheet = Stylesheet(variables=app.stylesheet._variables)
    for read_from, (css, is_defaults, tie_breaker, scope) in app.stylesheet.source.items():
        sheet.add_source(css, read_from=read_from, is_default_css=is_defaults, tie_breaker=tie_breaker, scope=scope)
    return described(sheet.rules)


@async_test
async def test_the_first_screen_pushed_reads_no_stylesheet_file(repo: Path) -> None:  # noqa: F811
    """screens.tcss is read with the App's own file, under the path the screens name: pushing one reads nothing
    (reading it re-parsed every source and restyled the dashboard on the first `e`, `p`, `d` or `Q`)."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        files = [path for path, name in app.stylesheet.source if path.endswith(".tcss")]
        assert files == [str(APP_TCSS), str(SCREENS_TCSS)]
        assert SweepScreen.CSS_PATH == PlotScreen.CSS_PATH == SCREENS_TCSS
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CompareScreen")
        await pilot.pause()
        assert [path for path, name in app.stylesheet.source if path.endswith(".tcss")] == files


@async_test
async def test_after_the_warm_up_e_and_p_add_no_stylesheet_source(repo: Path) -> None:  # noqa: F811
    """Once the dashboard is up, the sweep dialog's and the plots' DEFAULT_CSS is parsed ahead (exptui.tui.
    screen_warmup): opening them, every plot tab shown, finds every source there, and the App's rules are what a
    parse from scratch gives."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        await wait_for(pilot, lambda: app.screen_warm_up.done, "the warm-up adopted")
        sources = list(app.stylesheet.source)
        assert fresh_rules(app) == described(app.stylesheet.rules)
        await pilot.press("e")
        sweep = app.screen
        assert isinstance(sweep, SweepScreen)
        await wait_for(pilot, lambda: sweep.ready)
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        screen = await open_plots(app, pilot, "experiment")
        for tab, filled in (("2", "#steps-plot"), ("3", "#parallel-plot")):
            await pilot.press(tab)
            await wait_for(pilot, lambda filled=filled: screen.query(filled))
        await pilot.pause()
        assert list(app.stylesheet.source) == sources


@async_test
async def test_a_stale_warm_up_is_dropped(repo: Path) -> None:  # noqa: F811
    """Sources added or the theme's variables set while the worker parsed: the App keeps its own stylesheet."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        await wait_for(pilot, lambda: app.screen_warm_up.done)
        stylesheet = app.stylesheet
        rules, sources = stylesheet.rules, dict(stylesheet.source)
        warm = ScreenWarmUp()
        stale = Stylesheet(variables=stylesheet._variables)
        warm._adopt(app, stale, {**sources, ("x", "X.DEFAULT_CSS"): sources[next(iter(sources))]},
                    stylesheet._variables)
        warm._adopt(app, stale, sources, dict(stylesheet._variables))
        assert not warm.done and stylesheet.rules is rules and stylesheet.source == sources


@async_test
async def test_e_reopens_one_dialog_for_rows_of_the_same_params_with_each_rows_values(repo: Path) -> None:  # noqa: F811
    """The sweep dialog is kept after it closes and reopened for a row whose params have the same keys: what it
    shows is what a new dialog for that row would show (the row's values, options at their defaults, the row's
    discarded draft and only that), and keys typed at once after `e` land in its first field."""
    from textual.widgets import Input

    from dvc_compat.params import format_value
    from exptui.query.inert import inert
    from exptui.tui.widgets.choice_field import ChoiceField
    from tests.test_tui_screens import _dashboard_sweep, _field, _type

    def expected_texts(row) -> list[str]:  # type: ignore[no-untyped-def]
        return [inert(format_value(v)) for values in row.params.values() for v in values.values()]

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        first = await _dashboard_sweep(app, pilot, "main")
        main_row = first.row
        await _type(pilot, first, "train.max_depth", "3,7")
        first.query_one("#sweep-seed", Input).value = "11"
        first.query_one("#sweep-search", ChoiceField).value = "tpe"
        await pilot.pause()
        await pilot.press("escape")                  # filled: kept as main's draft
        await wait_for(pilot, lambda: app.screen is app.main)

        other = await _dashboard_sweep(app, pilot, "deep-trees")
        assert other is first and SweepScreen.form_shape(other.row) == SweepScreen.form_shape(main_row)
        assert other.row.name == "deep-trees" and "deep-trees" in str(other.query_one("#sweep-title").render())
        assert [f.text for f in other.fields()] == expected_texts(other.row)
        assert not other.restored and not other.is_filled() and not other.query(".-changed")
        assert other.query_one("#sweep-search", ChoiceField).value == "off"
        assert other.query_one("#sweep-seed", Input).value == ""
        assert other.problem is not None and other.trial_count == 0       # nothing changed yet
        assert app.focused is other.fields()[0].query_one(Input)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)

        again = await _dashboard_sweep(app, pilot, "main")                  # main's draft comes back
        assert again is first and again.restored
        assert _field(again, "train.max_depth").text == "3,7" and again.query_one("#sweep-seed", Input).value == "11"
        assert again.trial_count == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)

        # a burst typed with `e` goes to the reopened dialog's fields, focus moves included
        app.main.table.move_cursor_to_key(next(r.key for r in app.main.table.rows if r.name == "deep-trees"))
        await pilot.press("e", "tab", "5")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        burst = app.screen
        assert burst is first
        await wait_for(pilot, lambda: burst.fields()[1].text == "5")    # Tab selects the field's text, as on a
        assert app.focused is burst.fields()[1].query_one(Input)          # first open
        assert [f.key for f in burst.fields() if f.changed] == [burst.fields()[1].key]


@async_test
async def test_after_the_warm_up_a_dialog_still_dims_the_dashboard_behind_it(repo: Path) -> None:  # noqa: F811
    """The warm-up parses `Screen`'s DEFAULT_CSS with the tie breaker a dialog's mount gives it (lower than under
    the dashboard), as `add_source` would: adopted with the dashboard's, `Screen`'s opaque background beat
    `ModalScreen`'s translucent one, and the help (and every confirmation) showed a blank backdrop, no dashboard.
    A dialog opened after the warm-up is translucent, and the App's rules are still a fresh parse of its sources."""
    from exptui.tui.screens.confirm import ChoiceScreen
    from exptui.tui.screens.help import HelpScreen

    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await cursor_to(app, pilot, "experiment")
        await wait_for(pilot, lambda: app.screen_warm_up.done, "the warm-up adopted")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        assert app.screen.styles.background.a < 1
        assert fresh_rules(app) == described(app.stylesheet.rules)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        app.push_screen(ChoiceScreen("Remove?", "Remove lr-1?", [("yes", "Remove"), ("no", "Keep")]))
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.pause()
        assert app.screen.styles.background.a < 1
