"""A queue worker: claim the oldest queued entry, run it isolated, write its terminal state, repeat.

Run as ``python -m exptui.execution.worker --repo ROOT`` (what `exptui queue start` spawns, detached in a new
session so it outlives the CLI or TUI that started it). Several workers on one repo are safe: each entry is
claimed with a create-only ref, so exactly one of them runs it.

While an entry runs, a heartbeat thread rewrites ``.git/exptui/run/<id>.json`` every second (stage, heartbeat
time) and polls for a cancel request (``queue kill``). Signals:

- SIGTERM / SIGINT, first: cancel the running stage gracefully (SIGTERM to its group, grace, SIGKILL), mark the
  entry cancelled, exit without claiming more;
- the same, second: SIGKILL the stage processes at once;
- `queue stop` (a stop marker newer than the worker): finish the current entry, then exit.

``--search ID`` (what an adaptive search's feeder starts): claim only that search's trials, and while none is
queued wait for the feeder to propose the next one (up to ``--linger`` seconds idle, and never once the search has
all its trials finished), so one worker process runs trial after trial instead of one process per trial.

If the worker itself is SIGKILLed, its stage dies by PR_SET_PDEATHSIG and the group reaper (exptui.pipeline.
group_reaper) kills the rest: the stage's process group and every process carrying the worker's environment tag;
`recover()` (run by every other worker before each claim, by `queue status` and `doctor`) marks the entry crashed.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from exptui.execution.recovery import recover, run_token_of
from exptui.store.claims import ProcessIdentity, RunInfo, kill_tagged
from exptui.store.entry_state import EntryState
from exptui.store.git import Git
from exptui.store.queue import DoneRecord, QueueEntry, QueueStore

if TYPE_CHECKING:
    from exptui.execution.isolated import IsolatedResult

HEARTBEAT_INTERVAL = 1.0
_TRACE = bool(os.environ.get("EXPTUI_TRACE"))
#: the signals a worker handles (graceful stop, then kill); blocked from its spawn until its handlers are in place
WORKER_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
#: attempts (with a growing pause) at writing an entry's terminal state before the worker gives up on a full disk
FINISH_ATTEMPTS = 5
#: how often a lingering search worker looks for the next trial
LINGER_POLL = 0.2


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Block the worker signals in the calling thread while it spawns a worker: the child inherits the blocked
    mask through exec and unblocks them once its handlers are installed, so a Ctrl-C (or `queue start`'s SIGINT)
    that arrives while it is still starting is handled, never a KeyboardInterrupt traceback in its `.out` file."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def worker_command(root: str | os.PathLike[str], *extra: str) -> list[str]:
    """The argv of a worker process for `root` (what `queue start`, the local executor and Dask tasks run)."""
    return [sys.executable, "-m", "exptui.execution.worker", "--repo", str(root), *extra]


def trace(what: str) -> None:
    """``EXPTUI_TRACE=1``: timestamped phases on stderr (the worker's ``workers/<token>.out``), for profiling."""
    if _TRACE:
        print(f"[exptui trace] {time.time():.3f} {os.getpid()} {what}", file=sys.stderr, flush=True)


class Worker:
    """One worker process's loop over the queue."""

    def __init__(self, root: str | os.PathLike[str], token: str | None = None, timeout: float | None = None,
                 git: Git | None = None):
        self.git = git or Git.discover(root, long_lived=True)
        self.root = self.git.root
        self.store = QueueStore(self.git)
        self.state = self.store.state
        self.ident = ProcessIdentity.current(token)
        self.started = time.time()
        self.timeout = timeout
        self.stop_event = threading.Event()       # finish the current entry, claim no more
        self.cancel_current = threading.Event()   # stop the running stage gracefully
        self.interrupted: str | None = None
        self.signum: int | None = None             # the first signal that interrupted this worker
        self.failure: str | None = None            # why this worker stopped early (no room to record...)
        self._current: tuple[QueueEntry, str] | None = None
        self.ran: list[str] = []
        self._cleanups: list[threading.Thread] = []   # run dirs being removed while the next entry runs

    # -- the loop -------------------------------------------------------------------------------------------
    def loop(self, only: list[str] | None = None, max_entries: int | None = None, search: str | None = None,
             linger: float = 0.0) -> int:
        """Run entries until the queue is empty, a stop is requested, or `max_entries` ran. Returns the count.

        `search`: only that adaptive search's trials; while none is queued, wait up to `linger` idle seconds for
        the feeder to propose one (see the module docstring)."""
        self.state.register_worker(self.ident, started=self.started)
        count = 0
        idle_since = time.monotonic()
        try:
            while not self.stop_event.is_set() and (max_entries is None or count < max_entries):
                if self.state.stop_requested_since(self.started):
                    break
                trace("claim")
                entry = self.claim_next(only, search)
                trace(f"claimed {entry.name if entry else None}")
                if entry is None:
                    if search is not None and time.monotonic() - idle_since < linger and self._search_open(search):
                        self.stop_event.wait(LINGER_POLL)
                        continue
                    break
                try:
                    self.run_claimed(entry)
                except Exception as exc:  # noqa: BLE001 - e.g. no room for the run file: stop, one line
                    self.failure = f"{entry.name}: {exc}"
                    print(f"[exptui worker] stopping: {self.failure} (recovery marks the entry crashed once "
                          "this worker has exited)", file=sys.stderr)
                    break
                trace("done")
                count += 1
                idle_since = time.monotonic()
                if self.failure is not None:
                    break
        finally:
            self._wait_for_cleanups()
            self.state.unregister_worker(self.ident.token)
            out = self.state.workers_dir / f"{self.ident.token}.out"
            try:
                if out.stat().st_size == 0:
                    out.unlink()
            except OSError:
                pass
        return count

    def _search_open(self, search: str) -> bool:
        """Whether the adaptive search `search` may still get trials (a stored search with trials left)."""
        from exptui.execution.search import is_finished, list_searches, trials_of

        spec = next((s for s in list_searches(self.git) if s.id == search), None)
        return spec is not None and not is_finished(spec, trials_of(spec, self.store.entries(with_run_info=False)))

    def claim_next(self, only: list[str] | None = None, search: str | None = None) -> QueueEntry | None:
        """Claim the oldest queued entry (create-only claim ref). None when nothing is left to claim.
        `search`: only the trials of that adaptive search."""
        # one listing serves recovery and the claim (each listing is a git process); it is taken again only
        # when recovery changed something or a claim was lost
        listing: list[QueueEntry] | None = self.store.entries()
        try:
            if recover(self.store, entries=listing).crashed:  # refs changed: list again
                listing = None
        except Exception as exc:  # noqa: BLE001 - recovery is best effort here; doctor reports details
            print(f"[exptui worker] recovery failed: {exc}", file=sys.stderr)
            listing = None
        for _listing in (0, 1):  # a ref missing from one listing is not proof: re-list once before giving up
            if listing is None:
                listing = self.store.entries(with_run_info=False)
            queued = [e for e in listing if e.status == EntryState.QUEUED and (only is None or e.id in only)
                      and (search is None or (e.search is not None and e.search.get("id") == search))]
            listing = None
            for entry in queued:
                if self.store.claim(entry, self.ident) is not None:  # won: `entry` is now running, claimed
                    return entry
        return None

    def run_claimed(self, entry: QueueEntry) -> DoneRecord:
        """Run an entry this worker has claimed and write its terminal state."""
        log_path = self.store.log_path(entry.id, entry.attempt)
        run_dir = self.state.runs_dir / entry.id
        info = RunInfo(entry.id, entry.name, self.ident, entry.attempt, None, time.time(), time.time(),
                       str(log_path), str(run_dir))
        self.state.write(info)
        self.state.register_worker(self.ident, current=entry.id, started=self.started)
        cancel = threading.Event()
        self.cancel_current = cancel
        self._current = (entry, run_token_of(self.ident.token, entry.id))
        done = threading.Event()
        hb = threading.Thread(target=self._heartbeat, args=(info, cancel, done), daemon=True)
        hb.start()

        def on_stage(stage: str | None) -> None:
            info.stage = stage
            info.heartbeat = time.time()
            self.state.write(info)

        started = time.monotonic()
        try:
            result = self.execute(entry, log_path, run_dir, cancel, on_stage)
            status, reason = result.status, result.reason
            if status in ("cancelled", "pruned"):
                reason = self.interrupted or self.state.cancel_requested(entry.id) or reason
            stages = {name: {"outcome": kind, **({"seconds": round(result.stage_times[name], 3)}
                                                 if name in result.stage_times else {})}
                      for name, kind in result.stage_outcomes.items()}
            record = DoneRecord(EntryState(status), reason, result.exp_ref, result.exp_rev, str(log_path),
                                entry.attempt, time.time(), time.monotonic() - started, stages=stages)
        except Exception as exc:  # noqa: BLE001 - setup failures (clone, missing snapshot) fail this entry only
            record = DoneRecord(EntryState.FAILED, f"{type(exc).__name__}: {exc}", None, None, str(log_path),
                                entry.attempt, time.time(), time.monotonic() - started)
            try:
                with open(log_path, "ab") as fh:
                    fh.write(f"\n[exptui] failed: {record.reason}\n".encode())
            except OSError:
                pass
        finally:
            done.set()
            hb.join(timeout=5)
            self._current = None
        if not self._finish(entry, record):
            return record  # the run file stays: this entry is crashed (or success, if recorded) once we exit
        self.state.clear(entry.id)
        self.ran.append(entry.id)
        self._remove_later(run_dir)  # after the terminal state: cleanup is not on the result's path
        return record

    def execute(self, entry: QueueEntry, log_path: Path, run_dir: Path, cancel: threading.Event,
                on_stage: Callable[[str | None], None]) -> IsolatedResult:
        """Run a claimed entry's pipeline and record its experiment; here, in a shared clone on this machine.

        The one step a remote executor replaces (exptui.execution.dask_executor runs it on a Dask worker that
        does not see the repository); claiming, heartbeats, cancel polling and the terminal state stay here.
        """
        from exptui.execution.isolated import run_isolated

        return run_isolated(
            self.root, entry.rev, entry.baseline, entry.name, log_path,
            run_dir=run_dir, timeout=self.timeout, cancel=cancel, on_stage=on_stage,
            run_token=run_token_of(self.ident.token, entry.id), git=self.git,
            command=queue_command(entry), created=entry.created or None, keep_run_dir=True,
            pruned=lambda: self.interrupted is None and self.state.prune_requested(entry.id),
            sweep=(entry.sweep, entry.sweep_label) if entry.sweep and entry.sweep_label else None,
            search=entry.search_tag,
        )

    def _finish(self, entry: QueueEntry, record: DoneRecord) -> bool:
        """Write the terminal state, retrying a few times (a full disk may get room back); on lasting failure stop
        this worker (claiming more would fail the same way): recovery then finishes the entry, as `crashed`, or as
        `success` when its experiment was recorded, once this process has exited."""
        from exptui.errors import ExptuiError

        for attempt in range(FINISH_ATTEMPTS):
            try:
                self.store.finish(entry, record)
                return True
            except (ExptuiError, OSError) as exc:
                error = exc
                if self.stop_event.wait(0.2 * 2 ** attempt):
                    break
        self.failure = f"could not write the terminal state of {entry.name} ({record.status}): {error}"
        self.stop_event.set()
        print(f"[exptui worker] stopping: {self.failure}", file=sys.stderr)
        return False

    def _remove_later(self, run_dir: Path) -> None:
        """Remove a finished entry's run dir in a background thread, overlapping the next entry's start.

        Safe to lose: the dir carries this worker's owner file, so if the worker dies mid-removal, `recover`
        (any other worker, `queue status`, `doctor`) removes it once this process is provably dead. The loop
        waits for every pending removal before the worker unregisters and exits.
        """
        self._cleanups = [t for t in self._cleanups if t.is_alive()]
        thread = threading.Thread(target=self._remove_run_dir, args=(run_dir,), name="exptui-run-dir-cleanup",
                                  daemon=True)
        thread.start()
        self._cleanups.append(thread)

    def _wait_for_cleanups(self) -> None:
        for thread in self._cleanups:
            thread.join()
        self._cleanups = []

    @staticmethod
    def _remove_run_dir(run_dir: Path) -> None:
        from exptui.execution.isolated import remove_run_dir
        from exptui.execution.recovery import owner_file

        if remove_run_dir(run_dir):
            try:
                owner_file(run_dir).unlink()
            except FileNotFoundError:
                pass
        else:  # logged; `doctor --fix` / recover retry it once the owner is gone
            print(f"[exptui worker] could not remove {run_dir}", file=sys.stderr)

    def _heartbeat(self, info: RunInfo, cancel: threading.Event, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_INTERVAL):
            info.heartbeat = time.time()
            try:
                self.state.write(info)
                self.state.register_worker(self.ident, current=info.entry_id, started=self.started)
            except OSError as exc:  # disk full: the run goes on, the heartbeat tries again
                print(f"[exptui worker] heartbeat write failed: {exc}", file=sys.stderr)
            if not cancel.is_set() and self.state.cancel_requested(info.entry_id):
                cancel.set()

    # -- signals --------------------------------------------------------------------------------------------
    def interrupt(self, hard: bool = False, why: str = "interrupted") -> None:
        """First call: graceful cancel of the running stage and no new claims. `hard`: SIGKILL it now."""
        self.stop_event.set()
        self.interrupted = why
        self.cancel_current.set()
        current = self._current
        if hard and current is not None:
            kill_tagged(current[1], signal.SIGKILL)

    def install_signal_handlers(self) -> None:
        count = {"n": 0}

        def handler(signum: int, _frame: object) -> None:
            count["n"] += 1
            if self.signum is None:
                self.signum = signum
            name = signal.Signals(signum).name
            self.interrupt(hard=count["n"] > 1, why=f"interrupted by {name}")

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, handler)


def warm_up() -> threading.Thread:
    """Import the pipeline engine and hash the installed packages (run facts) in the background.

    Both cost a few hundred ms of CPU the first time in a process; done while the worker lists the queue,
    claims and clones, they leave the critical path of the first experiment.
    """
    def work() -> None:
        try:
            import exptui.pipeline.repro  # noqa: F401
            import exptui.store.experiments  # noqa: F401
            from exptui.store.facts import environment_facts

            environment_facts()
        except Exception:  # noqa: BLE001 - only a warm-up: the real call reports real errors
            pass

    thread = threading.Thread(target=work, name="exptui-warm-up", daemon=True)
    thread.start()
    return thread


def queue_command(entry: QueueEntry) -> str:
    """The run-fact command of a queued run; carries the entry id, which is how `recover` recognises an
    experiment recorded by a worker that died before it could write the entry's terminal state. A trial of an
    adaptive search names its search and trial number too, so the experiment itself says which study it is in."""
    search = ""
    if entry.search is not None:
        search = f" [search {entry.search.get('id')} trial {entry.search.get('trial')}]"
    return f"exptui queue {entry.id}: {entry.name} ({_overrides_text(entry)}){search}"


def _overrides_text(entry: QueueEntry) -> str:
    parts = []
    for file, values in entry.overrides.items():
        prefix = "" if file == "params.yaml" else f"{file}:"
        parts += [k if v is None and k.startswith("~") else f"{prefix}{k}={v}" for k, v in values.items()]
    return " ".join(parts) or "no overrides"


def main(argv: list[str] | None = None) -> int:
    trace("start")
    parser = argparse.ArgumentParser(prog="python -m exptui.execution.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--repo", default=".", help="repository root")
    parser.add_argument("--token", default=None, help="worker token (identity in claims)")
    parser.add_argument("--entry", action="append", default=None, help="run only these entry ids")
    parser.add_argument("--max", type=int, default=None, help="stop after this many entries")
    parser.add_argument("--timeout", type=float, default=None, help="per-stage timeout in seconds")
    parser.add_argument("--search", default=None, help="run only this adaptive search's trials")
    parser.add_argument("--linger", type=float, default=0.0,
                        help="with --search: seconds to wait idle for the next trial before exiting")
    args = parser.parse_args(argv)
    try:
        warm_up()
        worker = Worker(Path(args.repo), token=args.token, timeout=args.timeout)
        worker.install_signal_handlers()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS)  # blocked by our spawner until now
        from exptui.pipeline import group_reaper

        # whatever any stage of this worker leaves running (daemons included) dies with it, however it dies
        group_reaper.guard_tag(run_token_of(worker.ident.token, ""))
        try:
            worker.loop(only=args.entry, max_entries=args.max, search=args.search, linger=args.linger)
        finally:
            worker.git.close()  # reap its git cat-file processes before the exit status is reported
    except KeyboardInterrupt:  # a SIGINT before the handlers (a worker started by hand): no traceback
        return 128 + signal.SIGINT
    except Exception as exc:  # noqa: BLE001 - e.g. the repository vanished: one line in the .out file
        print(f"[exptui worker] stopping: {exc}", file=sys.stderr)
        return 1
    trace("exit")
    # a worker stopped by a signal says so in its exit status (128+signal), like any interrupted process
    if worker.signum is not None:
        return 128 + worker.signum
    return 1 if worker.failure is not None else 0


if __name__ == "__main__":
    sys.exit(main())
