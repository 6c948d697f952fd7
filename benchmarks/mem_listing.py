"""Where the dashboard's memory goes at scale: the listing the dashboard loads (`Project.experiments(shared=True)`),
then its table model and frame, measured in one process over an existing repository.

Prints the process's RSS after each step, optionally (``--trace``) the top allocation sites while the rows are
held (tracemalloc, grouped by file and line: slower, and doubles the RSS), and the sizes of one representative row
and index entry. Made for the 100,000-experiment repository `bench_tui.py --real --n 100000 --repos DIR` builds
(pass a copy of it: the first run of another exptui version rebuilds its index).

Run: .venv/bin/python benchmarks/mem_listing.py DIR/repo-100000 [--trace]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--trace", action="store_true", help="top allocation sites while the rows are held")
    args = parser.parse_args()

    import exptui.tui.app  # noqa: F401  what the dashboard imports before listing
    from exptui.project import Project
    from exptui.query.table import TableModel

    print(f"imports: {rss_mib():.0f} MiB")
    if args.trace:
        tracemalloc.start(1)
    cpu = time.process_time()
    project = Project.open(args.repo)
    rows = project.experiments(shared=True)
    print(f"listing: {len(rows)} rows, {rss_mib():.0f} MiB, {time.process_time() - cpu:.2f} s CPU")
    if args.trace:
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:15]:
            print("  ", stat)
        tracemalloc.stop()
    model = TableModel(rows, fields=(), engine="frame")
    frame = model.frame()
    frame.row_array, frame.kind_codes(), frame.succeeded(), frame.spread()
    for column in model.columns:
        if column.family == "metrics":
            frame.typed(column)
    print(f"model + frame (typed metrics): {rss_mib():.0f} MiB")
    row = next(r for r in rows if r.kind == "experiment")
    size = sys.getsizeof
    extra = f"+ a {size(row.__dict__)}-byte __dict__" if hasattr(row, "__dict__") else "slots"
    print("one experiment row:", size(row), "bytes,", extra,
          "rev", size(row.rev), "ref", size(row.ref), "name", size(row.name),
          "params", size(row.params), "metrics", size(row.metrics))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, "
          f"CPU {time.process_time():.2f} s, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
