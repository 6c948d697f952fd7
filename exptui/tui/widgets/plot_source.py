"""Where per-step plot data comes from: plots files declared in dvc.yaml, read at an experiment's commit.

Read-only. Uses the Project's file reader or its store's `Git.read_blob` (one
long-lived `cat-file --batch`) when there is one; otherwise asks git for the blob (`git cat-file blob <rev>:<path>`), which never touches the
workspace. Files DVC caches (not in git) are looked up through dvc.lock in the
repo's DVC cache.
"""
from __future__ import annotations

import posixpath
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any


WORKSPACE = "workspace"   # the rev of the workspace row: read files from the work tree


@dataclass(frozen=True)
class PlotFile:
    """A plots file declared in dvc.yaml, with the x/y columns DVC allows on it (`ys`: every declared y)."""

    path: str
    x: str | None = None
    y: str | None = None
    ys: tuple[str, ...] = ()
    title: str | None = None


def repo_root(project: Any) -> Path:
    """The repository's top directory, whatever the Project calls it."""
    for name in ("root", "repo_root", "path"):
        value = getattr(project, name, None)
        if value is not None:
            return Path(value)
    raise AttributeError("project has no root directory attribute")


def read_at(project: Any, rev: str, path: str) -> bytes | None:
    """Bytes of `path` at commit `rev` (the work tree for the workspace row), or None when it does not exist."""
    if rev == WORKSPACE:
        try:
            return (repo_root(project) / path).read_bytes()
        except OSError:
            return None
    reader = getattr(project, "read_file", None)
    if callable(reader):
        try:
            return reader(rev, path)
        except (FileNotFoundError, KeyError):
            return None
    git = getattr(project, "git", None)
    if git is not None and callable(getattr(git, "read_blob", None)):
        return git.read_blob(f"{rev}:{path}")      # the store's long-lived `cat-file --batch`
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{rev}:{path}"],
        cwd=repo_root(project), capture_output=True, check=False,
    )
    return proc.stdout if proc.returncode == 0 else None


def _load_yaml(data: bytes | None) -> Any:
    if not data:
        return None
    from dvc_compat.errors import FormatError
    from dvc_compat.yamlio import load_yaml

    try:
        return load_yaml(data, "dvc.yaml")  # the one bounded reader: no alias bombs, no deep nesting
    except FormatError:
        return None


def _y_columns(y: Any, path: str) -> tuple[str, ...]:
    """DVC's `y:` is a column, a list of columns, or (top level) `{file: column(s)}`."""
    if isinstance(y, str):
        return (y,)
    if isinstance(y, list):
        return tuple(str(v) for v in y if isinstance(v, (str, int)))
    if isinstance(y, dict):
        return _y_columns(y.get(path), path)
    return ()


def _plot_file(path: str, props: dict[str, Any]) -> PlotFile:
    ys = _y_columns(props.get("y"), path)
    x = props.get("x")
    title = props.get("title")
    return PlotFile(path, x if isinstance(x, str) else None, ys[0] if ys else None, ys,
                    title if isinstance(title, str) else None)


def _entry_props(entries: Any) -> list[tuple[str, dict[str, Any]]]:
    """`[path, {path: {props}}]` (a stage's or the top-level `plots:` list) as (path, props) pairs."""
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


def _merge_declarations(stage_plots: list[tuple[str, dict[str, Any]]],
                        top_level: list[tuple[str, dict[str, Any]]]) -> list[PlotFile]:
    """One PlotFile per path: a stage's props, then the top-level definition's on top (DVC: top level wins).

    A named top-level definition (`loss: {x: {a.csv: step}, y: {a.csv: loss}}`) contributes to the files it names.
    """
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


def _resolved_declarations(project: Any, rev: str, text: bytes) -> tuple[list, list] | None:
    """Stage and top-level plots with `${...}` interpolated, through dvc_compat's dvc.yaml parser at `rev`."""
    from dvc_compat.dvcyaml import parse_dvcfile
    from dvc_compat.errors import FormatError

    try:
        parsed = parse_dvcfile(text, repo_root(project), "dvc.yaml", reader=lambda path: read_at(project, rev, path))
    except (FormatError, OSError, ValueError):
        return None
    stage_plots: list[tuple[str, dict[str, Any]]] = []
    for stage in parsed.stages.values():
        for out in stage.outs:
            if out.kind == "plots":
                path = out.path if stage.wdir in ("", ".") else posixpath.normpath(posixpath.join(stage.wdir, out.path))
                stage_plots.append((path, dict(out.props)))
    return stage_plots, _entry_props(parsed.plots)


def declared_plots(project: Any, rev: str) -> list[PlotFile]:
    """Plots files of the pipeline at `rev`, each with its stage props merged under the top-level `plots:` ones.

    Paths and props are interpolated (`${eval_dir}/confusion.csv`) when dvc.yaml parses; a dvc.yaml the parser
    rejects still yields its literal, uninterpolated file paths, so one bad stage does not blank the plots screen.
    """
    text = read_at(project, rev, "dvc.yaml")
    if not text:
        return []
    resolved = _resolved_declarations(project, rev, text)
    if resolved is not None:
        return _merge_declarations(*resolved)
    doc = _load_yaml(text)
    if not isinstance(doc, dict):
        return []
    stage_plots = [entry for stage in (doc.get("stages") or {}).values() if isinstance(stage, dict)
                   for entry in _entry_props(stage.get("plots"))]
    return _merge_declarations(stage_plots, _entry_props(doc.get("plots")))


def _cached_md5(project: Any, rev: str, path: str) -> str | None:
    lock = _load_yaml(read_at(project, rev, "dvc.lock"))
    if not isinstance(lock, dict):
        return None
    for stage in (lock.get("stages") or {}).values():
        for out in (stage or {}).get("outs") or []:
            if isinstance(out, dict) and out.get("path") == path and isinstance(out.get("md5"), str):
                return out["md5"]
    return None


def read_plot(project: Any, rev: str, path: str) -> bytes | None:
    """Contents of a plots file at `rev`: from git if tracked there, else from the DVC cache via dvc.lock."""
    data = read_at(project, rev, path)
    if data is not None:
        return data
    md5 = _cached_md5(project, rev, path)
    if md5 is None or md5.endswith(".dir"):
        return None
    cached = repo_root(project) / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    try:
        return cached.read_bytes()
    except OSError:
        return None
