"""Typing of ``-S`` values exactly as Hydra's override grammar does it (what ``dvc exp run -S`` uses).

Hydra is not YAML: ``0x1F``, ``01`` and ``.inf`` stay strings, ``inf``/``nan``/``1e-3`` are floats, ``TRUE`` and
``NULL`` are case-insensitive, ``a b `` is the string ``a b`` (trailing space dropped), ``\\,`` escapes a comma,
and lists/dicts (``[1, [2, 3]]``, ``{a: 1}``) type their elements by the same rules. This module implements
that element grammar (checked against hydra-core's own parser in tests) without importing Hydra, which is
heavy and not a dependency of exptui. Input Hydra rejects (``x#y``, ``a=b``, ``foo(1)``) is kept as a plain
string instead of failing: exptui only needs a value, and DVC would refuse the override anyway.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["parse_value", "format_value"]

_DIGITS = r"[0-9](?:_?[0-9])*"
_INT = re.compile(r"^[+-]?(?:0|[1-9](?:_?[0-9])*)$")
_POINT = rf"(?:(?:{_DIGITS})?\.{_DIGITS}|{_DIGITS}\.)"
_FLOAT = re.compile(rf"^[+-]?(?:{_POINT}|(?:{_DIGITS}|{_POINT})[eE][+-]?[0-9]+|[iI][nN][fF]|[nN][aA][nN])$")
_PLAIN_SAFE = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@+-]*$")


class _Fail(Exception):
    pass


def _primitive(text: str) -> Any:
    t = text.strip()
    low = t.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    if low == "null":
        return None
    if _INT.match(t):
        return int(t.replace("_", ""))
    if _FLOAT.match(t):
        return float(t.replace("_", ""))
    return t


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t":
        i += 1
    return i


def _quoted(s: str, i: int) -> tuple[str, int]:
    q = s[i]
    i += 1
    out: list[str] = []
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            j = i
            while j < len(s) and s[j] == "\\":
                j += 1
            run = j - i
            if j < len(s) and s[j] == q:
                # a run of backslashes before the quote: pairs are literal backslashes, an odd one escapes it
                out.append("\\" * (run // 2))
                if run % 2:
                    out.append(q)
                    i = j + 1
                    continue
                i = j
                continue
            out.append("\\" * run)
            i = j
            continue
        if ch == q:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise _Fail("unterminated quote")


def _element(s: str, i: int, stops: str) -> tuple[Any, int]:
    i = _skip_ws(s, i)
    if i >= len(s):
        raise _Fail("missing value")
    ch = s[i]
    if ch == "[":
        items: list[Any] = []
        i = _skip_ws(s, i + 1)
        if i < len(s) and s[i] == "]":
            return items, i + 1
        while True:
            value, i = _element(s, i, ",]")
            items.append(value)
            i = _skip_ws(s, i)
            if i < len(s) and s[i] == ",":
                i += 1
                continue
            if i < len(s) and s[i] == "]":
                return items, i + 1
            raise _Fail("unclosed list")
    if ch == "{":
        d: dict[Any, Any] = {}
        i = _skip_ws(s, i + 1)
        if i < len(s) and s[i] == "}":
            return d, i + 1
        while True:
            i = _skip_ws(s, i)
            if i < len(s) and s[i] in "'\"":
                key, i = _quoted(s, i)
            else:
                start = i
                while i < len(s) and s[i] not in ":,}":
                    i += 1
                key = s[start:i].strip()
                if not key or not re.match(r"^[A-Za-z0-9_\-./$@+]+$", key):
                    raise _Fail("bad key")
            i = _skip_ws(s, i)
            if i >= len(s) or s[i] != ":":
                raise _Fail("missing ':'")
            value, i = _element(s, i + 1, ",}")
            d[key] = value
            i = _skip_ws(s, i)
            if i < len(s) and s[i] == ",":
                i += 1
                continue
            if i < len(s) and s[i] == "}":
                return d, i + 1
            raise _Fail("unclosed dict")
    if ch in "'\"":
        return _quoted(s, i)
    start = i
    out: list[str] = []
    had_escape = False
    while i < len(s) and s[i] not in stops:
        c = s[i]
        if c in "[]{}()'\"=#~" or (c == ":" and stops):
            raise _Fail(f"unexpected {c!r}")
        if c == "\\" and i + 1 < len(s) and s[i + 1] in "\\()[]{}:=, \t'\"":
            out.append(s[i + 1])
            had_escape = True
            i += 2
            continue
        out.append(c)
        i += 1
    if i == start:
        raise _Fail("missing value")
    text = "".join(out).rstrip(" \t") if not had_escape else "".join(out)
    return (text if had_escape else _primitive(text)), i


def parse_value(text: str) -> Any:
    """Type one ``-S`` value as Hydra does (``3`` int, ``1e-3`` float, ``true``, ``null``, ``[1,2]``,
    ``{a: 1}``, quotes removed, anything else a string; ``''`` for empty). Never raises."""
    s = text.strip(" \t")
    if s == "":
        return ""
    try:
        value, i = _element(s, 0, "")
        if _skip_ws(s, i) != len(s):
            raise _Fail("trailing text")
        return value
    except _Fail:
        return s


def _quote(value: str) -> str:
    if "'" not in value and not value.endswith("\\"):
        return f"'{value}'"
    escaped = value.replace('"', '\\"')
    if escaped.endswith("\\") and not escaped.endswith('\\"'):
        escaped += "\\"  # a trailing backslash would escape the closing quote
    return f'"{escaped}"'


def format_value(value: Any) -> str:
    """The ``-S`` text that `parse_value` (and Hydra) reads back as `value` (``true``, ``null``, ``[1, 2]``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        if _PLAIN_SAFE.match(value) and parse_value(value) == value:
            return value
        return _quote(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_format_key(k)}: {format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _format_key(key: Any) -> str:
    k = str(key)
    return k if re.match(r"^[A-Za-z0-9_\-./$@+]+$", k) else _quote(k)
