"""An `Input` whose editing keys (backspace, ctrl+u, ctrl+w, arrows...) take effect in typing order.

Textual handles a printable key in the focused Input at once, but a key bound to an action only after the event
has bubbled up to the App (that is where non-priority bindings are checked). Keys that arrive in one terminal read
(a fast typist, a paste-like burst from tmux `send-keys`) are all queued on the Input first, so `ctrl+u 99` became
"99" then "clear": an empty field. This Input runs its own bindings as the key reaches it, in order.
"""
from __future__ import annotations

from textual import events

from exptui.tui.widgets.unmounted_styles import FormInput


class BurstInput(FormInput):
    """`Input` with its own key bindings applied in arrival order (see the module docstring); like every form
    input, it skips style passes until mounted (`exptui.tui.widgets.unmounted_styles`)."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)
