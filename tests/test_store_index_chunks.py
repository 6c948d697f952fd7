"""A cold listing of many commits reads, stores and frees them a chunk at a time (issue 13: peak memory of a cold
`show --json` at 100k); large segments are never merged on append. The output is what one whole read gives."""
from __future__ import annotations

from pathlib import Path

import pytest

from exptui.project import Project
from exptui.store.index import IndexCache

try:  # tests/ may or may not be a package
    from tests.test_store_index_segments import _add_experiments, _segments
    from tests.test_store_support import project  # noqa: F401 (fixture)
except ImportError:  # pragma: no cover
    from test_store_index_segments import _add_experiments, _segments
    from test_store_support import project  # noqa: F401 (fixture)


def _json(root: Path) -> list[str]:
    with Project.open(root) as p:
        return list(p.experiments_json())


def test_a_cold_listing_in_chunks_equals_one_whole_read(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    base = project.git.head()
    _add_experiments(project.root, base, [f"e{i}" for i in range(23)])
    whole = _json(project.root)  # one read of every commit (fewer than CHUNK)
    assert len(_segments(project)) == 1
    for seg in _segments(project):
        seg.unlink()
    monkeypatch.setattr(IndexCache, "CHUNK", 5)
    monkeypatch.setattr(IndexCache, "LARGE", 5)
    with Project.open(project.root) as p:
        chunked = list(p.experiments_json())
        assert not p.index.cache._decoded or len(p.index.cache._decoded) <= 1  # chunks were freed once written
    assert chunked == whole
    assert len(_segments(project)) == 5  # 23 commits in chunks of 5 (the baseline, read first, rides in the first)
    # warm, and one more experiment: appended as a small segment, the large ones are left alone
    assert _json(project.root) == whole
    _add_experiments(project.root, base, ["new"], start=23)
    again = _json(project.root)
    assert len(again) == len(whole) + 1 and len(_segments(project)) == 6
    rows = {r.name: r.metrics for r in Project.open(project.root).experiments() if r.kind == "experiment"}
    assert rows["e7"] == {"metrics.json": {"acc": 0.07}} and rows["new"] == {"metrics.json": {"acc": 0.23}}


def test_small_segments_merge_without_touching_large_ones(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(IndexCache, "CHUNK", 4)
    monkeypatch.setattr(IndexCache, "LARGE", 4)
    base = project.git.head()
    _add_experiments(project.root, base, [f"e{i}" for i in range(8)])
    Project.open(project.root).experiments()
    large = set(_segments(project))
    for k in range(IndexCache.MAX_SEGMENTS + 1):
        _add_experiments(project.root, base, [f"n{k}"], start=8 + k)
        Project.open(project.root).experiments()
    after = set(_segments(project))
    assert large <= after and len(after - large) <= 2  # the small ones were merged, the large ones kept
    names = {r.name for r in Project.open(project.root).experiments() if r.kind == "experiment"}
    assert names == {f"e{i}" for i in range(8)} | {f"n{k}" for k in range(IndexCache.MAX_SEGMENTS + 1)}


def test_a_warm_listing_shares_key_strings_and_drops_the_bulk_column(project: Project,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoded entries hold one str object per distinct key (not one per entry: ~130 MiB at 100k), give the same
    rows as a decode without sharing, the ``data`` column read whole for the listing is let go afterwards, and the
    shared rows keep only the parts of each entry they show."""
    from exptui.store.index_segments import Entries

    monkeypatch.setattr(Entries, "BULK_AFTER", 2)
    base = project.git.head()
    _add_experiments(project.root, base, [f"e{i}" for i in range(12)])
    plain = [(r.name, r.params, r.metrics, r.errors, r.status) for r in Project.open(project.root).experiments()]
    with Project.open(project.root) as p:
        rows = [r for r in p.experiments(shared=True) if r.kind == "experiment"]
        assert [(r.name, r.params, r.metrics, r.errors, r.status) for r in p.experiments(shared=True)] == plain
        files = {id(k) for r in rows for k in r.metrics}
        keys = {id(k) for r in rows for values in r.metrics.values() for k in values}
        assert len(rows) == 12 and len(files) == 1 and len(keys) == 1
        entries = p.index.cache._entries
        assert entries and all(e.blob is None for e in entries.values())
        # the rows hold the entries' parts, not the entries (their tree, parents, message stay on disk); a reload
        # shares the same dicts
        assert not any(r.rev in p.index.cache._decoded for r in rows)
        again = {r.rev: r for r in p.experiments(shared=True)}
        assert all(again[r.rev].params is r.params and again[r.rev].metrics is r.metrics for r in rows)
        # a later read of one entry (a compare, a baseline's paths) still works
        p.index.cache._decoded.clear()
        assert p.index.cache.get(rows[3].rev)["metrics"] == rows[3].metrics


def test_a_whole_data_column_is_let_go_once_every_entry_was_read(project: Project,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing that goes through the segments in order holds one segment's data column at a time."""
    from exptui.store.index_segments import Entries

    monkeypatch.setattr(Entries, "BULK_AFTER", 2)
    _add_experiments(project.root, project.git.head(), [f"e{i}" for i in range(9)])
    Project.open(project.root).experiments()
    with Project.open(project.root) as p:
        cache = p.index.cache
        cache.load()
        entries = cache._segment_entries(0)
        count = entries.seg.count
        assert count == 10  # nine experiments and their baseline
        first = [entries.get(i) for i in range(count - 1)]
        assert entries.blob is not None  # read whole after two single reads, one entry still unread
        assert entries.get(1) == first[1] and entries.blob is not None  # read again: not a new entry
        last = entries.get(count - 1)
        assert entries.blob is None
        # the next pass reads single entries again, then the column whole, and lets it go at its end
        assert [entries.get(i) for i in range(count)] == [*first, last] and entries.blob is None
