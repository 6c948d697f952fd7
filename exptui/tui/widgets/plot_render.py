"""Draw plots with plotext into an ANSI string of an exact size.

plotext keeps one global figure, so every render clears it first and runs on the
UI thread (a render takes a few milliseconds). Nothing here knows about Textual.

Titles, axis labels and tick labels are param/metric names and values: they are made inert before plotext sees
them, because its ANSI output is parsed back into styles (`Text.from_ansi`), and an escape sequence in a name would
otherwise become a style, a link or a raw control.
"""
from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

from exptui.query.inert import inert
from exptui.query.plots import Curve, ParallelAxis, ParallelLine, ScatterSeries
from exptui.tui.widgets.plot_data import colour_for, gradient, line_marker, nice_ticks, point_marker, tick_label

Draw = Callable[[object], None]
"""A function that draws on a cleared plotext figure (the figure is passed in)."""

THEME = "dark"
MAX_PARALLEL_LINES = 120   # more polylines cost ~1-3 ms each on the UI thread and read as noise anyway
FINE_LINES = 50            # up to this many lines use braille (finest); more use half-blocks (cheaper)
MIN_WIDTH, MIN_HEIGHT = 20, 6


def import_plotext() -> Any:
    """plotext, imported without its documentation container.

    `import plotext` builds `plotext.doc` (`plotext._doc.doc`, its pretty-printed API docs) on import: 105 of the
    178 ms the import took (`python -X importtime`, plotext 6.1), for a help object exptui never shows. An empty
    module stands in for it when plotext was not imported yet; the plotting API is untouched. The plots screen
    calls this in a worker before its first paint, so the UI thread finds plotext imported."""
    if "plotext" not in sys.modules and "plotext._doc.doc" not in sys.modules:
        stand_in = types.ModuleType("plotext._doc.doc", "not loaded by exptui (see exptui.tui.widgets.plot_render)")
        stand_in.docs = None   # type: ignore[attr-defined]
        sys.modules["plotext._doc.doc"] = stand_in
    import plotext

    return plotext


def render(draw: Draw, width: int, height: int) -> str:
    """Run `draw` on a fresh figure of width x height cells and return the ANSI text."""
    plt = import_plotext()

    plt.terminal.limit(False, False)   # the widget, not the real terminal, decides the size
    figure = plt.figure
    figure.clear()
    figure.theme(THEME)
    figure.plot_size(max(width, MIN_WIDTH), max(height, MIN_HEIGHT))
    draw(figure)
    return figure.build().string()


def _marker(rgb: tuple[int, int, int], symbol: str = "braille") -> object:
    plt = import_plotext()

    return plt.marker(symbol, plt.pixel(rgb))


def _ticks_with_labels(figure: object, axis: str, positions: list[float], labels: list[str]) -> None:
    figure.ruler(axis).ticks(positions, [inert(label) for label in labels])  # type: ignore[attr-defined]


def draw_scatter(series: ScatterSeries, lower_is_better: bool | None = None) -> Draw:
    """Metric against param: one dot per experiment in its palette colour, joined by a faint line."""

    def draw(figure: object) -> None:
        f = figure
        if not series.xs:
            f.title(inert(f"no experiment has both {series.x_key} and {series.y_key}"))  # type: ignore[attr-defined]
            return
        means: dict[float, list[float]] = {}
        for x, y in zip(series.xs, series.ys):
            means.setdefault(x, []).append(y)
        if has_mean_line(series):   # a faint line through the mean per x value
            xs = sorted(means)
            trend = f.signal(xs, [sum(means[x]) / len(means[x]) for x in xs],  # type: ignore[attr-defined]
                             marker=_marker((90, 90, 110)))
            trend.lines()
            f.draw(trend)  # type: ignore[attr-defined]
        for x, y, index in zip(series.xs, series.ys, series.indices):
            point = f.signal([x], [y], marker=_marker(colour_for(index), point_marker(index)))  # type: ignore[attr-defined]
            f.draw(point)  # type: ignore[attr-defined]
        # experiments on the very same point would hide each other: say how many share it
        shift = 0.15 if series.categories else ((max(series.xs) - min(series.xs)) or 1.0) * 0.025
        for (x, y), n in overlaps(series).items():
            f.draw(f.text(x + shift, y, f"×{n}", alignment="left"))  # type: ignore[attr-defined]
        if series.categories:
            _ticks_with_labels(f, "x", [float(i + 1) for i in range(len(series.categories))], series.categories)
            f.ruler("x").lim(0.5, len(series.categories) + 0.5)  # type: ignore[attr-defined]
        else:
            low, high = min(series.xs), max(series.xs)
            pad = (high - low) * 0.05 or 0.5
            f.ruler("x").lim(low - pad, high + pad)  # type: ignore[attr-defined]
            ticks = nice_ticks(low - pad, high + pad)   # 4 5 6 for a depth param, not 3.90 4.27 4.63
            if all(v == int(v) for v in series.xs):
                ticks = [t for t in ticks if t == int(t)] or ticks
            _ticks_with_labels(f, "x", ticks, [tick_label(t) for t in ticks])
        hint = "" if lower_is_better is None else ("  (lower is better)" if lower_is_better else "  (higher is better)")
        f.title(inert(f"{series.y_key} vs {series.x_key}{hint}"))  # type: ignore[attr-defined]
        f.label(inert(series.x_key), "x")  # type: ignore[attr-defined]

    return draw


def overlaps(series: ScatterSeries) -> dict[tuple[float, float], int]:
    """Points shared by more than one experiment -> how many share it."""
    counts: dict[tuple[float, float], int] = {}
    for x, y in zip(series.xs, series.ys):
        counts[(x, y)] = counts.get((x, y), 0) + 1
    return {point: n for point, n in counts.items() if n > 1}


def has_mean_line(series: ScatterSeries) -> bool:
    """Whether `draw_scatter` draws the mean line (numeric x with more than one value): the legend says so."""
    return bool(series.xs) and series.categories is None and len(set(series.xs)) > 1


def draw_curves(curves: list[Curve], title: str, x_label: str) -> Draw:
    """One line per experiment over steps; `Curve.index` picks the experiment's palette colour."""

    def draw(figure: object) -> None:
        f = figure
        drawn = 0
        for curve in curves:
            if not curve.xs:
                continue
            line = f.signal(curve.xs, curve.ys,  # type: ignore[attr-defined]
                            marker=_marker(colour_for(curve.index), line_marker(curve.index)))
            line.lines()
            f.draw(line)  # type: ignore[attr-defined]
            drawn += 1
        xs = [x for curve in curves for x in curve.xs]
        if xs and max(xs) > min(xs):
            # the x range is the union of every curve (not the first one drawn), labelled at round numbers
            low, high = min(xs), max(xs)
            ticks = nice_ticks(low, high)
            f.ruler("x").lim(low, high)  # type: ignore[attr-defined]
            _ticks_with_labels(f, "x", ticks, [tick_label(t) for t in ticks])
        f.title(inert(title if drawn else f"{title}: no data"))  # type: ignore[attr-defined]
        f.label(inert(x_label), "x")  # type: ignore[attr-defined]

    return draw


def draw_parallel(
    axes: list[ParallelAxis], lines: list[ParallelLine], lower_is_better: bool | None = None
) -> Draw:
    """Parallel coordinates: each experiment a polyline across normalised axes, coloured by the metric.

    Brighter = better (the scale flips when the metric's direction is "lower is better").
    """

    def draw(figure: object) -> None:
        f = figure
        metrics = [ln.metric for ln in lines if ln.metric is not None]
        low, high = (min(metrics), max(metrics)) if metrics else (0.0, 1.0)
        span = (high - low) or 1.0
        positions = [float(i + 1) for i in range(len(axes))]
        for axis_x in positions:  # the vertical axes themselves
            rail = f.signal([axis_x, axis_x], [0.0, 1.0], marker=_marker((80, 80, 95)))  # type: ignore[attr-defined]
            rail.lines()
            f.draw(rail)  # type: ignore[attr-defined]
        ordered = sorted(lines, key=lambda ln: -1e300 if ln.metric is None else ln.metric)
        if lower_is_better:
            ordered = sorted(lines, key=lambda ln: 1e300 if ln.metric is None else ln.metric, reverse=True)
        shown = ordered[-MAX_PARALLEL_LINES:]            # the best ones when there are too many
        symbol = "braille" if len(shown) <= FINE_LINES else "hd"
        for line in shown:  # best drawn last, on top
            pts = [(x, y) for x, y in zip(positions, line.positions) if y is not None]
            if not pts:
                continue
            if line.metric is None:
                rgb = (120, 120, 120)
            else:
                t = (line.metric - low) / span
                rgb = gradient(1.0 - t if lower_is_better else t)
            poly = f.signal([p[0] for p in pts], [p[1] for p in pts],  # type: ignore[attr-defined]
                            marker=_marker(rgb, symbol))
            poly.lines()
            f.draw(poly)  # type: ignore[attr-defined]
        _ticks_with_labels(f, "x", positions, [a.key for a in axes])
        f.ruler("y").ticks([0.0, 0.5, 1.0], ["min", "mid", "max"])  # type: ignore[attr-defined]
        f.ruler("x").lim(0.7, len(axes) + 0.3)  # type: ignore[attr-defined]
        f.ruler("y").lim(-0.05, 1.05)  # type: ignore[attr-defined]
        metric = axes[-1].key if axes else "metric"
        subset = f", best {len(shown)} of {len(lines)}" if len(shown) < len(lines) else ""
        f.title(inert(f"parallel coordinates, colour = {metric} (bright = better{subset})"))  # type: ignore[attr-defined]

    return draw
