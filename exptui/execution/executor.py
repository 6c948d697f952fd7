"""The executor interface: where queued experiments run. The durable queue stays in git; executors only move work.

Two ways to drain the queue exist, and both run the same code (`Worker.run_claimed` -> `run_isolated`):

- pull: `QueueManager.start(jobs)` spawns J detached worker processes that claim entries themselves until the
  queue is empty (what `exptui queue start` does; survives the CLI/TUI);
- push: an `Executor` gets entries submitted one by one (an embedded pool in a long-running process, or a
  cluster). `LocalProcessExecutor` is the default: one short-lived worker process per entry, at most `jobs` at a
  time; each process still claims its entry with the create-only claim ref, so an executor racing the pull
  workers (or another executor) can never run an entry twice.

`exptui.execution.dask_executor.DaskExecutor` is the second implementation (``pip install 'exptui[dask]'``,
``exptui queue start --dask ADDRESS``): the client claims each entry like a worker (`RemoteWorker`, a `Worker` whose
`execute` step is replaced) and runs it on a Dask worker that does not need the repository: the snapshot and the
cache objects travel as data, the result comes back as data and is recorded here (docs/scale-out.md).
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import deque
from typing import Protocol, runtime_checkable

from exptui.store.claims import RunState
from exptui.store.git import Git
from exptui.store.queue import QueueEntry


@runtime_checkable
class Executor(Protocol):
    """Runs submitted queue entries somewhere; the queue refs record what happened."""

    def submit(self, entry: QueueEntry) -> None:
        """Run this (queued) entry when a slot is free. It is claimed atomically when it starts."""

    def cancel(self, entry_id: str) -> bool:
        """Drop a pending entry (it stays queued) or stop a running one (it ends cancelled)."""

    def shutdown(self, wait: bool = True, cancel_running: bool = False) -> None:
        """Stop taking work; optionally wait for (or cancel) what runs."""

    def running(self) -> list[str]:
        """Ids of the entries running right now."""


class LocalProcessExecutor:
    """A pool of at most `jobs` worker processes on this machine, one per submitted entry."""

    def __init__(self, repo: str | os.PathLike[str], jobs: int = 1, timeout: float | None = None):
        self.git = Git.discover(repo)
        self.root = self.git.root
        self.state = RunState(self.git.git_dir)
        self.jobs = max(1, jobs)
        self.timeout = timeout
        self._pending: deque[str] = deque()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._dispatch, name="exptui-executor", daemon=True)
        self._thread.start()

    def submit(self, entry: QueueEntry) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("executor is shut down")
            self._pending.append(entry.id)
        self._wake.set()

    def cancel(self, entry_id: str) -> bool:
        with self._lock:
            if entry_id in self._pending:
                self._pending.remove(entry_id)
                return True
            running = entry_id in self._procs and self._procs[entry_id].poll() is None
        if running:
            self.state.request_cancel(entry_id, "cancelled by user")
        return running

    def running(self) -> list[str]:
        with self._lock:
            return [eid for eid, p in self._procs.items() if p.poll() is None]

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._pending)

    def _spawn(self, entry_id: str) -> subprocess.Popen[bytes]:
        from exptui.execution.worker import signals_blocked, worker_command

        cmd = worker_command(self.root, "--entry", entry_id, "--max", "1")
        if self.timeout is not None:
            cmd += ["--timeout", str(self.timeout)]
        # own session: a Ctrl-C in the embedding terminal is ours to handle, not the stages'
        with signals_blocked():
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True, cwd=self.root)

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                for eid in [e for e, p in self._procs.items() if p.poll() is not None]:
                    del self._procs[eid]
                while self._pending and len(self._procs) < self.jobs:
                    eid = self._pending.popleft()
                    self._procs[eid] = self._spawn(eid)
                done = self._closed and not self._pending and not self._procs
            if done:
                return
            self._wake.wait(0.1)
            self._wake.clear()

    def shutdown(self, wait: bool = True, cancel_running: bool = False) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()
            running = list(self._procs)
        if cancel_running:
            for eid in running:
                self.state.request_cancel(eid, "cancelled: executor shut down")
        self._wake.set()
        if wait:
            self._thread.join()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending or running; False on timeout."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.pending() or self.running():
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True
