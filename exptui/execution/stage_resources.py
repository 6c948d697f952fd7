"""Per-stage Dask resources: an ``exptui.yaml`` next to ``dvc.yaml`` says what a stage needs.

    resources:
      train: {GPU: 1}            # a stage name, or its address (sub/dvc.yaml:train, foreach@item)
      evaluate: {MEM: 4e9}

Why a file of its own: DVC refuses unknown keys in ``dvc.yaml``, and ``params.yaml`` is data the experiment
compares. The file is read from the entry's snapshot, so it is versioned with the pipeline.

A Dask task runs the whole pipeline of one experiment, so the task asks for the most of each resource over the
stages that will run (``exptui repro --dry``'s plan in the snapshot: run, or maybe run after an upstream
change); a stage restored from the cache needs nothing. A stage without an entry needs the entry's
``--resources``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from exptui.errors import ExptuiError

CONFIG = "exptui.yaml"


def read_stage_resources(root: Path) -> dict[str, dict[str, float]]:
    """{stage name or address: {resource: amount}} from `root`/exptui.yaml ({} without the file or the key);
    a malformed file is one line naming the file and the key."""
    import yaml

    path = Path(root) / CONFIG
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ExptuiError(f"{CONFIG}: cannot read it: {exc.strerror or exc}") from None
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ExptuiError(f"{CONFIG}: not valid YAML{where}; fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ExptuiError(f"{CONFIG}: expected a mapping at the top (e.g. resources: {{train: {{GPU: 1}}}})")
    section = data.get("resources")
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ExptuiError(f"{CONFIG}: 'resources' must map stage names to {{NAME: NUMBER}} (e.g. train: {{GPU: 1}})")
    out: dict[str, dict[str, float]] = {}
    for stage, wants in section.items():
        if not isinstance(wants, dict):
            raise ExptuiError(f"{CONFIG}: resources.{stage} must be a mapping of NAME: NUMBER (e.g. {{GPU: 1}})")
        amounts: dict[str, float] = {}
        for name, value in wants.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ExptuiError(f"{CONFIG}: resources.{stage}.{name}: {value!r} is not a number")
            try:
                amounts[str(name)] = float(value)
            except ValueError:
                raise ExptuiError(f"{CONFIG}: resources.{stage}.{name}: {value!r} is not a number") from None
        out[str(stage)] = amounts
    return out


def _own(per_stage: dict[str, dict[str, float]], address: str) -> dict[str, float] | None:
    if address in per_stage:
        return per_stage[address]
    name = address.rsplit(":", 1)[-1]
    return per_stage.get(name)


def task_resources(run_dir: Path, cache_dir: Path | None, default: dict[str, float]) -> tuple[dict[str, float],
                                                                                            list[str]]:
    """(resources of the Dask task, the stages that asked for more than `default`) for the snapshot checked out
    in `run_dir`: `default` when exptui.yaml names no stage; else the most of each resource over the stages
    that will run, each with its own entry or `default`."""
    per_stage = read_stage_resources(run_dir)
    if not per_stage:
        return dict(default), []
    from exptui.pipeline.dry import MAYBE, RUN, dry_run

    plan = dry_run(run_dir, cache_dir=cache_dir)
    total: dict[str, float] = {}
    asking: list[str] = []
    for planned in plan:
        if planned.action not in (RUN, MAYBE):
            continue
        own = _own(per_stage, planned.address)
        wants = default if own is None else own
        if own is not None and any(v > default.get(k, 0.0) for k, v in own.items()):
            asking.append(planned.address)
        for k, v in wants.items():
            total[k] = max(total.get(k, 0.0), v)
    if not any(p.action in (RUN, MAYBE) for p in plan):
        return dict(default), []
    return total, asking
