"""The search feeder: proposes adaptive-search trials as queue slots free, tells finished ones back, prunes.

Why a loop of its own next to the workers: a worker runs whatever is queued; a search must not queue trial k+1
before trial k's metric is known (with ``-j 1``), and never more than ``-j`` trials at once. The feeder keeps at
most ``jobs`` trials of the searches it drives queued or running, starts one worker per trial (``--entry ID
--max 1``), and on each pass:

1. rebuilds (once, when it starts driving a search) the in-memory Optuna study from the trial entries
   (`exptui.execution.search`), re-attaching queued and running trials;
2. tells every trial that ended (metric of the recorded experiment; pruned: its reported steps; failed: fail) and
   puts crashed trials back in the queue (their worker died: the trial is run again, never lost);
3. with a pruner, reads each running trial's DVCLive step metric (`read_live_metrics` on its run dir), reports new
   steps, and asks the trial's worker to stop it when the pruner says so (the ``queue kill`` path, marked as a
   prune: the worker records the partial run with status ``pruned``);
4. proposes new trials while there is room.

``queue stop`` stops proposing (the running trials finish; a later ``queue start`` resumes the search). One
feeder drives a search at a time: it holds ``.git/exptui/searches/<id>.feeder`` (flock; the kernel drops it when
the feeder dies), so a second ``queue start`` leaves that search alone. Run as ``python -m
exptui.execution.search_feeder --repo ROOT -j N`` (what ``queue start`` without ``--wait`` spawns, detached).
"""
from __future__ import annotations

import argparse
import fcntl
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from exptui.execution.search import (
    SearchSpec, enqueue_trial, is_finished, list_searches, make_pruner, make_sampler, mark_finished,
    needs_rerun, require_optuna, search_space, trial_outcome, trials_of,
)
from exptui.store.entry_state import EntryState
from exptui.store.queue import QueueEntry

POLL = 0.25


def _say_default(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class SearchDriver:
    """One search's in-memory study and the trial objects of its unfinished entries."""

    manager: Any
    spec: SearchSpec
    jobs: int
    say: Callable[[str], None]
    lock: IO[bytes]
    index: Any = None
    study: Any = None
    live: dict[str, Any] = field(default_factory=dict)         # entry id -> optuna Trial (queued or running)
    reported: dict[str, int] = field(default_factory=dict)     # entry id -> last step reported
    told: set[str] = field(default_factory=set)
    count: int = 0                                             # trial entries that exist
    prune_asked: set[str] = field(default_factory=set)
    saw_live: bool = False
    said: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.space = search_space(self.spec.overrides)

    def once(self, key: str, text: str) -> None:
        if key not in self.said:
            self.said.add(key)
            self.say(text)

    # -- the study ------------------------------------------------------------------------------------------
    def rebuild(self, trials: Sequence[QueueEntry]) -> None:
        """A fresh study from the trial entries: finished ones told as they ended, the others re-attached."""
        optuna = require_optuna()
        from exptui.store.index import ExperimentIndex

        self.index = ExperimentIndex(self.manager.git)
        # named after the search: Hyperband puts trial N in the bracket Optuna derives from the study name and N,
        # so the same search keeps its brackets across restarts (an unnamed study gets a random name each time)
        self.study = optuna.create_study(
            study_name=self.spec.name, direction=self.spec.direction,
            sampler=make_sampler(self.spec, self.jobs, len(trials)), pruner=make_pruner(self.spec))
        self.count = len(trials)
        pending = []
        for entry in trials:
            if entry.terminal and not needs_rerun(entry):
                self._add_finished(entry)
            else:
                pending.append(entry)
        for entry in pending:
            params = (entry.search or {}).get("params") or {}
            self.study.enqueue_trial(params, skip_if_exists=False)
            self.live[entry.id] = self.study.ask(self.space.distributions)

    def _frozen_params(self, entry: QueueEntry) -> dict[str, Any]:
        params = dict((entry.search or {}).get("params") or {})
        return {k: v for k, v in params.items() if k in self.space.distributions}

    def _add_finished(self, entry: QueueEntry) -> None:
        optuna = require_optuna()
        outcome = trial_outcome(self.manager.git, self.index, self.spec, entry)
        if outcome.problem:
            self.once("metric", f"search {self.spec.name}: {outcome.problem}; the trial counts as failed")
        if outcome.intermediate:
            self.saw_live = True
        params = self._frozen_params(entry)
        dists = {k: self.space.distributions[k] for k in params}
        state = {"complete": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED,
                 "fail": optuna.trial.TrialState.FAIL}[outcome.state]
        try:
            self.study.add_trial(optuna.trial.create_trial(
                state=state, value=outcome.value, params=params, distributions=dists,
                intermediate_values=outcome.intermediate))
        except ValueError:  # params outside the space (the entry was edited by hand): leave it out
            pass
        self.told.add(entry.id)

    def _tell(self, entry: QueueEntry, trial: Any) -> None:
        optuna = require_optuna()
        outcome = trial_outcome(self.manager.git, self.index, self.spec, entry)
        if outcome.problem:
            self.once("metric", f"search {self.spec.name}: {outcome.problem}; the trial counts as failed")
        if outcome.intermediate:
            self.saw_live = True
        last = self.reported.get(entry.id)
        for step, value in sorted(outcome.intermediate.items()):
            if last is None or step > last:
                trial.report(value, step)
                if self.spec.prune and outcome.state == "complete":
                    # the steps the feeder did not see live (a fast trial ends between two polls) are judged now:
                    # successive halving (asha, hyperband) ranks a trial only against trials it judged at that
                    # rung, so a finished trial it never judged would leave the next one nothing to lose against
                    trial.should_prune()
        if outcome.state == "complete":
            self.study.tell(trial, outcome.value)
            self.say(f"{entry.name}: {self.spec.metric} = {outcome.value:g} "
                     f"(best {self.study.best_value:g}, {self._done() + 1}/{self.spec.trials})")
        elif outcome.state == "pruned":
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self.told.add(entry.id)
        if self.spec.prune and not self.saw_live and outcome.state == "complete":
            self.once("no-live", f"search {self.spec.name}: the trials write no DVCLive step metric "
                                 f"'{self.spec.metric}' (dvclive/plots/metrics/): final metrics only, no pruning")

    def _done(self) -> int:
        return len(self.told)

    # -- one pass -------------------------------------------------------------------------------------------
    def sync(self, trials: Sequence[QueueEntry]) -> None:
        """Tell what ended, re-queue what crashed, report live steps and prune."""
        for entry in trials:
            if entry.id in self.told:
                continue
            if entry.terminal and needs_rerun(entry):
                if self.manager.store.retry(entry):
                    why = "its worker died" if entry.status == EntryState.CRASHED else "it was interrupted"
                    self.say(f"{entry.name}: {why}; running the trial again")
                continue
            trial = self.live.get(entry.id)
            if entry.terminal:
                if trial is None:
                    self._add_finished(entry)
                else:
                    self.live.pop(entry.id)
                    self._tell(entry, trial)
            elif entry.status == EntryState.RUNNING and trial is not None and self.spec.prune:
                self._report_live(entry, trial)

    def _report_live(self, entry: QueueEntry, trial: Any) -> None:
        from exptui.execution.live_metrics import read_live_metrics

        if entry.id in self.prune_asked:
            return
        live = read_live_metrics(self.manager.state.runs_dir / entry.id)
        if live is None:
            return
        key = self.spec.metric.split(":")[-1]
        series = live.series.get(key)
        if not series:
            return
        self.saw_live = True
        last = self.reported.get(entry.id)
        fresh = [(s, v) for s, v in series if last is None or s > last]
        if not fresh:
            return
        for step, value in fresh:   # judged step by step, as if each had been seen on its own
            trial.report(value, step)
            self.reported[entry.id] = step
            if trial.should_prune():
                self.prune_asked.add(entry.id)
                self.manager.state.request_cancel(
                    entry.id, f"pruned at step {step} ({self.spec.prune}: {key} = {value:g})", prune=True)
                self.say(f"{entry.name}: pruned at step {step} ({key} = {value:g})")
                return

    def wants_more(self) -> bool:
        return self.count < self.spec.trials

    def propose(self) -> QueueEntry:
        trial = self.study.ask(self.space.distributions)
        entry = enqueue_trial(self.manager, self.spec, self.space, self.count, trial.params)
        self.count += 1
        self.live[entry.id] = trial
        return entry

    def finished(self, trials: Sequence[QueueEntry]) -> bool:
        return is_finished(self.spec, trials) and all(e.id in self.told for e in trials)

    def best(self) -> dict[str, Any]:
        try:
            trial = self.study.best_trial
        except ValueError:
            return {}
        return {"value": trial.value, "params": trial.params, "trial": trial.number}

    def summary(self) -> str:
        try:
            best = self.study.best_trial
        except ValueError:
            return f"search {self.spec.name}: no trial reached {self.spec.metric}"
        shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
        return f"search {self.spec.name}: best {self.spec.metric} = {best.value:g} ({shown})"


def _try_lock(manager: Any, spec: SearchSpec) -> IO[bytes] | None:
    # not a `*.lock` name: `doctor` would take a held flock file for a stale ref lock and remove it
    path = manager.git.git_dir / "exptui" / "searches" / f"{spec.id}.feeder"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "ab")  # noqa: SIM115 - held for as long as the search is driven
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


def open_searches(manager: Any, entries: Sequence[QueueEntry] | None = None) -> list[SearchSpec]:
    """Searches not finished yet (trials left to propose, run or tell)."""
    specs = list_searches(manager.git)
    if not specs:
        return []
    if entries is None:
        entries = manager.store.entries(with_run_info=False)
    return [s for s in specs if not is_finished(s, trials_of(s, entries))]


def drive(manager: Any, jobs: int, timeout: float | None = None, *, say: Callable[[str], None] = _say_default,
          poll: float = POLL) -> list[str]:
    """Drive every open search this process can lock until each is finished; returns the trial entry ids seen.

    KeyboardInterrupt (Ctrl-C, or SIGTERM under `exptui.cli.interrupts`) stops proposing and propagates; the
    caller stops the workers (`QueueManager.wait(interrupted=True)`).
    """
    drivers: dict[str, SearchDriver] = {}
    spawned: dict[str, list[Any]] = {}    # search id -> Popen of the workers started for its trials
    seen: set[str] = set()
    began = time.time()
    try:
        while True:
            if manager.state.stop_requested_since(began):  # `queue stop` (or the dashboard quitting with workers)
                say("stop requested: no new trials; the running ones finish (exptui queue start resumes the search)")
                return sorted(seen)
            entries = manager.store.entries()
            if manager.recover(entries).changed:
                entries = manager.store.entries()
            for spec in list_searches(manager.git):
                if spec.id in drivers:
                    continue
                trials = trials_of(spec, entries)
                if is_finished(spec, trials):
                    continue
                lock = _try_lock(manager, spec)
                if lock is None:
                    continue  # another feeder drives it
                driver = SearchDriver(manager, spec, jobs, say, lock)
                driver.rebuild(trials)
                drivers[spec.id] = driver
                say(f"search {spec.name}: {spec.sampler}, {spec.direction} {spec.metric}, "
                    f"{len(trials)}/{spec.trials} trials so far" + (f", pruning: {spec.prune}" if spec.prune else ""))
            if not drivers:
                return sorted(seen)
            active = 0
            for sid, driver in list(drivers.items()):
                trials = trials_of(driver.spec, entries)
                seen.update(e.id for e in trials)
                driver.sync(trials)
                if driver.finished(trials):
                    say(driver.summary())
                    mark_finished(manager.git, driver.spec, driver.best())
                    driver.lock.close()
                    del drivers[sid]
                    continue
                active += sum(1 for e in trials if not e.terminal or needs_rerun(e))
            # new trials while there is room: one search after the other, oldest first
            for driver in drivers.values():
                while active < jobs and driver.wants_more():
                    entry = driver.propose()
                    seen.add(entry.id)
                    entries.append(entry)
                    active += 1
            # workers: as many as the search has trials queued or running (at most -j), each running trial after
            # trial; a trial queued before a restart gets one too
            for sid, driver in drivers.items():
                alive = [p for p in spawned.get(sid, []) if p.poll() is None]
                trials = trials_of(driver.spec, entries)
                queued = sum(1 for e in trials if e.status == EntryState.QUEUED)
                running = sum(1 for e in trials if e.status == EntryState.RUNNING)
                while queued and len(alive) < min(jobs, queued + running):
                    alive.append(manager.spawn_search_worker(sid, timeout))
                spawned[sid] = alive
            if not drivers:
                continue
            time.sleep(poll)
    finally:
        for driver in drivers.values():
            driver.lock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exptui.execution.search_feeder",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repo", default=".")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args(argv)
    from exptui.errors import ExptuiError
    from exptui.execution.queue_manager import QueueManager

    received: list[int] = []

    def interrupt(signum: int, _frame: object) -> None:  # SIGTERM/SIGHUP: as Ctrl-C, remembering which
        received.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})  # see signals_blocked
    try:
        manager = QueueManager(Path(args.repo))
        drive(manager, args.jobs, args.timeout)
    except KeyboardInterrupt:
        # No new trials; the running ones go on in their workers (their own sessions) and are recorded, and the
        # next `queue start` rebuilds the study from the entries and resumes.
        signum = received[0] if received else signal.SIGINT
        print(f"[exptui search] stopped by {signal.Signals(signum).name}: no new trials; the running ones finish; "
              "exptui queue start resumes the search", file=sys.stderr, flush=True)
        return 128 + signum
    except ExptuiError as exc:
        print(f"[exptui search] stopping: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
