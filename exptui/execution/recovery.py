"""Crash recovery: turn entries whose worker died into `crashed`, kill their orphans, clean their leftovers.

A running entry is declared dead only on proof: its owner process on this host is gone or
its pid now belongs to another process (start time differs), or, for an owner on another host, its heartbeat is
stale. The terminal state is written create-only, so a worker that was merely slow and finishes at the same
moment cannot be overwritten: exactly one of the two decisions lands.

Run dirs are removed only when their owner (``runs/<dir>.owner.json``) is provably dead, or when they belong
to a queue entry that is no longer running.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from exptui.store.claims import ProcessIdentity, clean_temp_files, kill_tagged, read_json, write_json_atomic
from exptui.store.entry_state import EntryState, check_transition
from exptui.store.queue import DoneRecord, QueueEntry, QueueStore

#: a run dir without an owner file younger than this may still be in creation
RUN_DIR_GRACE = 60.0


@dataclass
class RecoveryReport:
    crashed: list[tuple[str, str]] = field(default_factory=list)      # (entry name, reason)
    killed_processes: int = 0
    removed_run_dirs: list[Path] = field(default_factory=list)
    failed_removals: list[Path] = field(default_factory=list)
    removed_worker_files: int = 0
    removed_temp_files: int = 0
    #: (entry name, why its worker counts as dead, why the crashed state could not be written): a full disk or
    #: a read-only repository; the entry is still dead, and the next recovery with room records it
    unrecorded: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.crashed or self.killed_processes or self.removed_run_dirs or self.removed_worker_files
                    or self.removed_temp_files)


def run_token_of(owner_token: str, entry_id: str) -> str:
    """The environment tag of the stage processes of one attempt (see claims.kill_tagged)."""
    return f"{owner_token}-{entry_id}"


def owner_file(run_dir: Path) -> Path:
    return run_dir.parent / f"{run_dir.name}.owner.json"


def write_owner(run_dir: Path, owner: ProcessIdentity) -> None:
    """Atomic, not fsynced: after a power loss the owner is dead whatever the file says, and a run dir without
    a readable owner file is removed once it is older than the grace period (`orphan_run_dirs`)."""
    write_json_atomic(owner_file(run_dir), {**owner.to_dict(), "time": time.time()}, durable=False)


def find_recorded(store: QueueStore, entry: QueueEntry) -> tuple[str, str, EntryState] | None:
    """(ref, sha, state) of an experiment this entry's run already recorded, if its worker died right after: the
    state is `pruned` when the commit's ``Exptui-Status`` trailer says so (a pruned trial), else `success`.

    Recognised by the entry id in the commit's run-fact command (see worker.queue_command), under the entry's
    baseline, with the entry's name or a suffixed one.
    """
    from dvc_compat.exp_refs import baseline_prefix

    try:
        prefix = baseline_prefix(entry.baseline)
    except ValueError:
        return None
    out = store.git.run_bytes("for-each-ref", "--format=%(refname)%00%(objectname)%00%(contents)%00%01", prefix)
    marker = f"exptui queue {entry.id}:".encode()
    for rec in out.split(b"\0\x01"):
        parts = rec.lstrip(b"\n").split(b"\0")
        if len(parts) < 3:
            continue
        name = parts[0].decode()[len(prefix):]
        if (name == entry.name or name.startswith(entry.name + "-")) and marker in parts[2]:
            state = EntryState.PRUNED if b"\nExptui-Status: pruned" in parts[2] else EntryState.SUCCESS
            return parts[0].decode(), parts[1].decode(), state
    return None


def mark_crashed(store: QueueStore, entry: QueueEntry, reason: str) -> bool:
    """Kill the entry's leftover stage processes, finish its log and write `crashed` (create-only).

    If the run had already recorded its experiment (the worker died between the experiment ref and the
    terminal state), the entry is finished as `success` instead: the experiment exists, running it again
    would duplicate it.
    """
    from exptui.execution.runner import finalize_log

    owner = entry.run.owner if entry.run is not None else (entry.claim.owner if entry.claim else None)
    if owner is not None and owner.local:
        kill_tagged(run_token_of(owner.token, entry.id), signal.SIGKILL)
    log = Path(entry.log_path) if entry.log_path else store.log_path(entry.id, entry.attempt)
    try:
        finalize_log(log)
    except OSError:
        pass
    duration = None if entry.started is None else time.time() - entry.started
    recorded = find_recorded(store, entry)
    if recorded is not None:
        record = DoneRecord(recorded[2], None, recorded[0], recorded[1], str(log), entry.attempt or 1,
                            time.time(), duration)
    else:
        record = DoneRecord(EntryState.CRASHED, reason, log_path=str(log), attempt=entry.attempt or 1,
                            finished=time.time(), duration=duration)
    try:
        with open(log, "ab") as fh:
            note = "crashed" if recorded is None else "worker died after recording the experiment"
            fh.write(f"\n[exptui] {note}: {reason}\n".encode())
    except OSError:
        pass
    won = store.finish(entry, record)
    store.state.clear(entry.id)
    return won


def recover(store: QueueStore, remove_dirs: bool = True, entries: list[QueueEntry] | None = None) -> RecoveryReport:
    """Declare dead runs crashed, remove orphan run dirs and dead workers' registry files.

    `entries`: a fresh listing (with run info) to reuse instead of listing again.
    """
    report = RecoveryReport()
    entries = store.entries() if entries is None else entries
    from exptui.errors import ExptuiError

    # only a running entry can have a dead owner: 10,000 queued entries cost one pass, not 10,000 property calls
    running_now = [e for e in entries if e.status is EntryState.RUNNING]
    for entry in running_now:
        reason = entry.dead_reason
        if reason is None:
            continue
        try:
            if mark_crashed(store, entry, reason):
                report.crashed.append((entry.name, reason))
        except (ExptuiError, OSError) as exc:  # no room for the terminal state: never fail the caller for it
            report.unrecorded.append((entry.name, reason, str(exc)))
    if remove_dirs:
        running = {e.id for e in running_now if e.status == EntryState.RUNNING and e.dead_reason is None}
        clean_run_dirs(store, running, report)
        for owner in orphan_owner_files(store):
            try:
                owner.unlink()
                report.removed_temp_files += 1
            except FileNotFoundError:
                pass
        from exptui.store.queue import dead_scratch_dirs

        for scratch in dead_scratch_dirs(store.git):
            import shutil  # imported where used: reading the queue never needs it

            shutil.rmtree(scratch, ignore_errors=True)
            if not scratch.exists():
                report.removed_run_dirs.append(scratch)
    report.removed_temp_files += clear_stale_run_files(store, entries)
    for data in store.state.workers():
        ident = ProcessIdentity.from_dict(data)
        if ident is not None and ident.alive() is False:
            store.state.unregister_worker(ident.token)
            report.removed_worker_files += 1
    st = store.state
    for directory in (st.base, st.run_dir, st.runs_dir, st.workers_dir):
        report.removed_temp_files += len(clean_temp_files(directory))
    return report


def show_dead_as_crashed(entries: list[QueueEntry]) -> list[QueueEntry]:
    """For display: an entry still "running" whose worker is provably dead is crashed, even when its crashed state
    could not be written yet (full disk); the next recovery with room records it."""
    for e in entries:
        if e.status is not EntryState.RUNNING:  # the common case, without the `dead_reason` property call
            continue
        reason = e.dead_reason
        if reason is not None:
            e.status = check_transition(e.name, e.status, EntryState.CRASHED)
            e.reason = f"{reason} (not recorded yet: no room to write it)"
    return entries


def clear_stale_run_files(store: QueueStore, entries: list[QueueEntry]) -> int:
    """Remove run files (``run/<id>.json``) of attempts that already have a terminal state.

    A worker SIGKILLed right after its ``update-ref`` of the terminal state (or whose git child landed it after
    the kill) never clears its run file, and no later pass would: the entry is no longer running. Only the
    attempt the terminal record covers is cleared, so the run file of a retried entry's new attempt (claimed
    after this listing was taken) is left alone. Returns how many files went.
    """
    run_files = store.state.all()
    if not run_files:  # nothing is running (10,000 queued): no pass over the entries
        return 0
    done = {e.id: e.done.attempt for e in entries if e.done is not None}
    removed = 0
    for entry_id, info in run_files.items():
        if entry_id in done and info.attempt <= done[entry_id]:
            store.state.clear(entry_id)
            removed += 1
    return removed


def orphan_run_dirs(store: QueueStore, running_ids: set[str]) -> list[Path]:
    """Run dirs whose owner is provably dead (or whose queue entry no longer runs)."""
    base = store.state.runs_dir
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        return []
    now = time.time()
    out = []
    for name in sorted(names):
        path = base / name
        if name.endswith(".owner.json") or not path.is_dir() or name in running_ids:
            continue
        owner = ProcessIdentity.from_dict(read_json(owner_file(path)))
        if owner is not None:
            if owner.alive() is False:
                out.append(path)
            continue
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue
        if age > RUN_DIR_GRACE:
            out.append(path)
    return out


def orphan_owner_files(store: QueueStore) -> list[Path]:
    """Owner files (``runs/<dir>.owner.json``) without their run dir whose owner is provably dead: a worker killed
    between writing the owner file and creating the run dir (the claim window) leaves one."""
    base = store.state.runs_dir
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        return []
    out = []
    for name in sorted(names):
        if not name.endswith(".owner.json") or (base / name[:-len(".owner.json")]).exists():
            continue
        owner = ProcessIdentity.from_dict(read_json(base / name))
        if owner is None or owner.alive() is False:
            out.append(base / name)
    return out


def clean_run_dirs(store: QueueStore, running_ids: set[str], report: RecoveryReport) -> None:
    for path in orphan_run_dirs(store, running_ids):
        import shutil  # imported where used: reading the queue never needs it

        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            report.failed_removals.append(path)
            continue
        try:
            owner_file(path).unlink()
        except FileNotFoundError:
            pass
        report.removed_run_dirs.append(path)
