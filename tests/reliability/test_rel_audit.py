"""Fault scenarios the audit of docs/reliability.md found untested, each reproduced here before its fix.

- an experiment commit whose dvc.lock is corrupt (a hand edit, a hostile remote): `apply` wrote the params and
  metrics and restored no cached output, and said "Applied" with exit 0, leaving the experiment's metrics beside
  another run's outputs;
- two `exptui run --queue` at once (different params): both entries queued, each with its own params.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rel_support import env, error_lines, experiments, exptui, git, make_repo, start


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def replace_file_in_commit(repo: Path, ref: str, path: str, data: bytes, index: Path) -> str:
    """Point `ref` at a copy of its commit whose `path` holds `data` (same parent); returns the new sha."""
    e = env(GIT_INDEX_FILE=str(index))

    def run(*args: str, input: bytes | None = None) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=e, input=input, capture_output=True,
                              check=True).stdout.decode().strip()

    sha = run("rev-parse", ref)
    run("read-tree", sha)
    blob = run("hash-object", "-w", "--stdin", input=data)
    run("update-index", "--cacheinfo", f"100644,{blob},{path}")
    tree = run("write-tree")
    new = run("commit-tree", tree, "-p", f"{sha}^", "-m", f"{path} replaced")
    run("update-ref", ref, new, sha)
    return new


def test_apply_of_an_experiment_with_a_corrupt_dvc_lock_is_not_a_silent_success(repo: Path, tmp_path: Path) -> None:
    assert exptui(repo, "run", "-q", "--temp", "-S", "p.x=5", "-n", "five").returncode == 0
    ref = git(repo, "for-each-ref", "--format=%(refname)", "refs/exps/").strip()
    replace_file_in_commit(repo, ref, "dvc.lock", b"stages: [unclosed\n  - {\n", tmp_path / "index")
    old_out = (repo / "out.txt").read_text()
    proc = exptui(repo, "apply", "five")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    (line,) = error_lines(proc.stderr)
    assert line.startswith("error: ") and "dvc.lock:" in line and "not the experiment's" in line, line
    assert (repo / "out.txt").read_text() == old_out   # nothing pretends to be the experiment's output
    assert exptui(repo, "show").returncode == 0   # the table still renders


def test_two_run_queue_at_once_queue_both_with_their_own_params(repo: Path) -> None:
    # a generous lock wait: the point is that both land, not how long a loaded machine takes to snapshot
    procs = [start(repo, "run", "--queue", "-S", f"p.x={x}", "-n", f"q{x}", EXPTUI_LOCK_WAIT="300") for x in (11, 12)]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    entries = json.loads(exptui(repo, "queue", "status", "--json").stdout)["entries"]
    assert sorted(e["name"] for e in entries) == ["q11", "q12"]
    assert exptui(repo, "queue", "start", "--wait").returncode == 0
    found = experiments(repo)
    assert sorted(found) == ["q11", "q12"]
    for name, sha in found.items():
        assert json.loads(git(repo, "show", f"{sha}:metrics.json"))["y"] == 7 * int(name[1:]) + 1
