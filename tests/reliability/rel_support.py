"""Helpers for the reliability suite: a tiny real DVC pipeline whose results are a pure function of its params.

The stage (`python stage.py`) waits `p.delay` seconds *before* it reads params.yaml (like a stage that loads its
data first), then writes a cached output `out.txt` and metrics `metrics.json`, both computed from `p.x` only:

    out.txt       = "x=<x> y=<7x+1>"
    metrics.json  = {"y": 7x+1}

so the right result of any recorded experiment can be computed from its own params, and any mix-up between two
runs shows as metrics (or a cached output) that do not match the params recorded next to them. With `p.fail`
true the stage exits 1 after the delay; with $REL_MARK set it first creates that file (a deterministic "the stage
is running now" point for tests to wait on), and with $REL_RELEASE set it then waits until that file exists (the
test decides when the stage goes on).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

BIN = Path(sys.executable).parent
EXPTUI = str(BIN / "exptui")

STAGE = r'''
import json, os, pathlib, sys, time
mark = os.environ.get("REL_MARK")
if mark:
    pathlib.Path(mark).write_text(str(os.getpid()))
release = os.environ.get("REL_RELEASE")
while release and not os.path.exists(release):  # held in flight until the test says so
    time.sleep(0.02)
import yaml
delay = yaml.safe_load(open("params.yaml"))["p"].get("delay", 0)
time.sleep(float(delay))
p = yaml.safe_load(open("params.yaml"))["p"]   # read after the delay: an in-flight edit would be seen here
if p.get("fail"):
    print("failing as asked", flush=True)
    sys.exit(1)
x = p["x"]
y = 7 * x + 1
open("out.txt", "w").write("x=%s y=%s\n" % (x, y))
json.dump({"y": y}, open("metrics.json", "w"))
'''

#: a stage helper that double-forks a daemon (it leaves the stage's process group and session), writes the
#: daemon's pid to $REL_DAEMON and sleeps 300 s there
DAEMON = r'''
import os, sys, time
pid = os.fork()
if pid:
    os.waitpid(pid, 0)
    sys.exit(0)
os.setsid()
if os.fork():
    os._exit(0)
open(os.environ["REL_DAEMON"], "w").write(str(os.getpid()))
time.sleep(300)
'''

DVC_YAML = """stages:
  train:
    cmd: python stage.py
    deps: [stage.py]
    params: [p.x, p.fail]
    outs: [out.txt]
    metrics:
      - metrics.json:
          cache: false
"""

PARAMS = "# parameters (this comment must survive)\np:\n  x: 1\n  fail: false\n  delay: 0.3\n"


def expected_y(x: Any) -> Any:
    return 7 * x + 1


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out.update(GIT_AUTHOR_NAME="Rel", GIT_AUTHOR_EMAIL="rel@example.invalid", GIT_COMMITTER_NAME="Rel",
               GIT_COMMITTER_EMAIL="rel@example.invalid", GIT_CONFIG_NOSYSTEM="1", DVC_NO_ANALYTICS="1",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    out.update(extra)
    return out


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env(), check=True, capture_output=True, text=True).stdout


def exptui(cwd: Path, *args: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXPTUI, *args], cwd=cwd, env=env(**extra), capture_output=True, text=True,
                          timeout=timeout)


def start(cwd: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([EXPTUI, *args], cwd=cwd, env=env(**extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def make_repo(path: Path, params: str = PARAMS) -> Path:
    """A committed DVC repo with the pipeline above, reproduced once (dvc.lock and the cache filled)."""
    from dvc_compat.config import init_dvc_dir

    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    init_dvc_dir(path)
    (path / "stage.py").write_text(STAGE)
    (path / "dvc.yaml").write_text(DVC_YAML)
    (path / "params.yaml").write_text(params)
    (path / ".gitignore").write_text("")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "pipeline")
    proc = exptui(path, "repro", "-q")
    assert proc.returncode == 0, proc.stderr
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "baseline")
    return path


def experiments(repo: Path) -> dict[str, str]:
    """{name: sha} of every experiment ref."""
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/")
    return {line.split()[0].rsplit("/", 1)[-1]: line.split()[1] for line in out.splitlines()}


def recorded(repo: Path, rev: str) -> dict[str, Any]:
    """What an experiment commit holds: its params, its dvc.lock's params and out hash, its metrics."""
    params = yaml.safe_load(git(repo, "show", f"{rev}:params.yaml"))["p"]
    lock = yaml.safe_load(git(repo, "show", f"{rev}:dvc.lock"))["stages"]["train"]
    metrics = json.loads(git(repo, "show", f"{rev}:metrics.json"))
    out_md5 = next(o["md5"] for o in lock["outs"] if o["path"] == "out.txt")
    return {"x": params["x"], "lock_x": lock["params"]["params.yaml"]["p.x"], "y": metrics["y"], "out_md5": out_md5}


def cache_object(repo: Path, md5: str) -> bytes:
    return (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).read_bytes()


def run_cache_entries(repo: Path) -> list[dict[str, Any]]:
    """Every run-cache entry of the repo (parsed YAML)."""
    runs = repo / ".dvc" / "cache" / "runs"
    return [yaml.safe_load(p.read_text()) for p in runs.rglob("*") if p.is_file()] if runs.is_dir() else []


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def worker_children(pid: int) -> list[Any]:
    """The `exptui.execution.worker` child processes of `pid` (a `queue start`), live ones only."""
    import psutil

    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return []
    out = []
    for child in children:
        try:
            if "exptui.execution.worker" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.Error:  # exited meanwhile
            continue
    return out


def has_open(pid: int, path: Path) -> bool:
    """Has process `pid` got `path` open (a command waiting for a lock opens the lock file, then polls its flock)?"""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


#: a git `reference-transaction` hook that holds a ref transaction touching a ref containing $HOOK_MATCH in git's
#: "prepared" state (the ref's lock file exists then) until $HOOK_RELEASE exists, after creating $HOOK_MARK
HOLDING_HOOK = """#!/bin/sh
[ "$1" = prepared ] || exit 0
refs=$(cat)
case "$refs" in *"$HOOK_MATCH"*) ;; *) exit 0 ;; esac
[ -e "$HOOK_MARK" ] && exit 0
: > "$HOOK_MARK"
while [ ! -e "$HOOK_RELEASE" ]; do sleep 0.02; done
"""


def install_hook(repo: Path, tmp_path: Path, match: str) -> dict[str, str]:
    """Install `HOLDING_HOOK` in `repo`; the environment a command needs for it to hold refs containing `match`."""
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(HOLDING_HOOK)
    hook.chmod(0o755)
    return {"HOOK_MATCH": match, "HOOK_MARK": str(tmp_path / "hook.mark"),
            "HOOK_RELEASE": str(tmp_path / "hook.release")}
