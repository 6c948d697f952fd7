"""DVC interoperability, both ways, judged by the real `dvc` CLI.

Repos are real git repos in temp dirs; `dvc` and `exptui` run as subprocesses. Three module-scoped repos are built
once and copied by the tests that mutate them:

* `dvc_made`: a pipeline written and run by DVC (vars/`${}`, foreach, matrix, a second dvc.yaml with `wdir`,
  params in YAML/JSON/TOML/Python, metrics in YAML/JSON and a metrics directory, data from `dvc add`), plus
  experiments made by `dvc exp run`, `dvc exp save` and one left in DVC's queue;
* `exptui_made`: the same project run by exptui only (`exptui repro`, a workspace run, a queued sweep, a `--temp`
  run on a second baseline, annotations);
* `demo`: exptui's churn demo (`exptui.demo.build_demo_repo`), built and run by exptui only.

Other modules already prove: byte-identical locks/caches/run caches (test_pipeline_interop), an exptui experiment
listed and applied/branched/removed by dvc (test_store_index), dvc seeing queue results (test_execution_isolated).
This module covers the rest: see docs/compatibility.md for the map from feature to test.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import git
from tests.interop_support import DVC, _module_env, dvc, exptui  # noqa: F401 - the autouse fixture

pytestmark = pytest.mark.dvc

UP_TO_DATE = "Data and pipelines are up to date."

STAGE_PY = """\
import json, os, sys
kind, *rest = sys.argv[1:]
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs.log"), "a").write(" ".join(sys.argv[1:]) + "\\n")
if kind == "prep":
    raw = open("data/raw.csv").read()
    os.makedirs("data/prepared/nested", exist_ok=True)
    open("data/prepared/train.csv", "w").write(raw * int(rest[0]))
    open("data/prepared/nested/test.csv", "w").write(raw[::-1])
elif kind == "train":
    model, lr = rest
    size = os.path.getsize("data/prepared/train.csv")
    os.makedirs("models", exist_ok=True)
    open(f"models/{model}.bin", "w").write(f"{model} {lr} {size}\\n")
    os.makedirs("metrics", exist_ok=True)
    json.dump({"score": round(size * float(lr), 6), "model": model, "hist": [1, 2]},
              open(f"metrics/{model}.json", "w"))
elif kind == "grid":
    model, depth = rest
    os.makedirs("grid", exist_ok=True)
    open(f"grid/{model}-{depth}.yaml", "w").write(f"auc: {0.5 + int(depth) / 100}\\ndepth: {depth}\\n")
elif kind == "summary":
    json.dump({"rows": open("data/prepared/train.csv").read().count("\\n")}, open("summary.json", "w"))
"""

ROOT_DVC_YAML = """\
vars:
  - cfg.json
  - opts.toml
  - prefix: models
stages:
  prepare:
    cmd: python stage.py prep ${prepare.copies}
    deps: [stage.py, data/raw.csv]
    params: [prepare.copies]
    outs: [data/prepared]
  train:
    foreach: ${models}
    do:
      cmd: python stage.py train ${item} ${train.lr}
      deps: [stage.py, data/prepared]
      params:
        - cfg.json:
          - train.lr
        - hp.py:
          - SEED
          - Train.layers
      outs: ["${prefix}/${item}.bin"]
      metrics:
        - metrics/${item}.json:
            cache: false
  grid:
    matrix:
      model: [a, b]
      depth: [3, 5]
    cmd: python stage.py grid ${item.model} ${item.depth}
    deps: [stage.py]
    params:
      - opts.toml:
        - tune.depth
    outs:
      - grid/${item.model}-${item.depth}.yaml:
          cache: false
  summary:
    cmd: python stage.py summary
    deps: [stage.py, data/prepared]
    metrics: [summary.json]  # cached by DVC: not in git, read through dvc.lock's md5
metrics:
  - grid
"""

SUB_DVC_YAML = """\
stages:
  count:
    wdir: work
    cmd: python count.py
    deps: [count.py]
    params:
      - sp.yaml:
        - k
    metrics:
      - out.yaml:
          cache: false
"""

COUNT_PY = """\
import yaml
k = yaml.safe_load(open("sp.yaml"))["k"]
open("../../runs.log", "a").write("count\\n")
open("out.yaml", "w").write(f"count: {k * 2}\\n")
"""

FILES = {
    "params.yaml": "prepare:\n  copies: 2  # how many copies\nmodels: [alpha, beta]\n",
    "cfg.json": '{"train": {"lr": 0.1, "epochs": 3}}\n',
    "opts.toml": '[tune]\ndepth = 4\nname = "deep"\n',
    "hp.py": "SEED = 7\nRATE = 0.5\n\n\nclass Train:\n    layers = 2\n",
    "stage.py": STAGE_PY,
    "dvc.yaml": ROOT_DVC_YAML,
    "sub/dvc.yaml": SUB_DVC_YAML,
    "sub/work/sp.yaml": "k: 3\n",
    "sub/work/count.py": COUNT_PY,
    ".gitignore": "runs.log\n",
}


# --- environment and subprocess helpers ------------------------------------------------------------------------

def runs(repo: Path) -> list[str]:
    log = repo / "runs.log"
    return log.read_text().splitlines() if log.exists() else []


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def tree_md5s(root: Path) -> dict[str, str]:
    """md5 of every file under root (a file or a directory), by path relative to root's parent."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root.parent).as_posix(): md5(p) for p in files}


def copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


def write_files(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# --- one table from either tool, in the same shape -------------------------------------------------------------

@dataclass
class Row:
    """One experiments-table row as both tools can describe it: flattened params/metrics, files that errored."""

    kind: str
    rev: str
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: set[str] = field(default_factory=set)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _dvc_row(kind: str, rev: dict[str, Any]) -> Row:
    row = Row(kind, rev["rev"])
    data = rev.get("data") or {}
    for family in ("params", "metrics"):
        for file, payload in (data.get(family) or {}).items():
            if "error" in payload:
                row.errors.add(file)
            else:
                getattr(row, family)[file] = _flat(payload.get("data") or {})
    return row


def dvc_table(repo: Path, *args: str) -> dict[tuple[str, str], Row]:
    """`dvc exp show --json` keyed (baseline sha, name): ("workspace", "workspace"), (sha, "baseline"), (sha, exp)."""
    table: dict[tuple[str, str], Row] = {}
    for entry in json.loads(dvc(repo, "exp", "show", "--json", *args).stdout):
        if entry["rev"] == "workspace":
            table[("workspace", "workspace")] = _dvc_row("workspace", entry)
            continue
        table[(entry["rev"], "baseline")] = _dvc_row("baseline", entry)
        for exp in entry.get("experiments") or []:
            state = (exp.get("executor") or {}).get("state")
            for rev in exp["revs"]:
                kind = "queued" if state == "queued" else "experiment"
                table[(entry["rev"], rev["name"])] = _dvc_row(kind, rev)
    return table


def exptui_table(repo: Path, *args: str) -> dict[tuple[str, str], Row]:
    """`exptui show --json`, keyed like dvc_table."""
    table: dict[tuple[str, str], Row] = {}
    for r in json.loads(exptui(repo, "show", "--json", *args).stdout):
        key = {"workspace": ("workspace", "workspace"), "baseline": (r["rev"], "baseline")}.get(
            r["kind"], (r["baseline"], r["name"]))
        table[key] = Row(r["kind"], r["rev"], r["params"], r["metrics"], set(r["errors"]))
    return table


def experiments(table: dict[tuple[str, str], Row], kind: str = "experiment") -> dict[tuple[str, str], Row]:
    return {k: v for k, v in table.items() if v.kind == kind}


def assert_same_rows(ours: dict[tuple[str, str], Row], theirs: dict[tuple[str, str], Row],
                     keys: list[tuple[str, str]]) -> None:
    for key in keys:
        a, b = ours[key], theirs[key]
        assert (a.kind, a.rev) == (b.kind, b.rev), key
        assert a.params == b.params, key
        assert a.metrics == b.metrics, key
        assert a.errors == b.errors, key


# --- module repos ----------------------------------------------------------------------------------------------

def init_pipeline(repo: Path) -> Path:
    """The templated multi-pipeline project, committed, not yet run (data/raw.csv added with `dvc add`)."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    write_files(repo, FILES)
    (repo / "data").mkdir()
    (repo / "data" / "raw.csv").write_text("a,b\n1,2\n3,4\n")
    dvc(repo, "add", "-q", "data/raw.csv")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    return repo


@dataclass(frozen=True)
class DvcMade:
    path: Path  # with experiments X, Y and queued Q; the workspace is left as dvc left it (X applied, sp.yaml edited)
    clean: Path  # a copy taken right after the baseline commit: no experiments, workspace clean
    baseline: str


@pytest.fixture(scope="module")
def dvc_made(tmp_path_factory: pytest.TempPathFactory) -> DvcMade:
    """Run by `dvc repro -P` and committed; then `dvc exp run` X, `dvc exp save` Y, and Q left in DVC's queue."""
    repo = init_pipeline(tmp_path_factory.mktemp("dvc-made") / "repo")
    dvc(repo, "repro", "-q", "-P")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline run")
    baseline = git(repo, "rev-parse", "HEAD").strip()
    clean = copy(repo, repo.parent / "clean")
    dvc(repo, "exp", "run", "-q", "-n", "X", "-S", "cfg.json:train.lr=0.2", "-S", "prepare.copies=3",
        "-S", "hp.py:SEED=8")
    (repo / "sub" / "work" / "sp.yaml").write_text("k: 5\n")
    dvc(repo, "exp", "save", "-q", "-n", "Y")
    dvc(repo, "exp", "run", "--queue", "-n", "Q", "-S", "opts.toml:tune.depth=6")
    return DvcMade(repo, clean, baseline)


# --- 1. exptui opens repos made by DVC -------------------------------------------------------------------------

def test_dvc_run_templated_pipelines_are_up_to_date_for_exptui(dvc_made: DvcMade, tmp_path: Path) -> None:
    """vars/${}/foreach/matrix/wdir/four params formats: after `dvc repro` exptui sees nothing to do."""
    repo = copy(dvc_made.clean, tmp_path / "repo")
    assert UP_TO_DATE in dvc(repo, "status").stdout
    assert exptui(repo, "status").stdout.strip() == UP_TO_DATE
    before = runs(repo)
    exptui(repo, "repro")
    assert runs(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_exptui_show_equals_dvc_exp_show_for_dvc_experiments(dvc_made: DvcMade) -> None:
    """Names, revs, params (YAML/JSON/TOML/Python, key-limited) and metrics (JSON/YAML/directory) agree."""
    ours, theirs = exptui_table(dvc_made.path), dvc_table(dvc_made.path)
    b = dvc_made.baseline
    assert set(experiments(ours)) == set(experiments(theirs)) == {(b, "X"), (b, "Y")}
    assert_same_rows(ours, theirs, [("workspace", "workspace"), (b, "baseline"), (b, "X"), (b, "Y")])
    x = ours[(b, "X")]
    assert x.params["cfg.json"] == {"train.lr": 0.2}
    assert x.params["hp.py"] == {"SEED": 8, "Train.layers": 2}
    assert x.params["opts.toml"] == {"tune.depth": 4}
    assert x.params["params.yaml"] == {"prepare.copies": 3, "models": ["alpha", "beta"]}
    assert x.metrics["metrics/alpha.json"] == {"score": 7.2, "model": "alpha"}  # 3 x 12 bytes x 0.2
    assert x.metrics["grid/b-5.yaml"] == {"auc": 0.55, "depth": 5}
    assert ours[(b, "Y")].params["sub/work/sp.yaml"] == {"k": 5}
    assert ours[(b, "baseline")].metrics["sub/work/out.yaml"] == {"count": 6}


def test_data_added_with_dvc_add_is_a_dep_exptui_tracks(dvc_made: DvcMade, tmp_path: Path) -> None:
    """New data through `dvc add`: exptui sees the dep changed, re-runs exactly its downstream, dvc agrees after."""
    repo = copy(dvc_made.clean, tmp_path / "repo")
    (repo / "data" / "raw.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    dvc(repo, "add", "-q", "data/raw.csv")
    status = exptui(repo, "status").stdout
    assert "prepare:" in status and "dep data/raw.csv: modified" in status
    before = len(runs(repo))
    exptui(repo, "repro", "-q")
    assert sorted(runs(repo)[before:]) == ["prep 2", "summary", "train alpha 0.1", "train beta 0.1"]
    assert UP_TO_DATE in dvc(repo, "status").stdout
    assert json.loads((repo / "metrics" / "alpha.json").read_text())["score"] == 3.2  # 2 x 16 bytes x 0.1


def test_repro_commits_a_modified_data_source_like_dvc(dvc_made: DvcMade, tmp_path: Path) -> None:
    repo = copy(dvc_made.clean, tmp_path / "repo")
    with (repo / "data" / "raw.csv").open("a") as f:
        f.write("5,6\n")
    assert "data/raw.csv.dvc:" in exptui(repo, "status").stdout
    exptui(repo, "repro", "-q")
    assert md5(repo / "data" / "raw.csv") in (repo / "data" / "raw.csv.dvc").read_text()
    assert UP_TO_DATE in dvc(repo, "status").stdout


def test_isolated_runs_get_dvc_added_directories_from_the_cache(tmp_path: Path) -> None:
    """A clone holds only `images.dvc`: `exptui run --temp` checks the directory out of the cache, as DVC's
    executors do, and the recorded experiment is what `dvc exp show` lists."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    write_files(repo, {"images/a.txt": "a\n", "images/sub/b.txt": "bb\n", "params.yaml": "scale: 1\n",
                       "count.py": "import os, json, yaml\n"
                                   "s = yaml.safe_load(open('params.yaml'))['scale']\n"
                                   "n = sum(len(f) for _, _, f in os.walk('images'))\n"
                                   "json.dump({'n': n * s}, open('m.json', 'w'))\n",
                       "dvc.yaml": "stages:\n  count:\n    cmd: python count.py\n    deps: [count.py, images]\n"
                                   "    params: [scale]\n    metrics:\n      - m.json:\n          cache: false\n"})
    dvc(repo, "add", "-q", "images")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "images")
    exptui(repo, "run", "--temp", "-q", "-n", "t", "-S", "scale=3")
    head = git(repo, "rev-parse", "HEAD").strip()
    theirs = dvc_table(repo)
    assert theirs[(head, "t")].metrics == {"m.json": {"n": 6}}
    assert_same_rows(exptui_table(repo), theirs, [(head, "t")])


def test_exptui_restores_outs_from_dvcs_cache_without_running(dvc_made: DvcMade, tmp_path: Path) -> None:
    repo = copy(dvc_made.clean, tmp_path / "repo")
    outs = [repo / "data" / "prepared", repo / "models" / "alpha.bin", repo / "summary.json"]
    want = {k: v for out in outs for k, v in tree_md5s(out).items()}
    shutil.rmtree(outs[0])
    outs[1].unlink()
    outs[2].unlink()
    before = runs(repo)
    exptui(repo, "repro", "-q")
    assert runs(repo) == before
    assert {k: v for out in outs for k, v in tree_md5s(out).items()} == want
    assert UP_TO_DATE in dvc(repo, "status").stdout
    assert git(repo, "status", "--porcelain") == ""


def reflog(repo: Path, ref: str) -> str:
    return git(repo, "reflog", "show", "--format=%H %gs", ref)


def test_dvc_queue_is_shown_and_left_intact(dvc_made: DvcMade, tmp_path: Path) -> None:
    """DVC's queued Q is listed as queued with its params; exptui's own runs and queue never touch DVC's queue."""
    repo = copy(dvc_made.path, tmp_path / "repo")
    stash = reflog(repo, "refs/exps/celery/stash")
    dvc_refs = git(repo, "for-each-ref", "refs/exps/celery", "refs/exps/exec")  # exec: left by `dvc exp run`
    assert stash.count("\n") == 1 and stash.rstrip().endswith(":Q")
    b = dvc_made.baseline
    ours = exptui_table(repo)
    theirs = dvc_table(repo)
    assert ours[(b, "Q")].kind == theirs[(b, "Q")].kind == "queued"
    assert ours[(b, "Q")].rev == theirs[(b, "Q")].rev
    assert ours[(b, "Q")].params == theirs[(b, "Q")].params
    assert ours[(b, "Q")].params["opts.toml"] == {"tune.depth": 6}

    exptui(repo, "run", "-q", "-n", "ours", "-S", "cfg.json:train.lr=0.3")
    exptui(repo, "run", "--queue", "-n", "mine", "-S", "cfg.json:train.lr=0.4")
    exptui(repo, "queue", "start", "--wait")
    assert reflog(repo, "refs/exps/celery/stash") == stash
    assert git(repo, "for-each-ref", "refs/exps/celery", "refs/exps/exec") == dvc_refs
    queue = dvc(repo, "queue", "status").stdout
    assert any(line.split()[1:2] == ["Q"] and "Queued" in line for line in queue.splitlines()), queue
    theirs = dvc_table(repo)
    assert theirs[(b, "Q")].kind == "queued"
    assert {k[1] for k in experiments(theirs)} == {"X", "Y", "ours", "mine"}
    assert {k[1] for k in experiments(exptui_table(repo))} == {"X", "Y", "ours", "mine"}


def test_exptui_remove_and_gc_of_dvc_experiments_leave_dvcs_queue_alone(dvc_made: DvcMade, tmp_path: Path) -> None:
    repo = copy(dvc_made.path, tmp_path / "repo")
    stash = reflog(repo, "refs/exps/celery/stash")
    refused = exptui(repo, "remove", "Q", check=False)
    assert refused.returncode == 1 and refused.stderr.strip() == "error: 'Q' is in DVC's own queue; remove it with: " \
                                                                  "dvc queue remove Q"
    exptui(repo, "remove", "X")
    assert dvc(repo, "exp", "list", "--name-only").stdout.split() == ["Y"]
    git(repo, "commit", "-q", "--allow-empty", "-m", "move on")  # Y's baseline is no longer HEAD
    assert "removing Y" in exptui(repo, "gc", "-w", "--yes").stdout
    assert dvc(repo, "exp", "list", "--all-commits", "--name-only").stdout.split() == []
    assert reflog(repo, "refs/exps/celery/stash") == stash


def test_dvcs_failed_queue_runs_are_listed_as_failed(dvc_made: DvcMade, tmp_path: Path) -> None:
    """DVC's celery queue run by `dvc queue start`; the entry fails (lr is not a number)."""
    import time

    repo = copy(dvc_made.clean, tmp_path / "repo")
    dvc(repo, "exp", "run", "-q", "--queue", "-n", "bad", "-S", "cfg.json:train.lr=abc")
    dvc(repo, "queue", "start", "-q", "-j", "1")
    try:
        deadline = time.monotonic() + 180
        while not git(repo, "for-each-ref", "refs/exps/celery/failed"):
            assert time.monotonic() < deadline, "dvc's queue worker did not finish in 180 s"
            time.sleep(0.5)
    finally:
        dvc(repo, "queue", "stop", check=False)  # its worker stops by itself when idle; make sure
    theirs = {k[1]: v for k, v in dvc_table(repo).items()}
    assert theirs["bad"].params["cfg.json"] == {"train.lr": "abc"}  # dvc lists it (state failed)
    ours = [r for r in json.loads(exptui(repo, "show", "--json").stdout) if r["name"] == "bad"]
    assert len(ours) == 1 and ours[0]["status"] == "failed"
    assert ours[0]["params"]["cfg.json"] == {"train.lr": "abc"}


WAIT_PY = """\
import json, os, time, yaml
lr = yaml.safe_load(open("params.yaml"))["lr"]
marks = {marks!r}
open(os.path.join(marks, "started-%s" % lr), "w").close()
deadline = time.time() + 120
while not os.path.exists(os.path.join(marks, "go")) and time.time() < deadline:
    time.sleep(0.1)
json.dump({{"acc": lr}}, open("m.json", "w"))
"""


@pytest.mark.parametrize("how", ["temp", "queue"])
def test_dvc_queue_runs_show_as_running_while_they_run(tmp_path: Path, how: str) -> None:
    """`dvc exp run --temp` and `dvc queue start` runs: listed as running with their params while they run (a run
    leaves DVC's stash when it starts, only its executor info file tells), then as the experiment they recorded;
    the stale info files DVC leaves behind are not mistaken for runs."""
    import time

    marks = tmp_path / "marks"
    marks.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    (repo / "wait.py").write_text(WAIT_PY.format(marks=str(marks)))
    (repo / "params.yaml").write_text("lr: 0.1\n")
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python wait.py\n    deps: [wait.py]\n"
                                   "    params: [lr]\n    metrics:\n      - m.json:\n          cache: false\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    background = None
    if how == "temp":
        background = subprocess.Popen([DVC, "exp", "run", "--temp", "-n", "live", "-S", "lr=0.5"], cwd=repo,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        dvc(repo, "exp", "run", "-q", "--queue", "-n", "live", "-S", "lr=0.5")
        # not through `dvc()`: the celery worker it spawns inherits captured pipes and holds them open
        subprocess.run([DVC, "queue", "start", "-q", "-j", "1"], cwd=repo, check=True, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not (marks / "started-0.5").exists():
            assert time.monotonic() < deadline, f"dvc's {how} run did not start in 180 s"
            time.sleep(0.2)
        ours = {r["name"]: r for r in json.loads(exptui(repo, "show", "--json").stdout)}
        assert ours["live"]["status"] == "running" and ours["live"]["kind"] == "queued"
        assert ours["live"]["params"] == {"params.yaml": {"lr": 0.5}} and ours["live"]["metrics"] == {}
        theirs = json.loads(dvc(repo, "exp", "show", "--json").stdout)
        states = {rev["name"]: (exp.get("executor") or {}).get("state")
                  for entry in theirs for exp in entry.get("experiments") or [] for rev in exp["revs"]}
        assert states.get("live") == "running"                       # dvc says the same
        (marks / "go").touch()
        while not [r for r in git(repo, "for-each-ref", "--format=%(refname)", "refs/exps/").split()
                   if r.endswith("/live") and r.count("/") == 4]:                  # refs/exps/ab/cdef.../live
            assert time.monotonic() < deadline, f"dvc's {how} run did not finish in 180 s"
            time.sleep(0.2)
        if background is not None:
            assert background.wait(timeout=120) == 0
    finally:
        (marks / "go").touch()
        if background is not None and background.poll() is None:
            background.kill()
        if how == "queue":
            dvc(repo, "queue", "stop", check=False)
    deadline = time.monotonic() + 60
    while True:  # the recorded experiment replaces the running row once dvc cleaned the run's checkout up
        rows = [r for r in json.loads(exptui(repo, "show", "--json").stdout) if r["name"] == "live"]
        if [r["status"] for r in rows] == ["success"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [(r["kind"], r["status"], r["metrics"]) for r in rows] == [
        ("experiment", "success", {"m.json": {"acc": 0.5}})]
    assert list((repo / ".dvc" / "tmp" / "exps").rglob("*.run"))  # the stale info files are still there


def test_unreadable_params_or_metrics_are_error_cells_like_dvcs(dvc_made: DvcMade, tmp_path: Path) -> None:
    """A malformed YAML metrics file committed by `dvc exp save`, and a DVC-cached metrics file whose cache is gone:
    an error for that file only, in both tools, the rest of the row intact."""
    repo = copy(dvc_made.path, tmp_path / "repo")
    b = dvc_made.baseline
    (repo / "sub" / "work" / "out.yaml").write_text("count: [6\n")
    dvc(repo, "exp", "save", "-q", "-n", "broken")
    ours = exptui_table(repo)
    assert ours[(b, "broken")].errors == {"sub/work/out.yaml"}
    assert ours[(b, "X")].metrics["summary.json"] == {"rows": 9}  # 3 copies x 3 lines; read from .dvc/cache via dvc.lock's md5
    shutil.rmtree(repo / ".dvc" / "cache" / "files")
    shutil.rmtree(repo / ".dvc" / "tmp" / "exps" / "cache", ignore_errors=True)  # dvc's per-commit results
    shutil.rmtree(repo / ".git" / "exptui" / "index", ignore_errors=True)  # ours
    ours, theirs = exptui_table(repo), dvc_table(repo)
    assert_same_rows(ours, theirs, [(b, "X"), (b, "Y"), (b, "broken")])
    assert ours[(b, "broken")].errors == {"sub/work/out.yaml", "summary.json"}
    assert ours[(b, "X")].errors == {"summary.json"}
    row = ours[(b, "broken")]
    assert row.params["sub/work/sp.yaml"] == {"k": 5} and row.params["cfg.json"] == {"train.lr": 0.2}
    assert row.metrics["metrics/alpha.json"]["score"] == 7.2 and row.metrics["grid/a-3.yaml"]["auc"] == 0.53



def diff_json(repo: Path, cmd: list[str]) -> dict[str, Any]:
    """`exp diff --json` reduced to what both tools print: old/new/diff per key (DVC prints lists as text)."""
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {family: {file: {key: {f: str(v) if isinstance(v, list) else v for f, v in entry.items()
                                  if f in ("old", "new", "diff")}
                            for key, entry in keys.items()}
                     for file, keys in files.items()}
            for family, files in json.loads(proc.stdout).items()}


@pytest.mark.parametrize("extra", [[], ["--all"]], ids=["changed", "all"])
def test_exptui_diff_json_values_equal_dvc_exp_diff(dvc_made: DvcMade, extra: list[str]) -> None:
    """Same old/new/diff values for every changed (with --all: every) param and metric. exptui's argument order
    is the reverse of dvc's: `exptui diff NEW OLD` = `dvc exp diff OLD NEW` (the xfail below pins the gap)."""
    repo = dvc_made.path
    for old, new in (("main", "X"), ("X", "Y")):
        theirs = diff_json(repo, [DVC, "exp", "diff", old, new, "--json", *extra])
        ours = diff_json(repo, [sys.executable, "-m", "exptui", "diff", new, old, "--json", *extra])
        assert ours == theirs, (old, new)
        assert theirs["params"]


@pytest.mark.xfail(strict=True, reason="exptui diff A B compares B (old) to A (new); dvc exp diff A B compares "
                                       "A (old) to B (new); and one argument means 'vs its baseline' in exptui, "
                                       "'vs the workspace' in dvc")
def test_exptui_diff_takes_dvcs_argument_order(dvc_made: DvcMade) -> None:
    repo = dvc_made.path
    theirs = diff_json(repo, [DVC, "exp", "diff", "X", "Y", "--json"])
    ours = diff_json(repo, [sys.executable, "-m", "exptui", "diff", "X", "Y", "--json"])
    assert ours == theirs


def linked_pipeline(repo: Path, cache: Path) -> Path:
    """A one-stage pipeline whose cache lives outside the repo (`dvc cache dir`) with `cache.type symlink`."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    dvc(repo, "cache", "dir", str(cache))
    dvc(repo, "config", "cache.type", "symlink")
    (repo / "seed.txt").write_text("seed\n")
    (repo / "dvc.yaml").write_text("stages:\n  a:\n    cmd: mkdir -p d && cp seed.txt d/x.txt && echo yo > f.txt "
                                   "&& echo ran >> runs.log\n    deps: [seed.txt]\n    outs: [d, f.txt]\n")
    (repo / ".gitignore").write_text("runs.log\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    return repo


def test_cache_dir_and_link_type_from_dvc_config_are_honoured(tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    repo = linked_pipeline(tmp_path / "repo", cache)
    exptui(repo, "repro", "-q")
    assert (cache / "files" / "md5").is_dir() and not (repo / ".dvc" / "cache").exists()
    assert UP_TO_DATE in dvc(repo, "status").stdout
    shutil.rmtree(repo / "d")
    (repo / "f.txt").unlink()
    exptui(repo, "repro", "-q")
    assert runs(repo) == ["ran"]  # restored, not run again
    for out in (repo / "f.txt", repo / "d" / "x.txt"):
        assert out.is_symlink() and Path(os.readlink(out)).is_relative_to(cache)
    assert UP_TO_DATE in dvc(repo, "status").stdout


def test_outs_of_a_stage_that_just_ran_are_linked_like_dvcs(tmp_path: Path) -> None:
    repo = linked_pipeline(tmp_path / "repo", tmp_path / "shared-cache")
    exptui(repo, "repro", "-q")
    assert (repo / "f.txt").is_symlink() and (repo / "d" / "x.txt").is_symlink()


# --- 2. DVC opens repos made by exptui -------------------------------------------------------------------------

@dataclass(frozen=True)
class ExptuiMade:
    path: Path  # experiments: ours (workspace run), sw-1/sw-2 (queue) on `first`; later (--temp) on `second` = HEAD
    clean: Path  # a copy right after `exptui repro` + commit
    first: str
    second: str


@pytest.fixture(scope="module")
def exptui_made(tmp_path_factory: pytest.TempPathFactory) -> ExptuiMade:
    """The same project run by exptui only: `exptui repro`, a workspace run, a queued sweep, a --temp run on a
    second baseline, and annotations on `ours`."""
    repo = init_pipeline(tmp_path_factory.mktemp("exptui-made") / "repo")
    exptui(repo, "repro", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline run")
    first = git(repo, "rev-parse", "HEAD").strip()
    clean = copy(repo, repo.parent / "clean")
    exptui(repo, "run", "-q", "-n", "ours", "-S", "cfg.json:train.lr=0.3", "-S", "hp.py:Train.layers=3")
    exptui(repo, "run", "--queue", "-n", "sw", "-S", "prepare.copies=3,4")
    exptui(repo, "queue", "start", "-j", "2", "--wait")
    exptui(repo, "star", "ours")
    exptui(repo, "label", "ours", "+best")
    exptui(repo, "note", "ours", "layers matter")
    git(repo, "add", "-A")  # keep what `ours` left in the workspace as the next commit
    git(repo, "commit", "-q", "-m", "adopt ours")
    second = git(repo, "rev-parse", "HEAD").strip()
    exptui(repo, "run", "--temp", "-q", "-n", "later", "-S", "opts.toml:tune.depth=7")
    return ExptuiMade(repo, clean, first, second)


def test_exptui_repro_writes_the_locks_dvc_writes(exptui_made: ExptuiMade, dvc_made: DvcMade) -> None:
    """`exptui repro` on the templated multi-pipeline project: dvc is up to date and the locks are byte-identical."""
    repo = exptui_made.clean
    assert UP_TO_DATE in dvc(repo, "status").stdout
    for lock in ("dvc.lock", "sub/dvc.lock", "data/raw.csv.dvc", "data/.gitignore", "models/.gitignore"):
        assert (repo / lock).read_bytes() == (dvc_made.clean / lock).read_bytes(), lock


def test_dvc_exp_show_lists_exptui_experiments_under_their_baselines(exptui_made: ExptuiMade) -> None:
    """Workspace runs, queued sweeps and --temp runs on two baselines: same names, revs, params and metrics."""
    repo, first, second = exptui_made.path, exptui_made.first, exptui_made.second
    ours, theirs = exptui_table(repo, "-A"), dvc_table(repo, "-A")
    keys = {(first, "ours"), (first, "sw-1"), (first, "sw-2"), (second, "later")}
    assert set(experiments(ours)) == set(experiments(theirs)) == keys
    assert_same_rows(ours, theirs, sorted(keys) + [("workspace", "workspace"), (second, "baseline")])
    assert ours[(first, "sw-2")].params["params.yaml"]["prepare.copies"] == 4
    assert ours[(first, "sw-2")].metrics["summary.json"] == {"rows": 12}  # a DVC-cached metric, from the cache
    assert ours[(first, "ours")].params["hp.py"] == {"SEED": 7, "Train.layers": 3}
    assert ours[(second, "later")].metrics["grid/a-3.yaml"] == {"auc": 0.53, "depth": 3}


def test_a_queued_sweep_carries_its_id_and_label_and_dvc_still_lists_its_trials(exptui_made: ExptuiMade) -> None:
    """`run --queue -S prepare.copies=3,4`: both trials carry one sweep id and the label `copies` (Exptui-Sweep
    trailers after DVC's first line), and `dvc exp show` lists them as ordinary experiments."""
    repo, first = exptui_made.path, exptui_made.first
    records = {r["name"]: r for r in json.loads(exptui(repo, "show", "--json", "-A").stdout)
               if r["kind"] == "experiment"}
    sweeps = {(records[n]["facts"]["sweep"], records[n]["facts"]["sweep_label"]) for n in ("sw-1", "sw-2")}
    assert len(sweeps) == 1 and next(iter(sweeps))[1] == "copies"
    assert records["ours"]["facts"]["sweep"] is None and records["later"]["facts"]["sweep"] is None
    message = git(repo, "log", "-1", "--format=%B", records["sw-1"]["rev"])
    assert message.startswith("dvc: commit experiment ") and "\nExptui-Sweep-Label: copies\n" in message
    assert {(first, "sw-1"), (first, "sw-2")} <= set(experiments(dvc_table(repo, "-A")))


def test_dvc_exp_apply_branch_remove_act_on_exptui_experiments(exptui_made: ExptuiMade, tmp_path: Path) -> None:
    repo = copy(exptui_made.path, tmp_path / "repo")
    rows = exptui_table(repo, "-A")
    sw1 = rows[(exptui_made.first, "sw-1")]
    dvc(repo, "exp", "apply", "sw-1")
    assert "copies: 3" in (repo / "params.yaml").read_text()
    assert (repo / "dvc.lock").read_bytes() == git(repo, "show", f"{sw1.rev}:dvc.lock").encode()
    assert UP_TO_DATE in dvc(repo, "status").stdout  # outs the queued run cached were checked out by dvc
    assert (repo / "models" / "alpha.bin").read_text() == "alpha 0.3 36\n"  # queued from the workspace `ours` left
    dvc(repo, "exp", "branch", "sw-2", "from-sw-2")
    assert git(repo, "rev-parse", "from-sw-2").strip() == rows[(exptui_made.first, "sw-2")].rev
    dvc(repo, "exp", "remove", "sw-1", "ours")
    assert {k[1] for k in experiments(exptui_table(repo, "-A"))} == {"sw-2", "later"}
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split()
    assert sorted(r.rsplit("/", 1)[1] for r in refs if r.count("/") == 4) == ["later", "sw-2"]


def test_dvc_gc_keeps_the_data_of_exptui_experiments(exptui_made: ExptuiMade, tmp_path: Path) -> None:
    """`dvc gc -w --all-experiments` finds exptui's experiments' outs through their dvc.lock and keeps them."""
    repo = copy(exptui_made.path, tmp_path / "repo")
    dvc(repo, "gc", "-q", "-f", "-w", "--all-experiments")
    dvc(repo, "exp", "apply", "sw-2")
    assert (repo / "models" / "alpha.bin").read_text() == "alpha 0.3 48\n"  # 4 copies x 12 bytes
    assert UP_TO_DATE in dvc(repo, "status").stdout


# --- the churn demo: real ML outputs (a joblib model, data directories) through dvc's data commands ------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from exptui.demo import build_demo_repo

    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo", experiments=1)


def lock_outs(lock_text: str) -> dict[str, str]:
    """path -> md5 of every out in a dvc.lock text."""
    import yaml

    lock = yaml.safe_load(lock_text)
    return {o["path"]: o["md5"] for s in lock["stages"].values() for o in s.get("outs", [])}


def cached_outs(repo: Path) -> dict[str, str]:
    """The outs of dvc.lock that live in the DVC cache (not tracked by git), path -> md5."""
    tracked = set(git(repo, "ls-files").splitlines())
    # a `cache: false` directory out (DVCLive's plots) is in git file by file
    return {p: h for p, h in lock_outs((repo / "dvc.lock").read_text()).items()
            if p not in tracked and not any(t.startswith(p + "/") for t in tracked)}


def test_dvc_exp_show_equals_exptui_show_on_the_demo(demo: Path) -> None:
    ours, theirs = exptui_table(demo), dvc_table(demo)
    head = git(demo, "rev-parse", "HEAD").strip()
    keys = {(head, "random-forest")}
    assert set(experiments(ours)) == set(experiments(theirs)) == keys
    assert_same_rows(ours, theirs, sorted(keys) + [("workspace", "workspace"), (head, "baseline")])
    assert all(ours[k].metrics["metrics.yaml"] for k in keys)


def test_dvc_checkout_and_exp_apply_restore_outs_from_the_cache_exptui_filled(demo: Path, tmp_path: Path) -> None:
    repo = copy(demo, tmp_path / "repo")
    outs = cached_outs(repo)
    assert {"data/churn.csv", "data/prepared", "models/model.joblib"} <= set(outs)
    want = {p: tree_md5s(repo / p) for p in outs}
    for p in outs:
        shutil.rmtree(repo / p) if (repo / p).is_dir() else (repo / p).unlink()
    dvc(repo, "checkout", "-q")
    assert {p: tree_md5s(repo / p) for p in outs} == want
    assert UP_TO_DATE in dvc(repo, "status").stdout
    # an experiment exptui ran in an isolated dir: its model is in the shared cache, dvc checks it out
    dvc(repo, "exp", "apply", "random-forest")
    model = "models/model.joblib"
    assert md5(repo / model) == lock_outs((repo / "dvc.lock").read_text())[model] != outs[model]
    assert "model: random_forest" in (repo / "params.yaml").read_text()
    assert UP_TO_DATE in dvc(repo, "status").stdout


def test_dvc_push_and_pull_carry_exptui_outputs(demo: Path, tmp_path: Path) -> None:
    """`dvc push` to a local remote, wipe the cache and the outs, `dvc pull`: the same bytes come back."""
    repo = copy(demo, tmp_path / "repo")
    dvc(repo, "remote", "add", "-d", "local", str(tmp_path / "dvc-remote"))
    outs = cached_outs(repo)
    want = {p: tree_md5s(repo / p) for p in outs}
    dvc(repo, "push", "-q")
    shutil.rmtree(repo / ".dvc" / "cache")
    for p in outs:
        shutil.rmtree(repo / p) if (repo / p).is_dir() else (repo / p).unlink()
    dvc(repo, "pull", "-q")
    assert {p: tree_md5s(repo / p) for p in outs} == want
    assert UP_TO_DATE in dvc(repo, "status").stdout
    assert exptui(repo, "status").stdout.strip() == UP_TO_DATE


# --- 3. sharing through a git remote ---------------------------------------------------------------------------

def bare_remote(repo: Path, remote: Path) -> Path:
    git(remote.parent, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    return remote


def exp_refs(repo_or_remote: Path) -> dict[str, str]:
    """Finished-experiment refs (refs/exps/<2>/<38>/<name>) -> sha."""
    out = git(repo_or_remote, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps")
    return {ref: sha for ref, sha in (line.split() for line in out.splitlines()) if ref.count("/") == 4}


def test_exptui_push_pull_between_clones_and_dvc_sees_the_pushed_refs(exptui_made: ExptuiMade,
                                                                      tmp_path: Path) -> None:
    repo = copy(exptui_made.path, tmp_path / "repo")
    remote = bare_remote(repo, tmp_path / "remote.git")
    exptui(repo, "push", "origin")
    assert exp_refs(remote) == exp_refs(repo)  # one ref:ref refspec each, DVC's own refs not moved
    assert not git(remote, "for-each-ref", "refs/exps/exec", "refs/exps/celery", "refs/exptui")

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    exptui(clone, "pull", "origin")
    assert exp_refs(clone) == exp_refs(repo)
    mine, theirs = exptui_table(repo, "-A"), exptui_table(clone, "-A")
    assert set(experiments(theirs)) == set(experiments(mine))
    for key in experiments(mine):
        a, b = mine[key], theirs[key]
        assert (a.rev, a.params) == (b.rev, b.params), key
        # git carries params and git-tracked metrics; DVC-cached ones need `dvc pull`/`dvc exp pull` data
        assert {f: v for f, v in a.metrics.items() if f != "summary.json"} == b.metrics, key
        assert b.errors == {"summary.json"}, key
    shared = next(r for r in json.loads(exptui(clone, "show", "--json", "-A").stdout) if r["name"] == "ours")
    assert (shared["starred"], shared["labels"], shared["note"]) == (True, ["best"], "layers matter")

    listed = dvc(repo, "exp", "list", "--all-commits", "origin").stdout.split()
    assert {"ours", "sw-1", "sw-2", "later"} <= set(listed)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    dvc(other, "exp", "pull", "--no-cache", "origin", "later")
    assert exp_refs(other) == {ref: sha for ref, sha in exp_refs(repo).items() if ref.endswith("/later")}
    assert {k[1] for k in experiments(exptui_table(other))} == {"later"}


def test_exptui_pull_gets_what_dvc_exp_push_pushed(dvc_made: DvcMade, tmp_path: Path) -> None:
    repo = copy(dvc_made.path, tmp_path / "repo")
    remote = bare_remote(repo, tmp_path / "remote.git")
    dvc(repo, "exp", "push", "origin", "X", "Y")
    assert exp_refs(remote) == exp_refs(repo)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert "fetched 2" in exptui(clone, "pull", "origin").stdout
    assert exp_refs(clone) == exp_refs(repo)
    theirs = dvc_table(repo)
    pulled = exptui_table(clone)
    for name in ("X", "Y"):
        key = (dvc_made.baseline, name)
        assert pulled[key].rev == theirs[key].rev
        assert pulled[key].params == theirs[key].params
        assert pulled[key].errors == {"summary.json"}  # cached metric: data not pulled
        assert pulled[key].metrics["metrics/alpha.json"] == theirs[key].metrics["metrics/alpha.json"]
