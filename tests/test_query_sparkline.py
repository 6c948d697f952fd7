"""Sparklines for the dashboard's live column (exptui.query.sparkline)."""
from __future__ import annotations

from exptui.query.sparkline import BLOCKS, sparkline


def test_scaled_between_min_and_max() -> None:
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert sparkline([3.0, 2.0, 1.0]) == "█▅▁"  # a falling loss


def test_empty_flat_and_non_finite() -> None:
    assert sparkline([]) == ""
    assert sparkline([float("nan")]) == ""
    assert sparkline([2.0, 2.0, 2.0]) == "▄▄▄"
    assert sparkline([1.0, float("inf"), 2.0]) == "▁█"


def test_long_series_are_bucketed_to_the_width() -> None:
    line = sparkline([float(i) for i in range(100)], width=10)
    assert len(line) == 10 and line[0] == BLOCKS[0] and line[-1] == BLOCKS[-1]
    assert list(line) == sorted(line)


def test_series_records_merge_metrics_by_step() -> None:
    from exptui.query.live_series import series_records

    assert series_records({"a": [(0, 1.0), (1, 2.0)], "b.c": [(1, 5.0)]}) == [
        {"step": 0, "a": 1.0}, {"step": 1, "a": 2.0, "b.c": 5.0}]
    assert series_records({}) == []
