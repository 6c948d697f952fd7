"""Shared helpers for the queue/execution tests: a tiny real pipeline and workspace fingerprints.

The pipeline is one `python stage.py` stage that reads params.yaml, sleeps, appends one line to a run-count file
(outside the repo, named by $EXPTUI_TEST_RUNS) and writes metrics.yaml. It also records its pid so a test can
check that a killed worker's stage died with it.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stage_support import commit_stage_repo, one_stage_dvc_yaml

STAGE = r'''
import os, sys, time
import yaml
p = yaml.safe_load(open("params.yaml"))["train"]
pids = os.environ.get("EXPTUI_TEST_PIDS")

def write_pid(name, pid):  # atomically: a test polling for the file never reads it empty
    if pids:
        tmp = os.path.join(pids, "." + name)
        with open(tmp, "w") as f:
            f.write(str(pid))
        os.rename(tmp, os.path.join(pids, name))

write_pid("%s.pid" % p["lr"], os.getpid())
if p.get("escape"):  # a grandchild that leaves the stage's process group and session
    import subprocess
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    write_pid("escape-%s.pid" % p["lr"], child.pid)
if p.get("spam"):
    chunk = (b"x" * 1023 + b"\n") * 1024  # 1 MiB
    for _ in range(int(p["spam"])):
        sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.write(b"\xff\xfe not utf-8 \xc3\x28 end\n")
    sys.stdout.flush()
print("training lr=%s" % p["lr"], flush=True)
time.sleep(float(p["sleep"]))
gate = os.environ.get("EXPTUI_TEST_GATE")  # a test holds the stage here until it creates that file
for _ in range(60000 if gate else 0):
    if os.path.exists(gate):
        break
    time.sleep(0.01)
runs = os.environ.get("EXPTUI_TEST_RUNS")
if runs:
    fd = os.open(runs, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, ("%s\n" % p["lr"]).encode())
    os.close(fd)
with open("metrics.yaml", "w") as f:
    f.write("acc: %s\n" % (float(p["lr"]) * 2))
'''

DVC_YAML = one_stage_dvc_yaml(["metrics.yaml"])

PARAMS = """# training parameters (this comment must survive queueing)
train:
  lr: 0.5   # learning rate
  sleep: 0.1
  spam: 0
  escape: false
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_repo(tmp_path: Path, sleep: float = 0.1) -> Path:
    return commit_stage_repo(tmp_path / "repo", {"stage.py": STAGE, "dvc.yaml": DVC_YAML, ".gitignore": "",
                                                 "params.yaml": PARAMS.replace("sleep: 0.1", f"sleep: {sleep}")})


@pytest.fixture
def qrepo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed tiny pipeline repo plus a dirty edit and an untracked file (the snapshot must carry both)."""
    repo = make_repo(tmp_path)
    (repo / "notes.txt").write_text("untracked, not ignored\n")
    runs = tmp_path / "runs.txt"
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("EXPTUI_TEST_RUNS", str(runs))
    monkeypatch.setenv("EXPTUI_TEST_PIDS", str(pids))
    monkeypatch.chdir(tmp_path)
    return repo


def run_counts(tmp_path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    runs = tmp_path / "runs.txt"
    if runs.exists():
        for line in runs.read_text().split():
            counts[line] = counts.get(line, 0) + 1
    return counts


def fingerprint(repo: Path) -> dict[str, str]:
    """Every workspace file's hash (untracked too, .git excluded) plus HEAD, index, stash and status.

    `.dvc/cache` and `.dvc/tmp` are left out: they are DVC's shared, git-ignored state, which queued runs are
    meant to fill (outputs go to the one cache, as with DVC's own queue).
    """
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(repo):
        if ".git" in dirs:
            dirs.remove(".git")
        if Path(dirpath).name == ".dvc":
            dirs[:] = [d for d in dirs if d not in ("cache", "tmp")]
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(repo))] = hashlib.sha256(p.read_bytes()).hexdigest()
    out["<HEAD>"] = git(repo, "rev-parse", "HEAD")
    out["<HEAD-ref>"] = (repo / ".git" / "HEAD").read_text()
    out["<index>"] = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    out["<stash>"] = subprocess.run(["git", "rev-parse", "-q", "--verify", "refs/stash"], cwd=repo,
                                    capture_output=True, text=True).stdout
    out["<status>"] = git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all")
    return out


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def worker_cmd(repo: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "exptui.execution.worker", "--repo", str(repo), *extra]
