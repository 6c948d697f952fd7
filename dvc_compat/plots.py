"""DVC plots: which files a dvc.yaml declares as plots (with their x/y/title props), and the records in them.

* a stage's ``plots:`` entries are outputs (``path`` or ``{path: {x, y, title, cache...}}``), relative to the
  stage's ``wdir``; the top-level ``plots:`` list holds file ids (``path`` or ``{path: props}``) or named
  definitions whose ``x``/``y`` map files to columns (``loss: {x: {a.csv: step}, y: {a.csv: loss}}``); for one
  file the top-level props win over the stage's (DVC merges them that way);
* ``y`` is a column, a list of columns, or (top level) ``{file: column(s)}``;
* plots data files are csv, tsv, json or yaml: a list of records, or (json/yaml) a mapping holding exactly one
  list of records. YAML is read as DVC reads it (YAML 1.2: ``1e-3`` is a number, ``yes`` a string).
"""
from __future__ import annotations

import csv
import io
import json
import posixpath
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from collections.abc import Mapping

from dvc_compat.model import DvcFile

__all__ = ["PlotFile", "plot_files", "plot_files_unresolved", "parse_plot_records"]


@dataclass(frozen=True)
class PlotFile:
    """A plots file declared in dvc.yaml (repo-relative path), with the x/y columns DVC allows on it
    (`ys`: every declared y, `y` the first)."""

    path: str
    x: str | None = None
    y: str | None = None
    ys: tuple[str, ...] = ()
    title: str | None = None


def _y_columns(y: Any, path: str) -> tuple[str, ...]:
    if isinstance(y, str):
        return (y,)
    if isinstance(y, list):
        return tuple(str(v) for v in y if isinstance(v, (str, int)))
    if isinstance(y, dict):
        return _y_columns(y.get(path), path)
    return ()


def _plot_file(path: str, props: Mapping[str, Any]) -> PlotFile:
    ys = _y_columns(props.get("y"), path)
    x = props.get("x")
    title = props.get("title")
    return PlotFile(path, x if isinstance(x, str) else None, ys[0] if ys else None, ys,
                    title if isinstance(title, str) else None)


def _entry_props(entries: Any) -> list[tuple[str, dict[str, Any]]]:
    """``[path, {path: {props}}]`` (a stage's or the top-level ``plots:`` list) as (path, props) pairs."""
    out: list[tuple[str, dict[str, Any]]] = []
    items = entries if isinstance(entries, list) else [entries] if entries else []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict):
            for path, props in item.items():
                out.append((str(path), props if isinstance(props, dict) else {}))
    return out


def _is_file_path(plot_id: str) -> bool:
    """A top-level plot id names a file when it has an extension; otherwise it names a multi-file definition."""
    return "." in PurePosixPath(plot_id).name


def _merge(stage_plots: list[tuple[str, dict[str, Any]]], top_level: list[tuple[str, dict[str, Any]]]
           ) -> list[PlotFile]:
    merged: dict[str, dict[str, Any]] = {}
    for path, props in stage_plots:
        merged.setdefault(path, {}).update({k: v for k, v in props.items() if k not in ("cache", "persist")})
    for plot_id, props in top_level:
        if _is_file_path(plot_id):
            merged.setdefault(plot_id, {}).update(props)
            continue
        files: list[str] = []
        for axis in ("x", "y"):
            value = props.get(axis)
            if isinstance(value, dict):
                files.extend(str(f) for f in value if str(f) not in files)
        for file in files:
            entry = merged.setdefault(file, {})
            x = props.get("x")
            if isinstance(x, dict) and isinstance(x.get(file), str):
                entry.setdefault("x", x[file])
            elif isinstance(x, str):
                entry.setdefault("x", x)
            if "y" not in entry and _y_columns(props.get("y"), file):
                entry["y"] = list(_y_columns(props.get("y"), file))
    return [_plot_file(path, props) for path, props in merged.items() if "${" not in path]


def plot_files(dvcfile: DvcFile) -> list[PlotFile]:
    """Plots files of a parsed dvc.yaml (interpolated), each with its stage props merged under the top-level ones."""
    stage_plots: list[tuple[str, dict[str, Any]]] = []
    for stage in dvcfile.stages.values():
        for out in stage.outs:
            if out.kind == "plots":
                path = out.path if stage.wdir in ("", ".") else posixpath.normpath(posixpath.join(stage.wdir, out.path))
                stage_plots.append((path, dict(out.props)))
    return _merge(stage_plots, _entry_props(dvcfile.plots))


def plot_files_unresolved(doc: Any) -> list[PlotFile]:
    """The literal (uninterpolated) plots files of a dvc.yaml document the parser rejects, so that one bad stage
    does not hide every plot."""
    if not isinstance(doc, dict):
        return []
    stages = doc.get("stages")
    stage_plots = [entry for stage in (stages.values() if isinstance(stages, dict) else ()) if isinstance(stage, dict)
                   for entry in _entry_props(stage.get("plots"))]
    return _merge(stage_plots, _entry_props(doc.get("plots")))


def parse_plot_records(path: str, data: bytes) -> list[dict[str, Any]]:
    """Rows of a plots data file (csv, tsv, json, yaml) as ``{column: value}`` records; anything else, or a
    malformed file, yields ``[]`` (one odd file never breaks a plot of the others)."""
    from dvc_compat.errors import FormatError
    from dvc_compat.yamlio import load_yaml

    lower = path.lower()
    text = data.decode("utf-8", errors="replace")
    if lower.endswith((".csv", ".tsv")):
        delimiter = "\t" if lower.endswith(".tsv") else ","
        try:
            return [dict(r) for r in csv.DictReader(io.StringIO(text), delimiter=delimiter)]
        except csv.Error:
            return []
    try:
        loaded: Any = load_yaml(data, path) if lower.endswith((".yaml", ".yml")) else json.loads(text)
    except (FormatError, ValueError, RecursionError):
        return []
    if isinstance(loaded, dict):
        lists = [v for v in loaded.values() if isinstance(v, list)]
        loaded = lists[0] if len(lists) == 1 else []
    if not isinstance(loaded, list):
        return []
    return [r for r in loaded if isinstance(r, dict)]
