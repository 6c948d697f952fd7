"""A fast reader for the plainest params files: block mappings of plain scalars, as sweeps write them.

Why: a cold listing of 100,000 experiments parses 100,000 ``params.yaml`` blobs, and PyYAML's constructor (Python
code, even over the C parser) was about half of that listing's CPU time. Almost every such file is a few lines of
``key: value`` with nested sections (``train:\\n  lr: 0.1``), so this module reads exactly that subset with string
operations and gives up (returns None) on anything else: quotes, flow or block collections, anchors, tags, tabs,
non-ASCII text, multi-line scalars, document markers, duplicate keys, timestamps, odd indentation. The caller
then uses `dvc_compat.yamlio.load_yaml`, the reference.

What it accepts it resolves with the resolvers of `yamlio.SafeLoader12` (YAML 1.2 core schema, as DVC) and builds
the same values: `tests/test_dvc_compat_yaml_plain.py` checks it against `load_yaml` on generated documents.
"""
from __future__ import annotations

import math
import re
from typing import Any

from dvc_compat.limits import MAX_DEPTH

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
# a plain scalar without any indicator or character that could mean more than text (conservative on purpose)
_VALUE = re.compile(r"[A-Za-z0-9_.+\-/~=<]([A-Za-z0-9_.+\-/~=< ]*[A-Za-z0-9_.+\-/~=<])?\Z")
_NOT_SET = object()


def _resolver() -> Any:
    from dvc_compat.yamlio import SafeLoader12

    return SafeLoader12


def _tag(text: str) -> str:
    """The YAML 1.2 tag `SafeLoader12` gives a plain scalar (its implicit resolvers)."""
    resolvers = _resolver().yaml_implicit_resolvers.get(text[:1] if text else "", [])
    for tag, regexp in resolvers:
        if regexp.match(text):
            return tag
    return "tag:yaml.org,2002:str"


def _int(text: str) -> int | None:
    from dvc_compat.yamlio import SafeLoader12

    try:
        return SafeLoader12._int(text)
    except ValueError:
        return None


def _float(text: str) -> float | None:
    value = text.replace("_", "").lower()
    sign = -1.0 if value[:1] == "-" else 1.0
    if value[:1] in "+-":
        value = value[1:]
    if value == ".inf":
        return sign * math.inf
    if value == ".nan":
        return math.nan
    try:
        return sign * float(value)
    except ValueError:
        return None


_SCALARS: dict[str, Any] = {}  # value text -> constructed value (or _NOT_SET: not for this reader)


def _scalar(text: str) -> Any:
    cached = _SCALARS.get(text, None)
    if cached is not None or text in _SCALARS:
        return cached
    value: Any = _NOT_SET
    # a leading `-` is a sequence entry unless a number follows (`-1`, `-.5`); the reference decides the rest
    if _VALUE.match(text) and (text[0] != "-" or text[1:2].isdigit() or text[1:2] == "."):
        tag = _tag(text)
        if tag == "tag:yaml.org,2002:str":
            value = text
        elif tag == "tag:yaml.org,2002:int":
            value = _int(text)
        elif tag == "tag:yaml.org,2002:float":
            value = _float(text)
        elif tag == "tag:yaml.org,2002:bool":
            value = text.lower() == "true"
        elif tag == "tag:yaml.org,2002:null":
            value = None
        if value is None and tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            value = _NOT_SET  # matched the pattern, has no digits: the reference reports the error
    if len(_SCALARS) < 65536:
        _SCALARS[text] = value
    return value


_KEYS: dict[str, bool] = {}


def _plain_key(key: str) -> bool:
    ok = _KEYS.get(key)
    if ok is None:
        ok = bool(_KEY.match(key)) and _tag(key) == "tag:yaml.org,2002:str"
        if len(_KEYS) < 65536:
            _KEYS[key] = ok
    return ok


def load_plain(data: bytes | str) -> dict[str, Any] | None:
    """The mapping a plain block-mapping YAML document holds, or None when the document is anything else (the
    caller then parses it with the full loader, which also reports errors)."""
    if isinstance(data, bytes):
        if not data.isascii():
            return None
        text = data.decode("ascii")
    else:
        if not data.isascii():
            return None
        text = data
    if "\t" in text or "\r" in text or not text.replace("\n", "").isprintable():
        return None
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(0, root)]   # (indent, mapping) of the open mappings
    pending: tuple[int, dict[str, Any], str] | None = None   # a `key:` with nothing after it yet
    seen_key = False
    for line in text.split("\n"):
        body = line.lstrip(" ")
        if not body or body[0] == "#":
            continue  # blank or whole-line comment
        indent = len(line) - len(body)
        key, sep, rest = body.partition(":")
        if not sep or not _plain_key(key) or (rest and rest[0] != " "):
            return None
        hash_at = rest.find(" #")
        if hash_at >= 0:
            rest = rest[:hash_at]
        rest = rest.strip(" ")
        if pending is not None:
            p_indent, p_map, p_key = pending
            pending = None
            if indent > p_indent:  # the nested mapping of that key
                if len(stack) >= MAX_DEPTH - 1:
                    return None
                child: dict[str, Any] = {}
                p_map[p_key] = child
                stack.append((indent, child))
            else:
                p_map[p_key] = None  # `key:` and nothing nested: null
        while indent < stack[-1][0]:
            stack.pop()
        if indent != stack[-1][0]:
            return None  # indented under a key that has a value, or between two levels
        mapping = stack[-1][1]
        if key in mapping:
            return None  # a duplicate key: the reference refuses it with its line
        seen_key = True
        if not rest:
            mapping[key] = None
            pending = (indent, mapping, key)
            continue
        value = _scalar(rest)
        if value is _NOT_SET:
            return None
        mapping[key] = value
    if not seen_key:
        return None
    return root
