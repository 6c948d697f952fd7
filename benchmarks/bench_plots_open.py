"""Open the plots screen (`p`) several times in one dashboard process: the first open and the reopens.

`bench_tui.py --real` opens each screen once per fresh process, so it measures first opens only; the plots screen
is kept and reopened (issue 11), which only shows from the second `p` on. This drives the real app (Pilot, headless,
160x48) over `bench_show`'s repository of N experiments, waits for the dashboard to settle (first listing, the
screens' warm-up), then per open: cursor on another experiment row, `p`, until the plots are loaded (first tab
drawn, plots files read), then escape and wait until the dashboard's refresh after the close is over (its
workers, the long-lived poller aside), so that it does not land in the next open.

Printed per open: wall ms from the key press until loaded, and the process's CPU ms (user+sys, every thread: the
screen's worker and its git reader included). Pilot's `press` waits for the app to be idle (sleeps of 20 ms until
a quiet one), so the wall time includes tens of ms of that waiting; the CPU time is the figure to compare.

    python benchmarks/bench_plots_open.py --n 1000 --opens 5 [--repos DIR] [--source DIR]

`--source` runs another checkout's exptui (e.g. a `git archive` of main) with this script, for before/after.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def plots_loaded(app) -> bool:  # type: ignore[no-untyped-def]
    screen = app.screen
    return type(screen).__name__ == "PlotScreen" and screen.built and screen.step_data is not None


async def opens(repo: Path, count: int) -> list[tuple[float, float]]:
    from exptui.project import Project
    from exptui.tui.app import ExptuiApp
    from exptui.tui.view_state import ViewState

    project = Project.open(repo)
    app = ExptuiApp(project, repo, poll_interval=60, view=ViewState())
    out: list[tuple[float, float]] = []
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.reloads:
            await pilot.pause(0.005)
        warm = getattr(app, "screen_warm_up", None)
        t0 = time.perf_counter()
        # and until its worker ended (it reads the cursor row's plots files after the stylesheet: plots_ahead.py)
        while warm is not None and (not warm.done or any(w.group == "screen-warm-up" and not w.is_finished
                                                          for w in app.workers)) and time.perf_counter() - t0 < 30:
            await pilot.pause(0.01)
        await pilot.pause(0.2)
        table = app.main.table
        experiments = [r for r in table.rows if r.kind == "experiment"]
        for i in range(count):
            table.move_cursor_to_key(experiments[(i * 7) % len(experiments)].key)
            await pilot.pause()
            depth = len(app.screen_stack)
            cpu0, t0 = time.process_time(), time.perf_counter()
            await pilot.press("p")
            while not plots_loaded(app) and time.perf_counter() - t0 < 60:
                await asyncio.sleep(0.002)
            await pilot.pause()
            out.append((time.perf_counter() - t0, time.process_time() - cpu0))
            while len(app.screen_stack) > depth:
                await pilot.press("escape")
                await pilot.pause(0.01)
            t1 = time.perf_counter()
            while any(not w.is_finished and w.group != "poll" for w in app.workers) and time.perf_counter() - t1 < 30:
                await pilot.pause(0.01)
            await pilot.pause(0.1)
    project.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="experiments in the repository")
    parser.add_argument("--opens", type=int, default=5)
    parser.add_argument("--repos", default=None, help="where bench_show's repo-N is, or is made (default: a temp dir)")
    parser.add_argument("--source", default=None, help="another checkout whose exptui is measured")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(opens(Path(args.child), args.opens))))
        return
    import bench_show

    where = Path(args.repos or tempfile.mkdtemp(prefix="bench-plots-"))
    repo = where / f"repo-{args.n}"
    if not repo.exists():
        bench_show.make_repo(args.n, where)
    env = bench_show._env()
    if args.source:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.source, env.get("PYTHONPATH")]))
    load = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, __file__, "--child", str(repo), "--opens", str(args.opens)],
                          capture_output=True, text=True, env=env, check=True)
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    cells = [f"{wall * 1000:.0f} ms ({cpu * 1000:.0f})" for wall, cpu in results]
    print(f"p at {args.n:,} rows, load {load:.1f} -> {os.getloadavg()[0]:.1f}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
