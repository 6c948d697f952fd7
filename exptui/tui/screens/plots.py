"""Plots of the chosen experiments in the terminal: metric vs param, curves over steps, parallel coordinates."""
from __future__ import annotations


from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.await_remove import AwaitRemove
from textual.widget import Widget
from textual.widgets import Label, Select, Static, TabbedContent, TabPane, Tabs

from exptui.project import LiveMetrics, Project
from exptui.query.live_series import LIVE_PLOT_PATH
from exptui.records import ExperimentRow
from exptui.tui.opening import OpeningHold
from exptui.tui.plots_ahead import PlotsAhead
from exptui.tui.text import plain
from exptui.query.plots import (
    PlotSubset,
    all_keys,
    best_subset,
    flat_values,
    curve_columns,
    curve_of,
    metric_vs_param,
    numeric_keys,
    parallel_coordinates,
)
from exptui.query.step_data import StepData, load_step_data
from exptui.tui.widgets.plot_render import (
    draw_curves,
    draw_parallel,
    draw_scatter,
    has_mean_line,
    import_plotext,
    overlaps,
)
from exptui.tui.widgets.key_line import KeyLine
from exptui.tui.widgets.plot_view import PlotLegend, PlotView
from exptui.tui.stylesheets import SCREENS_TCSS


def lower_is_better(metric: str) -> bool:
    """The metric's direction, by the query layer's naming rules (loss, error, rmse... are lower-is-better)."""
    from exptui.query.direction import name_direction

    return name_direction(metric.rsplit(":", 1)[-1]) == "lower"


#: more experiments than this are cut to the best ones (`a` shows all): 7 colours x 7 markers stay distinct, and
#: drawing, the legend and reading every experiment's plots files grow with each one (10,000 took 7 s to open)
MAX_SERIES = 49
NOTHING_TO_COMPARE = ("1 experiment: nothing to compare yet (queue a sweep with e, or run one; its curves over "
                      "steps are on tab 2)")


def failure(error: BaseException) -> str:
    """One line for an error of the plots' reading: its message, or its kind when it has none."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


class PlotScreen(Screen[None]):
    """Three plot tabs over the given experiments; `1`/`2`/`3` switch, `a` all/best experiments, `esc` goes back."""

    CSS_PATH = SCREENS_TCSS   # the App read it at start-up (same path): pushing the screen re-parses nothing

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        # priority: a focused axis dropdown (which searches as you type) must not swallow the tab keys
        Binding("1", "tab('scatter')", "Metric vs param", priority=True),
        Binding("2", "tab('steps')", "Over steps", priority=True),
        Binding("3", "tab('parallel')", "Parallel coords", priority=True),
        Binding("a", "toggle_all", "All/best"),
    ]

    def __init__(self, project: Project, rows: list[ExperimentRow],
                 live: dict[str, LiveMetrics] | None = None, show_all: bool = False) -> None:
        super().__init__()
        self._opening = OpeningHold()     # the cyclic collector waits until the plots are drawn (see opening.py)
        self.project = project
        self.chosen = list(rows)          # what the dashboard handed over (cursor or marked rows)
        self.show_all = show_all
        self.subset: PlotSubset = self._subset(project, rows, show_all)
        self.rows = self.subset.rows
        self.step_data: StepData | None = None
        self.steps_error: str | None = None   # why the plots files could not be read (then step_data is empty)
        self.live: dict[str, LiveMetrics] = dict(live or {})   # of the running rows, by row key (app's poller)
        self._shown_options: list[tuple[str, str]] = []          # what the series select offers now
        self.built = False        # the tabs are mounted (after the key lists were read in a worker)
        self._pending_tab: str | None = None   # a tab key pressed before they were
        self._generation = 0      # bumped by `reopen`: data read for an earlier open is dropped when it arrives
        self.sub_title = f"{len(self.rows)} of {self.subset.total} experiments"   # no names: never markup

    @classmethod
    def plot_rows(cls, project: Project, rows: list[ExperimentRow]) -> list[ExperimentRow]:
        """The rows a new screen over `rows` plots (the best ones): what the warm-up reads the plots files of."""
        return cls._subset(project, rows, False).rows

    @classmethod
    def _subset(cls, project: Project, rows: list[ExperimentRow], show_all: bool) -> PlotSubset:
        family = [r for r in cls._widen(project, rows) if r.params or r.metrics]
        # the chosen rows stay in (the cursor row among its baseline's experiments) unless they are too many
        pinned = rows if len(rows) < MAX_SERIES else []
        return best_subset(family, len(family) if show_all else MAX_SERIES, pinned=pinned)

    def _keys(self, rows: list[ExperimentRow]) -> tuple[list[str], list[str]]:
        """The params (those that differ first) and the numeric metrics of `rows`: the dropdowns' choices."""
        params = all_keys(rows, "params")
        params.sort(key=lambda p: not self._varies(p, rows))
        return params, numeric_keys(rows, "metrics")

    def reopen(self, rows: list[ExperimentRow], live: dict[str, LiveMetrics] | None = None) -> bool:
        """Show the plots of `rows` (best ones, as a new screen would) in the tabs already mounted, when the rows
        have the same dropdown choices as those the tabs offer; False (nothing changed) when they have not.

        Composing, styling and mounting the screen's ~40 widgets was most of a first open; a kept screen that is
        pushed again only lays out and paints. The keys are read here, on the UI thread: without `a` the rows
        are at most `MAX_SERIES`, a few ms. The tabs that were filled on the last open (steps, parallel) are
        emptied and filled again when shown, as on a new screen; the plots files are read in a worker."""
        tabs = self.query(PlotTabs)
        if not self.built or self.show_all or not tabs:
            return False
        subset = self._subset(self.project, rows, False)
        params, metrics = self._keys(subset.rows)
        if (params, metrics) != (tabs.first().params, tabs.first().metrics):
            return False
        self._opening = OpeningHold()
        self._generation += 1
        self.chosen, self.subset, self.rows = list(rows), subset, subset.rows
        self.live = dict(live or {})
        self.step_data = None
        self._shown_options = []
        self._pending_tab = None
        self.sub_title = f"{len(self.rows)} of {self.subset.total} experiments"
        self.query_one(".screen-title", Label).update(plain(f"Plots · {self._count_text()}"))
        tabs.first().reset()
        self._draw_scatter()
        self._load_steps(self._generation)
        return True

    def on_screen_suspend(self) -> None:
        self._opening.release()   # a kept screen is not unmounted when closed
    @staticmethod
    def _widen(project: Project, rows: list[ExperimentRow]) -> list[ExperimentRow]:
        """One row alone makes no plot: use its baseline and every experiment of that baseline instead
        (from the Project's last listing: no git call on the UI thread). The workspace row stands for its
        baseline's family too, and stays in (its plots files are read from disk)."""
        if len(rows) != 1 or (rows[0].kind not in ("baseline", "experiment", "workspace")
                              and rows[0].status != "running"):
            return rows
        try:
            listing = project.experiments(refresh=False)
        except Exception:  # noqa: BLE001 - without a listing, plot the one row
            return rows
        # a sweep's running trials too: their curves are drawn live next to the finished ones
        family = [r for r in listing if r.baseline == rows[0].baseline
                  and (r.kind in ("baseline", "experiment") or r.status == "running")]
        if rows[0].kind == "workspace":
            family = [rows[0], *family]
        return family if len(family) > 1 else rows

    def _count_text(self) -> str:
        """`1001 experiments`, or `best 49 of 1001 by f1 (a: all)` when the plots leave some out."""
        subset = self.subset
        if subset.partial:
            by = f" by {subset.metric}" if subset.metric else ""
            return f"best {len(subset.rows)} of {subset.total} experiments{by} (a: all)"
        many = self.show_all and subset.total > MAX_SERIES
        return f"{subset.total} experiments" + (" (a: best only)" if many else "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`a` (all/best) only where some experiments are left out or were brought back: no footer noise else."""
        if action == "toggle_all":
            return self.subset.partial or self.show_all
        return True

    def action_toggle_all(self) -> None:
        """All experiments of the plot, or back to the best ones (a new screen over the same chosen rows)."""
        self.app.switch_screen(PlotScreen(self.project, self.chosen, self.live, show_all=not self.show_all))

    def compose(self) -> ComposeResult:
        yield Label(plain(f"Plots · {self._count_text()}"), classes="screen-title")
        # the tabs (three dropdowns, three plots) are built once the key lists are ready: the screen shows at once
        yield Static("loading plots…", id="plots-loading", markup=False)
        # one widget with the keys in the first paint (Textual's Footer mounted a widget per key a refresh later)
        yield KeyLine()

    def on_mount(self) -> None:
        # the plots files the dashboard's warm-up read ahead by commit (plots_ahead.py), taken by the first worker
        warm_up = getattr(self.app, "screen_warm_up", None)
        self._ahead: PlotsAhead | None = getattr(warm_up, "plots", None)
        self._load_keys()

    def on_unmount(self) -> None:
        self._opening.release()

    @work(thread=True, exclusive=True, group="plot-keys", exit_on_error=False)
    def _load_keys(self) -> None:
        """The params (those that differ first) and numeric metrics of the rows, off the UI thread; plotext is
        imported here too, so the first plot's paint does not (0.1-0.2 s on a first open)."""
        try:
            import_plotext()
            params, metrics = self._keys(self.rows)
        except Exception as error:  # noqa: BLE001 - said in the screen; the app goes on
            self.call_later(self._keys_failed, failure(error))
            return
        # posted, not `call_from_thread` (which waits for the busy UI thread): the plots files are read next, in
        # this thread while the UI thread mounts the tabs. Read after they were mounted, as before, the reading
        # (git round trips for 49 commits on a first open) started ~30 ms later
        self.call_later(self._build, params, metrics)     # post_message, which call_later uses, is thread-safe
        self._read_steps(0, self._ahead)

    @work(thread=True, exclusive=True, group="plot-steps", exit_on_error=False)
    def _load_steps(self, generation: int) -> None:
        """The plots files of a reopen's rows (see `reopen`)."""
        self._read_steps(generation, None)

    def _read_steps(self, generation: int, ahead: PlotsAhead | None) -> None:
        """In a worker: the rows' plots files (the commits the warm-up read ahead taken from `ahead`), posted to
        `_steps_loaded`; a failure is posted as its reason, with no data (live curves still come)."""
        rows = self.rows
        try:
            known = ahead.take() if ahead is not None else None
            data = load_step_data(self.project, rows, known=known)
        except Exception as error:  # noqa: BLE001 - said in the tab; the app goes on
            self.call_later(self._steps_loaded, StepData(), generation, failure(error))
            return
        self.call_later(self._steps_loaded, data, generation)

    def _keys_failed(self, reason: str) -> None:
        """The key lists could not be read: the loading line says why (no tabs), and the collector is let go."""
        if self.is_attached and self.query("#plots-loading"):
            self.query_one("#plots-loading", Static).update(plain(f"could not read plots: {reason}"))
        self._opening.release()

    async def _build(self, params: list[str], metrics: list[str]) -> None:
        if not self.is_attached:
            return
        await self.mount(PlotTabs(params, metrics), after=self.query_one("#plots-loading"))
        await self.query_one("#plots-loading").remove()
        if not self.is_attached:        # closed while the tabs were being mounted
            return
        self.built = True
        self._draw_scatter()
        if self.step_data is not None:     # read before the tabs were up: loaded now
            self.call_after_refresh(self._opening.release)
        if self._pending_tab is not None:
            self.action_tab(self._pending_tab)

    @on(TabbedContent.TabActivated)
    async def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        """A tab's dropdown and plot are built the first time it is shown (only the first tab is built on open)."""
        tabs = self.query_one(PlotTabs)
        pane = event.pane.id or ""
        if not await tabs.fill(pane):
            return
        if pane == "parallel":
            self._draw_parallel()
        elif pane == "steps" and self.step_data is not None:
            self._show_steps(self.step_data)

    def action_tab(self, tab: str) -> None:
        """Switch tabs. Focus goes to the tab bar first: a dropdown left focused on the old tab would, once hidden,
        hand focus to a widget of that tab, and TabbedContent follows focus back there (the key seemed dead).
        Pressed while the tabs are still being built, the choice is kept and applied once they are."""
        if not self.built:
            self._pending_tab = tab
            return
        tabbed = self.query_one(TabbedContent)
        tabbed.query_one(Tabs).focus()
        tabbed.active = tab

    # -- metric vs param -------------------------------------------------------------------------

    @on(Select.Changed, "#scatter-x, #scatter-y")
    def _draw_scatter(self) -> None:
        if not self.query("#scatter-x"):   # closed (unmounting) before the tabs were there
            return
        x, y = self.query_one("#scatter-x", Select).value, self.query_one("#scatter-y", Select).value
        view, legend = self.query_one("#scatter-plot", PlotView), self.query_one("#scatter-legend", PlotLegend)
        if len(self.rows) == 1:   # one point is no comparison: say so instead of an almost empty chart
            view.set_draw(None)
            legend.update(NOTHING_TO_COMPARE)
            return
        if not isinstance(x, str) or not isinstance(y, str):
            view.set_draw(None)
            legend.update("no params or metrics to plot")
            return
        series = metric_vs_param(self.rows, x, y)
        view.set_draw(draw_scatter(series, lower_is_better(y)))
        extra = [("──", "mean per x")] if has_mean_line(series) else []
        if overlaps(series):
            extra.append(("×n", "experiments on one point"))
        legend.show_names(series.names, series.indices, points=True, extra=extra)

    # -- parallel coordinates --------------------------------------------------------------------

    @on(Select.Changed, "#parallel-metric")
    def _draw_parallel(self) -> None:
        if not self.query("#parallel-metric"):   # the tab was never shown: drawn when it is
            return
        metric = self.query_one("#parallel-metric", Select).value
        view, axes_text = self.query_one("#parallel-plot", PlotView), self.query_one("#parallel-axes", Static)
        if len(self.rows) == 1:
            view.set_draw(None)
            axes_text.update(NOTHING_TO_COMPARE)
            return
        params = [p for p in all_keys(self.rows, "params") if self._varies(p)] or all_keys(self.rows, "params")
        if not isinstance(metric, str) or not params:
            view.set_draw(None)
            axes_text.update("needs at least one param and one numeric metric")
            return
        axes, lines = parallel_coordinates(self.rows, params, metric)
        view.set_draw(draw_parallel(axes, lines, lower_is_better(metric)))
        axes_text.update(plain("   ".join(axis.label() for axis in axes)))   # param names: text, never markup

    def _varies(self, key: str, rows: list[ExperimentRow] | None = None) -> bool:
        return len({repr(flat_values(r.params).get(key)) for r in (self.rows if rows is None else rows)}) > 1

    # -- curves over steps -------------------------------------------------------------------------

    def _steps_loaded(self, data: StepData, generation: int, error: str | None = None) -> None:
        if not self.is_attached or generation != self._generation:   # closed, or reopened for other rows
            return
        self.step_data = data
        self.steps_error = error
        for index, row in enumerate(self.rows):
            if row.status == "running" and row.key in self.live:
                data.set_live(index, self.live[row.key].series)
        if self.built:                  # else `_build` releases the collector once the tabs are up
            self.call_after_refresh(self._opening.release)
        if self.query("#steps-loading"):   # the tab was shown already: fill it now, else when it is shown
            self._show_steps(data)

    def _show_steps(self, data: StepData) -> None:
        placeholder = self.query_one("#steps-loading", Label)
        options = data.options(live_first=self._any_running())
        if not options and self.steps_error is not None:
            placeholder.update(plain(f"could not read plots: {self.steps_error}"))   # the reason: text, not markup
            return
        if not options:
            placeholder.update("no plots files declared in dvc.yaml")
            self.query_one("#steps-legend", PlotLegend).update(
                "Stages that write per-step data (declared under `plots:` in dvc.yaml) show up here."
            )
            return
        self._mount_series(options)

    def _mount_series(self, options: list[tuple[str, str]]) -> None:
        """Replace the loading line with the series select (once the per-step files were read)."""
        placeholder = self.query_one("#steps-loading", Label)
        self._shown_options = options
        select: Select[str] = Select([(plain(label), value) for label, value in options], value=options[0][1],
                                     allow_blank=False, id="steps-series")
        placeholder.parent.mount(select, after=placeholder)   # type: ignore[union-attr]
        placeholder.remove()

    def _any_running(self) -> bool:
        return any(r.status == "running" for r in self.rows)

    def set_live(self, live: dict[str, LiveMetrics]) -> None:
        """New DVCLive values of running trials (from the app's poller): their curves move, the rest stay."""
        self.live = dict(live)
        data = self.step_data
        if data is None:   # still loading: `_steps_loaded` applies `self.live`
            return
        changed = False
        for index, row in enumerate(self.rows):
            if row.status == "running" and row.key in live:
                data.set_live(index, live[row.key].series)
                changed = True
        if not changed:
            return
        options = data.options(live_first=True)
        if not self.query("#steps-series"):   # nothing was plottable before: the select comes now
            if options and self.query("#steps-loading"):
                self._mount_series(options)
            return
        select = self.query_one("#steps-series", Select)
        current = select.value
        if [v for _, v in options] != [v for _, v in self._shown_options]:
            self._shown_options = options
            select.set_options([(plain(label), value) for label, value in options])
            values = [v for _, v in options]
            select.value = current if isinstance(current, str) and current in values else values[0]
        if isinstance(select.value, str) and select.value.startswith(LIVE_PLOT_PATH + "\t"):
            self._draw_steps()

    def _steps_title(self, path: str, column: str) -> str:
        """dvc.yaml's `title:` for the file when it declares one: `Log loss per training step · test_logloss`."""
        title = self.step_data.titles.get(path) if self.step_data else None
        return f"{title} · {column}" if title else f"{column} ({path})"

    @on(Select.Changed, "#steps-series")
    def _draw_steps(self) -> None:
        value = self.query_one("#steps-series", Select).value
        if self.step_data is None or not isinstance(value, str):
            return
        path, column = value.split("\t", 1)
        x_hint = self.step_data.x_hints.get(path)
        curves = []
        for index, records in self.step_data.files.get(path, []):
            x, _ = curve_columns(records, x_hint)
            curves.append(curve_of(self.rows[index].name, index, records, x, column))
        x_label = curve_columns(self.step_data.files[path][0][1], x_hint)[0] or "row"
        self.query_one("#steps-plot", PlotView).set_draw(draw_curves(curves, self._steps_title(path, column), x_label))
        drawn = [c for c in curves if c.xs]
        self.query_one("#steps-legend", PlotLegend).show_names([c.name for c in drawn], [c.index for c in drawn])


class PlotTabs(Widget):
    """The three plot tabs with their dropdowns, for the given param and metric keys.

    Only the first tab's dropdowns and plot are composed; the others are filled the first time they are shown
    (`fill`). Each `Select` is four widgets plus an overlay list, and a hidden tab's widgets are styled and laid
    out all the same: building all three tabs was about half of the screen's widget work when `p` opened.
    """

    DEFAULT_CSS = """
    PlotTabs { height: 1fr; }
    """

    def __init__(self, params: list[str], metrics: list[str]) -> None:
        super().__init__()
        self.params = params
        self.metrics = metrics
        self.filled = {"scatter"}
        self._emptying: dict[str, AwaitRemove] = {}

    def _metric_select(self, id: str) -> Select[str]:
        metrics = self.metrics
        return Select([(plain(m), m) for m in metrics], value=metrics[0] if metrics else Select.NULL,
                      allow_blank=not metrics, id=id, prompt="metric")

    def compose(self) -> ComposeResult:
        params = self.params
        with TabbedContent(initial="scatter"):
            with TabPane("Metric vs param", id="scatter"):
                with Horizontal(classes="plot-controls"):
                    yield Label("x", classes="control-label")
                    yield Select([(plain(p), p) for p in params], value=params[0] if params else Select.NULL,
                                 allow_blank=not params, id="scatter-x", prompt="param")
                    yield Label("y", classes="control-label")
                    yield self._metric_select("scatter-y")
                yield PlotView(id="scatter-plot")
                yield PlotLegend(id="scatter-legend")
            yield TabPane("Over steps", id="steps")
            yield TabPane("Parallel coordinates", id="parallel")

    def _pane(self, pane: str) -> list[Widget]:
        if pane == "steps":
            return [
                Horizontal(
                    Label("series", classes="control-label"),
                    # a placeholder: the real dropdown replaces it once the files are read (no stale blank choice)
                    Label("loading plots files…", id="steps-loading", classes="control-label"),
                    classes="plot-controls"),
                PlotView(id="steps-plot"),
                PlotLegend(id="steps-legend"),
            ]
        return [
            Horizontal(Label("colour by", classes="control-label"), self._metric_select("parallel-metric"),
                       classes="plot-controls"),
            PlotView(id="parallel-plot"),
            Static(id="parallel-axes", classes="plot-axes", markup=False),
        ]

    def reset(self) -> None:
        """Back to what a new screen shows: the first tab, focused, its dropdowns at their first choices; the
        other tabs emptied (filled again for the new rows when first shown)."""
        tabbed = self.query_one(TabbedContent)
        tabbed.active = "scatter"
        tabbed.query_one(Tabs).focus()
        for pane in ("steps", "parallel"):
            if pane in self.filled:
                self.filled.discard(pane)
                self._emptying[pane] = self.query_one(f"#{pane}", TabPane).remove_children()
        if self.params:
            self.query_one("#scatter-x", Select).value = self.params[0]
        if self.metrics:
            self.query_one("#scatter-y", Select).value = self.metrics[0]

    async def fill(self, pane: str) -> bool:
        """Build `pane`'s widgets if it has none yet; True when it did."""
        if pane in self.filled or pane not in ("steps", "parallel"):
            return False
        self.filled.add(pane)
        emptying = self._emptying.pop(pane, None)
        if emptying is not None:         # a reopen's removal of the last rows' widgets (same ids) ends first
            await emptying
        await self.query_one(f"#{pane}", TabPane).mount_all(self._pane(pane))
        return True
