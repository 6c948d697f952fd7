"""`QueueManager`: the queue as the CLI and the TUI see it (``project.queue``).

It turns ``-S`` overrides into queue entries (sweep expansion from `dvc_compat.sweep`, params edited on temp
copies, never in the workspace), starts detached worker processes, and carries out stop / kill / retry /
remove / logs / recover. All state lives in git refs and files under ``.git/exptui`` (see
`exptui.store.queue`), so any number of managers (two TUIs, a CLI) can act on one queue at once: every change is
a create-only or compare-and-swap ref update, and a loser is told.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence, Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exptui.errors import ExperimentNotFound, ExptuiError
from exptui.store.claims import ProcessIdentity, new_token
from exptui.store.git import Git
from exptui.store.entry_state import EntryState, check_transition
from exptui.store.queue import EntrySpec, Overrides, QueueEntry, QueueListing, QueueStore, scratch_mkdtemp

if TYPE_CHECKING:  # pragma: no cover
    from exptui.execution.recovery import RecoveryReport
    from exptui.records import ExperimentRow
    from exptui.project import Project

#: `enqueue` refuses bigger sweeps unless `yes=True` (`--yes` on the command line)
MAX_WITHOUT_YES = 1000
#: untracked files bigger than this are refused: each queued snapshot would carry them into git
LARGE_UNTRACKED = 50 * 2**20
#: statuses `retry --failed` / `remove --failed` act on: those that may go back to the queue
UNSUCCESSFUL: tuple[EntryState, ...] = tuple(s for s in EntryState if s.retryable)


@dataclass(frozen=True)
class WorkerInfo:
    """A live (or just-started) worker process."""

    token: str
    pid: int
    host: str
    started: float
    current: str | None = None          # entry id being run
    current_name: str | None = None
    heartbeat: float | None = None


class QueueManager:
    """One repository's queue. `project` is an `exptui.project.Project`, a `Git`, or a path."""

    def __init__(self, project: Project | Git | str | os.PathLike[str]):
        if isinstance(project, (str, os.PathLike)):
            git = Git.discover(project)
        elif isinstance(project, Git):
            git = project
        else:
            git = project.git
        self.project = project
        self.git = git
        self.root = git.root
        self.store = QueueStore(git)
        self.state = self.store.state
        self._spawned: list[subprocess.Popen[bytes]] = []
        self.last_queued: list[str] = []      # ids of the entries queued when `start` last ran

    # -- queueing -------------------------------------------------------------------------------------------
    def _combinations(self, overrides: Sequence[str], random_n: int | None, seed: int | None,
                      yes: bool = True) -> list[tuple[str, Overrides, dict[str, Any]]]:
        """[(display text, {file: {key: value}}, per-file edits)] for each experiment the overrides describe."""
        from dvc_compat import sweep

        parsed = sweep.parse_overrides(list(overrides))
        sweep.check_paths(parsed, self.root, [self.git.git_dir])  # nothing outside the project or in .git
        if random_n is not None:
            if random_n < 1:
                raise ExptuiError("--random needs a positive number of experiments")
            n = random_n
        else:
            n = sweep.count(parsed)
        if n > MAX_WITHOUT_YES and not yes:
            raise ExptuiError(f"this sweep makes {n} experiments (more than {MAX_WITHOUT_YES}); "
                              "pass --yes to queue them all")
        combos = sweep.sample_random(parsed, random_n, seed) if random_n is not None else sweep.expand_grid(parsed)
        out = []
        for combo in combos:
            edits = sweep.group_by_file(combo, parsed)
            values: Overrides = {}
            for file, edit in edits.items():
                values[file] = {**edit.values, **{f"~{k}": None for k in edit.remove}}
            out.append((sweep.format_combination(combo), values, edits))
        return out

    def _validate(self, edits_list: Sequence[Mapping[str, Any]]) -> None:
        """Unknown keys or missing params files: one error naming the key, before anything is queued."""
        from dvc_compat.errors import FormatError
        from dvc_compat.params import MISSING_DEFAULT, format_value, get_dotted, load_params, unknown_key_error
        from dvc_compat.sweep import type_mismatch

        checked: set[tuple[str, str]] = set()
        loaded: dict[str, dict[str, Any]] = {}
        for edits in edits_list:
            for file, edit in edits.items():
                if file not in loaded:
                    try:
                        loaded[file] = load_params(self.root / file, display=file)
                    except FileNotFoundError:
                        if edit.remove or any(k not in edit.allow_new for k in edit.values):
                            raise FormatError(file, "params file does not exist; create it, or name an "
                                              "existing one as FILE:key=value") from None
                        loaded[file] = {}
                data = loaded[file]
                for key in [*edit.values, *edit.remove]:
                    if (file, key) not in checked and key not in edit.allow_new:
                        checked.add((file, key))
                        if get_dotted(data, key, default=MISSING_DEFAULT) is MISSING_DEFAULT:
                            raise unknown_key_error(file, key, data)
                for key, value in edit.values.items():
                    current = get_dotted(data, key, default=MISSING_DEFAULT)
                    if current is MISSING_DEFAULT:
                        continue
                    kind = type_mismatch(current, value)
                    if kind is not None:
                        raise FormatError(file, f"'{key}' is {kind} (now {format_value(current)}); "
                                          f"{key}={format_value(value)} is not: give {kind}, or change its "
                                          "type in the params file first", key=key)

    def large_untracked(self, limit: int = LARGE_UNTRACKED) -> list[tuple[str, int]]:
        """Untracked, non-ignored files over `limit` bytes: the snapshot (like `git add -A`) would store them in
        git. Read-only (`--no-optional-locks`: not even the index stat cache is refreshed)."""
        out = self.git.run_bytes("--no-optional-locks", "status", "--porcelain", "-z", "--untracked-files=all")
        big = []
        for rec in out.split(b"\0"):
            if rec.startswith(b"?? "):
                rel = rec[3:].decode("utf-8", "surrogateescape")
                try:
                    size = (self.root / rel).stat().st_size
                except OSError:
                    continue
                if size > limit:
                    big.append((rel, size))
        return big

    def _validate_pipeline(self) -> None:
        """A malformed dvc.yaml fails here (file:line), before anything is queued."""
        from exptui.pipeline.dag import load_pipeline

        if not (self.root / ".dvc").is_dir():
            raise ExptuiError(f"{self.root} is not a DVC repository (no .dvc directory): run 'exptui init' (or 'dvc init') first; "
                              "nothing queued")
        if not load_pipeline(self.root).stages:
            raise ExptuiError(f"no dvc.yaml with stages in {self.root}: nothing to run, nothing queued")

    def preview(self, overrides: Sequence[str], random_n: int | None = None,
                seed: int | None = None) -> list[dict[str, Any]]:
        """What `enqueue` would queue, without queueing: ``[{"text", "params": {file: {key: value}}}]``.

        Raises for bad syntax or unknown keys exactly as `enqueue` would.
        """
        combos = self._combinations(overrides, random_n, seed)
        self._validate([edits for _t, _v, edits in combos])
        self._validate_pipeline()
        return [{"text": text, "params": values} for text, values, _e in combos]

    def count(self, overrides: Sequence[str], random_n: int | None = None) -> int:
        """How many experiments the overrides describe (cheap: no expansion)."""
        from dvc_compat import sweep

        return random_n if random_n is not None else sweep.count(sweep.parse_overrides(list(overrides)))

    def enqueue(self, overrides: Sequence[str], name: str | None = None, random_n: int | None = None,
                seed: int | None = None, *, yes: bool = True, allow_large: bool = False) -> list[QueueEntry]:
        """Queue one experiment per combination, all or nothing (see `_enqueue`).

        Under the workspace lock: the params files and the workspace snapshot are read while no `exptui run`,
        `apply` or `dvc` command is writing them, so an entry never captures a half-run's in-flight params (a run in
        progress is waited for, a bounded time; see exptui.pipeline.workspace_lock).
        """
        from exptui.pipeline.workspace_lock import workspace_lock

        with workspace_lock(self.root):
            return self._enqueue(overrides, name, random_n, seed, yes=yes, allow_large=allow_large)

    def _enqueue(self, overrides: Sequence[str], name: str | None = None, random_n: int | None = None,
                 seed: int | None = None, *, yes: bool = True, allow_large: bool = False) -> list[QueueEntry]:
        """Queue one experiment per combination, all or nothing.

        Names: `name` for one experiment, ``name-1..N`` for a sweep; else, for a sweep, names from the params that
        vary (``md4-lr0.05``, see `dvc_compat.sweep.trial_names`), and generated ``<adjective>-<noun>`` ones for a
        single experiment (as DVC names them) or where no such name fits.
        The workspace (with uncommitted and untracked, non-ignored files) is snapshotted through a temporary
        index; params are edited on temp copies. `yes=False` refuses more than 1,000 experiments; untracked
        files over 50 MiB are refused unless `allow_large`.
        """
        from dvc_compat.config import hydra_composition_refusal
        from dvc_compat.exp_refs import generate_name
        from dvc_compat.params import apply_overrides
        from exptui.store.experiments import name_problem, validate_new_name

        refusal = hydra_composition_refusal(self.root)
        if refusal is not None:
            raise ExptuiError(f"{refusal}; nothing queued")
        baseline = self.git.head()
        combos = self._combinations(overrides, random_n, seed, yes=yes)
        if not combos:
            raise ExptuiError("the sweep is empty: nothing to queue")
        if name is not None:  # before any other work: the same rules as `run -n`
            names = [name] if len(combos) == 1 else [f"{name}-{i}" for i in range(1, len(combos) + 1)]
            for n in names:
                validate_new_name(self.git, n)
        self._validate([edits for _t, _v, edits in combos])
        self._validate_pipeline()
        big = self.large_untracked()
        if big and not allow_large:
            path, size = big[0]
            more = f" (and {len(big) - 1} more)" if len(big) > 1 else ""
            raise ExptuiError(f"untracked file {path} ({size / 2**20:.0f} MiB){more} would be stored in git with "
                              "every queued snapshot: track it with `dvc add`, git-ignore it, or commit it; "
                              "nothing queued")
        taken = self._taken_names(baseline)
        if name is not None:
            for n in names:
                if n in taken:
                    raise ExptuiError(f"experiment name {n!r} is already used (queued or recorded) for this "
                                      "baseline; choose another name")
        from dvc_compat.sweep import DELETE, sweep_label, trial_names

        as_targets: list[dict[tuple[str | None, str], Any]] = [{(file, k[1:] if k.startswith("~") else k): (DELETE if k.startswith("~") else v)
                       for file, vals in values.items() for k, v in vals.items()} for _t, values, _e in combos]
        label = None
        if len(combos) > 1:  # a sweep: its trials carry one id and label (see QueueStore.create)
            labels = self._sweep_labels(baseline)
            label = sweep_label(as_targets, labels.__contains__)
        if name is None:
            import random  # here, not at import: `queue status` never names an experiment

            rng = random.Random()
            names = []
            for descriptive in trial_names(as_targets, lambda c: c in taken or name_problem(None, c) is not None):
                n = descriptive or generate_name(rng, lambda c: c in taken)
                taken.add(n)
                names.append(n)
        edits_by_entry = [edits for _t, _v, edits in combos]
        # params are edited on throw-away copies: apply_overrides writes durably (fsync per edit, right for
        # the user's files), so on a tmpfs a sweep of 1,000 edits does not wait for 1,000 disk flushes
        tmp = scratch_mkdtemp(self.git, "params")
        edited: dict[tuple[str, str], bytes] = {}
        slots: dict[str, Path] = {}

        def apply(index: int, file: str, original: bytes | None) -> bytes:
            """Edit a temp copy of the workspace's params file (same name: the format follows the suffix)."""
            edit = edits_by_entry[index][file]
            key = (file, repr((sorted(edit.values.items(), key=str), sorted(edit.allow_new), edit.remove)))
            if key in edited:
                return edited[key]
            if file not in slots:
                slots[file] = tmp / str(len(slots)) / Path(file).name
                slots[file].parent.mkdir()
            path = slots[file]
            if original is not None:
                path.write_bytes(original)
            else:
                path.unlink(missing_ok=True)
            apply_overrides(path, edit.values, allow_new=edit.allow_new, remove=edit.remove, display=file)
            edited[key] = data = path.read_bytes()
            return data

        specs = [EntrySpec(n, values) for n, (_t, values, _e) in zip(names, combos)]
        try:
            from exptui.execution.isolated import shared_cache_dir
            from exptui.pipeline.datasources import snapshot_data_sources

            # data edited in place since `dvc add` is committed into the snapshot, as DVC's queue does
            workspace_tree = snapshot_data_sources(self.root, self.git, self.git.snapshot_workspace(),
                                                   shared_cache_dir(self.root, self.git))
            # a user-given name is reserved in the same ref transaction (create-only): of several `run --queue
            # -n same` at once exactly one queues, the others are told
            entries = self.store.create(specs, baseline, workspace_tree, apply, reserve_names=name is not None,
                                        sweep_label=label)
        finally:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        return entries

    def _sweep_labels(self, baseline: str) -> set[str]:
        """Labels of the sweeps queued on `baseline` that still have entries (a new sweep of the same params gets
        ``md-lr-2``)."""
        return {e.sweep_label for e in self.store.entries(with_run_info=False)
                if e.baseline == baseline and e.sweep_label}

    def _taken_names(self, baseline: str) -> set[str]:
        from dvc_compat.exp_refs import baseline_prefix

        prefix = baseline_prefix(baseline)
        refs = self.git.for_each_ref([prefix], fields=("refname",))
        taken = {r[0][len(prefix):] for r in refs}
        taken.update(e.name for e in self.store.entries(with_run_info=False)
                     if e.baseline == baseline and not e.status.recorded)
        taken.update(self.store.reserved_names(baseline))
        return taken

    # -- reading --------------------------------------------------------------------------------------------
    def entries(self) -> list[QueueEntry]:
        """Every entry, oldest first, with running ones' stage and start time."""
        return self.store.entries()

    def listing(self) -> QueueListing:
        """Every entry as `queue status` reads it: queued ones as columns, the others in full (`QueueListing`)."""
        return self.store.listing()

    def rows(self) -> list[ExperimentRow]:
        return self.store.rows()

    def find(self, key: str) -> QueueEntry:
        """An entry by name, id or id prefix; the newest when several entries share a name."""
        entries = self.store.entries()
        by_id = [e for e in entries if e.id == key]
        if by_id:
            return by_id[0]
        by_name = [e for e in entries if e.name == key]
        if by_name:
            return by_name[-1]
        if len(key) >= 4:
            prefixed = [e for e in entries if e.id.startswith(key)]
            if len(prefixed) == 1:
                return prefixed[0]
        raise ExperimentNotFound(f"no queue entry named {key!r} (see: exptui queue status)")

    def log_path(self, key: str) -> Path:
        """The log file of an entry's latest attempt (it may not exist yet while the entry is queued)."""
        entry = self.find(key)
        return Path(entry.log_path) if entry.log_path else self.store.log_path(entry.id, entry.attempt)

    def workers(self, entries: list[QueueEntry] | QueueListing | None = None) -> list[WorkerInfo]:
        """Live workers of this repository (dead ones' registry files are removed)."""
        data_list = self.state.workers()
        if not data_list:
            return []
        if entries is None:
            entries = self.store.entries(with_run_info=False)
        by_id = entries.names_by_id() if isinstance(entries, QueueListing) else {e.id: e.name for e in entries}
        out = []
        for data in data_list:
            ident = ProcessIdentity.from_dict(data)
            if ident is None:
                continue
            if ident.alive() is False:
                self.state.unregister_worker(ident.token)
                continue
            current = data.get("current")
            out.append(WorkerInfo(ident.token, ident.pid, ident.host, float(data.get("started") or 0), current,
                                  by_id.get(current) if current else None, data.get("heartbeat")))
        return out

    def workers_running(self) -> bool:
        self._reap()
        return bool(self.workers()) or any(p.poll() is None for p in self._spawned)

    # -- running --------------------------------------------------------------------------------------------
    def start(self, jobs: int = 1, detach: bool = True, timeout: float | None = None,
              searches: bool = True) -> list[WorkerInfo]:
        """Spawn up to `jobs` worker processes (never more than there are queued entries).

        `searches` (with `detach`): also start a detached feeder when adaptive searches are open (the TUI's start
        key); `queue start` passes False and drives them itself.

        Workers run in their own session, so they outlive the CLI or TUI that started them. With
        `detach=False` this call waits for them: a first Ctrl-C cancels running stages gracefully (their
        entries become cancelled, queued ones stay queued), a second kills the stages at once.
        """
        if jobs < 1:
            raise ExptuiError("start at least 1 worker (-j 1)")
        entries = self.store.entries()
        if self.recover(entries).changed:
            entries = self.store.entries()
        queued = [e.id for e in entries if e.status == EntryState.QUEUED and e.search is None]
        self.last_queued = queued
        n = min(jobs, len(queued))
        if n:
            self.git.check_writable()  # an unwritable object store fails here, not as "1 queued" and exit 0
        # an adaptive search's trials are started by its feeder (`search_feeder`), one worker each, so that at
        # most -j run at once: plain workers are told which entries they may take when trials are queued too
        only: list[str] = []
        if any(e.search is not None and e.status == EntryState.QUEUED for e in entries):
            only = [arg for entry_id in queued for arg in ("--entry", entry_id)]
        started = [self._spawn(timeout, only) for _ in range(n)]
        if searches and detach and self.open_searches():
            self.start_feeder(jobs, timeout)
        if not detach:
            self.wait(started)
        return started

    def _spawn(self, timeout: float | None, extra: Sequence[str] = ()) -> WorkerInfo:
        token = new_token()
        logs = self.state.workers_dir
        logs.mkdir(parents=True, exist_ok=True)
        from exptui.execution.worker import signals_blocked, worker_command

        cmd = worker_command(self.root, "--token", token, *extra)
        if timeout is not None:
            cmd += ["--timeout", str(timeout)]
        with open(logs / f"{token}.out", "ab") as out, signals_blocked():
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True, cwd=self.root)
        self._spawned.append(proc)
        return WorkerInfo(token, proc.pid, ProcessIdentity.current().host, time.time())

    def spawn_search_worker(self, search_id: str, timeout: float | None = None,
                            linger: float = 10.0) -> subprocess.Popen[bytes]:
        """A worker that runs only this adaptive search's trials, one after the other, waiting up to `linger` idle
        seconds for the feeder's next proposal (how a search feeder starts its workers)."""
        self._spawn(timeout, ["--search", search_id, "--linger", str(linger)])
        return self._spawned[-1]

    # -- adaptive search ------------------------------------------------------------------------------------
    def create_search(self, overrides: Sequence[str], **options: Any) -> Any:
        """Store an adaptive search (see exptui.execution.search.create_search); trials are proposed by the
        feeder that `queue start` runs."""
        from exptui.execution.search import create_search

        return create_search(self, overrides, **options)

    def open_searches(self) -> list[Any]:
        """Searches with trials left to propose, run or tell."""
        from exptui.execution.search_feeder import open_searches

        return open_searches(self)

    def drive_searches(self, jobs: int, timeout: float | None = None, say: Any = None) -> list[str]:
        """Drive the open searches in this process until they are finished (`queue start --wait`); returns the
        ids of their trial entries."""
        from exptui.execution.search_feeder import drive

        return drive(self, jobs, timeout, **({"say": say} if say is not None else {}))

    def start_feeder(self, jobs: int, timeout: float | None = None) -> int:
        """A detached feeder process for the open searches (`queue start` without --wait); its pid."""
        logs = self.state.workers_dir
        logs.mkdir(parents=True, exist_ok=True)
        from exptui.execution.worker import signals_blocked

        cmd = [sys.executable, "-m", "exptui.execution.search_feeder", "--repo", str(self.root), "-j", str(jobs)]
        if timeout is not None:
            cmd += ["--timeout", str(timeout)]
        with open(logs / f"search-feeder-{os.getpid()}.out", "ab") as out, signals_blocked():
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True, cwd=self.root)
        self._spawned.append(proc)
        return proc.pid

    def _reap(self) -> None:
        self._spawned = [p for p in self._spawned if p.poll() is None]

    def wait(self, workers: Sequence[WorkerInfo] | None = None, interrupted: bool = False) -> bool:
        """Wait for workers this manager spawned (default: all of them); Ctrl-C (or SIGTERM/SIGHUP, see
        exptui.cli.interrupts) once: graceful cancel; twice: kill (see exptui.cli.interrupts). `interrupted`: the first interrupt already came
        (while the workers were being started). Returns whether the wait was interrupted (the CLI then exits
        128+signal)."""
        pids = None if workers is None else {w.pid for w in workers}
        procs = [p for p in self._spawned if pids is None or p.pid in pids]
        interrupts = 0
        pending_interrupt = interrupted
        while True:
            try:
                if pending_interrupt:
                    pending_interrupt = False
                    raise KeyboardInterrupt
                for p in procs:
                    p.wait()  # blocks without polling; Ctrl-C interrupts it
                return interrupts > 0
            except KeyboardInterrupt:
                interrupts += 1
                for p in procs:
                    if p.poll() is None:
                        try:
                            p.send_signal(signal.SIGINT)
                        except ProcessLookupError:
                            pass
                if interrupts == 1:
                    print("stopping running stages (Ctrl-C again to kill them)...", file=sys.stderr)

    def settle(self, waited: set[str], tokens: AbstractSet[str] = frozenset(), poll: float = 0.2) -> list[QueueEntry]:
        """After the workers a `queue start --wait` spawned have exited: the entries it waited for, settled.

        `waited`: ids queued when it started; `tokens`: its workers' tokens (entries queued later that they ran
        count too). Recovery runs first, so an entry whose worker died is `crashed`, never "running". While a
        waited entry is still queued or running and some live worker (of another `queue start`) may still finish
        it, this keeps waiting; once no live worker is left, what is not terminal is reported as unfinished.
        """
        while True:
            entries = self.store.entries()
            if self.recover(entries).changed:
                entries = self.store.entries()
            mine = [e for e in entries if e.id in waited or (e.claim is not None and e.claim.owner.token in tokens)]
            if all(e.terminal for e in mine) or not self.workers(entries):
                return self.show_dead_as_crashed(mine)
            time.sleep(poll)

    def stop(self) -> list[WorkerInfo]:
        """Ask every worker to exit after its current entry; returns the workers told."""
        self.state.request_stop()
        return self.workers()

    def kill(self, key: str) -> QueueEntry:
        """Cancel an entry: a running one's stages are stopped (SIGTERM, grace, SIGKILL), a queued one never
        starts. Either way it ends `cancelled` (or `crashed` if its worker turns out to be dead)."""
        entry = self.find(key)
        if entry.status == EntryState.QUEUED:
            if self.store.cancel_queued(entry, "cancelled by user before it started"):
                return entry
            entry = self.find(entry.id)  # a worker claimed it meanwhile: cancel the run instead
        check_transition(entry.name, entry.status, EntryState.CANCELLED)  # a finished entry is left as it is
        reason = entry.dead_reason
        if reason is not None:
            from exptui.execution.recovery import mark_crashed

            mark_crashed(self.store, entry, reason)
            return entry
        self.state.request_cancel(entry.id, "cancelled by user (queue kill)")
        return entry

    def retry(self, key: str | None = None, *, failed: bool = False) -> list[QueueEntry]:
        """Put failed/crashed/cancelled entries back in the queue: one by name, or all with `failed=True`
        (``retry("failed")`` does the same when no entry is named "failed")."""
        entries = self.store.entries(with_run_info=False)
        if key is not None and not failed:
            if key == "failed" and not any(e.name == key for e in entries):
                failed = True
            else:
                targets = [self.find(key)]
        if failed:
            targets = [e for e in entries if e.status in UNSUCCESSFUL]
        out = []
        for e in targets:
            check_transition(e.name, e.status, EntryState.QUEUED)  # only failed, cancelled or crashed ones
            if not self.store.retry(e):
                raise ExptuiError(f"{e.name} was changed by another process meanwhile; look again "
                                  "(exptui queue status)")
            out.append(e)
        return out

    def remove(self, targets: str | Sequence[str] = (), *, failed: bool = False, success: bool = False,
               all: bool = False) -> list[QueueEntry]:  # noqa: A002 - mirrors the --all flag
        """Drop entries (never recorded experiments): by name, or every failed/crashed/cancelled (`failed`),
        successful (`success`) or not-running (`all`) entry. A running entry must be killed first."""
        if isinstance(targets, str):
            targets = [targets]
        targets = list(targets)
        entries = self.store.entries(with_run_info=False)
        names = {e.name for e in entries}
        for selector in ("failed", "success", "all"):
            if selector in targets and selector not in names:
                targets.remove(selector)
                failed = failed or selector == "failed"
                success = success or selector == "success"
                all = all or selector == "all"
        chosen: dict[str, QueueEntry] = {}
        for key in targets:
            e = self.find(key)
            if e.status == EntryState.RUNNING:
                raise ExptuiError(f"{e.name} is running; kill it first (exptui queue kill {e.name})")
            chosen[e.id] = e
        named = set(chosen)
        for e in entries:
            if e.status == EntryState.RUNNING:
                continue
            if all or (failed and e.status in UNSUCCESSFUL) or (success and e.status == EntryState.SUCCESS):
                chosen[e.id] = e
        searching = {e.id: e for e in chosen.values() if e.search is not None}
        if searching:
            from exptui.execution.search import is_finished, list_searches, trials_of

            open_specs = {s.id: s for s in list_searches(self.git) if not is_finished(s, trials_of(s, entries))}
            for e in searching.values():
                spec = open_specs.get(str((e.search or {}).get("id")))
                if spec is None:
                    continue
                if e.id in named:
                    raise ExptuiError(f"{e.name} is a trial of the adaptive search {spec.name}, which is not "
                                      "finished: removed, it would be proposed again; let the search finish "
                                      "(exptui queue start) first")
                del chosen[e.id]       # a bulk removal leaves an open search's trials alone
        removed = []
        for e in chosen.values():
            if self.store.remove(e):
                removed.append(e)
        return removed

    @staticmethod
    def show_dead_as_crashed(entries: list[QueueEntry]) -> list[QueueEntry]:
        """For display: running entries whose worker is provably dead are `crashed`, even before there was room
        to record that (see exptui.execution.recovery.show_dead_as_crashed)."""
        from exptui.execution.recovery import show_dead_as_crashed

        return show_dead_as_crashed(entries)

    def recover(self, entries: list[QueueEntry] | None = None) -> RecoveryReport:
        """Declare entries of dead workers crashed, kill their orphans, clean their run dirs.

        `entries`: a fresh `entries()` listing to reuse (saves one listing)."""
        from exptui.execution.recovery import recover

        return recover(self.store, entries=entries)

    def changed_token(self) -> str:
        """Changes whenever queue refs or run files change (cheap: one for-each-ref and a directory listing)."""
        import hashlib

        h = hashlib.sha1(self.git.run_bytes("for-each-ref", "--format=%(objectname) %(refname)", "refs/exptui/"))
        try:
            for name in sorted(os.listdir(self.state.run_dir)):
                h.update(name.encode())
                h.update(str(os.stat(self.state.run_dir / name).st_mtime_ns).encode())
        except FileNotFoundError:
            pass
        return h.hexdigest()

    def summary(self) -> dict[str, int]:
        counts = {s.value: 0 for s in EntryState}
        for e in self.store.entries(with_run_info=False):
            counts[e.status] = counts.get(e.status, 0) + 1
        return counts
