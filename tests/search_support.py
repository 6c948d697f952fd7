"""A tiny pipeline for adaptive-search tests and benchmarks: its metric is a known function of its params.

``loss = (x - 1)^2 + (y + 2)^2 + noise``: the optimum is at x = 1, y = -2; the noise (sd 0.05) is seeded by the
params, so one point always gets the same loss. The stage logs ``epochs`` steps in DVCLive's layout
(``dvclive/metrics.json`` with ``step``, ``dvclive/plots/metrics/loss.tsv``), the loss falling towards its final
value, and prints ``step N`` per step (then sleeps ``step_seconds``: the benchmark's stand-in for training). A trial whose final loss is above ``hang_above`` (when set) stops after
step 2 and waits, up to 120 s, which only a pruner ends early: a test of pruning then never depends on how fast
the machine is. With ``SEARCH_TEST_RUNS``/``SEARCH_TEST_GATE``/``SEARCH_TEST_FREE`` set, trials after the
first FREE wait for the gate file to exist, so a test can stop a search in a known state.
"""
from __future__ import annotations

import random
from pathlib import Path

from stage_support import commit_stage_repo, one_stage_dvc_yaml

STAGE = r'''
import json, os, random, time
import yaml
p = yaml.safe_load(open("params.yaml"))["train"]
x, y, epochs = float(p["x"]), float(p["y"]), int(p["epochs"])
runs, gate = os.environ.get("SEARCH_TEST_RUNS"), os.environ.get("SEARCH_TEST_GATE")
if runs:  # the first SEARCH_TEST_FREE trials run through; later ones wait for the gate file (a test opens it)
    with open(runs, "a") as f:
        f.write("run\n")
    started = len(open(runs).read().split())
    for _ in range(30000 if gate and started > int(os.environ.get("SEARCH_TEST_FREE", "0")) else 0):
        if os.path.exists(gate):
            break
        time.sleep(0.01)
loss = (x - 1) ** 2 + (y + 2) ** 2 + random.Random(repr((x, y))).gauss(0, 0.05)
live = p.get("live", True)  # false: no DVCLive files at all (final metrics only)
os.makedirs("dvclive/plots/metrics", exist_ok=True)
tsv = open("dvclive/plots/metrics/loss.tsv" if live else os.devnull, "w")
tsv.write("step\tloss\n")
for step in range(epochs):
    value = loss * (1 + (epochs - 1 - step) / epochs)
    tsv.write("%d\t%r\n" % (step, value))
    tsv.flush()
    if live:
        with open("dvclive/metrics.json.tmp", "w") as f:
            json.dump({"loss": value, "step": step}, f)
        os.replace("dvclive/metrics.json.tmp", "dvclive/metrics.json")
    print("step %d loss %r" % (step, value), flush=True)
    time.sleep(float(p.get("step_seconds") or 0))
    if step == 2 and p.get("hang_above") is not None and loss > float(p["hang_above"]):
        time.sleep(120)
with open("metrics.yaml", "w") as f:
    f.write("loss: %r\n" % loss)
'''

DVC_YAML = one_stage_dvc_yaml(["metrics.yaml", "dvclive/metrics.json"], ["dvclive/plots/metrics"])

PARAMS = """train:
  x: 0.0
  y: 0.0
  epochs: 1
  hang_above: null
  step_seconds: 0
  live: true
"""


def loss(x: float, y: float) -> float:
    """The stage's final metric, computed here (what a random search of the same budget would reach)."""
    return (x - 1) ** 2 + (y + 2) ** 2 + random.Random(repr((float(x), float(y)))).gauss(0, 0.05)


def make_search_repo(tmp_path: Path, epochs: int = 1, hang_above: float | None = None,
                     step_seconds: float = 0, live: bool = True) -> Path:
    """The repo, committed. `live=False`: a pipeline without DVCLive (no dvclive outputs, none written)."""
    dvc_yaml = DVC_YAML if live else one_stage_dvc_yaml(["metrics.yaml"])
    params = (PARAMS.replace("live: true", f"live: {str(live).lower()}").replace("epochs: 1", f"epochs: {epochs}").replace(
        "hang_above: null", f"hang_above: {'null' if hang_above is None else hang_above}").replace(
        "step_seconds: 0", f"step_seconds: {step_seconds}"))
    return commit_stage_repo(tmp_path / "repo", {"stage.py": STAGE, "dvc.yaml": dvc_yaml, "params.yaml": params})
