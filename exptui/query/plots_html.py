"""A self-contained HTML page of curves (inline SVG, no scripts, nothing fetched): `exptui plots diff --html`.

DVC renders Vega-Lite specs with scripts from a CDN; this page draws the same per-step data as plain SVG lines,
one chart per plots file and column, one colour per revision (the dashboard's palette), so it opens offline and in
any browser. Every name and value is HTML-escaped: text from data is shown, never interpreted.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from exptui.query.plots import Curve

PALETTE = ("#945dd6", "#13adc7", "#f46e2e", "#48bb78", "#e7406a", "#f2c23b", "#5b8def")
WIDTH, HEIGHT, PAD = 560, 320, 48


@dataclass
class Chart:
    title: str
    x_label: str
    y_label: str
    curves: list[Curve]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _svg(chart: Chart) -> str:
    xs = [x for c in chart.curves for x in c.xs]
    ys = [y for c in chart.curves for y in c.ys]
    if not xs:
        return f"<p>{html.escape(chart.title)}: no data</p>"
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(x: float) -> float:
        return PAD + (x - x0) / (x1 - x0) * (WIDTH - 2 * PAD)

    def py(y: float) -> float:
        return HEIGHT - PAD - (y - y0) / (y1 - y0) * (HEIGHT - 2 * PAD)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img">',
             f'<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="none" '
             'stroke="#ccc"/>']
    for value, anchor in ((x0, "start"), (x1, "end")):
        parts.append(f'<text x="{px(value):.1f}" y="{HEIGHT - PAD + 16}" text-anchor="{anchor}" '
                     f'font-size="11">{_fmt(value)}</text>')
    for value in (y0, y1):
        parts.append(f'<text x="{PAD - 4}" y="{py(value) + 4:.1f}" text-anchor="end" font-size="11">'
                     f'{_fmt(value)}</text>')
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle" font-size="12">'
                 f'{html.escape(chart.x_label)}</text>')
    parts.append(f'<text x="12" y="{HEIGHT / 2}" text-anchor="middle" font-size="12" '
                 f'transform="rotate(-90 12 {HEIGHT / 2})">{html.escape(chart.y_label)}</text>')
    for curve in chart.curves:
        colour = PALETTE[curve.index % len(PALETTE)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(curve.xs, curve.ys))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
                     f'<title>{html.escape(curve.name)}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def page(title: str, charts: Sequence[Chart], revisions: Sequence[str]) -> str:
    """The whole HTML document: a legend of the revisions, then one figure per chart."""
    legend = "".join(f'<li><span style="color:{PALETTE[i % len(PALETTE)]}">&#9632;</span> {html.escape(rev)}</li>'
                     for i, rev in enumerate(revisions))
    figures = "".join(f"<figure><figcaption>{html.escape(c.title)}</figcaption>{_svg(c)}</figure>"
                      for c in charts)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}ul{list-style:none;padding:0}"
            "figure{display:inline-block;margin:1em}figcaption{font-weight:bold}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><ul>{legend}</ul>{figures}</body></html>\n")
