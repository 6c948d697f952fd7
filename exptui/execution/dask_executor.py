"""Run queued experiments on a Dask cluster: the same queue, the same runner, more machines.

Why this shape (research/executor-reliability.md measured Dask and Ray leaving stage processes running when a
worker dies): Dask only *moves* work here. Each submitted entry becomes one Dask task whose whole job is to start
one ordinary exptui worker process for that entry (`python -m exptui.execution.worker --entry ID --max 1`) and
wait for it. Everything that makes the local queue safe comes along unchanged:

- the entry is claimed with the create-only claim ref, so a task Dask re-runs after losing a worker, a second
  client, or local `queue start` workers can never run an entry twice;
- the exptui worker owns its stages (own process group, PDEATHSIG, the group reaper), heartbeats, and
  records the experiment ref itself; if the Dask worker dies, the exptui worker carries on and finishes the entry;
- cancelling uses the queue's cancel flag (SIGTERM, grace, SIGKILL of the stage group), because Dask cannot
  interrupt running Python code.

Requirements: `pip install 'exptui[dask]'` where the client runs and on every Dask worker, and the repository
at the same path on every worker (one machine, or a shared filesystem). Address `local` starts a LocalCluster
of `jobs` single-threaded worker processes on this machine, which is what the tests use.
"""
from __future__ import annotations

import os
import socket
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

from exptui.errors import ExptuiError
from exptui.store.claims import RunState
from exptui.store.git import Git
from exptui.store.queue import QueueEntry


def run_entry(root: str, entry_id: str, timeout: float | None = None) -> dict[str, Any]:
    """The Dask task: one exptui worker process for one entry, waited for. Returns how the entry ended."""
    from exptui.execution.worker import signals_blocked, worker_command

    cmd = worker_command(root, "--entry", entry_id, "--max", "1")
    if timeout is not None:
        cmd += ["--timeout", str(timeout)]
    with signals_blocked():
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True, cwd=root)
    proc.wait()
    from exptui.execution.queue_manager import QueueManager

    entry = QueueManager(Path(root)).find(entry_id)
    return {"entry": entry_id, "name": entry.name, "status": entry.status, "returncode": proc.returncode,
            "host": socket.gethostname()}


class DaskExecutor:
    """An `Executor` (see exptui.execution.executor) backed by `distributed.Client`."""

    def __init__(self, repo: str | os.PathLike[str], address: str | None = "local", jobs: int = 1,
                 timeout: float | None = None) -> None:
        try:
            import distributed
        except ImportError as exc:
            raise ExptuiError("the Dask executor needs the 'distributed' package: pip install 'exptui[dask]'") from exc
        self.git = Git.discover(repo)
        self.root = self.git.root
        self.state = RunState(self.git.git_dir)
        self.timeout = timeout
        self.cluster: Any = None
        try:
            if address in (None, "", "local"):
                self.cluster = distributed.LocalCluster(
                    n_workers=max(1, jobs), threads_per_worker=1, processes=True, dashboard_address=":0",
                    silence_logs=40,  # logging.ERROR: the CLI prints its own summary
                )
                self.client = distributed.Client(self.cluster)
            else:
                self.client = distributed.Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            if self.cluster is not None:
                self.cluster.close()
            raise ExptuiError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        self.address = self.client.scheduler.address
        self._futures: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- Executor ----------------------------------------------------------------------------------------------

    def submit(self, entry: QueueEntry) -> None:
        future = self.client.submit(run_entry, str(self.root), entry.id, self.timeout, pure=False, retries=0,
                                    key=f"exptui-{entry.name}-{uuid.uuid4().hex[:8]}")
        with self._lock:
            self._futures[entry.id] = future

    def cancel(self, entry_id: str) -> bool:
        with self._lock:
            future = self._futures.get(entry_id)
        if future is None or future.done():
            return False
        if entry_id in self.running():
            self.state.request_cancel(entry_id, "cancelled by user")  # the worker stops the stages
        else:
            future.cancel()  # not started on the cluster: the entry stays queued
        return True

    def running(self) -> list[str]:
        """Entries whose task runs and whose worker has claimed them."""
        from exptui.execution.queue_manager import QueueManager

        with self._lock:
            live = [eid for eid, f in self._futures.items() if not f.done()]
        if not live:
            return []
        status = {e.id: e.status for e in QueueManager(self.root).entries()}
        return [eid for eid in live if status.get(eid) == "running"]

    def shutdown(self, wait: bool = True, cancel_running: bool = False) -> None:
        with self._lock:
            futures = dict(self._futures)
        if cancel_running:
            running = set(self.running())
            for eid, future in futures.items():
                if eid in running:
                    self.state.request_cancel(eid, "cancelled: executor shut down")
                elif not future.done():
                    future.cancel()
        if wait:
            self.wait()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    # -- extras ------------------------------------------------------------------------------------------------

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every submitted task; False on timeout. Ctrl-C (KeyboardInterrupt) passes through."""
        import distributed

        with self._lock:
            futures = [f for f in self._futures.values() if not f.cancelled()]
        if not futures:
            return True
        try:
            distributed.wait(futures, timeout=timeout)
        except distributed.TimeoutError:
            return False
        return True

    def results(self) -> list[dict[str, Any]]:
        """What each finished task reported (cancelled or failed tasks are left out)."""
        with self._lock:
            futures = list(self._futures.values())
        return [f.result() for f in futures if f.status == "finished"]
