"""Read what DVCLive writes while a stage runs: the latest values and the per-step series.

DVCLive 3 keeps two kinds of files under its directory (``dvclive/`` by default) and rewrites them at every
``next_step()``:

- ``metrics.json``: a nested mapping of the latest values plus ``"step": N``; it is rewritten in place, so a reader
  can catch it empty or cut short;
- ``plots/metrics/<name>.tsv``: one file per logged metric (``train/logloss`` makes a folder), a header
  ``step<TAB><leaf name>`` and one row per step, appended to, so the last line can be half written.

exptui reads these from a running trial's checkout (the dashboard's live row, the plots view, the adaptive
search's pruner), so the reader must never raise on a file caught mid-write: a partial last line is dropped and a
``metrics.json`` that does not parse yet leaves `latest` empty while the series still count. It never imports
``dvclive``: users' repositories need not have it installed for exptui to read what it wrote.

`LiveMetricsReader` adds a stat cache for callers that poll (every second or so, for every running trial): files
whose size and mtime did not change are not read again.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: where DVCLive puts the per-step series of scalar metrics, under its directory
SERIES_DIR = ("plots", "metrics")
#: a metrics.json past this size is not a DVCLive summary: skipped rather than read into memory
MAX_METRICS_BYTES = 1 << 20


@dataclass(frozen=True)
class LiveMetrics:
    """The live state of one DVCLive directory (dotted keys, as DVC flattens metrics)."""

    step: int | None                                   # "step" from dvclive/metrics.json (None if absent)
    latest: dict[str, float]                           # metrics.json flattened with dots: {"train.logloss": 0.33}
    series: dict[str, list[tuple[int, float]]]         # from dvclive/plots/metrics/**/*.tsv, same dotted keys


def read_live_metrics(run_dir: Path, dvclive_dir: str = "dvclive") -> LiveMetrics | None:
    """None when run_dir has no DVCLive output yet; tolerant of half-written files (a partial last line is dropped,
    a metrics.json that does not parse yet yields the series only)."""
    return LiveMetricsReader().read(run_dir, dvclive_dir)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def flatten_metrics(data: object, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested mapping as ``{"a.b": value}``; strings, lists and non-finite numbers dropped."""
    out: dict[str, float] = {}
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_metrics(value, name + "."))
        else:
            number = _number(value)
            if number is not None:
                out[name] = number
    return out


def parse_metrics_json(raw: bytes) -> tuple[int | None, dict[str, float]] | None:
    """(step, latest) of a DVCLive ``metrics.json``; None if it does not parse (yet)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    step_value = data.get("step")
    step = int(step_value) if isinstance(step_value, int) and not isinstance(step_value, bool) else None
    latest = flatten_metrics({k: v for k, v in data.items() if k != "step"})
    return step, latest


def parse_series_tsv(raw: bytes) -> list[tuple[int, float]]:
    """(step, value) rows of one DVCLive TSV: the ``step`` column and the last column (the metric's leaf name).

    A last line without its newline is still being written and is dropped; so is any row that does not parse.
    """
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines:
        lines.pop()  # after the last newline: "" for a complete file, a partial row otherwise
    if not lines:
        return []
    header = lines[0].rstrip("\r").split("\t")
    try:
        step_col = header.index("step")
    except ValueError:
        return []
    value_col = len(header) - 1
    if value_col == step_col:
        return []
    rows: list[tuple[int, float]] = []
    for line in lines[1:]:
        cells = line.rstrip("\r").split("\t")
        if len(cells) != len(header):
            continue
        try:
            step = int(float(cells[step_col]))
            value = float(cells[value_col])
        except ValueError:
            continue
        if math.isfinite(value):
            rows.append((step, value))
    return rows


@dataclass
class _Cached:
    stamp: tuple[int, int]
    value: object


@dataclass
class LiveMetricsReader:
    """`read_live_metrics` with a per-file stat cache: polling an unchanged run costs a few ``stat`` calls.

    One reader per poller; `retain` drops the cached files of runs that are no longer polled.
    """

    _files: dict[Path, _Cached] = field(default_factory=dict)

    def read(self, run_dir: Path, dvclive_dir: str = "dvclive") -> LiveMetrics | None:
        base = Path(run_dir) / dvclive_dir
        metrics_path = base / "metrics.json"
        series_files = self._series_files(base.joinpath(*SERIES_DIR))
        parsed = self._load(metrics_path, parse_metrics_json)
        if parsed is _MISSING and not series_files:
            return None
        step, latest = (None, {}) if not isinstance(parsed, tuple) else parsed
        series: dict[str, list[tuple[int, float]]] = {}
        for key, path in series_files:
            rows = self._load(path, parse_series_tsv)
            if isinstance(rows, list):
                series[key] = rows
        return LiveMetrics(step, dict(latest), {k: list(v) for k, v in series.items()})

    def retain(self, run_dirs: list[Path]) -> None:
        """Drop cached files outside `run_dirs` (finished runs), so a long-lived poller stays small."""
        keep = [Path(d) for d in run_dirs]
        for path in list(self._files):
            if not any(path.is_relative_to(d) for d in keep):
                del self._files[path]

    @staticmethod
    def _series_files(root: Path) -> list[tuple[str, Path]]:
        out: list[tuple[str, Path]] = []
        stack = [root]
        while stack:
            directory = stack.pop()
            try:
                entries = list(os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.name.endswith(".tsv") and entry.is_file(follow_symlinks=False):
                    rel = Path(entry.path).relative_to(root).with_suffix("")
                    out.append((".".join(rel.parts), Path(entry.path)))
        out.sort()
        return out

    def _load(self, path: Path, parse: Callable[[bytes], object]) -> object:
        try:
            st = path.stat()
        except OSError:
            self._files.pop(path, None)
            return _MISSING
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._files.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached.value
        if st.st_size > MAX_METRICS_BYTES and path.suffix == ".json":
            value: object = None
        else:
            try:
                value = parse(path.read_bytes())
            except OSError:
                return None
        self._files[path] = _Cached(stamp, value)
        return value


class _Missing:
    pass


_MISSING = _Missing()
