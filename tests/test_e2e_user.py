"""A demanding user's session, end to end, through the real `exptui` command on a real git + DVC repo.

repro/status/dag -> one experiment in the workspace -> show/diff -> back to the baseline with apply -> a sweep on
the queue run by two workers -> filter/sort -> apply the best -> branch it -> star/label/note -> remove ->
push to a bare remote and pull into a fresh clone -> doctor. Every number checked is computed by the pipeline
(stage `a` writes x.lr, stage `b` turns it into metric m), so a wrong file in the wrong place shows up as a wrong
number.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

try:  # tests/ may or may not be a package
    from tests.test_bad_input import PARAMS, _git, _write_tiny_repo, exptui
except ImportError:  # pragma: no cover
    from test_bad_input import PARAMS, _git, _write_tiny_repo, exptui


def _rows(repo: Path, *args: str) -> list[dict]:
    return json.loads(exptui(repo, "show", "--json", *args, check=True).stdout)


def _by_name(rows: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in rows}


def _workspace_is(repo: Path, lr: float) -> None:
    """params, the cached out a.txt and the metric all say `lr`, and the pipeline is up to date."""
    assert yaml.safe_load((repo / "params.yaml").read_text())["x"]["lr"] == lr
    assert float((repo / "a.txt").read_text()) == lr
    assert json.loads((repo / "metrics.json").read_text())["m"] == lr
    status = exptui(repo, "status", check=True)
    assert "up to date" in status.stdout, status.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "work"
    _write_tiny_repo(repo)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "tiny pipeline")
    return repo


def test_a_users_session(repo: Path, tmp_path: Path) -> None:
    # --- the pipeline ---------------------------------------------------------------------------------------------
    first = exptui(repo, "repro", check=True)
    assert "Running stage 'a'" in first.stdout and "Running stage 'b'" in first.stdout
    again = exptui(repo, "repro", check=True)
    assert "Running stage" not in again.stdout  # unchanged stages are skipped by content hash
    assert "up to date" in exptui(repo, "status", check=True).stdout
    dag = exptui(repo, "dag", check=True).stdout
    assert "a" in dag and "b" in dag and dag.index(" a ") < dag.index(" b ")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "baseline")
    _workspace_is(repo, 0.1)

    # --- one experiment in the workspace --------------------------------------------------------------------------
    run = exptui(repo, "run", "-S", "x.lr=0.3", "-n", "lr3", check=True)
    assert "Recorded experiment lr3" in run.stdout and "m=0.3" in run.stdout
    _workspace_is(repo, 0.3)
    rows = _by_name(_rows(repo))
    assert rows["lr3"]["kind"] == "experiment" and rows["lr3"]["metrics"]["metrics.json"]["m"] == 0.3
    assert rows["lr3"]["params"]["params.yaml"]["x.lr"] == 0.3 and rows["main"]["kind"] == "baseline"
    diff = exptui(repo, "diff", "lr3", check=True).stdout
    assert "x.lr" in diff and "0.1" in diff and "0.3" in diff
    assert exptui(repo, "diff", "lr3", "--md", check=True).stdout.startswith("| Path")
    table = exptui(repo, "show", check=True).stdout
    assert "lr3" in table and "x.lr" in table and "Traceback" not in table

    # --- back to the baseline: every file the run changed comes back, the cached output too -----------------------
    back = exptui(repo, "apply", "main", check=True)
    assert "Traceback" not in back.stderr
    _workspace_is(repo, 0.1)
    assert _git(repo, "status", "--porcelain") == ""

    # --- a sweep on the queue, two workers ------------------------------------------------------------------------
    dry = exptui(repo, "run", "--queue", "--dry", "-S", "x.lr=0.5,0.7", check=True)
    assert "x.lr=0.5" in dry.stdout and "x.lr=0.7" in dry.stdout
    assert _git(repo, "for-each-ref", "refs/exptui") == ""  # --dry queues nothing
    queued = exptui(repo, "run", "--queue", "-S", "x.lr=0.5,0.7", check=True)
    names = [line.split()[1] for line in queued.stdout.splitlines() if line.startswith("queued ")]
    assert len(names) == 2
    status = exptui(repo, "queue", "status", check=True).stdout
    assert status.count("queued") >= 2
    done = exptui(repo, "queue", "start", "-j", "2", "--wait", check=True)
    assert "2 success" in done.stdout, done.stdout
    assert (repo / "params.yaml").read_text() == PARAMS  # workers never touch the workspace
    rows = _by_name(_rows(repo))
    swept = {rows[n]["params"]["params.yaml"]["x.lr"]: rows[n] for n in names}
    assert set(swept) == {0.5, 0.7}
    for lr, row in swept.items():
        assert row["kind"] == "experiment" and row["status"] == "success"
        assert row["metrics"]["metrics.json"]["m"] == lr
    best = swept[0.7]["name"]
    log = exptui(repo, "queue", "logs", best, check=True).stdout
    assert "> python a.py" in log and "> python b.py" in log and f"recorded experiment {best}" in log

    # --- filter and sort, as CSV for a script ---------------------------------------------------------------------
    csv_lines = exptui(repo, "show", "--csv", "--filter", "m > 0.4", "--sort-by", "m:desc", check=True).stdout.splitlines()
    header = csv_lines[0].split(",")
    exps = [dict(zip(header, line.split(","))) for line in csv_lines[1:]]
    exps = [e for e in exps if e["kind"] == "experiment"] if "kind" in header else exps
    assert [e["name"] for e in exps][:2] == [best, swept[0.5]["name"]]

    # --- apply the best, branch it --------------------------------------------------------------------------------
    exptui(repo, "apply", best, check=True)
    _workspace_is(repo, 0.7)
    exptui(repo, "branch", best, "best-lr", check=True)
    on_branch = yaml.safe_load(_git(repo, "show", "best-lr:params.yaml"))
    assert on_branch["x"]["lr"] == 0.7
    assert _git(repo, "rev-parse", "HEAD").strip() == _git(repo, "rev-parse", "main").strip()  # HEAD did not move

    # --- annotations travel with the rows -------------------------------------------------------------------------
    exptui(repo, "star", best, check=True)
    exptui(repo, "label", best, "+keep", "+lr", check=True)
    exptui(repo, "note", best, "best so far", check=True)
    row = _by_name(_rows(repo))[best]
    assert row["starred"] is True and set(row["labels"]) == {"keep", "lr"} and row["note"] == "best so far"
    exptui(repo, "label", best, "-lr", check=True)
    assert _by_name(_rows(repo))[best]["labels"] == ["keep"]

    # --- remove one ----------------------------------------------------------------------------------------------
    exptui(repo, "remove", "lr3", check=True)
    assert "lr3" not in _by_name(_rows(repo))
    gone = exptui(repo, "apply", "lr3")
    assert gone.returncode != 0 and "'lr3'" in gone.stderr and "Traceback" not in gone.stderr

    # --- share through a git remote, pick up in a fresh clone ---------------------------------------------------------
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "origin", "main")
    exptui(repo, "push", "origin", check=True)
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert {r["name"] for r in _rows(clone) if r["kind"] == "experiment"} == set()
    exptui(clone, "pull", "origin", check=True)
    pulled = _by_name(_rows(clone))
    assert {n for n, r in pulled.items() if r["kind"] == "experiment"} == set(names)
    assert pulled[best]["starred"] is True and pulled[best]["note"] == "best so far"
    assert pulled[best]["metrics"]["metrics.json"]["m"] == 0.7

    # --- nothing left behind ----------------------------------------------------------------------------------------
    doctor = exptui(repo, "doctor", check=True)
    assert "no problems found" in doctor.stdout
    assert not any(p.name.startswith("exptui-run") for p in repo.parent.iterdir())


def test_show_survives_a_broken_params_file_with_error_cells(repo: Path) -> None:
    """As `dvc exp show`: a workspace params file that does not parse is shown as error cells ('!'), the
    committed rows stay readable, one warning line says why, and the JSON names the file in `errors`."""
    exptui(repo, "repro", check=True)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "baseline")
    (repo / "params.yaml").write_text("x:\n  lr: 0.1\n depth: 3\n")
    proc = exptui(repo, "show")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    ws = next(line for line in proc.stdout.splitlines() if line.startswith("workspace"))
    assert "!" in ws
    warning = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(warning) == 1 and warning[0].startswith("warning: params.yaml:3: invalid YAML"), proc.stderr
    rows = _by_name(_rows(repo))
    assert rows["main"]["params"]["params.yaml"]["x.lr"] == 0.1
    assert "params.yaml" in json.dumps(rows["workspace"]["errors"])
