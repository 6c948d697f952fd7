"""Bounds on what a params, metrics, lock or dvc.yaml file may make a reader do.

These files are data: they arrive in commits, from `git pull`, from a colleague's experiment. A few hundred bytes
can otherwise cost minutes and gigabytes: a YAML "billion laughs" (anchors whose aliases nest, 537 bytes that
stand for 10^8 values once anything walks them), nesting deep enough that every recursive walker (flattening,
merging, JSON encoding) dies of `RecursionError`, or a recursive anchor that makes walkers loop. So every parse of
such a file goes through `dvc_compat.yamlio.load_yaml` or `dvc_compat.params.parse_params`, which refuse:

* nesting deeper than `MAX_DEPTH` levels of mappings/lists (DVC's own files use fewer than 10);
* YAML aliases that, expanded, would add more than `MAX_ALIAS_NODES` nodes to the document (a `<<: *defaults`
  merge or a reused list costs its size each time it is used; legitimate files stay far below the budget);
* recursive anchors (an alias inside the node it names).

Each refusal is a `FormatError`: one line naming the file (and line), and what to do.
"""
from __future__ import annotations

import os
import stat
from typing import Any

from dvc_compat.errors import FormatError

__all__ = [
    "MAX_DEPTH", "MAX_ALIAS_NODES", "depth_error", "alias_error", "check_depth", "read_limited", "size_error",
    "size_text",
]

MAX_DEPTH = 100
"""Deepest nesting of mappings and lists accepted in a data file (levels, the top-level mapping is 1)."""

MAX_ALIAS_NODES = 10_000
"""Most nodes YAML aliases may add to a document when expanded (summed over every alias use)."""


def depth_error(display: str, line: int | None = None) -> FormatError:
    return FormatError(display, f"nested more than {MAX_DEPTH} levels deep; flatten the structure", line=line)


def alias_error(display: str, line: int | None = None) -> FormatError:
    return FormatError(
        display,
        f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} extra values (an alias bomb?); "
        "write the values out or reuse fewer anchors",
        line=line,
    )


def check_depth(value: Any, display: str) -> None:
    """Raise `depth_error` if `value` (parsed JSON/TOML/Python: a tree, no shared parts) nests deeper than
    MAX_DEPTH. Iterative, so a pathological value cannot exhaust the stack; visits each container once."""
    if not isinstance(value, (dict, list)):
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise depth_error(display)
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def size_text(n: int) -> str:
    """``1.5 MB``-style size for messages (powers of 1024, the unit of the limits)."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def read_limited(path: str | os.PathLike[str], display: str, max_bytes: int | None, hint: str = "") -> bytes:
    """The bytes of a regular file, refusing one over `max_bytes` (None: no limit) without reading it.

    A data file may be anything a checkout or a symlink makes it: a FIFO (`read` would block forever), a
    character device such as /dev/zero (it never ends), or just huge. Raises FileNotFoundError when missing
    (callers decide whether that matters), `FormatError` for the rest; `hint` (how to raise the limit) ends the
    message of a file over the limit.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FormatError(display, f"cannot read: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise FormatError(display, f"{kind}; a params or metrics file must be a plain file")
        if max_bytes is not None and st.st_size > max_bytes:
            raise size_error(display, st.st_size, max_bytes, hint)
        chunks = []
        left = st.st_size + 1 if max_bytes is None else max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:  # grew while being read
        raise size_error(display, len(data), max_bytes, hint)
    return data


def size_error(display: str, size: int, max_bytes: int, hint: str = "") -> FormatError:
    """The one-line refusal of a file over the size limit; `hint` says how to raise the limit."""
    return FormatError(display, f"{size_text(size)} is over the {size_text(max_bytes)} limit" + (f"; {hint}" if hint else ""))
