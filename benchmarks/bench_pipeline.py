"""Pipeline engine benchmark: no-op `repro`/`status` of exptui vs dvc, and the stat cache on a 1 GB dependency.

    /work/venv/bin/python benchmarks/bench_pipeline.py [--runs 5] [--big-mb 1024] [--keep]

Workloads (wall time of the whole process, Python startup included; median of --runs after a warm-up):
  churn no-op     pipelines/churn (4 stages) after a baseline `exptui repro`: nothing changed
  churn all from run cache   dvc.lock and all outputs deleted: every stage restored from the run cache
  big-dep no-op   one stage depending on a --big-mb file: the stat cache must avoid re-hashing it
  big-dep cold    the same with exptui's state database deleted first (one full hash of the file)
"""
from __future__ import annotations

import argparse
import os
import resource
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


def sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")


def timed(cmd: list[str], cwd: Path, env: dict[str, str], runs: int, before=None,
          warmup: bool = True) -> tuple[float, float]:
    """Median (wall, cpu) seconds of `runs` runs after one warm-up.

    CPU time (user + sys of the process tree) is reported too: on a shared machine wall time
    mostly measures the neighbours, CPU time measures the program.
    """
    walls, cpus = [], []
    first = 0 if warmup else 1
    for i in range(first, runs + 1):
        if before is not None:
            before()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        sh(cmd, cwd, env)
        elapsed = time.perf_counter() - start
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:
            walls.append(elapsed)
            cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def make_repo(path: Path, env: dict[str, str]) -> None:
    sh(["git", "init", "-q", "-b", "main"], path, env)
    if DVC:
        sh([DVC, "init", "-q"], path, env)
    else:
        sys.path.insert(0, str(ROOT))
        from dvc_compat.config import init_dvc_dir

        init_dvc_dir(path)
    sh(["git", "add", "-A"], path, env)
    sh(["git", "commit", "-q", "-m", "bench"], path, env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--big-mb", type=int, default=1024)
    ap.add_argument("--keep", action="store_true", help="keep the temp repos")
    args = ap.parse_args()

    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "bench")
    env.setdefault("GIT_COMMITTER_EMAIL", "bench@example.invalid")
    env["DVC_NO_ANALYTICS"] = "1"
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    # Measure what an installed exptui/dvc costs: bytecode cached (outside the source tree), as for any user.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    rows: list[tuple[str, str, tuple[float, float] | None]] = []
    try:
        churn = tmp / "churn"
        shutil.copytree(ROOT / "pipelines" / "churn", churn)
        make_repo(churn, env)
        sh([EXPTUI, "repro", "-q"], churn, env)  # baseline run
        if DVC:
            sh([DVC, "status"], churn, env)
        for name, cmd in [("exptui repro", [EXPTUI, "repro", "-q"]), ("exptui status", [EXPTUI, "status"])]:
            rows.append(("churn no-op", name, timed(cmd, churn, env, args.runs)))
        for name, cmd in [("dvc repro", [DVC, "repro", "-q"]), ("dvc status", [DVC, "status", "-q"])]:
            rows.append(("churn no-op", name, timed(cmd, churn, env, args.runs) if DVC else None))

        def forget_results() -> None:
            """Lock and every output gone: only the run cache can bring the stages back without running."""
            (churn / "dvc.lock").unlink(missing_ok=True)
            for rel in ("data/churn.csv", "data/prepared", "models", "metrics.yaml", "plots"):
                path = churn / rel
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)

        rows.append(("churn all from run cache", "exptui repro",
                     timed([EXPTUI, "repro", "-q"], churn, env, args.runs, before=forget_results)))
        if DVC:
            rows.append(("churn all from run cache", "dvc repro",
                         timed([DVC, "repro", "-q"], churn, env, args.runs, before=forget_results)))

        big = tmp / "big"
        big.mkdir()
        block = os.urandom(1 << 20)
        with open(big / "big.bin", "wb") as fh:
            for _ in range(args.big_mb):
                fh.write(block)
        (big / "dvc.yaml").write_text(
            "stages:\n  size:\n    cmd: wc -c < big.bin > size.txt\n    deps: [big.bin]\n    outs: [size.txt]\n"
        )
        (big / ".gitignore").write_text("/big.bin\n")
        make_repo(big, env)
        rows.append((f"big-dep ({args.big_mb} MB) first run", "exptui repro",
                     timed([EXPTUI, "repro", "-q"], big, env, 1, warmup=False)))
        state = big / ".dvc" / "tmp" / "exptui" / "state.sqlite"

        def drop_state() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(state) + suffix).unlink(missing_ok=True)

        rows.append((f"big-dep ({args.big_mb} MB) no-op", "exptui repro",
                     timed([EXPTUI, "repro", "-q"], big, env, args.runs)))
        rows.append((f"big-dep ({args.big_mb} MB) cold state", "exptui status",
                     timed([EXPTUI, "status"], big, env, max(1, args.runs // 2), before=drop_state)))
        if DVC:
            rows.append((f"big-dep ({args.big_mb} MB) no-op", "dvc repro",
                         timed([DVC, "repro", "-q"], big, env, args.runs)))
    finally:
        if args.keep:
            print(f"repos kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"{'workload':<34} {'command':<15} {'wall s':>8} {'cpu s':>8}   (median of {args.runs}, "
          f"cpus={os.cpu_count()}, load {load:.1f}, bytecode cached)")
    for workload, name, value in rows:
        if value is None:
            print(f"{workload:<34} {name:<15} {'n/a':>8} {'n/a':>8}")
        else:
            print(f"{workload:<34} {name:<15} {value[0]:8.3f} {value[1]:8.3f}")


if __name__ == "__main__":
    main()
