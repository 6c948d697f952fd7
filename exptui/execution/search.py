"""Adaptive search: a study whose trials are queue entries and whose state lives in the repository.

Why no Optuna storage: the trials already are experiments. A search is one commit under
``refs/exptui/searches/<id>`` (its tree is the workspace snapshot the trials start from, its parent the baseline,
its message the spec as JSON); each trial is an ordinary queue entry whose JSON carries ``{"search": {"id",
"trial", "params"}}``, and its result is the recorded experiment's metric. A process that drives the search (the
feeder, `exptui.execution.search_feeder`) rebuilds an in-memory Optuna study from those entries whenever it
starts, so a killed ``queue start`` loses nothing: finished trials are told again, queued and running ones are
re-attached, and the next proposal is numbered after the last entry.

`-S` values keep the sweep syntax of `dvc_compat.sweep`: ``choice(a,b)``/``a,b`` become categorical
distributions, an integer ``range(a,b[,step])`` an integer distribution (a float range: categorical),
``uniform``/``loguniform``/``randint`` the matching Optuna distributions; a single value is set in every trial.
"""
from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exptui.errors import ExptuiError
from exptui.store.entry_state import EntryState
from exptui.store.git import ZERO_OID, Git, RefConflict, RefUpdate
from exptui.store.queue import EntrySpec, QueueEntry, new_entry_id, scratch_mkdtemp

if TYPE_CHECKING:  # pragma: no cover
    from dvc_compat.sweep import Override
    from exptui.execution.queue_manager import QueueManager

SEARCH_NS = "refs/exptui/searches/"
SAMPLERS = ("tpe", "random", "cmaes")
PRUNERS = ("median", "asha", "hyperband")
DIRECTIONS = ("maximize", "minimize")
#: the extra that installs Optuna
EXTRA_HINT = "pip install 'exptui[search]'"
_IDENT = "exptui <exptui@localhost>"


def require_optuna() -> Any:
    """The `optuna` module, quiet; one line naming the extra when it is not installed."""
    try:
        import optuna
    except ImportError:
        raise ExptuiError(f"adaptive search (--search) needs Optuna, which is not installed: {EXTRA_HINT}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


@dataclass(frozen=True)
class SearchSpec:
    """What a search is: stored as JSON in its commit under ``refs/exptui/searches/<id>``."""

    id: str
    name: str                          # trial names are NAME-1, NAME-2, ...
    overrides: tuple[str, ...]         # the -S texts
    sampler: str                       # tpe | random | cmaes
    trials: int
    metric: str
    direction: str                     # maximize | minimize
    baseline: str
    tree: str                          # the workspace snapshot every trial starts from
    seed: int | None = None
    prune: str | None = None           # median | asha | hyperband
    created: float = 0.0
    finished: bool = False             # marked by the feeder once every trial was told (see `mark_finished`)
    sha: str = field(default="", compare=False)

    @property
    def ref(self) -> str:
        return SEARCH_NS + self.id

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("sha")
        data["overrides"] = list(self.overrides)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], sha: str = "") -> SearchSpec:
        return cls(
            id=str(data["id"]), name=str(data["name"]), overrides=tuple(str(o) for o in data.get("overrides") or ()),
            sampler=str(data.get("sampler") or "tpe"), trials=int(data["trials"]), metric=str(data["metric"]),
            direction=str(data.get("direction") or "maximize"), baseline=str(data["baseline"]),
            tree=str(data["tree"]), seed=None if data.get("seed") is None else int(data["seed"]),
            prune=data.get("prune") or None, created=float(data.get("created") or 0.0),
            finished=bool(data.get("finished")), sha=sha,
        )


# --- the search space ---------------------------------------------------------------------------------------


@dataclass
class SearchSpace:
    """Optuna distributions for the -S overrides that vary, and the values every trial gets."""

    parsed: list[Override]
    distributions: dict[str, Any]                               # param name -> optuna distribution
    targets: dict[str, tuple[str | None, str]]                  # param name -> (file, key) of the override
    fixed: dict[tuple[str | None, str], Any]                    # single values and deletions

    def combination(self, params: Mapping[str, Any]) -> dict[tuple[str | None, str], Any]:
        combo = dict(self.fixed)
        for name, value in params.items():
            combo[self.targets[name]] = value
        return combo


_CATEGORICAL_TYPES = (type(None), bool, int, float, str)


def search_space(overrides: Sequence[str]) -> SearchSpace:
    """The Optuna search space of `-S` texts (see the module docstring); ExptuiError naming a value that cannot be
    searched (a list or a dict as a choice)."""
    from dvc_compat.sweep import DELETE, parse_overrides

    optuna = require_optuna()
    dist = optuna.distributions
    parsed = parse_overrides(list(overrides))
    distributions: dict[str, Any] = {}
    targets: dict[str, tuple[str | None, str]] = {}
    fixed: dict[tuple[str | None, str], Any] = {}
    for o in parsed:
        name = o.key if o.file is None else f"{o.file}:{o.key}"
        kind, values = o.sweep.kind, o.sweep.values
        if o.op == "delete":
            fixed[o.target] = DELETE
            continue
        if kind == "value" or (kind in ("choice", "range") and len(values) == 1):
            fixed[o.target] = values[0]
            continue
        if kind == "range" and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            steps = {b - a for a, b in zip(values, values[1:])}
            if len(steps) == 1 and min(steps) > 0:
                distributions[name] = dist.IntDistribution(values[0], values[-1], step=steps.pop())
                targets[name] = o.target
                continue
        if kind in ("choice", "range"):
            bad = [v for v in values if not isinstance(v, _CATEGORICAL_TYPES)]
            if bad:
                raise ExptuiError(f"-S '{o.text}': a search can choose numbers, strings, booleans or null, not "
                                  f"{type(bad[0]).__name__} values: use a grid sweep (without --search) for them")
            distributions[name] = dist.CategoricalDistribution(list(values))
        elif kind in ("uniform", "loguniform"):
            distributions[name] = dist.FloatDistribution(float(values[0]), float(values[1]),
                                                         log=kind == "loguniform")
        elif kind == "randint":
            distributions[name] = dist.IntDistribution(int(values[0]), int(values[1]))
        else:  # pragma: no cover - the sweep parser knows no other kind
            raise ExptuiError(f"-S '{o.text}': {kind}() cannot be searched")
        targets[name] = o.target
    return SearchSpace(parsed, distributions, targets, fixed)


# --- stored searches ----------------------------------------------------------------------------------------


def _commit(git: Git, tree: str, parents: Sequence[str], message: str) -> str:
    stamp = f"{int(time.time())} +0000"
    head = [f"tree {tree}", *(f"parent {p}" for p in parents), f"author {_IDENT} {stamp}",
            f"committer {_IDENT} {stamp}"]
    return git.hash_object(("\n".join(head) + "\n\n" + message).encode(), "commit")


def list_searches(git: Git) -> list[SearchSpec]:
    """Every stored search, oldest first (ids sort by creation time)."""
    rows = git.for_each_ref([SEARCH_NS], ("refname", "objectname"))
    if not rows:
        return []
    answers = git.read_objects([sha for _ref, sha in rows])
    out = []
    for (_ref, sha), answer in zip(rows, answers):
        if answer is None or answer[1] != "commit":
            continue
        body = answer[2].partition(b"\n\n")[2].partition(b"\n")[2]
        try:
            out.append(SearchSpec.from_json(json.loads(body), sha))
        except (ValueError, KeyError, TypeError):
            continue  # written by something else: not ours to drive
    return sorted(out, key=lambda s: s.id)


def trials_of(spec: SearchSpec, entries: Sequence[QueueEntry]) -> list[QueueEntry]:
    """The entries of `spec`'s trials, by trial number."""
    mine = [e for e in entries if e.search is not None and e.search.get("id") == spec.id]
    return sorted(mine, key=lambda e: int(e.search.get("trial", 0)) if e.search else 0)


def is_finished(spec: SearchSpec, trials: Sequence[QueueEntry]) -> bool:
    """Marked finished, or all trials proposed and each ended in a state that counts (crashed ones run again)."""
    if spec.finished:
        return True
    return len(trials) >= spec.trials and all(e.terminal and not needs_rerun(e) for e in trials)


def needs_rerun(entry: QueueEntry) -> bool:
    """A trial that ended without a result of its own: its worker died (crashed), or it was interrupted (Ctrl-C or
    SIGTERM on `queue start --wait`). The search runs it again as the same trial; a `queue kill` is a choice and
    counts (as failed)."""
    if entry.status == EntryState.CRASHED:
        return True
    return entry.status == EntryState.CANCELLED and (entry.reason or "").startswith("interrupted")


def mark_finished(git: Git, spec: SearchSpec, best: Mapping[str, Any] | None = None) -> bool:
    """Record on the search's ref that it is finished (a child commit whose JSON says so, compare-and-swap), so
    that removing its trial entries later (`queue remove --success`) never makes it look open again."""
    data = {**spec.to_json(), "finished": True, "best": dict(best or {})}
    message = f"exptui search {spec.id} finished\n\n{json.dumps(data, sort_keys=True, default=str)}\n"
    sha = _commit(git, spec.tree, [spec.sha], message)
    try:
        git.update_refs([RefUpdate(spec.ref, sha, spec.sha)], message="exptui: search finished")
    except RefConflict:
        return False
    return True


def create_search(manager: QueueManager, overrides: Sequence[str], *, sampler: str = "tpe", trials: int,
                  metric: str, direction: str = "maximize", seed: int | None = None, prune: str | None = None,
                  name: str | None = None) -> SearchSpec:
    """Validate and store a search (nothing is queued yet: the feeder proposes trials as slots free).

    The workspace is snapshotted now, under the workspace lock, as `enqueue` does: every trial starts from it.
    """
    from dvc_compat.config import hydra_composition_refusal
    from dvc_compat.sweep import check_paths, group_by_file
    from exptui.execution.isolated import shared_cache_dir
    from exptui.pipeline.datasources import snapshot_data_sources
    from exptui.pipeline.workspace_lock import workspace_lock
    from exptui.store.experiments import validate_new_name

    if sampler not in SAMPLERS:
        raise ExptuiError(f"--search {sampler}: unknown sampler; use one of {', '.join(SAMPLERS)}")
    if prune is not None and prune not in PRUNERS:
        raise ExptuiError(f"--prune {prune}: unknown pruner; use one of {', '.join(PRUNERS)}")
    if direction not in DIRECTIONS:
        raise ExptuiError(f"unknown direction {direction!r}; use --maximize or --minimize")
    if trials < 1:
        raise ExptuiError("--trials needs a positive number of trials")
    if not metric or not metric.strip():
        raise ExptuiError("--search needs --metric NAME (the metric to optimise, e.g. --metric f1)")
    space = search_space(overrides)
    if not space.distributions:
        raise ExptuiError("nothing to search: give at least one -S with choice(...), range(...), a list, "
                          "uniform(...), loguniform(...) or randint(...)")
    check_paths(space.parsed, manager.root, [manager.git.git_dir])
    refusal = hydra_composition_refusal(manager.root)
    if refusal is not None:
        raise ExptuiError(f"{refusal}; nothing queued")
    # keys and types are checked on the two ends of the space, before anything is stored
    optuna = require_optuna()
    ends = []
    for pick in (0, -1):
        params = {}
        for pname, d in space.distributions.items():
            if isinstance(d, optuna.distributions.CategoricalDistribution):
                params[pname] = d.choices[pick]
            else:
                params[pname] = d.low if pick == 0 else d.high
        ends.append(group_by_file(space.combination(params), space.parsed))
    manager._validate(ends)
    manager._validate_pipeline()
    search_id = new_entry_id()
    trial_prefix = name or f"{sampler}-{search_id[-6:]}"
    validate_new_name(manager.git, f"{trial_prefix}-1")
    git = manager.git
    with workspace_lock(manager.root):
        baseline = git.head()
        tree = snapshot_data_sources(manager.root, git, git.snapshot_workspace(),
                                     shared_cache_dir(manager.root, git))
    spec = SearchSpec(search_id, trial_prefix, tuple(overrides), sampler, trials, metric.strip(), direction,
                      baseline, tree, seed, prune, time.time())
    message = f"exptui search {search_id} {trial_prefix}\n\n{json.dumps(spec.to_json(), sort_keys=True)}\n"
    sha = _commit(git, tree, [baseline], message)
    try:
        git.update_refs([RefUpdate(spec.ref, sha, ZERO_OID)], message="exptui: search")
    except RefConflict:  # pragma: no cover - ids carry 24 random bits
        raise ExptuiError("another search was stored with the same id at the same moment; try again") from None
    return SearchSpec.from_json(spec.to_json(), sha)


def enqueue_trial(manager: QueueManager, spec: SearchSpec, space: SearchSpace, number: int,
                  params: Mapping[str, Any]) -> QueueEntry:
    """Queue trial `number` of `spec` with Optuna's `params`: the search's snapshot with the params edited."""
    import shutil

    from dvc_compat.params import apply_overrides
    from dvc_compat.sweep import group_by_file

    edits = group_by_file(space.combination(params), space.parsed)
    values: dict[str, dict[str, Any]] = {}
    for file, edit in edits.items():
        values[file] = {**edit.values, **{f"~{k}": None for k in edit.remove}}
    tmp = scratch_mkdtemp(manager.git, "params")

    def apply(_index: int, file: str, original: bytes | None) -> bytes:
        path = tmp / Path(file).name
        if original is not None:
            path.write_bytes(original)
        else:
            path.unlink(missing_ok=True)
        edit = edits[file]
        apply_overrides(path, edit.values, allow_new=edit.allow_new, remove=edit.remove, display=file)
        return path.read_bytes()

    meta = {"search": {"id": spec.id, "name": spec.name, "trial": number, "params": dict(params)}}
    try:
        entries = manager.store.create([EntrySpec(f"{spec.name}-{number + 1}", values, meta)], spec.baseline,
                                       spec.tree, apply)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return entries[0]


# --- reading results ----------------------------------------------------------------------------------------


def metric_value(metrics: Mapping[str, Mapping[str, Any]], metric: str) -> float | None:
    """`metric` ("f1", or "file:key") in an experiment's {file: {key: value}} metrics; None when absent."""
    file, sep, key = metric.rpartition(":")
    for f, values in metrics.items():
        if sep and f != file:
            continue
        value = values.get(key if sep else metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def recorded_series(git: Git, rev: str, metric: str, dvclive_dir: str = "dvclive") -> list[tuple[int, float]]:
    """The (step, value) rows of `metric`'s DVCLive TSV in a recorded experiment (what a trial reported): header
    ``step<TAB>name``, one row per step; rows that do not parse are skipped."""
    rel = "/".join(metric.split(":")[-1].split("."))
    answer = git.read_objects([f"{rev}:{dvclive_dir}/plots/metrics/{rel}.tsv"])[0]
    if answer is None or answer[1] != "blob":
        return []
    rows: list[tuple[int, float]] = []
    for line in answer[2].decode("utf-8", "replace").splitlines()[1:]:
        parts = line.split("\t")
        try:
            rows.append((int(float(parts[0])), float(parts[-1])))
        except (ValueError, IndexError):
            continue
    return rows


@dataclass
class TrialOutcome:
    """A finished trial as Optuna is told it."""

    state: str                                     # complete | pruned | fail
    value: float | None = None
    intermediate: dict[int, float] = field(default_factory=dict)
    problem: str | None = None                     # why a success counts as failed (metric missing)


def trial_outcome(git: Git, index: Any, spec: SearchSpec, entry: QueueEntry) -> TrialOutcome:
    """How a terminal trial entry is told to the study: its metric (success), its reported steps (pruned)."""
    if entry.status not in (EntryState.SUCCESS, EntryState.PRUNED) or not entry.exp_rev:
        return TrialOutcome("fail")
    series = recorded_series(git, entry.exp_rev, spec.metric)
    intermediate = {step: value for step, value in series}
    if entry.status == EntryState.PRUNED:
        return TrialOutcome("pruned", None, intermediate)
    data = index.commit_data([entry.exp_rev]).get(entry.exp_rev) or {}
    metrics = data.get("metrics") or {}
    value = metric_value(metrics, spec.metric)
    if value is None and series:
        # a metric only DVCLive logs (its metrics.json an output, not a declared metrics file, as in the churn
        # example): its final value is its last step, which is what DVCLive's metrics.json holds
        value = series[-1][1]
    if value is None:
        known = sorted({k for vals in metrics.values() for k in vals})
        listing = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "") if known else "none"
        return TrialOutcome("fail", None, intermediate,
                            f"metric '{spec.metric}' not found in the metrics of {entry.name} (it has: {listing})")
    return TrialOutcome("complete", value, intermediate)


def make_sampler(spec: SearchSpec, jobs: int, seed_offset: int = 0) -> Any:
    """TPE (startup trials: a quarter of the budget, 3 to 10), random, or CMA-ES. The seed is moved by the number
    of trials already run, so a resumed search does not draw its random start-up points again."""
    optuna = require_optuna()
    seed = None if spec.seed is None else spec.seed + seed_offset
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise ExptuiError(f"--search cmaes needs the 'cmaes' package: {EXTRA_HINT}") from None
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=min(10, max(3, spec.trials // 4)),
                                            warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, spec.trials // 4)),
                                      constant_liar=jobs > 1)


def make_pruner(spec: SearchSpec) -> Any:
    optuna = require_optuna()
    if spec.prune == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if spec.prune == "asha":
        return optuna.pruners.SuccessiveHalvingPruner()
    if spec.prune == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()


