"""Read what DVCLive writes while a stage runs: latest values and per-step series.

Why a reader of its own and not `dvclive`: the queue manager and the dashboard poll running trials every second or
so, from processes that must not import a training library; the files are small and their format is plain
(DVCLive 3 writes ``dvclive/metrics.json``, a nested dict of the latest values plus ``"step"``, and one TSV per
metric under ``dvclive/plots/metrics/``, header ``step<TAB><leaf name>``, nested names as folders).

Files are read while they are being written, so a half-written last line is dropped and a ``metrics.json`` that
does not parse yet leaves the series only.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LiveMetrics:
    step: int | None                                   # "step" from dvclive/metrics.json (None if absent)
    latest: dict[str, float]                           # metrics.json flattened with dots: {"train.logloss": 0.33}
    series: dict[str, list[tuple[int, float]]]         # from dvclive/plots/metrics/**/*.tsv, same dotted keys


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return None if math.isnan(f) else f


def _flatten(data: dict[str, Any], prefix: str, out: dict[str, float]) -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, name + ".", out)
        else:
            number = _number(value)
            if number is not None:
                out[name] = number


def _read_tsv(path: Path) -> list[tuple[int, float]]:
    """(step, value) rows of one DVCLive TSV; a last line without its newline (still being written) is dropped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines = text.split("\n")
    complete = lines[:-1]  # the piece after the last newline is partial (or empty)
    rows: list[tuple[int, float]] = []
    for line in complete[1:]:  # the header names the columns
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        try:
            rows.append((int(float(parts[0])), float(parts[-1])))
        except ValueError:
            continue
    return rows


def read_live_metrics(run_dir: Path, dvclive_dir: str = "dvclive") -> LiveMetrics | None:
    """None when run_dir has no DVCLive output yet; tolerant of half-written files (a partial last line is dropped,
    a metrics.json that does not parse yet yields the series only)."""
    base = Path(run_dir) / dvclive_dir
    metrics_file = base / "metrics.json"
    plots = base / "plots" / "metrics"
    if not metrics_file.is_file() and not plots.is_dir():
        return None
    step: int | None = None
    latest: dict[str, float] = {}
    try:
        data = json.loads(metrics_file.read_bytes())
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict):
        raw_step = data.get("step")
        if isinstance(raw_step, int) and not isinstance(raw_step, bool):
            step = raw_step
        _flatten({k: v for k, v in data.items() if k != "step"}, "", latest)
    series: dict[str, list[tuple[int, float]]] = {}
    if plots.is_dir():
        for tsv in sorted(plots.rglob("*.tsv")):
            key = ".".join(tsv.relative_to(plots).with_suffix("").parts)
            series[key] = _read_tsv(tsv)
    return LiveMetrics(step, latest, series)
