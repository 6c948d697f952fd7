"""The dashboard's live columns: a running experiment's DVCLive step, the chosen metric's latest value and its
curve so far as a sparkline.

The values come from `Project.live_metrics()` (the app's poller fetches them while anything runs); this module
only decides which metric is shown and turns one run's `LiveMetrics` into cell text. The chosen metric is the one
named with ``:live KEY``, else the first held-out one (``test.*``, ``val*``, ``eval*``: what a pruner watches),
else the first key in name order.
"""
from __future__ import annotations

from collections.abc import Mapping

from exptui.project import LiveMetrics
from exptui.query.sparkline import sparkline
from exptui.tui.widgets.experiment_table import TableColumn

STEP = "live:step"
VALUE = "live:value"
CURVE = "live:curve"
IDS = (STEP, VALUE, CURVE)
CURVE_WIDTH = 16
HELD_OUT = ("test", "val", "eval")


def metric_keys(live: Mapping[str, LiveMetrics]) -> list[str]:
    return sorted({key for m in live.values() for key in (*m.series, *m.latest)})


def choose_metric(live: Mapping[str, LiveMetrics], wanted: str | None = None) -> str | None:
    keys = metric_keys(live)
    if wanted in keys:
        return wanted
    for prefix in HELD_OUT:
        for key in keys:
            if key.split(".", 1)[0].lower().startswith(prefix):
                return key
    return keys[0] if keys else None


def live_columns(metric: str) -> list[TableColumn]:
    """Step, value and curve, in the scrolling part of the table, grouped under a "live" header."""
    return [
        TableColumn(STEP, "step", group="live", family="metrics", numeric=True, max_width=8),
        TableColumn(VALUE, metric, group="live", family="metrics", numeric=True, max_width=16),
        TableColumn(CURVE, "curve", group="live", family="metrics", max_width=CURVE_WIDTH, reserve=True),
    ]


def live_cell(metrics: LiveMetrics | None, column_id: str, metric: str | None) -> str:
    """The text of one live cell; empty for rows that are not running or have not logged yet."""
    if metrics is None or metric is None:
        return ""
    if column_id == STEP:
        return "" if metrics.step is None else str(metrics.step)
    series = metrics.series.get(metric, [])
    if column_id == VALUE:
        value = metrics.latest.get(metric, series[-1][1] if series else None)
        return "" if value is None else f"{value:.5g}"
    if column_id == CURVE:
        return sparkline([v for _, v in series], CURVE_WIDTH)
    return ""
