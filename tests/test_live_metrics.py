"""The DVCLive reader (exptui.execution.live_metrics) on files written by the real `dvclive` package."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from exptui.execution.live_metrics import LiveMetrics, LiveMetricsReader, parse_series_tsv, read_live_metrics

dvclive = pytest.importorskip("dvclive")


def write_with_dvclive(where: Path, steps: int, timestamp: bool = False) -> None:
    """What a training script does: log nested and flat metrics per step (run outside any repo: no DVC side)."""
    old = os.getcwd()
    os.chdir(where)
    try:
        with dvclive.Live(dir="dvclive", save_dvc_exp=False, dvcyaml=False) as live:
            for i in range(steps):
                live.log_metric("train/logloss", 1.0 / (i + 1), timestamp=timestamp)
                live.log_metric("test/logloss", 2.0 / (i + 1), timestamp=timestamp)
                live.log_metric("f1", 0.5 + i / 10, timestamp=timestamp)
                live.next_step()
    finally:
        os.chdir(old)


def test_reads_what_dvclive_writes(tmp_path: Path) -> None:
    write_with_dvclive(tmp_path, 3)
    live = read_live_metrics(tmp_path)
    assert isinstance(live, LiveMetrics)
    assert live.step == 2
    assert live.latest == {"train.logloss": pytest.approx(1 / 3), "test.logloss": pytest.approx(2 / 3),
                           "f1": pytest.approx(0.7)}
    assert set(live.series) == {"train.logloss", "test.logloss", "f1"}
    assert live.series["train.logloss"] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert [s for s, _ in live.series["f1"]] == [0, 1, 2]


def test_timestamp_column_is_skipped(tmp_path: Path) -> None:
    write_with_dvclive(tmp_path, 2, timestamp=True)
    header = (tmp_path / "dvclive/plots/metrics/f1.tsv").read_text().splitlines()[0].split("\t")
    assert "timestamp" in header  # what dvclive writes with timestamp=True
    live = read_live_metrics(tmp_path)
    assert live is not None and live.series["f1"] == [(0, 0.5), (1, 0.6)]


def test_no_output_yet_is_none(tmp_path: Path) -> None:
    assert read_live_metrics(tmp_path) is None
    (tmp_path / "dvclive").mkdir()
    assert read_live_metrics(tmp_path) is None


def test_half_written_files(tmp_path: Path) -> None:
    """A TSV whose last row is being appended and a metrics.json being rewritten: the complete part counts."""
    write_with_dvclive(tmp_path, 3)
    tsv = tmp_path / "dvclive/plots/metrics/train/logloss.tsv"
    with open(tsv, "a", encoding="utf-8") as fh:
        fh.write("3\t0.2")                     # no newline yet
    metrics = tmp_path / "dvclive/metrics.json"
    metrics.write_text(metrics.read_text()[:20])  # cut mid-object
    live = read_live_metrics(tmp_path)
    assert live is not None
    assert live.step is None and live.latest == {}
    assert [s for s, _ in live.series["train.logloss"]] == [0, 1, 2]
    metrics.write_text("")                     # truncated to zero before the rewrite
    live = read_live_metrics(tmp_path)
    assert live is not None and live.latest == {} and len(live.series) == 3


def test_only_a_metrics_json(tmp_path: Path) -> None:
    """DVCLive without steps (log_metric then end) writes metrics.json without "step"; text values are dropped."""
    (tmp_path / "dvclive").mkdir()
    (tmp_path / "dvclive/metrics.json").write_text(json.dumps(
        {"acc": 0.9, "nested": {"deep": {"x": 1}}, "name": "text", "flag": True, "bad": float("nan")}))
    live = read_live_metrics(tmp_path)
    assert live == LiveMetrics(None, {"acc": 0.9, "nested.deep.x": 1.0}, {})


@pytest.mark.parametrize("raw, rows", [
    (b"", []),
    (b"step\tloss", []),                                  # header still being written
    (b"step\tloss\n0\t1.5\n1\tnan\n2\tx\n3\t0.5\n", [(0, 1.5), (3, 0.5)]),
    (b"loss\n1.0\n", []),                                 # no step column: not DVCLive's
    (b"step\tloss\n0\t1\t9\n1\t2\n", [(1, 2.0)]),          # a row with a stray cell
])
def test_parse_series_edge_cases(raw: bytes, rows: list[tuple[int, float]]) -> None:
    assert parse_series_tsv(raw) == rows


def test_reader_caches_unchanged_files(tmp_path: Path) -> None:
    """Polling an unchanged run reads nothing; a grown file is read again."""
    write_with_dvclive(tmp_path, 2)
    reader = LiveMetricsReader()
    first = reader.read(tmp_path)
    tsv = tmp_path / "dvclive/plots/metrics/f1.tsv"
    cached = dict(reader._files)
    assert reader.read(tmp_path) == first
    assert {p: c.value for p, c in reader._files.items()} == {p: c.value for p, c in cached.items()}
    with open(tsv, "a", encoding="utf-8") as fh:
        fh.write("2\t0.9\n")
    again = reader.read(tmp_path)
    assert again is not None and again.series["f1"][-1] == (2, 0.9)
    reader.retain([])
    assert reader._files == {}
