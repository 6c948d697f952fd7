"""`/` filter bar: an input for the query filter language, the match count, and errors with a caret.

The bar only edits text and shows feedback; the screen compiles the expression (exptui.query.filter) and tells
the bar what happened with `show_matches()` / `show_error()`. Typing is debounced by the screen.
"""
from __future__ import annotations

from typing import ClassVar
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from exptui.query.cells import cell_width
from exptui.query.inert import INPUT_ALLOWED, inert, is_inert
from exptui.tui.widgets.burst_input import BurstInput


class FilterSuggester(Suggester):
    """Inline completion (→ accepts) from the query layer: columns, operators, known values."""

    def __init__(self, complete: Callable[[str], str | None]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._complete = complete

    async def get_suggestion(self, value: str) -> str | None:
        try:
            suggestion = self._complete(value)
        except Exception:  # completion must never break typing
            return None
        # the input draws a suggestion as it is: one quoting a value with control characters (which nobody can
        # type anyway) is not offered
        return suggestion if suggestion is None or is_inert(suggestion) else None


class FilterBar(Vertical):
    """Hidden until `/`; `esc` clears and closes, `enter` keeps the filter and returns to the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_and_close", "Clear filter"),   # shown: the footer says how to get out
    ]

    class Changed(Message):
        def __init__(self, expression: str) -> None:
            super().__init__()
            self.expression = expression

    class Closed(Message):
        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def __init__(self, complete: Callable[[str], str | None] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._complete = complete

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-row"):
            yield Static("/", id="filter-prompt", markup=False)
            # editing keys (ctrl+u, backspace) in the order typed, also in one terminal read (see BurstInput)
            yield BurstInput(placeholder="f1 > 0.5 and train.model in ['lightgbm', 'random_forest']  ·  status == failed",
                             id="filter-input", restrict=INPUT_ALLOWED,
                             suggester=FilterSuggester(self._complete) if self._complete else None)
            yield Static("", id="filter-count", markup=False)
        yield Static("", id="filter-error", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    @property
    def expression(self) -> str:
        return self.input.value

    def open(self, expression: str) -> None:
        self.display = True
        if self.input.value != expression:
            self.input.value = expression
        self.input.focus()
        self.input.cursor_position = len(expression)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Closed(cleared=False))

    def action_clear_and_close(self) -> None:
        self.input.value = ""
        self.show_matches(None, None)
        self.post_message(self.Changed(""))
        self.post_message(self.Closed(cleared=True))

    def show_matches(self, shown: int | None, total: int | None) -> None:
        self.query_one("#filter-error", Static).update("")
        self.remove_class("-error")
        count = "" if shown is None else f"{shown} of {total} match"
        self.query_one("#filter-count", Static).update(count)

    def show_error(self, message: str, column: int | None) -> None:
        """One line: a caret under the offending character of the input, then the message."""
        self.add_class("-error")
        self.query_one("#filter-count", Static).update("error")
        text = Text()
        if column is not None:
            # the input text starts after the 2-cell prompt and the input's 1-cell padding/border; the caret counts
            # the cells of the text before the mistake (a wide character takes two)
            before = cell_width(inert(self.input.value[: max(0, column)]))
            text.append(" " * (3 + before) + "^ ", style="bold")
        text.append(inert(message))          # may quote column names and values from data
        self.query_one("#filter-error", Static).update(text)
