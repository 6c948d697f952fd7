"""Make the first `e` and `p` of a session cost what the later ones cost, once the dashboard is up.

A screen opened for the first time in a process paid for things a second open finds done (1,000 rows, cProfile
of the first `e` against the second): importing its modules (the dialog's `Select`, since replaced by
`ChoiceField`, `DataTable`, the plots' tabs and `Select`s, plotext) and, above all, Textual's stylesheet work. The first mount of a widget class adds its DEFAULT_CSS
to the App's stylesheet, and the next style pass re-parses *every* source, not only the new one: the parse cache
holds 64 parsed sources and the App has ~150 (its own CSS and every widget's DEFAULT_CSS), so `Select`'s arrival
re-parsed all of them (~0.1 s of CPU under the profiler, in the key's own frame).

`ScreenWarmUp.start`, called once after the first complete listing reached the table, does that work ahead, off the
UI thread where it can: a thread worker imports the modules and parses the stylesheet (the App's sources plus the
DEFAULT_CSS of the classes `e` and `p` mount) into a private `Stylesheet` and builds its selector map; back on the
UI thread the App's stylesheet takes its sources, rules and map (what Textual's own `Stylesheet.reparse` does with
a fresh sheet), so mounting those classes later adds no source and parses nothing. If the App's sources or the
theme's variables changed meanwhile, the parsed sheet is stale and dropped: the screens then parse as before.

Textual has no public call for either step (a class's default CSS, swapping a stylesheet's rules): this module is the
one place that reaches for them, and `tests/test_tui_screen_open.py` checks that opening `e` and `p` after the
warm-up adds no stylesheet source (a Textual upgrade that changes the widgets' classes fails there, not silently).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.css.stylesheet import CssSource, Stylesheet
from textual.dom import DOMNode

from exptui.tui.alive import alive
from exptui.tui.plots_ahead import PlotsAhead

if TYPE_CHECKING:  # pragma: no cover
    from exptui.records import ExperimentRow

DELAY = 1.0   # seconds after the first complete listing: after its paint, before anyone reaches for `e`
GROUP = "screen-warm-up"

CssLocation = tuple[str, str]


def _screen_classes() -> list[type[DOMNode]]:
    """The DOM classes `e` (sweep dialog) and `p` (plots, every tab) mount that the dashboard does not; their
    bases' DEFAULT_CSS comes with them (importing these modules is part of the warm-up)."""
    from textual.containers import Container, Horizontal, Vertical, VerticalScroll
    from textual.widgets import ContentSwitcher, Label, Select, Static, TabbedContent, TabPane, Tabs
    from textual.widgets._select import SelectCurrent, SelectOverlay
    from textual.widgets._tabbed_content import ContentTab, ContentTabs
    from textual.widgets._tabs import Tab, Underline

    from exptui.tui.screens.plots import PlotScreen, PlotTabs
    from exptui.tui.screens.sweep import SweepScreen
    from exptui.tui.widgets.burst_input import BurstInput
    from exptui.tui.widgets.key_line import KeyLine
    from exptui.tui.widgets.plot_view import PlotLegend, PlotView
    from exptui.tui.widgets.sweep_form import SweepField
    from exptui.tui.widgets.sweep_preview import SweepPreview
    from exptui.tui.widgets.unmounted_styles import FormButton, FormInput

    # the plots' axis dropdowns are stock `Select`s (with their current-value row and overlay); the sweep dialog's
    # choices are `ChoiceField`s, which have no DEFAULT_CSS of their own
    return [SweepScreen, Vertical, Horizontal, VerticalScroll, Label, Static, SweepField, BurstInput, FormInput,
            FormButton, SweepPreview,
            PlotScreen, PlotTabs, TabbedContent, ContentTabs, ContentTab, Tabs, Tab, Underline, ContentSwitcher,
            TabPane, Container, Select, SelectCurrent, SelectOverlay, PlotView, PlotLegend, KeyLine]


def default_css(node_class: type[DOMNode]) -> list[tuple[CssLocation, str, int, str]]:
    """(location, css, tie breaker, scope) per DEFAULT_CSS of the class and its bases: what Textual's
    `DOMNode._get_default_css` gives for an instance, which mounting one adds to the App's stylesheet."""
    sources: list[tuple[CssLocation, str, int, str]] = []
    for tie_breaker, base in enumerate(node_class._css_bases(node_class)):
        css: str = base.__dict__.get("DEFAULT_CSS", "")
        if css:
            try:
                location = (inspect.getfile(base), f"{base.__name__}.DEFAULT_CSS")
            except (TypeError, OSError):
                location = ("", f"{base.__name__}.DEFAULT_CSS")
            scoped: bool = base.__dict__.get("SCOPED_CSS", True)
            sources.append((location, css, -tie_breaker, base._css_type_name if scoped else ""))
    return sources


def _prepare(sources: dict[CssLocation, CssSource], variables: dict[str, str]) -> Stylesheet:
    """In the worker: import the screens' modules and plotext, parse the App's sources and the screens' DEFAULT_CSS
    into a private stylesheet, which the App's takes on the UI thread."""
    from exptui.tui.widgets.plot_render import import_plotext

    import_plotext()
    new: dict[CssLocation, tuple[CssLocation, str, int, str]] = {}
    lowered: dict[CssLocation, int] = {}
    for node_class in _screen_classes():
        for source in default_css(node_class):
            location, _css, tie_breaker, _scope = source
            if location in sources:
                # a base's CSS reached again through a deeper class gets the lower tie breaker, as `add_source`
                # gives it when a screen mounts: `Screen` is -1 under the dashboard but -3 under a dialog, so that
                # `ModalScreen`'s translucent background (-2) wins over Screen's opaque one. Parsed with -1, every
                # dialog without a rule of its own (help, confirmations) lost its dimmed dashboard once adopted.
                if sources[location].tie_breaker > tie_breaker:
                    lowered[location] = min(tie_breaker, lowered.get(location, tie_breaker))
                continue
            known = new.get(location)
            # a base's CSS reached through several classes keeps the lowest tie breaker, as `add_source` does
            if known is None or known[2] > tie_breaker:
                new[location] = source
    sheet = Stylesheet(variables=variables)
    for read_from, (css, is_defaults, tie_breaker, scope) in sources.items():
        sheet.add_source(css, read_from=read_from, is_default_css=is_defaults,
                         tie_breaker=lowered.get(read_from, tie_breaker), scope=scope)
    for read_from, css, tie_breaker, scope in new.values():
        sheet.add_source(css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker, scope=scope)
    sheet.parse()
    sheet.rules_map   # noqa: B018 - built here, off the UI thread (a property that builds and keeps the map)
    return sheet


@dataclass
class ScreenWarmUp:
    """One App's warm-up: `start` after the first complete listing (later calls do nothing); `done` once the App's
    stylesheet took the parsed rules (tests wait on it); `plots` holds the cursor row's plots files read ahead."""

    started: bool = False
    done: bool = False
    plots: PlotsAhead = field(default_factory=PlotsAhead)

    def start(self, app: App[Any], delay: float = DELAY) -> None:
        """Warm `e` and `p` up `delay` seconds from now, in a thread worker."""
        if self.started:
            return
        self.started = True
        app.set_timer(delay, lambda: self.run(app))

    def run(self, app: App[Any]) -> None:
        sources = dict(app.stylesheet.source)        # a snapshot: only the UI thread adds sources
        variables = app.stylesheet._variables
        chosen = self._chosen_rows(app)

        def work() -> None:
            try:
                sheet = _prepare(sources, variables)
            except Exception:  # noqa: BLE001 - a warm-up that fails changes nothing: the screens parse as before
                return
            try:
                app.call_from_thread(self._adopt, app, sheet, sources, variables)
            except RuntimeError:   # the app closed meanwhile
                return
            self._read_plots(app, chosen)

        app.run_worker(work, thread=True, group=GROUP, exclusive=True, exit_on_error=False)

    @staticmethod
    def _chosen_rows(app: App[Any]) -> list[ExperimentRow]:
        """The rows `p` would plot now (the cursor row or the marked ones), read on the UI thread."""
        try:   # `app.main` raises KeyError once the dashboard screen is uninstalled (the app closing meanwhile)
            main = getattr(app, "main", None)
        except KeyError:
            return []
        if main is None or not alive(main):   # closing: its table's widgets are being removed
            return []
        table = getattr(main, "table", None)
        try:
            return list(table.selected_rows()) if table is not None else []
        except Exception:  # noqa: BLE001 - no table yet, no rows: nothing is read ahead
            return []

    def _read_plots(self, app: App[Any], chosen: list[ExperimentRow]) -> None:
        """In the worker: the plots files of the rows the plots screen would show for `chosen` (plots_ahead.py)."""
        project = getattr(app, "project", None)
        if project is None or not chosen:
            return
        from exptui.tui.screens.plots import PlotScreen

        try:
            rows = PlotScreen.plot_rows(project, chosen)
        except Exception:  # noqa: BLE001 - a warm-up that fails changes nothing: `p` reads its files itself
            return
        self.plots.read(project, rows)

    def _adopt(self, app: App[Any], sheet: Stylesheet, sources: dict[CssLocation, CssSource],
               variables: dict[str, str]) -> None:
        """On the UI thread: the App's stylesheet takes the parsed sheet (sources, rules, selector map), as Textual's
        own `Stylesheet.reparse` takes a fresh sheet's, unless it changed meanwhile (a source added, the theme's
        variables set): then the parsed sheet is stale, and `e` and `p` parse as they did before."""
        stylesheet = app.stylesheet
        if stylesheet._variables is not variables or stylesheet.source != sources:
            return
        stylesheet.source = sheet.source
        stylesheet._rules = sheet.rules
        stylesheet._rules_map = sheet.rules_map
        stylesheet._require_parse = False
        self.done = True
