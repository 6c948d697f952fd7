"""Where DVC 3 keeps things in its cache, and the run-cache key/value formulas.

* objects: ``<cache>/files/md5/<md5[:2]>/<md5[2:]>`` (directory manifests keep their ``.dir`` suffix);
  legacy DVC 2 objects: ``<cache>/<md5[:2]>/<md5[2:]>``;
* run cache: ``<cache>/runs/<key[:2]>/<key>/<value>``, a small YAML copy of the stage's lock entry, where
  ``value`` = sha256 of the entry's JSON (sorted keys, default separators) with every ``size``/``nfiles`` key
  removed at any depth, and ``key`` = the same hash computed after replacing ``outs`` by the list of out paths.
  So ``key`` identifies the inputs (cmd, deps, params, which outs) and ``value`` one set of results.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from collections.abc import Mapping

__all__ = [
    "object_path",
    "run_cache_key_value",
    "run_cache_path",
    "runs_dir",
    "strip_meta",
]


def object_path(cache_dir: str | os.PathLike[str], md5: str, legacy: bool = False) -> Path:
    """Cache path of an object (file md5 or ``<md5>.dir`` manifest)."""
    base = Path(cache_dir) if legacy else Path(cache_dir) / "files" / "md5"
    return base / md5[:2] / md5[2:]


def strip_meta(value: Any) -> Any:
    """Copy of `value` without any ``size``/``nfiles`` keys at any depth (DVC strips them everywhere)."""
    if isinstance(value, Mapping):
        return {k: strip_meta(v) for k, v in value.items() if k not in ("size", "nfiles")}
    if isinstance(value, list):
        return [strip_meta(v) for v in value]
    return value


def _sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()


def run_cache_key_value(lock_entry: Mapping[str, Any]) -> tuple[str, str]:
    """(key, value) of a stage's lock entry (as `lockfile.lock_stage_to_dict` returns it)."""
    stripped = strip_meta(lock_entry)
    value = _sha256_json(stripped)
    keyed = dict(stripped)
    if "outs" in keyed:
        keyed["outs"] = [o["path"] for o in keyed["outs"]]
    return _sha256_json(keyed), value


def runs_dir(cache_dir: str | os.PathLike[str]) -> Path:
    return Path(cache_dir) / "runs"


def run_cache_path(cache_dir: str | os.PathLike[str], key: str, value: str) -> Path:
    """``<cache>/runs/<key[:2]>/<key>/<value>``."""
    return runs_dir(cache_dir) / key[:2] / key / value
