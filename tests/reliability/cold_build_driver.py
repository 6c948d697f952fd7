"""Run `exptui ARGS...` with a cold index build that uses its helper process from the first commit.

    python cold_build_driver.py show --json

A helper (`exptui.store.index_worker`) starts only from 20,000 commits to read and with two cores; a test repo has
a few dozen commits and may run pinned to one core. This wrapper lowers those thresholds (chunks of 5 commits, the
second half for the helper, a helper even on one core) and runs the real CLI (`exptui.cli.main`), its signal
handlers and all, so a test can kill a real parent in the middle of a build that has a real helper.
"""
from __future__ import annotations

import sys

from exptui.store import index_worker
from exptui.store.index import ExperimentIndex, IndexCache

ExperimentIndex.PARALLEL_FROM = 1
IndexCache.CHUNK = 5
IndexCache.LARGE = 5
index_worker._cores = lambda: 2

if __name__ == "__main__":
    from exptui.cli import main

    sys.argv = ["exptui", *sys.argv[1:]]
    main()
