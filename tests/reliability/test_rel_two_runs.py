"""Issue 9 item 1: two `exptui run` in one workspace must never record a wrong experiment.

Before the workspace lock, the second run wrote params.yaml before taking any lock, so the first run's stage read
the second run's params and the first experiment was recorded with its own params next to the other's metrics (and
the run cache kept that output under the wrong params). Now the lock is taken before any workspace file is written
and held until the experiment is recorded, so the second run waits its turn.

The trial grid: both orders (the slow run first, or the fast one first), 20 start delays from 0 to 1 s (a fixed
list, not random). Every recorded experiment's params, dvc.lock params, metrics and cached output must be those a
solo run of its params gives (the pipeline's results are a pure function of `p.x`, see rel_support).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from rel_support import (
    cache_object, experiments, expected_y, exptui, make_repo, recorded, run_cache_entries, start,
)

DELAYS = [round(i / 19, 3) for i in range(20)]   # 0 .. 1 s
#: the lock wait used by these trials: long enough that the second run always gets its turn
WAIT = "120"


def _check_experiment(repo: Path, rev: str, x: int) -> None:
    got = recorded(repo, rev)
    assert got["x"] == x and got["lock_x"] == x, got
    assert got["y"] == expected_y(x), f"experiment with x={x} recorded the metrics of another run: {got}"
    assert cache_object(repo, got["out_md5"]).decode() == f"x={x} y={expected_y(x)}\n"


def test_a_solo_run_gives_the_pure_function(tmp_path: Path) -> None:
    """The reference: one run alone records y = 7x + 1 (what the race trials compare against)."""
    repo = make_repo(tmp_path / "repo")
    proc = exptui(repo, "run", "-q", "-S", "p.x=5", "-n", "solo")
    assert proc.returncode == 0, proc.stderr
    _check_experiment(repo, experiments(repo)["solo"], 5)


@pytest.mark.parametrize("slow_first", [True, False], ids=["slow-first", "fast-first"])
def test_two_workspace_runs_never_record_a_wrong_experiment(tmp_path: Path, slow_first: bool) -> None:
    repo = make_repo(tmp_path / "repo")
    outcomes: list[tuple[float, str]] = []
    for i, delay in enumerate(DELAYS):
        # distinct params per trial: nothing is restored from the run cache, every trial really runs its stage
        slow = ("-S", f"p.x={100 + i}", "-S", "p.delay=0.3", "-n", f"slow{i}")
        fast = ("-S", f"p.x={200 + i}", "-S", "p.delay=0", "-n", f"fast{i}")
        first, second = (slow, fast) if slow_first else (fast, slow)
        a = start(repo, "run", "-q", *first, EXPTUI_LOCK_WAIT=WAIT)
        time.sleep(delay)  # the fault injected: the second run starts `delay` s after the first
        b = start(repo, "run", "-q", *second, EXPTUI_LOCK_WAIT=WAIT)
        for proc in (a, b):
            _out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, (delay, err)
            assert "Traceback" not in err
        outcomes.append((delay, "both recorded"))
    exps = experiments(repo)
    assert len(exps) == 2 * len(DELAYS)
    for i in range(len(DELAYS)):
        _check_experiment(repo, exps[f"slow{i}"], 100 + i)
        _check_experiment(repo, exps[f"fast{i}"], 200 + i)
    # the run cache never keeps an output produced from other params
    entries = run_cache_entries(repo)
    assert entries
    for entry in entries:
        x = entry["params"]["params.yaml"]["p.x"]
        out = next(o for o in entry["outs"] if o["path"] == "out.txt")
        assert cache_object(repo, out["md5"]).decode() == f"x={x} y={expected_y(x)}\n", entry
