"""`exptui.store.first_rows_view`: the saved top of a sorted, filtered or leaderboard view, amended after
experiment refs were added, deleted or moved, is the top of the same view over the new listing (compared with the
view the dashboard's table model derives from the whole new listing), or None where that is not certain.

Real git repos (the demo repo of `tests.test_tui_app` with two baselines' experiments), the real Project and index.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_tui_app import demo_template, record_experiment, repo  # noqa: F401 - fixtures

from exptui.project import Project, RefSnapshot
from exptui.query.columns import collect_columns
from exptui.query.sort import SortKey
from exptui.query.table import TableModel
from exptui.records import ExperimentRow
from exptui.store.first_rows import FirstRows
from exptui.tui.view_state import ViewState

F1 = "metrics:metrics.yaml:f1"

VIEWS = {
    "grouped-sorted": ViewState(sort=[(F1, True)]),
    "leaderboard": ViewState(sort=[(F1, True)], leaderboard=True),
    "filtered-sorted": ViewState(filter="f1 > 0.4", sort=[(F1, True)]),
    "filtered-leaderboard-asc": ViewState(filter="f1 > 0.4", sort=[(F1, False)], leaderboard=True),
}


def view_of(rows: list[ExperimentRow], view: ViewState, engine: str = "rows") -> list[str]:
    """The keys of the rows the dashboard shows for `view` over `rows`, in order."""
    return [row.key for row in view_rows(rows, view, engine)]


def view_rows(rows: list[ExperimentRow], view: ViewState, engine: str = "rows") -> list[ExperimentRow]:
    """The rows the dashboard shows for `view` over `rows`, in order: the table model set as
    `MainScreen._sync_model` sets it, over the rows' own columns (as `set_rows` does). `engine` "frame": as the
    dashboard derives it over a large listing (pandas), "rows": over a first screen."""
    model = TableModel(rows, engine=engine)  # type: ignore[arg-type]
    model.set_filter(view.filter)
    model.set_sort([SortKey(column, descending) for column_id, descending in view.sort
                    if (column := model.index.try_resolve(column_id)) is not None])
    model.set_grouped(not view.leaderboard)
    model.hide_workspace = view.leaderboard
    return list(model.view().experiment_rows)


def listing(repo: Path, num: int = 1) -> tuple[list[ExperimentRow], RefSnapshot, str]:
    """The listing as the dashboard reads it (`num` 1: HEAD's experiments only; 2: its parent's too)."""
    project = Project.open(repo)
    state = project.state_token()
    read: list[RefSnapshot] = []
    rows = project.experiments(shared=True, on_refs=read.append, num=num)
    return rows, read[0], state


def on_baseline(repo: Path, sha: str, name: str, f1: float) -> str:
    """An experiment of baseline `sha` (HEAD is put back as it was: nothing but experiment refs changed)."""
    head = repo / ".git" / "HEAD"
    text = head.read_bytes()
    head.write_text(sha + "\n")
    try:
        return record_experiment(repo, name, {"train.max_depth": int(f1 * 100)}, {"f1": f1})
    finally:
        head.write_bytes(text)


def two_groups(repo: Path) -> tuple[str, str]:
    """Experiments of an older baseline (B1, HEAD's parent: listed only with num=2) and of HEAD (B2); their
    shas."""
    b1 = git(repo, "rev-parse", "HEAD").strip()
    for name, f1 in (("b1-a", 0.45), ("b1-b", 0.66), ("b1-c", 0.38)):
        record_experiment(repo, name, {"train.max_depth": int(f1 * 100)}, {"f1": f1})
    git(repo, "commit", "--allow-empty", "-q", "-m", "next baseline")
    b2 = git(repo, "rev-parse", "HEAD").strip()
    for name, f1 in (("b2-a", 0.61), ("b2-b", 0.35), ("b2-c", 0.5), ("b2-d", 0.7)):
        record_experiment(repo, name, {"train.max_depth": int(f1 * 100)}, {"f1": f1})
    return b1, b2


def save_top(repo: Path, view: ViewState, size: int, num: int = 1) -> list[str]:
    """Save the first `size` rows of `view` as the dashboard does (`ExptuiApp._keep_first_screen`: the top's
    rows in listing order, with the view); the keys of that top."""
    rows, refs, state = listing(repo, num)
    project = Project.open(repo)
    top = view_of(rows, view)[:size]
    wanted = set(top)
    in_order = [row for row in rows if row.key in wanted]
    since = project.first_rows_since(state, refs, rows[:300])
    since = project.first_rows_since_view(since, view.filter, view.sort, view.leaderboard, collect_columns(rows),
                                          listed={row.rev for row in rows if row.kind == "baseline"})
    project.save_first_rows("old-token", in_order, len(rows), since)
    return top


def amended_of(repo: Path) -> FirstRows | None:
    project = Project.open(repo)
    saved = project.saved_first_rows()
    assert saved is not None and saved.since is not None and saved.since.view is not None
    return project.amend_first_rows(saved, project.index.read_snapshot(), project.state_token())


def ref_of(rows: list[ExperimentRow], name: str) -> ExperimentRow:
    return next(row for row in rows if row.kind == "experiment" and row.name == name)


CHANGES: dict[str, Callable[[Path, str, str, list[ExperimentRow], ViewState], tuple[str | None, str | None]]] = {
    # each makes a change and says which row must be shown if it ranks into the saved top, and which never
    "new-top-head": lambda repo, b1, b2, rows, view: (on_baseline(repo, b2, "new-best", 0.99), None),
    "new-top-other": lambda repo, b1, b2, rows, view: (on_baseline(repo, b1, "new-best-b1", 0.99), None),
    "new-low": lambda repo, b1, b2, rows, view: (on_baseline(repo, b2, "new-worst", 0.02), None),
    "new-filtered-out": lambda repo, b1, b2, rows, view: _filtered_out(repo, b2, view),
    "deleted": lambda repo, b1, b2, rows, view: (None, _delete(repo, ref_of(rows, "b2-d"))),
    "moved": lambda repo, b1, b2, rows, view: (None, _move(repo, ref_of(rows, "b2-d"), ref_of(rows, "b2-b").rev)),  # noqa: E501
}


def _filtered_out(repo: Path, b2: str, view: ViewState) -> tuple[str | None, str | None]:
    key = on_baseline(repo, b2, "new-out", 0.2)   # f1 > 0.4 does not match it
    return (key, None) if not view.filter else (None, key)


def _delete(repo: Path, row: ExperimentRow) -> str:
    git(repo, "update-ref", "-d", row.ref or "")
    return row.key


def _move(repo: Path, row: ExperimentRow, sha: str) -> None:
    git(repo, "update-ref", row.ref or "", sha)   # the same key, another commit: compared with its rev below


@pytest.mark.parametrize("cut", ["head-group", "last-group"])
@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("view_name", sorted(VIEWS))
def test_the_amended_top_is_the_top_of_the_new_view(repo: Path, view_name: str, change: str, cut: str) -> None:
    view = VIEWS[view_name]
    b1, b2 = two_groups(repo)
    rows, _refs, _state = listing(repo)
    everything = view_of(rows, view)
    size = 4 if cut == "head-group" else len(everything) - 2
    saved_top = save_top(repo, view, size)
    shown, never = CHANGES[change](repo, b1, b2, rows, view)

    amended = amended_of(repo)
    new_rows, _refs, _state = listing(repo)
    truth = view_of(new_rows, view)
    assert amended is not None
    top = view_of(amended.rows, view)
    assert top == truth[:len(top)]                                  # the top of the new view, exactly
    assert top == view_of(new_rows, view, engine="frame")[:len(top)]   # ... as the frame engine derives it too
    assert [row.rev for row in view_rows(amended.rows, view)] == \
        [row.rev for row in view_rows(new_rows, view)][:len(top)]   # a moved ref's row is its new commit's
    assert len(top) >= len(saved_top) - 1                           # one deleted or moved at most
    if never is not None:
        assert never not in top
    if shown is not None:
        where = truth.index(shown) if shown in truth else None
        if where is not None and where < len(saved_top) - 1:   # ranks into the saved top: never missing
            assert shown in top


@pytest.mark.parametrize("f1", [0.95, 0.7, 0.1])
def test_a_leaderboard_row_of_a_baseline_not_on_screen_is_placed_or_declined(repo: Path, f1: float) -> None:
    """Leaderboard over two baselines' experiments (num=2): a new experiment of a baseline with no row in the
    saved top (its listing place among them is unknown) is placed by its value (0.95: first; 0.1: below the top,
    left out); one that ties a saved row's value (0.7, as b2-d) is left to the listing, which alone knows which
    of the two comes first."""
    view = ViewState(filter="f1 >= 0.6 or f1 < 0.2", sort=[(F1, True)], leaderboard=True)
    b1, _b2 = two_groups(repo)
    assert save_top(repo, view, 1, num=2) == [ref_of(listing(repo)[0], "b2-d").key]   # B1 has no row in it
    new = on_baseline(repo, b1, "new-b1", f1)
    project = Project.open(repo)
    saved = project.saved_first_rows()
    assert saved is not None
    amended = project.amend_first_rows(saved, project.index.read_snapshot(), project.state_token())
    if f1 == 0.7:
        assert amended is None
        return
    assert amended is not None
    top = view_of(amended.rows, view)
    assert top == view_of(listing(repo, num=2)[0], view)[:len(top)]
    assert (top[0] == new) if f1 > 0.7 else (new not in top and len(top) == 1)


def test_a_filtered_in_experiment_of_a_listed_group_not_on_screen_is_left_to_the_listing(repo: Path) -> None:
    """Grouped and filtered over two baselines (num=2), the top cut inside HEAD's group: a new experiment of the
    other, listed, baseline that the filter matches could make its group appear; it is left to the listing (one
    it does not match changes nothing)."""
    view = VIEWS["filtered-sorted"]
    b1, _b2 = two_groups(repo)
    save_top(repo, view, 3, num=2)
    on_baseline(repo, b1, "new-out", 0.2)
    project = Project.open(repo)
    saved = project.saved_first_rows()
    assert saved is not None
    amended = project.amend_first_rows(saved, project.index.read_snapshot(), project.state_token())
    assert amended is not None
    top = view_of(amended.rows, view)
    assert top == view_of(listing(repo, num=2)[0], view)[:len(top)] and len(top) == 3
    on_baseline(repo, b1, "new-in", 0.9)
    project = Project.open(repo)
    assert project.amend_first_rows(saved, project.index.read_snapshot(), project.state_token()) is None


def test_another_view_does_not_fit(repo: Path) -> None:
    """The amended top of one view is never painted under another (`Project.first_rows_fit`)."""
    view = VIEWS["grouped-sorted"]
    _b1, b2 = two_groups(repo)
    save_top(repo, view, 4)
    on_baseline(repo, b2, "new-best", 0.99)
    amended = amended_of(repo)
    assert amended is not None
    assert Project.first_rows_fit(amended, view.filter, view.sort, view.leaderboard)
    assert not Project.first_rows_fit(amended, view.filter, [(F1, False)], view.leaderboard)
    assert not Project.first_rows_fit(amended, "f1 > 0.5", view.sort, view.leaderboard)
    assert not Project.first_rows_fit(amended, view.filter, view.sort, True)
    assert not Project.first_rows_fit(amended, "", [], False)


def test_a_filter_on_created_is_left_to_the_listing(repo: Path) -> None:
    """Relative dates ('2h') match other rows as the clock moves: such a top is never amended."""
    view = ViewState(filter="created >= '2000-01-01'", sort=[(F1, True)])
    _b1, b2 = two_groups(repo)
    save_top(repo, view, 4)
    on_baseline(repo, b2, "new-best", 0.99)
    assert amended_of(repo) is None


def test_a_new_column_is_left_to_the_listing(repo: Path) -> None:
    """A new experiment with a column the saved listing did not have: a filter's name could resolve otherwise."""
    view = VIEWS["filtered-sorted"]
    _b1, b2 = two_groups(repo)
    save_top(repo, view, 4)
    head = repo / ".git" / "HEAD"
    text = head.read_bytes()
    head.write_text(b2 + "\n")
    try:
        record_experiment(repo, "new-column", {"train.brand_new": 1}, {"f1": 0.9})
    finally:
        head.write_bytes(text)
    assert amended_of(repo) is None
