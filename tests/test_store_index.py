"""The experiment index: what is read per commit, the on-disk cache, baselines, DVC interop."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from exptui.project import Project
from exptui.store.experiments import record_experiment
from exptui.store.index import read_refs
try:  # tests/ may or may not be a package
    from tests.test_store_support import exptui, git, make_pipeline, DVC_YAML, PARAMS, TRAIN_PY, project  # noqa: F401 (fixture)
except ImportError:  # pragma: no cover
    from test_store_support import exptui, git, make_pipeline, DVC_YAML, PARAMS, TRAIN_PY, project  # noqa: F401 (fixture)


def _by_name(p: Project) -> dict:
    return {r.name: r for r in p.experiments(all_commits=True)}


def test_warm_listing_reads_from_cache_and_cache_can_be_deleted(project: Project) -> None:
    project.run(["train.lr=0.3"], name="a")
    project.run(["train.lr=0.4"], name="b")
    first = [(r.name, r.rev, r.params, r.metrics, r.errors) for r in project.experiments()]
    index_dir = project.git.git_dir / "exptui" / "index"
    assert list(index_dir.glob("seg-*.bin"))
    warm = Project.open(project.root)
    assert [(r.name, r.rev, r.params, r.metrics, r.errors) for r in warm.experiments()] == first
    assert warm.index.reader._dvcfile_cache == {}  # nothing parsed: all from the cache file
    for seg in index_dir.glob("seg-*.bin"):
        seg.write_bytes(b"garbage")  # a corrupt cache is only a rebuild
    again = Project.open(project.root)
    assert [(r.name, r.rev, r.params, r.metrics, r.errors) for r in again.experiments()] == first
    import shutil

    shutil.rmtree(index_dir)
    assert [(r.name, r.rev) for r in Project.open(project.root).experiments()] == [(n, r) for n, r, *_ in first]


def test_params_files_keys_and_metrics_as_dvc_reads_them(project: Project) -> None:
    root = project.root
    (root / "other.yaml").write_text("a:\n  b: 1\n  c: 2\nz: 9\n")
    (root / "whole.json").write_text('{"w": {"x": 1}}')
    (root / "eval").mkdir()
    (root / "eval" / "m1.json").write_text('{"f1": 0.5, "list": [1, 2], "name": "x"}')
    (root / "eval" / "sub").mkdir()
    (root / "eval" / "sub" / "m2.yaml").write_text("auc: 0.7\n")
    (root / "top.toml").write_text("[sec]\nk = 3\n")
    (root / "dvc.yaml").write_text("""\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params:
      - train
      - other.yaml: [a.b]
      - whole.json:
    outs: [model.txt]
    metrics:
      - metrics.json:
          cache: false
params: [top.toml]
metrics: [eval]
""")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "more files")
    row = project.run(["train.lr=0.2"], name="x")
    assert row.params["other.yaml"] == {"a.b": 1}
    assert row.params["whole.json"] == {"w.x": 1}
    assert row.params["top.toml"] == {"sec.k": 3}
    assert row.params["params.yaml"] == {"train.lr": 0.2, "train.epochs": 3, "seed": 1}  # root file in full
    assert row.metrics["eval/m1.json"] == {"f1": 0.5, "name": "x"}  # lists dropped, as DVC
    assert row.metrics["eval/sub/m2.yaml"] == {"auc": 0.7}
    assert row.metrics["metrics.json"]["acc"] == 0.4
    assert row.errors == {}
    ws = next(r for r in project.experiments() if r.kind == "workspace")
    assert ws.params == row.params and ws.metrics == row.metrics


def test_interpolated_metrics_paths_follow_each_commit(project: Project) -> None:
    root = project.root
    (root / "params.yaml").write_text("train:\n  lr: 0.1\n  epochs: 3\nseed: 1\nout: m_a.json\n")
    (root / "w.py").write_text("import json, sys\njson.dump({'v': 1}, open(sys.argv[1], 'w'))\n")
    (root / "dvc.yaml").write_text("""\
stages:
  train:
    cmd: python w.py ${out}
    params: [out]
    metrics:
      - ${out}:
          cache: false
""")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "interpolated")
    a = project.run([], name="a")
    b = project.run(["out=m_b.json"], name="b")
    assert a.metrics == {"m_a.json": {"v": 1}}
    assert b.metrics == {"m_b.json": {"v": 1}}


def test_dvc_cached_metrics_come_from_the_cache_or_show_an_error(project: Project) -> None:
    root = project.root
    (root / "dvc.yaml").write_text("""\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    outs: [model.txt]
    metrics: [metrics.json]
""")
    (root / ".gitignore").write_text("")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "cached metrics")
    row = project.run(["train.lr=0.25"], name="cached")
    assert "metrics.json" not in {e.path for e in project.git.ls_tree(row.rev)}
    assert row.metrics["metrics.json"]["acc"] == 0.5  # read from .dvc/cache by its md5 in dvc.lock
    import shutil

    shutil.rmtree(root / ".dvc" / "cache")
    shutil.rmtree(project.git.git_dir / "exptui" / "index")
    fresh = Project.open(root)
    r = {x.name: x for x in fresh.experiments()}["cached"]
    assert "not in git" in r.errors["metrics.json"] and r.params["params.yaml"]["train.lr"] == 0.25


def test_baselines_head_branch_tips_and_all_commits(project: Project) -> None:
    old = project.run(["train.lr=0.3"], name="on-first")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "second")
    project.run(["train.lr=0.5"], name="on-second")
    names = [r.name for r in project.experiments()]
    assert "on-second" in names and "on-first" not in names  # first commit is not a tip
    assert "on-first" in [r.name for r in project.experiments(all_commits=True)]
    assert "on-first" in [r.name for r in project.experiments(num=2)]
    git(project.root, "branch", "-q", "old", old.baseline)
    rows = project.experiments()
    assert "on-first" in [r.name for r in rows]  # a branch tip with experiments
    assert {r.baseline_name for r in rows if r.name == "on-first"} == {"old"}


def test_detached_head_baseline_is_short_sha(project: Project) -> None:
    git(project.root, "checkout", "-q", "--detach")
    row = project.run(["train.lr=0.3"], name="d")
    head = project.git.head()
    assert row.baseline == head
    base = next(r for r in project.experiments() if r.kind == "baseline")
    assert base.baseline_name == "main"  # a branch still points at it
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "detached commit")
    base = next(r for r in project.experiments() if r.kind == "baseline")
    assert base.baseline_name == project.git.head()[:7]


def test_unknown_refs_under_refs_exps_are_skipped(project: Project) -> None:
    head = project.git.head()
    for ref in ("refs/exps/exec/EXEC_HEAD", "refs/exps/apply/ORIG_HEAD", f"refs/exps/{head[:2]}/{head[2:]}"):
        git(project.root, "update-ref", ref, head)
    assert [r.kind for r in project.experiments()] == ["workspace", "baseline"]


def test_experiments_of_baselines_that_are_not_commits_are_listed_nowhere(project: Project) -> None:
    """DVC lists refs with a non-hex or SHA-256-length baseline (`exp list -A`) but shows them under no commit;
    exptui parses them the same way and a listing of every commit survives them."""
    head = project.git.head()
    for ref in (f"refs/exps/zz/{head[2:]}/nonhex", f"refs/exps/{head[:2]}/{head[2:]}{'0' * 24}/sha256"):
        git(project.root, "update-ref", ref, head)
    assert {ref.rsplit("/", 1)[1] for ref, *_ in read_refs(project.git).exps} == {"nonhex", "sha256"}
    assert [r.kind for r in project.experiments(all_commits=True)] == ["workspace", "baseline"]


def test_changed_token_is_cheap_and_tracks_refs_and_notes(project: Project) -> None:
    t0 = project.changed_token()
    assert project.changed_token() == t0
    row = project.run(["train.lr=0.3"], name="a")
    t1 = project.changed_token()
    assert t1 != t0
    time.sleep(0.01)
    project.star("a")
    t2 = project.changed_token()
    assert t2 != t1
    project.remove(["a"])
    assert project.changed_token() != t2
    start = time.perf_counter()
    for _ in range(50):
        project.changed_token()
    assert (time.perf_counter() - start) / 50 < 0.005
    assert row.rev


def test_saving_the_view_state_leaves_the_change_token_alone(project: Project) -> None:
    """The dashboard saves its view on every filter change and Escape; that must not make the poller reload."""
    from exptui.store.workspace_run import WorkspaceRun
    from exptui.tui.view_state import ViewState, load_view, save_view

    project.run(["train.lr=0.3"], name="a")
    project.experiments()  # the index cache exists too, as in a dashboard session
    t0 = project.changed_token()
    save_view(project.root, ViewState(filter="metrics:acc > 0.5"))
    assert project.changed_token() == t0
    save_view(project.root, ViewState(filter="", sort=[("params:params.yaml:train.lr", True)], leaderboard=True))
    assert load_view(project.root).leaderboard  # it was written
    assert project.changed_token() == t0
    # what does change the listing in the same directory still changes the token
    with WorkspaceRun(project.git.git_dir, "ws"):
        assert (project.git.git_dir / "exptui" / "workspace-run.json").exists()
        assert project.changed_token() != t0
    assert project.changed_token() == t0  # marker gone: back to the same state


# --- DVC interop -------------------------------------------------------------------------------------------------

def _dvc(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["dvc", *args], cwd=repo, capture_output=True, text=True, check=True)


@pytest.fixture
def dvc_project(git_repo: Path) -> Path:
    subprocess.run(["dvc", "init", "-q"], cwd=git_repo, check=True)

    (git_repo / "train.py").write_text(TRAIN_PY)
    (git_repo / "dvc.yaml").write_text(DVC_YAML)
    (git_repo / "params.yaml").write_text(PARAMS)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "dvc pipeline")
    return git_repo


def _dvc_show(repo: Path) -> dict[str, dict]:
    data = json.loads(_dvc(repo, "exp", "show", "--json").stdout)
    out = {}
    for baseline in data[1:]:
        for exp in baseline.get("experiments") or []:
            for rev in exp["revs"]:
                out[rev["name"]] = rev
    return out


@pytest.mark.dvc
def test_dvc_lists_an_exptui_experiment_with_the_same_values(dvc_project: Path) -> None:
    exptui(dvc_project, "run", "-S", "train.lr=0.3", "-n", "ours")
    ours = json.loads(exptui(dvc_project, "show", "--json").stdout)
    mine = next(r for r in ours if r["name"] == "ours")
    theirs = _dvc_show(dvc_project)["ours"]
    assert theirs["rev"] == mine["rev"]
    from dvc_compat.params import flatten

    assert flatten(theirs["data"]["params"]["params.yaml"]["data"]) == mine["params"]["params.yaml"]
    assert flatten(theirs["data"]["metrics"]["metrics.json"]["data"]) == mine["metrics"]["metrics.json"]
    # DVC can act on it like on its own
    git(dvc_project, "checkout", "-q", "--", ".")
    _dvc(dvc_project, "exp", "apply", "ours")
    assert "lr: 0.3" in (dvc_project / "params.yaml").read_text()
    _dvc(dvc_project, "exp", "branch", "ours", "ours-branch")
    assert git(dvc_project, "rev-parse", "ours-branch").strip() == mine["rev"]
    _dvc(dvc_project, "exp", "remove", "ours")
    assert "ours" not in {r["name"] for r in json.loads(exptui(dvc_project, "show", "--json").stdout)}


@pytest.mark.dvc
def test_dvc_experiments_and_dvc_queue_show_in_exptui(dvc_project: Path) -> None:
    _dvc(dvc_project, "exp", "run", "-q", "-S", "train.lr=0.7", "-n", "theirs")
    _dvc(dvc_project, "exp", "run", "--queue", "-S", "train.lr=0.9", "-n", "waiting")
    rows = {r["name"]: r for r in json.loads(exptui(dvc_project, "show", "--json").stdout)}
    assert rows["theirs"]["kind"] == "experiment" and rows["theirs"]["status"] == "success"
    assert rows["theirs"]["params"]["params.yaml"]["train.lr"] == 0.7
    assert rows["theirs"]["metrics"]["metrics.json"]["acc"] == 1.4
    assert rows["waiting"]["kind"] == "queued" and rows["waiting"]["status"] == "queued"
    assert rows["waiting"]["params"]["params.yaml"]["train.lr"] == 0.9
    assert rows["waiting"]["metrics"] == {} and rows["waiting"]["errors"] == {}
    # and a DVC experiment can be applied by exptui: git files from the commit, the cached out from DVC's cache
    git(dvc_project, "checkout", "-q", "--", ".")
    (dvc_project / "model.txt").unlink()
    exptui(dvc_project, "apply", "theirs")
    assert "lr: 0.7" in (dvc_project / "params.yaml").read_text()
    assert "0.7" in (dvc_project / "model.txt").read_text()
    assert os.path.exists(dvc_project / "metrics.json")


def test_show_json_has_one_writer_for_plain_and_filtered_listings(project: Project) -> None:
    """`show --json` (the fast, unfiltered path) and `show --json --keep '.*'` (through the table model) print the
    same objects: one writer of the schema in docs/show-json.md."""
    (project.root / "params.yaml").write_text("train:\n  lr: 0.1\n  epochs: 3\nseed: 1\nopt: {}\nlst: [1, 2]\n")
    git(project.root, "commit", "-qam", "odd params")
    project.run(["train.lr=0.3"], name="a")
    project.star("a")
    project.label("a", ["x"])
    plain = json.loads(exptui(project.root, "show", "--json").stdout)
    through_table = json.loads(exptui(project.root, "show", "--json", "--keep", ".*").stdout)
    assert sorted(plain, key=lambda r: r["rev"]) == sorted(through_table, key=lambda r: r["rev"])
    assert {"name", "rev", "baseline", "baseline_name", "kind", "status", "created", "params", "metrics", "errors",
            "starred", "labels", "note", "facts"} == set(plain[0])


def test_show_json_leaves_out_unreadable_files_on_every_path() -> None:
    """A file named in `errors` contributes no values, whichever path writes the record."""
    from exptui.query.show_json import record
    from exptui.query.table import TableModel
    from exptui.records import ExperimentRow

    for metrics, shown in (({"acc": float("nan")}, {"acc": None}),
                           ({"acc": 0.5, "nested": {"k": 2, "e": {}}}, {"acc": 0.5, "nested.k": 2})):
        row = ExperimentRow(name="e", rev="a" * 40, baseline="b" * 40, kind="experiment",
                            params={"params.yaml": {"lr": 0.1}, "bad.yaml": {"x": 1}}, metrics={"m.json": metrics},
                            errors={"bad.yaml": "bad.yaml:1: invalid YAML"})
        plain = record(row)
        assert plain["params"] == {"params.yaml": {"lr": 0.1}}
        assert plain["metrics"] == {"m.json": shown}
        assert TableModel([row]).set_keep([".*"]).to_json_records() == [plain]


def test_show_json_stays_off_heavy_imports(project: Project) -> None:
    project.run(["train.lr=0.3"], name="a")
    code = (
        "import sys, io, contextlib\n"
        "from exptui.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    cli.main(args=['-C', {str(project.root)!r}, 'show', '--json'], standalone_mode=False)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'textual', 'git', 'sklearn', 'numpy'})))\n"
    )
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_subdirectory_dvc_yaml_and_wdir(project: Project) -> None:
    root = project.root
    sub = root / "sub"
    sub.mkdir()
    (sub / "params.yaml").write_text("k: 1\nnested:\n  v: 2\n")
    (sub / "m.json").write_text('{"score": 3}')
    (sub / "dvc.yaml").write_text("""\
stages:
  s:
    cmd: echo hi
    params: [nested.v]
    metrics:
      - m.json:
          cache: false
""")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "sub project")
    base = project.git.head()
    (sub / "params.yaml").write_text("k: 1\nnested:\n  v: 5\n")
    record_experiment(project.git, root, base, "subexp", {}, None)
    row = {r.name: r for r in project.experiments()}["subexp"]
    assert row.params["sub/params.yaml"] == {"nested.v": 5}  # key-limited: only the declared key
    assert row.metrics["sub/m.json"] == {"score": 3}
    assert "params.yaml" in row.params  # root params.yaml too


def test_dvcignored_dvc_yaml_in_a_commit_is_not_read(project: Project) -> None:
    """A dvc.yaml the commit's own .dvcignore hides is no part of the project in that commit (as `find_dvcfiles` in
    the workspace and as DVC): its metrics are not missing files. This repository ignores pipelines/*/dvc.yaml."""
    root = project.root
    sub = root / "examples" / "one"
    sub.mkdir(parents=True)
    (sub / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo hi\n    metrics:\n      - m.json:\n          cache: false\n")
    (root / ".dvcignore").write_text("# the examples are projects of their own\n/examples/*/dvc.yaml\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "an ignored example pipeline")
    record_experiment(project.git, root, project.git.head(), "with-ignored", {}, None)
    rows = {r.name: r for r in project.experiments()}
    for name in ("workspace", "with-ignored"):
        assert not any(f.startswith("examples/") for f in [*rows[name].errors, *rows[name].metrics]), rows[name]
        assert rows[name].params["params.yaml"]["train.lr"] == 0.1
    assert project.index.reader.dvcfile_paths(project.git.head()) == ("dvc.yaml",)


def test_broken_dvc_yaml_is_an_error_cell_not_a_failure(project: Project) -> None:
    root = project.root
    base = project.git.head()
    (root / "dvc.yaml").write_text("stages:\n  train:\n    cmd: [unclosed\n")
    record_experiment(project.git, root, base, "broken-dvcyaml", {}, None)
    rows = {r.name: r for r in project.experiments()}
    row = rows["broken-dvcyaml"]
    assert "dvc.yaml" in row.errors and "dvc.yaml" in row.errors["dvc.yaml"]
    assert row.params["params.yaml"]["train.lr"] == 0.1  # root params.yaml still read
    assert "dvc.yaml" in rows["workspace"].errors


def test_templated_pipeline_is_parsed_once_for_all_experiments(git_repo: Path) -> None:
    """pipelines/sentiment uses vars, foreach and ${} in paths, but nothing that params values change: one parse."""
    try:
        from tests.conftest import copy_pipeline
    except ImportError:  # pragma: no cover
        from conftest import copy_pipeline

    copy_pipeline("sentiment", git_repo)
    p = Project.open(git_repo)
    base = p.git.head()
    for i in range(3):
        import re

        params = re.sub(r"\bC: [0-9.]+", f"C: {i + 2}.0", (git_repo / "params.yaml").read_text())
        (git_repo / "params.yaml").write_text(params)
        (git_repo / "eval").mkdir(exist_ok=True)
        (git_repo / "eval" / "metrics.json").write_text(json.dumps({"accuracy": 0.5 + i / 10}))
        record_experiment(p.git, git_repo, base, f"s{i}", {}, None)
    fresh = Project.open(git_repo)
    rows = {r.name: r for r in fresh.experiments()}
    for i in range(3):
        assert rows[f"s{i}"].params["params.yaml"]["train.C"] == i + 2.0
        assert rows[f"s{i}"].metrics["eval/metrics.json"] == {"accuracy": 0.5 + i / 10}
        assert rows[f"s{i}"].errors == {}
    assert len(fresh.index.reader._dvcfile_cache) == 1 and len(fresh.index.reader._declared_cache) == 1


def test_listing_many_experiments_is_batched_and_warm_reads_nothing(project: Project) -> None:
    """300 experiments written with git fast-import: the cold listing reads them in one CommitReader.read call
    (a fixed number of cat-file rounds), and the warm listing reads no object at all."""
    import hashlib

    base = project.git.head()
    stream = []
    for i in range(300):
        p = f"train:\n  lr: {i / 1000}\n  epochs: 3\nseed: {i}\n".encode()
        m = json.dumps({"acc": i / 300}).encode()
        msg = f"dvc: commit experiment {hashlib.sha256(p + m).hexdigest()}".encode()
        stream.append(f"commit refs/exps/{base[:2]}/{base[2:]}/e{i:03d}\n"
                      f"committer t <t@e.invalid> {1700000000 + i} +0000\n".encode())
        stream += [f"data {len(msg)}\n".encode() + msg + b"\n", f"from {base}\n".encode()]
        stream.append(f"M 100644 inline params.yaml\ndata {len(p)}\n".encode() + p + b"\n")
        stream.append(f"M 100644 inline metrics.json\ndata {len(m)}\n".encode() + m + b"\n\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=project.root, input=b"".join(stream), check=True)
    calls: list[int] = []
    reader = project.index.reader
    real_read = reader.read

    def spy(commits, hints=None):  # the real method runs; we only count
        calls.append(len(commits))
        return real_read(commits, hints)

    reader.read = spy  # type: ignore[method-assign]
    rows = [r for r in project.experiments() if r.kind == "experiment"]
    assert len(rows) == 300 and calls == [1, 300]  # the baseline, then every experiment at once
    assert rows[0].name == "e299" and rows[0].metrics["metrics.json"]["acc"] == 299 / 300  # newest first
    assert rows[-1].params["params.yaml"]["seed"] == 0
    warm = Project.open(project.root)
    warm.index.reader.read = lambda *a, **k: (_ for _ in ()).throw(AssertionError("warm listing read commits"))
    assert len([r for r in warm.experiments() if r.kind == "experiment"]) == 300


def test_odd_values_and_formats(project: Project) -> None:
    root = project.root
    (root / "cfg.toml").write_text("[opt]\nname = 'adam'\nbetas = [0.9, 0.99]\n")
    (root / "hp.py").write_text("LR = 0.5\nclass Net:\n    depth = 4\n")
    (root / "dvc.yaml").write_text("""\
stages:
  train:
    cmd: python train.py
    params:
      - train
      - cfg.toml:
      - hp.py: [LR, Net.depth]
    metrics:
      - metrics.json:
          cache: false
      - bad.json:
          cache: false
""")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "formats")
    (root / "metrics.json").write_text('{"acc": NaN, "f1": Infinity, "when": "2026-01-01", "ok": true}')
    (root / "bad.json").write_text('{"acc": ')
    record_experiment(project.git, root, project.git.head(), "odd", {}, None)
    row = {r.name: r for r in project.experiments()}["odd"]
    assert row.params["cfg.toml"] == {"opt.name": "adam", "opt.betas": [0.9, 0.99]}
    assert row.params["hp.py"] == {"LR": 0.5, "Net.depth": 4}
    assert row.errors["bad.json"] == "bad.json:1: invalid JSON: Expecting value (column 9)"
    out = json.loads(exptui(root, "show", "--json").stdout)  # strict JSON: NaN/inf become null
    odd = next(r for r in out if r["name"] == "odd")
    assert odd["metrics"]["metrics.json"] == {"acc": None, "f1": None, "when": "2026-01-01", "ok": True}
    assert "bad.json" in odd["errors"]


@pytest.mark.dvc
def test_empty_mappings_flatten_away_as_dvc_flattens_them(project: Project) -> None:
    """`dvc exp show` flattens params and metrics with `dvc.utils.flatten`, where an empty mapping leaves no
    column; every exptui listing (workspace, commits, JSON) flattens them the same way."""
    import yaml
    from dvc.utils.flatten import flatten as dvc_flatten

    text = PARAMS + "opt: {}\nnested:\n  empty: {}\n  k: 2\nlst: []\n"
    (project.root / "params.yaml").write_text(text)
    git(project.root, "commit", "-qam", "empty mappings")
    expected = dvc_flatten(yaml.safe_load(text))
    assert "opt" not in expected and "nested.empty" not in expected and expected["lst"] == []
    rows = {r.kind: r for r in project.experiments()}
    assert rows["baseline"].params["params.yaml"] == expected
    assert rows["workspace"].params["params.yaml"] == expected
    shown = json.loads(exptui(project.root, "show", "--json").stdout)
    assert all(set(r["params"]["params.yaml"]) == set(expected) for r in shown)


def test_listing_pauses_the_cyclic_gc_and_turns_it_back_on(project: Project) -> None:
    import gc
    import sys

    from exptui.store.index import ExperimentIndex

    project.run(["train.lr=0.3"], name="a")
    warm = Project.open(project.root)
    inside: list[str] = []  # collections that ran while the rows were being built

    def on_collect(phase: str, info: dict) -> None:
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code in (ExperimentIndex._plan.__code__, ExperimentIndex._materialize.__code__):
                inside.append(phase)
                return
            frame = frame.f_back

    thresholds = gc.get_threshold()
    gc.set_threshold(1)  # an enabled collector would now run on nearly every allocation
    gc.callbacks.append(on_collect)
    try:
        rows = warm.experiments()
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(on_collect)
        gc.set_threshold(*thresholds)
    assert [r.name for r in rows if r.kind == "experiment"] == ["a"]
    assert inside == []


def test_refs_read_unparsed_are_parsed_by_the_listing_given_them(project: Project) -> None:
    """`read_refs(parse=False)` (the dashboard's early start) keeps for-each-ref's bytes and reads all but the
    experiment refs (branches, notes, DVC's queue refs); a listing given it parses them: the same rows as its own
    read, and for-each-ref runs once."""
    project.run(["train.lr=0.3"], name="a")
    project.run(["train.lr=0.4"], name="b")
    head = project.git.head()
    git(project.root, "update-ref", "refs/exps/celery/stash", head)
    git(project.root, "branch", "zz-other", head)
    full = read_refs(project.git)
    light = read_refs(project.git, parse=False)
    assert light.raw == full.raw and not light.parsed and light.exps == [] and len(full.exps) == 2
    assert (light.head, light.head_branch, light.branches, light.tags, light.notes, light.dvc_queue) == \
        (full.head, full.head_branch, full.branches, full.tags, full.notes, full.dvc_queue) and light.dvc_queue
    fresh = Project.open(project.root)
    given = fresh.index.read_snapshot(parse=False)
    seen: list = []
    rows = fresh.experiments(refs=given, on_refs=seen.append)
    assert fresh.index.refs_read == 1 and seen[0].exps == full.exps
    assert [(r.name, r.rev, r.params) for r in rows] == \
        [(r.name, r.rev, r.params) for r in Project.open(project.root).experiments()]


def test_the_lines_outside_the_experiments_run_are_kept() -> None:
    """`_outside_exps` (what `read_refs(parse=False)` parses): every line but the experiment refs', DVC's queue
    refs kept, for random sorted outputs (no experiments, only experiments, queue refs first or last in the run)."""
    import random

    from exptui.store.index import DVC_FAILED_REF, DVC_QUEUE_REF, _outside_exps

    rng = random.Random(1)
    for _ in range(2000):
        refs = {f"refs/exps/{rng.choice(['ab', 'cd', 'ce', 'ff'])}/{'1' * 38}/e{rng.randrange(50)}"
                for _ in range(rng.randrange(0, 8))}
        refs |= {ref for ref in (DVC_QUEUE_REF, DVC_FAILED_REF, "refs/notes/exptui") if rng.random() < .5}
        refs |= {f"refs/heads/b{rng.randrange(9)}" for _ in range(rng.randrange(0, 3))}
        lines = sorted(refs)
        out = "".join(f"{ref}\0{'2' * 40}\n" for ref in lines).encode()
        want = "".join(f"{ref}\0{'2' * 40}\n" for ref in lines
                       if not ref.startswith("refs/exps/") or ref in (DVC_QUEUE_REF, DVC_FAILED_REF)).encode()
        assert _outside_exps(out) == want
