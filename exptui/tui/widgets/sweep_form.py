"""One form field per param for the sweep dialog: label, input prefilled with the value, inline error.

A field turns its text into one `-S` override (``[file:]key=text``) and asks
dvc_compat.sweep to parse it, so the dialog accepts exactly what
`exptui run --queue -S` accepts and shows the parser's message (which names
the bad token) right under the field. A value of the wrong type for the param
(``train.max_depth=abc`` where max_depth is a number) is refused here too, with the
rule the queue applies (`dvc_compat.sweep.type_mismatch`), so the user sees it on the
field instead of as an error after pressing queue.
"""
from __future__ import annotations

import re
from typing import Any

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from dvc_compat.errors import SweepSyntaxError
from dvc_compat.params import format_value
from dvc_compat.sweep import DEFAULT_FILE, Override, parse_override, type_mismatch
from exptui.query.inert import INPUT_ALLOWED, inert
from exptui.tui.text import lines, plain
from exptui.tui.widgets.burst_input import BurstInput

SWEEP_HINT = "value · 3,5,7 · range(1,10,2) · choice(a,b) · uniform(a,b) · loguniform(a,b) · randint(a,b)"


def override_text(file: str, key: str, value_text: str) -> str:
    """The `-S` text for one field; the default params file needs no prefix."""
    prefix = "" if file == DEFAULT_FILE else f"{file}:"
    return f"{prefix}{key}={value_text.strip()}"


def field_error(exc: SweepSyntaxError, override: str, value: str) -> str:
    """The parser's message without the `-S '...'` prefix, with the column counted within the field."""
    message = str(exc).removeprefix(f"-S '{override}': ")
    column = exc.column
    if column is not None:
        start = len(override) - len(value)          # 0-based index of the value's first character
        if column > start:
            message = re.sub(r"\(column \d+\)$", f"(column {column - start})", message)
    return message


def type_error(override: Override, key: str, current: Any) -> str | None:
    """The first value of the field's sweep that cannot replace the param's current value, as one line; None if
    all fit. Distribution bounds are checked too: `uniform(1,2)` over a boolean makes no sense either."""
    for value in override.sweep.values:
        kind = type_mismatch(current, value)
        if kind is not None:
            shown = format_value(value)
            return f"{key}={shown}: give {kind}, like its value now ({format_value(current)})"
    return None


class SweepField(Widget):
    """A param's row in the form. `changed` means the text differs from the experiment's value as shown.

    Keys and values are data: the label and the prefilled input show them inert (an ESC as ``␛``), and an unchanged
    field keeps the experiment's real value (`original`), never the inert picture of it.

    Few widgets per field, since a form has one field per param and every widget is styled and laid out when the
    dialog opens: the key and the input sit in a two-column grid (no row container), and the error line under them
    is only mounted once the field has an error.
    """

    DEFAULT_CSS = """
    SweepField { height: auto; layout: grid; grid-size: 2; grid-columns: 26 1fr; grid-rows: auto; }
    SweepField { margin-bottom: 1; }
    SweepField .sweep-error { column-span: 2; }
    SweepField .sweep-key { width: 26; padding: 0 1 0 2; color: $text-muted; }
    SweepField Input { width: 1fr; background: $boost; }
    SweepField .sweep-error { color: $error; padding: 0 0 0 26; height: auto; display: none; }
    SweepField.-invalid .sweep-error { display: block; }
    SweepField.-invalid Input { background: $error 25%; }
    SweepField.-changed .sweep-key { color: $accent; text-style: bold; }
    """

    def __init__(self, file: str, key: str, value: Any) -> None:
        super().__init__(classes="sweep-field")
        self.file = file
        self.key = key
        self.current = value                     # the param's value in the row: its type is what a sweep must keep
        self.original = format_value(value)
        self.shown = inert(self.original)        # what the input starts with
        self.override: Override | None = None   # set when the text is a valid change
        self.error: str | None = None
        self._error_line: Static | None = None  # mounted with the first error

    def compose(self) -> ComposeResult:
        yield Label(plain(self.key), classes="sweep-key")
        yield BurstInput(value=self.shown, placeholder=self.shown, compact=True, restrict=INPUT_ALLOWED)

    def reset_value(self, value: Any) -> None:
        """Start over from another row's value of the same param (a reused dialog, see `SweepScreen.reopen`):
        the input shows it, as a newly built field would."""
        self.current = value
        self.original = format_value(value)
        self.shown = inert(self.original)
        field_input = self.query_one(Input)
        field_input.placeholder = self.shown
        field_input.value = self.shown
        field_input.cursor_position = len(self.shown)

    def on_descendant_focus(self) -> None:
        self.add_class("-current")          # the key of the field the next keystroke goes to is marked

    def on_descendant_blur(self) -> None:
        self.remove_class("-current")

    @property
    def draft_key(self) -> str:
        """This field's name in a saved draft (file and key: the same key may sit in two params files)."""
        return override_text(self.file, self.key, "")

    @property
    def text(self) -> str:
        return self.query_one(Input).value

    @property
    def changed(self) -> bool:
        return self.text.strip() not in (self.original, self.shown)

    def as_override(self) -> str:
        return override_text(self.file, self.key, self.text)

    def validate_text(self) -> bool:
        """Parse the field; store the override or the error and show it. True when valid."""
        self.override, self.error = None, None
        if self.changed:
            if not self.text.strip():
                self.error = f"{self.key}: empty value (clear means unchanged? type the value back: {self.shown})"
            else:
                try:
                    override = parse_override(self.as_override())
                except SweepSyntaxError as exc:
                    self.error = field_error(exc, self.as_override(), self.text.strip())
                else:
                    self.error = type_error(override, self.key, self.current)
                    self.override = override if self.error is None else None
        self.set_class(self.error is not None, "-invalid")
        self.set_class(self.changed and self.error is None, "-changed")
        if self.error is not None and self._error_line is None:
            self._error_line = Static("", classes="sweep-error", markup=False)
            self.mount(self._error_line)
        if self._error_line is not None:
            self._error_line.update(lines(self.error or ""))
        return self.error is None
