"""Colours and axis ticks of the terminal plots (presentation only; the series come from exptui.query.plots)."""
from __future__ import annotations

import math

# A fixed palette (after vscode-dvc's seven colours): one colour per experiment, reused on every plot.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0x94, 0x5D, 0xD6),  # purple
    (0x13, 0xAD, 0xC7),  # cyan
    (0xF4, 0x6E, 0x2E),  # orange
    (0x48, 0xBB, 0x78),  # green
    (0xE7, 0x40, 0x6A),  # pink
    (0xF2, 0xC2, 0x3B),  # yellow
    (0x5B, 0x8D, 0xEF),  # blue
)


def colour_for(index: int) -> tuple[int, int, int]:
    """Colour of the index-th experiment (wraps after the palette ends)."""
    return PALETTE[index % len(PALETTE)]


# Past the palette's seven colours, the marker changes too: (colour, marker) pairs stay distinct for 49 series.
# Scatter points are one character each; curve markers draw the whole line (braille is the finest, so it goes first).
POINT_MARKERS: tuple[str, ...] = ("●", "■", "▲", "◆", "✚", "✖", "○")
LINE_MARKERS: tuple[str, ...] = ("braille", "•", "+", "x", "*", "o", "=")
LINE_SWATCHES: tuple[str, ...] = ("━━", "••", "++", "xx", "**", "oo", "==")


def marker_slot(index: int) -> int:
    """Which marker the index-th experiment gets: the same for the first seven, then one per round of colours."""
    return (index // len(PALETTE)) % len(POINT_MARKERS)


def point_marker(index: int) -> str:
    return POINT_MARKERS[marker_slot(index)]


def line_marker(index: int) -> str:
    return LINE_MARKERS[marker_slot(index)]


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick positions (1, 2, 2.5 or 5 x 10^k apart) covering [low, high]: `0 20 40 ... 100`, not `16.7 33.3`."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / max(1, target - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value = first + len(ticks) * step
    return ticks


def tick_label(value: float) -> str:
    """`20` for whole numbers, else the shortest of `0.25` / `1e-05`."""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:.4g}"


# Plasma-like stops, bright enough on a dark background: blue-violet (worst) -> yellow (best).
_GRADIENT: tuple[tuple[int, int, int], ...] = (
    (92, 84, 214), (156, 64, 190), (214, 78, 128), (246, 140, 64), (250, 226, 56),
)


def gradient(t: float) -> tuple[int, int, int]:
    """RGB at position t in [0, 1] of the metric colour scale."""
    t = min(max(t, 0.0), 1.0) * (len(_GRADIENT) - 1)
    i = min(int(t), len(_GRADIENT) - 2)
    frac = t - i
    a, b = _GRADIENT[i], _GRADIENT[i + 1]
    return tuple(round(a[k] + (b[k] - a[k]) * frac) for k in range(3))  # type: ignore[return-value]
