"""What the interop tests share: the real `dvc` and `exptui` as subprocesses, and the module-wide environment their
module-scoped repos are built in."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BIN, TEST_GIT_ENV

DVC = str(BIN / "dvc")
#: a pipeline run on a loaded 2-core machine; a command that takes longer is stuck, and the test says which
TIMEOUT = 300


def _checked(what: str, argv: list[str], cwd: Path | None, check: bool) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real `dvc` in `repo`; an AssertionError with its output when it fails (unless `check` is off)."""
    return _checked(f"dvc {' '.join(args)}", [DVC, *args], repo, check)


def exptui(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m exptui -C repo ...`, checked like `dvc`."""
    return _checked(f"exptui {' '.join(args)}", [sys.executable, "-m", "exptui", "-C", str(repo), *args], None,
                    check)


@pytest.fixture(scope="module", autouse=True)
def _module_env() -> Iterator[None]:
    """The module-scoped repos are built before conftest's per-test env: give the whole module the same env.
    (Import it into a test module to use it there.)"""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in TEST_GIT_ENV.items():
            mp.setenv(key, value)
        mp.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        yield
