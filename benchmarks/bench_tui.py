"""Which table should the dashboard use? Measure, don't guess.

Compares Textual's stock `DataTable` with exptui's Line-API `ExperimentTable` on synthetic experiments
(30 params/metrics columns), headless:

- first paint: from handing the rows to the widget until the screen has been rendered once;
- filter keystroke: replacing the shown rows with a filtered subset (what one keystroke in the filter bar does)
  until the next paint; the median over several keystrokes.

- dashboard: the full app over an in-memory project (query-layer model + the virtual table).
- real dashboard (`--real 1000,10000`): the full app over a real repository (`bench_show.make_repo`: N
  experiments in DVC's layout) through the real `Project` and on-disk index, each in a fresh process: cold
  (no index) and warm first paint (app start until the rows are on screen), a filter keystroke over real
  metrics, the time to open each screen (`e` sweep, `p` plots, `?` help, `d` compare, `Q` queue: key press, with
  the cursor on an experiment row, until the screen is loaded (not only its loading line, its footer's keys shown)
  and painted (the first compositor update handed to the driver after that); opened once
  the app's warm-up of `e` and `p` is done, a second or so after first paint), and the process's peak RSS. Wall
  times; CPU time of the process next to them (much less dependent on the machine's load).

- table at scale (`--real --n 1000 10000 100000`): the main table over bench_show's repos (built with git
  fast-import), cold and warm, each in a fresh process timed from its spawn: first rows on screen (the top of the
  listing is painted first), all rows in, a filter keystroke until the match count is shown (median and worst
  of 22), a sort keystroke (`s` on f1: median and worst of 8), peak RSS, and the load average at the end.

Run: .venv/bin/python benchmarks/bench_tui.py [--sizes 1000,10000] [--real 1000,10000] [--skip-widgets]
     .venv/bin/python benchmarks/bench_tui.py --real --n 1000 10000 100000 [--runs 1]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__" and "--table-child" in sys.argv:
    # as `exptui.cli.main` does for `exptui ui`: the refs' for-each-ref started first thing (the child's stdlib
    # imports above are before it; `exptui ui` has none), taken by `bench_table_child`'s early start
    try:
        from exptui.store import prestart as _prestart

        _prestart.start(sys.argv[sys.argv.index("--table-child") + 1])
    except ImportError:  # code from before 2026-12-07's early6
        pass

from exptui.records import Annotations, ExperimentRow  # noqa: E402


def synthetic_rows(n: int, n_params: int = 15, n_metrics: int = 15, seed: int = 7) -> list[ExperimentRow]:
    """`n` experiments under n/50 baselines, with realistic nested params and float metrics."""
    rng = random.Random(seed)
    rows: list[ExperimentRow] = []
    base_time = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
    n_baselines = max(1, n // 50)
    per = n // n_baselines
    for b in range(n_baselines):
        bsha = f"{b:040x}"
        params = {"params.yaml": {f"train.p{i}": round(rng.uniform(0, 1), 4) for i in range(n_params)}}
        metrics = {"metrics.json": {f"m{i}": rng.uniform(0, 1) for i in range(n_metrics)}}
        rows.append(ExperimentRow(name=f"c{b:04d}", rev=bsha, baseline=bsha, kind="baseline",
                                  baseline_name=f"main~{b}", created=base_time + timedelta(hours=b),
                                  params=params, metrics=metrics))
        for e in range(per - 1 if b else per - 1 + n - per * n_baselines):
            sha = f"{b:020x}{e:020x}"
            rows.append(ExperimentRow(
                name=f"exp-{b:03d}-{e:03d}", rev=sha, baseline=bsha,
                created=base_time + timedelta(hours=b, minutes=e),
                params={"params.yaml": {k: round(rng.uniform(0, 1), 4) for k in params["params.yaml"]}},
                metrics={"metrics.json": {k: rng.uniform(0, 1) for k in metrics["metrics.json"]}},
                annotations=Annotations(starred=rng.random() < 0.05),
                ref=f"refs/exps/{bsha[:2]}/{bsha[2:]}/exp-{b:03d}-{e:03d}"))
    return rows


def _columns(rows: list[ExperimentRow]):
    from exptui.tui.widgets.experiment_table import TableColumn

    first = rows[0]
    cols = []
    for family, data in (("params", first.params), ("metrics", first.metrics)):
        for file, values in data.items():
            for key in values:
                cols.append(TableColumn(f"{family}:{file}:{key}", key, file, family, numeric=True))
    return cols


def _cell(row: ExperimentRow, col) -> tuple[str, str]:
    family, file, key = col.id.split(":", 2)
    value = getattr(row, family).get(file, {}).get(key)
    if value is None:
        return "-", "missing"
    return (f"{value:.5g}" if isinstance(value, float) else str(value)), ""


class SyntheticProject:
    """An in-memory stand-in for `exptui.project.Project` (dev runs and the app-level benchmark)."""

    branch_name = "main"

    def __init__(self, rows: list[ExperimentRow]) -> None:
        self.rows = rows
        self.token = "0"

    def experiments(self, first: int = 0, on_first=None, shared: bool = False) -> list[ExperimentRow]:
        if on_first is not None and len(self.rows) > first:   # as the real Project: the top rows first
            on_first(list(self.rows[:first]), len(self.rows))
        return list(self.rows)

    def changed_token(self) -> str:
        return self.token


CURSOR_MOVES: list[float] = []   # dashboard: median seconds per `j` keypress (incl. Pilot overhead)

FILTERS = [0.1, 0.3, 0.5, 0.7, 0.9, 0.5, 0.2]


def _filtered(rows: list[ExperimentRow], threshold: float) -> list[ExperimentRow]:
    return [r for r in rows if r.metrics["metrics.json"]["m0"] > threshold]


async def bench_datatable(rows: list[ExperimentRow]) -> tuple[float, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    cols = _columns(rows)

    class Bench(App):
        def compose(self) -> ComposeResult:
            yield DataTable()

    app = Bench()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(DataTable)

        def load(subset: list[ExperimentRow]) -> None:
            table.clear()
            table.add_rows([[r.name, r.status, *(_cell(r, c)[0] for c in cols)] for r in subset])

        t0 = time.perf_counter()
        table.add_columns("name", "status", *(c.label for c in cols))
        load(rows)
        await pilot.pause()
        first = time.perf_counter() - t0
        lat = []
        for threshold in FILTERS:
            t0 = time.perf_counter()
            load(_filtered(rows, threshold))
            await pilot.pause()
            lat.append(time.perf_counter() - t0)
    return first, statistics.median(lat)


async def bench_experiment_table(rows: list[ExperimentRow]) -> tuple[float, float]:
    from textual.app import App, ComposeResult

    from exptui.tui.widgets.experiment_table import ExperimentTable

    cols = _columns(rows)

    class Bench(App):
        def compose(self) -> ComposeResult:
            yield ExperimentTable(_cell)

    app = Bench()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(ExperimentTable)
        t0 = time.perf_counter()
        table.set_columns([], cols)
        table.update_rows(rows)
        await pilot.pause()
        first = time.perf_counter() - t0
        lat = []
        for threshold in FILTERS:
            t0 = time.perf_counter()
            table.update_rows(_filtered(rows, threshold))
            await pilot.pause()
            lat.append(time.perf_counter() - t0)
    return first, statistics.median(lat)


async def bench_dashboard(rows: list[ExperimentRow]) -> tuple[float, float]:
    """The whole dashboard: project rows -> query-layer model (filter, group, sort, columns) -> virtual table.

    First paint = app start until the rows are on screen; keystroke = the filter expression changes by one
    character (what the debounced filter bar applies), excluding the debounce delay itself.
    """
    import subprocess
    import tempfile

    from exptui.tui.app import ExptuiApp
    from exptui.tui.view_state import ViewState

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "init", "-q", tmp], check=True)
        app = ExptuiApp(SyntheticProject(rows), Path(tmp), poll_interval=60, view=ViewState())
        t0 = time.perf_counter()
        async with app.run_test(size=(160, 48)) as pilot:
            while not app.reloads:
                await pilot.pause(0.005)
            await pilot.pause()
            first = time.perf_counter() - t0
            moves = []
            for _ in range(20):
                t0 = time.perf_counter()
                await pilot.press("j")
                moves.append(time.perf_counter() - t0)
            CURSOR_MOVES.append(statistics.median(moves))
            lat = []
            typed = ""
            for char in "m0 > 0.5 and m1 < 0.9":
                typed += char
                t0 = time.perf_counter()
                app.main._apply_filter(typed)
                await pilot.pause()
                lat.append(time.perf_counter() - t0)
    return first, statistics.median(lat)


SCREEN_KEYS = (("e", "e"), ("p", "p"), ("?", "question_mark"), ("d", "d"), ("Q", "Q"))
SCREEN_WORKLOAD = ("cursor on an experiment row; `e` sweep dialog with its form mounted, `p` plots of the row's "
                   "baseline family (best 49 drawn) with every tab filled, `?` key table laid out, `d` compare "
                   "with its baseline, `Q` queue read once")


def footer_filled(screen) -> bool:
    """Every Textual `Footer` of the screen shows its keys: it composes none until the screen's bindings were
    first reported, after the screen's first refresh, so a screen can be painted with an empty footer line."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    return all(footer.query(FooterKey) for footer in screen.query(Footer))


def screen_loaded(app, label: str) -> bool:
    """The screen a key opened is fully there (not only its loading line, nor an empty footer)."""
    screen = app.screen
    name = type(screen).__name__
    if not footer_filled(screen):
        return False
    if label == "e":
        return name == "SweepScreen" and screen.ready
    if label == "p":
        return name == "PlotScreen" and screen.built and screen.step_data is not None
    if label == "?":
        return name == "HelpScreen" and screen.loaded_width is not None
    if label == "d":
        return name == "CompareScreen" and screen.is_mounted
    if label == "Q":
        return name == "QueueScreen" and screen.refreshes > 0
    return False


async def open_screens(app, pilot) -> dict:
    """Key press until the screen is loaded and painted, per screen: (wall s, process CPU s, wall s as measured
    before 2026-12-07 third wave) or None.

    "Painted" is the first compositor update the app hands to its driver (`App._display`, called by the screen's
    refresh right after it rendered) once the screen is loaded: the moment a terminal would show it. The third
    figure is the older one, until `pilot.press` and a `pilot.pause()` after the screen was loaded returned: both
    wait for the process to be idle (`textual._wait.wait_for_idle`: 20 ms sleeps until one used < 1 ms of CPU),
    three such waits in all, so it added 40-100 ms of the benchmark's own waiting to every screen."""
    table = app.main.table
    exp = next((r for r in table.rows if r.kind == "experiment"), None)
    if exp is not None:
        table.move_cursor_to_key(exp.key)
        await pilot.pause()
    screens: dict = {}
    opening: dict = {}
    display = app._display

    def timed_display(screen, renderable) -> None:
        display(screen, renderable)
        label = opening.get("label")
        if label and "painted" not in opening and renderable is not None and screen_loaded(app, label):
            opening["painted"] = (time.perf_counter(), time.process_time())

    app._display = timed_display
    try:
        for label, key in SCREEN_KEYS:
            depth = len(app.screen_stack)
            opening.clear()
            opening["label"] = label
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            await pilot.press(key)
            while not screen_loaded(app, label) and time.perf_counter() - t0 < 60:
                await asyncio.sleep(0.002)      # not pilot.pause: its idle wait would be measured too
            await pilot.pause()
            loaded = screen_loaded(app, label)
            old = time.perf_counter() - t0
            waited = time.perf_counter()
            while "painted" not in opening and time.perf_counter() - waited < 1:
                await asyncio.sleep(0.002)      # loaded but not yet repainted (not expected)
            painted = opening.get("painted")
            opening["label"] = None
            if loaded and painted is not None:
                screens[label] = (painted[0] - t0, painted[1] - cpu0, old)
            else:
                screens[label] = None
            while len(app.screen_stack) > depth:
                await pilot.press("escape")
                await pilot.pause(0.01)
    finally:
        app._display = display
    return screens


async def bench_real_dashboard(repo: Path) -> dict:
    """One run of the real app over `repo` (see the module docstring); the caller decides cold or warm."""
    import resource

    from exptui.project import Project
    from exptui.tui.app import ExptuiApp
    from exptui.tui.view_state import ViewState

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    project = Project.open(repo)
    app = ExptuiApp(project, repo, poll_interval=60, view=ViewState())
    out: dict = {}
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.reloads:
            await pilot.pause(0.005)
        await pilot.pause()
        out["first_paint"] = time.perf_counter() - t0
        out["first_paint_cpu"] = time.process_time() - cpu0
        lat = []
        typed = ""
        for char in "f1 > 0.5 and auc < 0.9":
            typed += char
            t0 = time.perf_counter()
            app.main._apply_filter(typed)
            await pilot.pause()
            lat.append(time.perf_counter() - t0)
        out["keystroke"] = statistics.median(lat)
        app.main._apply_filter("")
        await pilot.pause()
        # the screens are opened once the dashboard has settled, as a user reaches for them: after the warm-up of
        # `e` and `p` that starts a second after the first complete listing (exptui.tui.screen_warmup)
        warm = getattr(app, "screen_warm_up", None)
        t0 = time.perf_counter()
        # and until its worker ended (it reads the cursor row's plots files after the stylesheet: plots_ahead.py)
        while warm is not None and (not warm.done or any(w.group == "screen-warm-up" and not w.is_finished
                                                          for w in app.workers)) and time.perf_counter() - t0 < 30:
            await pilot.pause(0.01)
        screens = await open_screens(app, pilot)
        out["screens"] = screens
    project.close()
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["cpu"] = time.process_time() - cpu0
    return out


def real_runs(sizes: list[int], runs: int) -> None:
    """Fresh processes over bench_show's repos: cold (index deleted) then warm, `runs` times each."""
    import json
    import shutil
    import subprocess
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_show

    tmp = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    try:
        print(f"Screens: {SCREEN_WORKLOAD}; key press until loaded and painted, wall ms (process CPU ms) "
              f"[wall ms until pilot.press and a pilot.pause returned, as measured before]. Load average at start: "
              f"{os.getloadavg()[0]:.1f}")
        print("| rows | mode | first paint (CPU) | filter keystroke | e | p | ? | d | Q | peak RSS |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in sizes:
            repo = bench_show.make_repo(n, tmp)
            for mode in ("cold", "warm"):
                results = []
                for _ in range(runs):
                    if mode == "cold":
                        shutil.rmtree(repo / ".git" / "exptui" / "index", ignore_errors=True)
                    proc = subprocess.run([sys.executable, __file__, "--child", str(repo)], capture_output=True,
                                          text=True, env=bench_show._env())
                    if proc.returncode != 0:
                        raise SystemExit(proc.stderr)
                    results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

                def med(key: str, results: list = results) -> float:
                    return statistics.median(r[key] for r in results)

                def scr(label: str, results: list = results) -> str:
                    vals = [r["screens"][label] for r in results if r["screens"][label] is not None]
                    if not vals:
                        return "—"
                    return (f"{statistics.median(v[0] for v in vals) * 1000:.0f} ms "
                            f"({statistics.median(v[1] for v in vals) * 1000:.0f}) "
                            f"[{statistics.median(v[2] for v in vals) * 1000:.0f}]")

                print(f"| {n:,} | {mode} | {med('first_paint'):.2f} s ({med('first_paint_cpu'):.2f}) | "
                      f"{med('keystroke') * 1000:.0f} ms | " + " | ".join(scr(lbl) for lbl, _k in SCREEN_KEYS)
                      + f" | {max(r['rss_mib'] for r in results):.0f} MiB |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------- table at scale
# `--real --n 1000 10000 100000`: the main table over bench_show's repos, each figure from a fresh process, measured
# from the parent's spawn (Python start included) as a user sees it:
#   first rows  app start until the screen was refreshed with the first rows (streamed: the top of the listing
#               comes first), as the app records it (`ExptuiApp.first_paint`); "+ pause": until a Pilot pause after
#               the first rows were handed over returned, the figure reported before 2026-12-07 (it also waits for
#               the loading thread, which builds the other rows, to hand back the GIL)
#   all rows    ... until the whole listing is in the table (the header no longer says "loading")
#   keystroke   one filter character (f1 > 0.5 and auc < 0.9, typed one by one, debounce excluded) until the
#               match count is shown and the table repainted: median and worst of 22
#   sort        `s` on the f1 column (ascending, descending, off, ...) until repainted: median and worst of 8
#   RSS         the process's peak resident memory; CPU: the process's CPU time until all rows were in

FILTER_TYPED = "f1 > 0.5 and auc < 0.9"


#: `--view`: the dashboard's saved view during the runs (a sort by f1 is what users keep while a sweep runs)
VIEWS: dict[str, dict] = {
    "plain": {},
    "sorted": {"sort": [("f1", True)]},
    "filtered": {"filter": "f1 > 0.5", "sort": [("f1", True)]},
    "leaderboard": {"sort": [("f1", True)], "leaderboard": True},
}


async def bench_table_child(repo: Path, spawned: float, quick: bool = False, view: str = "plain") -> dict:
    import resource

    from exptui.project import Project

    project = Project.open(repo)
    # as `exptui ui` does: the first screen worked out in a thread started before Textual is imported
    try:
        from exptui.store.prestart import take
    except ImportError:  # code from before 2026-12-07's early6
        early = project.start_first_screen() if hasattr(project, "start_first_screen") else None
    else:
        early = project.start_first_screen(take())

    from exptui.tui.app import ExptuiApp
    from exptui.tui.view_state import ViewState

    app = ExptuiApp(project, repo, poll_interval=60, view=ViewState(**VIEWS[view]),
                    **({"early": early} if early else {}))
    out: dict = {}
    async with app.run_test(size=(160, 48)) as pilot:
        main = None
        # plain sleeps, not `pilot.pause(0.002)`: each of those also walked the screen's widgets for pending
        # messages and forced a screen update (`Screen._on_timer_update`) every 2 ms on the UI thread until the
        # first rows, which a real `exptui ui` never does (before 2026-12-07 part 9 the child polled that way)
        while not (app.partial_loads or app.reloads):
            await asyncio.sleep(0.002)
        await pilot.pause()
        out["first_rows_pause"] = time.time() - spawned   # as measured before 2026-12-07 part 6 (see below)
        out["cpu_first_rows_pause"] = time.process_time()
        # the moment the screen was refreshed with the first rows, recorded by the app: a Pilot pause after it
        # also waits for the loading thread (building the other rows) to hand back the GIL, ~1 s at 100,000
        # (an app from before 2026-12-07 records nothing: the pause figure is all there is)
        while getattr(app, "first_paint", ()) is None:
            await asyncio.sleep(0.002)
        painted = getattr(app, "first_paint", None) or (out["first_rows_pause"] + spawned, out["cpu_first_rows_pause"])
        out["first_rows"] = painted[0] - spawned
        out["cpu_first_rows"] = painted[1]
        out["streamed"] = bool(app.partial_loads)
        while not app.reloads:
            await pilot.pause(0.005)
        await pilot.pause()
        out["all_rows"] = time.time() - spawned
        out["cpu_all_rows"] = time.process_time()
        main = app.main
        out["rows"] = len(main.all_rows)
        if quick:   # --quick: first rows and all rows only (the keystrokes take a minute at 100,000)
            out.update(keystroke=[0.0], keystroke_cpu=[0.0], matches=0, sort=[0.0], sort_cpu=[0.0])
            saved = repo / ".git" / "exptui" / "first-rows.pickle"   # kept for the next start, as in a session
            while not (saved.exists() and saved.stat().st_mtime > spawned) and time.time() - spawned < 120:
                await pilot.pause(0.01)
            project.close()
            out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            return out
        while not main._pandas_ready:      # the frame engine (pandas imported in the background)
            await pilot.pause(0.01)
        warm = getattr(app, "screen_warm_up", None)   # its thread's CPU must not land in a keystroke's
        while warm is not None and not warm.done and time.time() - spawned < 120:
            await pilot.pause(0.01)
        from exptui.tui.screen_warmup import GROUP   # ... nor its plots read-ahead's, which runs after `done`
        while any(w.group == GROUP and w.is_running for w in app.workers) and time.time() - spawned < 120:
            await pilot.pause(0.01)
        out["engine"] = main.model.engine
        lat, cpu = [], []
        typed = ""
        for char in FILTER_TYPED:
            typed += char
            t0, c0 = time.perf_counter(), time.process_time()
            main._apply_filter(typed)
            await pilot.pause()
            lat.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        out["keystroke"] = lat
        out["keystroke_cpu"] = cpu
        out["matches"] = main._counts["shown"]
        main._apply_filter("")
        await pilot.pause()
        table = main.table
        ids = [c.id for c in table.columns]
        table.cursor_column = next(i for i, c in enumerate(ids) if c.endswith(":f1"))
        sort_lat, sort_cpu = [], []
        for _ in range(8):
            t0, c0 = time.perf_counter(), time.process_time()
            await pilot.press("s")
            await pilot.pause()
            sort_lat.append(time.perf_counter() - t0)
            sort_cpu.append(time.process_time() - c0)
        out["sort"] = sort_lat
        out["sort_cpu"] = sort_cpu
    project.close()
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def table_runs(sizes: list[int], runs: int, repos: Path | None = None, modes: tuple[str, ...] = ("cold", "warm"),
               quick: bool = False, view: str = "plain") -> None:
    """Fresh processes over bench_show's repos (built with git fast-import), cold (index deleted) then warm.

    `repos`: keep the built repos in this directory and reuse them on the next run (building 100,000 experiments
    takes 40-230 s); without it they are built in a temporary directory and removed. Mode `changed`: warm, but
    one experiment ref is added before each start (the change token differs from the last start's, as while a
    sweep runs); mode `new`: the same with a new commit the index does not have (a sweep ran while no dashboard
    was open). `quick`: first rows and all rows only, no keystrokes."""
    import json
    import os
    import shutil
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_show

    tmp = repos if repos is not None else Path(tempfile.mkdtemp(prefix="bench-tui-table-"))
    try:
        print("| rows | mode | first rows median [min–max] (CPU) | first rows + pause (CPU) | all rows (CPU) | filter keystroke median "
              "/ worst (CPU median) | sort median / worst (CPU median) | peak RSS | load |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for n in sizes:
            t0 = time.perf_counter()
            repo = tmp / f"repo-{n}"
            if repos is None or not (repo / ".git").is_dir():
                shutil.rmtree(repo, ignore_errors=True)
                repo = bench_show.make_repo(n, tmp)
                print(f"(built {n:,} experiments in {time.perf_counter() - t0:.1f} s)", flush=True)
            if view != "plain":   # one start with the view first: its first screen is saved for the runs
                subprocess_run([sys.executable, __file__, "--table-child", str(repo), str(time.time()), "quick",
                                f"view={view}"], env=bench_show._env())
            for mode in modes:
                results = []
                for _ in range(runs):
                    if mode == "cold":
                        shutil.rmtree(repo / ".git" / "exptui" / "index", ignore_errors=True)
                    elif mode == "changed":
                        add_experiment_ref(repo)
                    elif mode == "new":
                        add_experiment_commit(repo)
                    spawned = time.time()
                    proc = subprocess_run([sys.executable, __file__, "--table-child", str(repo), str(spawned)]
                                          + (["quick"] if quick else []) + [f"view={view}"], env=bench_show._env())
                    results.append(json.loads(proc.strip().splitlines()[-1]))

                def med(key: str, results: list = results) -> float:
                    return statistics.median(r[key] for r in results)

                keys = [x for r in results for x in r["keystroke"]]
                sorts = [x for r in results for x in r["sort"]]
                key_cpu = statistics.median(x for r in results for x in r["keystroke_cpu"])
                sort_cpu = statistics.median(x for r in results for x in r["sort_cpu"])
                streamed = "" if all(r["streamed"] for r in results) else " (not streamed)"
                firsts = [r["first_rows"] for r in results]
                spread = f" [{min(firsts):.2f}–{max(firsts):.2f}]" if len(firsts) > 1 else ""
                print(f"| {n:,} | {mode} | {med('first_rows'):.2f} s{spread} ({med('cpu_first_rows'):.2f}){streamed} | "
                      f"{med('first_rows_pause'):.2f} s ({med('cpu_first_rows_pause'):.2f}) | "
                      f"{med('all_rows'):.2f} s "
                      f"({med('cpu_all_rows'):.2f}) | {statistics.median(keys) * 1000:.0f} / {max(keys) * 1000:.0f} ms"
                      f" ({key_cpu * 1000:.0f}) | {statistics.median(sorts) * 1000:.0f} / {max(sorts) * 1000:.0f} ms"
                      f" ({sort_cpu * 1000:.0f}) | "
                      f"{max(r['rss_mib'] for r in results):.0f} MiB | {os.getloadavg()[0]:.1f} |", flush=True)
            if repos is None:
                shutil.rmtree(repo, ignore_errors=True)
    finally:
        if repos is None:
            shutil.rmtree(tmp, ignore_errors=True)


def _git_in(repo: Path) -> Callable[..., str]:
    """`git -C repo ...` returning stdout (the two helpers below change the bench repo between starts)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout
    return git


def _first_experiment(git: Callable[..., str], name: str) -> tuple[str, str, int]:
    """The first experiment ref's sha, its baseline's ref prefix, and how many `<name>-*` refs that prefix has."""
    ref, sha = git("for-each-ref", "--count=1", "--format=%(refname) %(objectname)", "refs/exps/").split()[:2]
    prefix = ref.rsplit("/", 1)[0]
    return sha, prefix, len(git("for-each-ref", "--format=%(refname)", f"{prefix}/{name}-*").split())


def add_experiment_ref(repo: Path) -> None:
    """One more experiment ref, at the commit of an existing one under the same baseline (already indexed: only
    the refs changed), named `added-<n>`."""
    git = _git_in(repo)
    sha, prefix, n = _first_experiment(git, "added")
    git("update-ref", f"{prefix}/added-{n}", sha)


def add_experiment_commit(repo: Path) -> None:
    """One more experiment whose commit the index does not have yet (a sweep ran while no dashboard was open):
    a new commit with the tree and parent of an existing experiment's, its ref `new-<n>` under the same baseline."""
    git = _git_in(repo)
    sha, prefix, n = _first_experiment(git, "new")
    tree, parent = git("rev-parse", f"{sha}^{{tree}}", f"{sha}^").split()
    commit = git("commit-tree", tree, "-p", parent, "-m", f"bench: new experiment {n}").strip()
    git("update-ref", f"{prefix}/new-{n}", commit)


def subprocess_run(cmd: list[str], env: dict[str, str]) -> str:
    import subprocess

    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--real", default="", nargs="?", const="",
                        help="sizes for the real-repository dashboard runs, e.g. 1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-widgets", action="store_true", help="only the real-repository runs")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, nargs="+", default=None,
                        help="with --real: the main table at these sizes (first rows, all rows, filter and sort "
                             "keystrokes, peak RSS), e.g. --real --n 1000 10000 100000")
    parser.add_argument("--table-child", nargs="+", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--repos", type=Path, default=None,
                        help="with --n: build the repos here once and reuse them on later runs")
    parser.add_argument("--mode", choices=("cold", "warm", "changed", "new", "both"), default="both",
                        help="with --n: only cold (index deleted), only warm runs, or warm after one experiment "
                             "ref was added (changed: at an indexed commit; new: at a commit not indexed yet)")
    parser.add_argument("--view", choices=tuple(VIEWS), default="plain",
                        help="with --n: the dashboard's view (sorted: by f1, descending; filtered: f1 > 0.5 too; "
                             "leaderboard: sorted as one board); one unmeasured start with it saves its first screen")
    parser.add_argument("--quick", action="store_true",
                        help="with --n: first rows and all rows only (no filter and sort keystrokes)")
    args = parser.parse_args()
    if args.child:
        import json

        print(json.dumps(asyncio.run(bench_real_dashboard(Path(args.child)))))
        return
    if args.table_child:
        import json

        repo, spawned, *rest = args.table_child
        view = next((arg.split("=", 1)[1] for arg in rest if arg.startswith("view=")), "plain")
        print(json.dumps(asyncio.run(bench_table_child(Path(repo), float(spawned), quick="quick" in rest,
                                                       view=view))))
        return
    if args.n:
        modes = ("cold", "warm") if args.mode == "both" else (args.mode,)
        table_runs(args.n, args.runs, args.repos, modes, quick=args.quick, view=args.view)
        return
    if args.real:
        real_runs([int(s) for s in args.real.split(",")], args.runs)
    if args.skip_widgets:
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'rows':>7} {'widget':<16} {'first paint':>12} {'filter keystroke':>17}")
    print("  (dashboard = the full app: Project rows -> exptui.query table model -> ExperimentTable)")
    for n in sizes:
        rows = synthetic_rows(n)
        for label, bench in (("DataTable", bench_datatable), ("ExperimentTable", bench_experiment_table),
                             ("dashboard", bench_dashboard)):
            first, key = asyncio.run(bench(rows))
            print(f"{n:>7} {label:<16} {first * 1000:>10.0f}ms {key * 1000:>15.0f}ms", flush=True)
            if label == "dashboard":
                print(f"{'':>7} {'':<16} cursor move (j): {CURSOR_MOVES[-1] * 1000:.0f}ms", flush=True)


if __name__ == "__main__":
    main()

