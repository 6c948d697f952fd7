"""Plot data read through the core (Project): declared plots files at any revision, their contents from git or the
DVC cache (wherever `.dvc/config` puts it, found through dvc.lock as dvc_compat reads it), records parsed with YAML
1.2 as DVC reads them. Real repos, real `exptui run`, the real dvc where DVC's own behaviour is claimed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from exptui.project import Project
from exptui.query.plots import parse_plot_records
from tests.conftest import git

LOSS = "- {step: 0, loss: 1e-3, flag: yes}\n- {step: 1, loss: 5.0e-4, flag: no}\n"


def _pipeline(repo: Path, cache_dir: str | None, wdir: str | None = None) -> None:
    """One stage writing a DVC-cached plots file (so only the cache holds it once the run is recorded)."""
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text(f"[cache]\n    dir = {cache_dir}\n" if cache_dir else "")
    (repo / "params.yaml").write_text("lr: 0.1\n")
    stage_dir = repo / wdir if wdir else repo
    stage_dir.mkdir(exist_ok=True)
    (stage_dir / "make_plot.py").write_text(
        "import pathlib\npathlib.Path('plots').mkdir(exist_ok=True)\n"
        f"pathlib.Path('plots/loss.yaml').write_text({LOSS!r})\n")
    (stage_dir / "params.yaml").write_text("lr: 0.1\n")
    wdir_line = f"    wdir: {wdir}\n" if wdir else ""
    (repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python make_plot.py\n" + wdir_line
        + "    params: [lr]\n    plots:\n      - plots/loss.yaml:\n          x: step\n")
    (repo / ".gitignore").write_text(f"/{wdir + '/' if wdir else ''}plots/\n/elsewhere/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pipeline")


def _recorded(repo: Path) -> tuple[Project, str]:
    project = Project.open(repo)
    row = project.run(["lr=0.2"], name="exp")
    return project, row.rev


def test_a_cached_plot_is_read_from_the_configured_cache_dir(git_repo: Path) -> None:
    _pipeline(git_repo, "../elsewhere")   # relative to .dvc/, as DVC resolves it
    project, rev = _recorded(git_repo)
    assert git(git_repo, "ls-tree", "-r", "--name-only", rev).split().count("plots/loss.yaml") == 0
    assert any((git_repo / "elsewhere" / "files" / "md5").iterdir())
    assert [(p.path, p.x) for p in project.plot_files(rev)] == [("plots/loss.yaml", "step")]
    assert project.read_plot(rev, "plots/loss.yaml") == LOSS.encode()


def test_a_cached_plot_of_a_stage_with_wdir_is_found_through_dvc_lock(git_repo: Path) -> None:
    _pipeline(git_repo, None, wdir="sub")
    project, rev = _recorded(git_repo)
    assert [p.path for p in project.plot_files(rev)] == ["sub/plots/loss.yaml"]
    assert project.read_plot(rev, "sub/plots/loss.yaml") == LOSS.encode()


def test_yaml_plot_records_are_read_with_yaml_1_2_as_dvc_does() -> None:
    records = parse_plot_records("plots/loss.yaml", LOSS.encode())
    assert records == [{"step": 0, "loss": 0.001, "flag": "yes"}, {"step": 1, "loss": 0.0005, "flag": "no"}]


def test_the_workspace_and_missing_files(git_repo: Path) -> None:
    _pipeline(git_repo, None)
    project = Project.open(git_repo)
    assert project.read_plot("workspace", "plots/loss.yaml") is None   # not produced yet
    project.run([], name="first")
    assert project.read_plot("workspace", "plots/loss.yaml") == LOSS.encode()
    assert project.read_plot(project.git.head(), "plots/loss.yaml") is None   # the baseline has no lock entry


def _row(name: str, f1: float | None, kind: str = "experiment", status: str = "success") -> Any:
    from exptui.records import ExperimentRow

    metrics = {"metrics.json": {"f1": f1, "note": "x"}} if f1 is not None else {}
    return ExperimentRow(name=name, rev=name, baseline="b", kind=kind, status=status,
                         params={"params.yaml": {"lr": 0.1}}, metrics=metrics)


def test_best_subset_keeps_the_chosen_running_and_baseline_rows_then_the_best_in_table_order() -> None:
    from exptui.query.plots import best_subset, rank_metric

    rows = [_row("main", 0.5, kind="baseline")] + [_row(f"e{i}", i / 100) for i in range(100)]
    rows.append(_row("live", None, status="running"))
    chosen = rows[3]                       # e2: a poor one, but the user's cursor row
    subset = best_subset(rows, 10, pinned=[chosen])
    assert rank_metric(rows) == "f1" and subset.metric == "f1" and not subset.lower_is_better
    assert subset.partial and subset.total == 102 and len(subset.rows) == 10
    assert [r.name for r in subset.rows] == ["main", "e2", *(f"e{i}" for i in range(93, 100)), "live"]
    # lower is better for a loss: the smallest win; few rows: all of them, nothing ranked
    low = best_subset(rows[1:21], 3, lower_is_better=True)
    assert [r.name for r in low.rows] == ["e0", "e1", "e2"] and low.lower_is_better
    assert best_subset(rows[:5], 10).rows == rows[:5] and not best_subset(rows[:5], 10).partial


def test_flat_value_is_flat_values_get_for_every_key_shape() -> None:
    """`flat_value` (best_subset's per-row lookup at 100,000 rows) gives what the flat dict gives: keys seen in one
    file or several, prefixed keys, keys that hold a ':' themselves, missing keys, empty trees."""
    import random

    from exptui.query.plots import flat_value, flat_values

    rng = random.Random(7)
    names = ["f1", "auc", "loss", "a:b", "m.yaml:f1", "x"]
    files = ["metrics.yaml", "m.yaml", "eval/scores.json", "a"]
    for _ in range(3000):
        tree = {f: {k: rng.choice([rng.random(), "n/a", None, 3])
                    for k in rng.sample(names, rng.randint(0, len(names)))}
                for f in rng.sample(files, rng.randint(0, len(files)))}
        flat = flat_values(tree)
        for key in [*names, *flat, *(f"{f}:{k}" for f in files for k in names), "missing"]:
            assert flat_value(tree, key) == flat.get(key), (tree, key)


def test_best_subset_ranks_like_a_full_sort_with_ties() -> None:
    """The few best by a heap, not a sort of every pair: the same rows as sorted(...)[:k], ties in table order."""
    import random

    from exptui.query.plots import best_subset
    from exptui.records import ExperimentRow

    rng = random.Random(3)
    rows = [ExperimentRow(name=f"e{i}", rev=f"{i:040x}", baseline="b", kind="experiment", status="success",
                          metrics={"metrics.yaml": {"f1": rng.choice([0.1, 0.5, 0.5, 0.9, None, "bad"])}})
            for i in range(400)]
    subset = best_subset(rows, 25)
    scored = sorted((-row.metrics["metrics.yaml"]["f1"], i) for i, row in enumerate(rows)
                    if isinstance(row.metrics["metrics.yaml"]["f1"], float))
    assert subset.rows == [rows[i] for i in sorted(i for _, i in scored[:25])]
