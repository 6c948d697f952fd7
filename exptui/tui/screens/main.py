"""The dashboard: header, experiments table, filter bar, command line, footer.

Data flow: the app's poller hands over the full row list (`set_rows`); this screen keeps it and derives what is
shown through the query layer only - `exptui.query.filter` (the filter language), `exptui.query.sort` (within
baseline or leaderboard), `exptui.query.columns` (ids, labels), `exptui.query.format` (cell text) and
`exptui.query.direction` (better/worse colouring) - then hands rows and columns to the virtual table.
Row actions (apply, branch, remove, star, label, note) run in thread workers against the Project.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from collections.abc import Callable, Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from exptui.project import LiveMetrics, Project
from exptui.query.inert import INPUT_ALLOWED, inert
from exptui.records import ExperimentRow
from exptui.tui.alive import alive, while_alive
from exptui.tui.app_ref import exptui_app
from exptui.tui.bindings import MAIN_BINDINGS
from exptui.tui.live_columns import IDS as LIVE_IDS
from exptui.tui.live_columns import choose_metric, live_cell, live_columns, metric_keys
from exptui.tui.messages import ActionDone
from exptui.tui.sweep_draft import DraftSlot
from exptui.tui.text import assemble, lines, notify, plain
from exptui.tui.view_state import ViewState, save_view
from exptui.tui.widgets.command_line import Command, CommandError, CommandLine
from exptui.tui.widgets.dashboard_footer import DashboardFooter
from exptui.tui.widgets.experiment_table import ExperimentTable, TableColumn
from exptui.tui.widgets.filter_bar import FilterBar
from exptui.tui.widgets.problem_banner import ProblemBanner, workspace_problems
from exptui.tui.prepare import counts_of
from exptui.tui.widgets.status_header import StatusHeader
from exptui.tui.widgets.sweep_progress import SweepProgressLine

if TYPE_CHECKING:
    from exptui.query.direction import Directions
    from exptui.query.table import Engine, TableModel
    from exptui.query.columns import Column
    from exptui.tui.prepare import Prepared

FILTER_DEBOUNCE = 0.06   # seconds after the last keystroke before the filter runs
VIEW_SAVE_DELAY = 1.0    # seconds of quiet before the view state is written
#: while only the top of the first load is in, column widths are fitted to the first screenful of rows (at least
#: this many: the table's height is 0 before its first layout)
MEASURE_TOP_LOADING = 60
NOTE_WIDTH = 30          # cells of the Note column (longer notes end in …; compare and n show them whole)


class MainScreen(Screen[None]):
    """Experiments of one repo, grouped under their baselines, live."""

    BINDINGS: ClassVar[list[BindingType]] = [*MAIN_BINDINGS]
    #: the table has the focus from the start: Textual's default ("*") focused the filter input first, and moving
    #: it to the table (`on_mount`) restyled both once more, which could land after the first rows (a second render)
    AUTO_FOCUS: ClassVar[str | None] = "#experiments"
    #: from this many rows on, filter and sort run over a DataFrame (``TableModel(engine="frame")``: vectorised
    #: masks and one lexsort, 2x faster per keystroke at 10k rows, docs/performance.md) once pandas has been
    #: imported in the background; below it the row engine is as fast and pandas' import (0.5-1.9 s) is never paid
    FRAME_ENGINE_ROWS: ClassVar[int] = 5_000
    #: seconds a status-line message stays (tests shorten them)
    MESSAGE_SECONDS: ClassVar[float] = 4.0
    ERROR_SECONDS: ClassVar[float] = 8.0

    def __init__(self, project: Project, view: ViewState, repo_root: Path) -> None:
        super().__init__(id="main")
        self.project = project
        self.view = view
        self.repo_root = repo_root
        self.all_rows: list[ExperimentRow] = []
        self.shown_rows: Sequence[ExperimentRow] = []   # a `ShownRows` (positions into the frame) at scale
        from exptui.query.table import TableModel

        self.model = TableModel(fields=())
        self._compiled_filter: str | None = None
        self._filter_error = False
        self._shown_column_ids: list[str] = []
        self._filter_timer: Timer | None = None
        self._save_timer: Timer | None = None
        self._message_timer: Timer | None = None
        self._has_notes = False
        self._range_anchor: int | None = None
        self._getters: dict[str, tuple[Column, Callable[[ExperimentRow], Any]]] = {}
        self._baselines: dict[str, ExperimentRow] = {}
        self.loaded = False
        self.loading_total: int | None = None   # while only the top rows of the first load are shown: of how many
        self._pandas_ready = False
        self.branch = ""
        self._counts = {"total": 0, "shown": 0, "running": 0, "queued": 0, "failed": 0}
        self.sweep_drafts = DraftSlot()     # a sweep form closed unqueued comes back on the next `e`
        self.sweep_dialog: Any = None       # the last sweep dialog, kept mounted to be reopened (action_sweep)
        self.plot_screen: Any = None        # the last plots screen, kept mounted to be reopened (action_plots)
        self.live: dict[str, LiveMetrics] = {}   # DVCLive values of running rows, by row key (the app's poller)
        self.live_metric: str | None = None      # the metric of the live columns
        self.live_wanted: str | None = None      # ... as asked with `:live KEY`
        self._best: dict[str, set[str]] = {}        # metric column id -> keys of rows with the best value
        self._ranks: dict[str, int] = {}            # leaderboard rank per row key
        self._open_sweeps: set[str] = set()         # sweep ids seen unfinished: their end is announced
        self.stage_order: list[str] = []            # workspace pipeline stages, for a running row's "(i/n)"

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status-header")
        yield ProblemBanner(id="problem-banner")
        yield SweepProgressLine(id="sweep-progress")
        filter_bar = FilterBar(self._complete_filter, id="filter-bar")
        filter_bar.display = bool(self.view.filter)
        yield filter_bar
        yield ExperimentTable(self._cell, id="experiments")
        empty_hint = Static("", id="empty-hint", markup=False)
        empty_hint.display = False
        yield empty_hint
        command_line = CommandLine(placeholder=":sort f1 desc  ·  :filter …  ·  :keep regex  ·  :q", id="command-line",
                                   restrict=INPUT_ALLOWED)   # a pasted escape sequence is refused, never drawn
        command_line.display = False
        yield command_line
        message_line = Static("", id="message-line", markup=False)
        message_line.display = False
        yield message_line
        yield DashboardFooter(compact=True, show_command_palette=False)   # ^p is in the help; its room goes to Q and p

    def _compositor_refresh(self) -> None:
        """Textual renders the whole screen here (the layout's refresh calls it even while the app's updates are
        batched, and drops the result then). While the app holds its first paint for the first rows
        (`ExptuiApp._hold_first_paint`), the empty table is not rendered at all: a repaint is noted instead, done
        when the hold ends."""
        if getattr(self.app, "holding_first_paint", False):
            self._repaint_required = True
            return
        super()._compositor_refresh()

    @property
    def table(self) -> ExperimentTable:
        return self.query_one(ExperimentTable)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    def on_mount(self) -> None:
        self.table.grouped = not self.view.leaderboard
        self.table.focus()
        if self.view.filter:
            self.filter_bar.input.value = self.view.filter
        self._update_header()
        self._warm_frame_engine()
        self.set_interval(1.0, self._tick_sweeps)

    @work(thread=True, group="warm-up", exit_on_error=False)
    def _warm_frame_engine(self) -> None:
        """Import pandas off the UI thread, so the first keystroke on a large table never pays for it."""
        import exptui.query.frame  # noqa: F401 - imports pandas and numpy

        self.app.call_from_thread(self._frame_engine_ready)

    @while_alive   # handed over from the thread: the app may be closing by then
    def _frame_engine_ready(self) -> None:
        self._pandas_ready = True
        if self._choose_engine():
            self.refresh_view()

    def _choose_engine(self) -> bool:
        """The table model's engine for the current row count; True when it changed."""
        engine: Engine = "frame" if self._pandas_ready and len(self.all_rows) >= self.FRAME_ENGINE_ROWS else "rows"
        if self.model.engine == engine:
            return False
        self.model.engine = engine
        return True

    # ------------------------------------------------------------------ data
    def set_rows(self, rows: list[ExperimentRow], loading_total: int | None = None,
                 prepared: Prepared | None = None) -> None:
        """See `_set_rows`; the cyclic collector is paused meanwhile (columns, best cells, the model: many
        acyclic objects at once, see `exptui.query.gc_pause`)."""
        from exptui.query.gc_pause import gc_paused

        with gc_paused():
            self._set_rows(rows, loading_total, prepared)

    def _set_rows(self, rows: list[ExperimentRow], loading_total: int | None, prepared: Prepared | None) -> None:
        """Take a fresh full list from the project and re-derive the view; keyed, so nothing flickers.

        `loading_total`: `rows` are only the top of a first load whose listing has this many rows (the rest
        follow in another `set_rows`): shown at once, the header says "loading N of M…", and nothing that
        needs every row happens yet (the empty-repo hint, sweep progress and "sweep finished" notices).
        `prepared`: the model, frame, best cells and counts of these rows, built in the loading thread
        (`exptui.tui.prepare`): adopted as they are, so a reload at 100,000 rows costs the UI thread a redraw."""
        from exptui.query.columns import field_column

        if prepared is not None and prepared.rows is not rows:
            prepared = None
        self.all_rows = rows
        self.loaded = loading_total is None
        self.loading_total = loading_total
        # the top of a first load: widths from the rows of the first screenful (what is painted now); the whole
        # listing, a moment later, is measured as every reload is
        table = self.table
        table.measure_top = max(table.size.height, MEASURE_TOP_LOADING) if loading_total is not None else None
        old_ids = [c.id for c in self.model.columns]
        if prepared is not None:
            self.model = prepared.model     # the view state is pushed into it below (_sync_model)
            self._compiled_filter = None
        else:
            self.model.set_rows(rows)
            self._choose_engine()
        columns = self.model.columns
        if [c.id for c in columns] != old_ids or not self._getters:
            self._getters = {c.id: (c, c.getter())
                             for c in [*columns, field_column("created"), field_column("note")]}
            self._compiled_filter = None  # column names may now resolve differently
        if prepared is not None:
            self._baselines = prepared.baselines
            has_notes, workspace = prepared.has_notes, prepared.workspace
        else:
            self._baselines = {r.rev: r for r in rows if r.kind == "baseline"}
            has_notes = any(r.annotations.note for r in rows)
            workspace = next((r for r in rows if r.kind == "workspace"), None)
        if has_notes != self._has_notes:
            self._has_notes = has_notes
            self._shown_column_ids = []     # the layout changes: the Note column comes or goes
        self.query_one(ProblemBanner).show_problems(workspace_problems(workspace.errors) if workspace else [])
        if prepared is not None and prepared.directions == self.directions():
            self._best = prepared.best
            self._counts = {**prepared.counts, "shown": self._counts.get("shown", 0)}
            self.table.note_rows(prepared.changed)   # only these are new objects: the rest keep their lines
        else:
            self._update_best()
            self._count_all()
            self.table.note_rows(rows)      # new row objects: from here on a refresh only reorders known rows
        self.table.invalidate_lines()       # best cells and deltas of unchanged rows may have moved
        self.refresh_view(columns_changed=True)
        if self.loaded:
            self._update_sweeps(announce=True)

    # ------------------------------------------------------------------ sweeps and best values
    def _update_best(self) -> None:
        """Which cells hold the best value of their metric, per baseline and per sweep (on every reload, not per
        keystroke: it does not depend on the filter)."""
        from exptui.query.sweeps import best_cells

        frame = self.model.frame() if self.model.engine == "frame" else None   # its columns serve the filter too
        self._best = best_cells(self.all_rows, self.model.columns, self.directions(), frame=frame)
        self.table.invalidate_lines()

    def directions(self) -> Directions:
        """Which way is better per metric: by name, unless `:better` said otherwise (kept in the view state)."""
        from exptui.query.direction import DEFAULT_DIRECTIONS, Directions

        return Directions(dict(self.view.directions)) if self.view.directions else DEFAULT_DIRECTIONS

    def _workers(self) -> int:
        """Workers busy right now, as the table sees them: one running row each (the ETA's parallelism)."""
        return max(1, self._counts.get("running", 0))

    def _update_sweeps(self, announce: bool = False) -> None:
        """The progress line of unfinished sweeps; with `announce`, a notification for each sweep seen unfinished
        that has now finished, naming its best trial."""
        import time

        from exptui.query.sweeps import all_progress

        progress = all_progress(self.all_rows, self._workers(), time.time())
        self.query_one(SweepProgressLine).show(progress)
        if not self._counts.get("running"):
            self.stage_order = []           # read again for the next run: dvc.yaml may have changed meanwhile
        elif not self.stage_order:
            self._load_stage_order()
        if not announce:
            return
        for sweep in progress:
            if not sweep.finished:
                self._open_sweeps.add(sweep.id)
            elif sweep.id in self._open_sweeps:
                self._open_sweeps.discard(sweep.id)
                notify(self, self._finished_text(sweep.id, sweep.label, sweep.total), timeout=10)

    def _finished_text(self, sweep_id: str, label: str, total: int) -> str:
        from exptui.query.format import format_cell
        from exptui.query.sweeps import best_row, ranking_metric

        members = [r for r in self.all_rows if r.sweep_id == sweep_id]
        sort = [(k.column, k.descending) for k in self.model.sort_keys]
        text = f"sweep {label} finished: {total} trials"
        ranking = ranking_metric(self.model.columns, sort, self.directions())
        if ranking is None:
            return text
        column, way = ranking
        best = best_row(members, column, way)
        if best is None:
            return text
        return f"{text}; best {column.label} {format_cell(column, column.getter()(best))}: {best.name}"

    @while_alive
    def _tick_sweeps(self) -> None:
        if self.loaded and self.query_one(SweepProgressLine).display:
            self._update_sweeps()

    @work(thread=True, exclusive=True, group="stage-order", exit_on_error=False)
    def _load_stage_order(self) -> None:
        """The workspace pipeline's stages in run order (reads dvc.yaml through the project, off the UI thread)."""
        order = self.project.stage_order()
        self.app.call_from_thread(self._stage_order_loaded, order)

    @while_alive
    def _stage_order_loaded(self, order: list[str]) -> None:
        self.stage_order = order
        self.table.set_stage_order(order)

    def has_running(self) -> bool:
        return any(r.status == "running" for r in self.all_rows)

    def set_live(self, live: dict[str, LiveMetrics]) -> None:
        """New DVCLive values of the running rows: repaint those rows; the live columns come and go with them."""
        old_keys = set(self.live)
        self.live = live
        metric = choose_metric(live, self.live_wanted)
        if bool(live) != bool(old_keys) or metric != self.live_metric:
            self.live_metric = metric
            self.table.refresh_keys(old_keys | set(live))
            self.refresh_view(columns_changed=True)
        else:
            self.table.refresh_keys(old_keys | set(live))

    @property
    def columns(self) -> list[Column]:
        return self.model.columns

    def _sync_model(self) -> None:
        """Push the view state into the query layer's table model (it owns filter/sort/column semantics)."""
        from exptui.query.filter import FilterError
        from exptui.query.sort import SortKey

        model, view = self.model, self.view
        expression = _name_search(view.filter.strip(), model.index)
        if expression != self._compiled_filter:
            try:
                model.set_filter(expression)
            except FilterError as exc:     # the model keeps the last good filter while the user types on
                if self.all_rows:   # before the first rows arrive no column is known: a saved filter is not wrong
                    self.filter_bar.show_error(exc.message, exc.column)
                self._filter_error = True
            else:
                self._compiled_filter = expression
                self._filter_error = False
        else:
            self._filter_error = False
        keys = []
        for column_id, descending in view.sort:
            column = model.index.try_resolve(column_id)
            if column is not None:   # a column that vanished (keys of removed experiments) is skipped
                keys.append(SortKey(column, descending))
        model.set_sort(keys)
        model.set_grouped(not view.leaderboard)
        model.hide_workspace = view.leaderboard   # a ranking of results: the workspace is not one (it repeats its baseline)
        if dict(model.directions.overrides or {}) != view.directions:
            model.directions = self.directions()
        model.set_only_changed(view.only_changed)
        model.set_keep(view.keep)
        model.set_drop(view.drop)
        model.hidden = set(view.hidden)
        model.pinned = list(view.pinned)

    def refresh_view(self, columns_changed: bool = False) -> None:
        """Derive what is shown from `all_rows` and the view state (every keystroke in the filter bar lands
        here). The cyclic collector is paused meanwhile: at 100,000 rows a full collection walks millions of
        long-lived objects and landed in a keystroke now and then (seconds); see `exptui.query.gc_pause`."""
        from exptui.query.gc_pause import gc_paused

        with gc_paused():
            self._refresh_view(columns_changed)

    def _refresh_view(self, columns_changed: bool) -> None:
        self._sync_model()
        result = self.model.view()
        rows = result.experiment_rows
        self.shown_rows = rows
        self._counts["shown"] = result.experiments   # counted by the model (over the frame: in numpy)
        if not self._filter_error:
            if self.view.filter.strip():
                # count experiments, like the header: baselines shown as group headers are context
                self.filter_bar.show_matches(self._counts["shown"], self._counts["total"])
            else:
                self.filter_bar.show_matches(None, None)
        table = self.table
        layout = [c.id for c in result.columns] + [f"{c}:{d}" for c, d in self.view.sort]
        if self.live and self.live_metric:
            layout.append(f"live:{self.live_metric}")
        if self.view.leaderboard:     # the rank column comes and goes with it (also when a sort was already set)
            layout.append("leaderboard")
        keep_columns = not rows and bool(self.view.filter.strip()) and bool(table.scroll_columns)
        if (columns_changed or layout != self._shown_column_ids) and not keep_columns:
            self._shown_column_ids = layout
            pinned = set(self.view.pinned)
            marks = _sort_marks(self.view.sort)
            fixed = [_table_column(c, marks.get(c.id, "")) for c in result.columns if c.id in pinned]
            if self.view.leaderboard:
                fixed.insert(0, TableColumn("rank", "#", numeric=True, max_width=5))
            scrolling = live_columns(self.live_metric) if self.live and self.live_metric else []
            scrolling += [TableColumn("created", "Created" + marks.get("created", ""), max_width=16)]
            if self._has_notes:   # notes are seen without pressing n: a column once any experiment has one
                scrolling.append(TableColumn("note", "Note" + marks.get("note", ""), max_width=NOTE_WIDTH))
            scrolling += [_table_column(c, marks.get(c.id, "")) for c in result.columns if c.id not in pinned]
            table.set_columns(fixed, scrolling)
        ranks = _ranks(rows, self.model) if self.view.leaderboard else {}
        if ranks != self._ranks:        # the rank cells changed, their rows did not: cached lines are stale
            self._ranks = ranks
            table.invalidate_lines()
        table.update_rows(rows, changed=False)     # set_rows noted new row objects with the table already
        self.call_after_refresh(table.scroll_cursor_column_into_view)   # widths change with the rows shown
        self._update_header()
        self._update_empty_hint()

    def _update_empty_hint(self) -> None:
        """A repo without experiments says what to do next instead of showing a bare table."""
        hint = self.query_one("#empty-hint", Static)
        empty = self.loaded and not self._counts["total"]
        self.table.set_class(empty, "-empty")     # rows stay on top, the hint right under them
        if not empty:
            hint.display = False
            return
        if not (self.repo_root / ".dvc").is_dir():  # a file system check, not git: allowed in the TUI
            text = ("This git repo is not a DVC repository yet: run `exptui init` (or `dvc init`), write the stages "
                    "in dvc.yaml, then `exptui repro`. Or take the tour: exptui demo /tmp/exptui-demo")
        elif any(problem.startswith("dvc.yaml") for problem in self.query_one(ProblemBanner).problems):
            text = ("No experiments yet, and none can run until dvc.yaml reads cleanly: fix the problem shown "
                    "above, then press e to queue a sweep.")
        elif (self.repo_root / "dvc.yaml").is_file():
            text = ("No experiments yet. Press e to queue a sweep, then Q and s to start workers; or run one "
                    "from the shell: exptui run -S 'section.param=value'")
        else:
            text = ("No dvc.yaml here, so there is no pipeline to experiment with. Add stages with "
                    "`dvc stage add`, or take the tour: exptui demo /tmp/exptui-demo")
        hint.update(text)
        hint.display = True

    # ------------------------------------------------------------------ cells
    def _cell(self, row: ExperimentRow, column: TableColumn) -> tuple[str, str]:
        """Cell text via the query layer's formatter; metrics coloured by their delta against the baseline."""
        from exptui.query.columns import ERROR, MISSING
        from exptui.query.direction import delta
        from exptui.query.format import format_cell

        if column.id in LIVE_IDS:
            return live_cell(self.live.get(row.key), column.id, self.live_metric), ""
        if column.id == "rank":
            rank = self._ranks.get(row.key)
            return ("" if rank is None else str(rank)), "dim"
        entry = self._getters.get(column.id)
        if entry is None:
            return "", ""
        qcolumn, getter = entry
        value = getter(row)
        if value is MISSING:
            return "-", "missing"
        if value is ERROR:
            return "!", "error"
        text = format_cell(qcolumn, value)
        if qcolumn.family == "metrics" and row.key in self._best.get(qcolumn.id, ()):
            return text, "best"
        if qcolumn.family == "metrics" and row.kind not in ("baseline", "workspace"):
            base = self._baselines.get(row.baseline)
            if base is not None:
                better = delta(value, getter(base), qcolumn).better
                if better is not None:
                    return text, "better" if better else "worse"
        if column.id == "created":
            return text, "dim"
        return text, ""

    # ------------------------------------------------------------------ header / messages
    def _count_all(self) -> None:
        """Experiment counts over all rows for the header: once per `set_rows`, never per keystroke."""
        self._counts = {**counts_of(self.all_rows), "shown": self._counts.get("shown", 0)}

    def _update_header(self) -> None:
        header = self.query_one(StatusHeader)
        counts = self._counts
        header.update_state(
            repo=self.repo_root.name,
            branch=self.branch,
            total=counts["total"],
            shown=counts["shown"],
            running=counts["running"], queued=counts["queued"], failed=counts["failed"],
            marked=len(self.table.marked),
            filter=self.view.filter, sort=self.view.sort, leaderboard=self.view.leaderboard,
            only_changed=self.view.only_changed, loading=not self.loaded,
            loading_of=(len(self.all_rows), self.loading_total) if self.loading_total is not None else None,
        )

    def show_message(self, text: str, *, error: bool = False, sticky: bool = False) -> None:
        """One line above the footer; it goes away after `MESSAGE_SECONDS` (errors: `ERROR_SECONDS`) so an old
        confirmation never reads as news, unless `sticky` (a prompt waiting for the next key)."""
        line = self.query_one("#message-line", Static)
        line.set_class(error, "-error")
        line.update(lines(text))      # errors quote names, keys and values: shown, never markup
        line.display = bool(text)
        if self._message_timer is not None:
            self._message_timer.stop()
            self._message_timer = None
        if text and not sticky:
            self._message_timer = self.set_timer(self.ERROR_SECONDS if error else self.MESSAGE_SECONDS,
                                                 self._expire_message)

    @while_alive
    def _expire_message(self) -> None:
        self._message_timer = None
        self.show_message("")

    @property
    def message(self) -> str:
        """The status line's text ("" when none is shown)."""
        line = self.query_one("#message-line", Static)
        return str(line.render()) if line.display else ""

    def save_view(self) -> None:
        """Persist the view soon, not per keystroke: the file lives in .git/exptui, whose mtime is part of the
        change token, so every write also costs the poller a (cheap, no-op) reload."""
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(VIEW_SAVE_DELAY, self.save_view_now)

    def save_view_now(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        try:
            save_view(self.repo_root, self.view)
        except OSError as exc:
            if alive(self):   # also called on unmount, when the message line is gone
                self.show_message(f"could not save the view: {exc}", error=True)
        try:
            exptui_app(self.app).keep_first_screen()   # the next start paints this view's top first
        except Exception:  # noqa: BLE001 - a head start for next time, never an error now (or while unmounting)
            pass

    def on_unmount(self) -> None:
        if self._save_timer is not None:
            self.save_view_now()

    # ------------------------------------------------------------------ filter
    def _complete_filter(self, text: str) -> str | None:
        from exptui.query.complete import inline_completion

        return inline_completion(text, self.model.index, values_of=self.model.distinct_values)

    def action_open_filter(self) -> None:
        self.filter_bar.open(self.view.filter)

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        expression = event.expression
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE, lambda: self._apply_filter(expression))

    @while_alive   # a debounce timer: the screen may be closing by then
    def _apply_filter(self, expression: str) -> None:
        self.view.filter = expression
        self.refresh_view()
        self.save_view()

    @on(FilterBar.Closed)
    def _filter_closed(self, event: FilterBar.Closed) -> None:
        if event.cleared:
            self.filter_bar.display = False
            if self._filter_timer is not None:
                self._filter_timer.stop()
            self._apply_filter("")
        elif not self.view.filter:
            self.filter_bar.display = False
        self.table.focus()

    def action_escape(self) -> None:
        if self.table.marked:
            self.action_clear_marks()
        elif self.view.filter:
            self.filter_bar.input.value = ""
            self.filter_bar.display = False
            self._apply_filter("")
        self.show_message("")

    # ------------------------------------------------------------------ sort / modes / columns
    def action_sort_column(self) -> None:
        """Sort by the cursor column alone (a new column replaces the sort); on a sorted column: ascending ->
        descending -> off, other keys kept. `S` adds a key instead."""
        self._sort_on_cursor(add=False)

    def action_sort_add_column(self) -> None:
        """Add the cursor column as the last sort key (or cycle it if it already is one)."""
        self._sort_on_cursor(add=True)

    def _sort_on_cursor(self, *, add: bool) -> None:
        column_id = self.table.cursor_column_id
        if column_id is None:
            return
        current = dict(self.view.sort)
        if column_id not in current:
            self.view.sort = [*self.view.sort, (column_id, False)] if add else [(column_id, False)]
        elif not current[column_id]:
            self.view.sort = [(c, True if c == column_id else d) for c, d in self.view.sort]
        else:
            self.view.sort = [(c, d) for c, d in self.view.sort if c != column_id]
        self.refresh_view()
        self.save_view()
        self.show_message(self._sort_words(replaced=not add and column_id not in current and bool(current)))

    def _sort_words(self, *, replaced: bool) -> str:
        if not self.view.sort:
            return "sort off"
        keys = ", then ".join(f"{c.rsplit(':', 1)[-1]} {'↓' if d else '↑'}" for c, d in self.view.sort)
        hint = " (replaced the previous sort; S adds a key)" if replaced else ""
        return f"sorted by {keys}{hint}"

    def action_toggle_leaderboard(self) -> None:
        """Flat list of every experiment and baseline with a rank column; with no sort yet, ranked by a headline
        metric, best first, and the cursor on the best."""
        self.view.leaderboard = not self.view.leaderboard
        self.table.grouped = not self.view.leaderboard
        if self.view.leaderboard and not self.view.sort:
            ranking = self._first_metric_sort()
            if ranking is not None:
                self.view.sort = [ranking]
        self.refresh_view()
        if self.view.leaderboard:
            self.table.action_first()
        self.save_view()

    def _first_metric_sort(self) -> tuple[str, bool] | None:
        """A headline metric (f1 first, see `ranking_metric`), else the first numeric metric shown; best first."""
        from exptui.query.direction import direction
        from exptui.query.sweeps import ranking_metric

        shown = [self._getters[c][0] for c in self._shown_column_ids if c in self._getters]
        ranking = ranking_metric(shown, (), self.directions())
        if ranking is not None:
            return ranking[0].id, ranking[1] == "higher"
        for column in shown:
            if column.family == "metrics" and column.kind == "numeric":
                return column.id, direction(column) != "lower"
        return None

    def action_toggle_only_changed(self) -> None:
        self.view.only_changed = not self.view.only_changed
        self.refresh_view(columns_changed=True)
        self.save_view()
        self.show_message("only changed columns" if self.view.only_changed else "all columns")

    def action_columns(self) -> None:
        from exptui.tui.screens.columns import ColumnsScreen

        def done(state: ViewState | None) -> None:
            if state is not None:
                self.view = state
                self.refresh_view(columns_changed=True)
                self.save_view()

        self.app.push_screen(ColumnsScreen(self.columns, self.view), done)

    def action_refresh(self) -> None:
        exptui_app(self.app).request_reload(force=True)

    # ------------------------------------------------------------------ command line
    def action_command_line(self) -> None:
        self.query_one(CommandLine).open()

    @on(CommandLine.Closed)
    def _command_closed(self) -> None:
        self.table.focus()

    @on(CommandLine.Failed)
    def _command_failed(self, event: CommandLine.Failed) -> None:
        self.show_message(event.error, error=True)

    @on(CommandLine.Run)
    def _command_run(self, event: CommandLine.Run) -> None:
        try:
            self.run_command(event.command)
        except CommandError as exc:
            self.show_message(str(exc), error=True)
        else:
            self.show_message("")  # an earlier command's error no longer applies

    def run_command(self, command: Command) -> None:
        name, arg = command.name, command.argument
        if name == "q":
            exptui_app(self.app).action_quit_app()
        elif name == "filter":
            self.filter_bar.display = bool(arg)
            self.filter_bar.input.value = arg
            self._apply_filter(arg)
        elif name == "sort":
            from exptui.query.sort import SortSpecError, parse_sort_spec

            try:  # the syntax of `exptui show --sort-by`: `f1:desc`, `f1 desc`, `-f1`, comma-separated
                keys = parse_sort_spec(arg, self.model.index)
            except SortSpecError as exc:
                raise CommandError(str(exc)) from None
            self.view.sort = [(key.column.id, key.descending) for key in keys]
            self.refresh_view()
            self.save_view()
        elif name in ("keep", "drop"):
            patterns = self.view.keep if name == "keep" else self.view.drop
            if not arg:
                patterns.clear()
            else:
                from exptui.query.regex import RegexError, compile_regex

                try:
                    compile_regex(arg, whole=True)  # the engine the table will use (RE2: linear time)
                except RegexError as exc:
                    raise CommandError(f":{name} {exc}") from None
                patterns.append(arg)
            self.refresh_view(columns_changed=True)
            self.save_view()
        elif name == "only-changed":
            self.action_toggle_only_changed()
        elif name == "leaderboard":
            self.action_toggle_leaderboard()
        elif name == "reset":
            self.view = ViewState()
            self.filter_bar.input.value = ""
            self.filter_bar.display = False
            self.table.grouped = True
            self.refresh_view(columns_changed=True)
            self.save_view()
        elif name == "help":
            exptui_app(self.app).action_help()
        elif name == "refresh":
            self.action_refresh()
        elif name == "live":
            logged = metric_keys(self.live)
            if arg and self.live and arg not in logged:
                raise CommandError(inert(f":live {arg}: no running experiment logs it (logged: {', '.join(logged)})"))
            self.live_wanted = arg or None
            self.live_metric = None   # re-chosen: the layout follows
            self.set_live(self.live)
        elif name == "better":
            self._set_direction(arg)
        elif name in ("compare", "queue", "plots", "sweep", "log"):
            self.open_secondary("queue_view" if name == "queue" else name)

    def _set_direction(self, arg: str) -> None:
        """`:better METRIC higher|lower|auto`: which way is better for a metric (the best-value highlight, the
        leaderboard's default ranking, a finished sweep's best trial), kept in the view state; `:better` lists."""
        parts = arg.rsplit(None, 1)
        if not parts:
            settings = ", ".join(f"{c.rsplit(':', 1)[-1]} {w}" for c, w in self.view.directions.items())
            self.show_message(f"better: {settings or 'by name only (f1, accuracy... higher; loss, error... lower)'}")
            return
        if len(parts) != 2 or parts[1].lower() not in ("higher", "lower", "auto"):
            raise CommandError(":better takes a metric and higher, lower or auto, e.g. :better val_loss lower")
        column = self.model.index.try_resolve(parts[0])
        if column is None or column.family != "metrics":
            raise CommandError(f":better: no metric named {parts[0]!r}")
        way = parts[1].lower()
        if way == "auto":
            self.view.directions.pop(column.id, None)
        else:
            self.view.directions[column.id] = way
        self._sync_model()
        self._update_best()
        self.refresh_view()
        self.save_view()
        self.show_message(f"{column.label}: {'by its name' if way == 'auto' else way + ' is better'}")

    def _resolve(self, ref: str) -> str:
        from exptui.query.columns import ColumnLookupError

        try:
            return self.model.index.resolve(ref).id
        except ColumnLookupError as exc:
            raise CommandError(exc.message) from None

    # ------------------------------------------------------------------ marks / stars
    def action_toggle_mark(self) -> None:
        self.table.toggle_mark()
        self._range_anchor = self.table.cursor_row
        self.table.action_cursor_down()
        self._update_header()

    def action_range_mark(self) -> None:
        """First `v` sets the anchor (and marks it); the next `v` marks everything between anchor and cursor."""
        table = self.table
        if self._range_anchor is None:
            self._range_anchor = table.cursor_row
            table.toggle_mark()
            self.show_message("range: move and press v again", sticky=True)
        else:
            table.mark_range(self._range_anchor, table.cursor_row)
            self._range_anchor = None
            self.show_message("")
        self._update_header()

    def action_clear_marks(self) -> None:
        self.table.clear_marks()
        self._range_anchor = None
        self._update_header()

    def _experiment_rows(self, action: str) -> list[ExperimentRow]:
        rows = [r for r in self.table.selected_rows() if r.kind not in ("baseline", "workspace")]
        if not rows:
            self.show_message(f"{action}: put the cursor on an experiment (or mark some with space)", error=True)
        return rows

    def action_star(self) -> None:
        rows = self._experiment_rows("star")
        if rows:
            star = not all(r.annotations.starred for r in rows)
            self._run_action(f"{'starred' if star else 'unstarred'} {_names(rows)}",
                             lambda: [self.project.star(_ident(r), star) for r in rows])

    # ------------------------------------------------------------------ project actions
    def action_apply(self) -> None:
        row = self.table.cursor_row_obj
        if row is None or row.kind in ("baseline", "workspace") or row.status != "success":
            self.show_message("apply: put the cursor on a finished experiment", error=True)
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._run_action(f"applied {row.name} to the workspace", lambda: self.project.apply(_ident(row)))

        from exptui.tui.screens.confirm import ConfirmScreen   # a dialog: not imported before the first paint

        self.app.push_screen(ConfirmScreen(
            "Apply to workspace",
            assemble("Write the params, metrics and outputs of ", plain(row.name, "bold"), " into the workspace?\n"
                     "Uncommitted changes to those files are refused unless forced from the CLI."),
            yes="Apply"), confirmed)

    def action_branch(self) -> None:
        row = self.table.cursor_row_obj
        if row is None or row.kind in ("baseline", "workspace"):
            self.show_message("branch: put the cursor on an experiment", error=True)
            return

        def named(name: str | None) -> None:
            if name:
                self._run_action(f"created branch {name} from {row.name}", lambda: self.project.branch(_ident(row), name))

        from exptui.tui.screens.confirm import InputScreen   # a dialog: not imported before the first paint

        self.app.push_screen(InputScreen("Create branch", assemble("New git branch from ", plain(row.name, "bold"),
                                                                   ":"),
                                         value=f"exp-{row.name}"), named)

    def action_remove(self) -> None:
        rows = self._experiment_rows("remove")
        if not rows:
            return
        listing = "\n".join(f"  • {plain(r.name)}" for r in rows[:8]) + ("\n  …" if len(rows) > 8 else "")

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.table.clear_marks()
                self._run_action(f"removed {_names(rows)}", lambda: self.project.remove([_ident(r) for r in rows]))

        from exptui.tui.screens.confirm import ConfirmScreen   # a dialog: not imported before the first paint

        self.app.push_screen(ConfirmScreen(
            f"Remove {len(rows)} experiment{'s' if len(rows) != 1 else ''}",
            f"{listing}\n\nTheir refs are deleted (objects stay until git gc).", yes="Remove", danger=True),
            confirmed)      # a str message is shown as plain inert text by the dialog, never as markup

    def action_label(self) -> None:
        rows = self._experiment_rows("label")
        if not rows:
            return

        def entered(text: str | None) -> None:
            if text is not None:
                labels = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))

                def relabel() -> None:
                    for r in rows:
                        gone = [label for label in r.annotations.labels if label not in labels]
                        self.project.label(_ident(r), add=labels, remove=gone)

                self._run_action(f"labelled {_names(rows)}", relabel)

        current = ", ".join(rows[0].annotations.labels)
        from exptui.tui.screens.confirm import InputScreen   # a dialog: not imported before the first paint

        self.app.push_screen(InputScreen("Labels", f"Comma-separated labels for {_names(rows)}:", value=current),
                             entered)

    def action_note(self) -> None:
        row = self.table.cursor_row_obj
        if row is None or row.kind in ("baseline", "workspace"):
            self.show_message("note: put the cursor on an experiment", error=True)
            return

        def entered(text: str | None) -> None:
            if text is not None:
                self._run_action(f"noted {row.name}", lambda: self.project.note(_ident(row), text))

        from exptui.tui.screens.confirm import InputScreen   # a dialog: not imported before the first paint

        self.app.push_screen(InputScreen("Note", assemble("Note for ", plain(row.name, "bold"), ":"),
                                         value=row.annotations.note), entered)

    @work(thread=True, group="actions", exit_on_error=False)
    def _run_action(self, done: str, call: Callable[[], object]) -> None:
        try:
            with exptui_app(self.app).project_lock:
                call()
        except Exception as exc:  # ExptuiError carries a user message; anything else still must not crash the UI
            self.post_message(ActionDone(str(exc) or exc.__class__.__name__, error=True))
        else:
            self.post_message(ActionDone(done))

    @on(ActionDone)
    def _action_done(self, event: ActionDone) -> None:
        self.show_message(event.message, error=event.error)
        if event.error:
            notify(self.app, event.message, severity="error", timeout=6)
        self.action_refresh()

    # ------------------------------------------------------------------ secondary screens
    # each screen's module is imported when the screen is first opened: startup loads only the dashboard

    def _open(self, screen: Screen[Any]) -> None:
        # whatever happened there (a sweep queued, an entry removed), the table catches up when it closes
        self.app.push_screen(screen, lambda _result: self.action_refresh())

    def open_secondary(self, action: str) -> None:
        """Open the view a key names (compare, sweep, queue_view, log, plots) over the cursor or selected rows."""
        {"compare": self.action_compare, "sweep": self.action_sweep, "queue_view": self.action_queue_view,
         "log": self.action_log, "plots": self.action_plots}[action]()

    def action_compare(self) -> None:
        from exptui.tui.screens.compare import CompareScreen

        rows = self.table.selected_rows()
        if len(rows) < 2:  # one row is compared with its baseline
            base = self._baselines.get(rows[0].baseline) if rows else None
            rows = [base, *rows] if base is not None and base is not rows[0] else rows
        self._open(CompareScreen(self.project, rows, self.directions()))

    def action_sweep(self) -> None:
        from exptui.tui.screens.sweep import SweepScreen

        row = self.table.cursor_row_obj
        if row is None:
            return
        # one dialog is kept (installed: popping it does not remove its widgets) and reopened for a row whose
        # params have the same keys, as most rows of a project do: a reopen lays out and paints the form it
        # already has instead of composing ~60 widgets again (SweepScreen.reopen)
        kept = self.sweep_dialog
        if kept is not None and kept.fits(row):
            kept.reopen(row)
            self._open(kept)
            return
        if kept is not None:      # rows of another shape: this one is built anew, the old one let go
            self.app.uninstall_screen(kept)
            if kept not in self.app.screen_stack:
                kept.remove()
        dialog = self.sweep_dialog = SweepScreen(self.project, row, self.sweep_drafts)
        self.app.install_screen(dialog, SWEEP_DIALOG)
        self._open(dialog)

    def action_queue_view(self) -> None:
        from exptui.tui.screens.queue import QueueScreen

        self._open(QueueScreen(self.project))

    def action_log(self) -> None:
        from exptui.tui.screens.log import LogScreen

        row = self.table.cursor_row_obj
        if row is not None:
            self._open(LogScreen(self.project, row))

    def action_plots(self) -> None:
        from exptui.tui.screens.plots import PlotScreen

        rows = self.table.selected_rows()
        # one plots screen is kept (installed: popping it keeps its widgets) and reopened for rows whose plots
        # offer the same dropdown choices, as most rows of a project do: composing and styling its ~40 widgets
        # was most of an open (PlotScreen.reopen)
        kept = self.plot_screen
        if kept is not None and kept not in self.app.screen_stack and kept.reopen(rows, self.live):
            self._open(kept)
            return
        if kept is not None and kept not in self.app.screen_stack:   # other choices: a new one, the old let go
            self.app.uninstall_screen(kept)
            kept.remove()
        screen = PlotScreen(self.project, rows, live=self.live)
        if kept is None or kept not in self.app.screen_stack:
            self.plot_screen = screen
            self.app.install_screen(screen, PLOT_SCREEN)
        self._open(screen)

SWEEP_DIALOG = "sweep-dialog"    # the name the kept sweep dialog is installed under
PLOT_SCREEN = "plot-screen"      # the name the kept plots screen is installed under

_BARE_WORD = re.compile(r"[^\s'\"`()\[\],=!<>~&|]+")


def _name_search(expression: str, index: Any) -> str:
    """`/deep` searches experiment names and labels: a single bare word that is no column name, nor the start of
    one (the user may be typing `f1 > 0.5`: the table must not jump to a name search at `f`), becomes
    ``'deep' or label ~= 'deep'`` (the filter language itself takes only a quoted string as a name search)."""
    if not _BARE_WORD.fullmatch(expression) or expression.lower() in _FILTER_WORDS:
        return expression
    from exptui.query.complete import inline_completion

    if index.try_resolve(expression) is not None or inline_completion(expression, index) is not None:
        return expression
    return f"'{expression}' or label ~= '{re.escape(expression)}'"


_FILTER_WORDS = frozenset({"and", "or", "not", "is", "has", "in", "true", "false", "null"})


def _table_column(column: Column, mark: str = "") -> TableColumn:
    return TableColumn(column.id, (column.label or column.key) + mark, column.file, column.family,
                       numeric=column.kind == "numeric")


def _ranks(rows: Sequence[ExperimentRow], model: TableModel) -> dict[str, int]:
    """Leaderboard ranks (1 = best) of the rows in shown order (baselines are results too); rows tied on the first
    sort key share a rank ("1, 2, 2, 4"); the workspace, and rows without a value to rank by (queued, running,
    failed), have none."""
    from exptui.query.columns import is_absent

    keys = model.sort_keys
    get = keys[0].column.getter() if keys else None
    out: dict[str, int] = {}
    previous: object = object()
    rank = position = 0
    for row in rows:
        if row.kind == "workspace":
            continue
        value = get(row) if get is not None else object()
        if value is None or is_absent(value):
            continue
        position += 1
        if get is None or value != previous:
            rank = position
        previous = value
        out[row.key] = rank
    return out


def _sort_marks(sort: list[tuple[str, bool]]) -> dict[str, str]:
    """` ↑`/` ↓` after a sorted column's label (numbered when several keys sort: ` ↓1`, ` ↑2`)."""
    many = len(sort) > 1
    return {column_id: (" ↓" if descending else " ↑") + (str(i + 1) if many else "")
            for i, (column_id, descending) in enumerate(sort)}


def _names(rows: list[ExperimentRow]) -> str:
    if len(rows) == 1:
        return rows[0].name
    return f"{len(rows)} experiments"


def _ident(row: ExperimentRow) -> str:
    """What to hand the Project: the full ref is unambiguous even when names repeat across baselines."""
    return row.ref or row.rev
