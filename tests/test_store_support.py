"""Helpers for the store tests (no tests here): a tiny real pipeline in a real git repo, and the
`project` fixture over it (import it into a test module to use it)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exptui.project import Project

TRAIN_PY = """\
import json, yaml
p = yaml.safe_load(open("params.yaml"))
open("model.txt", "w").write(repr(p["train"]))
json.dump({"acc": round(p["train"]["lr"] * 2, 6), "loss": {"final": 1 - p["train"]["lr"]}}, open("metrics.json", "w"))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    outs:
      - model.txt
    metrics:
      - metrics.json:
          cache: false
"""

PARAMS = """\
train:
  lr: 0.1  # learning rate
  epochs: 3
seed: 1
"""


def git(cwd: Path, *args: str, check: bool = True) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True, text=True).stdout


def make_pipeline(repo: Path) -> Path:
    """Turn the `git_repo` fixture's repo into a one-stage DVC project and commit it."""
    (repo / ".dvc").mkdir(exist_ok=True)
    (repo / ".dvc" / "config").write_text("")
    (repo / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (repo / "train.py").write_text(TRAIN_PY)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "params.yaml").write_text(PARAMS)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    return repo


def exptui(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "exptui", "-C", str(repo), *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"exptui {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def project(git_repo: Path) -> Project:
    make_pipeline(git_repo)
    p = Project.open(git_repo)
    yield p
    p.close()


def import_experiments(repo: Path, baseline: str, experiments: list[tuple[str, bytes, bytes]], start: int) -> None:
    """Experiment commits on `baseline` in DVC's ref layout (``refs/exps/<b[:2]>/<b[2:]>/<name>``), each with its
    own params.yaml and metrics.json, written in one `git fast-import` stream (thousands in a second, where
    `exptui run` would take minutes). `experiments`: (name, params.yaml bytes, metrics.json bytes); commit times
    are `start`, `start + 1`, … in that order, and each message is ``exp <name>``."""
    stream = []
    for i, (name, params, metrics) in enumerate(experiments):
        msg = f"exp {name}".encode()
        stream += [f"commit refs/exps/{baseline[:2]}/{baseline[2:]}/{name}\n".encode(),
                   f"committer t <t@example.invalid> {start + i} +0000\n".encode(),
                   f"data {len(msg)}\n".encode() + msg + b"\n", f"from {baseline}\n".encode(),
                   f"M 100644 inline params.yaml\ndata {len(params)}\n".encode() + params + b"\n",
                   f"M 100644 inline metrics.json\ndata {len(metrics)}\n".encode() + metrics + b"\n\n"]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)


def fail_first_cancel_second(repo: Path) -> None:
    """The queue states a listing must show: the first queued entry claimed and failed ("boom"), the second
    cancelled, the rest left queued."""
    from exptui.store.claims import ProcessIdentity
    from exptui.store.queue import DoneRecord

    with Project.open(repo) as project:
        store = project.queue.store
        entries = store.entries()
        store.claim(entries[0], ProcessIdentity.current())
        store.finish(entries[0], DoneRecord("failed", reason="boom", finished=1.0))
        store.cancel_queued(entries[1])
