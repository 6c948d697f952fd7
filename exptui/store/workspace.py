"""Params and metrics of the workspace as they are on disk (the `workspace` row of the table)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from exptui.store.commit_data import (
    SIZE_HINT,
    _filter_metrics,
    _flatten,
    _select_keys,
    declared_files,
    display_file_limit,
    parse_file_bytes,
)


def read_workspace(root: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, str]]:
    """(params, metrics, errors) read from the files under `root`, like a commit's but from disk.

    Files are read with `read_limited`: one over the display limit, a FIFO or a device becomes an error cell."""
    from dvc_compat.dvcyaml import load_project
    from dvc_compat.errors import FormatError
    from dvc_compat.limits import read_limited
    from dvc_compat.params import params_format

    max_bytes = display_file_limit()
    errors: dict[str, str] = {}
    try:
        dvcfiles = load_project(root, max_bytes=max_bytes, limit_hint=SIZE_HINT)
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
            raw = read_limited(root / path, path, max_bytes, SIZE_HINT)
        except FileNotFoundError:
            if path != "params.yaml" or path in explicit:
                errors[path] = "file not found"
            continue
        except FormatError as exc:
            errors[path] = str(exc)
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
                raw = read_limited(f, rel, max_bytes, SIZE_HINT)
            except FileNotFoundError:
                errors[rel] = "file not found"
                continue
            except FormatError as exc:
                errors[rel] = str(exc)
                continue
            ok, data = parse_file_bytes(raw, rel, params_format(rel))
            if ok:
                metrics[rel] = _filter_metrics(data)
            else:
                errors[rel] = data
    return params, metrics, errors
