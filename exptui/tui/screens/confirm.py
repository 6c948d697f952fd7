"""Small modal dialogs: yes/no confirmation, one-line input, and a choice among a few buttons.

Each is a `ModalScreen` that dismisses with its answer, so callers write
`self.app.push_screen(ConfirmScreen(...), callback)` and never block the event loop.

Titles and messages quote experiment names and notes: a ``str`` is shown as plain, inert text (never markup); a
caller that wants a bold name passes a `Text` built with `exptui.tui.text.assemble`.
"""
from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from rich.text import Text
from textual.widgets import Button, Input, Label, Static

from exptui.query.inert import INPUT_ALLOWED, inert
from exptui.tui.backdrop import DimmedModalScreen
from exptui.tui.text import as_text, plain


class ConfirmScreen(DimmedModalScreen[bool]):
    """Ask before doing something that cannot be undone. `y`/enter confirms, `n`/esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, title: str, message: str | Text, *, yes: str = "Yes", no: str = "Cancel",
                 danger: bool = False) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._message = message
        self._yes = yes
        self._no = no
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self._title), classes="dialog-title")
            yield Static(as_text(self._message), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._no, id="no")
                yield Button(self._yes, id="yes", variant="error" if self._danger else "primary")

    def on_mount(self) -> None:
        # destructive: enter alone must not destroy, so Cancel has the focus (y still confirms)
        self.query_one("#no" if self._danger else "#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class InputScreen(DimmedModalScreen["str | None"]):
    """Ask for one line (a branch name, a label, a note). Enter accepts, esc cancels (None).

    A prefilled value from data (a note with an ESC in it) is shown inert; accepted unchanged, the original value
    comes back, so looking at a note never rewrites it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, prompt: str | Text, *, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._prompt = prompt
        self._value = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self._title), classes="dialog-title")
            yield Static(as_text(self._prompt), classes="dialog-body")
            yield Input(value=self.shown_value, placeholder=inert(self._placeholder), id="dialog-input",
                        restrict=INPUT_ALLOWED)
            yield Static("enter accept · esc cancel", classes="dialog-hint", markup=False)

    @property
    def shown_value(self) -> str:
        """The prefilled value as the input shows it (inert)."""
        return inert(self._value)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self._value if event.value == self.shown_value else event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(DimmedModalScreen["str | None"]):
    """Pick one of a few labelled choices (e.g. quit: keep the queue running / stop workers / cancel)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, message: str, choices: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._message = message
        self._choices = choices           # (id, label)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self._title), classes="dialog-title")
            yield Static(as_text(self._message), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                for choice_id, label in self._choices:
                    yield Button(label, id=f"choice-{choice_id}")

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(None)
