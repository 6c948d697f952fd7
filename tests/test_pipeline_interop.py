"""The real dvc is the judge: locks, caches and run caches exptui writes are DVC's, both ways."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN, copy_pipeline, git
from exptui.pipeline.repro import reproduce
from exptui.pipeline.status import pipeline_status

pytestmark = pytest.mark.dvc

PY = sys.executable
DVC = str(BIN / "dvc")

STAGE_SCRIPT = """
import json, os, sys, yaml
name = sys.argv[1]
open('runs.log', 'a').write(name + '\\n')
p = yaml.safe_load(open('params.yaml'))
if name == 'prepare':
    os.makedirs('data/prepared/nested', exist_ok=True)
    raw = open('data/raw.csv').read()
    open('data/prepared/train.csv', 'w').write(raw * p['prepare']['copies'])
    open('data/prepared/nested/test.csv', 'w').write(raw[::-1])
else:
    size = os.path.getsize('data/prepared/train.csv')
    os.makedirs('models', exist_ok=True)
    open(f'models/{name}.bin', 'w').write(f'{name} lr={p["train"]["lr"]} size={size}\\n')
    json.dump({'score': size * p['train']['lr'], 'model': name}, open(f'metrics-{name}.json', 'w'))
"""

DVC_YAML = f"""\
stages:
  prepare:
    cmd: {PY} stage.py prepare
    deps:
      - stage.py
      - data/raw.csv
    params:
      - prepare
    outs:
      - data/prepared
  train:
    foreach: [alpha, beta]
    do:
      cmd: {PY} stage.py ${{item}}
      deps:
        - stage.py
        - data/prepared
      params:
        - train.lr
        - extra.yaml:
      outs:
        - models/${{item}}.bin
      metrics:
        - metrics-${{item}}.json:
            cache: false
"""


def dvc(repo: Path, *args: str) -> str:
    proc = subprocess.run([DVC, *args], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def runs(repo: Path) -> list[str]:
    try:
        return (repo / "runs.log").read_text().split()
    except FileNotFoundError:
        return []


def make(repo: Path, lr: float = 0.1) -> Path:
    dvc(repo, "init", "-q")
    (repo / "data").mkdir()
    (repo / "data/raw.csv").write_text("a,b\n1,2\n")
    (repo / "stage.py").write_text(STAGE_SCRIPT)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "extra.yaml").write_text("opt: adam\nlayers: [3, 4]\n")
    (repo / "params.yaml").write_text(f"prepare:\n  copies: 3\ntrain:\n  lr: {lr}\n")
    (repo / ".gitignore").write_text("runs.log\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    return repo


def set_lr(repo: Path, lr: float) -> None:
    (repo / "params.yaml").write_text(f"prepare:\n  copies: 3\ntrain:\n  lr: {lr}\n")


def cache_files(repo: Path) -> dict[str, bytes]:
    cache = repo / ".dvc" / "cache"
    return {p.relative_to(cache).as_posix(): p.read_bytes() for p in sorted(cache.rglob("*")) if p.is_file()}


def test_exptui_repro_then_dvc_status_is_up_to_date(git_repo: Path) -> None:
    repo = make(git_repo)
    reproduce(repo)
    assert "Data and pipelines are up to date." in dvc(repo, "status")
    out = dvc(repo, "repro")
    assert out.count("didn't change, skipping") == 3
    assert runs(repo) == ["prepare", "alpha", "beta"]


def test_dvc_repro_then_exptui_status_is_up_to_date(git_repo: Path) -> None:
    repo = make(git_repo)
    dvc(repo, "repro", "-q")
    assert all(not s.changed for s in pipeline_status(repo))
    assert not reproduce(repo).changed
    assert runs(repo) == ["prepare", "alpha", "beta"]


def test_lock_cache_run_cache_and_gitignores_are_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for repo in (a, b):
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        make(repo)
    dvc(a, "repro", "-q")
    reproduce(b)
    assert (b / "dvc.lock").read_bytes() == (a / "dvc.lock").read_bytes()
    assert cache_files(b) == cache_files(a)  # objects, .dir manifests and run-cache entries
    for gi in (".gitignore", "data/.gitignore", "models/.gitignore"):
        assert (b / gi).read_text() == (a / gi).read_text(), gi


def test_dvc_restores_from_the_run_cache_exptui_wrote(git_repo: Path) -> None:
    repo = make(git_repo)
    reproduce(repo)
    model = (repo / "models/alpha.bin").read_bytes()
    set_lr(repo, 0.2)
    reproduce(repo)
    set_lr(repo, 0.1)
    out = dvc(repo, "repro")
    assert "is cached" in out
    assert runs(repo) == ["prepare", "alpha", "beta", "alpha", "beta"]
    assert (repo / "models/alpha.bin").read_bytes() == model


def test_exptui_restores_from_the_run_cache_dvc_wrote(git_repo: Path) -> None:
    repo = make(git_repo)
    dvc(repo, "repro", "-q")
    lock = (repo / "dvc.lock").read_bytes()
    set_lr(repo, 0.2)
    dvc(repo, "repro", "-q")
    set_lr(repo, 0.1)
    result = reproduce(repo)
    assert {s.address: s.outcome for s in result.stages} == {
        "prepare": "skipped", "train@alpha": "run-cache", "train@beta": "run-cache"}
    assert runs(repo) == ["prepare", "alpha", "beta", "alpha", "beta"]
    assert (repo / "dvc.lock").read_bytes() == lock
    assert "Data and pipelines are up to date." in dvc(repo, "status")


def test_status_reasons_agree_with_dvc(git_repo: Path) -> None:
    repo = make(git_repo)
    reproduce(repo)
    set_lr(repo, 0.3)
    (repo / "models/beta.bin").unlink()
    (repo / "data/raw.csv").write_text("a,b\n9,9\n")
    ours = {s.address: sorted(str(c) for c in s.changes) for s in pipeline_status(repo) if s.changed}
    assert ours == {
        "prepare": ["dep data/raw.csv: modified"],
        "train@alpha": ["param train.lr: 0.1 -> 0.3"],
        "train@beta": ["out models/beta.bin: deleted", "param train.lr: 0.1 -> 0.3"],
    }
    theirs = dvc(repo, "status")
    for stage in ours:
        assert f"{stage}:" in theirs


def test_churn_pipeline_round_trip(git_repo: Path) -> None:
    repo = copy_pipeline("churn", git_repo)
    dvc(repo, "init", "-q")
    result = reproduce(repo)
    assert [s.outcome for s in result.stages] == ["ran"] * len(result.stages)
    assert "Data and pipelines are up to date." in dvc(repo, "status")
    shutil.rmtree(repo / "models")
    assert "is cached" in dvc(repo, "repro")  # dvc restores the model exptui cached
    assert all(not s.changed for s in pipeline_status(repo))


@pytest.mark.slow
def test_sentiment_pipeline_lock_matches_dvc(tmp_path: Path) -> None:
    """vars + ${...}, foreach and key-level params: exptui's dvc.lock is byte-identical to dvc's."""
    a, b = tmp_path / "a", tmp_path / "b"
    for repo in (a, b):
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / ".gitignore").write_text("")
        git(repo, "add", ".gitignore")
        git(repo, "commit", "-q", "-m", "init")
        copy_pipeline("sentiment", repo)
        dvc(repo, "init", "-q")
    dvc(a, "repro", "-q")
    result = reproduce(b)
    assert [s.address for s in result.stages][:2] == ["generate@train", "generate@test"]
    assert (b / "dvc.lock").read_bytes() == (a / "dvc.lock").read_bytes()
    assert "Data and pipelines are up to date." in dvc(b, "status")


def test_dvcignore_subdir_dvc_yaml_wdir_and_empty_dir_match_dvc(tmp_path: Path) -> None:
    """Directory hashes honour .dvcignore; sub/dvc.yaml with wdir gets its own byte-identical lock."""
    a, b = tmp_path / "a", tmp_path / "b"
    for repo in (a, b):
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        dvc(repo, "init", "-q")
        (repo / ".dvcignore").write_text("*.tmp\nscratch/\n")
        (repo / "sub" / "work").mkdir(parents=True)
        (repo / "sub" / "work" / "params.yaml").write_text("n: 3\nname: x\n")
        (repo / "sub" / "dvc.yaml").write_text(
            "stages:\n"
            "  make:\n"
            "    wdir: work\n"
            "    cmd: mkdir -p out/scratch out/deep/er empty && echo a > out/a.txt && echo t > out/b.tmp "
            "&& echo s > out/scratch/s.txt && echo d > out/deep/er/d.txt\n"
            "    params: [n]\n"
            "    outs: [out, empty]\n"
            "  use:\n"
            "    cmd: cat work/out/a.txt work/out/deep/er/d.txt > used.txt\n"
            "    deps: [work/out]\n"
            "    outs: [used.txt]\n"
        )
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "sub pipeline")
    dvc(a, "repro", "-q", "sub/dvc.yaml")  # dvc needs a target when the root has no dvc.yaml
    result = reproduce(b)
    assert [s.address for s in result.stages] == ["sub/dvc.yaml:make", "sub/dvc.yaml:use"]
    assert (b / "sub" / "dvc.lock").read_bytes() == (a / "sub" / "dvc.lock").read_bytes()
    assert "nfiles: 2" in (b / "sub" / "dvc.lock").read_text()  # a.txt, deep/er/d.txt
    assert "Data and pipelines are up to date." in dvc(b, "status")


def test_dvc_and_exptui_share_the_repo_lock(git_repo: Path) -> None:
    import time

    dvc(git_repo, "init", "-q")
    (git_repo / "dvc.yaml").write_text(
        "stages:\n  slow:\n    cmd: touch started && for i in $(seq 600); do [ -e release ] && break; sleep 0.1; done"
        " && echo ok > out.txt\n    outs: [out.txt]\n")
    ours = subprocess.Popen([str(BIN / "exptui"), "-C", str(git_repo), "repro", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 20
        while not (git_repo / "started").exists() and time.monotonic() < end:
            time.sleep(0.05)
        theirs = subprocess.run([DVC, "repro"], cwd=git_repo, capture_output=True, text=True)
        assert theirs.returncode != 0
        assert "Unable to acquire lock" in theirs.stderr + theirs.stdout
    finally:
        (git_repo / "release").touch()
        out, err = ours.communicate(timeout=60)
    assert ours.returncode == 0, err
    assert "Data and pipelines are up to date." in dvc(git_repo, "status")


def test_dvcignore_negation_and_subdirectory_files_hash_as_dvc(tmp_path: Path) -> None:
    """A directory dependency's hash leaves out what .dvcignore files (the root's and a subdirectory's, with `!`
    re-includes) ignore, exactly as DVC does (DVC refuses a .dvcignore inside the directory itself)."""
    a, b = tmp_path / "a", tmp_path / "b"
    for repo in (a, b):
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        dvc(repo, "init", "-q")
        (repo / ".dvcignore").write_text("*.log\n!keep.log\n")
        (repo / "work" / "data" / "deep").mkdir(parents=True)
        for name in ("a.txt", "x.log", "keep.log", "b.csv", "deep/c.csv", "deep/d.txt"):
            (repo / "work" / "data" / name).write_text(name)
        (repo / "work" / ".dvcignore").write_text("*.csv\n!data/deep/c.csv\n")
        (repo / "dvc.yaml").write_text("stages:\n  use:\n    cmd: ls work/data > list.txt\n    deps: [work/data]\n"
                                       "    outs: [list.txt]\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "pipeline")
    dvc(a, "repro", "-q")
    reproduce(b)
    assert "nfiles: 4" in (a / "dvc.lock").read_text()   # a.txt, keep.log, deep/c.csv, deep/d.txt
    assert (b / "dvc.lock").read_text() == (a / "dvc.lock").read_text()
