"""Params and metrics of the workspace as they are on disk (the `workspace` row of the table)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from exptui.store.commit_data import _filter_metrics, _flatten, _select_keys, declared_files, parse_file_bytes


def read_workspace(root: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, str]]:
    """(params, metrics, errors) read from the files under `root`, like a commit's but from disk."""
    from dvc_compat.dvcyaml import load_project
    from dvc_compat.errors import FormatError
    from dvc_compat.params import params_format

    errors: dict[str, str] = {}
    try:
        dvcfiles = load_project(root)
    except FormatError as exc:
        errors[exc.path] = str(exc)
        dvcfiles = []
    declared = declared_files(dvcfiles)
    explicit = set(declared.params)
    params_files = dict(declared.params)
    params_files["params.yaml"] = None
    params: dict[str, dict[str, Any]] = {}
    metrics: dict[str, dict[str, Any]] = {}
    for path, keys in params_files.items():
        try:
            raw = (root / path).read_bytes()
        except FileNotFoundError:
            if path != "params.yaml" or path in explicit:
                errors[path] = "file not found"
            continue
        except OSError as exc:
            errors[path] = f"cannot read: {exc.strerror}"
            continue
        ok, data = parse_file_bytes(raw, path, params_format(path))
        if not ok:
            errors[path] = data
            continue
        params[path] = _select_keys(data, keys) if keys else _flatten(data)
    for path in declared.metrics:
        target = root / path
        files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        for f in files:
            rel = f.relative_to(root).as_posix()
            try:
                raw = f.read_bytes()
            except FileNotFoundError:
                errors[rel] = "file not found"
                continue
            except OSError as exc:
                errors[rel] = f"cannot read: {exc.strerror}"
                continue
            ok, data = parse_file_bytes(raw, rel, params_format(rel))
            if ok:
                metrics[rel] = _filter_metrics(data)
            else:
                errors[rel] = data
    return params, metrics, errors
