"""A widget that shows a plotext drawing at exactly its own size.

textual-plotext is not available for plotext 6, so the widget renders plotext
into an ANSI string sized to the widget's content region and shows it as Rich
Text. Resizing re-renders (the result is cached per size and drawing).
"""
from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from exptui.query.inert import inert
from exptui.tui.widgets.plot_data import LINE_SWATCHES, colour_for, marker_slot, point_marker
from exptui.tui.widgets.plot_render import Draw, render


class PlotView(Widget):
    """Renders the current `Draw` function at the widget's size; set `draw` to change the plot."""

    DEFAULT_CSS = """
    PlotView { width: 1fr; height: 1fr; min-height: 8; }
    """

    def __init__(self, draw: Draw | None = None, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._draw = draw
        self._cache: tuple[tuple[int, int, int], Text] | None = None
        self._version = 0
        self.render_count = 0   # how many real plotext renders happened (for tests / profiling)

    def set_draw(self, draw: Draw | None) -> None:
        """Replace the drawing; the widget re-renders on the next refresh."""
        self._draw = draw
        self._version += 1
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_region.size
        if self._draw is None or width <= 0 or height <= 0:
            return Text("")
        key = (width, height, self._version)
        if self._cache is None or self._cache[0] != key:
            try:
                text = Text.from_ansi(render(self._draw, width, height), no_wrap=True, end="")
            except Exception as exc:  # noqa: BLE001 - a plotting library error must not take the screen down
                text = Text(inert(f"cannot draw this plot: {exc}"), style="bold red")
            self.render_count += 1
            self._cache = (key, text)
        return self._cache[1]


class PlotLegend(Static):
    """A one-line key under a plot: each experiment's name in its palette colour."""

    DEFAULT_CSS = """
    PlotLegend { height: auto; max-height: 3; padding: 0 1; }
    """

    def show_names(self, names: list[str], indices: list[int] | None = None, *, points: bool = False,
                   extra: Sequence[tuple[str, str]] = ()) -> None:
        """Each name after its swatch: the line style of a curve, or with `points` the scatter marker (past seven
        experiments the marker tells apart what the colour cannot). `extra`: (swatch, words) after the names,
        e.g. the mean line."""
        text = Text()
        for position, name in enumerate(names):
            index = indices[position] if indices is not None else position
            r, g, b = colour_for(index)
            if text:
                text.append("  ")
            swatch = point_marker(index) if points else LINE_SWATCHES[marker_slot(index)]
            # no-break spaces: a long legend wraps between experiments, never between a swatch and its name
            text.append(swatch + "\u00a0", style=f"rgb({r},{g},{b})")
            text.append(inert(name).replace(" ", "\u00a0"))
        for swatch, words in extra:
            if text:
                text.append("  ")
            text.append(swatch + "\u00a0", style="rgb(90,90,110)")
            text.append(words.replace(" ", "\u00a0"), style="italic")
        self.update(text)
