"""Disk full while writing (docs/reliability.md): a failed cache write is one clear line, the old files are intact,
no half-written object or ref is left, and the next run (with room again) completes.

A real full disk needs a mount; a per-process file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes every
write past the limit fail with an OSError the same way, in exptui's process only: the stage command lifts its
own soft limit, so the stage succeeds and exptui fails while copying its 3 MB output into the cache.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git
from dvc_compat.config import init_dvc_dir

EXPTUI = str(Path(sys.executable).parent / "exptui")
LIMIT = 1024 * 1024
DVC_YAML = """stages:
  big:
    cmd: ulimit -f unlimited; python3 -c "open('out.bin', 'wb').write(b'x' * ${size})"
    params: [size]
    outs: [out.bin]
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE semantics are Linux's")


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # write() then fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.RLIM_INFINITY))


def exptui(repo: Path, *args: str, limited: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXPTUI, "-C", str(repo), *args], capture_output=True, text=True, timeout=120,
                          preexec_fn=_limited if limited else None, env={**os.environ, "SHELL": "/bin/sh"})


@pytest.fixture
def repo(git_repo: Path) -> Path:
    init_dvc_dir(git_repo)
    (git_repo / "dvc.yaml").write_text(DVC_YAML)
    (git_repo / "params.yaml").write_text("size: 1000\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "pipeline")
    proc = exptui(git_repo, "repro", limited=False)
    assert proc.returncode == 0, proc.stderr
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "baseline")
    return git_repo


def _cache_files(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / ".dvc" / "cache").rglob("*") if p.is_file())


def _refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def test_repro_with_a_full_disk_fails_in_one_line_and_recovers(repo: Path) -> None:
    lock_before = (repo / "dvc.lock").read_bytes()
    cache_before = _cache_files(repo)
    (repo / "params.yaml").write_text(f"size: {3 * LIMIT}\n")

    proc = exptui(repo, "repro", limited=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: stage 'big': could not save output 'out.bin' to the cache ")
    assert "File too large" in lines[0] and "dvc.lock was not changed" in lines[0]
    assert (repo / "dvc.lock").read_bytes() == lock_before
    assert _cache_files(repo) == cache_before            # no partial object, no temp file left in the cache

    proc = exptui(repo, "repro", limited=False)           # room again: the same command completes
    assert proc.returncode == 0, proc.stderr
    assert f"size: {3 * LIMIT}" in (repo / "dvc.lock").read_text()
    new = [p for p in _cache_files(repo) if p not in cache_before and "files" in p.parts]
    assert len(new) == 1 and new[0].stat().st_size == 3 * LIMIT    # the object, whole (plus a run-cache entry)


def test_experiment_run_with_a_full_disk_records_nothing_and_keeps_params(repo: Path) -> None:
    params_before = (repo / "params.yaml").read_bytes()
    refs_before = _refs(repo)
    proc = exptui(repo, "run", "-S", f"size={3 * LIMIT}", "-n", "huge", limited=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "could not save output 'out.bin' to the cache" in proc.stderr
    assert (repo / "params.yaml").read_bytes() == params_before   # the -S edit is undone
    assert _refs(repo) == refs_before                              # no experiment ref
    proc = exptui(repo, "run", "-S", f"size={3 * LIMIT}", "-n", "huge", limited=False)
    assert proc.returncode == 0, proc.stderr
    assert "refs/exps/" in _refs(repo)
