"""The cyclic collector paused while a screen opens (see `exptui.query.gc_pause.CollectorHold` for why).

A screen makes an `OpeningHold` in its constructor (which runs in the key's action) and releases it once it is
loaded; its unmount releases it too, and so does a timer `LIMIT` seconds after it was made, so a screen that
fails to load, or is built and never shown, never leaves the collector off for longer than that.
"""
from __future__ import annotations

from exptui.query.gc_pause import CollectorHold

LIMIT = 5.0   # seconds: longer than any open on a loaded machine, short enough to be harmless if loading fails


class OpeningHold:
    """Holds the collector from construction until `release()`, the screen's unmount or `LIMIT` seconds."""

    def __init__(self) -> None:
        self._hold = CollectorHold(LIMIT)

    @property
    def held(self) -> bool:
        return self._hold.held

    def release(self) -> None:
        self._hold.release()
