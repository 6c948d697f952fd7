"""A warm start paints the first screen the dashboard saved last time before the listing is read
(`exptui.store.first_rows`); after experiment refs were added, deleted, moved or renamed it paints it amended
from the refs (never a deleted or stale experiment, never without a new one), or the listing's own top.

Real repos with 1,500 experiments in DVC's layout (`test_tui_streaming.big_template`), the real Project and
index, the real app; each test starts the app twice over the same repo, as a user would.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_tui_app import async_test, record_experiment, wait_for
from tests.test_tui_streaming import N, SIZE, big_repo, big_template  # noqa: F401 - fixtures

from exptui.project import Project
from exptui.records import ExperimentRow
from exptui.store import first_rows, prestart
from exptui.tui.app import ExptuiApp
from exptui.tui.screens.main import MainScreen
from exptui.tui.view_state import ViewState

FIRST = 40
F1 = "metrics:metrics.json:f1"


def saved_file(repo: Path) -> Path:
    return first_rows.path_of(repo / ".git")


def saving(app: ExptuiApp) -> bool:
    return any(worker.group == "first-screen" and worker.is_running for worker in app.workers)


async def first_start(repo: Path, view: ViewState) -> list[str]:
    """Run the app until the whole listing is in and the first screen is saved; the keys of the table's top."""
    app = ExptuiApp(Project.open(repo), repo, poll_interval=60, view=view)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0 and not saving(app) and saved_file(repo).exists(),
                       timeout=120)
        return [row.key for row in app.main.table.rows[:FIRST]]


async def second_start(repo: Path, view: ViewState, early: bool = True,
                       before: Callable[[], None] | None = None, prestarted: prestart.StartedRefs | None = None,
                       ) -> tuple[ExptuiApp, list[tuple[int, list[str]]], list[str], list[ExperimentRow]]:
    """Run the app again; per `set_rows`: (rows handed over, keys of the table's top right after), the keys
    of the table's top once every row is in, and every row. `early`: the first screen worked out before the app
    starts, as `exptui ui` does (`Project.start_first_screen`); `before`: called once that is done, before the
    app starts; `prestarted`: the for-each-ref `exptui.cli.main` started first thing (`exptui.store.prestart`)."""
    seen: list[tuple[int, list[str]]] = []
    read_refs: list[bool] = []   # per set_rows: had the listing read the refs yet?
    amended: list[bool] = []     # per amendment tried: did it give rows?
    real_set_rows = MainScreen.set_rows
    real_amend = Project.amend_first_rows

    def amending(project, saved, refs, state):
        result = real_amend(project, saved, refs, state)
        amended.append(result is not None)
        return result

    def recording(main, rows, loading_total=None, prepared=None):  # the real method runs; the test looks after
        real_set_rows(main, rows, loading_total, prepared)
        seen.append((len(rows), [row.key for row in main.table.rows[:FIRST]]))
        index = app.project._index
        read_refs.append(index is not None and index.refs_read > 0)

    # on the class, before the app starts: the saved first rows may reach the table before `run_test` returns
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MainScreen, "set_rows", recording)
        patch.setattr(Project, "amend_first_rows", amending)
        project = Project.open(repo)
        started = project.start_first_screen(prestarted) if early else None
        if before is not None:
            assert started is not None
            started._thread.join()
            before()
        app = ExptuiApp(project, repo, poll_interval=60, view=view, early=started)
        async with app.run_test(size=SIZE) as pilot:
            main = app.main
            await wait_for(pilot, lambda: app.reloads > 0 and not saving(app), timeout=120)
            await pilot.pause()
            app.read_refs_at_set_rows = read_refs  # type: ignore[attr-defined]
            app.amended = amended  # type: ignore[attr-defined]
            return app, seen, [row.key for row in main.table.rows[:FIRST]], list(main.all_rows)


@pytest.fixture(autouse=True)
def few_first_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExptuiApp, "FIRST_ROWS", FIRST)


@async_test
async def test_a_warm_start_paints_the_saved_first_screen_then_the_listing(big_repo: Path) -> None:
    top = await first_start(big_repo, ViewState())
    app, seen, final_top, rows = await second_start(big_repo, ViewState())
    assert app.partial_loads == 1 and len(seen) == 2
    (first_n, first_top), (all_n, _top) = seen
    assert first_n == FIRST and all_n == N + 2
    assert first_top == top == final_top          # the first paint was already the right rows, in order
    assert app.read_refs_at_set_rows == [False, True]   # ... painted before the listing read a ref
    assert app.first_paint is not None


@async_test
async def test_a_saved_sort_is_the_top_of_the_sorted_view_from_the_first_paint(big_repo: Path) -> None:
    view = ViewState(sort=[(F1, True)])
    top = await first_start(big_repo, view)
    app, seen, final_top, rows = await second_start(big_repo, ViewState(sort=[(F1, True)]))
    (first_n, first_top), _complete = seen
    assert app.partial_loads == 1 and first_n == FIRST
    assert first_top == top == final_top
    f1 = {row.key: row.metrics["metrics.json"]["f1"] for row in rows if row.kind == "experiment"}
    best = sorted(f1, key=f1.__getitem__, reverse=True)
    assert [key for key in final_top if key in f1][:10] == best[:10]   # really the best f1 of all 1,500


@async_test
async def test_a_ref_added_behind_the_indexs_back_is_on_the_first_paint(big_repo: Path) -> None:
    await first_start(big_repo, ViewState())
    record_experiment(big_repo, "late-one", {"train.lr": 0.5}, {"f1": 0.99})
    app, seen, final_top, rows = await second_start(big_repo, ViewState(), early=False)
    names = {row.key: row.name for row in rows}
    assert app.partial_loads == 1 and len(seen) == 2
    (first_n, first_top), (all_n, _top) = seen
    assert all_n == N + 3
    assert first_top == final_top                  # the listing's top (the saved screen was not used)
    assert "late-one" in [names[key] for key in first_top]
    assert app.amended == [True]                   # its commit was not indexed: read for the amendment alone
    assert app.read_refs_at_set_rows == [True, True]


@async_test
async def test_unindexed_new_commits_are_amended_beside_a_deleted_and_a_moved_ref(big_repo: Path) -> None:
    """A sweep ran while no dashboard was open: its commits are read for the first paint (only they), and the
    refs deleted or moved at the same time are never painted."""
    top = await first_start(big_repo, ViewState())
    exps = experiments_of(big_repo)
    deleted, moved, oldest = exps[0], exps[1], exps[-1]
    assert deleted.key in top and moved.key in top
    new = [record_experiment(big_repo, f"sweep-{i}", {"train.lr": 0.1 * i}, {"f1": 0.5 + i / 100})
           for i in range(3)]
    git(big_repo, "update-ref", "-d", deleted.ref)
    git(big_repo, "update-ref", moved.ref, oldest.rev)
    index = Project.open(big_repo).index
    assert index.cache.missing([git(big_repo, "rev-parse", ref).strip() for ref in new])   # not indexed
    app, seen, final_top, rows = await second_start(big_repo, ViewState())
    assert_amended_first_paint(app, seen, final_top, N + 4)
    for ref in new:
        assert ref in seen[0][1]                   # all three, at the listing's own places (a prefix of its top)
    for _n, keys in seen:
        assert deleted.key not in keys and moved.key not in keys
    by_key = {row.key: row for row in rows}
    assert by_key[new[2]].params["params.yaml"]["train.lr"] == 0.2   # its data, read for the first paint


def experiments_of(repo: Path) -> list[ExperimentRow]:
    return [row for row in Project.open(repo).experiments() if row.kind == "experiment"]


def assert_amended_first_paint(app: ExptuiApp, seen: list[tuple[int, list[str]]], final_top: list[str],
                               total: int) -> None:
    """The first paint was the saved screen amended from the refs, and already the listing's top (as many rows
    as were saved, less those deleted since: a prefix of the complete table's top)."""
    assert app.amended == [True] and app.partial_loads == 1 and len(seen) == 2
    (first_n, first_top), (all_n, _top) = seen
    assert first_top == final_top[:len(first_top)] and len(first_top) >= FIRST - 2 and all_n == total
    assert app.read_refs_at_set_rows == [True, True]


@async_test
async def test_an_indexed_experiment_added_since_is_amended_into_the_first_paint(big_repo: Path) -> None:
    await first_start(big_repo, ViewState())
    newest = experiments_of(big_repo)[0]
    ref = newest.ref.rsplit("/", 1)[0] + "/zzz-added"   # same commit and time, a later name: first of its group
    git(big_repo, "update-ref", ref, newest.rev)
    app, seen, final_top, rows = await second_start(big_repo, ViewState())
    assert_amended_first_paint(app, seen, final_top, N + 3)
    assert seen[0][1][:3] == [final_top[0], final_top[1], ref]   # workspace, baseline, the new one
    assert newest.key in seen[0][1]


@async_test
async def test_deleted_and_moved_experiments_are_dropped_from_the_amended_first_paint(big_repo: Path) -> None:
    top = await first_start(big_repo, ViewState())
    exps = experiments_of(big_repo)
    deleted, moved, oldest = exps[0], exps[1], exps[-1]
    assert deleted.key in top and moved.key in top
    git(big_repo, "update-ref", "-d", deleted.ref)
    git(big_repo, "update-ref", moved.ref, oldest.rev)   # now the oldest experiment's commit: far below the top
    app, seen, final_top, rows = await second_start(big_repo, ViewState())
    assert_amended_first_paint(app, seen, final_top, N + 1)
    for _n, keys in seen:
        assert deleted.key not in keys and moved.key not in keys
    by_key = {row.key: row for row in rows}
    assert by_key[moved.key].rev == oldest.rev


@async_test
async def test_a_renamed_experiment_is_painted_under_its_new_name_only(big_repo: Path) -> None:
    await first_start(big_repo, ViewState())
    renamed = experiments_of(big_repo)[2]
    new_ref = renamed.ref.rsplit("/", 1)[0] + "/renamed"
    git(big_repo, "update-ref", new_ref, renamed.rev)
    git(big_repo, "update-ref", "-d", renamed.ref)
    app, seen, final_top, rows = await second_start(big_repo, ViewState())
    assert_amended_first_paint(app, seen, final_top, N + 2)
    assert renamed.key not in seen[0][1] and new_ref in seen[0][1]


@async_test
async def test_a_sorted_first_screen_is_amended_as_the_top_of_its_view(big_repo: Path) -> None:
    """The top of a sorted view is no prefix of the listing: it is saved with its view and amended by
    `exptui.store.first_rows_view` (more in tests/test_tui_first_screen_view.py)."""
    await first_start(big_repo, ViewState(sort=[(F1, True)]))
    deleted = experiments_of(big_repo)[0]
    git(big_repo, "update-ref", "-d", deleted.ref)
    app, seen, final_top, rows = await second_start(big_repo, ViewState(sort=[(F1, True)]))
    assert app.amended == [True] and app.partial_loads == 1
    assert seen[0][1] == final_top[:len(seen[0][1])]
    assert all(deleted.key not in keys for _n, keys in seen)


@async_test
async def test_a_ref_deleted_behind_the_indexs_back_is_never_painted(big_repo: Path) -> None:
    top = await first_start(big_repo, ViewState())
    newest = next(row for row in Project.open(big_repo).experiments() if row.kind == "experiment")
    assert newest.key in top
    assert newest.ref is not None
    git(big_repo, "update-ref", "-d", newest.ref)
    app, seen, final_top, rows = await second_start(big_repo, ViewState())
    assert all(newest.key not in keys for _n, keys in seen)
    assert seen[-1][0] == N + 1 and newest.key not in final_top
    assert all(row.name != newest.name for row in rows if row.kind == "experiment")


@async_test
async def test_a_damaged_saved_screen_is_ignored_and_replaced(big_repo: Path) -> None:
    top = await first_start(big_repo, ViewState())
    path = saved_file(big_repo)
    path.write_bytes(path.read_bytes()[:200])      # truncated
    app, seen, final_top, rows = await second_start(big_repo, ViewState())
    assert app.partial_loads == 1 and seen[0][1] == top == final_top   # the listing's own top rows
    assert first_rows.load(big_repo / ".git", ("x",)) is None
    project = Project.open(big_repo)
    token = project.changed_token()
    saved = project.saved_first_rows(token)
    assert saved is not None and [row.key for row in saved.rows] == top and saved.total == N + 2


@async_test
async def test_a_sort_changed_in_the_dashboard_is_the_next_starts_first_paint(big_repo: Path) -> None:
    """No `q`: the view's save (after the sort key) saved the sorted top too, so a closed terminal keeps it."""
    app = ExptuiApp(Project.open(big_repo), big_repo, poll_interval=60, view=ViewState())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0 and not saving(app) and saved_file(big_repo).exists(),
                       timeout=120)
        main = app.main
        main.table.cursor_column = next(i for i, c in enumerate(main.table.columns) if c.id == F1)
        await pilot.press("s")
        await wait_for(pilot, lambda: main.view.sort == [(F1, False)], timeout=30)
        main.save_view_now()
        sorted_top = [row.key for row in main.table.rows[:FIRST]]
        await wait_for(pilot, lambda: not saving(app), timeout=60)
    app, seen, final_top, _rows = await second_start(big_repo, ViewState(sort=[(F1, False)]))
    assert app.partial_loads == 1 and seen[0][1] == sorted_top == final_top


@async_test
async def test_refs_changed_after_the_early_start_are_not_taken_from_it(big_repo: Path) -> None:
    """The early start took the saved screen as it was (same token), then one ref was deleted and one added
    before the app's own change token: the tokens differ, so the early screen is not painted (the saved one is
    amended from the listing's own refs), and the deleted experiment is never painted."""
    top = await first_start(big_repo, ViewState())
    exps = experiments_of(big_repo)
    deleted = exps[0]
    assert deleted.key in top
    added = exps[1].ref.rsplit("/", 1)[0] + "/zzz-late"

    def change() -> None:
        git(big_repo, "update-ref", "-d", deleted.ref)
        git(big_repo, "update-ref", added, exps[1].rev)

    app, seen, final_top, rows = await second_start(big_repo, ViewState(), before=change)
    assert_amended_first_paint(app, seen, final_top, N + 2)
    for _n, keys in seen:
        assert deleted.key not in keys
    assert added in seen[0][1]


@async_test
async def test_the_prestarted_refs_amend_the_first_paint(big_repo: Path) -> None:
    """`exptui ui`'s for-each-ref started first thing (tokens read before it): after an experiment was added, its
    output is the refs the early start amends the saved screen from, and the listing takes them as its own."""
    await first_start(big_repo, ViewState())
    newest = experiments_of(big_repo)[0]
    ref = newest.ref.rsplit("/", 1)[0] + "/zzz-added"
    git(big_repo, "update-ref", ref, newest.rev)
    started = prestart.start(str(big_repo))
    assert started is not None
    app, seen, final_top, rows = await second_start(big_repo, ViewState(), prestarted=started)
    assert_amended_first_paint(app, seen, final_top, N + 3)
    assert ref in seen[0][1]
    assert started.proc.returncode == 0 and started.output() is None   # taken by the early start
    assert app.project.index.refs_read == 1   # git's output was the listing's refs: no second for-each-ref


@async_test
async def test_refs_changed_after_the_prestarted_tokens_are_never_painted_from_them(big_repo: Path) -> None:
    """The tokens are read before git's for-each-ref starts; a ref deleted and one added after git printed the
    refs (it has exited) make the app's token differ: the pre-started refs are not used, the deleted experiment
    is never painted and the added one is on the first paint (amended from the listing's own refs)."""
    top = await first_start(big_repo, ViewState())
    exps = experiments_of(big_repo)
    deleted = exps[0]
    assert deleted.key in top
    added = exps[1].ref.rsplit("/", 1)[0] + "/zzz-late"
    git(big_repo, "update-ref", exps[2].ref.rsplit("/", 1)[0] + "/zzz-before", exps[2].rev)   # a change: amend
    started = prestart.start(str(big_repo))
    assert started is not None
    started.proc.wait()   # git has read (and printed) the refs as they were
    git(big_repo, "update-ref", "-d", deleted.ref)
    git(big_repo, "update-ref", added, exps[1].rev)
    app, seen, final_top, rows = await second_start(big_repo, ViewState(), prestarted=started)
    for _n, keys in seen:
        assert deleted.key not in keys
    assert added in seen[0][1] and seen[0][1] == final_top[:len(seen[0][1])]
    assert app.project.index.refs_read == 2   # the early start's (git's stale output), then the listing's own
