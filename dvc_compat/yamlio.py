"""YAML in and out, the way DVC 3 reads and writes it, fast.

Reading: DVC parses YAML with ruamel in YAML 1.2 mode (``1e-3`` is a float, ``yes`` is a string, ``0o17`` is
octal). PyYAML's C loader is ~10x faster than ruamel but implements YAML 1.1, so `SafeLoader12` is the C
loader (``yaml.CSafeLoader``; pure-Python ``SafeLoader`` only if libyaml is missing) with YAML 1.2 core-schema
resolvers, and it rejects duplicate mapping keys as ruamel does. Every parse error becomes a one-line
`FormatError` with ``file:line``.

Line numbers for *semantic* errors (an unknown stage key, a bad type...) are looked up lazily with
`find_line`, which composes the document only when an error is being reported, so the happy path pays
nothing for them.

Round-trip editing (params ``-S`` overrides) uses ruamel's round-trip mode through `rt_load` / `rt_dumps`,
which keeps comments, key order and quoting.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from collections.abc import Iterable

import yaml

from dvc_compat.errors import FormatError
from dvc_compat.limits import MAX_ALIAS_NODES, MAX_DEPTH, alias_error, check_depth, depth_error

try:  # libyaml is required for speed; the fallback keeps the library usable without it
    _BaseLoader: type = yaml.CSafeLoader
    HAVE_LIBYAML = True
except AttributeError:  # pragma: no cover - depends on the build of PyYAML
    _BaseLoader = yaml.SafeLoader
    HAVE_LIBYAML = False

__all__ = [
    "HAVE_LIBYAML",
    "SafeLoader12",
    "load_yaml",
    "load_yaml_file",
    "find_line",
    "rt_load",
    "rt_dumps",
    "rt_yaml",
]


class _Bound(yaml.YAMLError):
    """A document over a `dvc_compat.limits` bound; `load_yaml` turns it into the FormatError of that bound."""

    def __init__(self, kind: str, node: yaml.Node) -> None:
        super().__init__(kind)
        self.kind = kind
        self.line = node.start_mark.line + 1 if node.start_mark is not None else None


def check_bounds(root: yaml.Node) -> None:
    """Refuse a composed document that nests deeper than MAX_DEPTH or whose aliases would expand to more than
    MAX_ALIAS_NODES extra nodes; raises `_Bound`.

    The composer gives an alias the very node object of its anchor, so the document is a graph: walk it once per
    distinct node (iteratively: depth is what is being checked), remember each node's expanded size and height,
    and charge every further use of a node its expanded size. A billion laughs is refused after a few dozen
    steps, never expanded; a node met again while still on the path is a recursive anchor.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    extra = 0
    # (node, depth of the node, children done?)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total, tallest = 1, 0
            for child in _children(node):
                total += size[id(child)]
                tallest = max(tallest, height[id(child)])
            size[key] = total
            height[key] = tallest + 1
            continue
        if key in size:  # a second use of a finished node: an alias
            extra += size[key]
            if extra > MAX_ALIAS_NODES:
                raise _Bound("alias", node)
            if depth - 1 + height[key] > MAX_DEPTH:
                raise _Bound("depth", node)
            continue
        if key in on_path:
            raise _Bound("recursive", node)
        if type(node) is yaml.ScalarNode:
            size[key] = 1
            height[key] = 0  # depth counts mappings and lists
            continue
        if depth > MAX_DEPTH:
            raise _Bound("depth", node)
        on_path.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            stack.append((child, depth + 1, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if type(node) is yaml.MappingNode:
        return [n for pair in node.value for n in pair]
    if type(node) is yaml.SequenceNode:
        return node.value
    return []


class SafeLoader12(_BaseLoader):
    """C safe loader with YAML 1.2 scalars (as ruamel, i.e. as DVC), duplicate-key detection, and the bounds of
    `dvc_compat.limits` checked on the composed document before anything is constructed."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        check_bounds(node)
        return self.construct_document(node)


    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        pairs = node.value
        if len(pairs) > 1:
            texts = {k.value for k, _ in pairs if type(k) is yaml.ScalarNode}
            if len(texts) < len(pairs):  # same key text twice (or non-scalar keys): check exactly
                self._check_duplicates(node)
        return super().construct_mapping(node, deep=deep)

    def _check_duplicates(self, node: yaml.MappingNode) -> None:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # unhashable key: the base class raises its usual error
                return
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first defined on line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return self._int(str(self.construct_scalar(node)))
        except ValueError:  # `0x_`: matches the int pattern, has no digits (ruamel crashes on it)
            what = (f"invalid integer {node.value!r}" if len(node.value) <= 40
                    else f"integer of {len(node.value):,} characters is too long")  # Python's 4,300-digit limit
            raise yaml.constructor.ConstructorError(None, None, what, node.start_mark) from None

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        try:
            return super().construct_yaml_float(node)
        except ValueError:  # `._`: matches the float pattern, has no digits (ruamel crashes on it)
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid number {node.value!r}", node.start_mark) from None

    @staticmethod
    def _int(text: str) -> int:
        text = text.replace("_", "")
        sign = 1
        if text[:1] in "+-":
            sign = -1 if text[0] == "-" else 1
            text = text[1:]
        if text.startswith("0b"):
            return sign * int(text[2:], 2)
        if text.startswith("0x"):
            return sign * int(text[2:], 16)
        if text.startswith("0o"):
            return sign * int(text[2:], 8)
        return sign * int(text, 10)


class _TreeLoader(SafeLoader12):
    """For text without a single ``&``: no anchor, hence no alias, so the document is a tree and only its depth
    needs a bound, checked on the constructed data (10x cheaper than walking the nodes)."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        data = self.construct_document(node)
        check_depth(data, "")
        return data


def _reset_resolvers(cls: Any) -> None:
    cls.yaml_implicit_resolvers = {}
    first_chars = {
        "bool": list("tTfF"),
        "float": list("-+0123456789."),
        "int": list("-+0123456789"),
        "merge": ["<"],
        "null": ["~", "n", "N", ""],
        "timestamp": list("0123456789"),
    }
    patterns = {
        "bool": r"^(?:true|True|TRUE|false|False|FALSE)$",
        "float": r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        "int": r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0o[0-7_]+
            |[-+]?[0-9_]+
            |[-+]?0x[0-9a-fA-F_]+)$""",
        "merge": r"^(?:<<)$",
        "null": r"^(?:~|null|Null|NULL|)$",
        "timestamp": r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
            |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
            (?:[Tt]|[ \t]+)[0-9][0-9]?
            :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
            (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    }
    for name, pattern in patterns.items():
        cls.add_implicit_resolver(f"tag:yaml.org,2002:{name}", re.compile(pattern, re.X), first_chars[name])
    # a bare `=` is the "value" type, which ruamel (hence DVC) refuses to construct: refuse it too
    cls.add_implicit_resolver("tag:yaml.org,2002:value", re.compile(r"^(?:=)$"), ["="])


_reset_resolvers(SafeLoader12)
SafeLoader12.add_constructor("tag:yaml.org,2002:int", SafeLoader12.construct_yaml_int)
SafeLoader12.add_constructor("tag:yaml.org,2002:float", SafeLoader12.construct_yaml_float)


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return None if mark is None else mark.line + 1


def _describe(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    parts = [p for p in (context, problem) if p]
    return "invalid YAML: " + (", ".join(parts) if parts else str(exc).splitlines()[0])


def load_yaml(text: str | bytes, path: str | Path = "<string>") -> Any:
    """Parse YAML text safely (C loader, YAML 1.2 scalars); errors become `FormatError` with ``path:line``.

    Every YAML file read from data comes through here: documents over the bounds of `dvc_compat.limits` (alias
    expansion, nesting) are refused before they are constructed."""
    has_anchor = b"&" in text if isinstance(text, bytes) else "&" in text
    loader = SafeLoader12 if has_anchor else _TreeLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except FormatError as exc:  # check_depth of a tree
        raise FormatError(str(path), exc.message) from None
    except _Bound as exc:
        if exc.kind == "depth":
            raise depth_error(str(path), exc.line) from None
        if exc.kind == "recursive":
            raise FormatError(str(path), "a YAML alias refers to the node that contains it (a recursive anchor); "
                              "write the value out", line=exc.line) from None
        raise alias_error(str(path), exc.line) from None
    except yaml.YAMLError as exc:
        raise FormatError(str(path), _describe(exc), line=_mark_line(exc)) from None
    except UnicodeDecodeError as exc:
        raise FormatError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # a constructor gave up
        raise FormatError(str(path), f"invalid YAML: {exc}") from None


def load_yaml_file(path: str | Path, display: str | None = None) -> Any:
    """Read and parse a YAML file; `display` is the name used in error messages (default: `path`)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FormatError(display or str(path), f"cannot read: {exc.strerror}") from None
    return load_yaml(data, display or str(path))


def find_line(text: str | bytes, keys: Iterable[str | int]) -> int | None:
    """1-based line of the node reached by following `keys` (mapping keys or list indexes), best effort.

    Used only to decorate error messages: it composes the document (slow, ~10x a load) on demand.
    Returns the line of the deepest node that could be reached, or None if the text does not compose.
    """
    try:
        node = yaml.compose(text, Loader=SafeLoader12)  # noqa: S506
    except yaml.YAMLError:
        return None
    line = None if node is None else node.start_mark.line + 1
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            for k_node, v_node in node.value:
                if isinstance(k_node, yaml.ScalarNode) and k_node.value == str(key):
                    line = k_node.start_mark.line + 1
                    node = v_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def rt_yaml() -> Any:
    """A ruamel round-trip YAML object set up as DVC's writer (``dvc.utils.serialize._yaml``): block style for
    new collections, ruamel's default width and quoting. Edits made through it match DVC's byte for byte."""
    from ruamel.yaml import YAML

    y = YAML()
    y.default_flow_style = False
    return y


def rt_load(text: str, path: str | Path = "<string>") -> Any:
    """Round-trip load (comments, order and flow/block styles kept) for edits that must not disturb the file."""
    from ruamel.yaml import YAMLError

    load_yaml(text, path)  # the bounds (alias bombs, nesting) first: ruamel has none, and edits walk the document
    try:
        return rt_yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FormatError(str(path), f"invalid YAML: {problem}", line=line) from None


def rt_dumps(data: Any) -> str:
    """Dump a round-trip (or plain) structure back to text."""
    import io

    buf = io.StringIO()
    rt_yaml().dump(data, buf)
    return buf.getvalue()
