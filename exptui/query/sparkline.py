"""A metric's series as one line of block characters (▁▂▃▄▅▆▇█), for a table cell.

Why text and not Textual's `Sparkline` widget: a table cell is a run of characters, and the dashboard's table
renders cells as text; eight block heights in one cell per point read well down to a width of 8.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 16) -> str:
    """The last points of `values` scaled between their min and max, at most `width` characters.

    Longer series are bucketed (each character the mean of its bucket), so the shape of the whole run stays
    visible; non-finite values are skipped; a flat series is a row of the middle block.
    """
    points = [v for v in values if math.isfinite(v)]
    if not points or width < 1:
        return ""
    if len(points) > width:
        size = len(points) / width
        points = [_mean(points[int(i * size):max(int(i * size) + 1, int((i + 1) * size))]) for i in range(width)]
    low, high = min(points), max(points)
    if high - low <= 1e-12 * max(1.0, abs(high)):
        return BLOCKS[len(BLOCKS) // 2 - 1] * len(points)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[round((v - low) / (high - low) * top)] for v in points)


def _mean(chunk: Sequence[float]) -> float:
    return sum(chunk) / len(chunk)
