"""Bad input, as a user meets it: every case is a real `exptui` subprocess on a real git + DVC repo.

The product's rule: one clear `error:` line that names the file (line or key) and says what to do, a non-zero
exit, no traceback, and nothing lost: dvc.yaml, params.yaml, dvc.lock and the experiment refs stay as they were.
Ctrl-C during `repro`, `run` and `queue start --wait` leaves the repo consistent and exits 130 with one line.

A template repo (two tiny stages, one recorded experiment) is built once per module; each test works on a copy.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
EXPTUI = str(BIN / "exptui")

DVC_YAML = """\
stages:
  a:
    cmd: python a.py
    deps: [in.txt, a.py]
    params: [x.lr]
    outs: [a.txt]
  b:
    cmd: python b.py
    deps: [a.txt, b.py]
    metrics:
      - metrics.json:
          cache: false
"""
A_PY = """\
import yaml
p = yaml.safe_load(open("params.yaml"))
open("a.txt", "w").write(str(p["x"]["lr"]))
"""
B_PY = """\
import json
json.dump({"m": float(open("a.txt").read())}, open("metrics.json", "w"))
"""
# b.py that announces it started (a file named by $EXPTUI_QA_MARK), then sleeps: a deterministic Ctrl-C point.
SLOW_B_PY = """\
import json, os, pathlib, time
pathlib.Path(os.environ["EXPTUI_QA_MARK"]).write_text("started")
time.sleep(60)
json.dump({"m": float(open("a.txt").read())}, open("metrics.json", "w"))
"""
PARAMS = "x:\n  lr: 0.1\n  depth: 3\n"
WATCHED = ("dvc.yaml", "params.yaml", "dvc.lock")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="QA", GIT_AUTHOR_EMAIL="qa@example.invalid", GIT_COMMITTER_NAME="QA",
        GIT_COMMITTER_EMAIL="qa@example.invalid", GIT_CONFIG_NOSYSTEM="1", DVC_NO_ANALYTICS="1",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra,
    )
    return env


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=_env(), check=True, capture_output=True, text=True).stdout


def exptui(cwd: Path, *args: str, check: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([EXPTUI, *args], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _write_tiny_repo(repo: Path) -> None:
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("")
    (repo / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "a.py").write_text(A_PY)
    (repo / "b.py").write_text(B_PY)
    (repo / "params.yaml").write_text(PARAMS)
    (repo / "in.txt").write_text("hi\n")
    (repo / ".gitignore").write_text("/a.txt\n")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Baseline reproduced and committed on main, plus experiment `e1` (x.lr=0.2); workspace clean."""
    repo = tmp_path_factory.mktemp("bad-input") / "template"
    _write_tiny_repo(repo)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "tiny pipeline")
    exptui(repo, "repro", check=True)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "baseline")
    exptui(repo, "run", "-q", "-S", "x.lr=0.2", "-n", "e1", check=True)
    for name in ("params.yaml", "dvc.lock", "metrics.json"):  # back to the baseline's files
        _git(repo, "checkout", "-q", "HEAD", "--", name)
    exptui(repo, "repro", "-q", check=True)  # a.txt back to the baseline's
    assert _git(repo, "status", "--porcelain") == ""
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(template, dest, symlinks=True)
    return dest


def _state(repo: Path) -> dict[str, str | None]:
    """Digests of the watched files and every ref (experiments, queue, notes, branches)."""
    out: dict[str, str | None] = {}
    for name in WATCHED:
        path = repo / name
        out[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    if (repo / ".git").is_dir():
        out["refs"] = subprocess.run(["git", "for-each-ref", "--format=%(refname) %(objectname)"], cwd=repo,
                                     capture_output=True, text=True).stdout
    return out


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *mentions: str) -> str:
    """Non-zero exit, exactly one non-empty stderr line starting with `error: ` that names every mention."""
    assert proc.returncode != 0, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    lines = _lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for m in mentions:
        assert m in line, f"{m!r} not in {line!r}"
    return line


def _bad_case(repo: Path, args: tuple[str, ...], *mentions: str) -> str:
    before = _state(repo)
    line = assert_one_line_error(exptui(repo, *args), *mentions)
    assert _state(repo) == before, f"exptui {' '.join(args)} changed files or refs"
    return line


# --- malformed files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("repro",), ("status",), ("dag",), ("run", "-q", "-S", "x.lr=0.3")])
def test_malformed_dvc_yaml_names_file_and_line(repo: Path, command: tuple[str, ...]) -> None:
    (repo / "dvc.yaml").write_text("stages:\n  a:\n    cmd: [python a.py\n    deps: [in.txt]\n")
    line = _bad_case(repo, command, "dvc.yaml:", "invalid YAML")
    assert line.split(":")[2].isdigit(), line  # error: dvc.yaml:<line>: ...


@pytest.mark.parametrize("command", [("repro",), ("status",), ("run", "-q", "-S", "x.lr=0.3")])
def test_malformed_params_yaml_names_file_and_line(repo: Path, command: tuple[str, ...]) -> None:
    (repo / "params.yaml").write_text("x:\n  lr: 0.1\n depth: 3\n")
    _bad_case(repo, command, "params.yaml:3:", "invalid YAML")


@pytest.mark.parametrize("command", [("repro",), ("status",)])
def test_malformed_dvc_lock_names_file_and_line(repo: Path, command: tuple[str, ...]) -> None:
    (repo / "dvc.lock").write_text("schema: '2.0'\nstages:\n  a: [\n")
    line = _bad_case(repo, command, "dvc.lock:4:", "invalid YAML")
    assert str(repo) not in line  # named as the user sees it, not by an absolute path


def test_wrong_lock_schema_is_named(repo: Path) -> None:
    text = (repo / "dvc.lock").read_text().replace("schema: '2.0'", "schema: '9.9'")
    (repo / "dvc.lock").write_text(text)
    _bad_case(repo, ("status",), "dvc.lock:1:", "schema")


# --- -S overrides, sweeps, filters -----------------------------------------------------------------------------


def test_unknown_param_suggests_the_close_key(repo: Path) -> None:
    _bad_case(repo, ("run", "-q", "-S", "x.lrr=0.3"), "params.yaml", "'x.lrr'", "x.lr", "+x.lrr")


def test_unknown_param_in_the_second_file_leaves_the_first_untouched(repo: Path) -> None:
    (repo / "other.yaml").write_text("y: 1\n")
    before = (repo / "other.yaml").read_bytes()
    _bad_case(repo, ("run", "-q", "-S", "x.lr=0.4", "-S", "other.yaml:z=1"), "other.yaml", "'z'", "'+other.yaml:z=")
    assert (repo / "other.yaml").read_bytes() == before


@pytest.mark.parametrize(("override", "mention"), [
    ("x.lr", "key=value"),
    ("x.lr=range(1,", "unclosed"),
    ("x.lr=1,,2", "empty value"),
])
def test_bad_sweep_syntax_names_the_override(repo: Path, override: str, mention: str) -> None:
    _bad_case(repo, ("run", "--queue", "-S", override), f"-S '{override}'", mention)


def test_sweep_without_queue_says_add_queue(repo: Path) -> None:
    _bad_case(repo, ("run", "-S", "x.lr=0.1,0.2"), "--queue")


def test_bad_filter_points_a_caret_at_the_column(repo: Path) -> None:
    proc = exptui(repo, "show", "--filter", "m >")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = _lines(proc.stderr)
    assert len(lines) == 3 and lines[0].startswith("error: ") and "'>'" in lines[0], proc.stderr
    assert lines[1] == "  m >" and lines[2].strip() == "^" and lines[2].index("^") == 4


def test_unknown_filter_and_sort_columns_are_named(repo: Path) -> None:
    proc = exptui(repo, "show", "--filter", "nosuch > 1")
    assert proc.returncode != 0 and "unknown column 'nosuch'" in proc.stderr and "Traceback" not in proc.stderr
    _bad_case(repo, ("show", "--sort-by", "nosuch"), "'nosuch'")
    _bad_case(repo, ("show", "--sort-by", "m:sideways"), "direction 'sideways'", ":desc")


# --- the pipeline itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("repro",), ("run", "-q", "-S", "x.lr=0.3")])
def test_missing_dependency_is_named_and_nothing_changes(repo: Path, command: tuple[str, ...]) -> None:
    (repo / "in.txt").unlink()
    _bad_case(repo, command, "stage 'a'", "'in.txt'", "does not exist")


def test_cycle_names_the_stages(repo: Path) -> None:
    (repo / "dvc.yaml").write_text(DVC_YAML.replace("deps: [in.txt, a.py]", "deps: [in.txt, a.py, metrics.json]"))
    _bad_case(repo, ("repro",), "cycle", "a -> b -> a")


@pytest.mark.parametrize("command", [("repro",), ("status",), ("dag",), ("run", "-q", "-S", "x.lr=0.3")])
def test_unknown_interpolated_key_names_file_line_and_key(repo: Path, command: tuple[str, ...]) -> None:
    (repo / "dvc.yaml").write_text(DVC_YAML.replace("cmd: python a.py", "cmd: python a.py ${x.nope}"))
    _bad_case(repo, command, "dvc.yaml:3:", "stage 'a'", "'x.nope'")


def test_failing_stage_in_repro_keeps_the_lock(repo: Path) -> None:
    (repo / "b.py").write_text(B_PY + "raise SystemExit(3)\n")
    _bad_case(repo, ("repro",), "stage 'b'", "exit code 3", "log:")


def test_failing_stage_in_run_restores_params_and_records_nothing(repo: Path) -> None:
    (repo / "b.py").write_text(B_PY + "raise SystemExit(3)\n")
    before = _state(repo)
    proc = exptui(repo, "run", "-q", "-S", "x.lr=0.5", "-n", "broken")
    assert proc.returncode == 2
    assert_one_line_error(proc, "stage 'b'", "exit code 3")
    after = _state(repo)
    assert after["params.yaml"] == before["params.yaml"]
    assert after["refs"] == before["refs"]  # no experiment recorded
    # the lock keeps only what finished (stage a with x.lr=0.5): status says exactly what differs
    status = exptui(repo, "status")
    assert status.returncode == 0 and "Traceback" not in status.stderr
    assert "a" in status.stdout and "x.lr" in status.stdout


# --- the repository --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("show",), ("run", "-q", "-S", "x.lr=0.3"), ("apply", "e1"), ("queue", "status")])
def test_not_a_git_repo(repo: Path, command: tuple[str, ...]) -> None:
    shutil.rmtree(repo / ".git")
    _bad_case(repo, command, "not inside a git repository", "git init")


@pytest.mark.parametrize("command", [("show",), ("run", "-q", "-S", "x.lr=0.3"), ("apply", "e1")])
def test_repo_with_no_commits(repo: Path, command: tuple[str, ...]) -> None:
    shutil.rmtree(repo / ".git")
    _git(repo, "init", "-q", "-b", "main")
    _bad_case(repo, command, "no commits", "commit")


# every pipeline command refuses alike (as DVC does) and names the way out: `exptui init`, no dvc package needed
@pytest.mark.parametrize("command", [("repro",), ("status",), ("run", "-q", "-S", "x.lr=0.3"),
                                     ("run", "--temp", "-S", "x.lr=0.3"), ("run", "--queue", "-S", "x.lr=0.3")])
def test_not_a_dvc_repo(repo: Path, command: tuple[str, ...]) -> None:
    shutil.rmtree(repo / ".dvc")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "no dvc")
    _bad_case(repo, command, "not a DVC repository", "exptui init")
    assert not (repo / ".dvc").exists()


def test_dirty_workspace_on_apply(repo: Path) -> None:
    (repo / "params.yaml").write_text(PARAMS.replace("0.1", "0.7"))
    _bad_case(repo, ("apply", "e1"), "params.yaml", "--force")


def test_apply_never_overwrites_edits_no_experiment_holds(repo: Path) -> None:
    """After a run, `apply main` switches back the files the run left (they are recorded in its experiment), but
    a hand edit made afterwards is the user's work: it stays, byte for byte."""
    exptui(repo, "run", "-q", "-S", "x.lr=0.3", "-n", "lr3", check=True)
    edited = PARAMS.replace("0.1", "0.3").replace("depth: 3", "depth: 4  # mine")
    (repo / "params.yaml").write_text(edited)
    proc = exptui(repo, "apply", "main")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert (repo / "params.yaml").read_text() == edited
    assert json.loads((repo / "metrics.json").read_text())["m"] == 0.1  # the run's metrics went back


@pytest.mark.parametrize("command", [("apply", "nosuch"), ("diff", "nosuch"), ("remove", "nosuch"),
                                     ("branch", "nosuch", "b1"), ("star", "nosuch"), ("note", "nosuch", "x")])
def test_unknown_experiment_name(repo: Path, command: tuple[str, ...]) -> None:
    _bad_case(repo, command, "'nosuch'")


def test_close_experiment_name_is_suggested(repo: Path) -> None:
    _bad_case(repo, ("apply", "e2"), "'e2'")


def test_name_collisions(repo: Path) -> None:
    _bad_case(repo, ("run", "-q", "-S", "x.lr=0.9", "-n", "e1"), "'e1'", "-f")
    _bad_case(repo, ("branch", "e1", "main"), "'main'", "already exists")


@pytest.mark.parametrize(("path", "mention"), [("/nonexistent/qa-path", "does not exist"),
                                               ("__tmp__", "not inside a git repository")])
def test_bad_dash_c_path(repo: Path, tmp_path: Path, path: str, mention: str) -> None:
    if path == "__tmp__":
        path = str(tmp_path / "plain")
        Path(path).mkdir()
    _bad_case(repo, ("-C", path, "show"), path, mention)


@pytest.mark.parametrize(("args", "mention"), [
    (("frobnicate",), "No such command 'frobnicate'"),
    (("show", "--frob"), "No such option '--frob'"),
    (("queue", "frob"), "No such command 'frob'"),
    (("run", "-S"), "'-S' requires an argument"),
    (("show", "--json", "--csv"), "--json"),
])
def test_unknown_command_or_option_is_one_line(repo: Path, args: tuple[str, ...], mention: str) -> None:
    line = _bad_case(repo, args, mention, "--help")
    assert "Usage:" not in line


def test_bad_remote_says_what_git_said(repo: Path) -> None:
    _bad_case(repo, ("push", "nosuch"), "no git remote named 'nosuch'", "git remote add")
    _git(repo, "remote", "add", "origin", "/nonexistent/qa-remote.git")
    line = _bad_case(repo, ("push", "origin"), "'/nonexistent/qa-remote.git'", "not appear to be a git repository")
    assert "access rights" not in line and "repository exists" not in line
    _bad_case(repo, ("pull", "origin"), "'/nonexistent/qa-remote.git'")


# --- Ctrl-C ----------------------------------------------------------------------------------------------------


def _interrupt_when(proc: subprocess.Popen[str], mark: Path, timeout: float = 60.0) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the stage never started"
        time.sleep(0.05)
    time.sleep(0.2)  # inside the sleep of stage b
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=60)


def _assert_consistent(repo: Path) -> None:
    doctor = exptui(repo, "doctor")
    assert doctor.returncode == 0 and "no problems found" in doctor.stdout, doctor.stdout + doctor.stderr
    queue = exptui(repo, "queue", "status")
    assert queue.returncode == 0 and "running" not in queue.stdout.split("\n", 1)[-1], queue.stdout
    status = exptui(repo, "status")
    assert status.returncode == 0 and "Traceback" not in status.stderr
    show = exptui(repo, "show", "--json", check=True)
    assert all(row["status"] != "running" for row in json.loads(show.stdout)), show.stdout
    leftover = subprocess.run(["pgrep", "-f", "python b.py"], capture_output=True, text=True).stdout.split()
    mine = [pid for pid in leftover if str(repo) in _cwd_of(pid)]
    assert not mine, "a stage process survived Ctrl-C"


def _cwd_of(pid: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


def _start(repo: Path, mark: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([EXPTUI, *args], cwd=repo, env=_env(EXPTUI_QA_MARK=str(mark)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_ctrl_c_during_repro(repo: Path) -> None:
    (repo / "b.py").write_text(SLOW_B_PY)
    _git(repo, "commit", "-q", "-am", "slow b")
    mark = repo.parent / "b.started"
    (repo / "params.yaml").write_text(PARAMS.replace("0.1", "0.3"))
    lock_before = (repo / "dvc.lock").read_text()
    params_before = (repo / "params.yaml").read_bytes()
    proc = _start(repo, mark, "repro")
    out, err = _interrupt_when(proc, mark)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(_lines(err)) == 1, err
    assert (repo / "params.yaml").read_bytes() == params_before
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    old = yaml.safe_load(lock_before)["stages"]
    assert lock["a"]["params"]["params.yaml"]["x.lr"] == 0.3  # stage a finished: recorded
    assert lock["b"] == old["b"]  # stage b was interrupted: its entry is untouched
    _assert_consistent(repo)
    status = exptui(repo, "status").stdout
    assert "b:" in status and "a:" not in status, status


def test_ctrl_c_during_run_restores_params(repo: Path) -> None:
    (repo / "b.py").write_text(SLOW_B_PY)
    _git(repo, "commit", "-q", "-am", "slow b")
    mark = repo.parent / "b.started"
    refs_before = _state(repo)["refs"]
    params_before = (repo / "params.yaml").read_bytes()
    proc = _start(repo, mark, "run", "-q", "-S", "x.lr=0.4", "-n", "interrupted")
    out, err = _interrupt_when(proc, mark)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(_lines(err)) == 1, err
    assert (repo / "params.yaml").read_bytes() == params_before
    assert _state(repo)["refs"] == refs_before  # nothing recorded
    assert exptui(repo, "show", "--json").stdout.count('"name": "interrupted"') == 0
    _assert_consistent(repo)


def test_ctrl_c_during_queue_start_wait(repo: Path) -> None:
    (repo / "b.py").write_text(SLOW_B_PY)
    _git(repo, "commit", "-q", "-am", "slow b")
    mark = repo.parent / "b.started"
    queued = exptui(repo, "run", "--queue", "-S", "x.lr=0.5,0.6", check=True)
    assert queued.stdout.count("queued ") == 2
    before = _state(repo)
    proc = _start(repo, mark, "queue", "start", "-j", "1", "--wait")
    out, err = _interrupt_when(proc, mark)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and len(_lines(err)) == 1, err
    after = _state(repo)
    assert {k: after[k] for k in WATCHED} == {k: before[k] for k in WATCHED}  # the workspace is never touched
    rows = exptui(repo, "queue", "status").stdout
    assert "cancelled" in rows and "queued" in rows, rows
    _assert_consistent(repo)
