"""A cold build of many commits hands the second half of its chunks to a helper process
(`exptui.store.index_worker`): the listing and the index it leaves are what a build in one process gives, and a
helper that cannot run or dies leaves its chunks to the parent, which reads them itself."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from exptui.project import Project
from exptui.store import index_worker
from exptui.store.index import ExperimentIndex, IndexCache

try:  # tests/ may or may not be a package
    from tests.test_store_index_segments import _add_experiments, _segments
    from tests.test_store_support import project  # noqa: F401 (fixture)
except ImportError:  # pragma: no cover
    from test_store_index_segments import _add_experiments, _segments
    from test_store_support import project  # noqa: F401 (fixture)


def _cold(root: Path) -> tuple[list[str], set[str]]:
    """A cold listing's `show --json` records and the commits this process itself asked git for."""
    index = root / ".git" / "exptui" / "index"
    shutil.rmtree(index, ignore_errors=True)
    with Project.open(root) as p:
        p.git.objects_requested = []
        records = list(p.experiments_json())
        asked = {name.split(":")[0] for name in p.git.objects_requested}
    return records, asked


def _warm_rows(root: Path) -> dict[str, tuple]:
    with Project.open(root) as p:
        return {r.name: (r.rev, r.params, r.metrics, r.status, r.errors) for r in p.experiments()}


@pytest.fixture
def many(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """23 experiments and the baseline read in chunks of 5: five chunks, the last two for a helper when one is used."""
    _add_experiments(project.root, project.git.head(), [f"e{i}" for i in range(23)])
    monkeypatch.setattr(IndexCache, "CHUNK", 5)
    monkeypatch.setattr(IndexCache, "LARGE", 5)
    # a helper is started only with two cores to run on: pinned here, so the tests do not depend on the machine
    # (or on `taskset -c 0`)
    monkeypatch.setattr(index_worker, "_cores", lambda: 2)
    return project


def test_a_cold_build_with_a_helper_equals_one_process(many: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExperimentIndex, "PARALLEL_FROM", 10**9)
    alone, asked_alone = _cold(many.root)
    rows_alone = _warm_rows(many.root)
    segments_alone = len(_segments(many))
    monkeypatch.setattr(ExperimentIndex, "PARALLEL_FROM", 1)
    helped, asked_helped = _cold(many.root)
    assert helped == alone  # the same records, byte for byte
    # this process read only its own half: the helper read the rest
    experiments = {r[0] for r in rows_alone.values() if r[0]}
    assert asked_helped < asked_alone and len(experiments - asked_helped) >= 9  # two of five chunks
    # the index the helper's segments make is the same: a warm listing reads no commit and gives the same rows
    assert len(_segments(many)) == segments_alone
    with Project.open(many.root) as p:
        p.git.objects_requested = []
        assert list(p.experiments_json()) == alone
        assert p.git.objects_requested == []
    assert _warm_rows(many.root) == rows_alone
    assert not list((many.git.git_dir / "exptui" / "index").glob(".helper-*"))


@pytest.mark.parametrize("interpreter", ["missing", "false"])
def test_a_helper_that_cannot_run_leaves_its_chunks_to_the_parent(many: Project, monkeypatch: pytest.MonkeyPatch,
                                                                  interpreter: str) -> None:
    monkeypatch.setattr(ExperimentIndex, "PARALLEL_FROM", 10**9)
    alone, asked_alone = _cold(many.root)
    monkeypatch.setattr(ExperimentIndex, "PARALLEL_FROM", 1)
    # no interpreter at that path (the helper cannot start), or one that exits at once without an answer
    monkeypatch.setattr(sys, "executable", str(many.root / "no-python") if interpreter == "missing"
                        else shutil.which("false"))
    helped, asked_helped = _cold(many.root)
    assert helped == alone and asked_helped == asked_alone
    with Project.open(many.root) as p:
        p.git.objects_requested = []
        assert list(p.experiments_json()) == alone
        assert p.git.objects_requested == []
    assert not list((many.git.git_dir / "exptui" / "index").glob(".helper-*"))
