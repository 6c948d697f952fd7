"""The Dask task: run one experiment on a worker that cannot see the repository, and answer with data.

`run_task(payload)` unpacks the snapshot into a temp dir of its own (a throwaway git repository there: the engine
writes .gitignore entries as DVC does, and `git status` against the index taken before the run tells what the run
changed, ignored files such as cached outs left out), puts the sent
cache objects into a private cache, runs the stages with exptui's own engine (`runner.run_pipeline`, the code a
local queue worker runs), and returns a `TaskResult`. Nothing here writes a ref; the client records.

While the stages run, a watcher thread, once every `POLL` seconds:
- sends the new log bytes to the client (a Dask event on the payload's topic, with this run's id and offset);
- reads the client's heartbeat Variable: a cancel for this entry stops the stage gracefully (SIGTERM, grace,
  SIGKILL, as a local `queue kill`); a heartbeat that has not moved for `CLIENT_GONE` seconds means the client
  is gone (killed, or its machine lost): the stage group and every process tagged with the run token are
  SIGKILLed at once, since nobody is left to record the result.
If the Dask worker process itself dies, the stage dies with it (PR_SET_PDEATHSIG and the group reaper, see
exptui.pipeline.proc); Dask may then run the task again elsewhere, which the client sees as a new run id.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from exptui.execution.remote_payload import (
    PayloadTooLarge,
    TaskPayload,
    TaskResult,
    list_objects,
    mib,
    object_paths,
    pack_files,
    read_objects,
    unpack,
    write_objects,
)
from exptui.errors import ExptuiError
from exptui.execution.runner import CappedLog
from exptui.store.signals import run_process

#: seconds between two looks at the client (heartbeat, cancel) and two log sends
POLL = 0.5
#: a heartbeat unchanged this long (seconds, this worker's clock) means the client is gone
CLIENT_GONE = 4.0
#: bytes of the log's end returned with the result (for what the stream did not deliver)
TAIL = 1 << 20
#: most bytes of log sent per look: the scheduler keeps every event of a topic (up to its events-log-length), so a
#: stage printing gigabytes must not pile them up there; what is skipped is said in the log, the end comes back
#: with the result
STREAM_CAP = 64 << 10


class StreamLog(CappedLog):
    """The task's capped log file, which also keeps what was written since the last send."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.pending: list[bytes] = []
        self.sent = 0
        self.tail = bytearray()
        self._plock = threading.Lock()

    def write(self, data: bytes) -> None:
        super().write(data)
        if data:
            with self._plock:
                self.pending.append(bytes(data))
                self.tail += data
                if len(self.tail) > 2 * TAIL:
                    del self.tail[:-TAIL]

    def take(self) -> tuple[int, bytes]:
        """(offset, bytes) not yet sent: at most the last `STREAM_CAP` of them (the offset says what was skipped)."""
        with self._plock:
            data = b"".join(self.pending)
            self.pending = []
            offset = self.sent
            self.sent += len(data)
            if len(data) > STREAM_CAP:
                offset += len(data) - STREAM_CAP
                data = data[-STREAM_CAP:]
            return offset, data


class Wire:
    """The task's side of the connection to its client: log events out, heartbeat and cancels in."""

    def __init__(self, payload: TaskPayload, run_id: str) -> None:
        import distributed

        self.payload = payload
        self.run_id = run_id
        self.client = distributed.get_client()
        self.variable = distributed.Variable(payload.client_var, client=self.client) if payload.client_var else None
        self.last_beat: Any = None
        self.beat_seen = time.monotonic()
        self.host = _host()

    def send(self, offset: int, data: bytes, stage: str | None = None, final: bool = False) -> None:
        if not self.payload.log_topic:
            return
        msg = {"entry": self.payload.entry_id, "run": self.run_id, "offset": offset, "data": data,
               "host": self.host}
        if stage is not None:
            msg["stage"] = stage
        try:
            self.client.log_event(self.payload.log_topic, msg)
        except Exception:  # noqa: BLE001 - the log is also returned with the result; the stage goes on
            pass

    def client_state(self) -> tuple[bool, bool]:
        """(client gone, cancel asked for this entry)."""
        if self.variable is None:
            return False, False
        try:
            value = self.variable.get(timeout=POLL)
        except Exception:  # noqa: BLE001 - timeout or lost scheduler: counts as no heartbeat
            value = None
        now = time.monotonic()
        if isinstance(value, dict):
            if value.get("beat") != self.last_beat:
                self.last_beat = value.get("beat")
                self.beat_seen = now
            cancelled = self.payload.entry_id in (value.get("cancel") or ())
        else:
            cancelled = False
        return now - self.beat_seen > CLIENT_GONE, cancelled


def _host() -> str:
    import socket

    return socket.gethostname()


def _git(run_dir: Path, *args: str) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"})
    # interrupted, git gets SIGTERM and removes its index/ref locks in the run dir (see store/signals.py)
    proc = run_process(["git", "-C", str(run_dir), *args], env=env)
    if proc.returncode != 0:
        from exptui.errors import ExptuiError

        raise ExptuiError(f"git {args[0]} in the task's run dir failed: "
                          f"{proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout


def _init_repo(run_dir: Path) -> None:
    """What `git init` leaves that git needs (no hooks, no templates): one process less per experiment."""
    dot = run_dir / ".git"
    for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags"):
        (dot / sub).mkdir(parents=True, exist_ok=True)
    (dot / "HEAD").write_text("ref: refs/heads/main\n")
    (dot / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n")


def _changes(run_dir: Path) -> tuple[list[str], list[str]]:
    """(added or changed, deleted) repo-relative paths since the `git add -A` before the run (ignored files, such
    as DVC-cached outs, left out: they travel as cache objects)."""
    out = _git(run_dir, "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames")
    changed: list[str] = []
    deleted: list[str] = []
    for item in filter(None, out.decode("utf-8", "surrogateescape").split("\0")):
        code, path = item[:2], item[3:]
        if code == "??" or code[1] in "MT":
            changed.append(path)
        elif code[1] == "D":
            deleted.append(path)
    return changed, deleted


def environment_warning(expected: str) -> str | None:
    """A line when this worker's installed packages differ from the client's, else None."""
    from exptui.store.facts import packages_digest

    mine = packages_digest()
    if expected and mine != expected:
        return (f"warning: the Python packages on Dask worker {_host()} differ from the client's (packages "
                f"digest {mine[:12]} here, {expected[:12]} where the experiment was queued); results may differ")
    return None


def warm_up() -> None:
    """Run on every worker when a client connects: the imports and the packages digest a first task needs."""
    import exptui.execution.isolated  # noqa: F401
    import exptui.pipeline.repro  # noqa: F401
    from exptui.store.facts import packages_digest

    packages_digest()


def run_task(payload: TaskPayload) -> TaskResult:
    """The Dask task (see module docstring). Never raises for a failing stage: that is a `failed` result."""
    from datetime import datetime, timezone

    from exptui.execution.isolated import checkout_data_sources, point_dvc_cache
    from exptui.execution.runner import run_pipeline
    from exptui.store.claims import kill_tagged
    from exptui.execution.worker import trace
    from exptui.store.facts import finish_facts, start_facts

    trace(f"task {payload.name}: start")
    run_id = uuid.uuid4().hex[:12]
    wire = Wire(payload, run_id)
    base = _scratch_base()
    tmp = Path(tempfile.mkdtemp(prefix="exptui-task-", dir=base))
    rd, cache = tmp / "repo", tmp / "cache"
    log = StreamLog(tmp / "log")
    cancel = threading.Event()
    done = threading.Event()
    gone = threading.Event()
    stage_now: list[str | None] = [None]
    warnings: list[str] = []

    def flush(stage: str | None = None) -> None:
        offset, data = log.take()
        if data or stage is not None:
            wire.send(offset, data, stage)

    def watch() -> None:
        while not done.wait(POLL):
            flush()
            is_gone, cancelled = wire.client_state()
            if is_gone and not gone.is_set():
                gone.set()
                cancel.set()
                log.note("the client is gone (no heartbeat): stopping the stages")
                kill_tagged(payload.run_token, signal.SIGKILL)
            elif cancelled and not cancel.is_set():
                cancel.set()

    def on_stage(stage: str | None) -> None:
        stage_now[0] = stage
        flush(stage or "")

    created = None if payload.created is None else datetime.fromtimestamp(payload.created, timezone.utc)
    facts = start_facts(command=payload.command, created=created)
    watcher = threading.Thread(target=watch, name="exptui-task-watch", daemon=True)
    watcher.start()
    try:
        log.note(f"running on Dask worker {wire.host} (no shared disk)")
        warning = environment_warning(payload.packages_digest)
        if warning:
            warnings.append(warning)
            log.note(warning)
        unpack(payload.archive, rd)
        write_objects(cache, payload.objects, durable=False)   # scratch: gone with the task
        sent = set(payload.objects)
        if payload.remote and payload.remote.get("kind") != "dvc":
            from exptui.execution.remote_dvc import pull

            sent |= pull(payload.remote, cache, payload.remote_hashes, log)
        trace(f"task {payload.name}: unpacked")
        _init_repo(rd)
        # the index is what the run's changes are told against; checkout_data_sources finds the .dvc files in it
        _git(rd, "add", "-A", "--", ".")
        # one commit of the snapshot, so the run dir is a checkout like a local run's: tools the stages call
        # (DVCLive asks for HEAD's rev) refuse an empty repository
        tree = _git(rd, "write-tree").decode().strip()
        head = _git(rd, "-c", "user.name=exptui", "-c", "user.email=exptui@localhost", "commit-tree", tree,
                    "-m", f"exptui snapshot of {payload.name}").decode().strip()
        _git(rd, "update-ref", "HEAD", head)
        point_dvc_cache(rd, cache)
        through_dvc = bool(payload.remote and payload.remote.get("kind") == "dvc")
        if through_dvc:   # a failure is a line in the log: a stage missing data says so itself
            from exptui.execution.remote_dvc import dvc_sync

            assert payload.remote is not None
            fetched = dvc_sync(rd, "fetch", payload.remote, log)
            if fetched is not None and fetched.startswith("no dvc"):
                raise ExptuiError(fetched)
            sent |= list_objects(cache)
        checkout_data_sources(rd, cache)
        if wire.client_state()[1]:   # cancelled while it waited in Dask's queue: nothing runs
            cancel.set()
        trace(f"task {payload.name}: ready")
        outcome = run_pipeline(rd, log.write, payload.run_token, cache_dir=cache, timeout=payload.timeout,
                               cancel=cancel, on_stage=on_stage, log=log, log_note="the entry's log")
        result = TaskResult(payload.entry_id, run_id, outcome.status, outcome.reason,
                            stage_times=outcome.stage_times, stage_outcomes=outcome.stage_outcomes,
                            warnings=warnings)
        if gone.is_set():
            result.status, result.reason = "cancelled", "the client is gone"
        trace(f"task {payload.name}: stages done")
        if result.status == "success":
            changed, deleted = _changes(rd)
            result.files, result.deleted = pack_files(rd, changed), deleted
            result.stages_lock = dict(outcome.stages_lock or {})
            new = sorted(list_objects(cache) - sent)
            if through_dvc:
                from exptui.execution.remote_dvc import dvc_sync

                assert payload.remote is not None
                pushed = dvc_sync(rd, "push", payload.remote, log)
                if pushed is not None:
                    raise ExptuiError(pushed)
                new = [r for r in new if r.startswith("runs/")]
            elif payload.remote:
                from exptui.execution.remote_dvc import push

                push(payload.remote, cache, [r for r in new if not r.startswith("runs/")], log)
                new = [r for r in new if r.startswith("runs/")]
            try:
                result.objects = read_objects(cache, _labels(result.stages_lock, cache, new), payload.limit,
                                              "configure a DVC remote (dvc remote add -d NAME URL) for big data")
            except PayloadTooLarge as exc:
                result.status, result.reason, result.files = "failed", str(exc), b""
        if result.status != "success":
            log.note(f"{result.status}: {result.reason}")
        result.facts = finish_facts(facts)
    except Exception as exc:  # noqa: BLE001 - a broken payload fails this entry with one line, not the worker
        reason = str(exc) if isinstance(exc, ExptuiError) else f"{type(exc).__name__}: {exc}"
        log.note(f"failed: {reason}")
        result = TaskResult(payload.entry_id, run_id, "failed", reason, warnings=warnings)
    finally:
        done.set()
        watcher.join(timeout=5)
        kill_tagged(payload.run_token)
        flush()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    result.log_total = log.sent
    result.log_tail = bytes(log.tail[-TAIL:])
    trace(f"task {payload.name}: answered")
    return result


def _labels(stages_lock: dict[str, Any], cache: Path, new: list[str]) -> dict[str, list[str]]:
    """The new objects grouped by the out they belong to (so an over-limit result names the out)."""
    new_set = set(new)
    grouped: dict[str, list[str]] = {}
    for lock in stages_lock.values():
        for out in getattr(lock, "outs", []):
            if out.md5:
                mine = [r for r in object_paths(cache, out.md5, out.legacy) if r in new_set]
                if mine:
                    grouped.setdefault(out.path, []).extend(mine)
                    new_set -= set(mine)
    if new_set:
        grouped["run cache and other objects"] = sorted(new_set)
    return grouped


def _scratch_base() -> str | None:
    """The Dask worker's local directory (its own scratch space), else the system temp dir."""
    try:
        from distributed import get_worker

        return str(get_worker().local_directory)
    except Exception:  # noqa: BLE001 - not inside a worker (a direct call)
        return None


__all__ = ["run_task", "TaskPayload", "TaskResult", "mib"]
