"""The dashboard's footer, which does not rebuild its keys while another screen covers it.

Textual's `Footer` recomposes (one `FooterKey` widget per binding, each styled) whenever its screen's bindings
change, and pushing any screen over the dashboard changes them: the dashboard is suspended and its table loses
focus. So every `e`, `?`, `p`, `d`, `Q` paid for rebuilding ~18 footer keys that were covered or dimmed, about a
tenth of the sweep dialog's open time (cProfile, 1,000 experiments). Covered, the footer keeps the dashboard's keys
as they were; it rebuilds when the dashboard is on top again (Textual refreshes the bindings on resume).
"""
from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class DashboardFooter(Footer):
    """`Footer` that skips rebuilds while its screen is not the app's active screen."""

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and self.app.screen is not self.screen:
            return
        super().bindings_changed(screen)
