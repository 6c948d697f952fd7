"""Per-stage Dask resources from exptui.yaml: the task asks for the most over the stages that will run."""
from __future__ import annotations

from pathlib import Path

import pytest

from exptui.errors import ExptuiError
from exptui.execution.stage_resources import read_stage_resources, task_resources
from exptui.pipeline.repro import reproduce
from test_queue_support import make_repo


def test_stage_resources_are_the_most_over_the_stages_that_will_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert task_resources(repo, None, {"MEM": 2.0}) == ({"MEM": 2.0}, [])        # no exptui.yaml
    (repo / "exptui.yaml").write_text("resources:\n  train: {GPU: 1}\n  unknown: {GPU: 8}\n")
    assert task_resources(repo, None, {"MEM": 2.0}) == ({"GPU": 1.0}, ["train"])  # its own, not the default
    (repo / "exptui.yaml").write_text("resources:\n  evaluate: {GPU: 1}\n")
    assert task_resources(repo, None, {"MEM": 2.0}) == ({"MEM": 2.0}, [])        # train has none: the default
    reproduce(repo)                                                                # up to date: nothing runs
    assert task_resources(repo, None, {"MEM": 2.0}) == ({"MEM": 2.0}, [])


@pytest.mark.parametrize("text, message", [
    ("resources:\n  train: {GPU: many}\n", "exptui.yaml: resources.train.GPU: 'many' is not a number"),
    ("resources:\n  train: 1\n", "exptui.yaml: resources.train must be a mapping of NAME: NUMBER (e.g. {GPU: 1})"),
    ("resources: [train]\n", "exptui.yaml: 'resources' must map stage names to {NAME: NUMBER} (e.g. train: {GPU: 1})"),
    ("resources: {train: {GPU: 1}\n", "exptui.yaml: not valid YAML (line 2); fix the file"),
])
def test_a_malformed_exptui_yaml_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "exptui.yaml").write_text(text)
    with pytest.raises(ExptuiError) as info:
        read_stage_resources(tmp_path)
    assert str(info.value) == message
