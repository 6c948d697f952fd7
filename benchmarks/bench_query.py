"""Benchmark of the headless table model: parse, filter, sort and table views at 1k/10k rows.

    /work/venv/bin/python benchmarks/bench_query.py [--rows 10000] [--repeat 5] [--clock wall|cpu]

Table operations run once per engine (``rows``: per-row predicate and sort; ``[frame]``: DataFrame masks and
lexsort, see exptui.query.table.ENGINES). Rows look like a real sweep: 20 params in two files, 8 metrics, 10 baselines, a few
queued/failed rows with no metrics and some unreadable metrics files. Times are the best
of ``--repeat`` runs (the machine is shared; best-of is the least noisy estimate).
"""
from __future__ import annotations

import argparse
import hashlib
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from exptui.query.columns import ColumnIndex, collect_columns
from exptui.query.compare import compare
from exptui.query.filter import compile_filter
from exptui.query.sort import parse_sort_spec, sort_rows
from exptui.query.show_json import record
from exptui.query.frame import TableFrame
from exptui.query.mask import compile_mask
from exptui.query.table import ENGINES, TableModel
from exptui.records import Annotations, ExperimentRow

SIMPLE = "metrics.json:f1 > 0.5"
COMPLEX = ("(metrics.json:f1 > 0.5 and train.model in ['rf', 'lgbm']) or (loss < 0.3 and not status == 'failed') "
           "or name ~= 'exp-1[0-9]+$' or has label 'keep'")


def make_rows(n: int, seed: int = 0) -> list[ExperimentRow]:
    rnd = random.Random(seed)
    t0 = datetime(2026, 11, 1)
    baselines = [hashlib.sha1(f"b{i}".encode()).hexdigest() for i in range(10)]
    rows = [ExperimentRow(name=f"v{i}", rev=sha, baseline=sha, kind="baseline", baseline_name=f"v{i}",
                          created=t0 + timedelta(days=i),
                          params={"params.yaml": {"train.lr": 0.1, "train.model": "rf"}},
                          metrics={"metrics.json": {"f1": 0.5, "loss": 0.5}})
            for i, sha in enumerate(baselines)]
    for i in range(n - len(rows)):
        status = rnd.choices(["success", "failed", "queued"], [90, 5, 5])[0]
        params = {
            "params.yaml": {
                "train.lr": rnd.choice([0.1, 0.03, 0.01, 0.003]),
                "train.model": rnd.choice(["rf", "lgbm", "linear"]),
                "train.max_depth": rnd.randint(2, 12),
                "train.n_estimators": rnd.choice([50, 100, 200, 400]),
                **{f"train.opt{j}": rnd.random() for j in range(10)},
            },
            "prepare.yaml": {f"prepare.k{j}": rnd.randint(0, 5) for j in range(6)},
        }
        metrics: dict[str, dict[str, Any]] = {}
        errors: dict[str, str] = {}
        if status == "success":
            if rnd.random() < 0.01:
                errors["metrics.json"] = "while parsing a block mapping"
            else:
                metrics["metrics.json"] = {"f1": rnd.random(), "loss": rnd.random(), "auc": rnd.random(),
                                           "precision": rnd.random(), "recall": rnd.random()}
                metrics["eval/metrics.json"] = {"f1": rnd.random(), "rmse": rnd.random(), "time": rnd.random() * 60}
        base = rnd.choice(baselines)
        rows.append(ExperimentRow(
            name=f"exp-{i}", rev=hashlib.sha1(f"e{i}".encode()).hexdigest(), baseline=base, kind="experiment"
            if status != "queued" else "queued", status=status,  # type: ignore[arg-type]
            baseline_name=f"v{baselines.index(base)}", created=t0 + timedelta(minutes=i), params=params,
            metrics=metrics, errors=errors,
            annotations=Annotations(starred=rnd.random() < 0.05, labels=("keep",) if rnd.random() < 0.02 else ()),
        ))
    return rows


CLOCK: Callable[[], float] = time.perf_counter


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = CLOCK()
        fn()
        times.append(CLOCK() - t)
    return min(times)


def _import_cost(module: str) -> float:
    """What the first use of the frame engine costs a fresh process: importing pandas (and numpy)."""
    import subprocess
    import sys

    def run(code: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t

    return min(run(f"import {module}") for _ in range(3)) - min(run("pass") for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: this process's CPU time (steadier than wall time on a machine other jobs load)")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    big = make_rows(args.rows)
    small = big[: max(args.rows // 10, 20)]
    columns = collect_columns(big)
    index = ColumnIndex(columns)
    results: list[tuple[str, float]] = []

    def measure(label: str, fn: Callable[[], Any], per: int = 1) -> None:
        results.append((label, best(fn, args.repeat) / per))

    measure(f"collect_columns {len(big)}", lambda: collect_columns(big))
    measure("ColumnIndex build", lambda: ColumnIndex(columns))
    measure("parse+compile simple (per keystroke)", lambda: [compile_filter(SIMPLE, index) for _ in range(100)], 100)
    measure("parse+compile complex (per keystroke)",
            lambda: [compile_filter(COMPLEX, index) for _ in range(100)], 100)
    simple, complex_ = compile_filter(SIMPLE, index), compile_filter(COMPLEX, index)
    measure(f"filter simple {len(small)}", lambda: simple.filter(small))
    measure(f"filter simple {len(big)}", lambda: simple.filter(big))
    measure(f"filter complex {len(small)}", lambda: complex_.filter(small))
    measure(f"filter complex {len(big)}", lambda: complex_.filter(big))
    one = parse_sort_spec("metrics.json:f1:desc", index)
    two = parse_sort_spec("train.model,metrics.json:f1:desc", index)
    measure(f"sort {len(big)} one key, leaderboard", lambda: sort_rows(big, one, within_baseline=False))
    measure(f"sort {len(big)} two keys, grouped", lambda: sort_rows(big, two))
    frame = TableFrame(big)
    simple_mask, complex_mask = compile_mask(simple.node), compile_mask(complex_.node)
    simple_mask(frame), complex_mask(frame)  # the columns they touch, built once
    measure(f"mask simple {len(big)} (frame built)", lambda: simple_mask(frame))
    measure(f"mask complex {len(big)} (frame built)", lambda: complex_mask(frame))
    measure(f"mask simple {len(big)} (fresh frame)", lambda: simple_mask(TableFrame(big)))
    measure(f"mask complex {len(big)} (fresh frame)", lambda: complex_mask(TableFrame(big)))
    for engine in ENGINES:
        tag = "" if engine == "rows" else " [frame]"
        table = TableModel(big, engine=engine)  # type: ignore[arg-type]
        measure(f"table.set_rows {len(big)}{tag}", lambda: table.set_rows(big))

        def view(text: str, sort: str = "") -> None:
            table.set_filter(text)
            table.set_sort(sort)
            table.view()

        def fresh(text: str, sort: str = "") -> None:
            table.set_rows(big)
            view(text, sort)

        measure(f"table filter+view {len(big)} (keystroke){tag}", lambda: view(SIMPLE))
        measure(f"table complex filter+view {len(big)} (keystroke){tag}", lambda: view(COMPLEX))
        measure(f"table first filter+view {len(big)} after set_rows{tag}", lambda: fresh(SIMPLE))
        table.set_grouped(False)
        measure(f"table sort+view {len(big)} leaderboard{tag}", lambda: view("", "metrics.json:f1:desc"))
        measure(f"table filter+sort+view {len(big)} leaderboard{tag}",
                lambda: view(SIMPLE, "train.model,metrics.json:f1:desc"))
        measure(f"table first sort+view {len(big)} leaderboard after set_rows{tag}",
                lambda: fresh("", "metrics.json:f1:desc"))
        table.set_grouped(True)
        measure(f"table sort+view {len(big)} grouped{tag}", lambda: view("", "train.model,metrics.json:f1:desc"))
        table.set_filter("").set_sort("")
        table.set_only_changed(True)
        measure(f"table view only-changed {len(big)}{tag}",
                lambda: (setattr(table, "only_changed", True), table.view()))
        table.set_only_changed(False)
    table = TableModel(big)
    measure(f"to_json_records {len(big)}", table.to_json_records)
    measure(f"record x {len(big)} (show --json, no options)", lambda: [record(r) for r in big])
    measure(f"render_text {len(big)}", lambda: table.render_text(width=200))
    measure(f"to_markdown {len(big)}", table.to_markdown)
    measure("compare 5 experiments", lambda: compare(big[10:15]))
    results.append(("import pandas (fresh process, wall time, minus bare startup)", _import_cost("pandas")))

    width = max(len(label) for label, _ in results)
    print(f"{'operation':<{width}}  {'ms':>9}")
    print(f"{'-' * width}  {'-' * 9}")
    for label, seconds in results:
        print(f"{label:<{width}}  {seconds * 1000:9.3f}")


if __name__ == "__main__":
    main()
