"""Who is running what: process identities, heartbeat files, cancel flags and stale-lock scans.

Why more than a pid: DVC's queue was fooled by pid reuse (a stale lock whose pid now belongs to another
process looked alive, DVC #3370) and left tasks "Running" after a reboot (#8702). A live owner here is a
process whose pid, kernel start time and host all match what it wrote, and whose random token matches the
claim it holds. Anything else is dead, and its entry can be marked crashed.

Files of exptui's own live under ``<git common dir>/exptui/``:

- ``run/<id>.json``      one per running queue entry: owner identity, stage, started, heartbeat (rewritten
                         every second, temp -> fsync -> rename, so a reader never sees a torn file);
- ``run/<id>.cancel``    a cancel request for that entry (its worker polls for it);
- ``workers/<token>.json`` one per live worker process;
- ``stop``               "workers started before this time: finish your current entry, then exit";
- ``logs/<id>.log``      capped logs (see exptui.execution.runner);
- ``runs/<id>/``         isolated run directories.

This module imports nothing heavy: ``exptui queue status`` reads these files and must start in < 0.2 s.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# the environment tag of stage processes and the function that kills by it live with the reaper (one mechanism)
from exptui.pipeline.group_reaper import RUN_TOKEN_ENV, kill_tagged  # noqa: F401 - re-exported

#: seconds without a heartbeat after which a running entry on another host counts as dead
HEARTBEAT_STALE = 60.0
#: seconds a claim may exist without a run file (the worker is cloning the run dir) before it counts as dead
CLAIM_GRACE = 30.0


def _hostname() -> str:
    """This machine's name; `socket` is imported only here, so a command that never checks an owner skips it."""
    import socket

    return socket.gethostname()


def write_json_atomic(path: Path, data: dict[str, Any], durable: bool = True) -> None:
    """A JSON state file through `dvc_compat.fsutil.atomic_write`: readers see the old or the new file, never half.

    `durable=False` skips the fsync, for caches that may be lost in a power cut but must never be torn.
    """
    from dvc_compat.fsutil import atomic_write

    atomic_write(path, json.dumps(data, sort_keys=True).encode("utf-8"), durable=durable)


def clean_temp_files(directory: Path, max_age: float = 3600.0, dry_run: bool = False) -> list[Path]:
    """Remove ``.<name>.<pid>.<random>.tmp`` files (see `write_json_atomic`) whose writer is dead.

    A process killed between creating its temp file and the rename leaves one behind; the real file is intact.
    """
    removed: list[Path] = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return removed
    now = time.time()
    for name in names:
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        # imported for a candidate only: `queue status` cleans four directories that hardly ever hold one, and
        # the module (with dvc_compat's errors) was ~2 ms of its imports
        from dvc_compat.fsutil import temp_name_pid

        pid = temp_name_pid(name)
        p = directory / name
        try:
            stale = (pid is not None and not pid_alive(pid)) or now - p.stat().st_mtime > max_age
        except FileNotFoundError:
            continue
        if stale and dry_run:
            removed.append(p)
        elif stale:
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def read_json(path: Path) -> dict[str, Any] | None:
    """The file's JSON object, or None when it is missing, empty or unreadable (a dead writer's leftovers)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def new_token() -> str:
    import secrets  # imported when used: `queue status` only reads (secrets pulls hmac, hashlib)

    return secrets.token_hex(8)


def process_start_time(pid: int) -> str | None:
    """An opaque, exact start stamp of `pid` (kernel clock ticks since boot on Linux), or None if it is gone.

    Two processes that reuse one pid never share a start stamp, which is what makes the liveness check sound.
    """
    if sys.platform.startswith("linux"):
        try:
            raw = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            return None
        # the command name (field 2) may contain spaces and parentheses: split after the last ')'
        fields = raw[raw.rfind(b")") + 2:].split()
        if fields[:1] == [b"Z"]:
            return None   # a zombie has ended; its parent has not reaped it (see `pid_alive`)
        try:
            return fields[19].decode()
        except IndexError:
            return None
    try:
        import psutil

        return repr(psutil.Process(pid).create_time())
    except Exception:  # noqa: BLE001 - psutil raises NoSuchProcess/AccessDenied/ZombieProcess
        return None


def pid_alive(pid: int) -> bool:
    """Is `pid` a running process? A zombie is not: it has ended, and only waits for its parent to reap it. A
    process whose parent was killed is adopted by pid 1, which in a container (`docker run` without `--init`,
    a VM's agent) may never reap it: the kill tests saw dead helpers stay zombies for minutes. (A thread-group
    leader that ended while its other threads run shows as a zombie too; a Python process never does that: its
    main thread waits for the others.)"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True   # alive under another user; OverflowError: not a pid of this machine
    if sys.platform.startswith("linux"):
        try:
            raw = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            return True   # it ended just now: the next check says so
        return raw[raw.rfind(b")") + 2:].split()[:1] != [b"Z"]
    return True


@dataclass(frozen=True)
class ProcessIdentity:
    """Enough to tell "this exact process is still running" from "some process has that pid"."""

    pid: int
    start: str
    host: str
    token: str

    @classmethod
    def current(cls, token: str | None = None) -> ProcessIdentity:
        pid = os.getpid()
        return cls(pid, process_start_time(pid) or "", _hostname(), token or new_token())

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ProcessIdentity | None:
        if not data:
            return None
        try:
            return cls(int(data["pid"]), str(data.get("start", "")), str(data["host"]), str(data["token"]))
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def local(self) -> bool:
        return self.host == _hostname()

    def alive(self) -> bool | None:
        """True/False for a process on this host; None when it runs elsewhere (use the heartbeat)."""
        if not self.local:
            return None
        if not pid_alive(self.pid):
            return False
        start = process_start_time(self.pid)
        if start is None:
            return False
        return not self.start or start == self.start


def exptui_dir(git_common_dir: Path) -> Path:
    return git_common_dir / "exptui"


@dataclass
class RunInfo:
    """The run file of one running queue entry (``run/<id>.json``)."""

    entry_id: str
    name: str
    owner: ProcessIdentity
    attempt: int = 1
    stage: str | None = None
    started: float = field(default_factory=time.time)
    heartbeat: float = field(default_factory=time.time)
    log_path: str = ""
    run_dir: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["owner"] = self.owner.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunInfo | None:
        if not data:
            return None
        owner = ProcessIdentity.from_dict(data.get("owner"))
        if owner is None:
            return None
        try:
            return cls(
                entry_id=str(data["entry_id"]), name=str(data.get("name", "")), owner=owner,
                attempt=int(data.get("attempt", 1)), stage=data.get("stage"),
                started=float(data.get("started", 0.0)), heartbeat=float(data.get("heartbeat", 0.0)),
                log_path=str(data.get("log_path", "")), run_dir=str(data.get("run_dir", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None


class RunState:
    """The per-entry run files, cancel flags, worker registry and stop marker under ``.git/exptui``."""

    def __init__(self, git_common_dir: Path):
        self.base = exptui_dir(Path(git_common_dir))
        self.run_dir = self.base / "run"
        self.workers_dir = self.base / "workers"
        self.logs_dir = self.base / "logs"
        self.runs_dir = self.base / "runs"
        self.stop_file = self.base / "stop"

    # -- running entries ------------------------------------------------------------------------------------
    def info_path(self, entry_id: str) -> Path:
        return self.run_dir / f"{entry_id}.json"

    def write(self, info: RunInfo) -> None:
        """Atomic (rename) but not fsynced: a run file is liveness information, rewritten every second, and
        after a power loss every process it describes is dead anyway; the durable record of who runs an entry
        is its claim ref, which `recover` falls back to when the run file is missing or unreadable. The fsync
        cost ~4 ms per stage start on the experiment's critical path."""
        write_json_atomic(self.info_path(info.entry_id), info.to_dict(), durable=False)

    def read(self, entry_id: str) -> RunInfo | None:
        return RunInfo.from_dict(read_json(self.info_path(entry_id)))

    def all(self) -> dict[str, RunInfo]:
        out: dict[str, RunInfo] = {}
        try:
            names = os.listdir(self.run_dir)
        except FileNotFoundError:
            return out
        for n in names:
            if n.endswith(".json") and not n.startswith("."):
                info = self.read(n[:-5])
                if info is not None:
                    out[info.entry_id] = info
        return out

    def clear(self, entry_id: str) -> None:
        for p in (self.info_path(entry_id), self.cancel_path(entry_id)):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    # -- cancel requests ------------------------------------------------------------------------------------
    def cancel_path(self, entry_id: str) -> Path:
        return self.run_dir / f"{entry_id}.cancel"

    def request_cancel(self, entry_id: str, reason: str = "cancelled by user", *, prune: bool = False) -> None:
        """Ask the entry's worker to stop its stages. `prune`: an adaptive search stops the trial early; the
        worker then records what the run reached as an experiment with status ``pruned``."""
        body: dict[str, object] = {"reason": reason, "time": time.time()}
        if prune:
            body["prune"] = True
        write_json_atomic(self.cancel_path(entry_id), body)

    def prune_requested(self, entry_id: str) -> bool:
        data = read_json(self.cancel_path(entry_id))
        return bool(data is not None and data.get("prune"))

    def cancel_requested(self, entry_id: str) -> str | None:
        data = read_json(self.cancel_path(entry_id))
        return None if data is None else str(data.get("reason") or "cancelled")

    # -- workers --------------------------------------------------------------------------------------------
    def worker_path(self, token: str) -> Path:
        return self.workers_dir / f"{token}.json"

    def register_worker(self, ident: ProcessIdentity, current: str | None = None,
                        started: float | None = None) -> None:
        """Not fsynced, like `write`: liveness only (a lost file is a worker `recover` treats as gone, and a
        worker whose process is alive re-registers on its next heartbeat)."""
        write_json_atomic(self.worker_path(ident.token), {
            **ident.to_dict(), "current": current, "started": started or time.time(), "heartbeat": time.time(),
        }, durable=False)

    def unregister_worker(self, token: str) -> None:
        try:
            self.worker_path(token).unlink()
        except FileNotFoundError:
            pass

    def workers(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            names = sorted(os.listdir(self.workers_dir))
        except FileNotFoundError:
            return out
        for n in names:
            if n.endswith(".json") and not n.startswith("."):
                data = read_json(self.workers_dir / n)
                if data is not None:
                    out.append(data)
        return out

    # -- stop marker ----------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        write_json_atomic(self.stop_file, {"time": time.time()})

    def stop_requested_since(self, started: float) -> bool:
        """True when `queue stop` ran after a worker that started at `started`."""
        data = read_json(self.stop_file)
        return data is not None and float(data.get("time", 0)) >= started


def owner_dead(owner: ProcessIdentity, heartbeat: float | None, now: float | None = None,
               stale_after: float = HEARTBEAT_STALE) -> str | None:
    """Why `owner` counts as dead (a reason for the crashed state), or None while it may be alive."""
    now = time.time() if now is None else now
    alive = owner.alive()
    if alive is False:
        return f"worker process {owner.pid} on {owner.host} is gone"
    if alive is None and heartbeat is not None and now - heartbeat > stale_after:
        return f"no heartbeat from {owner.host} for {now - heartbeat:.0f}s"
    return None


@dataclass(frozen=True)
class StaleLock:
    path: Path
    age: float            # seconds since last modification


def find_locks(git_common_dir: Path) -> list[StaleLock]:
    """``*.lock`` files under exptui's own namespaces (``refs/exptui`` and ``.git/exptui``), with their age.

    git never removes a stale ``.lock`` and every update of that ref fails until someone does; these are
    the ones exptui may remove (never ``index.lock`` or ``packed-refs.lock``: those belong to the user).
    """
    now = time.time()
    out: list[StaleLock] = []
    base = exptui_dir(Path(git_common_dir))
    roots = [Path(git_common_dir) / "refs" / "exptui", base]
    try:  # our state dirs, but not run dirs (their own git repos) or a DVC cache (could hold millions of files)
        roots += [base / d for d in os.listdir(base) if d not in ("runs", "dvc-cache")]
    except FileNotFoundError:
        pass
    for root in roots:
        if not root.is_dir():
            continue
        walk = os.walk(root) if root != base else [(str(base), [], os.listdir(base))]
        for dirpath, _dirs, files in walk:
            for f in files:
                if f.endswith(".lock"):
                    p = Path(dirpath) / f
                    try:
                        out.append(StaleLock(p, now - p.stat().st_mtime))
                    except FileNotFoundError:
                        continue
    return out
