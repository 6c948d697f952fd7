"""A sorted, filtered or leaderboard dashboard saves the top of its view with that view, and the next start after
experiment refs changed paints it amended (`exptui.store.first_rows_view`): already the top of the complete view,
never with a deleted experiment, never without a new one that ranks into it; under another view it is not used.

Real repos with 1,500 experiments (`test_tui_streaming.big_template`), the real Project, index and app; each test
starts the app twice over the same repo, as a user would.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_tui_app import async_test
from tests.test_tui_first_screen import F1, FIRST, experiments_of, first_start, second_start
from tests.test_tui_streaming import N, big_repo, big_template  # noqa: F401 - fixtures

from exptui.project import Project
from exptui.tui.app import ExptuiApp
from exptui.tui.view_state import ViewState


@pytest.fixture(autouse=True)
def few_first_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExptuiApp, "FIRST_ROWS", FIRST)


def record_experiment(repo: Path, name: str, _params: dict, metrics: dict[str, float]) -> str:
    """An experiment of HEAD with `metrics` in metrics.json (the big repo's metrics file), stored as `dvc exp run`
    stores it; its ref."""
    head = git(repo, "rev-parse", "HEAD").strip()
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / f"tmp-index-{name}")}

    def g(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=env, input=stdin, check=True, capture_output=True,
                              text=True).stdout.strip()

    g("read-tree", head)
    blob = g("hash-object", "-w", "--stdin", stdin=json.dumps(metrics))
    g("update-index", "--add", "--cacheinfo", f"100644,{blob},metrics.json")
    digest = hashlib.sha256(f"{head}{name}".encode()).hexdigest()
    commit = g("commit-tree", g("write-tree"), "-p", head, "-m", f"dvc: commit experiment {digest}")
    ref = f"refs/exps/{head[:2]}/{head[2:]}/{name}"
    g("update-ref", ref, commit, "0" * 40)
    Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    return ref


def best_of(repo: Path) -> list:
    """The experiments by f1, best first."""
    rows = experiments_of(repo)
    return sorted(rows, key=lambda row: row.metrics["metrics.json"]["f1"], reverse=True)


def assert_amended_view_paint(app: ExptuiApp, seen: list[tuple[int, list[str]]], final_top: list[str]) -> None:
    """The first paint was the saved top amended, and already the top of the complete view."""
    assert app.amended == [True] and app.partial_loads == 1 and len(seen) == 2   # type: ignore[attr-defined]
    (_first_n, first_top), _complete = seen
    assert first_top == final_top[:len(first_top)] and len(first_top) >= FIRST - 2


@pytest.mark.parametrize("leaderboard", [False, True])
@async_test
async def test_a_sorted_view_paints_its_amended_top_after_a_sweep(big_repo: Path, leaderboard: bool) -> None:
    view = ViewState(sort=[(F1, True)], leaderboard=leaderboard)
    top = await first_start(big_repo, view)
    best = best_of(big_repo)
    assert best[0].key in top
    git(big_repo, "update-ref", "-d", best[0].ref or "")   # the best one deleted ...
    new = record_experiment(big_repo, "new-best", {"train.lr": 0.5}, {"f1": 0.999})   # ... a better one added
    low = record_experiment(big_repo, "new-worst", {"train.lr": 0.5}, {"f1": -1.0})   # and one far below
    app, seen, final_top, _rows = await second_start(big_repo, ViewState(sort=[(F1, True)], leaderboard=leaderboard))
    assert_amended_view_paint(app, seen, final_top)
    first_top = seen[0][1]
    assert new in first_top and low not in first_top
    for _n, keys in seen:
        assert best[0].key not in keys


@async_test
async def test_a_filtered_view_leaves_out_a_new_experiment_it_does_not_match(big_repo: Path) -> None:
    view = ViewState(filter="f1 > 0.5", sort=[(F1, False)])
    await first_start(big_repo, view)
    out = record_experiment(big_repo, "new-out", {"train.lr": 0.5}, {"f1": 0.001})   # first ascending, if matched
    inside = record_experiment(big_repo, "new-in", {"train.lr": 0.5}, {"f1": 0.5001})   # first of those matched
    app, seen, final_top, _rows = await second_start(big_repo, ViewState(filter="f1 > 0.5", sort=[(F1, False)]))
    assert_amended_view_paint(app, seen, final_top)
    assert inside in seen[0][1] and out not in seen[0][1]


@async_test
async def test_the_amended_top_of_another_view_is_not_painted(big_repo: Path) -> None:
    """Saved sorted descending, started ascending: the amendment is not this view's top, the listing streams."""
    await first_start(big_repo, ViewState(sort=[(F1, True)]))
    record_experiment(big_repo, "new-one", {"train.lr": 0.5}, {"f1": 0.7})
    app, seen, final_top, _rows = await second_start(big_repo, ViewState(sort=[(F1, False)]))
    assert app.partial_loads == 1 and len(seen) == 2 and seen[1][0] == N + 3
    listing = [row.key for row in Project.open(big_repo).experiments()[:FIRST]]
    assert seen[0][0] == FIRST and sorted(seen[0][1]) == sorted(listing)   # the listing's streamed top
