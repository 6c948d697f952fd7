"""The one-stage pipeline repo the queue and the search test repos are built on: a `python stage.py` stage whose
params section is `train` and whose metrics (and plots) are not cached, committed in a fresh git repo that has
`.dvc/` as `dvc init` writes it.

No pytest here: `benchmarks/` builds the search repo with it too.
"""
from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from dvc_compat.config import init_dvc_dir


def one_stage_dvc_yaml(metrics: Sequence[str], plots: Sequence[str] = ()) -> str:
    """dvc.yaml of the `train` stage: deps stage.py, params `train`, `metrics` and `plots` with `cache: false`."""
    lines = ["stages:", "  train:", "    cmd: python stage.py", "    deps:", "      - stage.py", "    params:",
             "      - train", "    metrics:"]
    for path in metrics:
        lines += [f"      - {path}:", "          cache: false"]
    if plots:
        lines.append("    plots:")
        for path in plots:
            lines += [f"      - {path}:", "          cache: false"]
    return "\n".join(lines) + "\n"


def commit_stage_repo(repo: Path, files: dict[str, str]) -> Path:
    """`repo` created with `files` (stage.py, dvc.yaml, params.yaml...) committed on branch main; the identity
    given here only applies where the environment names none (benchmarks run without the tests' env)."""
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)

    git("init", "-q", "-b", "main")
    init_dvc_dir(repo)  # what `dvc init` creates: the pipeline engine wants a DVC repository
    for name, text in files.items():
        (repo / name).write_text(text)
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "pipeline")
    return repo
