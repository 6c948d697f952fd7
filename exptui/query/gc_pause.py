"""Pause Python's cyclic garbage collector while rows are built in bulk.

Why: listing experiments allocates millions of small container objects (a dict per params/metrics file, an
`ExperimentRow` per experiment, a dict per ``show --json`` record) and none of them form reference cycles, so
reference counting frees every one of them; the cyclic collector finds nothing. It still runs: every 700
allocations a young collection, and whenever the long-lived objects have grown by a quarter a full collection that
walks *every* tracked object. While a listing grows by tens of thousands of rows, those full walks add up: at
50,000 experiments (`benchmarks/bench_show.py`) the collector was 45 % of the CPU time of ``show --json``
(2.60 s -> 1.44 s in-process with it paused), and at 100,000 44 % of the warm command (issue 13); with it paused
the cost per experiment stays flat as the repository grows.

The collector is only paused, never left off: it is re-enabled when the outermost pause ends (pauses nest and may
be entered from several threads, e.g. the dashboard lists in a worker thread while the UI thread runs), and only if
it was enabled when the outermost pause began. Cyclic garbage made meanwhile is collected afterwards, as usual.
`gc.freeze()` was measured too (freeze the built rows so later collections skip them) but not used for listings:
in a long-lived process (the dashboard) it would also pin every cycle that exists at that moment until an
unfreeze. The dashboard uses it once (`freeze_once`), right after its first large load: rows built while the
collector was paused are all still "young", so the first collections after the load walk every one of them (a
young, a middle and a full collection: about a second at 100,000 rows, landing in whatever the user does next, a
keystroke or a repaint). Frozen, they are never walked; they are still freed by reference counting when a reload
replaces them. What it pins is only the cyclic garbage of the app's start-up, once.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_reenable = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off for the duration of the block (nestable, thread-safe); reference counting still
    frees everything acyclic at once."""
    global _depth, _reenable
    with _lock:
        if _depth == 0:
            _reenable = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _reenable:
                gc.enable()


_frozen = False


def freeze_once() -> bool:
    """`gc.freeze()` the first time it is called in this process (see the module docstring); True if it froze."""
    global _frozen
    with _lock:
        if _frozen:
            return False
        _frozen = True
    gc.freeze()
    return True


class CollectorHold:
    """`gc_paused` entered now and left at `release()` (idempotent): for a pause that spans callbacks, such as a
    dashboard screen from its key press until it is loaded.

    Why there: opening a screen allocates tens of thousands of short-lived container objects (widgets, styles,
    segments, the rows' flattened values), which ran 100-170 young and one full collection per open at 1,000
    experiments: 100-200 ms of CPU per open under load (a full collection walks the app's ~100,000 objects). With
    the collector paused until the screen is loaded that is one young collection afterwards, while the user reads.

    `limit` seconds after it was made, a timer thread releases it in any case: a hold whose owner never gets to
    release it (a screen built but never shown, a loader that failed) must not leave the collector off for good.
    """

    def __init__(self, limit: float | None = None) -> None:
        self._release_lock = threading.Lock()
        self._pause = gc_paused()
        self._pause.__enter__()
        self.held = True
        self._timer: threading.Timer | None = None
        if limit is not None:
            self._timer = threading.Timer(limit, self.release)
            self._timer.daemon = True
            self._timer.start()

    def release(self) -> None:
        """Give the collector back (once; from any thread)."""
        with self._release_lock:
            if not self.held:
                return
            self.held = False
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        self._pause.__exit__(None, None, None)
