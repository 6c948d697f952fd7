"""The exptui Textual app: global keys, the command palette, the live-refresh loop and quitting.

Live updates: one async worker polls `project.changed_token()` (cheap: refs + queue state) every
`poll_interval`; when the token changes it reloads `project.experiments()` in a thread worker of an exclusive
group and waits for it, so two reloads never overlap and a slow reload just delays the next poll. The UI thread
never touches git: everything goes through the Project in workers.
"""
from __future__ import annotations

import asyncio
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.worker import Worker, WorkerState

from exptui.project import Project
from exptui.records import ExperimentRow
from exptui.tui.alive import alive
from exptui.tui.app_ref import exptui_app
from exptui.tui.bindings import APP_BINDINGS, MAIN_BINDINGS
from exptui.tui.messages import FirstScreenLate, LiveLoaded, LoadFailed, RowsLoaded
from exptui.tui.screen_warmup import ScreenWarmUp
from exptui.tui.screens.main import MainScreen
from exptui.tui.stylesheets import APP_TCSS, SCREENS_TCSS
from exptui.tui.text import notify
from exptui.tui.view_state import ViewState, load_view

if TYPE_CHECKING:
    from exptui.project import EarlyStart, FirstRows, RefSnapshot, Since
    from exptui.tui.prepare import Prepared

POLL_INTERVAL = 0.5

PALETTE_EXTRA: list[tuple[str, str, str]] = [
    # (title, help, action on the main screen)
    ("Filter: clear", "Show every experiment", "escape"),
    ("View: reset", "Clear filter, sort and column rules", "reset_view"),
]


class ExptuiCommands(Provider):
    """Every dashboard action in the ctrl+p palette, titled like the help screen, with its current key."""

    def _commands(self) -> list[tuple[str, str, str]]:
        keymap = exptui_app(self.app).keymap
        commands = []
        for binding in [*MAIN_BINDINGS, *APP_BINDINGS]:
            if binding.action == "command_palette":
                continue
            keys = keymap.get(binding.id or "", binding.key_display or binding.key)
            commands.append((binding.description, f"press {keys}", binding.action))
        commands.extend(PALETTE_EXTRA)
        return commands

    async def discover(self) -> Hits:
        for title, help_text, action in self._commands():
            yield DiscoveryHit(title, partial(exptui_app(self.app).run_dashboard_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title),
                          partial(exptui_app(self.app).run_dashboard_action, action), help=help_text)


class ExptuiApp(App[None]):
    """The dashboard over one repo's `Project`."""

    CSS_PATH = [APP_TCSS, SCREENS_TCSS]   # both at start-up: see exptui.tui.stylesheets
    TITLE = "exptui"
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS]
    COMMANDS = App.COMMANDS | {ExptuiCommands}
    ENABLE_COMMAND_PALETTE = True
    #: rows of the first load painted before the rest are built: a tall terminal's screenful and then some
    FIRST_ROWS: ClassVar[int] = 300
    #: how long the loading thread waits for the first rows to be painted before it builds the rest (the GIL:
    #: building 100,000 rows beside it made the first paint take ~1 s more); a slow paint only delays the rest
    FIRST_PAINT_WAIT: ClassVar[float] = 2.0
    #: with an early start (a first screen is coming), how long after mount the screen's first paint is held for
    #: its rows: the empty dashboard is not rendered and then rendered again with them (~0.1 s of CPU at start-up);
    #: an early start that is slow or gives no rows only delays the empty dashboard by this much
    FIRST_SCREEN_HOLD: ClassVar[float] = 0.5

    def __init__(self, project: Project, repo_root: Path, *, poll_interval: float = POLL_INTERVAL,
                 keymap: dict[str, str] | None = None, view: ViewState | None = None,
                 warnings: list[str] | None = None, early: EarlyStart | None = None) -> None:
        """`early`: the first screen being worked out since before Textual was imported
        (`Project.start_first_screen`, as `exptui ui` does); the first load takes it over."""
        super().__init__()
        self._early = early
        self.project = project
        self.repo_root = Path(repo_root)
        self.poll_interval = poll_interval
        self._user_keymap = keymap or {}
        self._initial_view = view
        self.startup_warnings = list(warnings or [])   # e.g. keys.toml problems: shown once the dashboard is up
        self._token: str | None = None
        self._since: Since | None = None   # the refs of the listing shown, for `Project.save_first_rows`
        # the last list handed to the screen (compared in the thread)
        self._last_rows: list[ExperimentRow] | None = None
        self._wake = asyncio.Event()
        self._force = False
        self.reloads = 0             # how many reloads reached the table (tests wait on it)
        self.partial_loads = 0       # how many first-rows-only lists reached the table (streamed first paint)
        self._first_painted = threading.Event()   # set once the first rows are on screen (or the app ends)
        #: (time.time(), process CPU seconds) when the first rows were on screen: what benchmarks/bench_tui.py
        #: reports as first paint (a Pilot pause after it also waits for the loading thread's GIL slices)
        self.first_paint: tuple[float, float] | None = None
        self._kept_first: tuple | None = None   # (token, row keys) of the first screen saved last
        self.live_updates = 0        # how many live-metrics updates reached the table
        self.workers_started_here = False  # set by the queue screen when it starts workers
        # one Project call at a time from this app's workers: a reload never interleaves with apply/remove
        self.project_lock = threading.RLock()
        #: SIGTERM/SIGHUP that ended the app (`exptui ui` then exits 128+signal), see exptui.tui.signals
        self.exit_signal: int | None = None
        self.screen_warm_up = ScreenWarmUp()   # `e` and `p` prepared once the dashboard is up (screen_warmup.py)
        self._holding = False   # the first paint is held for the early start's rows (`_hold_first_paint`)

    @property
    def keymap(self) -> dict[str, str]:
        """Binding id -> keys, as applied by `set_keymap` (keys.toml): what the help and the palette show."""
        return dict(self._keymap)

    @property
    def main(self) -> MainScreen:
        """The dashboard screen (KeyError before it is installed and once the app shuts down)."""
        screen = self.get_screen("main")
        if not isinstance(screen, MainScreen):
            raise TypeError(f"the 'main' screen is a {type(screen).__name__}")
        return screen

    def on_mount(self) -> None:
        from exptui.tui.signals import exit_on_signals

        exit_on_signals(self)
        if self._user_keymap:
            self.set_keymap(self._user_keymap)
        view = self._initial_view or load_view(self.repo_root)
        if self._early is not None:
            self._hold_first_paint()
        self.install_screen(MainScreen(self.project, view, self.repo_root), "main")
        self.push_screen("main")
        for warning in self.startup_warnings:
            notify(self, warning, severity="warning", timeout=15)
        self._poll()

    def _hold_first_paint(self) -> None:
        """Hold every paint until the first rows are handed over (or `FIRST_SCREEN_HOLD` passed, or the loading
        thread knows none are coming soon): an app batch (`App.batch_update`), ended by `_release_first_paint`.
        Messages, keys and timers go on meanwhile; only the screen is not drawn."""
        self._holding = True
        self._begin_batch()
        self.set_timer(self.FIRST_SCREEN_HOLD, self._release_first_paint, name="first-screen-hold")

    @property
    def holding_first_paint(self) -> bool:
        """Whether the first paint is being held for the first rows (the dashboard screen renders nothing)."""
        return self._holding

    def _release_first_paint(self, *, closing: bool = False) -> None:
        if not self._holding:
            return
        self._holding = False
        self._end_batch()
        if not self._batch_count and not closing and self.screen_stack:
            self.screen.refresh(layout=True)   # draw what was asked for meanwhile (as `App.delay_update` does)

    # ------------------------------------------------------------------ live refresh
    def request_reload(self, force: bool = False) -> None:
        """Reload now (after an action) instead of waiting for the next token change."""
        self._force = self._force or force
        self._wake.set()

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def _poll(self) -> None:
        while True:
            token: str | None
            try:
                token = await asyncio.to_thread(self.project.changed_token)
            except Exception as exc:  # a transient git failure must not kill live updates
                self.post_message(LoadFailed(f"refresh: {exc}"))
                token = self._token
            if token != self._token or self._force:
                self._force = False
                worker = self._load_rows(token or "")
                await worker.wait()
            await self._poll_live()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except asyncio.TimeoutError:
                pass

    async def _poll_live(self) -> None:
        """DVCLive values of the running rows, every poll while anything runs (stat-cached by the project, so an
        unchanged run costs a few `stat` calls); handed to the dashboard only when they changed."""
        main = self._live_main()
        if main is None or not (main.has_running() or main.live):
            return
        try:
            live = await asyncio.to_thread(self.project.live_metrics)
        except Exception as exc:  # a run dir removed mid-read: the next poll reads again
            self.post_message(LoadFailed(f"live metrics: {exc}"))
            return
        if live != main.live:
            self.post_message(LiveLoaded(live))

    @on(LiveLoaded)
    def _live_loaded(self, event: LiveLoaded) -> None:
        from textual.css.query import NoMatches

        main = self._live_main()
        if main is None:
            return
        try:
            main.set_live(event.live)
            for screen in self.screen_stack:   # the plots view draws running trials' curves live
                if screen is not main and hasattr(screen, "set_live") and alive(screen):
                    screen.set_live(event.live)
        except NoMatches:  # the app is shutting down: the table is already gone
            return
        self.live_updates += 1

    @work(thread=True, exclusive=True, group="reload", exit_on_error=False)
    def _load_rows(self, token: str) -> None:
        """The whole listing; on the first load its top `FIRST_ROWS` rows are painted before the rest are built
        (the table says "loading N of M…" meanwhile). Later reloads hand over complete lists only: the table
        already shows rows, and a partial list would shrink it for a moment."""
        branch = self._branch()

        def first_rows(rows: list[ExperimentRow], total: int) -> None:
            self._first_painted.clear()
            self.post_message(RowsLoaded(rows, token, branch, loading_total=total))
            # let the UI thread paint them before the rest are built: the two compete for the GIL, and with this
            # thread building rows the paint took ~1 s longer at 100,000 (see docs/performance.md, part 6)
            self._first_painted.wait(self.FIRST_PAINT_WAIT)

        from exptui.query.gc_pause import freeze_once, gc_paused

        streamed = self._last_rows is None
        amend_from: FirstRows | None = None
        state = ""
        given: RefSnapshot | None = None   # the refs the early start read, if its token is this one
        early = self._early.result() if self._early is not None and streamed else None
        self._early = None
        if early is not None and early.token == token and token:
            # worked out while the UI was imported and started: the saved screen, or after a ref change the refs
            # and the saved screen amended (nothing the token sees changed since: the listing takes its refs)
            if early.rows is not None and self._fits(early.rows):
                first_rows(early.rows.rows, early.rows.total)
                streamed = False
            state, given = early.state, early.refs   # ("", None) with the saved screen: read below, after it
            early = None
        elif streamed and token:
            # the first screen of the last start, if nothing the change token sees changed since: on screen before
            # the listing's plan is read (~0.8 s of CPU at 100,000); the listing below replaces it. If only
            # experiment refs changed, it is amended once the listing has read the refs (`on_refs`)
            try:
                with self.project_lock:
                    saved = self.project.saved_first_rows()
            except Exception:  # only a head start
                saved = None
            if saved is not None and saved.rows:
                if saved.key == (token,):
                    first_rows(saved.rows, saved.total)
                    streamed = False
                elif saved.since is not None:
                    amend_from = saved
            saved = None   # its refs (~11 MB of strings at 100,000) are not kept through the listing
        if streamed:   # no first screen yet: the listing's top (or an amendment) takes a while, paint meanwhile
            self.post_message(FirstScreenLate())
        try:
            if not state:   # before the listing: a change after it makes the next start's differ
                state = self.project.state_token()
        except Exception:  # noqa: BLE001 - then the first screen is saved without what an amendment needs
            state = ""
        painted = False

        read: list[RefSnapshot] = []   # the refs the listing read (the next start's amendment starts from them)

        def on_refs(refs: RefSnapshot) -> None:
            nonlocal painted, amend_from
            read[:] = [refs]
            if amend_from is None or painted or not state:
                return
            try:
                amended = self.project.amend_first_rows(amend_from, refs, state)
            except Exception:  # only a head start
                amended = None
            amend_from = None   # tried once; its refs are not kept through the listing
            if amended is not None and amended.rows and self._fits(amended):
                painted = True
                first_rows(amended.rows, amended.total)

        def on_first(rows: list[ExperimentRow], total: int) -> None:
            if not painted:
                first_rows(rows, total)

        try:
            with self.project_lock, gc_paused():
                # shared: the rows hold the index's dicts (the dashboard never changes a row's data)
                rows = list(self.project.experiments(first=self.FIRST_ROWS if streamed else 0,
                                                     on_first=on_first if streamed else None, shared=True,
                                                     on_refs=on_refs, refs=given))
                given = None
                refs = read[0] if read else None
                if len(rows) >= MainScreen.FRAME_ENGINE_ROWS:
                    freeze_once()   # the first big listing: never walked by the cyclic collector (gc_pause)
        except Exception as exc:
            self.post_message(LoadFailed(str(exc) or exc.__class__.__name__))
            return
        # only the columns the next start's amendment needs: the snapshot's tuples are let go with this frame
        # (with the listing keys of its top: the next start's amendment needs the index's ids only for new ones)
        try:
            since = self.project.first_rows_since(state, refs, rows[:self.FIRST_ROWS]) \
                if state and refs is not None else None
        except Exception:  # noqa: BLE001 - then the first screen is saved without what an amendment needs
            since = None
        refs = None
        read.clear()
        if self._last_rows is not None:
            rows = _reuse_unchanged(rows, self._last_rows)
        if rows == self._last_rows:
            # the token moved (a heartbeat, a lock file) but nothing shown changed: no UI work at all
            self._token, self._since = token, since
            return
        self._last_rows = rows
        self.post_message(RowsLoaded(rows, token, branch, prepared=self._prepare(rows), since=since))

    def _prepare(self, rows: list[ExperimentRow]) -> Prepared | None:
        """At scale, what the dashboard derives from the rows alone, built here in the loading thread
        (`exptui.tui.prepare`); None below `MainScreen.FRAME_ENGINE_ROWS` (the UI thread's own work is small)
        or if anything goes wrong (the UI thread then derives it as before)."""
        main = self._live_main()
        if main is None or len(rows) < MainScreen.FRAME_ENGINE_ROWS:
            return None
        from exptui.tui.prepare import prepare

        try:
            return prepare(rows, main.model, main.directions())
        except Exception:  # never lose a reload over its preparation: set_rows does the work itself
            return None

    def _branch(self) -> str:
        try:
            with self.project_lock:
                return self.project.git.head_branch() or "(detached)"
        except Exception:  # the header can live without it
            return ""

    def _live_main(self) -> MainScreen | None:
        """The main screen, or None once the app is shutting down (a load that finishes late has no table): from
        `exit()` on, while its widgets are being removed (`exptui.tui.alive`) and once it is uninstalled."""
        try:
            main = self.main
        except KeyError:
            return None
        return main if alive(main) else None

    @on(FirstScreenLate)
    def _first_screen_late(self) -> None:
        self._release_first_paint()

    @on(RowsLoaded)
    def _rows_loaded(self, event: RowsLoaded) -> None:
        main = self._live_main()
        if event.loading_total is not None:   # the top rows of a first load: painted, not yet a reload
            if main is not None and not main.loaded:
                with self.batch_update():
                    main.branch = event.branch
                    main.set_rows(event.rows, loading_total=event.loading_total)
                self._release_first_paint()
                self.partial_loads += 1
                main.call_after_refresh(self._painted_first)
            else:
                self._release_first_paint()
                self._first_painted.set()
            return
        self._release_first_paint()
        self._token, self._since = event.token, event.since
        if main is None:
            return
        with self.batch_update():
            main.branch = event.branch
            if event.prepared is not None:
                main.set_rows(event.rows, prepared=event.prepared)
            else:
                main.set_rows(event.rows)
        self.reloads += 1
        if self.first_paint is None:
            main.call_after_refresh(self._painted_first)
        if self.reloads == 1:
            self._keep_first_screen(main, in_thread=True)
        self.screen_warm_up.start(self)

    def keep_first_screen(self) -> None:
        """The view was saved (a sort or filter changed): save its top for the next start too, in a thread."""
        main = self._live_main()
        if main is not None:
            self._keep_first_screen(main, in_thread=True)

    def _keep_first_screen(self, main: MainScreen, *, in_thread: bool) -> None:
        """Save what the table shows at the top (`FIRST_ROWS` rows, in listing order: the view re-derives the same
        top from them) for the next start (`Project.save_first_rows`), keyed by the token of the listing shown.
        After the first complete load and when the view was saved (in a thread), and on quitting."""
        token = self._token
        if not token or not main.loaded:
            return
        top = list(main.table.rows[:self.FIRST_ROWS])
        keys = (token, tuple(row.key for row in top))
        if keys == self._kept_first or len(main.all_rows) <= self.FIRST_ROWS:
            return
        self._kept_first = keys
        everything = main.all_rows
        since = self._since
        view = main.view
        plain = not view.filter.strip() and not view.sort and not view.leaderboard
        # the top of this view: amended after a ref change if certain (with the filter the table shows)
        effective = plain or (not main._filter_error and (main._compiled_filter or "") == view.filter)
        shown = (view.filter, list(view.sort), view.leaderboard, list(main.model.columns)) if effective else None

        def save() -> None:
            wanted = {id(row) for row in top}
            in_order = [row for row in everything if id(row) in wanted]   # one scan, no index of 100,000 rows
            if len(in_order) < len(top):   # a row shown that is not in the listing (never expected): after them
                listed = {id(row) for row in in_order}
                in_order += [row for row in top if id(row) not in listed]
            # the top of the listing itself (no sort or filter reordered it): a start after a ref change can amend
            # it (`exptui.store.first_rows.amend`); the top of a sorted or filtered view carries that view
            # (`exptui.store.first_rows_view`)
            kept = since
            if not plain and since is not None:
                kept = None if shown is None else self.project.first_rows_since_view(
                    since, *shown, listed={row.rev for row in everything if row.kind == "baseline"})
            prefix = not plain or all(a is b for a, b in zip(in_order, everything))
            # no project_lock: it writes one file and runs no git, and on `q` a reload holding the lock (seconds
            # at 100,000, a cold one much longer) must not keep the UI thread from quitting
            self.project.save_first_rows(token, in_order, len(everything), kept if prefix else None)

        if in_thread:
            self.run_worker(save, thread=True, group="first-screen", exit_on_error=False)
        else:
            save()

    def _fits(self, rows: FirstRows) -> bool:
        """Whether amended first rows are the top of the view the dashboard shows (the one they were saved
        with): else the listing streams its top."""
        main = self._live_main()
        if main is None:
            return False
        view = main.view
        return self.project.first_rows_fit(rows, view.filter, list(view.sort), view.leaderboard)

    def _painted_first(self) -> None:
        """The screen was refreshed with the first rows (top rows of a streamed load, or a whole listing)."""
        import time

        if self.first_paint is None:
            self.first_paint = (time.time(), time.process_time())
        self._first_painted.set()

    def on_unmount(self) -> None:
        self._release_first_paint(closing=True)
        self._first_painted.set()   # a loading thread waiting for the first paint goes on (and ends) at once

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        self._release_first_paint()
        main = self._live_main()
        if main is not None:
            main.show_message(event.error, error=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group not in ("poll", "reload"):
            notify(self, str(event.worker.error), severity="error", timeout=8)

    # ------------------------------------------------------------------ actions
    def run_dashboard_action(self, action: str) -> None:
        """Run an action by name on the dashboard (palette entries), after closing any overlay."""
        if action == "reset_view":
            from exptui.tui.widgets.command_line import Command

            self.main.run_command(Command("reset", ""))
            return
        if action == "help":
            self.action_help()
            return
        if action == "quit_app":
            self.action_quit_app()
            return
        self.call_later(self.main.run_action, action)

    def action_help(self) -> None:
        from exptui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        if self.screen is self.main or self.screen.is_modal:
            self.push_screen(HelpScreen())
            return
        from exptui.tui.screens.help import screen_keys

        title = type(self.screen).__name__.removesuffix("Screen")
        self.push_screen(HelpScreen(f"{title} view", screen_keys(self, self.screen)))

    def _owned_workers_running(self) -> bool:
        if not self.workers_started_here:
            return False
        try:
            return self.project.queue.workers_running()
        except Exception:  # when in doubt, ask before quitting
            return True

    def action_quit_app(self) -> None:
        main = self._live_main()
        if main is not None:
            try:
                self._keep_first_screen(main, in_thread=False)
            except Exception:  # never keep the user from quitting over a head start for next time
                pass
        if not self._owned_workers_running():
            self.exit()
            return

        def chosen(choice: str | None) -> None:
            if choice == "keep":
                self.exit()
            elif choice == "stop":
                self._stop_workers_and_exit()

        from exptui.tui.screens.confirm import ChoiceScreen   # not imported for the first paint

        self.push_screen(ChoiceScreen(
            "Workers are running",
            "Queue workers started from this window are still running experiments.\n"
            "Keep: they go on with the whole queue. Stop: each finishes the experiment it is running, then exits.\n"
            "Neither kills a running experiment (K in the queue view does).",
            [("keep", "Quit, queue keeps running"), ("stop", "Quit, stop after running ones"),
             ("cancel", "Cancel")]),
            chosen)

    @work(thread=True, group="actions", exit_on_error=False)
    def _stop_workers_and_exit(self) -> None:
        self.project.queue.stop()
        self.call_from_thread(self.exit)



def _reuse_unchanged(rows: list[ExperimentRow], previous: list[ExperimentRow]) -> list[ExperimentRow]:
    """`rows` with every row equal to the previous listing's row of the same key replaced by that (old) object.

    Every listing builds new row objects; comparing them with the last ones happens here, in the loading thread,
    once: the table then sees unchanged rows as the very objects it already has (an identity check per row instead
    of a dataclass comparison on the UI thread: ~1 s per reload at 100,000 rows), and an unchanged listing compares
    equal by identity."""
    from exptui.query.gc_pause import gc_paused

    with gc_paused():
        old = {row.key: row for row in previous}
        out = []
        for row in rows:
            before = old.get(row.key)
            out.append(before if before is not None and before == row else row)
        return out
