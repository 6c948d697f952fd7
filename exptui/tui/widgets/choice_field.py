"""A dropdown's job in one widget: a focusable line that cycles through a few fixed choices, shown as `‹ tpe ›`.

The sweep dialog's two choices (the adaptive sampler, the direction) were Textual `Select`s: six widgets each (the
select, its current-value row with a label and two arrows, an overlay `OptionList`), all composed, styled and laid
out on every first `e` for four and two fixed words. This is one widget that renders its value itself.

Keys: right, space and enter go to the next choice, left to the previous one (both wrap); a click is the next one.
They are handled as the key reaches the widget (`_on_key`), not as bindings checked once the event has bubbled up
to the App: in a burst (`right right down`) the dialog's priority `down` moves the focus before bubbled keys are
looked at, so a binding would have turned the wrong widget, or none (see `exptui.tui.widgets.burst_input`).
The choices are the program's own words, but they are rendered as plain text all the same (never markup).

No DEFAULT_CSS of its own: the dialog's stylesheet (screens.tcss) styles it, so mounting it for the first time adds
no stylesheet source (a new source re-parses every source, see `exptui.tui.screen_warmup`).
"""
from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.message import Message
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

NEXT_KEYS = frozenset({"right", "space", "enter"})
PREVIOUS_KEYS = frozenset({"left"})


class ChoiceField(Widget, can_focus=True):
    """One of `choices`; `value` is the chosen one. Setting `value` (keys, a click or code) posts `Changed`."""

    value: reactive[str] = reactive("", init=False)

    class Changed(Message):
        """The choice changed (not posted for the value given to the constructor)."""

        def __init__(self, choice: ChoiceField, value: str) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> ChoiceField:
            return self.choice

    def __init__(self, choices: Sequence[str], value: str, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.choices = tuple(choices)
        if value not in self.choices:
            raise ValueError(f"{value!r} is not one of {self.choices}")
        self.set_reactive(ChoiceField.value, value)
        self._width = max(len(choice) for choice in self.choices)

    def validate_value(self, value: str) -> str:
        if value not in self.choices:
            raise ValueError(f"{value!r} is not one of {self.choices}")
        return value

    def watch_value(self, value: str) -> None:
        self.post_message(self.Changed(self, value))

    def cycle(self, step: int) -> None:
        """Move `step` choices on (negative: back), wrapping around."""
        self.value = self.choices[(self.choices.index(self.value) + step) % len(self.choices)]

    def render(self) -> Text:
        return Text.assemble(("‹ ", "dim"), self.value.ljust(self._width), (" ›", "dim"))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self._width + 4

    async def _on_key(self, event: events.Key) -> None:
        step = 1 if event.key in NEXT_KEYS else -1 if event.key in PREVIOUS_KEYS else 0
        if step:
            event.stop()
            event.prevent_default()
            self.cycle(step)

    async def _on_click(self, event: events.Click) -> None:
        event.stop()
        self.cycle(1)
