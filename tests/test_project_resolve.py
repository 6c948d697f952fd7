"""Resolving one experiment by name or ref reads that ref, not the whole listing (issue 13: 8 s at 100k)."""
from __future__ import annotations

from pathlib import Path

import pytest

from exptui.errors import ExptuiError
from exptui.project import Project
try:  # tests/ may or may not be a package
    from tests.test_store_support import exptui, git, import_experiments, project  # noqa: F401 (fixture)
except ImportError:  # pragma: no cover
    from test_store_support import exptui, git, import_experiments, project  # noqa: F401 (fixture)


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


def _fast_import_experiments(root: Path, baseline: str, names: list[str], start: int) -> None:
    """Experiment commits under `baseline` in DVC's ref layout, written in one `git fast-import` stream."""
    import json

    import_experiments(root, baseline, [(name, f"train:\n  lr: {i / 1000}\n".encode(),
                                         json.dumps({"f1": (i % 97) / 100}).encode())
                                        for i, name in enumerate(names)], start)


def test_many_experiments_every_form_resolves_without_building_the_listing(project: Project) -> None:
    """1,500 experiments under two baselines: a name under another baseline, a branch, a sha, a sha prefix, a
    queued entry's name, an ambiguous name and a missing one all resolve (or fail) as through the listing, while
    at most the one row asked for is built; `apply`, `branch` and `diff` of a name work the same way."""
    root = project.root
    main = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-qb", "other")
    git(root, "commit", "-q", "--allow-empty", "-m", "other")
    other = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-")
    _fast_import_experiments(root, main, [f"m{i}" for i in range(1000)] + ["twin"], 1_700_000_000)
    _fast_import_experiments(root, other, [f"o{i}" for i in range(500)] + ["twin"], 1_700_100_000)
    exptui(root, "run", "--queue", "-n", "waiting", "-S", "train.lr=0.9")
    listed = Project.open(root).index.rows(all_commits=True)
    by_name = {(r.name, r.kind): r for r in listed}
    fresh = Project.open(root)
    built: list[int] = []
    materialize = fresh.index._materialize

    def no_listing(*_a, **_k):  # noqa: ANN002, ANN003, ANN202 - the real index; only the full listing refused
        raise AssertionError("resolve built the whole listing")

    def counting(plan, shared=False):  # noqa: ANN001, ANN202
        built.append(len(plan))
        return materialize(plan, shared)

    fresh.index.rows = no_listing  # type: ignore[method-assign]
    fresh.index._materialize = counting  # type: ignore[method-assign]
    o7 = by_name[("o7", "experiment")]
    assert _fields(fresh.resolve("o7")) == _fields(o7)                       # under another baseline
    assert _fields(fresh.resolve(o7.rev)) == _fields(o7)                     # a full sha
    assert _fields(fresh.resolve(o7.rev[:12])) == _fields(o7)                # a sha prefix
    assert _fields(fresh.resolve("other")) == _fields(by_name[("other", "baseline")])  # a branch: its baseline row
    waiting = by_name[("waiting", "queued")]
    assert fresh.resolve("waiting").queue_id == waiting.queue_id             # a queued entry
    assert _fields(fresh.resolve("twin")) == _fields(                        # HEAD's wins over the other's
        next(r for r in listed if r.name == "twin" and r.baseline == main))
    with pytest.raises(ExptuiError, match=r"no experiment or revision named 'm10x' \(did you mean 'm10'"):
        fresh.resolve("m10x")
    assert built == []  # not one experiment row built besides those returned (they come from `catalog`)
    proc = exptui(root, "diff", "zzz", check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert proc.stderr.splitlines() == ["error: no experiment or revision named 'zzz'"]
    assert "train.lr" in exptui(root, "diff", "o7", "m3").stdout
    assert "o7" in exptui(root, "branch", "o7", "from-o7").stdout
    assert git(root, "rev-parse", "from-o7").strip() == o7.rev
    exptui(root, "apply", "m3")
    assert "lr: 0.003" in (root / "params.yaml").read_text()
