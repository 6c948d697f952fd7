"""Replay keys that arrived before a screen's widgets existed, routed exactly as the App routes a typed key.

A screen that mounts its form after the first paint (so it shows at once) receives the keys typed in the meantime
itself: nothing has focus yet. Replaying them in order through the App's own routing (priority bindings first, then
the widget focused at that moment, whose unhandled keys bubble up to the non-priority bindings) makes `e`, Tab, Tab,
`99` typed in one burst land where they would have landed had the form been there from the start: a focus move
takes effect before the next key is routed, as in the App.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import events
from textual.app import App
from textual.screen import Screen


async def replay_keys(app: App[Any], screen: Screen[Any], keys: Iterable[tuple[str, str | None]]) -> None:
    """Route each (key, character) as `App.on_event` routes a Key from the driver (Textual 8's private
    `_check_bindings` and `_forward_event`: there is no public call that routes a key synchronously)."""
    for key, character in keys:
        if await app._check_bindings(key, priority=True):
            continue
        event = events.Key(key, character)
        event.set_sender(app)
        (app.focused or screen)._forward_event(event)
