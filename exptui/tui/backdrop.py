"""The dimmed dashboard behind a dialog, tinted once per style instead of once per cell and paint.

A `ModalScreen` with a translucent background renders the screen below it through Textual's `BackgroundScreen`,
which converts each segment's colours to Textual colours, blends the tint in and builds a new rich `Style` — for
every segment of every line, every time the dialog's region is repainted. Opening the sweep dialog repaints it
several times (frame, then the form, then the preview): profiled at 1,000 experiments (160x48), that tinting was
about a fifth of the dialog's open time. The dashboard shows a few dozen distinct styles, so the tinted style is
computed once per (style, tint) and looked up afterwards; the picture is identical.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import ModalScreen, ScreenResultType

_NULL_STYLE = Style()
_TINTED: dict[tuple[Style | None, Color], Style] = {}
_MAX_STYLES = 4096   # a bound, not a tuning knob: a dashboard shows far fewer styles than this


def tinted(style: Style | None, color: Color) -> Style:
    """What Textual's `BackgroundScreen` makes of `style` under `color` (links and meta cleared), memoised."""
    key = (style, color)
    found = _TINTED.get(key)
    if found is not None:
        return found
    base = _NULL_STYLE if style is None else style.clear_meta_and_links()
    if color.a == 0:
        result = base
    else:
        result = base + Style.from_color(
            (Color.from_rich_color(base.color) + color).rich_color if base.color is not None else None,
            (Color.from_rich_color(base.bgcolor) + color).rich_color if base.bgcolor is not None else None)
    if len(_TINTED) >= _MAX_STYLES:
        _TINTED.clear()
    _TINTED[key] = result
    return result


class TintedBackground(BackgroundScreen):
    """`BackgroundScreen` with the per-style memo (see the module docstring)."""

    @classmethod
    def process_segments(cls, segments: Iterable[Segment], color: Color) -> Iterable[Segment]:
        for segment in segments:
            text, style, control = segment
            yield segment if control else Segment(text, tinted(style, color), control)


class DimmedModalScreen(ModalScreen[ScreenResultType]):
    """A `ModalScreen` whose dimmed backdrop is tinted through the memo."""

    def render(self) -> RenderableType:
        rendered: Any = super().render()
        if type(rendered) is BackgroundScreen:
            return TintedBackground(rendered.screen, rendered.color)
        return rendered
