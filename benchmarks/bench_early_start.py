"""When the dashboard's early start (`Project.start_first_screen`) finishes, in a fresh process as `exptui ui`
starts it: for-each-ref pre-started first thing when the code has `exptui.store.prestart`, the project opened,
the early thread started, then Textual and the app imported on the main thread beside it (its GIL contention).

    python benchmarks/bench_early_start.py REPO [--runs N] [--code DIR ...] [--mode changed|new]

Each run adds one experiment (`bench_tui.add_experiment_ref`, or `add_experiment_commit` with `--mode new`)
and starts one child per code tree (`--code`: the root of an exptui checkout, default this one), alternating
them, so every tree is measured under the same load; `DIR+plain`: that tree without the pre-started for-each-ref. Per child: wall time since the spawn and process CPU when
the early thread ended, its own thread CPU, and when the app's import ended. Not a test: timings only.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: a code tree given as DIR+plain runs without the pre-started for-each-ref (the A/B of that step alone)
PLAIN = "+plain"


def child(code: str, repo: str, spawned: float) -> dict:
    plain = code.endswith(PLAIN)
    code = code.removesuffix(PLAIN)
    sys.path.insert(0, code)
    try:
        from exptui.store import prestart
    except ImportError:
        prestart = None   # type: ignore[assignment]
    if plain:
        prestart = None   # type: ignore[assignment]
    if prestart is not None:
        prestart.start(repo)
    from exptui.project import Project
    from exptui.store import first_rows

    marks: dict = {}
    real_run = first_rows.EarlyStart._run

    def run(self: first_rows.EarlyStart) -> None:
        real_run(self)
        marks["thread_cpu"] = time.thread_time()
        marks["done_wall"] = time.time() - spawned
        marks["done_cpu"] = time.process_time()

    first_rows.EarlyStart._run = run  # type: ignore[method-assign]
    project = Project.open(repo, long_lived=True)
    marks["open_wall"] = time.time() - spawned
    started = prestart.take() if prestart is not None else None
    early = project.start_first_screen(started) if started is not None else project.start_first_screen()
    import exptui.tui.app  # noqa: F401 - the UI's imports beside the early thread, as in `exptui ui`

    marks["imported_wall"] = time.time() - spawned
    result = early.result()
    marks["amended"] = bool(result is not None and result.rows is not None)
    project.close()
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", nargs="+", default=[str(HERE.parent)])
    parser.add_argument("--mode", choices=("changed", "new"), default="changed")
    parser.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        code, repo, spawned = args.child
        print(json.dumps(child(code, repo, float(spawned))))
        return
    sys.path.insert(0, str(HERE))
    import bench_show
    import bench_tui

    env = bench_show._env()
    for _ in range(args.runs):
        (bench_tui.add_experiment_ref if args.mode == "changed" else bench_tui.add_experiment_commit)(args.repo)
        for code in args.code:
            load = os.getloadavg()[0]
            spawned = time.time()
            out = subprocess.run([sys.executable, __file__, str(args.repo), "--child", code, str(args.repo),
                                  str(spawned)], capture_output=True, text=True, env=env, check=True).stdout
            m = json.loads(out.strip().splitlines()[-1])
            print(f"{code}: early thread done {m['done_wall']:.3f} s wall ({m['done_cpu']:.3f} CPU), its own "
                  f"{m['thread_cpu']:.3f} s CPU; opened {m['open_wall']:.3f}, UI imported {m['imported_wall']:.3f}"
                  f"; amended {m['amended']}; load {load:.1f}", flush=True)


if __name__ == "__main__":
    main()
