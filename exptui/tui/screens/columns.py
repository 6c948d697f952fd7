"""`c` column chooser: show/hide and pin columns, keep/drop regexes, the only-changed toggle.

Works on a copy of the view state and returns it on apply (None on cancel), so the table changes only once.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, ClassVar
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from exptui.query.cells import fit
from exptui.query.inert import INPUT_ALLOWED, inert
from exptui.tui.backdrop import DimmedModalScreen
from exptui.tui.view_state import ViewState

if TYPE_CHECKING:
    from exptui.query.columns import Column

REGEX_SEPARATOR = ";"


def _prompt(column: Column, pinned: bool) -> Text:
    text = Text()
    text.append("◆ " if pinned else "  ", style="bold")
    text.append(fit(column.family, 8), style="dim")
    text.append(fit(inert(column.file), 16) + " ", style="italic dim")
    text.append(inert(column.key), style="bold")
    return text


class ColumnList(SelectionList[str]):
    """The columns, movable with j/k as everywhere else in exptui."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]


SHORT = 30   # terminal rows below which the dialog drops its spacing, so the list keeps most of the height


class ColumnsScreen(DimmedModalScreen["ViewState | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+s", "apply", "Apply", show=False),
        Binding("p", "pin", "Pin/unpin", show=False),
        Binding("o", "only_changed", "Only changed", show=False),
    ]

    def __init__(self, columns: Sequence[Column], view: ViewState) -> None:
        super().__init__(classes="dialog-screen")
        self._columns = [c for c in columns if not c.is_field]
        self._state = copy.deepcopy(view)

    def compose(self) -> ComposeResult:
        state = self._state
        hidden = set(state.hidden)
        pinned = set(state.pinned)
        with Vertical(id="columns-dialog", classes="dialog"):
            yield Label("Columns", classes="dialog-title")
            yield Checkbox("Only columns whose values differ  (o)", state.only_changed, id="only-changed")
            yield Static("space show/hide · j/k move · p pin left (◆) · ctrl+s apply · esc cancel", classes="dialog-hint")
            yield ColumnList(
                *[Selection(_prompt(c, c.id in pinned), c.id, c.id not in hidden) for c in self._columns],
                id="columns-list")
            with Horizontal(classes="columns-regex"):
                yield Label("keep")
                yield Input(f" {REGEX_SEPARATOR} ".join(state.keep), placeholder="protect from drop: full-match regex, e.g. f1|train\\..*",
                            id="keep-input", restrict=INPUT_ALLOWED)
            with Horizontal(classes="columns-regex"):
                yield Label("drop")
                yield Input(f" {REGEX_SEPARATOR} ".join(state.drop), placeholder="hide: full-match regex, e.g. .*seed",
                            id="drop-input", restrict=INPUT_ALLOWED)
            error = Static("", id="columns-error", classes="dialog-hint")
            error.display = False          # takes a row only when there is an error to show
            yield error
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Apply", id="apply", variant="primary")

    def on_mount(self) -> None:
        self.on_resize()
        self.query_one(SelectionList).focus()

    def on_resize(self) -> None:
        self.set_class(self.app.size.height < SHORT, "-short")

    def action_pin(self) -> None:
        selection_list = self.query_one(SelectionList)
        index = selection_list.highlighted
        if index is None:
            return
        column = self._columns[index]
        if column.id in self._state.pinned:
            self._state.pinned.remove(column.id)
        else:
            self._state.pinned.append(column.id)
        selection_list.replace_option_prompt_at_index(index, _prompt(column, column.id in self._state.pinned))

    def action_only_changed(self) -> None:
        box = self.query_one("#only-changed", Checkbox)
        box.value = not box.value

    def _regexes(self, input_id: str) -> list[str] | None:
        raw = self.query_one(f"#{input_id}", Input).value
        patterns = [p.strip() for p in raw.split(REGEX_SEPARATOR) if p.strip()]
        for pattern in patterns:
            from exptui.query.regex import RegexError, compile_regex

            try:
                compile_regex(pattern, whole=True)  # the engine the table will use (RE2: linear time)
            except RegexError as exc:
                error = self.query_one("#columns-error", Static)
                error.update(Text(inert(f"{input_id.split('-')[0]}: {exc}"), style="bold red"))
                error.display = True
                return None
        return patterns

    def action_apply(self) -> None:
        keep = self._regexes("keep-input")
        drop = self._regexes("drop-input")
        if keep is None or drop is None:
            return
        selected = set(self.query_one(SelectionList).selected)
        self._state.hidden = [c.id for c in self._columns if c.id not in selected]
        self._state.keep = keep
        self._state.drop = drop
        self._state.only_changed = self.query_one("#only-changed", Checkbox).value
        self.dismiss(self._state)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()
