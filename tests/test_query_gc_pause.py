"""`gc_paused`: the cyclic collector is off inside, back on after (nested, threaded, on errors), never turned on by
a pause when it was off before."""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from exptui.query.gc_pause import gc_paused


@pytest.fixture
def gc_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        (gc.enable if was else gc.disable)()


def test_pause_disables_and_reenables(gc_enabled: None) -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # only the outermost pause re-enables
    assert gc.isenabled()


def test_pause_reenables_after_an_exception(gc_enabled: None) -> None:
    with pytest.raises(KeyError):
        with gc_paused():
            raise KeyError("boom")
    assert gc.isenabled()


def test_pause_leaves_a_disabled_collector_disabled(gc_enabled: None) -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_pauses_in_threads_reenable_once_both_end(gc_enabled: None) -> None:
    inside, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def worker() -> None:
        with gc_paused():
            inside.set()
            release.wait(30)
        seen.append(gc.isenabled())

    t = threading.Thread(target=worker)
    with gc_paused():
        t.start()
        assert inside.wait(30)
    assert not gc.isenabled()  # the worker's pause still runs
    release.set()
    t.join(30)
    assert seen == [True] and gc.isenabled()


def test_a_collector_hold_is_released_once_and_by_its_timer_if_nobody_does(gc_enabled: None) -> None:
    import time

    from exptui.query.gc_pause import CollectorHold

    assert gc.isenabled()
    hold = CollectorHold()
    assert hold.held and not gc.isenabled()
    hold.release()
    hold.release()                      # idempotent: the pause depth is not taken below zero
    assert not hold.held and gc.isenabled()
    forgotten = CollectorHold(limit=0.01)   # a screen built and never shown: nobody releases it
    assert not gc.isenabled()
    deadline = time.monotonic() + 60
    while forgotten.held and time.monotonic() < deadline:   # poll until the timer thread has released it
        time.sleep(0.005)
    assert not forgotten.held and gc.isenabled()
    forgotten.release()
    assert gc.isenabled()
