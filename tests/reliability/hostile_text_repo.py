"""A real DVC repo full of hostile text, built with the real engine (no test doubles).

- The baseline's params.yaml holds every corpus string as a value and the compact set as keys.
- The one stage prints every corpus string to its log and writes metrics with hostile keys and values.
- ``plain`` is a real `exptui run` experiment, starred, labelled and noted with hostile text.
- A queue entry ran through a real worker (`queue start --wait`): its log holds the stage's hostile output.
- Experiments with hostile *names* (C1 CSI, bidi override, markup, wide characters) were recorded in a second clone
  (as DVC stores them) with hostile notes, and arrived here through ``exptui pull``.

Tests copy the built repo (``copy_repo``) so each can change it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.reliability.corpus import ESCAPES, MARKUP, NAMES

TRAIN_PY = """\
import json, sys, yaml
p = yaml.safe_load(open("params.yaml", encoding="utf-8"))
for line in json.load(open("hostile.json", encoding="utf-8")):
    print("log:", line)
print("\\x1b[32mgreen is only colour\\x1b[0m")
sys.stdout.write("progress 1\\rprogress 2\\r\\n")
sys.stdout.flush()
metrics = {"acc": round(p["train"]["lr"] * 2, 6), "学習率-実験": 0.5}
for i, key in enumerate(json.load(open("keys.json", encoding="utf-8"))):
    metrics[key] = i
metrics["verdict"] = "\\x1b]0;PWNED\\x07 [@click=app.quit]CLICK[/]"
json.dump(metrics, open("metrics.json", "w", encoding="utf-8"), ensure_ascii=False)
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py, hostile.json, keys.json]
    params: [train]
    metrics:
      - metrics.json:
          cache: false
"""

# names that git accepts as ref names (no C0, no '[', no space): what a pulled experiment can be called
PULLED_NAMES: tuple[str, ...] = ("csi\u009b2J", "rtl\u202egnp.exe", "@click=app.quit]CLICK", "p]x", "$accent",
                                 "学習率-実験")
NOTE = "\x1b]0;PWNED\x07 note [@click=app.quit]CLICK[/] \u202eevil \x9b2J p[/]"
LABEL = "\x1b[2J[b]lbl"
QUEUE_NAME = "q\u202e-\u009b2J-$accent"


@dataclass(frozen=True)
class HostileRepo:
    root: Path
    other: Path                 # the clone the pulled experiments came from
    queue_name: str


def hostile_params() -> dict:
    train = {"lr": 0.1, "tag": "\x1b]0;PWNED\x07[@click=app.quit]CLICK[/]", "学習率-実験": 3}
    for i, text in enumerate(ESCAPES + MARKUP):
        train[f"v{i:02d}"] = text
    for i, text in enumerate(NAMES):
        train[text] = i
    train["p[/]"] = 2
    train["long"] = "x" * 300
    return {"train": train, "seed": 1}


def _git(cwd: Path, *args: str, env: dict | None = None, stdin: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env,
                          input=stdin).stdout.strip()


def exptui(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "exptui", "-C", str(repo), *args], capture_output=True,
                          text=True, errors="surrogateescape")
    if check and proc.returncode != 0:
        raise AssertionError(f"exptui {args!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def record_dvc_experiment(repo: Path, name: str, params: dict, metrics: dict) -> str:
    """Commit an experiment on HEAD the way `dvc exp run` stores it (a commit whose parent is the baseline, a
    create-only ref under refs/exps/); returns the ref."""
    head = _git(repo, "rev-parse", "HEAD")
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "tmp-index-hostile")}
    _git(repo, "read-tree", head, env=env)
    for path, text in (("params.yaml", yaml.safe_dump(params, sort_keys=False, allow_unicode=True)),
                       ("metrics.json", json.dumps(metrics, ensure_ascii=False))):
        blob = _git(repo, "hash-object", "-w", "--stdin", env=env, stdin=text)
        _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = _git(repo, "write-tree", env=env)
    digest = hashlib.sha256(f"{head}{name}".encode()).hexdigest()
    commit = _git(repo, "commit-tree", tree, "-p", head, "-m", f"dvc: commit experiment {digest}", env=env)
    ref = f"refs/exps/{head[:2]}/{head[2:]}/{name}"
    _git(repo, "update-ref", ref, commit, "0" * 40, env=env)
    Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    return ref


def build_hostile_repo(base: Path) -> HostileRepo:
    repo = base / "hostile"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("")
    (repo / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (repo / "train.py").write_text(TRAIN_PY)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "hostile.json").write_text(json.dumps(list(ESCAPES + MARKUP), ensure_ascii=False), encoding="utf-8")
    (repo / "keys.json").write_text(json.dumps(list(NAMES), ensure_ascii=False), encoding="utf-8")
    (repo / "params.yaml").write_text(yaml.safe_dump(hostile_params(), sort_keys=False, allow_unicode=True),
                                      encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hostile pipeline")
    exptui(repo, "repro", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "baseline run")

    exptui(repo, "run", "-q", "-n", "plain", "-S", "train.lr=0.3")
    exptui(repo, "star", "plain")
    exptui(repo, "label", "plain", "+" + LABEL)
    exptui(repo, "note", "plain", NOTE)

    exptui(repo, "run", "--queue", "-n", QUEUE_NAME, "-S", "train.lr=0.5",
           "-S", "train.tag=[@click=app.quit]queued[/]")
    exptui(repo, "queue", "start", "--wait")

    other = base / "other"
    _git(base, "clone", "-q", str(repo), str(other))
    params = hostile_params()
    for i, name in enumerate(PULLED_NAMES):
        params["train"]["lr"] = 0.2 + i / 100
        params["train"]["p[/]"] = 2 + i                       # params that vary: axes of the parallel plot
        params["train"][NAMES[0]] = 10 + i
        metrics = {"acc": 0.4 + i / 100, "学習率-実験": 0.25, "m\x1b]0;PWNED\x07": 1, "p[/]": 2,
                   "verdict": "\x9b2J [link=file:///etc/passwd]x[/link]"}
        record_dvc_experiment(other, name, params, metrics)
        exptui(other, "note", name, NOTE)
        exptui(other, "label", name, "+" + LABEL)
    _git(repo, "remote", "add", "other", str(other))
    exptui(repo, "pull", "other")
    return HostileRepo(repo, other, QUEUE_NAME)


def copy_repo(built: HostileRepo, dest: Path) -> Path:
    target = dest / "hostile"
    shutil.copytree(built.root, target, symlinks=True)
    return target
