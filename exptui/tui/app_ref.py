"""`exptui_app(node.app)`: the running app as an `ExptuiApp`, for screens that use its own API.

Textual types `widget.app` as a plain `App`; the screens here only ever run inside `ExptuiApp` and call its
methods (reload, quit, the project lock, workers started here). One checked narrowing keeps those calls typed
instead of guessed with `getattr`, and fails loudly if a screen is ever mounted elsewhere.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - exptui.tui.app imports the screens that import this module
    from exptui.tui.app import ExptuiApp


def exptui_app(app: object) -> ExptuiApp:
    """`app` (a screen's or widget's `.app`), checked to be the exptui dashboard."""
    from exptui.tui.app import ExptuiApp

    if not isinstance(app, ExptuiApp):
        raise TypeError(f"exptui screens run inside ExptuiApp, not {type(app).__name__}")
    return app
