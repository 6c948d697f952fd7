"""Adaptive search benchmark: the best metric grid, random and TPE reach with the same budget, and what pruning
saves.

    .venv/bin/python benchmarks/bench_search.py [--trials 12] [--seeds 2] [-j 2]       # the churn pipeline
    .venv/bin/python benchmarks/bench_search.py --quadratic [--seeds 50] [--queue-seeds 3] [--trials 12]

Churn (the default: 7 searches of 12 trials, a small budget, so the spread between seeds is large; 21 minutes at
load average 8-10 on the 2 shared cores, `--part strategies` 15 of them and `--part pruning` 6). A copy of pipelines/churn with `train.n_estimators` raised to 300 (pruning has rounds to cut)
is reproduced and committed once; every search then runs through the real queue (`exptui run --queue ...` +
`exptui queue start -j J --wait`), each trial in its own checkout (generate and prepare restored from the
cache, train and evaluate run):

  strategies     best f1 after --trials trials of a grid (3 learning rates x 4 depths: one grid, it has no seed),
                 `--random N --seed S` and `--search tpe --seed S` over train.learning_rate=loguniform(0.01,0.3)
                 and train.max_depth=range(2,9), maximizing f1, for --seeds seeds
  pruning        the same TPE search, seed 0, minimizing the DVCLive step metric test.logloss (the train stage logs
                 it every boosting round; its last step is the trial's value), `-j 1`, with and without
                 `--prune median`: total stage seconds (the queue's per-stage timings, summed over the trials),
                 the CPU seconds of the whole `queue start` process tree, wall time, and the best f1 and logloss

The quadratic (`--quadratic`): loss = (x-1)^2 + (y+2)^2 + seeded noise of tests/search_support.py, x, y in
[-5, 5], minimised: straight into Optuna for --seeds seeds (the share of seeds where the best of TPE's last half
beats the best of all the random trials: the must-show claim of docs/search.md), then through the queue for
--queue-seeds seeds, and pruning with 10 epochs of 0.3 s per trial.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from search_support import loss, make_search_repo  # noqa: E402

LOW, HIGH = -5.0, 5.0
CHURN_SPACE = ["-S", "train.learning_rate=loguniform(0.01,0.3)", "-S", "train.max_depth=range(2,9)"]
CHURN_GRID = ["-S", "train.learning_rate=0.02,0.07,0.2", "-S", "train.max_depth=2,4,6,8"]
CHURN_ROUNDS = 300


def exptui(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "exptui", *args], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"exptui {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def entries(repo: Path) -> list[dict]:
    return json.loads(exptui(repo, "queue", "status", "--json").stdout)["entries"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_queue(repo: Path, jobs: int) -> dict[str, Any]:
    """`queue start -j JOBS --wait` on what is queued: wall, CPU of the process tree, per-entry timings."""
    cpu, start = _children_cpu(), time.monotonic()
    subprocess.run([sys.executable, "-m", "exptui", "queue", "start", "-j", str(jobs), "--wait"], cwd=repo,
                   capture_output=True, text=True)
    wall, cpu = time.monotonic() - start, _children_cpu() - cpu
    listed = entries(repo)
    statuses: dict[str, int] = {}
    for e in listed:
        statuses[e["status"]] = statuses.get(e["status"], 0) + 1
    stage_seconds = sum(float(s.get("seconds") or 0) for e in listed for s in (e.get("stages") or {}).values()
                        if isinstance(s, dict))
    trial_seconds = sum(float(e.get("duration") or 0) for e in listed)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "stage_s": round(stage_seconds, 1),
            "trial_s": round(trial_seconds, 1), "statuses": statuses}


def best_of(repo: Path, key: str, lowest: bool = False) -> float:
    """The best value of metric `key` over the experiments (pruned ones included: they are real results)."""
    values = []
    for row in json.loads(exptui(repo, "show", "--json").stdout):
        if row["kind"] != "experiment":
            continue
        for file_values in (row.get("metrics") or {}).values():
            data = file_values.get("data", file_values) if isinstance(file_values, dict) else {}
            value = _dotted(data, key)
            if isinstance(value, (int, float)):
                values.append(float(value))
    if not values:
        return float("nan")
    return min(values) if lowest else max(values)


def _dotted(data: Any, key: str) -> Any:
    if isinstance(data, dict) and key in data:
        return data[key]
    head, _, rest = key.partition(".")
    if rest and isinstance(data, dict) and isinstance(data.get(head), dict):
        return _dotted(data[head], rest)
    return None


# --- churn ------------------------------------------------------------------------------------------------------


def make_churn_repo(path: Path) -> None:
    """The churn pipeline (n_estimators raised), reproduced and committed: the baseline every search starts from."""
    import yaml

    from dvc_compat.config import init_dvc_dir

    shutil.copytree(ROOT / "pipelines" / "churn", path, ignore=shutil.ignore_patterns("__pycache__"))
    params = path / "params.yaml"
    params.write_text(params.read_text().replace("n_estimators: 100", f"n_estimators: {CHURN_ROUNDS}"))
    assert yaml.safe_load(params.read_text())["train"]["n_estimators"] == CHURN_ROUNDS
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=path, check=True)
    init_dvc_dir(path)
    exptui(path, "repro", "-q")
    subprocess.run([*git, "add", "-A"], cwd=path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "churn baseline"], cwd=path, check=True)


def churn_search(template: Path, kind: str, seed: int, trials: int, jobs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-search-churn-") as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(template, repo, symlinks=True)
        common = ["--trials", str(trials), "--seed", str(seed)]
        if kind == "grid":
            exptui(repo, "run", "--queue", *CHURN_GRID)
        elif kind == "random":
            exptui(repo, "run", "--queue", "--random", str(trials), "--seed", str(seed), *CHURN_SPACE)
        elif kind == "tpe":
            exptui(repo, "run", "--queue", "--search", "tpe", "--metric", "f1", "--maximize", *common, *CHURN_SPACE)
        else:  # pruning: the step metric is the search's metric
            prune = ["--prune", "median"] if kind == "tpe+median (logloss)" else []
            exptui(repo, "run", "--queue", "--search", "tpe", "--metric", "test.logloss", "--minimize", *common,
                   *prune, *CHURN_SPACE)
        result = run_queue(repo, jobs)
        return {"kind": kind, "seed": seed, "jobs": jobs, "best_f1": round(best_of(repo, "f1"), 4),
                "best_test_logloss": round(best_live(repo, "test", "logloss"), 4), **result}


def best_live(repo: Path, *key: str) -> float:
    """The lowest final DVCLive value of `key` (its dvclive/metrics.json in each recorded experiment)."""
    values = []
    for e in entries(repo):
        if not e.get("exp_ref"):
            continue
        shown = subprocess.run(["git", "show", f"{e['exp_ref']}:dvclive/metrics.json"], cwd=repo,
                               capture_output=True, text=True)
        try:  # a pruned trial may have been stopped while DVCLive rewrote the file (DVCLive does not write atomically)
            value: Any = json.loads(shown.stdout) if shown.returncode == 0 else None
        except ValueError:
            continue
        if value is not None:
            for part in key:
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, (int, float)):
                values.append(float(value))
    return min(values) if values else float("nan")


def churn(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-search-template-") as tmp:
        template = Path(tmp) / "churn"
        make_churn_repo(template)
        print(json.dumps({"load_average": os.getloadavg(), "trials": args.trials, "rounds": CHURN_ROUNDS}),
              flush=True)
        if args.part in ("all", "strategies"):
            print(json.dumps({"strategy": churn_search(template, "grid", 0, args.trials, args.jobs)}), flush=True)
            for seed in range(args.seeds):
                for kind in ("random", "tpe"):
                    print(json.dumps({"strategy": churn_search(template, kind, seed, args.trials, args.jobs)}),
                          flush=True)
        if args.part in ("all", "pruning"):
            for kind in ("tpe (logloss)", "tpe+median (logloss)"):
                print(json.dumps({"pruning": churn_search(template, kind, 0, args.trials, 1)}), flush=True)
        print(json.dumps({"load_average": os.getloadavg()}), flush=True)


# --- the quadratic ----------------------------------------------------------------------------------------------


def in_process(seeds: int, trials: int) -> dict[str, object]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    startup = min(10, max(3, trials // 4))

    def objective(t: optuna.Trial) -> float:
        return loss(t.suggest_float("x", LOW, HIGH), t.suggest_float("y", LOW, HIGH))

    tpe_best, rnd_best, wins = [], [], 0
    for seed in range(seeds):
        tpe = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup))
        tpe.optimize(objective, n_trials=trials)
        rnd = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        rnd.optimize(objective, n_trials=trials)
        values = [t.value for t in tpe.trials]
        tpe_best.append(min(values))
        rnd_best.append(rnd.best_value)
        wins += min(values[trials // 2:]) < rnd.best_value
    side = max(1, round(trials ** 0.5))
    xs = [LOW + (HIGH - LOW) * (i + 0.5) / side for i in range(side)]
    ys = [LOW + (HIGH - LOW) * (j + 0.5) / max(1, trials // side) for j in range(max(1, trials // side))]
    grid = min(loss(x, y) for x in xs for y in ys)
    return {"seeds": seeds, "trials": trials, "tpe_median_best": statistics.median(tpe_best),
            "random_median_best": statistics.median(rnd_best), "grid_best": grid,
            "tpe_last_half_beats_random": f"{wins}/{seeds}"}


def quadratic_run(kind: str, seed: int, trials: int, **repo_kw: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        repo = make_search_repo(Path(tmp), **repo_kw)  # type: ignore[arg-type]
        extra = ["--metric", "loss", "--minimize", "--trials", str(trials), "--seed", str(seed)]
        if kind == "grid":
            side = max(1, round(trials ** 0.5))
            grid = ",".join(f"{LOW + (HIGH - LOW) * (i + 0.5) / side:g}" for i in range(side))
            other = ",".join(f"{LOW + (HIGH - LOW) * (j + 0.5) / (trials // side):g}" for j in range(trials // side))
            exptui(repo, "run", "--queue", "-S", f"train.x={grid}", "-S", f"train.y={other}")
        elif kind == "random":
            exptui(repo, "run", "--queue", "--random", str(trials), "--seed", str(seed),
                   "-S", f"train.x=uniform({LOW},{HIGH})", "-S", f"train.y=uniform({LOW},{HIGH})")
        else:
            prune = ["--prune", "median"] if kind == "tpe+median" else []
            exptui(repo, "run", "--queue", "--search", "tpe", *extra, *prune,
                   "-S", f"train.x=uniform({LOW},{HIGH})", "-S", f"train.y=uniform({LOW},{HIGH})")
        result = run_queue(repo, 1)
        return {"kind": kind, "seed": seed, "best_loss": round(best_of(repo, "loss", lowest=True), 4), **result}


def quadratic(args: argparse.Namespace) -> None:
    print(json.dumps({"in_process": in_process(args.seeds, args.trials)}), flush=True)
    if args.skip_queue:
        return
    for seed in range(args.queue_seeds):
        for kind in ("grid", "random", "tpe") if seed == 0 else ("random", "tpe"):
            print(json.dumps({"queue": quadratic_run(kind, seed, args.trials)}), flush=True)
    for kind in ("tpe", "tpe+median"):
        print(json.dumps({"pruning": quadratic_run(kind, 0, args.trials, epochs=10, step_seconds=0.3)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quadratic", action="store_true", help="the quadratic test pipeline instead of churn")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds per strategy (churn: default 2; quadratic in process: default 50)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="churn strategies: trials at once")
    parser.add_argument("--part", choices=("all", "strategies", "pruning"), default="all", help="churn: which part")
    parser.add_argument("--queue-seeds", type=int, default=3, help="quadratic: seeds through the queue")
    parser.add_argument("--skip-queue", action="store_true", help="quadratic: in process only")
    args = parser.parse_args()
    if args.quadratic:
        args.seeds = 50 if args.seeds is None else args.seeds
        quadratic(args)
    else:
        args.seeds = 2 if args.seeds is None else args.seeds
        churn(args)


if __name__ == "__main__":
    main()
