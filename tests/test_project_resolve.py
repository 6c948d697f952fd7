"""Resolving one experiment by name or ref reads that ref, not the whole listing (issue 13: 8 s at 100k)."""
from __future__ import annotations

import pytest

from exptui.errors import ExptuiError
from exptui.project import Project
try:  # tests/ may or may not be a package
    from tests.test_store_support import exptui, git, project  # noqa: F401 (fixture)
except ImportError:  # pragma: no cover
    from test_store_support import exptui, git, project  # noqa: F401 (fixture)


def _fields(row):  # noqa: ANN001, ANN202
    return (row.name, row.rev, row.baseline, row.baseline_name, row.kind, row.status, row.created, row.params,
            row.metrics, row.errors, row.annotations, row.facts, row.ref)


def test_names_refs_and_the_workspace_resolve_to_the_listed_rows_without_a_listing(project: Project) -> None:
    project.run(["train.lr=0.3"], name="a")
    project.run(["train.lr=0.4"], name="b")
    project.star("a")
    listed = {r.name: r for r in Project.open(project.root).index.rows(all_commits=True)}
    fresh = Project.open(project.root)

    def no_listing(*_a, **_k):  # noqa: ANN002, ANN003, ANN202 - the real index; only the full listing refused
        raise AssertionError("resolve built the whole listing")

    fresh.index.rows = no_listing  # type: ignore[method-assign]
    for name in ("a", "b"):
        assert _fields(fresh.resolve(name)) == _fields(listed[name])
        assert _fields(fresh.resolve(listed[name].ref or "")) == _fields(listed[name])
    assert _fields(fresh.resolve("workspace")) == _fields(listed["workspace"])
    old, new = fresh.diff_pair("a")
    assert (old.rev, new.rev) == (listed["a"].baseline, listed["a"].rev)
    assert fresh.resolve("a").annotations.starred


def test_names_elsewhere_still_resolve_through_the_listing(project: Project) -> None:
    project.run(["train.lr=0.3"], name="a")
    git(project.root, "checkout", "-qb", "other")
    git(project.root, "commit", "-q", "--allow-empty", "-m", "other")
    project.run(["train.lr=0.5"], name="elsewhere")
    git(project.root, "checkout", "-q", "main" if "main" in git(project.root, "branch") else "master")
    fresh = Project.open(project.root)
    row = fresh.resolve("elsewhere")
    assert row.name == "elsewhere" and row.baseline_name == "other"
    with pytest.raises(ExptuiError, match="no experiment or revision named 'nope'"):
        fresh.resolve("nope")
    assert "train.lr" in exptui(project.root, "diff", "a", "elsewhere").stdout
