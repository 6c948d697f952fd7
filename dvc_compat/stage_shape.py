"""The shape DVC requires of a dvc.yaml stage *before* ``${}`` interpolation.

DVC validates dvc.yaml against its schema first and interpolates afterwards, so a field whose type is fixed by the
schema cannot be filled in by ``${}``: ``frozen: ${flag}`` is "expected bool" and ``deps: ${files}`` is "expected
a list", even when the variable holds a boolean or a list. Null sections (``deps:`` with nothing after it) fail the
same way. Checking the raw definition here keeps exptui from accepting (and running) what `dvc` refuses to load.
Only the shape is checked; unknown keys and values are left to the checks after interpolation.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ShapeError", "check_stage_shape", "check_top_shape"]

LIST_FIELDS = ("deps", "params", "outs", "metrics", "plots", "vars")
BOOL_FIELDS = ("frozen", "always_changed")
STR_FIELDS = ("wdir", "desc")
OUT_BOOL_FLAGS = ("cache", "persist", "checkpoint", "push")
PLOT_BOOL_FLAGS = ("header",)
TOP_LIST_FIELDS = ("params", "metrics", "plots", "vars")


class ShapeError(Exception):
    """A field of the wrong type; `loc` is the path to it inside the stage (or the file) definition."""

    def __init__(self, message: str, *loc: Any):
        super().__init__(message)
        self.message = message
        self.loc = loc


def _what(value: Any) -> str:
    if value is None:
        return "null (nothing after the key)"
    if isinstance(value, str) and "${" in value:
        return f"'{value}' (DVC checks this field before interpolating ${{}})"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


def check_stage_shape(definition: Mapping[str, Any]) -> None:
    """Raise `ShapeError` where a raw stage definition (a plain stage, a ``do`` block or a matrix stage) does not
    have the types DVC's schema requires."""
    for key in LIST_FIELDS:
        if key in definition and not isinstance(definition[key], list):
            what = "a list of paths" if key == "deps" else "a list"
            raise ShapeError(f"'{key}' must be {what}, not {_what(definition[key])}", key)
    for key in BOOL_FIELDS:
        if key in definition and not isinstance(definition[key], bool):
            raise ShapeError(f"'{key}' must be true or false, not {_what(definition[key])}", key)
    for key in STR_FIELDS:
        if key in definition and not isinstance(definition[key], str):
            raise ShapeError(f"'{key}' must be a string, not {_what(definition[key])}", key)
    for kind in ("outs", "metrics", "plots"):
        for i, entry in enumerate(definition.get(kind) or ()):
            if not isinstance(entry, dict):
                continue
            flags_allowed = OUT_BOOL_FLAGS + (PLOT_BOOL_FLAGS if kind == "plots" else ())
            for path, flags in entry.items():
                if flags is None:
                    raise ShapeError(f"'{kind}' entry '{path}' must map to its flags, not {_what(flags)}", kind, i,
                                     path)
                if not isinstance(flags, dict):
                    continue
                for flag in flags_allowed:
                    if flag in flags and not isinstance(flags[flag], bool):
                        raise ShapeError(f"'{flag}' of '{path}' in '{kind}' must be true or false, not "
                                         f"{_what(flags[flag])}", kind, i, path, flag)


def check_top_shape(data: Mapping[str, Any]) -> None:
    """The same for the top level of a dvc.yaml: ``stages`` a mapping, ``params``/``metrics``/``plots``/``vars``
    lists."""
    if "stages" in data and not isinstance(data["stages"], dict):
        raise ShapeError(f"'stages' must be a mapping, not {_what(data['stages'])}", "stages")
    for key in TOP_LIST_FIELDS:
        if key in data and not isinstance(data[key], list):
            raise ShapeError(f"top-level '{key}' must be a list, not {_what(data[key])}", key)
