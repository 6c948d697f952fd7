"""Which regex engine for the filter's ``~=`` (and the column chooser): the measurement behind exptui.query.regex.

    .venv/bin/python benchmarks/bench_regex.py [--rows 10000] [--repeat 5]

For each pattern, the time to test it against every row's name (10,000 names like ``brave-apex-123``: one
dashboard keystroke) and against one hostile 1 MB value, with:

* ``re``              Python's backtracking engine (what exptui used before issue 9);
* ``regex+timeout``   the `regex` package with ``timeout=0.05`` per call (skipped if not installed);
* ``re2.search``      google-re2's Python API (``re2.compile(p).search``);
* ``re2.Set``         google-re2's ``Set`` wrapper, one pattern (what exptui uses).

Engines that would not finish (backtracking blow-ups) are not run on that input and shown as ``hangs``. Times are
the best of ``--repeat`` runs.
"""
from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable

PATTERNS = [r"lr-0\.1", r"brave|crisp", r"^dusty-\w+-\d+$", r"(a+)+b", r".*x"]
# re on these inputs is exponential ((a+)+b) or quadratic per row (.*x on 1 MB): it never returns in practice
HANGS_RE = {(r"(a+)+b", "1 MB hostile"), (r".*x", "1 MB hostile")}


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import re2

    try:
        import regex
    except ImportError:  # not a dependency of exptui: only measured when present
        regex = None
    from exptui.query.regex import compile_regex

    rng = random.Random(1)
    names = [f"{rng.choice(['agile', 'brave', 'crisp', 'dusty'])}-{rng.choice(['acre', 'apex', 'lr-0.1'])}-{i}"
             for i in range(args.rows)]
    inputs = {f"{args.rows:,} names": names, "1 MB hostile": ["a" * 2**20 + "c"]}
    opts = re2.Options()
    opts.case_sensitive = False
    opts.log_errors = False
    header = f"{'pattern':18} {'input':14} {'re':>10} {'regex+timeout':>14} {'re2.search':>11} {'re2.Set':>9}"
    print(header)
    print("-" * len(header))
    for pattern in PATTERNS:
        for label, rows in inputs.items():
            cells = []
            if (pattern, label) in HANGS_RE:
                cells.append("hangs")
            else:
                c = re.compile(pattern, re.I)
                cells.append(f"{_best(lambda: [c.search(r) for r in rows], args.repeat) * 1000:.1f} ms")
            if regex is None:
                cells.append("n/a")
            else:
                rc = regex.compile(pattern, regex.I)

                def with_timeout() -> None:
                    for r in rows:
                        try:
                            rc.search(r, timeout=0.05)
                        except TimeoutError:
                            pass

                cells.append(f"{_best(with_timeout, args.repeat) * 1000:.1f} ms")
            slow = re2.compile(pattern, opts)
            cells.append(f"{_best(lambda: [slow.search(r) for r in rows], args.repeat) * 1000:.1f} ms")
            fast = compile_regex(pattern, ignore_case=True)
            cells.append(f"{_best(lambda: [fast.search(r) for r in rows], args.repeat) * 1000:.1f} ms")
            print(f"{pattern:18} {label:14} {cells[0]:>10} {cells[1]:>14} {cells[2]:>11} {cells[3]:>9}")


if __name__ == "__main__":
    main()
