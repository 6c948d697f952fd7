"""Run queued experiments on a Dask cluster whose workers do not see the repository.

Only the Dask connection is shared (and, for big data, a DVC remote). The split of work:

- **client** (this module, the process running ``exptui queue start --dask ADDRESS``): one `RemoteWorker` per
  cluster slot claims an entry with the usual create-only claim ref, heartbeats its run file like any local
  worker (so `queue status`, `queue kill` and crash recovery work unchanged), packs the entry as data
  (exptui.execution.remote_payload), submits one Dask task, writes the log lines streamed back into the entry's
  log file, and on success records the experiment with the same `record_experiment` a local run uses (one
  process writes refs, with old-value checks) and stores the returned cache objects in the repo's cache;
- **task** (exptui.execution.remote_task, on any Dask worker): unpacks, runs the stages, answers with data.

Exactly once: an entry is claimed before its task is submitted, and the client takes one result per claim. A task
Dask runs again after losing a worker shows up as a new run id (a line in the log); a result arriving for an
entry already recorded (asked of git, see `DaskExecutor.record`) is dropped with a line in the log. If the client
dies, its claims become `crashed` by the usual liveness rules (its pid is gone) and retryable; the tasks see the
heartbeat Variable stop and kill their stages. If the scheduler is lost, the client claims nothing more, puts the
entries it had claimed back in the queue (a crashed attempt each) and says so in one line; the tasks' stages
stop as for a dead client.

Why the shared-filesystem mode (a task starting an exptui worker on the repo's path) was dropped: the data path
works on any cluster, one code path is tested instead of two, and it costs about the same per experiment on one
machine (docs/scale-out.md has the numbers).

Address ``local`` starts a LocalCluster of `jobs` single-threaded worker processes on this machine.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from exptui.errors import ExptuiError
from exptui.execution.isolated import IsolatedResult
from exptui.execution.runner import CappedLog
from exptui.execution.worker import Worker, queue_command, trace
from exptui.store.claims import RunState, new_token
from exptui.store.git import Git
from exptui.store.queue import QueueEntry

#: seconds between two client heartbeats (the tasks call the client gone after remote_task.CLIENT_GONE)
BEAT = 1.0
#: entries in flight per Dask worker thread. 2 (the next entry packed and waiting in Dask's queue while one runs)
#: measured no faster than 1 (bench_queue.py --dask-only: +1.35 s against +1.40 s per experiment over the local
#: pool) and shows claimed entries as running before they start: so 1
PREFETCH = 1
#: seconds a cancelled entry's task gets to stop its stage and answer before the client stops waiting for it
CANCEL_WAIT = 15.0


def parse_payload_limit(text: str | None) -> int | None:
    """``--payload-limit`` (bytes, or a number with K, M or G) in bytes; None: the default."""
    from exptui.execution.remote_payload import parse_size

    return None if text is None else parse_size(text, "--payload-limit")


class _EntryLog:
    """The entry's local log file, fed by the task's log events (ordered by offset, one run at a time)."""

    def __init__(self, path: Path, on_stage: Callable[[str | None], None]) -> None:
        self.log = CappedLog(path)
        self.on_stage = on_stage
        self.run: str | None = None
        self.received = 0
        self.lock = threading.Lock()

    def event(self, msg: dict[str, Any]) -> None:
        with self.lock:
            if msg.get("run") != self.run:
                if self.run is not None:
                    self.log.note(f"the Dask task runs again on {msg.get('host')} (its worker was lost); "
                                  "output of the new run follows")
                self.run, self.received = msg.get("run"), 0
            data, offset = msg.get("data") or b"", int(msg.get("offset", 0))
            if offset > self.received and data:   # the task skipped a burst (see remote_task.STREAM_CAP)
                self.log.note(f"... {offset - self.received} bytes of output not streamed ...")
                self.received = offset
            if offset == self.received and data:
                self.log.write(data)
                self.received += len(data)
        if "stage" in msg:
            self.on_stage(msg["stage"] or None)

    def settle(self, run_id: str, total: int, tail: bytes, wait: float = 3.0) -> None:
        """After the result: wait briefly for the stream to catch up, then fill what it missed from the tail."""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            with self.lock:
                if self.run == run_id and self.received >= total:
                    return
            time.sleep(0.05)
        with self.lock:
            have = self.received if self.run == run_id else 0
            missing = total - have
            if missing <= 0:
                return
            if missing <= len(tail):
                self.log.write(tail[len(tail) - missing:])
            else:
                self.log.note(f"{missing - len(tail)} bytes of the remote log were lost in transit")
                self.log.write(tail)
            self.received = total


class DaskExecutor:
    """An `Executor` (see exptui.execution.executor) backed by `distributed.Client`."""

    def __init__(self, repo: str | os.PathLike[str], address: str | None = "local", jobs: int = 1,
                 timeout: float | None = None, resources: dict[str, float] | None = None,
                 payload_limit: int | None = None) -> None:
        try:
            import distributed
        except ImportError as exc:
            raise ExptuiError("the Dask executor needs the 'distributed' package: pip install 'exptui[dask]'") from exc
        from exptui.execution.remote_payload import payload_limit as limit_of

        self.git = Git.discover(repo)
        self.root = self.git.root
        self.state = RunState(self.git.git_dir)
        self.timeout = timeout
        self.resources = dict(resources or {})
        self.limit = limit_of(payload_limit)
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
        self.token = new_token()
        self.var_name = f"exptui-client-{self.token}"
        self.topic = f"exptui-log-{self.token}"
        self._variable = distributed.Variable(self.var_name, client=self.client)
        self._lock = threading.Lock()
        self._pending: deque[str] = deque()
        self._submitted: list[str] = []
        self._cancel: set[str] = set()
        self._logs: dict[str, _EntryLog] = {}
        self._futures: dict[str, Any] = {}
        self._recorded: set[str] = set()
        self._active: set[str] = set()      # claimed by a slot of this client and not finished
        self._results: dict[str, dict[str, Any]] = {}
        self._remotes: dict[str, dict[str, Any] | None] = {}   # the DVC remote each packed entry uses
        self._hosts: dict[str, str | None] = {}
        self.last_payload_size = 0          # bytes of data in the last task sent (tests and benchmarks read it)
        self.lost: str | None = None        # set once the scheduler is gone: why, in one line
        self.requeued: list[str] = []       # names of the entries put back in the queue when it went
        self._closed = threading.Event()
        self._beat = 0
        self._send_beat()
        self.client.subscribe_topic(self.topic, self._on_event)
        self._beater = threading.Thread(target=self._heartbeat, name="exptui-dask-beat", daemon=True)
        self._beater.start()
        self._slots: list[threading.Thread] = []
        self._wake = threading.Condition(self._lock)
        self._warm_futures: list[Any] = []
        self._warm = threading.Thread(target=self._warm_up, name="exptui-dask-warm-up", daemon=True)
        self._warm.start()

    def _warm_up(self) -> None:
        """Import the engine and hash the packages here and on every worker while the first entries are packed:
        a few hundred ms each the first time, off the first experiments' path."""
        from exptui.execution import remote_payload  # noqa: F401 - the import is the warm-up
        from exptui.execution.remote_task import warm_up
        from exptui.execution.worker import warm_up as warm_here

        warm_here()
        try:  # one small task per worker (in its task thread, not its event loop); nobody waits for them
            self._warm_futures = [self.client.submit(warm_up, pure=False, workers=[addr], allow_other_workers=False,
                                                     key=f"exptui-warm-up-{uuid.uuid4().hex[:8]}")
                                  for addr in self.client.scheduler_info().get("workers", {})]
        except Exception:  # noqa: BLE001 - only a warm-up
            pass

    # -- Executor ----------------------------------------------------------------------------------------------

    def submit(self, entry: QueueEntry) -> None:
        with self._wake:
            if self._closed.is_set():
                raise RuntimeError("executor is shut down")
            self._pending.append(entry.id)
            self._submitted.append(entry.id)
            self._wake.notify()
        self._grow()

    def cancel(self, entry_id: str) -> bool:
        with self._wake:
            if entry_id in self._pending:
                self._pending.remove(entry_id)   # never claimed: it stays queued
                self._wake.notify_all()
                return True
            running = entry_id in self._active
        if running:
            self.state.request_cancel(entry_id, "cancelled by user")   # the slot's heartbeat passes it on
        return running

    def running(self) -> list[str]:
        """Entries claimed by this client and not finished (packing, waiting in Dask's queue, or running)."""
        with self._lock:
            return sorted(self._active)

    def shutdown(self, wait: bool = True, cancel_running: bool = False) -> None:
        with self._wake:
            self._pending.clear()
            self._closed.set()
            self._wake.notify_all()
            running = sorted(self._active)
        if cancel_running:
            for eid in running:
                self.state.request_cancel(eid, "cancelled: executor shut down")
        if wait:
            for t in list(self._slots):
                t.join()
        if self.lost is None:
            try:
                self._variable.delete()
            except Exception:  # noqa: BLE001 - the scheduler may be gone already
                pass
        self.client.close(**({"timeout": 5} if self.lost is not None else {}))
        if self.cluster is not None:
            self.cluster.close()

    # -- extras ------------------------------------------------------------------------------------------------

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def slots(self) -> int:
        """Entries in flight: `PREFETCH` per worker thread of the cluster (at least one)."""
        info = self.client.scheduler_info().get("workers", {})
        return PREFETCH * max(1, sum(int(w.get("nthreads", 1)) for w in info.values()))

    def unschedulable(self, resources: dict[str, float] | None = None, stages: list[str] | None = None) -> str | None:
        """Why no connected worker can run a task needing `resources` (default: this executor's), or None.
        `stages`: the stages whose exptui.yaml entries asked for them (named in the line)."""
        wanted = self.resources if resources is None else resources
        if not wanted:
            return None
        info = self.client.scheduler_info().get("workers", {})
        for w in info.values():
            have = w.get("resources") or {}
            if all(float(have.get(k, 0)) >= v for k, v in wanted.items()):
                return None
        want = ", ".join(f"{k}={v:g}" for k, v in wanted.items())
        by = f" (for stage{'s' if len(stages) > 1 else ''} {', '.join(stages)}, exptui.yaml)" if stages else ""
        return f"unschedulable: no Dask worker offers {want}{by} ({len(info)} workers connected)"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every submitted entry has ended; False on timeout. Ctrl-C passes through."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                busy = bool(self._pending) or any(t.is_alive() for t in self._slots)
            if not busy:
                return True
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.1)

    def results(self) -> list[dict[str, Any]]:
        """What each finished entry reported: entry, name, status, host."""
        with self._lock:
            return [self._results[eid] for eid in self._submitted if eid in self._results]

    # -- slots -------------------------------------------------------------------------------------------------

    def _busy(self) -> list[tuple[threading.Thread, bool]]:
        return [(t, getattr(t, "exptui_busy", False)) for t in self._slots]

    def _grow(self) -> None:
        with self._lock:
            want = min(self.slots(), len(self._pending) + sum(1 for _, b in self._busy() if b))
            while len(self._slots) < want:
                t = threading.Thread(target=self._slot, name=f"exptui-dask-slot-{len(self._slots)}", daemon=True)
                t.exptui_busy = True  # type: ignore[attr-defined]
                self._slots.append(t)
                t.start()

    def _slot(self) -> None:
        me = threading.current_thread()
        worker = RemoteWorker(self)
        self.state.register_worker(worker.ident, started=worker.started)
        try:
            while True:
                with self._wake:
                    me.exptui_busy = bool(self._pending)  # type: ignore[attr-defined]
                    if not self._pending:
                        return
                    eid = self._pending.popleft()
                entry = worker.claim_next(only=[eid])
                if entry is None:
                    continue   # someone else (a local worker, another client) has it
                try:
                    record = worker.run_claimed(entry)
                except Exception as exc:  # noqa: BLE001 - no room for the run file...: the entry crashes later
                    print(f"[exptui dask] {entry.name}: {exc}")
                    continue
                if self.lost is not None and record.status == "crashed":
                    self._requeue(worker, entry)
        finally:
            me.exptui_busy = False  # type: ignore[attr-defined]
            self.state.unregister_worker(worker.ident.token)
            worker.git.close()

    def _requeue(self, worker: Worker, entry: QueueEntry) -> None:
        """Put an entry that crashed with the scheduler back in the queue (its crashed attempt is kept in its
        history, as `queue retry` keeps it): the experiment did not fail, the cluster went away."""
        listed = worker.store.get(entry.id)
        if listed is not None and listed.status == "crashed" and worker.store.retry(listed):
            with self._lock:
                self.requeued.append(entry.name)

    # -- the wire ----------------------------------------------------------------------------------------------

    def _send_beat(self) -> None:
        with self._lock:
            self._beat += 1
            value = {"beat": self._beat, "cancel": sorted(self._cancel)}
        self._variable.set(value)

    def _heartbeat(self) -> None:
        while not self._closed.wait(BEAT):
            try:
                self._send_beat()
            except Exception:  # noqa: BLE001 - a scheduler hiccup: the tasks tolerate CLIENT_GONE seconds
                pass

    def _on_event(self, event: Any) -> None:
        msg = event[1] if isinstance(event, tuple) else event
        if not isinstance(msg, dict):
            return
        with self._lock:
            log = self._logs.get(str(msg.get("entry")))
        if log is not None:
            log.event(msg)

    def _scheduler_lost(self) -> bool:
        """Has the connection to the scheduler gone? (distributed cancels every future of a client that loses
        it, then tries to reconnect for the connect timeout and closes.) The first time: no new claims."""
        if self.lost is not None:
            return True
        if self.client.status in ("running", "newly-created"):
            return False
        with self._wake:
            if self.lost is None:
                self.lost = f"lost the connection to the Dask scheduler at {self.address}"
                self._pending.clear()          # never claimed: they stay queued
                self._wake.notify_all()
        return True

    def remote_cancel(self, entry_id: str) -> None:
        """Ask the entry's task to stop its stage (read by the task within `remote_task.POLL` seconds)."""
        with self._lock:
            self._cancel.add(entry_id)
        try:
            self._send_beat()
        except Exception:  # noqa: BLE001 - scheduler unreachable: the next beat carries it, or the wait gives up
            pass

    # -- one entry (called by RemoteWorker.execute in a slot thread) ---------------------------------------------

    def execute(self, worker: Worker, entry: QueueEntry, log_path: Path, run_dir: Path,
                cancel: threading.Event, on_stage: Callable[[str | None], None]) -> IsolatedResult:
        from exptui.execution.isolated import shared_cache_dir
        from exptui.execution.remote_payload import PayloadTooLarge
        from exptui.execution.remote_task import run_task
        from exptui.execution.stage_resources import task_resources

        started = time.monotonic()
        with self._lock:
            self._active.add(entry.id)
        elog = _EntryLog(log_path, on_stage)
        log = elog.log

        def ended(status: str, reason: str | None) -> IsolatedResult:
            if reason:
                log.note(f"{status}: {reason}")
            return IsolatedResult(status, reason, log_path=log_path, elapsed=time.monotonic() - started)

        try:
            why = self.unschedulable()
            if why is not None:
                return ended("failed", why)
            try:
                payload = self.pack(worker, entry, run_dir, log)
                resources, asking = task_resources(run_dir, shared_cache_dir(self.root, worker.git),
                                                   self.resources)
            except (PayloadTooLarge, ExptuiError) as exc:
                return ended("failed", str(exc))
            why = self.unschedulable(resources, asking)
            if why is not None:
                return ended("failed", why)
            with self._lock:
                self._logs[entry.id] = elog
            if self.lost is not None:
                return ended("crashed", self.lost)
            future = self.client.submit(run_task, payload, key=f"exptui-{entry.name}-{uuid.uuid4().hex[:8]}",
                                        pure=False, resources=resources or None)
            with self._lock:
                self._futures[entry.id] = future
            trace(f"dask {entry.name}: submitted")
            asked: float | None = None
            while not future.done():
                if self._scheduler_lost():
                    break
                if cancel.is_set() and asked is None:
                    asked = time.monotonic()
                    self.remote_cancel(entry.id)   # the task stops its stage (SIGTERM, grace, SIGKILL)
                if asked is not None and time.monotonic() - asked > CANCEL_WAIT:
                    future.cancel()                # not started yet, or its worker is unresponsive
                    return ended("cancelled", None)
                time.sleep(0.1)
            if future.status != "finished" and self._scheduler_lost():
                # the connection is gone (its futures were cancelled): the task's stage stops by itself once the
                # heartbeat Variable is unreachable (remote_task.CLIENT_GONE); the entry goes back in the queue
                return ended("crashed", self.lost)
            if future.status != "finished":
                try:
                    future.result()
                    why = f"the Dask task ended {future.status}"
                except Exception as exc:  # noqa: BLE001 - the task's own failure, as one line
                    why = f"the Dask task failed: {type(exc).__name__}: {exc}"
                return ended("cancelled" if cancel.is_set() else "failed", why)
            result = future.result()
            trace(f"dask {entry.name}: result ({result.status})")
            with self._lock:
                self._hosts[entry.id] = getattr(result.facts, "host", None)
            elog.settle(result.run_id, result.log_total, result.log_tail)
            trace(f"dask {entry.name}: log settled")
            outcome = self.record(worker, entry, result, run_dir, log, cancelled=cancel.is_set())
            outcome.elapsed = time.monotonic() - started
            return outcome
        finally:
            with self._lock:
                self._logs.pop(entry.id, None)
                self._active.discard(entry.id)
            log.close()

    def pack(self, worker: Worker, entry: QueueEntry, run_dir: Path, log: CappedLog | None = None) -> Any:
        """The `TaskPayload` of a claimed entry: the snapshot's tree as data and the cache objects (or, with a
        local-path DVC remote, the hashes) of the data its stages read. PayloadTooLarge names data over the
        limit. Leaves `run_dir` as the snapshot's shared clone, which `record` writes the result into."""
        from exptui.execution.isolated import make_run_dir, shared_cache_dir
        from exptui.execution.recovery import run_token_of, write_owner
        from exptui.execution.remote_dvc import default_remote, dvc_remote, dvc_sync, push
        from exptui.execution.remote_payload import TaskPayload, archive_commit, input_data, read_objects, \
            recorded_outs
        from exptui.store.facts import packages_digest

        cache = shared_cache_dir(self.root, worker.git)
        write_owner(run_dir, worker.ident)
        make_run_dir(self.root, worker.git.git_dir, entry.rev, run_dir)
        trace(f"dask {entry.name}: run dir")
        wanted = input_data(run_dir, cache)
        remote = default_remote(self.root)
        rels = sorted({rel for group in wanted.values() for rel in group})
        objects: dict[str, bytes] = {}
        if remote is None:
            remote = dvc_remote(run_dir)   # another type, through DVC's machinery (remote_dvc)
            rels = []
        if remote is not None and remote.get("kind") == "dvc":
            self._client_checkout(run_dir, cache)
            # a failure is a line in the log (the task's fetch and the stages say what is missing)
            dvc_sync(run_dir, "push", remote, log)
        elif remote is not None:   # only hashes travel; the task pulls what it lacks
            push(remote, cache, rels)
        else:
            objects = read_objects(cache, wanted, self.limit,
                                   "configure a DVC remote (dvc remote add -d NAME URL) for big data",
                                   optional=recorded_outs(run_dir, cache))
        payload = TaskPayload(
            entry.id, entry.name, run_token_of(worker.ident.token, entry.id),
            archive_commit(worker.git.git_dir, entry.rev), objects, command=queue_command(entry),
            created=entry.created or None, packages_digest=packages_digest(), timeout=self.timeout,
            client_var=self.var_name, log_topic=self.topic, limit=self.limit,
            remote=remote, remote_hashes=rels if remote is not None else [],
        )
        self.last_payload_size = payload.size()
        with self._lock:
            self._remotes[entry.id] = remote
        trace(f"dask {entry.name}: payload {payload.size()} bytes")
        return payload

    def _client_checkout(self, run_dir: Path, cache: Path) -> None:
        """Let DVC in the client's checkout of the snapshot use the repo's cache and the repo's local config (the
        credentials a `dvc push` there needs; this file stays on this machine, it is not in the payload)."""
        from exptui.execution.isolated import point_dvc_cache

        local = self.root / ".dvc" / "config.local"
        if local.is_file():
            (run_dir / ".dvc" / "config.local").write_bytes(local.read_bytes())
        point_dvc_cache(run_dir, cache)

    def record(self, worker: Worker, entry: QueueEntry, result: Any, run_dir: Path, log: CappedLog,
               cancelled: bool = False) -> IsolatedResult:
        """Record a task's `TaskResult` as the entry's experiment (objects into the repo's cache, changed files
        into `run_dir`, the create-only experiment ref), at most once per entry.

        A result for an entry already recorded (Dask ran the task again after losing a worker and both answers
        arrived, or one answer was delivered twice) is dropped with a line in the log and answered with the
        experiment that exists. "Already recorded" is asked of git (the entry id in an experiment's run facts,
        as crash recovery asks), not only of this process's memory, so it holds across clients too."""
        from exptui.execution.isolated import record_result, shared_cache_dir
        from exptui.execution.recovery import find_recorded
        from exptui.execution.remote_dvc import dvc_sync, pull_outs
        from exptui.execution.remote_payload import apply_files, write_objects

        log_path = log.path
        with self._lock:
            seen = entry.id in self._recorded
            self._recorded.add(entry.id)
        existing = find_recorded(worker.store, entry)
        if seen or existing is not None:
            log.note(f"a second result for {entry.name} (run {result.run_id}) was dropped: "
                     f"already recorded{f' as {existing[0]}' if existing else ''}")
            done = IsolatedResult("success", None, log_path=log_path)
            if existing is not None:
                done.exp_ref, done.exp_rev = existing[0], existing[1]
                done.name = existing[0].rsplit("/", 1)[-1]
            return done
        outcome = IsolatedResult(result.status, result.reason, log_path=log_path, stage_times=result.stage_times,
                                 stage_outcomes=result.stage_outcomes)
        if result.status != "success":
            with self._lock:
                self._recorded.discard(entry.id)   # nothing recorded: a later success may still be
            if cancelled:
                outcome.status = "cancelled"
            return outcome
        cache = shared_cache_dir(self.root, worker.git)
        with self._lock:
            remote = self._remotes.get(entry.id)
        write_objects(cache, result.objects)
        apply_files(run_dir, result.files, result.deleted)
        # the outs went to the remote: fetch them, so `exptui apply` finds them here
        if remote is not None and remote.get("kind") == "dvc":
            dvc_sync(run_dir, "fetch", remote, log)
        elif remote is not None:
            pull_outs(remote, cache, result.stages_lock)
        facts = result.facts
        if entry.sweep and entry.sweep_label:   # the sweep is the client's knowledge, as in a local run
            facts = replace(facts, sweep=entry.sweep, sweep_label=entry.sweep_label)
        if (tag := entry.search_tag) is not None:
            facts = replace(facts, search=tag[0], search_name=tag[1])
        ref, sha, recorded = record_result(worker.git, run_dir, entry.baseline, entry.name, result.stages_lock,
                                           facts)
        log.note(f"recorded experiment {recorded} ({sha[:7]}) as {ref}")
        trace(f"dask {entry.name}: recorded")
        outcome.exp_ref, outcome.exp_rev, outcome.name = ref, sha, recorded
        return outcome

    def record_status(self, entry: QueueEntry, status: str) -> None:
        with self._lock:
            self._results[entry.id] = {"entry": entry.id, "name": entry.name, "status": status,
                                       "host": self._hosts.get(entry.id)}


class RemoteWorker(Worker):
    """A `Worker` whose `execute` step runs on the Dask cluster; claims, heartbeats and terminal state as usual."""

    def __init__(self, executor: DaskExecutor) -> None:
        super().__init__(executor.root, timeout=executor.timeout)
        self.executor = executor

    def execute(self, entry: QueueEntry, log_path: Path, run_dir: Path, cancel: threading.Event,
                on_stage: Callable[[str | None], None]) -> IsolatedResult:
        result = self.executor.execute(self, entry, log_path, run_dir, cancel, on_stage)
        self.executor.record_status(entry, result.status)
        return result
