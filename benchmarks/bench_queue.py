"""Queue benchmark on the churn pipeline: per-experiment overhead, 8 experiments on 2 workers, `queue status`.

    /work/venv/bin/python benchmarks/bench_queue.py [--runs 3] [--dvc] [--keep]

Workloads (wall times, Python startup included):
  stage commands      the commands a queued `train.seed=N` run re-runs (train, evaluate), timed directly in a
                      checkout: what any runner must pay (wall and CPU)
  queued run (1 on 1) `exptui queue start --wait` for one such entry: CLI and worker start-up, shared clone,
                      restore of the unchanged stages from the cache, the stages, record, terminal state
  sweep of 4 on 1     `exptui queue start --wait` for 4 entries on one worker (the worker loops, no re-spawn)
  overhead            wall time - the seconds the stages ran (measured in that same run, so the shared
                      machine's load affects both alike), split into what each experiment pays and what a
                      `queue start` pays once (the CLI and the worker process starting, the last empty claim),
                      both from the same run (the entries' claim and finish times), so load cancels out:
                        per experiment = (last finish - first claim - stages) / 4  (aim: < 0.3 s; DVC: +1.43 s)
                        one-off start-up = wall - (last finish - first claim)
                        amortised = (wall - stages) / 4   (what a 4-experiment sweep pays per experiment)
                      CPU: the CPU seconds of a queued sweep (CLI, workers, git, stages: every process waited
                      for) minus the stage commands' CPU seconds run directly, per experiment, start-up share
                      included. Quoted for the sleep pipeline: LightGBM's threads spin while they wait for a
                      core, so the churn stages' own CPU time swings with the machine's load
  8 on 2              `exptui queue start -j 2 --wait` for 8 entries vs ideal ceil(8/2) x one queued run
                      (aim: within 1.3x)
  sleep 8 on 2        the same sweep shape on a one-stage pipeline that sleeps 2 s: the queue's own scheduling
                      without CPU contention (on 2 shared cores two CPU-bound stages slow each other down)
  dask (--dask)       the same 8-on-2 sweep through `exptui queue start --dask ADDRESS` on a LocalCluster of two
                      single-threaded worker processes started beforehand (its start-up reported on its own),
                      next to the local pool's 8-on-2 sweep run just before it: per-experiment overhead of each
                      = (first claim..last finish x 2 workers - seconds the stages ran) / 8. Each Dask task gets
                      the snapshot as data and runs in a temp dir of its own (no shared disk), and it re-runs the
                      stages the local pool restores from the shared cache (generate, prepare): counted as stage
                      time, not overhead. `--dask-only` runs just this comparison.
  queue status        `exptui queue status` with the 9 entries in the queue, and with 1,009 (aim: < 0.2 s)
  dvc (--dvc)         `dvc exp run --queue` x 8 + `dvc queue start -j 2`, waited for, on the same repo

The machine is shared: run it when it is quiet, and read medians.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXPTUI = str(BIN / "exptui")
DVC = shutil.which("dvc", path=str(BIN)) or shutil.which("dvc")


def sh(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def timed(fn) -> float:
    return timed_cpu(fn)[0]


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed_cpu(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child processes waited for meanwhile, their children included)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start, _children_cpu() - cpu


def make_churn_repo(path: Path, env: dict[str, str]) -> None:
    """git init + DVC layout + the churn pipeline, reproduced and committed (the baseline has a lock)."""
    path.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], path, env)
    shutil.copytree(ROOT / "pipelines" / "churn", path, dirs_exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from dvc_compat.config import init_dvc_dir

    init_dvc_dir(path)
    # DVCLive (in the train stage) asks git for HEAD, so the pipeline is committed before its first run
    sh(["git", "add", "-A"], path, env)
    sh(["git", "commit", "-q", "-m", "churn pipeline"], path, env)
    sh([EXPTUI, "repro", "-q"], path, env)
    sh(["git", "add", "-A"], path, env)
    sh(["git", "commit", "-q", "-m", "churn baseline"], path, env)


SLEEP_STAGE = """import time, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
time.sleep(2)
open("m.yaml", "w").write("x: %s\\n" % p["lr"])
"""
SLEEP_DVC_YAML = """stages:
  train:
    cmd: python s.py
    params: [train]
    metrics:
      - m.yaml:
          cache: false
"""


def make_sleep_repo(path: Path, env: dict[str, str]) -> None:
    path.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], path, env)
    from dvc_compat.config import init_dvc_dir

    init_dvc_dir(path)
    (path / "s.py").write_text(SLEEP_STAGE)
    (path / "dvc.yaml").write_text(SLEEP_DVC_YAML)
    (path / "params.yaml").write_text("train:\n  lr: 1\n")
    sh(["git", "add", "-A"], path, env)
    sh(["git", "commit", "-q", "-m", "sleep pipeline"], path, env)


def stage_commands_time(repo: Path, env: dict[str, str], seed: int, runs: int) -> tuple[float, float]:
    """Median (wall, CPU) time of the commands a `train.seed=<seed>` experiment re-runs, run directly in a
    checkout."""
    work = repo.parent / "direct"
    if work.exists():
        shutil.rmtree(work)
    sh(["git", "clone", "-q", str(repo), str(work)], repo.parent, env)
    # the cached outs the commands read (data/prepared) come from the baseline run
    shutil.copytree(repo / "data", work / "data", dirs_exist_ok=True)
    text = (work / "params.yaml").read_text().replace("seed: 0 ", f"seed: {seed} ")
    (work / "params.yaml").write_text(text)
    times = []
    for _ in range(runs):
        times.append(timed_cpu(lambda: (sh([sys.executable, "src/train.py"], work, env),
                                        sh([sys.executable, "src/evaluate.py"], work, env))))
    return statistics.median(w for w, _c in times), statistics.median(c for _w, c in times)


def queue_once(repo: Path, env: dict[str, str], overrides: list[str], jobs: int,
               cpu: list[float] | None = None, spans: list[float] | None = None,
               dask: str | None = None) -> tuple[float, float, float]:
    """(wall time of `queue start --wait`, summed seconds of the stages that ran, summed worker time per entry)
    for the entries these overrides queue. The stage seconds come from the same run, under the same load.
    `cpu`: the CPU seconds of the run are appended to it; `spans`: the seconds from the first claim to the
    last terminal state (the run minus the CLI's and the worker's start-up and exit)."""
    args = [EXPTUI, "run", "--queue"]
    for o in overrides:
        args += ["-S", o]
    names = [line.split()[-1] for line in sh(args, repo, env).stdout.splitlines() if line.startswith("queued ")]
    start = [EXPTUI, "queue", "start", "-j", str(jobs)] + (["--dask", dask] if dask else ["--wait"])
    t, used = timed_cpu(lambda: sh(start, repo, env))
    if cpu is not None:
        cpu.append(used)
    status = json.loads(sh([EXPTUI, "queue", "status", "--json"], repo, env).stdout)
    mine = [e for e in status["entries"] if e["name"] in names]
    bad = [e for e in mine if e["status"] != "success"]
    if bad or len(mine) != len(names):
        raise SystemExit(f"queued runs failed: {bad or mine}")
    if spans is not None:
        spans.append(max(e["finished"] for e in mine) - min(e["started"] for e in mine))
    stage_s = sum(s.get("seconds", 0.0) for e in mine for s in e["stages"].values() if s["outcome"] == "ran")
    worker_s = sum(e["duration"] or 0.0 for e in mine)
    return t, stage_s, worker_s


def dvc_queue(repo: Path, env: dict[str, str], n: int) -> float | None:
    if DVC is None:
        return None
    for i in range(n):
        sh([DVC, "exp", "run", "--queue", "-S", f"train.seed={100 + i}"], repo, env)
    start = time.perf_counter()
    sh([DVC, "queue", "start", "-j", "2"], repo, env)
    deadline = start + 1800
    while time.perf_counter() < deadline:
        out = sh([DVC, "queue", "status"], repo, env, check=False).stdout
        if "Queued" not in out and "Running" not in out:
            break
        time.sleep(0.5)
    elapsed = time.perf_counter() - start
    sh([DVC, "queue", "stop"], repo, env, check=False)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="repetitions of the single queued run")
    ap.add_argument("--dvc", action="store_true", help="also time DVC's queue on the same workload (slow)")
    ap.add_argument("--dask", action="store_true",
                    help="also run the 8-on-2 sweep with `queue start --dask local -j 2` (needs exptui[dask])")
    ap.add_argument("--dask-only", action="store_true", help="only the local pool vs Dask comparison")
    ap.add_argument("--keep", action="store_true", help="keep the temp repos")
    args = ap.parse_args()

    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for k, v in (("GIT_AUTHOR_NAME", "bench"), ("GIT_AUTHOR_EMAIL", "bench@example.invalid"),
                 ("GIT_COMMITTER_NAME", "bench"), ("GIT_COMMITTER_EMAIL", "bench@example.invalid")):
        env.setdefault(k, v)
    env["DVC_NO_ANALYTICS"] = "1"
    tmp = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    results: dict[str, float | None] = {}
    try:
        repo = tmp / "churn"
        make_churn_repo(repo, env)
        if args.dask or args.dask_only:
            results.update(dask_comparison(repo, env))
        if args.dask_only:
            return report(results, args, tmp)
        stage, stage_cpu = stage_commands_time(repo, env, 1, args.runs)
        singles = [queue_once(repo, env, [f"train.seed={10 + i}"], 1) for i in range(args.runs)]
        single = statistics.median(t for t, _s, _w in singles)
        n = 4
        sweep_cpu: list[float] = []
        spans: list[float] = []
        sweeps = [queue_once(repo, env, [f"train.seed=range({40 + n * i},{40 + n * (i + 1)})"], 1, sweep_cpu,
                             spans) for i in range(max(2, args.runs - 1))]
        single_over = statistics.median(t - s for t, s, _w in singles)
        sweep_over = statistics.median(t - s for t, s, _w in sweeps)
        per_exp = statistics.median((span - s) / n for span, (_t, s, _w) in zip(spans, sweeps))
        startup = statistics.median(t - span for span, (t, _s, _w) in zip(spans, sweeps))
        results["stage commands run directly (train+evaluate)"] = stage
        results["  their CPU time"] = stage_cpu
        results["queued run, 1 on 1 worker (wall)"] = single
        results["  of which: stages that ran (same run)"] = statistics.median(s for _t, s, _w in singles)
        results["  overhead (wall - stages), start-up included"] = single_over
        results[f"sweep of {n} on 1 worker (wall)"] = statistics.median(t for t, _s, _w in sweeps)
        results["  overhead (wall - stages)"] = sweep_over
        results["overhead per experiment (first claim..last finish - stages) / n"] = per_exp
        results["  inside the worker (claim..done - stages)"] = statistics.median((w - s) / n for _t, s, w in sweeps)
        results["  CPU per experiment, churn (noisy: see above)"] = statistics.median(sweep_cpu) / n - stage_cpu
        results[f"  amortised over the sweep of {n} (overhead / {n})"] = sweep_over / n
        results["one-off start-up + exit per `queue start` (CLI + worker)"] = startup
        k, j = 8, 2
        sweep, _s, _w = queue_once(repo, env, [f"train.seed=range(20,{20 + k})"], j)
        ideal = math.ceil(k / j) * single
        results[f"{k} experiments on {j} workers"] = sweep
        results[f"ideal ceil({k}/{j}) x one run"] = ideal
        results["sweep / ideal"] = sweep / ideal
        sleepy = tmp / "sleep"
        make_sleep_repo(sleepy, env)
        one = statistics.median(queue_once(sleepy, env, [f"train.lr={100 + i}"], 1)[0] for i in range(args.runs))
        sleep_cpu: list[float] = []
        eight = queue_once(sleepy, env, ["train.lr=range(0,8)"], 2, sleep_cpu)[0]
        direct = sleepy.parent / "sleep-direct"
        direct.mkdir()
        for f in ("s.py", "params.yaml"):
            shutil.copy(sleepy / f, direct / f)
        stage_only = statistics.median(timed_cpu(lambda: sh([sys.executable, "s.py"], direct, env))[1]
                                       for _ in range(3))
        results["sleep 2 s: CPU per experiment (8 on 2, minus the stage's own)"] = sleep_cpu[0] / 8 - stage_only
        results["sleep 2 s: queued run, 1 on 1 worker"] = one
        results["sleep 2 s: 8 on 2 / ideal"] = eight / (4 * one)
        sh([EXPTUI, "run", "--queue", "-S", "train.seed=999"], repo, env)  # one queued entry in the listing
        status_times = [timed(lambda: sh([EXPTUI, "queue", "status"], repo, env)) for _ in range(7)]
        results["exptui queue status"] = statistics.median(status_times)
        sh([EXPTUI, "run", "--queue", "-S", "train.lr=range(1000,2000)"], sleepy, env)  # 1,000 more entries
        big = [timed(lambda: sh([EXPTUI, "queue", "status"], sleepy, env)) for _ in range(7)]
        results["exptui queue status, 1,009 entries"] = statistics.median(big)
        if args.dvc:
            dvc_repo = tmp / "churn-dvc"
            make_churn_repo(dvc_repo, env)
            results[f"dvc: {k} queued on 2 workers"] = dvc_queue(dvc_repo, env, k)
    finally:
        if not args.dask_only:
            report(results, args, tmp)


def dask_comparison(repo: Path, env: dict[str, str], k: int = 8, j: int = 2) -> dict[str, float | None]:
    """The same k-on-j sweep on the local pool and on a Dask LocalCluster (no shared disk path)."""
    import distributed

    out: dict[str, float | None] = {}
    start = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=j, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=40)
    out[f"dask: LocalCluster start-up ({j} workers), once"] = time.perf_counter() - start
    try:
        spans: list[float] = []
        wall, stages, _w = queue_once(repo, env, [f"train.seed=range(300,{300 + k})"], j, spans=spans)
        local = (spans[0] * j - stages) / k
        dspans: list[float] = []
        dwall, dstages, _w = queue_once(repo, env, [f"train.seed=range(400,{400 + k})"], j, spans=dspans,
                                        dask=cluster.scheduler_address)
        remote = (dspans[0] * j - dstages) / k
    finally:
        cluster.close()
    out[f"local pool: {k} on {j} (wall)"] = wall
    out["  overhead per experiment"] = local
    out[f"dask, no shared disk: {k} on {j} (wall, cluster up)"] = dwall
    out["  overhead per experiment "] = remote
    out["  stages ran, summed (local / dask)"] = None
    out[f"    local {stages:.1f} s, dask {dstages:.1f} s"] = None
    out["dask - local, per experiment"] = remote - local
    return out


def report(results: dict[str, float | None], args: argparse.Namespace, tmp: Path) -> None:
    if args.keep:
        print(f"repos kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'workload':<44} {'value':>9}   (runs={args.runs}, cpus={os.cpu_count()}, "
          f"load={os.getloadavg()[0]:.1f})")
    for name, value in results.items():
        unit = "x" if "/ ideal" in name else "s"
        print(f"{name:<44} {'n/a' if value is None else f'{value:9.3f}':>9} {unit}")
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_queue.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
