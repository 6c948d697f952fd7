"""Data into widgets: always plain, inert `Text`, never markup.

Textual parses a `str` handed to `Static`, `Label`, `notify`, `DataTable` cells and column labels, `Select`
prompts... as markup, so ``[@click=app.quit]x[/]`` in a note would become a click that quits, and ``p[/]`` in a key
a MarkupError that takes the app down; and it writes every character of a `Text` to the terminal as it is, so an
ESC in a param value would reach the terminal as a command. Every data-bearing string in the TUI is therefore
built with these helpers: `Text` objects (no markup parsing) whose text went through ``exptui.query.inert``.
Fixed words that want styling are separate parts with a style, never markup around data.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from rich.text import Text

from exptui.query.inert import inert

if TYPE_CHECKING:  # pragma: no cover
    from textual.app import App
    from textual.widget import Widget

Part = Union[str, "tuple[str, str]", Text]


def plain(text: object, style: str = "") -> Text:
    """One line of data (a name, a key, a value): no markup, controls shown inert, line breaks as ``⏎``."""
    return Text(inert(str(text)), style=style, end="")


def lines(text: object, style: str = "") -> Text:
    """Several lines of data (a message, a log): no markup, controls shown inert, line breaks kept."""
    return Text(inert(str(text), multiline=True), style=style, end="")


def assemble(*parts: Part, style: str = "") -> Text:
    """Fixed words and data in one `Text`: a ``str`` part is text (made inert, never markup), a ``(text, style)``
    pair is styled text, a `Text` is taken as it is (build it with these helpers)."""
    out = Text(style=style, end="")
    for part in parts:
        if isinstance(part, Text):
            out.append_text(part)
        elif isinstance(part, tuple):
            out.append(inert(part[0], multiline=True), style=part[1])
        else:
            out.append(inert(part, multiline=True))
    return out


def as_text(message: str | Text) -> Text:
    """What a dialog shows: a `Text` as it is (built with these helpers), any ``str`` as inert plain lines."""
    return message if isinstance(message, Text) else lines(message)


def notify(target: App[Any] | Widget, message: str, **kwargs: Any) -> None:
    """``target.notify(message)`` (an App, Screen or Widget) with the message as inert text, never markup: errors
    and confirmations quote names, paths and values."""
    target.notify(inert(str(message), multiline=True), markup=False, **kwargs)
