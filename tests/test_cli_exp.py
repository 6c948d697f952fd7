"""The experiment commands through the real CLI (subprocesses), on a real repo."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

try:  # tests/ may or may not be a package
    from tests.test_store_support import exptui, git, make_pipeline
except ImportError:  # pragma: no cover
    from test_store_support import exptui, git, make_pipeline


@pytest.fixture
def repo(git_repo: Path) -> Path:
    return make_pipeline(git_repo)


def _show(repo: Path, *args: str) -> list[dict]:
    return json.loads(exptui(repo, "show", "--json", *args).stdout)


def test_run_show_diff_and_schema(repo: Path) -> None:
    out = exptui(repo, "run", "-S", "train.lr=0.3", "-n", "lr3")
    assert "Recorded experiment lr3" in out.stdout and "> python train.py" not in out.stderr
    exptui(repo, "run", "-q", "-S", "train.lr=0.5", "-n", "lr5")
    rows = _show(repo)
    assert [r["kind"] for r in rows] == ["workspace", "baseline", "experiment", "experiment"]
    keys = {"name", "rev", "baseline", "baseline_name", "kind", "status", "created", "params", "metrics",
            "errors", "starred", "labels", "note", "facts"}
    assert all(keys <= set(r) for r in rows)
    lr3 = next(r for r in rows if r["name"] == "lr3")
    assert lr3["params"]["params.yaml"]["train.lr"] == 0.3 and lr3["metrics"]["metrics.json"]["acc"] == 0.6
    assert lr3["facts"]["command"].startswith("exptui ") and lr3["facts"]["command"].endswith("run -S train.lr=0.3 -n lr3")
    assert lr3["created"].endswith("+00:00")
    # filtered/sorted JSON goes through the table model and keeps the same record shape
    best = _show(repo, "--filter", "acc > 0.7", "--sort-by", "acc:desc")
    assert [r["name"] for r in best if r["kind"] == "experiment"] == ["lr5"]
    diff = json.loads(exptui(repo, "diff", "lr5", "lr3", "--json").stdout)
    assert diff["params"]["params.yaml"]["train.lr"]["old"] == 0.3
    assert diff["params"]["params.yaml"]["train.lr"]["new"] == 0.5
    text = exptui(repo, "diff", "lr3").stdout
    assert "train.lr" in text and "main" in text
    table = exptui(repo, "show").stdout
    assert "lr3" in table and "train.lr" in table
    assert exptui(repo, "show", "--md").stdout.startswith("| Experiment")
    assert exptui(repo, "show", "--csv").stdout.splitlines()[0].startswith("name,rev")
    header = exptui(repo, "show", "--csv", "--only-changed").stdout.splitlines()[0]
    assert "train.lr" in header and "train.epochs" not in header and "seed" not in header
    header = exptui(repo, "show", "--csv", "--drop", ".*", "--keep", "acc").stdout.splitlines()[0]
    assert header.endswith(",acc")


def test_filter_error_points_at_the_column(repo: Path) -> None:
    exptui(repo, "run", "-q", "-S", "train.lr=0.3")
    proc = exptui(repo, "show", "--filter", "acc >", check=False)
    assert proc.returncode != 0
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: ")
    assert lines[1] == "  acc >"
    assert lines[2].strip() == "^" and 2 <= lines[2].index("^") < len(lines[1])  # under the expression
    proc = exptui(repo, "show", "--filter", "acx > 1", check=False)
    assert proc.returncode == 1 and "acx" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_errors_are_one_line(repo: Path) -> None:
    exptui(repo, "run", "-q", "-S", "train.lr=0.3", "-n", "x")
    proc = exptui(repo, "run", "-q", "-S", "train.lr=0.4", "-n", "x", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: experiment 'x' already exists for baseline main; use -f to replace it or choose another name")
    proc = exptui(repo, "run", "-S", "train.lrr=1", check=False)
    assert proc.returncode == 1 and "train.lr" in proc.stderr and "Traceback" not in proc.stderr
    proc = exptui(repo, "apply", "nope", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: no experiment")
    proc = exptui(repo, "run", "-S", "train.lr=1,2", check=False)
    assert proc.returncode != 0 and "--queue" in proc.stderr


def test_not_a_repo_and_empty_repo(tmp_path: Path) -> None:
    proc = exptui(tmp_path, "show", check=False)
    assert proc.returncode == 1 and "not inside a git repository" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    proc = exptui(empty, "show", check=False)
    assert proc.returncode == 1 and "initial commit" in proc.stderr


def test_apply_branch_remove_star_label_note_gc(repo: Path) -> None:
    exptui(repo, "run", "-q", "-S", "train.lr=0.3", "-n", "a")
    exptui(repo, "run", "-q", "-S", "train.lr=0.5", "-n", "b")
    out = exptui(repo, "apply", "a", "--force").stdout
    assert "Applied a" in out
    assert "lr: 0.3" in (repo / "params.yaml").read_text()
    exptui(repo, "branch", "a", "exp-a")
    assert git(repo, "log", "-1", "--format=%s", "exp-a").startswith("dvc: commit experiment")
    exptui(repo, "star", "a")
    exptui(repo, "label", "a", "+best", "cand", "-cand")
    exptui(repo, "note", "a", "the good one")
    a = next(r for r in _show(repo) if r["name"] == "a")
    assert a["starred"] and a["labels"] == ["best"] and a["note"] == "the good one"
    assert exptui(repo, "label", "a").stdout.strip() == "best"
    assert "removed b" in exptui(repo, "remove", "b").stdout
    assert [r["name"] for r in _show(repo) if r["kind"] == "experiment"] == ["a"]
    out = exptui(repo, "gc", "--yes").stdout
    assert "nothing to remove" in out  # a's baseline is still on main
    assert exptui(repo, "remove", "--all").stdout.strip() == f"removed a ({a['rev'][:7]})"


def test_push_pull_round_trip(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "r.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    exptui(repo, "run", "-q", "-S", "train.lr=0.3", "-n", "shared")
    exptui(repo, "star", "shared")
    assert "pushed 1" in exptui(repo, "push", "origin").stdout
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert "fetched 1" in exptui(clone, "pull", "origin").stdout
    rows = {r["name"]: r for r in _show(clone)}
    assert rows["shared"]["starred"] and rows["shared"]["metrics"]["metrics.json"]["acc"] == 0.6


def test_two_concurrent_temp_runs_both_land_and_leave_the_workspace_alone(repo: Path) -> None:
    import subprocess
    import sys

    before = (repo / "params.yaml").read_text()
    procs = [subprocess.Popen([sys.executable, "-m", "exptui", "-C", str(repo), "run", "--temp", "-q",
                               "-S", f"train.lr={lr}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for lr in (0.2, 0.4)]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, out + err
    rows = [r for r in _show(repo) if r["kind"] == "experiment"]
    assert sorted(r["params"]["params.yaml"]["train.lr"] for r in rows) == [0.2, 0.4]
    assert sorted(r["metrics"]["metrics.json"]["acc"] for r in rows) == [0.4, 0.8]
    assert (repo / "params.yaml").read_text() == before
    assert git(repo, "status", "--porcelain").strip() == ""


def test_queue_a_sweep_and_run_it_to_recorded_experiments(repo: Path) -> None:
    import time

    dry = exptui(repo, "run", "--dry", "-S", "train.lr=0.2,0.3").stdout.split()
    assert dry == ["train.lr=0.2", "train.lr=0.3"]
    out = exptui(repo, "run", "--queue", "-n", "sw", "-S", "train.lr=0.2,0.3").stdout
    assert "queued sw-1" in out and "queued sw-2" in out
    queued = [r for r in _show(repo) if r["kind"] == "queued"]
    assert sorted(r["name"] for r in queued) == ["sw-1", "sw-2"]
    exptui(repo, "queue", "start", "-j", "2")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = _show(repo)
        done = {r["name"]: r for r in rows if r["kind"] == "experiment"}
        if len(done) == 2 and not any(r["kind"] == "queued" for r in rows):
            break
        time.sleep(0.5)
    assert sorted(done) == ["sw-1", "sw-2"]
    assert done["sw-2"]["metrics"]["metrics.json"]["acc"] == 0.6
    assert done["sw-1"]["facts"]["host"]
    assert "lr: 0.1" in (repo / "params.yaml").read_text()  # queued runs never touch the workspace


def test_show_all_commits_and_history_depth(repo: Path) -> None:
    exptui(repo, "run", "-q", "-S", "train.lr=0.3", "-n", "old")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "results")
    exptui(repo, "run", "-q", "-S", "train.lr=0.4", "-n", "new")
    names = lambda *a: [r["name"] for r in _show(repo, *a) if r["kind"] == "experiment"]  # noqa: E731
    assert names() == ["new"]
    assert sorted(names("-A")) == ["new", "old"]
    assert sorted(names("-n", "2")) == ["new", "old"]
    baselines = [r for r in _show(repo, "-n", "2") if r["kind"] == "baseline"]
    assert [b["baseline_name"] for b in baselines][0] == "main" and len(baselines) == 2
