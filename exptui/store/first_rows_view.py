"""A sorted or filtered dashboard's saved first screen, amended after an experiment ref change (issue 13).

`exptui.store.first_rows.amend` amends a saved screen that is a prefix of the listing. A dashboard sorted by a
metric, filtered, or shown as a leaderboard saves the top of its VIEW instead (its rows in listing order: the view
re-derives the same top from them), which is no prefix of the listing; this module amends that top, under the same
certainty rules: a deleted or moved experiment is never painted, a new one that belongs in the shown top is never
missing, anything unsure gives None (the listing then streams its top, as before).

Why it can be exact: the view is a per-row filter and a stable multi-key sort (within baseline groups whose order
does not depend on their experiments, or as one leaderboard), so the order of two rows depends only on their own
values and their order in the listing. The saved rows S are the first rows of the old view, so every other old
row comes after all of them in the new view too. With S' (S without the removed refs) and N (the new experiments
that may rank among them) placed in listing order, the view of S' + N, cut after its last row of S', is the top of
the new view. The listing order of a new row is known among the rows of its own baseline (the listing keys, as
`amend` places them); a leaderboard row of a baseline with no saved row is put first and last in turn, and both
views must agree (else it ties with a saved row, and only the listing knows which comes first).

Declined (None): another view than the one the top was saved with (`fits`), a filter on `created` (relative dates
move with the clock), a new row with a column the saved listing did not have (a filter's or sort's name could then
resolve differently), a filtered or sorted column no kept or new row has (it may have gone from the listing), in
grouped mode a filtered-in new experiment of a baseline not on screen (its group would appear), a group without
its baseline row. The view is derived with `exptui.query.table.TableModel`, the dashboard's own model, over the
saved listing's columns (`SavedView.columns`), so names resolve as they did on the dashboard.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dvc_compat.exp_refs import parse_exp_ref
from exptui.records import ExperimentRow

if TYPE_CHECKING:  # pragma: no cover
    from exptui.query.columns import Column
    from exptui.query.table import TableModel
    from exptui.store.first_rows import FirstRows, Since
    from exptui.store.index import ExperimentIndex, RefSnapshot

#: fields a filter may not use for an amendment: relative dates ('2h', 'today') match other rows as time passes
MOVING_FIELDS = frozenset({"created"})


@dataclass(frozen=True)
class SavedView:
    """The view the saved top was derived with, and the columns the dashboard resolved its names against."""

    filter: str                           # the filter in effect ("" for none)
    sort: tuple[tuple[str, bool], ...]    # (column id, descending), first key first, as `ViewState.sort`
    leaderboard: bool
    columns: tuple[Column, ...] = ()      # the listing's params/metrics columns
    listed: frozenset[str] = frozenset()  # the baselines the listing showed (HEAD's, unless more commits are
    #                                       asked for): another one's new experiments are not in the listing


def view_key(filter_text: str, sort: Iterable[tuple[str, bool]], leaderboard: bool) -> tuple:
    """The parts of a view that decide which rows are shown, and in what order."""
    keys = tuple((str(column), bool(descending)) for column, descending in sort)
    return filter_text.strip(), keys, bool(leaderboard)


def is_plain(filter_text: str, sort: Iterable[tuple[str, bool]], leaderboard: bool) -> bool:
    """No filter, no sort, no leaderboard: the view's top is the listing's (`amend`'s case)."""
    text, keys, board = view_key(filter_text, sort, leaderboard)
    return not text and not keys and not board


def with_view(since: Since, filter_text: str, sort: Iterable[tuple[str, bool]], leaderboard: bool,
              columns: tuple[Column, ...], listed: Iterable[str]) -> Since:
    text, keys, board = view_key(filter_text, sort, leaderboard)
    return replace(since, view=SavedView(text, keys, board, tuple(columns), frozenset(listed)))


def fits(rows: FirstRows, filter_text: str, sort: Iterable[tuple[str, bool]], leaderboard: bool) -> bool:
    """Whether a saved (or amended) top was derived with this view: only then is it this view's top."""
    view = rows.since.view if rows.since is not None else None
    if view is None:
        return is_plain(filter_text, sort, leaderboard)
    return (view.filter, view.sort, view.leaderboard) == view_key(filter_text, sort, leaderboard)


def amend_view(saved: FirstRows, refs: RefSnapshot, state: str, index: ExperimentIndex) -> FirstRows | None:
    """The top of the new view from `saved` (the top of the same view under other refs), or None if that is not
    certain (see the module docstring)."""
    from exptui.store import first_rows as fr

    view = saved.since.view if saved.since is not None else None
    base = fr.kept_rows(saved, refs, state, index) if view is not None else None
    if view is None or base is None:
        return None
    added, removed, rows, key_of = base.added, base.removed, base.rows, base.key_of
    exps = [row for row in rows if row.kind == "experiment"]
    headers = {row.rev for row in rows if row.kind == "baseline"}
    grouped = not view.leaderboard
    if grouped and any(row.baseline not in headers for row in exps):
        return None   # a group without its baseline row: its place among the groups depends on its experiments
    on_screen = headers | {row.baseline for row in exps}
    new: list[tuple[str, str, str, str]] = []
    for ref, sha in sorted(added):
        parsed = parse_exp_ref(ref)
        if parsed is None:
            return None
        # grouped and unfiltered: every group's header is shown, so a group not on screen starts below the top
        if parsed[0] in on_screen or (parsed[0] in view.listed and (not grouped or view.filter)):
            new.append((ref, sha, *parsed))
    if new and not index.index_new({sha: baseline for _ref, sha, baseline, _name in new}):
        return None
    names: dict[str, str] | None = None
    known: list[ExperimentRow] = []
    unknown: list[ExperimentRow] = []   # of a baseline with no saved row: its listing place among them is unknown
    for ref, sha, baseline, name in new:
        (key,) = index.listing_keys([(ref, sha, name)])
        if key is None:
            return None
        bname = next((row.baseline_name for row in rows if row.kind != "workspace" and row.baseline == baseline
                      and row.baseline_name), None)
        if bname is None:
            if names is None:
                from exptui.store.index import _baseline_names

                names = _baseline_names(refs)
            bname = names.get(baseline, baseline[:7])
        row = index.listed_row(name, sha, baseline, bname, ref, refs.notes)
        if row is None:
            return None
        key_of[id(row)] = key
        if baseline in on_screen:
            _place(rows, row, key_of)
            known.append(row)
        else:
            unknown.append(row)
    from exptui.query.columns import collect_columns

    saved_ids = {column.id for column in view.columns}
    if any(column.id not in saved_ids for column in collect_columns(known + unknown)):
        return None   # a column the saved listing did not have: a name may resolve otherwise now
    model = _model(rows + unknown, view)
    if model is None or not _columns_stay(model, collect_columns(rows + unknown)):
        return None
    if grouped and unknown:   # filtered (else they were not read): one that matches makes its group appear
        predicate = model.predicate
        if predicate is None or any(predicate(row) for row in unknown):
            return None
        unknown = []
        model = _model(rows, view)
        if model is None:
            return None
    kept = {id(row) for row in rows if id(row) not in {id(r) for r in known}}
    top = _top(model, kept)
    if unknown:   # first instead of last: the same top, or a tie only the listing can break
        first = _model(unknown + rows, view)
        if first is None or [id(r) for r in _top(first, kept)] != [id(r) for r in top]:
            return None
    if not top:
        return None
    shown = {id(row) for row in top}
    amended = [row for row in rows + unknown if id(row) in shown]
    return replace(saved, rows=amended, total=saved.total + len(added) - len(removed))


def _place(rows: list[ExperimentRow], row: ExperimentRow, key_of: dict[int, tuple]) -> None:
    """Insert `row` where the listing puts it among `rows` (listing order): after its baseline's row, among its
    baseline's experiments newest first (descending listing keys), as `amend` does; a baseline's rows are one run
    of the listing, so of `rows` too."""
    mine = [i for i, r in enumerate(rows) if r.kind != "workspace"
            and (r.rev if r.kind == "baseline" else r.baseline) == row.baseline]
    key = key_of[id(row)]
    at = next((i for i in mine if rows[i].kind == "experiment" and key_of[id(rows[i])] < key), mine[-1] + 1)
    rows.insert(at, row)


def _model(rows: list[ExperimentRow], view: SavedView) -> TableModel | None:
    """The dashboard's table model over `rows` with `view` set as `MainScreen._sync_model` sets it (None: the
    filter does not compile, or uses a moving field)."""
    from exptui.query.filter import FilterError
    from exptui.query.sort import SortKey
    from exptui.query.table import TableModel

    model = TableModel(rows, columns=list(view.columns))
    try:
        model.set_filter(view.filter)
    except FilterError:
        return None
    if model.predicate is not None and any(c.family == "field" and c.key in MOVING_FIELDS
                                           for c in model.predicate.columns):
        return None
    keys = []
    for column_id, descending in view.sort:
        column = model.index.try_resolve(column_id)
        if column is not None:
            keys.append(SortKey(column, descending))
    model.set_sort(keys)
    model.set_grouped(not view.leaderboard)
    model.hide_workspace = view.leaderboard
    return model


def _columns_stay(model: TableModel, present: list[Column]) -> bool:
    """Whether every params/metrics column the filter and sort use is in one of the rows kept or read: then it
    is still in the listing (else it may have gone with a removed experiment, and the dashboard's view with it)."""
    ids = {column.id for column in present}
    used = [key.column for key in model.sort_keys]
    if model.predicate is not None:
        used += list(model.predicate.columns)
    return all(column.family == "field" or column.id in ids for column in used)


def _top(model: TableModel, kept: set[int]) -> list[ExperimentRow]:
    """The model's view cut after its last row of `kept` (the saved rows still listed)."""
    shown = list(model.view().experiment_rows)
    last = max((i for i, row in enumerate(shown) if id(row) in kept), default=-1)
    return shown[:last + 1]
