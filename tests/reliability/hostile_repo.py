"""A tiny DVC repo and bounded runs of `exptui`, for the hostile-input reliability tests.

`run_bounded` runs one command in a fresh wrapper process whose only child is that command, so the wrapper's
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the command's peak memory (git children included), and applies a
generous subprocess time-out: what must take well under a second gets 60 s, so a loaded machine never fails a
test while an exponential blow-up (minutes, gigabytes) always does.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
EXPTUI = str(BIN / "exptui")
TIME_LIMIT = 60.0          # seconds: each hostile case must finish well inside (it takes ~1 s)
MEMORY_LIMIT_MB = 300      # peak RSS: `exptui show` needs ~60 MB; the alias bomb took 418 MB, the 45 MB file 4.5 GB

DVC_YAML = """\
stages:
  a:
    cmd: python a.py
    deps: [a.py]
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
TAG = "a" * 28 + "c"       # `tag ~= '(a+)+b'` backtracks 2^28 times on this with Python's re
PARAMS = f"x:\n  lr: 0.1\n  depth: 3\ntag: {TAG}\n"

_MEASURE = """
import json, resource, subprocess, sys
args = json.loads(sys.argv[1])
try:
    p = subprocess.run(args["argv"], cwd=args["cwd"], capture_output=True, text=True, timeout=args["timeout"],
                       stdin=subprocess.DEVNULL)
    rc, out, err, timed_out = p.returncode, p.stdout, p.stderr, False
except subprocess.TimeoutExpired as exc:
    rc, out, err, timed_out = None, "", "", True
print(json.dumps({"rc": rc, "stdout": out, "stderr": err, "timed_out": timed_out,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass
class Bounded:
    rc: int | None
    stdout: str
    stderr: str
    timed_out: bool
    peak_mb: float

    def check_bounds(self) -> None:
        assert not self.timed_out, f"did not finish within {TIME_LIMIT:.0f} s"
        assert self.peak_mb < MEMORY_LIMIT_MB, f"peak memory {self.peak_mb:.0f} MB"
        assert "Traceback" not in self.stderr and "Traceback" not in self.stdout, self.stderr


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.update(GIT_AUTHOR_NAME="QA", GIT_AUTHOR_EMAIL="qa@example.invalid", GIT_COMMITTER_NAME="QA",
             GIT_COMMITTER_EMAIL="qa@example.invalid", GIT_CONFIG_NOSYSTEM="1", DVC_NO_ANALYTICS="1",
             PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra)
    return e


def git(cwd: Path, *args: str, input: str | bytes | None = None) -> str:
    data = input.encode() if isinstance(input, str) else input
    out = subprocess.run(["git", *args], cwd=cwd, env=env(), check=True, capture_output=True, input=data).stdout
    return out.decode("utf-8", "replace")


def exptui(cwd: Path, *args: str, timeout: float = TIME_LIMIT, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXPTUI, *args], cwd=cwd, env=env(**extra), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def run_bounded(cwd: Path, *args: str, timeout: float = TIME_LIMIT) -> Bounded:
    """`exptui ARGS` in `cwd` with a time-out, measuring its peak memory (see the module docstring)."""
    return run_argv_bounded([EXPTUI, *args], cwd, timeout)


def run_argv_bounded(argv: list[str], cwd: Path, timeout: float = TIME_LIMIT) -> Bounded:
    """Any command, bounded and measured like `run_bounded`. (Measuring inside the command itself would not do:
    on Linux a child forked from this big test process starts its peak RSS at the parent's size.)"""
    spec = json.dumps({"argv": argv, "cwd": str(cwd), "timeout": timeout})
    proc = subprocess.run([sys.executable, "-c", _MEASURE, spec], env=env(), capture_output=True, text=True,
                          timeout=timeout + 30)
    data = json.loads(proc.stdout)
    return Bounded(data["rc"], data["stdout"], data["stderr"], data["timed_out"], data["maxrss_kb"] / 1024)


def make_template(repo: Path) -> Path:
    """Baseline reproduced and committed on main, plus experiment `e1` (x.lr=0.2); workspace clean."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("")
    (repo / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "a.py").write_text(A_PY)
    (repo / "b.py").write_text(B_PY)
    (repo / "params.yaml").write_text(PARAMS)
    (repo / ".gitignore").write_text("/a.txt\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tiny pipeline")
    for args in (("repro", "-q"),):
        proc = exptui(repo, *args, timeout=300)
        assert proc.returncode == 0, proc.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")
    proc = exptui(repo, "run", "-q", "-S", "x.lr=0.2", "-n", "e1", timeout=300)
    assert proc.returncode == 0, proc.stderr
    git(repo, "checkout", "-q", "HEAD", "--", "params.yaml", "dvc.lock", "metrics.json")
    proc = exptui(repo, "repro", "-q", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert git(repo, "status", "--porcelain") == ""
    return repo


def copy_repo(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest


def commit_experiment(repo: Path, name: str, files: dict[str, bytes]) -> str:
    """An experiment of HEAD as DVC stores it (one commit on the baseline, a ref under refs/exps), holding `files`
    on top of HEAD's tree; the workspace is not touched. Returns the ref."""
    head = git(repo, "rev-parse", "HEAD").strip()
    index = repo / ".git" / f"tmp-index-{name}"
    e = env(GIT_INDEX_FILE=str(index))

    def g(*args: str, data: bytes | None = None) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=e, input=data, check=True,
                              capture_output=True).stdout.decode().strip()

    g("read-tree", head)
    for path, data in files.items():
        blob = g("hash-object", "-w", "--stdin", data=data)
        g("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    tree = g("write-tree")
    commit = g("commit-tree", tree, "-p", head, "-m", f"dvc: commit experiment {'0' * 64}")
    ref = f"refs/exps/{head[:2]}/{head[2:]}/{name}"
    g("update-ref", ref, commit, "0" * 40)
    index.unlink(missing_ok=True)
    return ref


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# --- the corpus -----------------------------------------------------------------------------------------------


def alias_bomb(levels: int, width: int = 9) -> str:
    """A "billion laughs": `levels` anchors, each a list of `width` aliases of the previous one (9^levels values
    for ~50 bytes a level). 7 levels is the 537-byte file of issue 9's report (4.8 million values)."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def deep_yaml(levels: int) -> str:
    return "deep: " + "{a: " * levels + "1" + "}" * levels + "\n"


def deep_json(levels: int) -> str:
    return '{"deep": ' + "[" * levels + "1" + "]" * levels + ', "m": 1}'


def huge_metrics_json(megabytes: float) -> bytes:
    """A metrics file of flat keys, `megabytes` big (issue 9: 45 MB took `show` 294 s and 4.5 GB)."""
    n = int(megabytes * 2**20 / 24)
    return ("{" + ", ".join(f'"k{i:08d}": {i}.5' for i in range(n)) + ', "m": 1}').encode()
