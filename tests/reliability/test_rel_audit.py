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


def test_malformed_params_in_a_pulled_experiment_are_an_error_cell_and_the_table_renders(
        repo: Path, tmp_path: Path) -> None:
    """An experiment pulled from a remote whose params.yaml is not YAML: pulled as it is (it is the remote's
    history) and shown with error cells; the other rows still show. Its metric showed '-' (no value) before."""
    assert exptui(repo, "run", "-q", "--temp", "-S", "p.x=5", "-n", "five").returncode == 0
    assert exptui(repo, "run", "-q", "--temp", "-S", "p.x=6", "-n", "six").returncode == 0
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/exps/").split()
    for ref in refs:
        git(remote, "update-ref", ref, git(repo, "rev-parse", ref).strip())
    bad = next(r for r in refs if r.endswith("/five"))
    replace_file_in_commit(remote, bad, "params.yaml", b"p: [unclosed\n", tmp_path / "index")
    for ref in refs:
        git(repo, "update-ref", "-d", ref)
    pulled = exptui(repo, "pull", str(remote))
    assert pulled.returncode == 0 and "Traceback" not in pulled.stderr, pulled.stderr
    assert sorted(experiments(repo)) == ["five", "six"]
    shown = exptui(repo, "show")
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    five = next(line for line in shown.stdout.splitlines() if "five" in line)
    # params.yaml unreadable: so is dvc.yaml (it reads params.yaml for its variables, as DVC does), so which
    # metrics the row has is unknown: '!' in every cell, never '-' ("no value")
    assert five.split()[-4:] == ["!"] * 4, shown.stdout
    assert "43" in next(line for line in shown.stdout.splitlines() if "six" in line), shown.stdout
    as_json = exptui(repo, "show", "--json")
    assert as_json.returncode == 0 and "Traceback" not in as_json.stderr, as_json.stderr
    json.loads(as_json.stdout)
