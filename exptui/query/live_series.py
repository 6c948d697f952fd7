"""DVCLive series (``{key: [(step, value)]}``, as `exptui.execution.live_metrics` reads them) as plot records.

The plots view draws per-step data from records (one dict per row of a plots file); a run's DVCLive metrics are
one TSV per metric, so they are merged by step into one record per step, ``{"step": 3, "train.logloss": 0.4}``,
and drawn like any declared plots file.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: the pseudo plots path under which DVCLive's series are listed in the plots view
LIVE_PLOT_PATH = "dvclive"


def series_records(series: Mapping[str, Sequence[tuple[int, float]]]) -> list[dict[str, Any]]:
    by_step: dict[int, dict[str, Any]] = {}
    for key, rows in series.items():
        for step, value in rows:
            by_step.setdefault(step, {"step": step})[key] = value
    return [by_step[step] for step in sorted(by_step)]
