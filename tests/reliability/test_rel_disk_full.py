"""Issue 9 item 5: a full disk at any moment is one clear line, never a traceback, a lie or a stuck entry.

Each trial copies a small repo onto a real tmpfs (mounted in a private mount namespace, so nothing else sees it),
fills it so that only `free` bytes are left, runs one command, makes room again and checks:

- the command succeeded, or failed with exactly one `error:` line and no traceback;
- a failed `run` left params.yaml and dvc.lock as they were and recorded nothing; "dvc.lock was not changed" is
  only said when it is true;
- no temp file is left behind; `git fsck` is clean; every ref points at an object of the right type;
- `queue status` works on the full disk, and after it (recovery) no entry is "running";
- with room again, the same command completes.

Where no tmpfs can be mounted (not root, no `unshare`), a file-size limit (RLIMIT_FSIZE) stands in for the full
disk: every write past the limit fails in exptui's processes the way ENOSPC does.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rel_support import env, error_lines, exptui, git

DRIVER = str(Path(__file__).with_name("diskfull_driver.py"))
#: free bytes left on the tmpfs (or the file-size limit): from nothing to enough for the whole run
LEVELS = [0, 4 << 10, 16 << 10, 64 << 10, 160 << 10, 400 << 10, 700 << 10, 1 << 20, 1536 << 10, 2 << 20,
          3 << 20, 6 << 20]
#: the two stages write this much each, so the run needs a few MB in all
STAGE = r'''
import json, random, sys, yaml
p = yaml.safe_load(open("params.yaml"))["p"]
which = sys.argv[1]
if which == "prepare":
    open("data.bin", "wb").write(random.Random(p["x"]).randbytes(p["data_kb"] * 1024))
else:
    data = open("data.bin", "rb").read()
    open("model.bin", "wb").write(random.Random(len(data) + p["x"]).randbytes(p["model_kb"] * 1024))
    json.dump({"y": 7 * p["x"] + 1}, open("metrics.json", "w"))
'''
DVC_YAML = """stages:
  prepare:
    cmd: python stage.py prepare
    deps: [stage.py]
    params: [p.x, p.data_kb]
    outs: [data.bin]
  train:
    cmd: python stage.py train
    deps: [stage.py, data.bin]
    params: [p.model_kb]
    outs: [model.bin]
    metrics:
      - metrics.json:
          cache: false
"""
PARAMS = "p:\n  x: 1\n  data_kb: 300\n  model_kb: 600\n"


def _tmpfs_possible() -> bool:
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=1m tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


MODE = "tmpfs" if _tmpfs_possible() else "rlimit"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repo every trial copies: committed pipeline, reproduced once, one recorded experiment."""
    from dvc_compat.config import init_dvc_dir

    repo = tmp_path_factory.mktemp("diskfull") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    init_dvc_dir(repo)
    (repo / "stage.py").write_text(STAGE)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "params.yaml").write_text(PARAMS)
    (repo / ".gitignore").write_text("")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    assert exptui(repo, "repro", "-q").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")
    assert exptui(repo, "run", "-q", "-S", "p.x=2", "-n", "earlier").returncode == 0
    git(repo, "checkout", "-q", "--", ".")   # back to the baseline's files
    return repo


def _size(path: Path) -> int:
    return sum(f.stat().st_size + 4096 for f in path.rglob("*") if f.is_file())


def trial(source: Path, tmp_path: Path, free: int, steps: list[list[str]], again: list[list[str]],
          prepare: dict[str, str] | None = None) -> dict[str, Any]:
    work = tmp_path / f"src-{free}"
    shutil.copytree(source, work, symlinks=True)
    for rel, text in (prepare or {}).items():
        (work / rel).write_text(text)
    mount = tmp_path / f"mnt-{free}"
    mount.mkdir()
    spec = {"repo": str(work), "mount": str(mount), "size": _size(work) + (10 << 20), "free": free,
            "steps": steps, "again": again, "watch": ["params.yaml", "dvc.lock"], "mode": MODE}
    cmd = [sys.executable, DRIVER, json.dumps(spec)]
    if MODE == "tmpfs":
        cmd = ["unshare", "--mount", "--propagation", "private", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=900)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_common(result: dict[str, Any]) -> None:
    for step in result["steps"] + result["again"]:
        assert "Traceback" not in step["stderr"], step
        if step["rc"] != 0:
            lines = error_lines(step["stderr"])
            assert len(lines) == 1 and lines[0].startswith("error: "), step
            if "dvc.lock was not changed" in step["stderr"]:
                assert result["after"]["dvc.lock"] == result["before"]["dvc.lock"], step
    assert result["leftovers"] == [], result["leftovers"]
    assert result["fsck"] == 0
    for line in result["refs"]:
        ref, kind = line.split()
        assert kind == "commit", line
    entries = result["queue"]["entries"]
    assert all(e["status"] != "running" for e in entries), entries


@pytest.mark.parametrize("free", LEVELS)
def test_workspace_run_on_a_full_disk(source: Path, tmp_path: Path, free: int) -> None:
    run = ["run", "-q", "-S", "p.x=5", "-n", "full"]
    result = trial(source, tmp_path, free, [run], [run])
    check_common(result)
    (step,) = result["steps"]
    if step["rc"] != 0:
        assert result["after"]["params.yaml"] == result["before"]["params.yaml"], step   # -S edit undone
        assert not any(r.endswith("/full") for r in result["refs_full"])     # nothing recorded
    (again,) = result["again"]
    if step["rc"] != 0:
        assert again["rc"] == 0, again                    # room again: the same command completes
    assert any(r.startswith("refs/exps/") and r.endswith("/full commit") for r in result["refs"])


@pytest.mark.parametrize("free", LEVELS)
def test_temp_run_on_a_full_disk(source: Path, tmp_path: Path, free: int) -> None:
    run = ["run", "--temp", "-q", "-S", "p.x=6", "-n", "isofull"]
    result = trial(source, tmp_path, free, [run], [run])
    check_common(result)
    assert result["after"] == result["before"]               # the workspace is never touched
    if result["steps"][0]["rc"] != 0:
        assert result["again"][0]["rc"] == 0, result["again"]
    assert any(r.endswith("/isofull commit") for r in result["refs"])


@pytest.mark.parametrize("free", LEVELS)
def test_queue_on_a_full_disk(source: Path, tmp_path: Path, free: int) -> None:
    steps = [["run", "--queue", "-S", "p.x=7", "-n", "qfull"], ["queue", "start", "--wait"], ["queue", "status"]]
    again = [["queue", "retry", "--failed"], ["queue", "start", "--wait"], ["queue", "status", "--json"]]
    result = trial(source, tmp_path, free, steps, again)
    check_common(result)
    queued, started, status = result["steps"]
    assert status["rc"] == 0, status                          # `queue status` works on a full disk
    if queued["rc"] != 0:
        assert not any("refs/exptui/queue/" in r for r in result["refs_full"])   # all or nothing
        return
    if started["rc"] == 0:
        assert started["stdout"].splitlines()[-1] == "1 success", started
    final = json.loads(result["again"][2]["stdout"])
    assert [e["status"] for e in final["entries"]] == ["success"], final    # with room: retried and done
    assert sum(1 for r in result["refs"] if "/qfull" in r and r.startswith("refs/exps/")) == 1


@pytest.mark.parametrize("free", LEVELS)
def test_repro_on_a_full_disk(source: Path, tmp_path: Path, free: int) -> None:
    result = trial(source, tmp_path, free, [["repro", "-q"]], [["repro", "-q"]],
                   prepare={"params.yaml": PARAMS.replace("x: 1", "x: 9")})
    check_common(result)
    assert result["again"][0]["rc"] == 0, result["again"]
