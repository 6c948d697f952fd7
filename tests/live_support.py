"""A tiny real pipeline whose one stage logs with the real DVCLive, one step per gate file the test creates.

The stage waits (polling) for ``$EXPTUI_TEST_LIVE_GATE/<lr>-<step>`` before it logs step `step`, so a test decides
when each step lands and never depends on timing.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from dvc_compat.config import init_dvc_dir

STAGE = r'''
import os, time
import yaml
from dvclive import Live

p = yaml.safe_load(open("params.yaml"))["train"]
gate = os.environ["EXPTUI_TEST_LIVE_GATE"]
with Live(dir="dvclive", save_dvc_exp=False, dvcyaml=False) as live:
    for step in range(int(p["steps"])):
        flag = os.path.join(gate, "%s-%d" % (p["lr"], step))
        for _ in range(60000):  # ten minutes at most: a test that forgets a gate fails, it does not hang
            if os.path.exists(flag):
                break
            time.sleep(0.01)
        live.log_metric("train/loss", round(float(p["lr"]) / (step + 1), 6))
        live.log_metric("acc", round(0.5 + step / 10, 6))
        live.next_step()
'''

DVC_YAML = """stages:
  train:
    cmd: python train.py
    deps:
      - train.py
    params:
      - train
    metrics:
      - dvclive/metrics.json:
          cache: false
    plots:
      - dvclive/plots/metrics:
          cache: false
          x: step
"""

PARAMS = """train:
  lr: 1.0
  steps: 3
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_live_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    init_dvc_dir(repo)
    (repo / "train.py").write_text(STAGE)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "params.yaml").write_text(PARAMS)
    (repo / ".gitignore").write_text("")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    return repo


def open_gate(gate: Path, lr: object, step: int) -> None:
    (gate / f"{lr}-{step}").write_text("")
