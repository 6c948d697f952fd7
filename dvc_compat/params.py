"""Params files as DVC reads and edits them.

DVC picks the parser by extension: ``.json``, ``.toml``, ``.py``, and YAML for ``.yaml``/``.yml`` and anything
else. Python params files are *read*, never executed: top-level literal assignments, class bodies (as nested
dicts) and ``self.x = <literal>`` in a class's ``__init__``; anything that is not a literal is skipped, as DVC
does.

`apply_overrides` is ``dvc exp run -S``: it edits a params file in place, keeping comments, key order and
formatting (ruamel round trip for YAML, tomlkit for TOML, key order and indentation for JSON, the literal's
source span for Python). Setting a key that does not exist is an error that names the key and suggests close
matches, unless the key is in `allow_new` (``+key=value`` in Hydra syntax).
"""
from __future__ import annotations

import ast
import json
import os
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any
from collections.abc import Iterable

from dvc_compat.errors import FormatError
from dvc_compat.fsutil import atomic_write
from dvc_compat.hydra_values import format_value, parse_value
from dvc_compat.limits import check_depth, depth_error
from dvc_compat.yamlio import load_yaml, rt_dumps, rt_load

__all__ = [
    "MISSING",
    "params_format",
    "load_params",
    "parse_params",
    "flatten",
    "get_dotted",
    "has_dotted",
    "parse_value",
    "apply_overrides",
    "format_value",
    "format_overrides",
    "suggest",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Sentinel for `get_dotted(..., default=MISSING)` meaning "raise KeyError"."""


def params_format(path: str | os.PathLike[str]) -> str:
    """``"yaml"``, ``"json"``, ``"toml"`` or ``"py"``: the parser DVC uses for this file name."""
    suffix = Path(path).suffix.lower()
    return {".json": "json", ".toml": "toml", ".py": "py"}.get(suffix, "yaml")


def load_params(path: str | os.PathLike[str], display: str | None = None) -> dict[str, Any]:
    """Read a params file into a dict (an empty file is ``{}``); `display` names the file in errors.

    Raises FileNotFoundError if the file does not exist (callers decide whether that matters) and
    FormatError if it cannot be parsed.
    """
    p = Path(path)
    data = p.read_bytes()
    return parse_params(data, display or str(path), params_format(p))


def parse_params(data: bytes | str, display: str, fmt: str = "yaml") -> dict[str, Any]:
    """Parse the bytes of a params file (e.g. a blob read from git) in the given format.

    This is the one reader of params and metrics data: every format is held to the bounds of
    `dvc_compat.limits` (YAML by `load_yaml`, the others by `check_depth` on the parsed value)."""
    if fmt == "yaml":
        result = load_yaml(data, display)
    else:
        if fmt == "json":
            result = _parse_json(data, display)
        elif fmt == "toml":
            result = _parse_toml(data, display)
        elif fmt == "py":
            result = _parse_py(data, display)
        else:
            raise ValueError(f"unknown params format {fmt!r}")
        check_depth(result, display)
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise FormatError(display, f"params file must be a mapping at the top level, not {type(result).__name__}")
    return result


def _text(data: bytes | str, display: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(display, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _parse_json(data: bytes | str, display: str) -> Any:
    try:
        return json.loads(_text(data, display)) or {}
    except json.JSONDecodeError as exc:
        raise FormatError(display, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    except RecursionError:  # the C scanner gives up near 1,000 levels
        raise depth_error(display) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise FormatError(display, f"invalid JSON: {_value_error(exc)}") from None


def _parse_toml(data: bytes | str, display: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the same parser, from PyPI (a dependency on 3.10 only)
        import tomli as tomllib

    try:
        return tomllib.loads(_text(data, display))
    except RecursionError:
        raise depth_error(display) from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        line = None
        if "(at line " in msg:
            try:
                line = int(msg.rsplit("(at line ", 1)[1].split(",", 1)[0])
                msg = msg.rsplit(" (at line ", 1)[0]
            except ValueError:
                pass
        raise FormatError(display, f"invalid TOML: {msg}", line=line) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise FormatError(display, f"invalid TOML: {_value_error(exc)}") from None


def _value_error(exc: ValueError) -> str:
    """What a parser's ValueError means, without Python's advice to call sys.set_int_max_str_digits()."""
    text = str(exc)
    if "integer string conversion" in text:
        return "an integer with more than 4,300 digits"
    return text


# --- Python params -------------------------------------------------------------------------------------------


def _parse_py(data: bytes | str, display: str) -> dict[str, Any]:
    try:
        tree = ast.parse(_text(data, display), filename=display)
        return {name: value for name, (value, _node) in _py_params(tree.body, self_only=False).items()}
    except SyntaxError as exc:
        raise FormatError(display, f"invalid Python: {exc.msg}", line=exc.lineno) from None
    except (RecursionError, MemoryError):
        raise depth_error(display) from None
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise FormatError(display, f"invalid Python: {exc}") from None


def _py_params(body: Iterable[ast.stmt], self_only: bool) -> dict[str, tuple[Any, ast.AST | None]]:
    """Map of name -> (value, value node); class bodies become nested dicts (node None)."""
    out: dict[str, tuple[Any, ast.AST | None]] = {}
    for stmt in body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if len(targets) != 1 or stmt.value is None:
                continue
            name = _py_target_name(targets[0], self_only)
            if name is None:
                continue
            try:
                value = ast.literal_eval(stmt.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            out[name] = (value, stmt.value)
        elif isinstance(stmt, ast.ClassDef) and not self_only:
            out[stmt.name] = (
                {k: v for k, (v, _n) in _py_params(stmt.body, self_only=False).items()},
                stmt,
            )
        elif isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
            out.update(_py_params(stmt.body, self_only=True))
    return out


def _py_target_name(target: ast.expr, self_only: bool) -> str | None:
    if isinstance(target, ast.Name) and not self_only:
        return target.id
    if (
        self_only
        and isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        return target.attr
    return None


# --- dotted keys ---------------------------------------------------------------------------------------------


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` -> ``{"a.b": 1, "c": [1, 2]}``: lists are values, empty dicts vanish."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, full + "."))
        else:
            out[full] = value
    return out


def _step(node: Any, part: str) -> Any:
    if isinstance(node, Mapping):
        if part in node:
            return node[part]
        # YAML keys are not always strings (`1: x`): match them by text, as DVC's dotted paths do
        for key in node:
            if not isinstance(key, str) and str(key) == part:
                return node[key]
        raise KeyError(part)
    if isinstance(node, (list, tuple)):
        try:
            return node[int(part)]
        except (ValueError, IndexError):
            raise KeyError(part) from None
    raise KeyError(part)


def get_dotted(d: Mapping[str, Any], key: str, default: Any = MISSING) -> Any:
    """Value at dotted path `key` (``train.lr``; a number indexes a list: ``layers.0``).

    A key that itself contains dots (``{"a.b": 1}``) is found too. Raises KeyError(key) when absent
    unless a `default` is given.
    """
    if isinstance(d, Mapping) and key in d:
        return d[key]
    node: Any = d
    parts = key.split(".")
    i = 0
    try:
        while i < len(parts):
            # prefer the longest literal key (dots inside key names) before descending
            for j in range(len(parts), i, -1):
                joined = ".".join(parts[i:j])
                if j - i > 1 and isinstance(node, Mapping) and joined in node:
                    node = node[joined]
                    i = j
                    break
            else:
                node = _step(node, parts[i])
                i += 1
    except KeyError:
        if default is MISSING:
            raise KeyError(key) from None
        return default
    return node


MISSING_DEFAULT: Any = object()


def has_dotted(d: Mapping[str, Any], key: str) -> bool:
    """True if `key` resolves in `d`."""
    return get_dotted(d, key, default=MISSING_DEFAULT) is not MISSING_DEFAULT



def suggest(key: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Close matches of `key` among `candidates` (difflib), best first."""
    import difflib  # only on the error path

    return difflib.get_close_matches(key, list(candidates), n=n, cutoff=0.6)


def _all_keys(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every dotted path that names a value or a section, for suggestions."""
    out: list[str] = []
    for key, value in d.items():
        full = f"{prefix}{key}"
        out.append(full)
        if isinstance(value, Mapping):
            out.extend(_all_keys(value, full + "."))
    return out


def unknown_key_error(display: str, key: str, data: Mapping[str, Any], hint_add: bool = True) -> FormatError:
    """The FormatError for a missing key, with "did you mean" suggestions."""
    close = suggest(key, _all_keys(data))
    msg = f"unknown key '{key}'"
    if close:
        msg += " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"
    if hint_add:
        where = "" if display == "params.yaml" else f"{display}:"  # -S names other files as FILE:KEY
        msg += f"; to add it use '+{where}{key}=...'"
    return FormatError(display, msg, key=key)


# --- values --------------------------------------------------------------------------------------------------


# --- editing -------------------------------------------------------------------------------------------------


def apply_overrides(
    path: str | os.PathLike[str],
    overrides: Mapping[str, Any],
    allow_new: Iterable[str] = (),
    remove: Iterable[str] = (),
    display: str | None = None,
) -> None:
    """Set dotted keys in a params file in place, keeping comments, order and formatting.

    `overrides` maps dotted keys to already-typed values (see `parse_value`). A key missing from the file is
    a FormatError unless it is in `allow_new` (then it and any missing parent sections are created);
    keys in `remove` are deleted (``~key``). A missing file is created only if every key is allowed new.
    The file is written atomically (temp file, fsync, rename).

    YAML files are written as ``dvc exp run -S`` writes them (checked byte for byte against DVC): comments,
    key order and mapping styles are kept, but lists are rewritten in block style and scalars in ruamel's
    default spelling, as DVC does. JSON files are rewritten as DVC rewrites them: on one line (key order kept).
    """
    p = Path(path)
    name = display or str(path)
    allow = set(allow_new)
    removals = list(remove)
    fmt = params_format(p)
    try:
        text = _text(p.read_bytes(), name)
    except FileNotFoundError:
        if any(k not in allow for k in overrides) or removals:
            raise FormatError(name, "params file does not exist") from None
        text = ""
    if fmt == "yaml":
        new_text = _edit_yaml(text, name, overrides, allow, removals)
    elif fmt == "json":
        new_text = _edit_json(text, name, overrides, allow, removals)
    elif fmt == "toml":
        new_text = _edit_toml(text, name, overrides, allow, removals)
    else:
        new_text = _edit_py(text, name, overrides, allow, removals)
    atomic_write(p, new_text.encode("utf-8"))


def _set_in(doc: Any, key: str, value: Any, allow_new: bool, name: str, new_map: Any) -> None:
    """Set dotted `key` in a nested mapping/list structure; create parents with `new_map()` if allowed.

    As Hydra/OmegaConf do for DVC, a mapping set on an existing mapping is merged into it (other keys kept,
    the file's style kept); its keys must exist unless `allow_new`. Anything else replaces the old value.
    """
    parts = key.split(".")
    node = doc
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            try:
                idx = int(part)
                node[idx]  # noqa: B018 - bounds check
            except (ValueError, IndexError):
                raise unknown_key_error(name, key, doc, hint_add=False) from None
            if last:
                _assign(node, idx, value, key, allow_new, name, doc)
                return
            node = node[idx]
            continue
        if not isinstance(node, MutableMapping):
            raise FormatError(name, f"cannot set '{key}': '{'.'.join(parts[:depth])}' is not a mapping", key=key)
        if part not in node:
            if not allow_new:
                raise unknown_key_error(name, key, doc)
            if last:
                node[part] = value
                return
            node[part] = new_map()
        elif last:
            _assign(node, part, value, key, allow_new, name, doc)
            return
        node = node[part]


def _assign(container: Any, slot: Any, value: Any, key: str, allow_new: bool, name: str, doc: Any) -> None:
    old = container[slot]
    if isinstance(old, MutableMapping) and isinstance(value, Mapping) and value:
        for k, v in value.items():
            if k not in old and not allow_new:
                raise unknown_key_error(name, f"{key}.{k}", doc)
            if k in old:
                _assign(old, k, v, f"{key}.{k}", allow_new, name, doc)
            else:
                old[k] = v
        return
    container[slot] = value


def _del_in(doc: Any, key: str, name: str) -> None:
    parts = key.split(".")
    node = doc
    for part in parts[:-1]:
        try:
            node = _step(node, part)
        except KeyError:
            raise unknown_key_error(name, key, doc, hint_add=False) from None
    last = parts[-1]
    try:
        if isinstance(node, list):
            del node[int(last)]
        else:
            del node[last]
    except (KeyError, ValueError, IndexError, TypeError):
        raise unknown_key_error(name, key, doc, hint_add=False) from None


def _edit_yaml(text: str, name: str, overrides: Mapping[str, Any], allow: set[str], removals: list[str]) -> str:
    from ruamel.yaml.comments import CommentedMap

    doc = rt_load(text, name) if text.strip() else None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, Mapping):
        raise FormatError(name, "params file must be a mapping at the top level")
    for key, value in overrides.items():
        _set_in(doc, key, value, key in allow, name, CommentedMap)
    for key in removals:
        _del_in(doc, key, name)
    _reassign_like_dvc(doc)
    return rt_dumps(doc)


def _plain(value: Any) -> Any:
    """What OmegaConf hands back to DVC for a value: containers become plain lists/dicts (so ruamel writes them
    in block style), scalars stay the very objects ruamel loaded (so ``1e-3``, ``0x1F``, ``|`` blocks keep
    their spelling)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _reassign_like_dvc(node: Any) -> None:
    """DVC writes -S edits by merging the whole re-typed config back into the round-trip document
    (``merge_dicts``): mappings are merged (keeping their flow/block style and comments), lists are replaced
    by plain lists (block style from then on) and scalars are kept. Doing the same makes our edits
    byte-identical to ``dvc exp run -S``."""
    for key in list(node.keys()):
        value = node[key]
        if isinstance(value, dict):
            _reassign_like_dvc(value)
        elif isinstance(value, (list, tuple)):
            node[key] = _plain(value)


def _edit_json(text: str, name: str, overrides: Mapping[str, Any], allow: set[str], removals: list[str]) -> str:
    doc = _parse_json(text, name) if text.strip() else {}
    for key, value in overrides.items():
        _set_in(doc, key, value, key in allow, name, dict)
    for key in removals:
        _del_in(doc, key, name)
    # exactly what `dvc exp run -S` writes (its modify_json is a plain `json.dump`): one line, `", "`/`": "`
    # separators, non-ASCII as \u escapes, no final newline. Keeping the file's own layout instead would make the
    # experiment commit's params file differ from DVC's for the same edit.
    return json.dumps(doc)


def _edit_toml(text: str, name: str, overrides: Mapping[str, Any], allow: set[str], removals: list[str]) -> str:
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        doc = tomlkit.parse(text)
    except ParseError as exc:
        raise FormatError(name, f"invalid TOML: {exc}", line=getattr(exc, "line", None)) from None
    for key, value in overrides.items():
        if value is None:
            raise FormatError(name, f"cannot set '{key}' to null: TOML has no null", key=key)
        _set_in(doc, key, value, key in allow, name, tomlkit.table)
    for key in removals:
        _del_in(doc, key, name)
    return tomlkit.dumps(doc)


def _edit_py(text: str, name: str, overrides: Mapping[str, Any], allow: set[str], removals: list[str]) -> str:
    """Replace the source span of each literal; adding or removing keys in Python files is not supported."""
    if removals:
        raise FormatError(name, "removing params from a Python params file is not supported")
    try:
        tree = ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise FormatError(name, f"invalid Python: {exc.msg}", line=exc.lineno) from None
    except ValueError as exc:  # Python 3.10: null bytes (3.11: SyntaxError)
        raise FormatError(name, f"invalid Python: {exc}") from None
    params = _py_params(tree.body, self_only=False)
    plain = {k: v for k, (v, _n) in params.items()}
    edits: list[tuple[int, int, str]] = []
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    for key, value in overrides.items():
        node: Any = _py_find(tree.body, key.split("."))  # an ast.Assign's target or value: has positions
        if node is None:
            if key in allow:
                raise FormatError(name, f"adding '{key}' to a Python params file is not supported", key=key)
            raise unknown_key_error(name, key, plain, hint_add=False)
        if isinstance(node, ast.ClassDef):
            raise FormatError(name, f"cannot replace class '{key}' in a Python params file", key=key)
        literal = repr(value)
        try:
            ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            raise FormatError(name, f"cannot write {value!r} as a Python literal", key=key) from None
        start = line_starts[node.lineno - 1] + _char_col(text, line_starts[node.lineno - 1], node.col_offset)
        end_line = node.end_lineno or node.lineno
        end = line_starts[end_line - 1] + _char_col(text, line_starts[end_line - 1], node.end_col_offset or 0)
        edits.append((start, end, literal))
    for start, end, literal in sorted(edits, reverse=True):
        text = text[:start] + literal + text[end:]
    return text


def _char_col(text: str, line_start: int, byte_col: int) -> int:
    """ast offsets are UTF-8 byte offsets within the line; convert to a character offset."""
    line_end = text.find("\n", line_start)
    line = text[line_start : None if line_end < 0 else line_end]
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _py_find(body: list[ast.stmt], parts: list[str]) -> ast.AST | None:
    params = _py_params(body, self_only=False)
    head = parts[0]
    if head not in params:
        return None
    value, node = params[head]
    if len(parts) == 1:
        return node
    if isinstance(node, ast.ClassDef):
        return _py_find(node.body, parts[1:])
    return None  # keys inside dict literals are edited by replacing the whole literal


def format_overrides(overrides: Mapping[str, Any]) -> str:
    """Human-readable ``k=v k2=v2`` for logs and messages."""
    return " ".join(f"{k}={format_value(v)}" for k, v in overrides.items())
