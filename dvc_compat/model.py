"""Typed records for what dvc.yaml declares and what dvc.lock records.

These are the contract between the parsers in `dvc_compat` and the engine in
`exptui.pipeline`: parsers produce them, the engine consumes them.
Paths are POSIX strings. Stage-level paths (deps, outs, params files) are as
written in dvc.yaml, i.e. relative to the stage's `wdir`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OutKind = Literal["outs", "metrics", "plots"]


@dataclass(frozen=True)
class OutSpec:
    """One entry of a stage's outs/metrics/plots."""

    path: str
    kind: OutKind = "outs"
    cache: bool = True
    persist: bool = False
    props: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ParamSpec:
    """One params file a stage depends on; `keys=None` means the whole file."""

    file: str = "params.yaml"
    keys: tuple[str, ...] | None = None


@dataclass
class StageSpec:
    """A fully resolved stage (interpolation done, foreach/matrix expanded)."""

    name: str                      # e.g. "train" or "train@lightgbm"
    dvcfile: str                   # repo-relative path of the dvc.yaml, e.g. "dvc.yaml", "sub/dvc.yaml"
    wdir: str                      # repo-relative working dir, "." for the repo root
    cmd: str | list[str]
    deps: list[str] = field(default_factory=list)
    params: list[ParamSpec] = field(default_factory=list)
    outs: list[OutSpec] = field(default_factory=list)
    frozen: bool = False
    always_changed: bool = False
    desc: str | None = None
    meta: Any = None

    @property
    def address(self) -> str:
        """How DVC names the stage on the command line: `train` or `sub/dvc.yaml:train`."""
        return self.name if self.dvcfile == "dvc.yaml" else f"{self.dvcfile}:{self.name}"


@dataclass
class DvcFile:
    """One parsed dvc.yaml."""

    path: str                                  # repo-relative
    stages: dict[str, StageSpec] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)     # top-level params files
    metrics: list[str] = field(default_factory=list)    # top-level metrics paths
    plots: list[Any] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)
    # params/vars files (repo-relative) -> dotted keys the stages interpolate from them, e.g.
    # {"config/model.yaml": ("model.layers",)}; DVC's exp show lists these as params (added by dvc_compat)
    vars_params: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class HashInfo:
    """A dep/out record in dvc.lock or a .dvc file."""

    path: str
    md5: str | None
    size: int | None = None
    nfiles: int | None = None
    isexec: bool = False
    legacy: bool = False           # no `hash: md5`: a DVC 2 md5-dos2unix hash

    @property
    def is_dir(self) -> bool:
        return bool(self.md5 and self.md5.endswith(".dir"))


@dataclass
class LockStage:
    """One stage's entry in dvc.lock (key order cmd, deps, params, outs)."""

    cmd: str | list[str]
    deps: list[HashInfo] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    outs: list[HashInfo] = field(default_factory=list)
