"""The benchmark script keeps working (a smoke run on a few rows; no timing asserted)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_query_runs_and_prints_a_table() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_query.py"), "--rows", "300",
                          "--repeat", "1"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["operation", "ms"]
    timings = {line.rsplit(None, 1)[0].strip(): float(line.rsplit(None, 1)[1]) for line in lines[2:]}
    assert "filter simple 300" in timings and "sort 300 two keys, grouped" in timings
    assert all(ms >= 0 for ms in timings.values())
