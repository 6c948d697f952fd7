"""exptui's git layer (`exptui.store.git`, the git CLI) against GitPython, operation by operation.

    .venv/bin/python benchmarks/bench_git_layer.py [-n 1000] [--runs 7] [--calls 200] [--keep]

One repository with N experiment refs in DVC's layout, made exactly as `bench_show.py` makes them (N commits with
their own params.yaml and metrics.json, `git gc`-packed objects and refs). Each row is timed --runs times in this
process; the table gives the fastest run (the least disturbed by other load on a shared machine), the median, and
the median CPU time of this process (git's own processes left out).
Every run starts a fresh `Git` / `git.Repo`, so the start of a persistent `cat-file` process is included, as it is
for one `exptui` command.

  blobs          read N blobs (every experiment's params.yaml), contents
                 ours: `Git.read_objects` (one `cat-file --batch-command --buffer` round trip)
                 gitpython: `repo.odb.stream(binsha).read()` per blob (its persistent `cat-file --batch`)
  one by one     --calls blobs, one request each (a detail pane reading one file): `Git.read_blob` vs
                 `repo.odb.stream(binsha).read()`
  blob info      type of the same N blobs, no contents: `Git.object_info` vs `repo.odb.info(binsha)`
  commits        read and parse N experiment commits: `Git.read_objects` + `parse_commit` vs `repo.commit(sha)`
                 with its message and parents (GitPython's `Commit` parsing)
  refs           list refs/exps with each ref's sha: `Git.for_each_ref(["refs/exps"])` (one `git for-each-ref`)
                 vs `repo.references` filtered to refs/exps, and the same with `ref.commit.hexsha`
  commands       --calls times `git rev-parse HEAD`: `Git.run` (subprocess.run) vs `repo.git.rev_parse`
                 (`git.cmd.Git.execute`)
  import         a fresh interpreter's `import exptui.store.git`, and `import git` after it: what a command pays
                 the first time it uses GitPython
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_show import _env, make_repo  # noqa: E402

from exptui.store.git import Git, parse_commit  # noqa: E402


Timing = tuple[float, float, float]


def timed(fn: Callable[[], object], runs: int) -> Timing:
    """(fastest wall, median wall, median CPU of this process) of `fn` over `runs` runs. The CPU time leaves out
    the git processes (the same work on both sides) and is the steadier figure on a loaded machine."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu, start = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def import_time(module: str, runs: int, after: str = "") -> Timing:
    """Import time of `module` in a fresh interpreter (after importing `after`, not timed)."""
    pre = f"import {after}; " if after else ""
    code = (f"import time; {pre}t, c = time.perf_counter(), time.process_time(); import {module}; "
            "print(time.perf_counter() - t, time.process_time() - c)")
    env = _env()
    walls, cpus = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        wall, cpu = out.stdout.split()
        walls.append(float(wall))
        cpus.append(float(cpu))
    return min(walls), statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    import git as gitpython

    tmp = Path(tempfile.mkdtemp(prefix="bench-git-layer-"))
    rows: list[tuple[str, Timing, Timing]] = []
    try:
        repo_dir = make_repo(args.n, tmp)
        probe = Git(repo_dir)
        refs = probe.for_each_ref(["refs/exps"])
        commits = [sha for _ref, sha in refs]
        blob_info = probe.object_info([f"{sha}:params.yaml" for sha in commits])
        blobs = [info[0] for info in blob_info if info is not None]
        probe.close()
        assert len(refs) == len(blobs) == args.n, "the benchmark repository is not what make_repo should make"
        binshas = [bytes.fromhex(b) for b in blobs]
        expected = sum(len(data) for _s, _t, data in Git(repo_dir).read_objects(blobs))  # type: ignore[misc]

        def with_git(fn: Callable[[Git], object]) -> Callable[[], object]:
            def run() -> object:
                g = Git(repo_dir)
                try:
                    return fn(g)
                finally:
                    g.close()
            return run

        def with_repo(fn: Callable[[gitpython.Repo], object]) -> Callable[[], object]:
            def run() -> object:
                r = gitpython.Repo(repo_dir)
                try:
                    return fn(r)
                finally:
                    r.close()
            return run

        def ours_blobs(g: Git) -> int:
            total = sum(len(a[2]) for a in g.read_objects(blobs) if a is not None)
            assert total == expected
            return total

        def gp_blobs(r: gitpython.Repo) -> int:
            total = sum(len(r.odb.stream(b).read()) for b in binshas)
            assert total == expected
            return total

        def ours_one_by_one(g: Git) -> int:
            total = sum(len(g.read_blob(b) or b"") for b in blobs[:args.calls])
            return total

        def gp_one_by_one(r: gitpython.Repo) -> int:
            return sum(len(r.odb.stream(b).read()) for b in binshas[:args.calls])

        def ours_info(g: Git) -> int:
            return sum(1 for a in g.object_info(blobs) if a is not None and a[1] == "blob")

        def gp_info(r: gitpython.Repo) -> int:
            return sum(1 for b in binshas if r.odb.info(b).type == b"blob")

        def ours_commits(g: Git) -> int:
            parsed = [parse_commit(a[0], a[2]) for a in g.read_objects(commits) if a is not None]
            return sum(len(c.parents) + len(c.message) for c in parsed)

        def gp_commits(r: gitpython.Repo) -> int:
            parsed = [r.commit(sha) for sha in commits]
            return sum(len(c.parents) + len(c.message) for c in parsed)

        def ours_refs(g: Git) -> int:
            out = g.for_each_ref(["refs/exps"])
            assert len(out) == args.n
            return len(out)

        def gp_ref_names(r: gitpython.Repo) -> int:
            out = [ref.path for ref in r.references if ref.path.startswith("refs/exps/")]
            assert len(out) == args.n
            return len(out)

        def gp_refs(r: gitpython.Repo) -> int:
            out = [(ref.path, ref.commit.hexsha) for ref in r.references if ref.path.startswith("refs/exps/")]
            assert len(out) == args.n
            return len(out)

        def ours_cmds(g: Git) -> int:
            return sum(len(g.run("rev-parse", "HEAD")) for _ in range(args.calls))

        def gp_cmds(r: gitpython.Repo) -> int:
            return sum(len(r.git.rev_parse("HEAD")) for _ in range(args.calls))

        n = f"{args.n:,}"
        cases = [
            (f"{n} blobs", with_git(ours_blobs), with_repo(gp_blobs)),
            (f"{args.calls} blobs, one call each", with_git(ours_one_by_one), with_repo(gp_one_by_one)),
            (f"{n} blob infos", with_git(ours_info), with_repo(gp_info)),
            (f"{n} commits", with_git(ours_commits), with_repo(gp_commits)),
            (f"{n} refs (names)", with_git(ours_refs), with_repo(gp_ref_names)),
            (f"{n} refs (names + shas)", with_git(ours_refs), with_repo(gp_refs)),
            (f"{args.calls} commands", with_git(ours_cmds), with_repo(gp_cmds)),
        ]
        for label, ours, theirs in cases:
            a = timed(ours, args.runs)
            b = timed(theirs, args.runs)
            rows.append((label, a, b))
            print(f"{label}: ours {a[0] * 1000:.1f} ms, gitpython {b[0] * 1000:.1f} ms", file=sys.stderr, flush=True)
        rows.append(("import: `exptui.store.git` vs GitPython on top of it", import_time("exptui.store.git", args.runs),
                     import_time("git", args.runs, after="exptui.store.git")))
    finally:
        if args.keep:
            print(f"repository kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    def ms(v: float) -> str:
        return f"{v * 1000:.1f} ms"

    print("| operation | exptui (git CLI): fastest / median wall, CPU | GitPython: fastest / median wall, CPU "
          "| GitPython ÷ exptui (fastest) |")
    print("|---|---:|---:|---:|")
    for label, ours_t, gp_t in rows:
        print(f"| {label} | {ms(ours_t[0])} / {ms(ours_t[1])}, {ms(ours_t[2])} | "
              f"{ms(gp_t[0])} / {ms(gp_t[1])}, {ms(gp_t[2])} | {gp_t[0] / ours_t[0]:.1f}× |")


if __name__ == "__main__":
    main()
