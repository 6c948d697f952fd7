"""`alive(node)`: may a late callback still touch this screen's widgets?

A worker thread hands its result to the UI thread (`app.call_from_thread`), a timer fires, a message posted from a
thread arrives: by then the screen may be closing. Textual removes a screen children first: it marks the whole
subtree as being pruned at once, then waits for every child to leave the DOM, and only then unmounts the screen
(which cancels its workers) and detaches it. All that time the screen is still attached (`is_attached` is True
while the app runs and its parent chain reaches the App; `run_test` even prunes every screen before it sets the
app's exit flag), so a callback that checked `is_attached` and then ran `query_one` got `NoMatches` — raised in
the worker thread that waited on it, which ended a worker started with `exit_on_error` (the default) as a crash of
the whole app. The one sign that holds from the start of a removal is Textual's own pruning flag, read here and
nowhere else (`tests/test_tui_teardown.py` pins it, so a Textual upgrade that renames it fails there).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from textual.dom import DOMNode

P = ParamSpec("P")
N = TypeVar("N", bound=DOMNode)


def alive(node: DOMNode) -> bool:
    """True while `node` is in the running app's DOM and not being removed (its widgets can be queried)."""
    return node.is_attached and not getattr(node, "_pruning", False)


def while_alive(method: Callable[Concatenate[N, P], None]) -> Callable[Concatenate[N, P], None]:
    """A screen's callback for late work (a thread's result, a timer): does nothing once the screen is closing."""

    @wraps(method)
    def guarded(self: N, *args: P.args, **kwargs: P.kwargs) -> None:
        if alive(self):
            method(self, *args, **kwargs)

    return guarded
