"""Recording, listing, resolving, applying, branching, removing and gc of experiments on a real pipeline."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from exptui.errors import DirtyWorkspace, ExperimentNotFound, ExptuiError
from exptui.project import Project
from exptui.store.experiments import ExperimentExists, record_experiment
from exptui.store.facts import parse_trailers, start_facts, finish_facts
try:  # tests/ may or may not be a package
    from tests.test_store_support import git, make_pipeline, project  # noqa: F401 (fixture)
except ImportError:  # pragma: no cover
    from test_store_support import git, make_pipeline, project  # noqa: F401 (fixture)


def _exp_rows(p: Project) -> dict[str, object]:
    return {r.name: r for r in p.experiments() if r.kind == "experiment"}


def test_run_records_dvc_shaped_commit(project: Project) -> None:
    row = project.run(["train.lr=0.3"], name="lr3")
    assert row.name == "lr3" and row.kind == "experiment" and row.status == "success"
    baseline = project.git.head()
    assert row.baseline == baseline
    assert row.ref == f"refs/exps/{baseline[:2]}/{baseline[2:]}/lr3"
    assert row.params["params.yaml"]["train.lr"] == 0.3
    assert row.metrics["metrics.json"] == {"acc": 0.6, "loss.final": 0.7}
    info = project.git.read_commit(row.rev)
    assert info.parents == (baseline,)
    first, _, body = info.message.partition("\n")
    assert first.startswith("dvc: commit experiment ") and len(first.split()[-1]) == 64
    facts, status = parse_trailers(info.message)
    assert status == "success" and facts is not None and facts.duration is not None and facts.host
    raw = project.git.read_objects([row.rev])[0][2]
    assert b" +0000\n" in raw
    files = {e.path for e in project.git.ls_tree(row.rev)}
    assert {"dvc.lock", "metrics.json", "params.yaml", "train.py", "dvc.yaml"} <= files
    assert "model.txt" not in files  # a DVC-cached out stays out of git
    assert not any(f.startswith(".dvc/tmp") or f.startswith(".dvc/cache") for f in files)
    # the workspace keeps the results (like dvc exp run); comments in params.yaml survive
    assert "lr: 0.3  # learning rate" in (project.root / "params.yaml").read_text()
    assert row.facts is not None and row.facts.exptui_version


def test_generated_names_and_listing_order(project: Project) -> None:
    a = project.run(["train.lr=0.2"])
    b = project.run(["train.lr=0.4"])
    assert a.name != b.name and "-" in a.name
    rows = project.experiments()
    kinds = [r.kind for r in rows]
    assert kinds[:2] == ["workspace", "baseline"]
    assert rows[1].baseline_name == "main"
    names = [r.name for r in rows if r.kind == "experiment"]
    assert set(names) == {a.name, b.name}


def test_name_collision_is_a_clear_error_unless_forced(project: Project) -> None:
    project.run(["train.lr=0.3"], name="x")
    with pytest.raises(ExperimentExists, match="experiment 'x' already exists for baseline main"):
        project.run(["train.lr=0.5"], name="x")
    assert "lr: 0.3" in (project.root / "params.yaml").read_text()  # refused before editing anything
    row = project.run(["train.lr=0.5"], name="x", force=True)
    assert row.params["params.yaml"]["train.lr"] == 0.5
    assert len([r for r in project.experiments() if r.name == "x"]) == 1


def test_unknown_param_key_is_an_error_with_suggestion(project: Project) -> None:
    from dvc_compat.errors import FormatError

    with pytest.raises(FormatError, match="train.lr"):
        project.run(["train.lrr=0.3"])
    row = project.run(["+train.momentum=0.9"])
    assert row.params["params.yaml"]["train.momentum"] == 0.9


def test_sweep_without_queue_is_refused(project: Project) -> None:
    with pytest.raises(ExptuiError, match="--queue"):
        project.run(["train.lr=0.1,0.2"])


def test_malformed_dvc_yaml_runs_nothing(project: Project) -> None:
    (project.root / "dvc.yaml").write_text("stages:\n  train: [\n")
    before = (project.root / "params.yaml").read_text()
    from dvc_compat.errors import FormatError

    with pytest.raises(FormatError, match="dvc.yaml"):
        project.run(["train.lr=0.9"])
    assert (project.root / "params.yaml").read_text() == before


def test_record_identical_tree_twice_reuses(project: Project) -> None:
    base = project.git.head()
    r1 = record_experiment(project.git, project.root, base, "same", {}, None)
    r2 = record_experiment(project.git, project.root, base, "same", {}, None)
    assert r2.reused and r2.rev == r1.rev
    (project.root / "extra.txt").write_text("changed")
    with pytest.raises(ExperimentExists):
        record_experiment(project.git, project.root, base, "same", {}, None)
    r3 = record_experiment(project.git, project.root, base, "same", {}, None, on_conflict="suffix")
    assert r3.name == "same-2"


_RACE = """
import random, sys
from pathlib import Path
from exptui.store.git import Git
from exptui.store.experiments import record_experiment
root = Path(sys.argv[1]); base = sys.argv[2]; tag = sys.argv[3]
(root / f"{tag}.txt").write_text(tag)
g = Git(root)
rec = record_experiment(g, root, base, None, {"train": {"cmd": tag}}, None, rng=random.Random(7))
print(rec.name, rec.rev)
"""


def test_two_concurrent_records_both_land(project: Project, tmp_path: Path) -> None:
    """Two processes record at once with the same name generator seed: both land, under different names."""
    base = project.git.head()
    wts = []
    for tag in ("one", "two"):
        wt = tmp_path / tag
        git(tmp_path, "clone", "-q", "--shared", str(project.root), str(wt))
        wts.append((wt, tag))
    procs = [subprocess.Popen([sys.executable, "-c", _RACE, str(wt), base, tag], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env_for(project.root, wt))
             for wt, tag in wts]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    recorded = [o[0].split() for o in outs]
    assert recorded[0][0] != recorded[1][0]
    listed = {r.name: r.rev for r in project.experiments() if r.kind == "experiment"}
    for name, rev in recorded:
        assert listed[name] == rev


def _env_for(main: Path, wt: Path) -> dict[str, str]:
    """Record into the main repo from the clone's work tree: GIT_DIR of the main repo."""
    import os

    env = dict(os.environ)
    env["GIT_DIR"] = str(main / ".git")
    return env


def test_resolve_forms(project: Project) -> None:
    row = project.run(["train.lr=0.3"], name="lr3")
    assert project.resolve("lr3").rev == row.rev
    assert project.resolve(row.ref).rev == row.rev
    assert project.resolve(row.rev[:8]).rev == row.rev
    assert project.resolve("main").kind == "baseline"
    with pytest.raises(ExperimentNotFound, match="did you mean 'lr3'"):
        project.resolve("lr4")


def test_same_name_on_two_baselines(project: Project) -> None:
    first = project.run(["train.lr=0.3"], name="dup")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "next")
    second = project.run(["train.lr=0.4"], name="dup")
    assert project.resolve("dup").rev == second.rev  # HEAD's baseline wins
    git(project.root, "branch", "-q", "other", first.baseline)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "--allow-empty", "-m", "third")
    with pytest.raises(ExptuiError, match="ambiguous"):
        project.resolve("dup")
    assert project.resolve(first.ref).rev == first.rev


def test_diff_against_baseline(project: Project) -> None:
    project.run(["train.lr=0.3"], name="lr3")
    rows = project.diff("lr3")
    by_key = {(d.column.family, d.column.key): d for d in rows}
    assert by_key[("params", "train.lr")].old == 0.1 and by_key[("params", "train.lr")].new == 0.3


def test_apply_writes_files_restores_outs_and_keeps_head(project: Project) -> None:
    a = project.run(["train.lr=0.3"], name="a")
    project.run(["train.lr=0.5"], name="b")
    head = project.git.head()
    # the workspace still holds b's results: they are recorded in b, so applying a needs no --force
    result = project.apply("a")
    assert "params.yaml" in result.written and "metrics.json" in result.written
    assert "model.txt" in result.restored
    assert "lr: 0.3" in (project.root / "params.yaml").read_text()
    assert json.loads((project.root / "metrics.json").read_text())["acc"] == 0.6
    assert "0.3" in (project.root / "model.txt").read_text()
    assert project.git.head() == head and project.git.head_branch() == "main"
    assert a.rev


def test_apply_refuses_to_overwrite_uncommitted_changes(project: Project) -> None:
    project.run(["train.lr=0.3"], name="a")
    git(project.root, "checkout", "-q", "--", "params.yaml")
    (project.root / "params.yaml").write_text("train:\n  lr: 0.9\n  epochs: 3\nseed: 1\n")
    with pytest.raises(DirtyWorkspace, match="params.yaml"):
        project.apply("a")
    assert "lr: 0.9" in (project.root / "params.yaml").read_text()
    project.apply("a", force=True)
    assert "lr: 0.3" in (project.root / "params.yaml").read_text()


def test_branch_remove_and_gc(project: Project) -> None:
    a = project.run(["train.lr=0.3"], name="a")
    project.run(["train.lr=0.4"], name="b")
    assert project.branch("a", "from-a") == a.rev
    assert git(project.root, "rev-parse", "from-a").strip() == a.rev
    with pytest.raises(ExptuiError, match="already exists"):
        project.branch("b", "from-a")
    removed = project.remove(["b"])
    assert [r.name for r in removed] == ["b"]
    assert "b" not in _exp_rows(project)
    # orphan experiment a's baseline: rewrite main so the baseline is unreachable
    git(project.root, "branch", "-q", "-D", "from-a")
    git(project.root, "checkout", "-q", "--orphan", "fresh")
    git(project.root, "commit", "-q", "-m", "fresh start")
    git(project.root, "branch", "-q", "-D", "main")
    plan = project.gc(dry_run=True)
    assert [ref.rsplit("/", 1)[-1] for ref, _ in plan.remove] == ["a"]
    project.gc()
    assert git(project.root, "for-each-ref", "refs/exps").strip() == ""


def test_malformed_params_in_experiment_commit_is_an_error_cell(project: Project) -> None:
    base = project.git.head()
    (project.root / "params.yaml").write_text("train: [unclosed\n")
    (project.root / "metrics.json").write_text('{"acc": 0.42}')
    record_experiment(project.git, project.root, base, "broken", {}, None)
    row = {r.name: r for r in project.experiments()}["broken"]
    assert "params.yaml" in row.errors and "invalid YAML" in row.errors["params.yaml"]
    assert row.metrics["metrics.json"] == {"acc": 0.42}  # the rest of the row still shows


def test_facts_round_trip() -> None:
    facts = finish_facts(start_facts("exptui run -S 'a=1\nb'"), error=None)
    from exptui.store.facts import to_trailers

    parsed, status = parse_trailers("dvc: commit experiment x\n\n" + to_trailers(facts, "success"))
    assert status == "success"
    assert parsed is not None
    assert parsed.command == facts.command and parsed.started == facts.started
    assert parsed.packages_digest == facts.packages_digest and len(facts.packages_digest or "") == 64


def test_exptui_queue_entries_are_listed_and_removable(project: Project) -> None:
    entries = project.queue.enqueue(["train.lr=0.01,0.02"], name="q")
    assert len(entries) == 2
    listed = project.experiments()
    assert [r.kind for r in listed] == ["workspace", "baseline", "queued", "queued"]  # under their baseline
    rows = {r.name: r for r in listed}
    assert rows["q-1"].kind == "queued" and rows["q-1"].status == "queued"
    assert rows["q-1"].params["params.yaml"]["train.lr"] == 0.01
    assert rows["q-1"].baseline == project.git.head() and rows["q-1"].baseline_name == "main"
    assert "lr: 0.1" in (project.root / "params.yaml").read_text()  # queueing never edits the workspace
    removed = project.remove(["q-1"])
    assert [r.name for r in removed] == ["q-1"]
    assert "q-1" not in {r.name for r in project.experiments()}


def test_gc_keep_flags(project: Project) -> None:
    first = project.run(["train.lr=0.3"], name="on-first")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "second")
    project.run(["train.lr=0.4"], name="on-head")
    git(project.root, "tag", "v1", first.baseline)
    # -w keeps only HEAD's experiments; -T keeps tagged baselines too; default keeps everything reachable
    assert project.gc(workspace=True, dry_run=True).removed_names == ["on-first"]
    assert project.gc(workspace=True, all_tags=True, dry_run=True).removed_names == []
    assert project.gc(dry_run=True).removed_names == []
    assert project.gc(all_branches=True, dry_run=True).removed_names == ["on-first"]
    project.gc(workspace=True)
    assert {r.name for r in project.experiments(all_commits=True) if r.kind == "experiment"} == {"on-head"}


@pytest.mark.slow
def test_churn_pipeline_experiments_apply_restores_directory_outs(git_repo: Path) -> None:
    """The example pipeline end to end: two experiments, then apply the first back (data/prepared is a
    DVC-cached directory, models/model.joblib a cached file, metrics.yaml and plots in git)."""
    try:
        from tests.conftest import copy_pipeline
    except ImportError:  # pragma: no cover
        from conftest import copy_pipeline

    from dvc_compat.config import init_dvc_dir

    copy_pipeline("churn", git_repo)
    init_dvc_dir(git_repo)
    p = Project.open(git_repo)
    a = p.run(["generate.n_rows=1500", "train.n_estimators=20"], name="small")
    b = p.run(["generate.n_rows=1500", "train.n_estimators=40", "train.max_depth=3"], name="deeper")
    assert a.metrics and not a.errors and a.metrics != b.metrics
    files = {e.path for e in p.git.ls_tree(a.rev)}
    assert "metrics.yaml" in files and "dvc.lock" in files
    assert not any(f.startswith(("data/", "models/")) for f in files)
    model_b = (git_repo / "models" / "model.joblib").read_bytes()
    result = p.apply("small")
    assert "models/model.joblib" in result.restored and "data/prepared" in result.restored
    assert (git_repo / "models" / "model.joblib").read_bytes() != model_b
    assert "n_estimators: 20" in (git_repo / "params.yaml").read_text()
    # the workspace now matches experiment "small": a repro has nothing to do
    from exptui.pipeline.repro import SKIPPED, reproduce

    assert all(s.outcome == SKIPPED for s in reproduce(git_repo).stages)


def test_workspace_row_shows_a_running_workspace_run(project: Project) -> None:
    """While `exptui run` works in the workspace, another process sees the workspace row as running."""
    import time

    (project.root / "train.py").write_text("import time; time.sleep(3)\n" + (project.root / "train.py").read_text())
    git(project.root, "commit", "-qam", "slow")
    token = project.changed_token()
    proc = subprocess.Popen([sys.executable, "-m", "exptui", "-C", str(project.root), "run", "-q", "-n", "slow"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        ws = None
        while time.monotonic() < deadline:
            ws = next(r for r in Project.open(project.root).experiments() if r.kind == "workspace")
            if ws.status == "running" and ws.stage:
                break
            time.sleep(0.1)
        assert ws is not None and ws.status == "running" and ws.stage == "train" and ws.started
        assert project.changed_token() != token  # the TUI's poll notices the run
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    ws = next(r for r in project.experiments() if r.kind == "workspace")
    assert ws.status == "success" and "slow" in {r.name for r in project.experiments()}
    # a marker left by a killed run is not believed
    from exptui.store.workspace_run import FILE

    import socket

    dead = {"pid": 2**22 + 12345, "host": socket.gethostname()}
    (project.git.git_dir / "exptui" / FILE).write_text(json.dumps(dead))
    assert next(r for r in project.experiments() if r.kind == "workspace").status == "success"


def test_large_new_files_are_reported(project: Project) -> None:
    from exptui.store.experiments import LARGE_FILE

    (project.root / "big.bin").write_bytes(b"\0" * (LARGE_FILE + 1))
    rec = record_experiment(project.git, project.root, project.git.head(), "big", {}, None)
    assert rec.large_files == ("big.bin",)
