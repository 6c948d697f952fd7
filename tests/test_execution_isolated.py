"""`run_isolated` on a real DVC-layout repo: shared cache, restored stages, DVC-readable result, clean up."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from dvc_compat.config import init_dvc_dir
from exptui.execution.executor import Executor, LocalProcessExecutor
from exptui.execution.isolated import point_dvc_cache, run_isolated, shared_cache_dir
from exptui.execution.queue_manager import QueueManager
from exptui.pipeline.repro import reproduce
from exptui.store.git import Git
from test_queue_support import fingerprint, git

PREP = """
import os, yaml
n = yaml.safe_load(open("params.yaml"))["prep"]["n"]
os.makedirs("data", exist_ok=True)
open("data/prep.txt", "w").write("\\n".join(str(i) for i in range(n)))
with open(os.environ["COUNT_FILE"], "a") as f:
    f.write("prep\\n")
"""
TRAIN = """
import os, yaml
lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
rows = open("data/prep.txt").read().split()
open("metrics.yaml", "w").write("score: %s\\n" % (len(rows) * lr))
with open(os.environ["COUNT_FILE"], "a") as f:
    f.write("train\\n")
"""
DVC_YAML = """stages:
  prep:
    cmd: python prep.py
    deps: [prep.py]
    params: [prep]
    outs: [data/prep.txt]
  train:
    cmd: python train.py
    deps: [train.py, data/prep.txt]
    params: [train]
    metrics:
      - metrics.yaml:
          cache: false
"""


@pytest.fixture
def dvc_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DVC-layout repo whose baseline commit carries a dvc.lock (outs in the cache), as after `dvc repro`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    init_dvc_dir(repo)
    (repo / "prep.py").write_text(PREP)
    (repo / "train.py").write_text(TRAIN)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "params.yaml").write_text("prep:\n  n: 10\ntrain:\n  lr: 0.5\n")
    monkeypatch.setenv("COUNT_FILE", str(tmp_path / "count.txt"))
    reproduce(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline with lock")
    (tmp_path / "count.txt").unlink()
    return repo


def counts(tmp_path: Path) -> list[str]:
    f = tmp_path / "count.txt"
    return f.read_text().split() if f.exists() else []


def test_queued_run_restores_unchanged_stages_from_the_shared_cache(dvc_repo: Path, tmp_path: Path) -> None:
    before = fingerprint(dvc_repo)
    q = QueueManager(dvc_repo)
    (entry,) = q.enqueue(["train.lr=2"], name="fast")
    q.start(jobs=1, detach=False)
    e = q.find("fast")
    assert e.status == "success", e.reason
    assert counts(tmp_path) == ["train"]  # prep matched the baseline lock: restored from the cache, not re-run
    assert yaml.safe_load(git(dvc_repo, "show", f"{e.exp_rev}:metrics.yaml")) == {"score": 20.0}
    lock = yaml.safe_load(git(dvc_repo, "show", f"{e.exp_rev}:dvc.lock"))
    assert set(lock["stages"]) == {"prep", "train"}
    # the cached out is not in git (ignored by the .gitignore DVC writes), only its md5 in the lock
    assert "data/prep.txt" not in git(dvc_repo, "ls-tree", "-r", "--name-only", e.exp_rev).split()
    assert fingerprint(dvc_repo) == before


def test_run_isolated_is_reusable_and_cleans_up(dvc_repo: Path, tmp_path: Path) -> None:
    g = Git(dvc_repo)
    baseline = g.head()
    snapshot = g.commit_tree(g.snapshot_workspace(), [baseline], "snapshot for a temp run\n")
    chunks: list[bytes] = []
    stages: list[str | None] = []
    run_dir = tmp_path / "rd"
    result = run_isolated(dvc_repo, snapshot, baseline, "tmp-run", tmp_path / "tmp.log", run_dir=run_dir,
                          sink=chunks.append, on_stage=stages.append, git=g)
    assert result.status == "success" and result.name == "tmp-run"
    assert result.exp_ref.endswith("/tmp-run") and git(dvc_repo, "rev-parse", result.exp_ref).strip() == result.exp_rev
    assert stages[-1] is None and not run_dir.exists()
    assert shared_cache_dir(dvc_repo, g) == (dvc_repo / ".dvc" / "cache").resolve()
    # same name again: a suffixed name, never an overwrite (force=False, on_conflict=suffix)
    (dvc_repo / "params.yaml").write_text("prep:\n  n: 10\ntrain:\n  lr: 0.25\n")
    snap2 = g.commit_tree(g.snapshot_workspace(), [baseline], "second\n")
    again = run_isolated(dvc_repo, snap2, baseline, "tmp-run", None, git=g)
    assert again.status == "success" and again.name == "tmp-run-2"
    assert git(dvc_repo, "rev-parse", result.exp_ref).strip() == result.exp_rev


def test_failing_stage_records_nothing(dvc_repo: Path, tmp_path: Path) -> None:
    g = Git(dvc_repo)
    (dvc_repo / "train.py").write_text("import sys; print('boom'); sys.exit(3)\n")
    snap = g.commit_tree(g.snapshot_workspace(), [g.head()], "broken\n")
    result = run_isolated(dvc_repo, snap, g.head(), "broken", tmp_path / "b.log", git=g)
    assert result.status == "failed" and "exit code 3" in result.reason
    assert b"boom" in (tmp_path / "b.log").read_bytes()
    assert git(dvc_repo, "for-each-ref", "refs/exps/") == ""


def test_config_local_points_at_the_shared_cache(tmp_path: Path) -> None:
    rd = tmp_path / "rd"
    (rd / ".dvc").mkdir(parents=True)
    (rd / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (rd / ".dvc" / "config.local").write_text("[core]\n    remote = x\n[cache]\n    dir = /old\n    type = copy\n")
    point_dvc_cache(rd, Path("/shared/cache"))
    text = (rd / ".dvc" / "config.local").read_text()
    assert "dir = /shared/cache" in text and "/old" not in text and "type = copy" in text and "remote = x" in text


def test_local_process_executor_runs_submitted_entries(dvc_repo: Path, tmp_path: Path) -> None:
    q = QueueManager(dvc_repo)
    entries = q.enqueue(["train.lr=1,2,3"], name="ex")
    ex = LocalProcessExecutor(dvc_repo, jobs=2)
    assert isinstance(ex, Executor)
    for e in entries:
        ex.submit(e)
    assert ex.cancel(entries[2].id) in (True, False)  # pending -> dropped (stays queued) or running -> cancelled
    assert ex.wait(timeout=60)
    ex.shutdown()
    statuses = [q.find(e.id).status for e in entries]
    assert statuses[:2] == ["success", "success"]
    assert statuses[2] in ("queued", "cancelled")


@pytest.mark.dvc
def test_dvc_exp_show_reads_queued_results(dvc_repo: Path) -> None:
    q = QueueManager(dvc_repo)
    q.enqueue(["train.lr=1,3"], name="interop")
    q.start(jobs=1, detach=False)
    q.enqueue(["train.lr=4"], name="still-queued")  # our queue refs must not break DVC's listing
    out = subprocess.run(["dvc", "exp", "show", "--json"], cwd=dvc_repo, capture_output=True, text=True,
                         env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    names = set()
    for baseline in data:
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                names.add(rev.get("name"))
    assert {"interop-1", "interop-2"} <= names


def test_run_dir_is_a_working_repo_at_the_snapshot_borrowing_objects(dvc_repo: Path, tmp_path: Path) -> None:
    """The run dir written without `git clone`: detached HEAD at the snapshot, a clean status, history readable
    through the alternates, git commands in it never touch the user's refs, and nothing copied into .git."""
    from exptui.execution.isolated import make_run_dir

    before = fingerprint(dvc_repo)
    refs = git(dvc_repo, "for-each-ref")
    head = git(dvc_repo, "rev-parse", "HEAD").strip()
    run_dir = tmp_path / "rd"
    make_run_dir(dvc_repo, dvc_repo / ".git", head, run_dir)
    assert git(run_dir, "rev-parse", "HEAD").strip() == head
    assert git(run_dir, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(run_dir, "log", "--format=%H").split() == git(dvc_repo, "log", "--format=%H").split()
    assert (run_dir / "params.yaml").read_bytes() == git_bytes(dvc_repo, "show", f"{head}:params.yaml")
    git(run_dir, "commit", "-q", "--allow-empty", "-m", "a stage that commits")  # acts on the run dir only
    git(run_dir, "branch", "from-a-stage")
    assert fingerprint(dvc_repo) == before and git(dvc_repo, "for-each-ref") == refs
    assert list((run_dir / ".git" / "objects" / "pack").iterdir()) == []  # no object copied


def git_bytes(cwd: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True).stdout
