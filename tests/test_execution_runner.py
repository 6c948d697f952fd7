"""Capped logs: head + tail on disk, flat memory, bytes kept, crash-readable, finalize idempotent."""
from __future__ import annotations

import os
from pathlib import Path

from exptui.execution.runner import CappedLog, finalize_log, log_segments, read_log


def test_small_log_is_kept_whole(tmp_path: Path) -> None:
    log = CappedLog(tmp_path / "a.log", head=100, tail=100)
    log.write(b"hello \xff\xfe\n")
    log.note("stage train ran")
    log.close()
    data = (tmp_path / "a.log").read_bytes()
    assert data == b"hello \xff\xfe\n\n[exptui] stage train ran\n"
    assert not log_segments(tmp_path / "a.log")


def test_big_log_keeps_head_and_latest_tail(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    log = CappedLog(path, head=1000, tail=2000)
    lines = [b"line %06d\n" % i for i in range(20000)]  # 240 kB
    for i in range(0, len(lines), 7):
        log.write(b"".join(lines[i:i + 7]))
    # while running (or after a crash) the readable view is head + marker + tail
    live = read_log(path)
    assert live.startswith(lines[0]) and live.endswith(lines[-1])
    assert b"output truncated" in live
    assert read_log(path, limit=12) == lines[-1]
    log.close()
    data = path.read_bytes()
    assert len(data) < 1000 + 2000 + 200
    assert data.startswith(b"".join(lines[:50])[:1000])
    assert data.endswith(b"".join(lines[-100:])[-900:])
    assert b"output truncated" in data
    assert not log_segments(path)
    assert log.total == sum(map(len, lines))
    finalize_log(path)  # idempotent
    assert path.read_bytes() == data


def test_crashed_writer_leaves_a_finalizable_log(tmp_path: Path) -> None:
    path = tmp_path / "crash.log"
    log = CappedLog(path, head=10, tail=40)
    for i in range(30):
        log.write(b"%02d........\n" % i)
    # simulate the worker dying: no close(); the segments are on disk
    assert log_segments(path)
    finalize_log(path)
    data = path.read_bytes()
    assert data.startswith(b"00........")
    assert data.endswith(b"29........\n")
    assert not log_segments(path)


def test_segment_sizes_stay_bounded(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    log = CappedLog(path, head=64, tail=256)
    chunk = os.urandom(1000)
    for _ in range(100):
        log.write(chunk)
        total = path.stat().st_size + sum(p.stat().st_size for p in log_segments(path))
        assert total <= 64 + 256
    log.close()
