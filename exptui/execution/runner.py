"""The per-experiment runner: capped logs and the pipeline run of one queued experiment.

The stage subprocesses themselves are owned by `exptui.pipeline.proc` (own session/process group,
PR_SET_PDEATHSIG, SIGTERM -> grace -> SIGKILL on cancel or timeout, the pipe always drained). This module adds
what a queued run needs on top:

- `CappedLog`: a log sink whose file never exceeds head + tail bytes however much a stage prints. The head is
  written straight to the log file; past it, output goes to two alternating tail segments on disk, so memory
  stays flat and a crash still leaves the head and the latest output readable. `finalize_log` stitches
  head + "[N bytes omitted]" + tail together. Bytes are stored as printed (non-UTF-8 kept; readers decode with
  replacement characters).
- `run_pipeline`: reproduce the pipeline of a run dir with the stage env tagged by the run token (so orphans
  of a dead worker can be found and killed), a per-stage timeout and a cancel event.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import IO
from dataclasses import dataclass, field
from pathlib import Path

from exptui.store.claims import RUN_TOKEN_ENV

HEAD_BYTES = 1 << 20        # first MiB of output kept
TAIL_BYTES = 4 << 20        # last 4 MiB kept
_SEGMENTS = (".tail0", ".tail1")


class CappedLog:
    """A write-only byte sink capped at `head` + `tail` bytes on disk (see module docstring)."""

    def __init__(self, path: Path, head: int = HEAD_BYTES, tail: int = TAIL_BYTES):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.head_cap = head
        self.seg_cap = max(1, tail // 2)
        self.total = 0
        self._head = open(self.path, "ab")
        self._head_written = self._head.tell()
        self._seg_index = 0
        self._seg: IO[bytes] | None = None
        self._seg_written = 0
        self._lock = threading.Lock()
        self.closed = False

    def __call__(self, data: bytes) -> None:
        self.write(data)

    def write(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            if self.closed:
                return
            self.total += len(data)
            room = self.head_cap - self._head_written
            if room > 0:
                part, data = data[:room], data[room:]
                self._head.write(part)
                self._head.flush()
                self._head_written += len(part)
            while data:
                if self._seg is None or self._seg_written >= self.seg_cap:
                    self._next_segment()
                room = self.seg_cap - self._seg_written
                part, data = data[:room], data[room:]
                assert self._seg is not None  # _next_segment opened it
                self._seg.write(part)
                self._seg_written += len(part)
            if self._seg is not None:
                self._seg.flush()

    def note(self, text: str) -> None:
        """A line of exptui's own (stage banners, the final status), marked so it stands out."""
        self.write(f"\n[exptui] {text}\n".encode())

    def _next_segment(self) -> None:
        if self._seg is not None:
            self._seg.close()
            self._seg_index ^= 1
        self._seg = open(str(self.path) + _SEGMENTS[self._seg_index], "wb")
        self._seg_written = 0

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            if self._seg is not None:
                self._seg.close()
            self._head.close()
        finalize_log(self.path)


def log_segments(path: Path) -> list[Path]:
    """Existing tail segments, oldest first."""
    segs = [Path(str(path) + s) for s in _SEGMENTS]
    present = [(p.stat().st_mtime_ns, i, p) for i, p in enumerate(segs) if p.exists()]
    if len(present) == 2 and present[0][0] == present[1][0]:
        # same mtime granularity: the active segment is the shorter one unless both are full
        sizes = [p.stat().st_size for _, _, p in present]
        present.sort(key=lambda t: -sizes[t[1]])
        return [p for _, _, p in present]
    return [p for _, _, p in sorted(present)]


def read_log(path: Path, limit: int | None = None) -> bytes:
    """The log as it stands (also while running or after a crash): head, omission marker, tail.

    `limit` returns only the last `limit` bytes (for a tail view) without reading the rest.
    """
    path = Path(path)
    segs = log_segments(path)
    try:
        head_size = path.stat().st_size
    except FileNotFoundError:
        head_size = 0
    if not segs:
        if not head_size:
            return b""
        with open(path, "rb") as fh:
            if limit is not None and head_size > limit:
                fh.seek(head_size - limit)
            return fh.read()
    parts = []
    tail_total = 0
    for seg in segs:
        data = seg.read_bytes()
        tail_total += len(data)
        parts.append(data)
    tail = b"".join(parts)
    head = path.read_bytes() if head_size else b""
    return head + b"\n[exptui] ... output truncated, showing the last %d bytes ...\n" % len(tail) + tail \
        if limit is None else (head + tail)[-limit:]


def finalize_log(path: Path) -> None:
    """Append the tail segments (oldest first) to the head file with a truncation note; drop the segments.

    Safe to call on a crashed run's log (doctor/recover do), and idempotent.
    """
    path = Path(path)
    segs = log_segments(path)
    if not segs:
        return
    with open(path, "ab") as out:
        tail_size = sum(s.stat().st_size for s in segs)
        out.write(b"\n[exptui] ... output truncated: the middle was dropped, the last %d bytes follow ...\n"
                  % tail_size)
        for seg in segs:
            with open(seg, "rb") as fh:
                while True:
                    chunk = fh.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    for seg in segs:
        try:
            seg.unlink()
        except FileNotFoundError:
            pass


@dataclass
class PipelineOutcome:
    """How the pipeline run of one experiment ended."""

    status: str                              # success | failed | cancelled
    reason: str | None = None
    stages_lock: dict | None = None          # {stage name: lock entry} of the stages that ran (for the exp hash)
    elapsed: float = 0.0
    stage_times: dict[str, float] = field(default_factory=dict)       # seconds of the stages that ran
    stage_outcomes: dict[str, str] = field(default_factory=dict)      # ran | restored | run-cache | skipped...


def stage_env(base: dict[str, str] | None, run_token: str) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env[RUN_TOKEN_ENV] = run_token
    env.pop("GIT_INDEX_FILE", None)
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def run_pipeline(
    root: Path,
    sink: Callable[[bytes], None],
    run_token: str,
    *,
    cache_dir: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    on_stage: Callable[[str | None], None] | None = None,
    log: CappedLog | None = None,
    log_note: str | None = None,
) -> PipelineOutcome:
    """Reproduce the pipeline in `root` (a run dir); outputs go to `sink`; never raises for a stage failure."""
    from exptui.errors import ExptuiError, StageFailed
    from exptui.pipeline import repro

    started = time.monotonic()
    times: dict[str, float] = {}
    outcomes: dict[str, str] = {}

    def events(ev: repro.StageEvent) -> None:
        if ev.kind == "start":
            if on_stage is not None:
                on_stage(ev.stage.address)
            if log is not None:
                log.note(f"stage {ev.stage.address}: {ev.message}".rstrip(": "))
        else:
            outcomes[ev.stage.address] = ev.kind
            if ev.kind == "ran":
                times[ev.stage.address] = ev.elapsed
            if log is not None and ev.kind != "start":
                log.note(f"stage {ev.stage.address} {ev.kind}" + (f": {ev.message}" if ev.message else ""))

    try:
        result = repro.reproduce(
            root, sink=sink, events=events, cache_dir=cache_dir, env=stage_env(env, run_token),
            timeout=timeout, cancel=cancel, log_dir=None, log_note=log_note,
        )
    except StageFailed as exc:
        status = "failed"
        if cancel is not None and cancel.is_set():
            status = "cancelled"
        return PipelineOutcome(status, str(exc), None, time.monotonic() - started, times, outcomes)
    except ExptuiError as exc:
        status = "cancelled" if cancel is not None and cancel.is_set() else "failed"
        return PipelineOutcome(status, str(exc), None, time.monotonic() - started, times, outcomes)
    except Exception as exc:  # noqa: BLE001 - FormatError and friends: the entry fails, the worker goes on
        status = "cancelled" if cancel is not None and cancel.is_set() else "failed"
        return PipelineOutcome(status, f"{type(exc).__name__}: {exc}", None, time.monotonic() - started, times,
                               outcomes)
    finally:
        if on_stage is not None:
            on_stage(None)
    lock = {s.address: s.lock for s in result.stages if s.lock is not None and s.outcome != "skipped"}
    return PipelineOutcome("success", None, lock, time.monotonic() - started, times, outcomes)
