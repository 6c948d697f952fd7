"""`exptui status` / `exptui repro` give the answers the real `dvc` gives (issue 12: status and hashing).

Every test builds a small real repo (`git init` + `dvc init`) in a temp dir and runs both tools as subprocesses on
it; `dvc status --json` is the judge. Commands run under a timeout: a pipeline that makes exptui spin must fail the
test, not hang the suite.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import BIN, git

pytestmark = pytest.mark.dvc

DVC = str(BIN / "dvc")
EXPTUI = str(BIN / "exptui")
PY = sys.executable
UP_TO_DATE = "Data and pipelines are up to date."
#: no command here does more than a few file copies: this is a hang, not a slow machine
TIMEOUT = 60


def run(tool: str, repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([tool, *args], cwd=repo, capture_output=True, text=True, timeout=TIMEOUT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{Path(tool).name} {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(DVC, repo, *args, check=check)


def exptui(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(EXPTUI, repo, *args, check=check)


def make_repo(path: Path, dvc_yaml: str, files: dict[str, str | bytes] | None = None) -> Path:
    """A git + DVC repo holding `dvc.yaml` and `files`, all committed."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    dvc(path, "init", "-q")
    (path / "dvc.yaml").write_text(dvc_yaml)
    for name, content in (files or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "pipeline")
    return path


def dvc_status(repo: Path, *args: str) -> dict[str, Any]:
    return json.loads(dvc(repo, "status", "--json", *args).stdout)


# ---------------------------------------------------------------- 1. pipelines that must load (no hang)

def test_an_absolute_output_path_loads_and_is_clean_after_repro(tmp_path: Path) -> None:
    """`outs: [/abs/path: {cache: false}]` (DVC accepts it) once made `_ancestors` spin on `dirname('/')`."""
    target = tmp_path / "outside" / "abs_out.txt"
    target.parent.mkdir()
    repo = make_repo(tmp_path / "repo", (
        "stages:\n"
        "  write:\n"
        f"    cmd: echo hi > {target}\n"
        "    outs:\n"
        f"      - {target}:\n"
        "          cache: false\n"
        "  read:\n"
        f"    cmd: cat {target} > copy.txt\n"
        f"    deps: [{target}]\n"
        "    outs: [copy.txt]\n"
    ))
    dag = exptui(repo, "dag", "--dot")
    assert '"write" -> "read";' in dag.stdout  # the absolute path still connects its producer and its reader
    assert set(dvc_status(repo)) == {"write", "read"}
    assert "write:" in exptui(repo, "status").stdout
    exptui(repo, "repro")
    assert target.read_text() == "hi\n"
    assert dvc(repo, "status").stdout.strip() == UP_TO_DATE
    assert exptui(repo, "status").stdout.strip() == UP_TO_DATE
    assert not (target.parent / ".gitignore").exists()  # nothing written outside the repository


def test_a_cached_output_outside_the_repo_is_refused_in_one_line(tmp_path: Path) -> None:
    """DVC 3 runs the stage, then fails to cache `/abs/out` ("not supported since DVC 3.0"); exptui refuses
    before running it, in one line naming the output and the fix, and writes nothing outside the repository."""
    target = tmp_path / "outside" / "abs_out.txt"
    target.parent.mkdir()
    repo = make_repo(tmp_path / "repo", f"stages:\n  write:\n    cmd: echo hi > {target}\n    outs: [{target}]\n")
    theirs = dvc(repo, "repro", check=False)
    assert theirs.returncode != 0 and "external output" in theirs.stderr + theirs.stdout
    target.unlink()
    ours = exptui(repo, "repro", check=False)
    assert ours.returncode != 0
    assert "Traceback" not in ours.stderr
    assert ours.stderr.strip().splitlines()[-1].endswith(
        f"stage 'write': output '{target}' is outside the repository and DVC 3 cannot cache it: add `cache: false` "
        "to it in dvc.yaml, or write it inside the repository")
    assert not target.exists()
    assert not (target.parent / ".gitignore").exists()


# ---------------------------------------------------------------- 2. .gitignore written as each stage commits

def test_a_directory_dep_sees_the_gitignore_dvc_writes_into_it(tmp_path: Path) -> None:
    """Stage A writes the cached out `data/a.txt`; stage B depends on the directory `data`. DVC adds `/a.txt` to
    `data/.gitignore` when it commits A, before B runs, so B's directory hash counts that file: exptui must write
    it at the same moment, or `dvc status` sees B's dep as modified after `exptui repro`. Names are escaped as DVC
    escapes them (`/b\\[1\\]\\*.txt`)."""
    dvc_yaml = (
        "stages:\n"
        "  a:\n"
        "    cmd: mkdir -p data && echo a > data/a.txt && echo b > 'data/b[1]*.txt'\n"
        "    outs: [data/a.txt, 'data/b[1]*.txt']\n"
        "  b:\n"
        "    cmd: ls -a data > listing.txt\n"
        "    deps: [data]\n"
        "    outs: [listing.txt]\n"
    )
    theirs = make_repo(tmp_path / "theirs", dvc_yaml, {"data/keep.txt": "k\n"})
    ours = make_repo(tmp_path / "ours", dvc_yaml, {"data/keep.txt": "k\n"})
    dvc(theirs, "repro")
    exptui(ours, "repro")
    for name in ("data/.gitignore", ".gitignore", "listing.txt", "dvc.lock"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    assert dvc(ours, "status").stdout.strip() == UP_TO_DATE
    assert exptui(ours, "status").stdout.strip() == UP_TO_DATE
    again = dvc(ours, "repro")
    assert "Running stage" not in again.stdout
    assert exptui(theirs, "status").stdout.strip() == UP_TO_DATE
