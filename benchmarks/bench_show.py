"""`exptui show --json` on 100 / 1,000 / 10,000 experiments: cold, warm, the git floor, and `dvc exp show --json`.

    .venv/bin/python benchmarks/bench_show.py [--n 100 1000 10000 100000] [--dvc-max 1000] [--runs 3] [--keep]

Each size gets a fresh DVC repo (one-stage pipeline: params.yaml with a `train` section, metrics.json with
`cache: false`) and N experiment commits in DVC's layout (`refs/exps/<b[:2]>/<b[2:]>/exp-<i>`, single parent,
`dvc: commit experiment <sha256>`), each with its own params.yaml and metrics.json blobs, written in one
`git fast-import` stream and packed (as `git gc` would leave them). Timings are wall time of whole processes
(Python startup included), median of --runs; CPU time (user+sys, git included) and the peak RSS of the exptui
process (with the git processes it ran) are printed too, both from wait4() as GNU `time -v` reports them, taken in
a small helper process (see `_RUSAGE` for why not from this process's own children):

  floor    `git for-each-ref refs/exps` + one `git cat-file --batch` reading every experiment's params.yaml and
           metrics.json (what any reader must do at least), no parsing
  cold     `exptui show --json` with .git/exptui/index deleted (reads and parses everything)
  warm     `exptui show --json` again (the on-disk index is used)
  one-new  `exptui show --json` after one more experiment was added (a new one before each run)
  top      `exptui show --json --filter 'f1 > 0.79' --sort-by f1 --sort-order desc --limit 20`, warm (printed on
           stderr: the filter and sort read the f1 column alone, then the 20 printed rows)
  queue    `exptui queue status` in a second repo with N queued entries (written with git fast-import in the
           layout `exptui run --queue` leaves, refs packed)
Each row's ratio to the floor is printed too.
  dvc      `dvc exp show --json` cold (its .dvc/tmp/exps/cache deleted) and warm; only up to --dvc-max
           experiments (cold DVC takes ~17 ms per experiment: 200 s at 10k)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
EXPTUI = str(BIN / "exptui")
DVC = shutil.which("dvc", path=str(BIN)) or shutil.which("dvc")

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    outs: [model.pkl]
    metrics:
      - metrics.json:
          cache: false
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="bench@example.invalid", DVC_NO_ANALYTICS="1", GIT_CONFIG_NOSYSTEM="1")
    # Measure what an installed exptui/dvc costs: bytecode cached (outside the source tree), as for any user,
    # like the other benchmarks (a shell with PYTHONDONTWRITEBYTECODE=1 recompiles every module on every run).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "exptui-bench-pycache")
    return env


def sh(cmd: list[str], cwd: Path, env: dict[str, str], input: bytes | None = None) -> bytes:
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=input, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def params_text(rng: random.Random) -> str:
    return (f"train:\n  lr: {rng.choice([0.001, 0.01, 0.05, 0.1, 0.3])}\n  n_estimators: {rng.randint(10, 500)}\n"
            f"  max_depth: {rng.randint(2, 12)}\n  subsample: {round(rng.uniform(0.5, 1), 3)}\n"
            f"  model: {rng.choice(['lgbm', 'rf', 'logreg'])}\nseed: {rng.randint(0, 10**6)}\n")


def metrics_text(rng: random.Random) -> str:
    return json.dumps({"auc": round(rng.uniform(0.6, 0.95), 6), "f1": round(rng.uniform(0.3, 0.8), 6),
                       "loss": round(rng.uniform(0.2, 0.7), 6), "test": {"acc": round(rng.uniform(0.7, 0.9), 6)}})


def make_repo(n: int, where: Path) -> Path:
    env = _env()
    repo = where / f"repo-{n}"
    repo.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    sh([DVC or "dvc", "init", "-q"], repo, env)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "train.py").write_text("print('train')\n")
    rng = random.Random(n)
    (repo / "params.yaml").write_text(params_text(rng))
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "-m", "baseline"], repo, env)
    baseline = sh(["git", "rev-parse", "HEAD"], repo, env).decode().strip()
    now = int(time.time()) - n
    stream = []
    for i in range(n):
        p = params_text(rng).encode()
        m = metrics_text(rng).encode()
        msg = f"dvc: commit experiment {hashlib.sha256(p + m).hexdigest()}".encode()
        ref = f"refs/exps/{baseline[:2]}/{baseline[2:]}/exp-{i:05d}"
        stream.append(f"commit {ref}\ncommitter bench <bench@example.invalid> {now + i} +0000\n".encode())
        stream.append(f"data {len(msg)}\n".encode() + msg + b"\n")
        stream.append(f"from {baseline}\n".encode())
        stream.append(f"M 100644 inline params.yaml\ndata {len(p)}\n".encode() + p + b"\n")
        stream.append(f"M 100644 inline metrics.json\ndata {len(m)}\n".encode() + m + b"\n\n")
    sh(["git", "fast-import", "--quiet"], repo, env, input=b"".join(stream))
    # fast-import writes its objects as a pack already; packed refs as a repo with history has them (a full
    # `git gc` repacked for deltas only and took most of the build time at 100k)
    sh(["git", "pack-refs", "--all"], repo, env)
    return repo


def add_experiment(repo: Path, env: dict[str, str], k: int) -> None:
    """One more experiment under HEAD (what a finished run adds), through git fast-import."""
    baseline = sh(["git", "rev-parse", "HEAD"], repo, env).decode().strip()
    rng = random.Random(-k)
    p, m = params_text(rng).encode(), metrics_text(rng).encode()
    msg = f"dvc: commit experiment {hashlib.sha256(p + m).hexdigest()}".encode()
    stream = [f"commit refs/exps/{baseline[:2]}/{baseline[2:]}/new-{k}\n"
              f"committer bench <bench@example.invalid> {int(time.time())} +0000\n".encode(),
              f"data {len(msg)}\n".encode() + msg + b"\n", f"from {baseline}\n".encode(),
              f"M 100644 inline params.yaml\ndata {len(p)}\n".encode() + p + b"\n",
              f"M 100644 inline metrics.json\ndata {len(m)}\n".encode() + m + b"\n\n"]
    sh(["git", "fast-import", "--quiet"], repo, env, input=b"".join(stream))


def make_queue_repo(n: int, where: Path) -> Path:
    """A repo with n queued entries (refs/exptui/queue/<id>, JSON body, params.yaml changed), as `exptui run
    --queue -S train.lr=...` leaves them, refs packed."""
    env = _env()
    repo = make_repo(0, where / f"queue-{n}")
    baseline = sh(["git", "rev-parse", "HEAD"], repo, env).decode().strip()
    tree = sh(["git", "rev-parse", "HEAD^{tree}"], repo, env).decode().strip()
    base_params = (repo / "params.yaml").read_text()
    now = time.time() - n
    stream = []
    for i in range(n):
        entry_id = f"{int((now + i / 1000) * 1000):013d}-{i % 0xffffff:06x}"
        meta = {"baseline": baseline, "created": now, "id": entry_id, "name": f"lr{i}",
                "overrides": {"params.yaml": {"train.lr": i}}, "tree_base": tree}
        msg = f"exptui queue {entry_id} lr{i}\n\n{json.dumps(meta, sort_keys=True)}\n".encode()
        p = base_params.replace("train:\n  lr:", f"train:\n  lr: {i}\n  old_lr:", 1).encode()
        stream.append(f"commit refs/exptui/queue/{entry_id}\n"
                      f"committer bench <bench@example.invalid> {int(now)} +0000\n".encode())
        stream += [f"data {len(msg)}\n".encode() + msg + b"\n", f"from {baseline}\n".encode(),
                   f"M 100644 inline params.yaml\ndata {len(p)}\n".encode() + p + b"\n\n"]
    sh(["git", "fast-import", "--quiet"], repo, env, input=b"".join(stream))
    sh(["git", "pack-refs", "--all"], repo, env)
    return repo


CPU: dict[str, list[float]] = {}
RSS: dict[str, list[float]] = {}   # peak resident set size of the measured process, MiB

# Runs a command and prints its wait4() resource usage as JSON on fd 3, as GNU time (`/usr/bin/time -v`) measures
# it: the peak RSS and CPU time of the command's process, the children it waited for (git) included. It is a small
# process of its own on purpose: a child forked from this benchmark (which holds a 100k-row listing) would start
# with the benchmark's pages resident, and Linux carries that high-water mark across exec() into ru_maxrss (that
# made warm `show --json` at 100k read 351 MiB here against ~200 MB by GNU time).
_RUSAGE = """\
import json, os, sys, time
fd, cmd = int(sys.argv[1]), sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_pid, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
os.write(fd, json.dumps({"rc": os.waitstatus_to_exitcode(status), "maxrss_kib": ru.ru_maxrss,
                         "cpu": ru.ru_utime + ru.ru_stime, "wall": wall}).encode())
"""


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str], cwd: Path, env: dict[str, str], before=None, input: bytes | None = None,
          label: str | None = None) -> float:
    """Wall time of the command; its CPU time (user+sys, children included) is kept under `label`: on a shared
    machine CPU time is the steadier figure."""
    if before is not None:
        before()
    read_fd, write_fd = os.pipe()
    # through the small _RUSAGE process (see there): the command's own wall time, CPU time and peak RSS, as GNU
    # time measures them (the helper's own start-up is not in them)
    proc = subprocess.Popen([sys.executable, "-c", _RUSAGE, str(write_fd), *cmd], cwd=cwd, env=env,
                            pass_fds=(write_fd,), stdin=subprocess.PIPE if input is not None else None,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    if input is not None:
        assert proc.stdin is not None
        proc.stdin.write(input)
        proc.stdin.close()
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.wait()
    with os.fdopen(read_fd, "rb") as f:
        report = json.loads(f.read() or b"{}")
    if proc.returncode != 0 or report.get("rc") != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err.decode(errors='replace')}")
    wall = report["wall"]
    if label:
        CPU.setdefault(label, []).append(report["cpu"])
        RSS.setdefault(label, []).append(report["maxrss_kib"] / 1024)
    return wall


def floor(repo: Path, env: dict[str, str], label: str | None = None) -> float:
    cpu0 = _children_cpu()
    start = time.perf_counter()
    refs = sh(["git", "for-each-ref", "--format=%(objectname)", "refs/exps"], repo, env).decode().split()
    req = "".join(f"{r}:params.yaml\n{r}:metrics.json\n" for r in refs).encode()
    sh(["git", "cat-file", "--batch"], repo, env, input=req)
    wall = time.perf_counter() - start
    if label:
        CPU.setdefault(label, []).append(_children_cpu() - cpu0)
    return wall


def median(fn, runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", "--sizes", dest="sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--no-queue", action="store_true", help="skip the queue status repos")
    ap.add_argument("--dvc-max", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    env = _env()
    tmp = Path(tempfile.mkdtemp(prefix="bench-show-"))
    rows = []
    try:
        for n in args.sizes:
            t0 = time.perf_counter()
            repo = make_repo(n, tmp)
            setup = time.perf_counter() - t0
            index = repo / ".git" / "exptui" / "index"
            show = [EXPTUI, "show", "--json"]
            out = json.loads(sh(show, repo, env))
            assert sum(1 for r in out if r["kind"] == "experiment") == n, "exptui did not list every experiment"
            f = median(lambda: floor(repo, env, f"floor{n}"), args.runs)
            cold = median(lambda: timed(show, repo, env, lambda: shutil.rmtree(index, ignore_errors=True),
                                        label=f"cold{n}"), args.runs)
            sh(show, repo, env)
            warm = median(lambda: timed(show, repo, env, label=f"warm{n}"), args.runs)
            # the pushed-down filter (index's per-column store): only f1's column and the 20 printed rows are read
            top = [EXPTUI, "show", "--json", "--filter", "f1 > 0.79", "--sort-by", "f1", "--sort-order", "desc",
                   "--limit", "20"]
            filtered = median(lambda: timed(top, repo, env, label=f"top{n}"), args.runs)
            print(f"n={n}: show --json --filter 'f1 > 0.79' --sort-by f1 --sort-order desc --limit 20: "
                  f"{filtered:.3f}s wall, CPU {statistics.median(CPU[f'top{n}']):.3f}s, "
                  f"peak RSS {max(RSS[f'top{n}']):.0f} MiB", file=sys.stderr)
            added = iter(range(10**6))
            one_new = median(lambda: timed(show, repo, env, lambda: add_experiment(repo, env, next(added)),
                                           label=f"new{n}"), args.runs)
            queue_status = None
            if not args.no_queue:
                qrepo = make_queue_repo(n, tmp)
                qstatus = [EXPTUI, "queue", "status"]
                sh(qstatus, qrepo, env)  # its body cache written once, as after `exptui run --queue`
                queue_status = median(lambda: timed(qstatus, qrepo, env, label=f"queue{n}"), args.runs)
            dvc_cold = dvc_warm = None
            if DVC and n <= args.dvc_max:
                dvc_cache = repo / ".dvc" / "tmp" / "exps" / "cache"
                dvc_show = [DVC, "exp", "show", "--json"]
                dvc_cold = timed(dvc_show, repo, env, lambda: shutil.rmtree(dvc_cache, ignore_errors=True),
                                 label=f"dvccold{n}")
                dvc_warm = median(lambda: timed(dvc_show, repo, env, label=f"dvcwarm{n}"), max(1, args.runs - 1))
                print(f"n={n}: dvc CPU time: cold {statistics.median(CPU[f'dvccold{n}']):.3f}s "
                      f"warm {statistics.median(CPU[f'dvcwarm{n}']):.3f}s", file=sys.stderr)
            rows.append((n, setup, f, cold, warm, dvc_cold, dvc_warm, one_new, queue_status, os.getloadavg()[0]))
            cpu_cold, cpu_warm = statistics.median(CPU[f"cold{n}"]), statistics.median(CPU[f"warm{n}"])
            rss_cold, rss_warm = max(RSS[f"cold{n}"]), max(RSS[f"warm{n}"])
            cpu_new, rss_new = statistics.median(CPU[f"new{n}"]), max(RSS[f"new{n}"])
            print(f"n={n}: exptui CPU time (user+sys, git included): cold {cpu_cold:.3f}s warm {cpu_warm:.3f}s "
                  f"one-new {cpu_new:.3f}s; peak RSS cold {rss_cold:.0f} MiB warm {rss_warm:.0f} MiB "
                  f"one-new {rss_new:.0f} MiB; load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
            if queue_status is not None:
                print(f"n={n}: queue status {queue_status:.3f}s wall, CPU {statistics.median(CPU[f'queue{n}']):.3f}s, "
                      f"peak RSS {max(RSS[f'queue{n}']):.0f} MiB", file=sys.stderr)
            print(f"n={n}: floor {f:.3f}s  exptui cold {cold:.3f}s warm {warm:.3f}s one-new {one_new:.3f}s  "
                  f"ratio to floor: cold {cold / f:.1f}x warm {warm / f:.1f}x one-new {one_new / f:.1f}x  "
                  f"dvc cold {dvc_cold if dvc_cold is None else round(dvc_cold, 2)}s "
                  f"warm {dvc_warm if dvc_warm is None else round(dvc_warm, 2)}s  (setup {setup:.1f}s)",
                  file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"repos kept in {tmp}", file=sys.stderr)

    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f} s" if v < 10 else f"{v:.1f} s"

    def cpu(label: str) -> str:
        return f"{statistics.median(CPU[label]):.2f}" if label in CPU else "—"

    def ratio(label: str, n: int) -> str:  # CPU time over the floor's CPU time: steadier than wall on a busy box
        if label not in CPU:
            return "—"
        return f"{statistics.median(CPU[label]) / max(statistics.median(CPU[f'floor{n}']), 1e-3):.1f}x"

    def rss(label: str) -> str:
        return f"{max(RSS[label]):.0f}" if label in RSS else "—"

    print("wall s (CPU s, user+sys with git), the CPU ratio to the git floor's CPU, peak RSS in MiB (wait4, as GNU "
          "time), the 1-minute load average when the size finished")
    print("| experiments | git floor | exptui cold | warm | one new | queue status, N queued | peak RSS cold / warm / "
          "one new / queue | dvc cold | dvc warm | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, _setup, f, cold, warm, dc, dw, new, qs, load in rows:
        print(f"| {n:,} | {fmt(f)} ({cpu(f'floor{n}')}) | {fmt(cold)} ({cpu(f'cold{n}')}) {ratio(f'cold{n}', n)} | "
              f"{fmt(warm)} ({cpu(f'warm{n}')}) {ratio(f'warm{n}', n)} | {fmt(new)} ({cpu(f'new{n}')}) "
              f"{ratio(f'new{n}', n)} | {fmt(qs)} ({cpu(f'queue{n}')}) {ratio(f'queue{n}', n)} | "
              f"{rss(f'cold{n}')} / {rss(f'warm{n}')} / {rss(f'new{n}')} / {rss(f'queue{n}')} | {fmt(dc)} | {fmt(dw)} "
              f"| {load:.1f} |")


if __name__ == "__main__":
    main()
