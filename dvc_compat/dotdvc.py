"""``<name>.dvc`` files written by ``dvc add``: read them, write them as DVC does.

DVC writes an out as ``md5``, ``size``, ``nfiles`` (dirs), ``isexec`` (if set), ``hash: md5``, ``path``, then
its flags (``desc``, ``type``, ``labels``, ``meta``, ``cache: false``, ``persist``, ``remote``, ``push: false``).
Other top-level keys (``deps``, ``md5``, ``wdir``, ``frozen``, ``desc``, ``meta``) are kept as they are.
When a ``.dvc`` file already exists it is updated in place with ruamel's round trip, so the user's comments
survive (DVC does the same).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvc_compat.errors import FormatError
from dvc_compat.fsutil import atomic_write
from dvc_compat.lockfile import dump_yaml_like_dvc, hashinfo_from_dict
from dvc_compat.model import HashInfo
from dvc_compat.yamlio import find_line, load_yaml, rt_dumps, rt_load

__all__ = ["DotDvcFile", "read_dotdvc", "parse_dotdvc", "out_to_dict", "dump_dotdvc", "render_dotdvc", "write_dotdvc"]

_HASH_KEYS = ("md5", "size", "nfiles", "isexec", "hash", "path")
_FLAG_ORDER = ("desc", "type", "labels", "meta", "cache", "metric", "plot", "persist", "remote", "push")


@dataclass
class DotDvcFile:
    """A parsed .dvc file: `outs` with their hashes, `out_flags` (per out, same order) and other keys."""

    outs: list[HashInfo] = field(default_factory=list)
    out_flags: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def read_dotdvc(path: str | os.PathLike[str], display: str | None = None) -> DotDvcFile:
    """Parse a .dvc file; FileNotFoundError if missing, FormatError if malformed."""
    name = display or str(path)
    return parse_dotdvc(Path(path).read_bytes(), name)


def parse_dotdvc(text: bytes | str, display: str) -> DotDvcFile:
    data = load_yaml(text, display)
    if not isinstance(data, dict):
        raise FormatError(display, "a .dvc file must be a mapping with an 'outs' list", line=1)
    outs = data.get("outs")
    if not isinstance(outs, list) or not outs:
        raise FormatError(display, "missing or empty 'outs' list", line=find_line(text, ["outs"]), key="outs")
    result = DotDvcFile(extra={k: v for k, v in data.items() if k != "outs"})
    for i, entry in enumerate(outs):
        try:
            result.outs.append(hashinfo_from_dict(entry))
        except ValueError as exc:
            raise FormatError(display, f"outs[{i}]: {exc}", line=find_line(text, ["outs", i]), key="outs") from None
        result.out_flags.append({k: v for k, v in entry.items() if k not in _HASH_KEYS})
    return result


def out_to_dict(h: HashInfo, flags: dict[str, Any] | None = None) -> dict[str, Any]:
    """One out in DVC's .dvc key order."""
    d: dict[str, Any] = {}
    if h.md5 is not None:
        d["md5"] = h.md5
    if h.size is not None:
        d["size"] = h.size
    if h.nfiles is not None:
        d["nfiles"] = h.nfiles
    if h.isexec:
        d["isexec"] = True
    if not h.legacy:
        d["hash"] = "md5"
    d["path"] = h.path
    flags = flags or {}
    for key in _FLAG_ORDER:
        if key in flags:
            d[key] = flags[key]
    for key, value in flags.items():
        if key not in d:
            d[key] = value
    return d


def dump_dotdvc(f: DotDvcFile) -> str:
    flags = f.out_flags + [{}] * (len(f.outs) - len(f.out_flags))
    data: dict[str, Any] = {}
    extra_before = {k: v for k, v in f.extra.items() if k in ("md5", "frozen", "deps")}
    data.update(extra_before)
    data["outs"] = [out_to_dict(h, fl) for h, fl in zip(f.outs, flags)]
    data.update({k: v for k, v in f.extra.items() if k not in data})
    return dump_yaml_like_dvc(data)


def render_dotdvc(f: DotDvcFile, old: str | None = None, display: str = ".dvc file") -> str:
    """The text of the .dvc file for `f`; with the `old` text of the same file (same outs, same order), that text
    updated by round trip (comments, key order, other keys kept, as DVC does), else a fresh DVC-style dump."""
    if old is not None:
        doc = rt_load(old, display)
        old_outs = doc.get("outs") if isinstance(doc, dict) else None
        if isinstance(old_outs, list) and len(old_outs) == len(f.outs) and all(
            isinstance(o, dict) and o.get("path") == h.path for o, h in zip(old_outs, f.outs)
        ):
            for entry, h in zip(old_outs, f.outs):
                fresh = out_to_dict(h)
                for key in ("md5", "size", "nfiles", "isexec", "hash"):
                    if key in fresh:
                        entry[key] = fresh[key]
                    elif key in entry:
                        del entry[key]
            return rt_dumps(doc)
    return dump_dotdvc(f)


def write_dotdvc(path: str | os.PathLike[str], f: DotDvcFile) -> None:
    """Write atomically; an existing file is updated by round trip so comments and key order survive."""
    p = Path(path)
    try:
        old = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = None
    atomic_write(p, render_dotdvc(f, old, str(path)).encode("utf-8"))
