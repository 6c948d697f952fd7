"""`exptui queue status` of two source trees, run alternately (A, B, A, B ...) on one queue repository.

    .venv/bin/python benchmarks/bench_queue_status_ab.py REPO A_DIR B_DIR [--repo-b COPY] [--runs 21] [--perf]

A_DIR and B_DIR each hold an ``exptui`` and a ``dvc_compat`` package (a `git archive` of the branch's start, the
work tree); each run is the venv's ``exptui`` script with that directory first on PYTHONPATH, bytecode cached
(PYTHONDONTWRITEBYTECODE dropped, both trees compiled first). On a shared machine the load moves every figure more
than a change does: alternating runs in the same minutes compare like with like. Per run: wall time and CPU time
(user+sys of the command and the git processes it waited for, from wait4()), and with --perf the page faults as
`perf stat -e page-faults` counts them (children included). The outputs of A and B are compared byte for byte.
REPO: a queue repository, e.g. one made by `bench_show.make_queue_repo` (`--make N DIR` builds one and exits).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
EXPTUI = str(BIN / "exptui")


def _env(tree: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = tree
    return env


def run_once(repo: str, tree: str, perf: bool) -> tuple[float, float, int | None, bytes]:
    """(wall s, CPU s of the command and the processes it waited for, page faults or None, stdout) of one
    `exptui queue status`; CPU time from this process's RUSAGE_CHILDREN before and after (it waits for nothing
    else meanwhile)."""
    import resource

    cmd = [EXPTUI, "queue", "status"]
    if perf:
        cmd = ["perf", "stat", "-x,", "-e", "page-faults", "--", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, env=_env(tree), capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.decode(errors='replace')}")
    faults = None
    if perf:
        for line in proc.stderr.decode(errors="replace").splitlines():
            if "page-faults" in line:
                faults = int(line.split(",")[0])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, faults, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", nargs="?")
    ap.add_argument("a", nargs="?")
    ap.add_argument("b", nargs="?")
    ap.add_argument("--repo-b", help="a copy of REPO for B: two cache formats would rewrite one shared cache file "
                    "on every run")
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--perf", action="store_true", help="count page faults with perf stat (if installed)")
    ap.add_argument("--make", nargs=2, metavar=("N", "DIR"), help="build a queue repo of N entries in DIR, exit")
    args = ap.parse_args()
    if args.make:
        sys.path.insert(0, str(Path(__file__).parent))
        import bench_show

        print(bench_show.make_queue_repo(int(args.make[0]), Path(args.make[1])))
        return
    if not (args.repo and args.a and args.b):
        ap.error("REPO A_DIR B_DIR are needed")
    if args.perf and not shutil.which("perf"):
        ap.error("perf is not installed")
    for tree in (args.a, args.b):
        subprocess.run([sys.executable, "-m", "compileall", "-q", f"{tree}/exptui", f"{tree}/dvc_compat"],
                       env=_env(tree), check=True)
    results: dict[str, list[tuple[float, float, int | None]]] = {"A": [], "B": []}
    outputs: dict[str, bytes] = {}
    loads = [os.getloadavg()[0]]
    repos = {"A": args.repo, "B": args.repo_b or args.repo}
    for label, tree in (("A", args.a), ("B", args.b)):  # warm-up: the body cache written, the page cache filled
        outputs[label] = run_once(repos[label], tree, False)[3]
    if outputs["A"] != outputs["B"]:
        raise SystemExit("A and B print different bytes")
    for i in range(args.runs):
        for label, tree in (("A", args.a), ("B", args.b)) if i % 2 == 0 else (("B", args.b), ("A", args.a)):
            wall, cpu, faults, out = run_once(repos[label], tree, args.perf)
            if out != outputs[label]:
                raise SystemExit(f"{label} printed other bytes in run {i}")
            results[label].append((wall, cpu, faults))
        loads.append(os.getloadavg()[0])
    print(f"{args.runs} alternating runs each, load {min(loads):.1f}-{max(loads):.1f}")
    for label in ("A", "B"):
        walls = [r[0] * 1000 for r in results[label]]
        cpus = [r[1] * 1000 for r in results[label]]
        faults = [r[2] for r in results[label] if r[2] is not None]
        line = (f"{label}: CPU median {statistics.median(cpus):.0f} ms, min {min(cpus):.0f}; "
                f"wall median {statistics.median(walls):.0f} ms, min {min(walls):.0f}")
        if faults:
            line += f"; page faults median {statistics.median(faults):.0f}"
        print(line)


if __name__ == "__main__":
    main()
