"""dvc.lock: read it fast, write it byte-identical to DVC 3.

Reading uses the C safe loader (a no-op ``repro`` reads the lock every time). Writing goes through ruamel
configured exactly as DVC's dumper (round-trip representer, block style, default width), so scalar styles,
quoting (``schema: '2.0'``), float spelling and long-line folding come out as DVC writes them; a test compares
the bytes with a lock the real dvc wrote.

Layout DVC uses, reproduced by `lock_stage_to_dict`:
``cmd``, ``deps``, ``params``, ``outs`` (empty sections left out); deps and outs sorted by path; params grouped
per file with ``params.yaml`` first and other files alphabetically, keys sorted at the top level only; each
entry ``path``, ``hash: md5`` (absent for legacy 2.x hashes), ``md5``, ``size``, ``nfiles`` (dirs),
``isexec``. Like DVC, writing updates the given stages in place and keeps every other stage's entry and the
order of entries (new stages are appended).
"""
from __future__ import annotations

import io
import os
import posixpath
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from dvc_compat.errors import FormatError
from dvc_compat.fsutil import atomic_write
from dvc_compat.model import DvcFile, HashInfo, LockStage
from dvc_compat.yamlio import find_line, load_yaml

__all__ = [
    "LOCK_SCHEMA",
    "read_lock",
    "read_lock_raw",
    "parse_lock",
    "hashinfo_from_dict",
    "hashinfo_to_dict",
    "lock_stage_from_dict",
    "lock_stage_to_dict",
    "dump_lock",
    "dump_yaml_like_dvc",
    "write_lock",
    "lockfile_path",
    "find_out",
]

LOCK_SCHEMA = "2.0"
DEFAULT_PARAMS_FILE = "params.yaml"
_STAGE_KEYS = ("cmd", "deps", "params", "outs")


def lockfile_path(dvcfile: str) -> str:
    """``sub/dvc.yaml`` -> ``sub/dvc.lock``."""
    return dvcfile[: -len(".yaml")] + ".lock" if dvcfile.endswith(".yaml") else dvcfile + ".lock"


# --- reading -------------------------------------------------------------------------------------------------


def read_lock_raw(path: str | os.PathLike[str], display: str | None = None) -> dict[str, Any]:
    """The lock's ``stages`` mapping as plain dicts (order kept); ``{}`` for a missing or empty file."""
    name = display or str(path)
    try:
        text = Path(path).read_bytes()
    except FileNotFoundError:
        return {}
    return _stages_of(load_yaml(text, name), text, name)


def _stages_of(data: Any, text: bytes | str, name: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FormatError(name, "dvc.lock must be a mapping", line=1)
    schema = data.get("schema")
    if schema is None and "stages" not in data:
        raise FormatError(name, "DVC 1.x lock files are not supported; run 'dvc repro' with DVC 3 once", line=1)
    if str(schema) != LOCK_SCHEMA:
        raise FormatError(name, f"invalid schema version {schema!r} (expected '2.0')",
                          line=find_line(text, ["schema"]), key="schema")
    stages = data.get("stages") or {}
    if not isinstance(stages, dict):
        raise FormatError(name, "'stages' must be a mapping", line=find_line(text, ["stages"]), key="stages")
    return stages


def read_lock(path: str | os.PathLike[str], display: str | None = None) -> dict[str, LockStage]:
    """Parse dvc.lock into `LockStage`s; missing file -> ``{}``; malformed -> FormatError with line."""
    name = display or str(path)
    try:
        text = Path(path).read_bytes()
    except FileNotFoundError:
        return {}
    return parse_lock(text, name)


def parse_lock(text: bytes | str, display: str = "dvc.lock") -> dict[str, LockStage]:
    """Parse lock file content (e.g. a blob from an experiment commit)."""
    stages = _stages_of(load_yaml(text, display), text, display)
    out: dict[str, LockStage] = {}
    for name, entry in stages.items():
        try:
            out[str(name)] = lock_stage_from_dict(entry)
        except ValueError as exc:
            loc = ["stages", name, *getattr(exc, "loc", ())]
            raise FormatError(display, f"stage '{name}': {exc}", line=find_line(text, loc),
                              key=".".join(map(str, loc))) from None
    return out


def find_out(lock: Mapping[str, LockStage], path: str, dvcfile: DvcFile | None = None,
             lock_dir: str = "") -> HashInfo | None:
    """The dvc.lock record of the output at repo-relative `path`, or None.

    Out paths in dvc.lock are relative to their stage's ``wdir`` (known from the parsed `dvcfile`; without it
    every stage is taken to run in `lock_dir`, the directory of the dvc.lock)."""
    target = posixpath.normpath(path)
    for name, stage in lock.items():
        spec = dvcfile.stages.get(name) if dvcfile is not None else None
        wdir = spec.wdir if spec is not None else (lock_dir or ".")
        for out in stage.outs:
            if posixpath.normpath(posixpath.join(wdir, out.path)) == target:
                return out
    return None


class _EntryError(ValueError):
    def __init__(self, message: str, *loc: Any):
        super().__init__(message)
        self.loc = loc


def hashinfo_from_dict(d: Mapping[str, Any]) -> HashInfo:
    """One dep/out entry of a lock or .dvc file."""
    if not isinstance(d, Mapping) or "path" not in d:
        raise _EntryError("each dep/out entry needs a 'path'")
    md5 = d.get("md5")
    size = d.get("size")
    nfiles = d.get("nfiles")
    if md5 is not None and not isinstance(md5, str):
        md5 = str(md5)
    if (size is not None and not isinstance(size, int)) or (nfiles is not None and not isinstance(nfiles, int)):
        raise _EntryError(f"'size'/'nfiles' of '{d['path']}' must be integers")
    return HashInfo(path=str(d["path"]), md5=md5, size=size, nfiles=nfiles, isexec=bool(d.get("isexec", False)),
                    legacy=d.get("hash") != "md5")


def lock_stage_from_dict(entry: Any) -> LockStage:
    if not isinstance(entry, Mapping):
        raise _EntryError("entry must be a mapping")
    if "cmd" not in entry:
        raise _EntryError("missing 'cmd'")
    cmd = entry["cmd"]
    if not isinstance(cmd, (str, list)):
        raise _EntryError("'cmd' must be a string or a list", "cmd")
    deps: list[Any] = []
    outs: list[Any] = []
    for section, target in (("deps", deps), ("outs", outs)):
        items = entry.get(section) or []
        if not isinstance(items, list):
            raise _EntryError(f"'{section}' must be a list", section)
        for i, item in enumerate(items):
            if isinstance(item, Mapping) and "checkpoint" in item:  # DVC 3's lock schema has no such key
                raise _EntryError(f"'checkpoint' of '{item.get('path')}' is a DVC 2 key that DVC 3 rejects in "
                                  "dvc.lock; delete that line (or the stage's entry) and reproduce the stage",
                                  section, i, "checkpoint")
            try:
                target.append(hashinfo_from_dict(item))
            except _EntryError as exc:
                exc.loc = (section, i)
                raise
    params = entry.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, dict) or v is None for v in params.values()):
        raise _EntryError("'params' must map params files to mappings", "params")
    return LockStage(cmd=cmd, deps=deps, params={str(k): dict(v or {}) for k, v in params.items()}, outs=outs)


# --- writing -------------------------------------------------------------------------------------------------


def hashinfo_to_dict(h: HashInfo) -> dict[str, Any]:
    """Entry in DVC's key order: path, hash, md5, size, nfiles, isexec (absent values left out)."""
    d: dict[str, Any] = {"path": h.path}
    if not h.legacy:
        d["hash"] = "md5"
    if h.md5 is not None:
        d["md5"] = h.md5
    if h.size is not None:
        d["size"] = h.size
    if h.nfiles is not None:
        d["nfiles"] = h.nfiles
    if h.isexec:
        d["isexec"] = True
    return d


def _sorted_params(params: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    files = sorted(params)
    if DEFAULT_PARAMS_FILE in params:
        files.remove(DEFAULT_PARAMS_FILE)
        files.insert(0, DEFAULT_PARAMS_FILE)
    return {f: {k: params[f][k] for k in sorted(params[f])} for f in files}


def lock_stage_to_dict(stage: LockStage) -> dict[str, Any]:
    """The stage's lock entry as DVC orders it; this dict is also what exp_hash and the run cache hash."""
    d: dict[str, Any] = {"cmd": stage.cmd}
    if stage.deps:
        d["deps"] = [hashinfo_to_dict(h) for h in sorted(stage.deps, key=lambda h: h.path)]
    if stage.params:
        d["params"] = _sorted_params(stage.params)
    if stage.outs:
        d["outs"] = [hashinfo_to_dict(h) for h in sorted(stage.outs, key=lambda h: h.path)]
    return d


_YAML: Any = None


def _dvc_yaml() -> Any:
    """ruamel YAML configured as DVC's dumper (dvc.utils.serialize._yaml): round-trip, block style."""
    global _YAML
    if _YAML is None:
        from ruamel.yaml import YAML

        y = YAML()
        y.default_flow_style = False
        _YAML = y
    return _YAML


def dump_yaml_like_dvc(data: Any) -> str:
    """Serialise plain dicts/lists the way DVC writes its YAML files (dvc.lock, .dvc files, run cache)."""
    buf = io.StringIO()
    _dvc_yaml().dump(data, buf)
    return buf.getvalue()


def _as_entry(stage: LockStage | Mapping[str, Any]) -> Any:
    return lock_stage_to_dict(stage) if isinstance(stage, LockStage) else stage


def dump_lock(stages: Mapping[str, LockStage | Mapping[str, Any]]) -> str:
    """The full dvc.lock text for these stages, in the given order (entries may be LockStage or raw dicts)."""
    data = {"schema": LOCK_SCHEMA, "stages": {name: _as_entry(s) for name, s in stages.items()}}
    return dump_yaml_like_dvc(data)


def write_lock(
    path: str | os.PathLike[str],
    stages: Mapping[str, LockStage | Mapping[str, Any]],
    remove: tuple[str, ...] | list[str] = (),
    display: str | None = None,
) -> bool:
    """Update `stages` in the lock at `path` (atomically), keeping other stages' entries and their order.

    Stages named in `remove` are dropped. Returns True if the file's content changed (False: nothing written).
    """
    p = Path(path)
    name = display or str(path)
    try:
        old_text: bytes | None = p.read_bytes()
    except FileNotFoundError:
        old_text = None
    old_data = load_yaml(old_text, name) if old_text else None
    merged: dict[str, Any] = dict(_stages_of(old_data, old_text or b"", name))
    for stage_name, stage in stages.items():
        merged[stage_name] = _as_entry(stage)
    for stage_name in remove:
        merged.pop(stage_name, None)
    # other top-level sections (DVC's `datasets`) are kept where they were
    document = {"schema": LOCK_SCHEMA, "stages": merged}
    if isinstance(old_data, dict):
        document = {k: (merged if k == "stages" else v) for k, v in old_data.items()}
        document["schema"] = LOCK_SCHEMA
        document.setdefault("stages", merged)
    new_text = dump_yaml_like_dvc(document).encode("utf-8")
    if new_text == old_text:
        return False
    atomic_write(p, new_text)
    return True
