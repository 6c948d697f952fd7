"""Adaptive search benchmark: how good a metric grid, random and TPE reach with the same budget, and what pruning
saves.

    .venv/bin/python benchmarks/bench_search.py [--seeds 50] [--queue-seeds 3] [--trials 12]

Pipeline: the quadratic of tests/search_support.py (loss = (x-1)^2 + (y+2)^2 + seeded noise, x, y in [-5, 5]):
the churn pipeline takes ~10 s per trial on the loaded 2-core machine, too slow for a few seeds of three searches.

Parts:
  in process     the loss function straight into Optuna (no queue): for each of --seeds seeds, the best loss after
                 --trials trials of random search and of TPE configured as exptui configures it (start-up trials:
                 a quarter of the budget, 3 to 10), and a --trials-point grid (one grid: it has no seed). Reports
                 the median best loss of each, and the share of seeds where the best of TPE's last half beats the
                 best of all the random trials (the must-show claim of docs/search.md)
  queue          the same three searches run through `exptui run --queue` + `exptui queue start -j 1 --wait` for
                 --queue-seeds seeds: best loss reached and wall time
  pruning        a TPE search of --trials trials with 10 epochs of 0.3 s each, with and without `--prune median`:
                 total trial seconds (each entry's duration: claim to terminal state) and best loss
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from search_support import loss, make_search_repo  # noqa: E402

LOW, HIGH = -5.0, 5.0


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


def exptui(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "exptui", *args], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"exptui {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def entries(repo: Path) -> list[dict]:
    return json.loads(exptui(repo, "queue", "status", "--json").stdout)["entries"]


def best_loss(repo: Path) -> float:
    rows = json.loads(exptui(repo, "show", "--json").stdout)
    text = json.dumps(rows)
    values = []
    for chunk in text.split('"loss": ')[1:]:
        try:
            values.append(float(chunk.split(",")[0].split("}")[0]))
        except ValueError:
            continue
    return min(values) if values else float("nan")


def queue_run(kind: str, seed: int, trials: int, **repo_kw: float) -> dict[str, object]:
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
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "exptui", "queue", "start", "-j", "1", "--wait"], cwd=repo,
                       capture_output=True, text=True)
        wall = time.monotonic() - start
        listed = entries(repo)
        trial_seconds = sum(float(e.get("duration") or 0) for e in listed)
        statuses: dict[str, int] = {}
        for e in listed:
            statuses[e["status"]] = statuses.get(e["status"], 0) + 1
        return {"kind": kind, "seed": seed, "best_loss": round(best_loss(repo), 4), "wall_s": round(wall, 1),
                "trial_seconds": round(trial_seconds, 1), "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--queue-seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--skip-queue", action="store_true")
    args = parser.parse_args()
    print(json.dumps({"in_process": in_process(args.seeds, args.trials)}), flush=True)
    if args.skip_queue:
        return
    for seed in range(args.queue_seeds):
        for kind in ("grid", "random", "tpe") if seed == 0 else ("random", "tpe"):
            print(json.dumps({"queue": queue_run(kind, seed, args.trials)}), flush=True)
    for kind in ("tpe", "tpe+median"):
        print(json.dumps({"pruning": queue_run(kind, 0, args.trials, epochs=10, step_seconds=0.3)}), flush=True)


if __name__ == "__main__":
    main()
