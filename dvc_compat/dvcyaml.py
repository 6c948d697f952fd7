"""dvc.yaml: parse, interpolate, expand and validate into `StageSpec` records.

What DVC 3 accepts, with the same results (checked against the real dvc in tests/test_dvc_compat_dvcyaml.py):

* stages with ``cmd`` (str or list), ``wdir``, ``deps``, ``params``, ``outs``/``metrics``/``plots`` (plain paths
  or ``{path: {cache, persist, ...plot props}}``), ``frozen``, ``always_changed``, ``desc``, ``meta``, ``vars``;
* ``vars`` (top level and per stage): a params file (``file.yaml`` or ``file.yaml:k1,k2``) or an inline mapping,
  merged over ``params.yaml`` of the dvc.yaml directory; redefining a leaf is an error;
* ``${a.b}`` / ``${a[0]}`` interpolation, ``\\${`` escapes; a value that is exactly one ``${...}`` keeps its type;
  inside text only primitives are allowed (booleans as ``true``/``false``), except in ``cmd`` where a mapping
  becomes CLI flags (``--lr 0.1 --verbose --tags a b``; ``parsing.bool`` / ``parsing.list`` config honoured);
* ``foreach``/``do`` over a list of primitives (``name@value``), of composites (``name@0``) or a mapping
  (``name@key``), and ``matrix`` (cartesian product, ``name@a-3``, composite values as ``<name><index>``);
* top-level ``params``, ``metrics``, ``plots``, ``artifacts``.

Errors are `FormatError` with the dvc.yaml path, the line of the offending key (found only when an error is
raised, so loading stays ~1 ms) and a message such as
``dvc.yaml:14: stage 'train': unknown variable 'train.lrr' in '${train.lrr}'``.
"""
from __future__ import annotations

import functools
import itertools
import os
import posixpath
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable, Iterator, Sequence

from dvc_compat.errors import FormatError
from dvc_compat.model import DvcFile, OutSpec, ParamSpec, StageSpec
from dvc_compat.params import flatten, load_params, params_format, parse_params, suggest
from dvc_compat.remote_deps import missing_plugin_message
from dvc_compat.stage_shape import ShapeError, check_stage_shape, check_top_shape
from dvc_compat.yamlio import find_line, load_yaml

__all__ = [
    "DEFAULT_PARAMS_FILE",
    "STAGE_KEYS",
    "load_dvcfile",
    "parse_dvcfile",
    "find_dvcfiles",
    "load_project",
    "to_str",
    "is_valid_stage_name",
]

DEFAULT_PARAMS_FILE = "params.yaml"
TOP_KEYS = ("stages", "vars", "params", "metrics", "plots", "artifacts", "datasets")
STAGE_KEYS = (
    "cmd", "wdir", "deps", "params", "outs", "metrics", "plots", "frozen", "always_changed",
    "desc", "meta", "vars",
)
OUT_FLAGS = ("cache", "persist", "checkpoint", "remote", "push", "desc", "type", "labels", "meta")
PLOT_PROPS = ("template", "x", "y", "x_label", "y_label", "title", "header")
INVALID_STAGE_NAME_CHARS = frozenset("!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~")
RESERVED_NAMES = ("item", "key")  # what foreach/matrix put into the context of each generated stage
_KEYCRE = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")


def is_valid_stage_name(name: str) -> bool:
    """The rule of ``dvc stage add``: no ASCII punctuation other than ``_`` and ``-`` (use it when creating stages;
    in an existing dvc.yaml DVC only rejects ``@``)."""
    return not (INVALID_STAGE_NAME_CHARS & set(name))


class _Err(Exception):
    """Internal: a resolution error; `loc` (path into the YAML document) is filled in while unwinding."""

    def __init__(self, message: str, loc: tuple[Any, ...] = ()):
        super().__init__(message)
        self.message = message
        self.loc = loc

    def at(self, *prefix: Any) -> _Err:
        self.loc = prefix + self.loc
        return self


# --- interpolation -------------------------------------------------------------------------------------------


def to_str(value: Any, parsing: Mapping[str, Any] | None = None) -> str:
    """A context value rendered inside a string, as DVC renders it (bools lower-case, dicts as CLI flags)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _dict_to_flags(value, parsing or {})
    return str(value)


def _dict_to_flags(d: Mapping[str, Any], parsing: Mapping[str, Any]) -> str:
    parts: list[str] = []
    bool_mode = parsing.get("bool", "store_true")
    list_mode = parsing.get("list", "nargs")
    for k, v in flatten(d).items():
        if isinstance(v, bool):
            if v:
                parts.append(f"--{k}")
            elif bool_mode == "boolean_optional":
                parts.append(f"--no-{k}")
        elif isinstance(v, str):
            parts.append(f"--{k} {shlex.quote(v)}")
        elif isinstance(v, (list, tuple)):
            for n, item in enumerate(v):
                if isinstance(item, str):
                    item = shlex.quote(item)
                elif isinstance(item, (list, tuple, dict)):
                    raise _Err(f"cannot interpolate nested list in '{k}'")
                if list_mode == "append" or n == 0:
                    parts.append(f"--{k} {item}")
                else:
                    parts.append(str(item))
        else:
            parts.append(f"--{k} {v}")
    return " ".join(parts)


@functools.lru_cache(maxsize=8192)
def _expr_parts(expr: str) -> tuple[str, ...]:
    """``a[0].b`` -> ("a", "0", "b"): brackets are dots, parts stripped (cached: templates repeat)."""
    return tuple(p.strip() for p in expr.replace("[", ".").replace("]", "").split("."))


@functools.lru_cache(maxsize=8192)
def _template(s: str) -> tuple[tuple[tuple[int, int, str], ...], bool]:
    """The ``${...}`` spans of a string and whether the string is exactly one of them (cached)."""
    spans = tuple((m.start(), m.end(), m["inner"]) for m in _KEYCRE.finditer(s))
    return spans, len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(s)


def _select(ctx: Mapping[str, Any], expr: str, template: str) -> Any:
    node: Any = ctx
    for part in _expr_parts(expr):
        if isinstance(node, Mapping):
            if part in node:
                node = node[part]
                continue
        elif isinstance(node, (list, tuple)):
            try:
                node = node[int(part)]
                continue
            except (ValueError, IndexError):
                pass
        raise _Err(f"unknown variable '{expr.strip()}' in '{template}'")
    return node


_PRIMITIVES = (int, float, str, bytes, bool)


class _Resolver:
    """Resolves ``${}`` in one dvc.yaml against a context (plain nested dicts)."""

    def __init__(self, parsing: Mapping[str, Any]):
        self.parsing = parsing
        # while a stage entry is resolved: where each top-level name came from, to track which values of
        # params/vars files the stages use (exp show lists them as params)
        self.sources: Mapping[str, str] | None = None
        self.file_sources: set[str] = set()
        self.used: dict[str, dict[str, None]] = {}  # file -> keys in order of first use (DVC's column order)
        # while a foreach/matrix entry is resolved: ("item",) or ("item", "<matrix key>") -> (file, dotted path)
        # of the value it was taken from, when the loop iterates over `${...}` from a params/vars file
        self.origins: dict[tuple[str, ...], tuple[str, str]] = {}

    def _track(self, expr: str, value: Any) -> None:
        """Record a used value of a params/vars file as DVC does: leaves and lists by their dotted path (list
        items by index, ``opt.0``), never a whole mapping (a dict in `cmd` becomes flags untracked)."""
        if self.sources is None or isinstance(value, dict):
            return
        parts = _expr_parts(expr)
        for prefix, (file, base) in self.origins.items():
            if parts[:len(prefix)] == prefix:
                full = (*base.split("."), *parts[len(prefix):])
                # an item merged from two files (params.yaml and a vars file) is tracked in the one that set it
                src = _source_of(self.sources, full)
                self.used.setdefault(src if src in self.file_sources else file, {})[".".join(full)] = None
                return
        src = _source_of(self.sources, parts)
        if src is not None and src in self.file_sources:
            self.used.setdefault(src, {})[".".join(parts)] = None

    def value(self, value: Any, ctx: Mapping[str, Any], key: str | None) -> Any:
        if isinstance(value, str):
            return self.string(value, ctx, key) if "${" in value else value
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                try:
                    rk = self.string(k, ctx, key) if isinstance(k, str) and "${" in k else k
                    if isinstance(rk, (dict, list)):
                        raise _Err(f"cannot use data of type '{type(rk).__name__}' as a key: '{k}'")
                    out[rk] = self.value(v, ctx, key)
                except _Err as exc:
                    raise exc.at(k) from None
            return out
        if isinstance(value, list):
            res = []
            for i, v in enumerate(value):
                try:
                    res.append(self.value(v, ctx, key))
                except _Err as exc:
                    raise exc.at(i) from None
            return res
        return value

    def string(self, s: str, ctx: Mapping[str, Any], key: str | None) -> Any:
        spans, exact = _template(s)
        if exact:
            inner = spans[0][2]
            value = _select(ctx, inner, s)
            self._track(inner, value)
            self._validate(value, key, s)
            if key == "cmd" and isinstance(value, dict):
                return to_str(value, self.parsing)
            return value
        buf: list[str] = []
        index = 0
        for start, end, inner in spans:
            value = _select(ctx, inner, s)
            self._track(inner, value)
            self._validate(value, key, s)
            if isinstance(value, (list, tuple)) or (isinstance(value, dict) and key != "cmd"):
                raise _Err(f"cannot interpolate data of type '{type(value).__name__}' in '{s}'")
            buf.append(s[index:start])
            buf.append(to_str(value, self.parsing))
            index = end
        buf.append(s[index:])
        return "".join(buf).replace("\\${", "${")

    @staticmethod
    def _validate(value: Any, key: str | None, s: str) -> None:
        if value is None or isinstance(value, _PRIMITIVES) or key is None or "foreach" in key:
            return
        if isinstance(value, dict) and key == "cmd":
            return
        raise _Err(f"cannot interpolate data of type '{type(value).__name__}' in '{s}'")


# --- context -------------------------------------------------------------------------------------------------


def _merge(into: dict, update: Mapping, path: str, sources: dict[str, str], source: str) -> None:
    """Merge `update` into the context dict `into`, copy-on-write.

    Values are shared, never deep-copied: a deep copy would expand YAML aliases (one loaded list reused a thousand
    times becomes a thousand lists) and costs the size of every params file per stage. A nested dict is copied
    (shallowly) just before a merge writes into it, so loaded files, other contexts and aliased values are never
    changed in place."""
    for k, v in update.items():
        full = f"{path}{k}"
        if isinstance(into.get(k), dict) and isinstance(v, Mapping):
            into[k] = dict(into[k])
            _merge(into[k], v, full + ".", sources, source)
        elif k in into:
            top = full.split(".", 1)[0]
            if top in RESERVED_NAMES and top not in sources:  # set by foreach/matrix, not by a file
                raise _Err(f"attempted to modify reserved key '{top}' (foreach/matrix sets it) in '{source}'")
            raise _Err(
                f"cannot redefine '{full}' from '{source}' as it already exists in '{sources.get(top, '?')}'"
            )
        else:
            into[k] = v
            sources.setdefault(full.split(".", 1)[0], source)
            if full not in sources:  # a key merged into another file's mapping: its own origin (`_source_of`)
                sources[full] = source


def _source_of(sources: Mapping[str, str], parts: Sequence[str]) -> str | None:
    """The file (or vars entry) that set the value at dotted path `parts`: the deepest recorded prefix, so
    `models.model1.epochs` merged from `test_params.yaml` into params.yaml's `models` is `test_params.yaml`'s."""
    for n in range(len(parts), 0, -1):
        src = sources.get(".".join(parts[:n]))
        if src is not None:
            return src
    return None


class _Context:
    """The variables visible to a stage: params.yaml + vars, with where each top-level name came from."""

    def __init__(self, loader: _FileLoader):
        self.data: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.imports: dict[str, list[str] | None] = {}
        self.files: set[str] = set()  # repo-relative params/vars files merged in
        self.loader = loader

    def clone(self) -> _Context:
        c = _Context(self.loader)
        c.data = dict(self.data)  # nested dicts are copied on write by _merge
        c.sources = dict(self.sources)
        c.imports = {k: (None if v is None else list(v)) for k, v in self.imports.items()}
        c.files = set(self.files)
        return c

    def load_vars(self, vars_: Any, wdir_abs: Path, wdir_rel: str, where: str) -> None:
        if vars_ is None:
            return
        if not isinstance(vars_, list):
            raise _Err(f"'{where}' must be a list of file names or mappings")
        for i, item in enumerate(vars_):
            try:
                if isinstance(item, str):
                    if "${" in item:
                        raise _Err(f"interpolating is not allowed in '{where}'")
                    self.merge_file(item, wdir_abs, wdir_rel)
                elif isinstance(item, dict):
                    if _has_interpolation(item):
                        raise _Err(f"interpolating is not allowed in '{where}'")
                    _merge(self.data, item, "", self.sources, f"{where}[{i}]")
                else:
                    raise _Err(f"'{where}' entries must be file names or mappings, not {type(item).__name__}")
            except _Err as exc:
                raise exc.at(i) from None

    def merge_file(self, item: str, wdir_abs: Path, wdir_rel: str, optional: bool = False) -> None:
        path, _, keys_str = item.partition(":")
        keys = [k for k in keys_str.split(",") if k] if keys_str else None
        rel = posixpath.normpath(posixpath.join(wdir_rel, path)) if wdir_rel != "." else posixpath.normpath(path)
        if rel in self.imports:
            imported = self.imports[rel]
            if not keys and imported is None:
                return  # the whole file again: allowed, no-op
            if not keys and imported is not None:
                raise _Err(f"cannot load '{item}' as it's partially loaded already")
            if keys and imported is None:
                raise _Err(f"cannot partially load '{item}' as it's already loaded.")
            if keys and imported is not None and set(keys) & set(imported):
                raise _Err(f"cannot load '{item}' as it's partially loaded already")
        abs_path = wdir_abs / path
        data = self.loader.load(abs_path, rel, optional=optional)
        if data is None:
            return
        if keys:
            try:
                data = {k: data[k] for k in keys}
            except KeyError as exc:
                raise _Err(f"could not find '{exc.args[0]}' in '{rel}'") from None
        _merge(self.data, data, "", self.sources, rel)
        self.files.add(rel)
        if rel not in self.imports:
            self.imports[rel] = None if keys is None else list(keys)
        elif keys:
            self.imports[rel] = (self.imports[rel] or []) + keys


def _has_interpolation(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_KEYCRE.search(value))
    if isinstance(value, dict):
        return any(_has_interpolation(k) or _has_interpolation(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_interpolation(v) for v in value)
    return False


class _FileLoader:
    """Loads vars/params files once per project load.

    Files come from disk, or from `reader(repo_relative_posix_path) -> bytes | None` (None = missing) when
    parsing a dvc.yaml from a git tree, e.g. an experiment commit.
    """

    def __init__(self, reader: Callable[[str], bytes | None] | None = None, max_bytes: int | None = None,
                 limit_hint: str = "") -> None:
        self.cache: dict[Any, Any] = {}
        self.reader = reader
        self.max_bytes = max_bytes      # files over it (read for display) are refused, an optional one skipped
        self.limit_hint = limit_hint

    def load(self, abs_path: Path, display: str, optional: bool = False) -> dict[str, Any] | None:
        cache_key = display if self.reader is not None else abs_path
        if cache_key in self.cache:
            return self.cache[cache_key]
        if self.reader is not None:
            raw = self.reader(display)
            if raw is None:
                if optional:
                    return None
                raise _Err(f"'{display}' does not exist")
            data = parse_params(raw, display, params_format(display))
        elif self.max_bytes is not None:
            from dvc_compat.limits import read_limited

            try:
                raw = read_limited(abs_path, display, self.max_bytes, self.limit_hint)
            except FileNotFoundError:
                if optional:
                    return None
                raise _Err(f"'{display}' does not exist") from None
            except FormatError:
                if optional:  # the dvc.yaml's params.yaml, merged in case `${}` uses it: its own reader says why
                    self.cache[cache_key] = None
                    return None
                raise
            data = parse_params(raw, display, params_format(display))
        else:
            try:
                data = load_params(abs_path, display)
            except FileNotFoundError:
                if optional:
                    return None
                raise _Err(f"'{display}' does not exist") from None
            except IsADirectoryError:
                raise _Err(f"'{display}' is a directory") from None
        self.cache[cache_key] = data
        return data


# --- stage building ------------------------------------------------------------------------------------------


def _norm_join(base: str, rel: str) -> str:
    joined = posixpath.normpath(posixpath.join(base, rel)) if base not in ("", ".") else posixpath.normpath(rel)
    return joined


def _expect(cond: bool, message: str, *loc: Any) -> None:
    if not cond:
        raise _Err(message, loc)


def _type_name(v: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(v), type(v).__name__
    )


def _build_outs(entries: Any, kind: str) -> list[OutSpec]:
    _expect(isinstance(entries, list), f"'{kind}' must be a list, not {_type_name(entries)}", kind)
    outs: list[OutSpec] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            outs.append(OutSpec(path=entry, kind=kind))  # type: ignore[arg-type]
            continue
        _expect(
            isinstance(entry, dict) and len(entry) == 1,
            f"'{kind}' entries must be a path or {{path: {{flags}}}}, got {_type_name(entry)}",
            kind, i,
        )
        (path, flags), = entry.items()
        _expect(isinstance(path, str), f"'{kind}' path must be a string", kind, i)
        flags = flags or {}
        _expect(isinstance(flags, dict), f"'{kind}' flags of '{path}' must be a mapping", kind, i, path)
        allowed = OUT_FLAGS + (PLOT_PROPS if kind == "plots" else ())
        for flag in flags:
            if flag not in allowed:
                close = suggest(str(flag), allowed)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise _Err(f"unknown flag '{flag}' for '{path}' in '{kind}'{hint}", (kind, i, path, flag))
        for flag in ("cache", "persist", "push", "checkpoint"):
            if flag in flags:
                _expect(isinstance(flags[flag], bool), f"'{flag}' of '{path}' must be true or false",
                        kind, i, path, flag)
        props = {k: v for k, v in flags.items() if k not in ("cache", "persist")}
        outs.append(OutSpec(path=path, kind=kind, cache=flags.get("cache", True),  # type: ignore[arg-type]
                            persist=flags.get("persist", False), props=props))
    return outs


def _build_params(entries: Any) -> list[ParamSpec]:
    _expect(isinstance(entries, list), f"'params' must be a list, not {_type_name(entries)}", "params")
    order: list[str] = []
    keys: dict[str, list[str] | None] = {}

    def add(file: str, ks: list[str] | None) -> None:
        if file not in keys:
            order.append(file)
            keys[file] = [] if ks is not None else None
        if ks is None:
            keys[file] = None  # whole file wins over key lists
        elif keys[file] is not None:
            for k in ks:
                if k not in keys[file]:  # type: ignore[operator]
                    keys[file].append(k)  # type: ignore[union-attr]

    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            add(DEFAULT_PARAMS_FILE, [entry])
        elif isinstance(entry, dict):
            for file, ks in entry.items():
                _expect(isinstance(file, str), "params file name must be a string", "params", i)
                if ks is None or ks == []:
                    add(file, None)
                else:
                    _expect(isinstance(ks, list) and all(isinstance(k, str) for k in ks),
                            f"keys of params file '{file}' must be a list of strings", "params", i, file)
                    add(file, list(ks))
        else:
            raise _Err(f"'params' entries must be a key or {{file: [keys]}}, got {_type_name(entry)}", ("params", i))
    return [ParamSpec(file=f, keys=None if keys[f] is None else tuple(keys[f])) for f in order]  # type: ignore[arg-type]


def _build_stage(name: str, d: Mapping[str, Any], dvcfile: str, dvc_dir: str) -> StageSpec:
    for key in d:
        if key not in STAGE_KEYS:
            close = suggest(str(key), STAGE_KEYS)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _Err(f"unknown key '{key}'{hint}", (key,))
    _expect("cmd" in d, "missing required key 'cmd'")
    cmd = d["cmd"]
    if isinstance(cmd, list):  # `cmd: []` is valid for DVC too (what repro does with it: exptui.pipeline.repro)
        _expect(all(isinstance(c, str) for c in cmd), "'cmd' list entries must be strings", "cmd")
    else:
        _expect(isinstance(cmd, str), f"'cmd' must be a string or a list of strings, not {_type_name(cmd)}", "cmd")
    wdir_raw = d.get("wdir") or "."
    _expect(isinstance(wdir_raw, str), "'wdir' must be a string", "wdir")
    wdir = _norm_join(dvc_dir, wdir_raw)
    deps = d.get("deps") or []
    _expect(isinstance(deps, list) and all(isinstance(x, str) for x in deps),
            "'deps' must be a list of paths", "deps")
    for i, dep in enumerate(deps):
        missing = missing_plugin_message(dep)
        _expect(missing is None, f"dependency '{dep}': {missing} (exptui never reads remote data itself)",
                "deps", i)
    params = _build_params(d["params"]) if d.get("params") is not None else []
    outs: list[OutSpec] = []
    for kind in ("outs", "metrics", "plots"):
        if d.get(kind) is not None:
            outs.extend(_build_outs(d[kind], kind))
    for flag in ("frozen", "always_changed"):
        _expect(isinstance(d.get(flag, False), bool), f"'{flag}' must be true or false", flag)
    desc = d.get("desc")
    _expect(desc is None or isinstance(desc, str), "'desc' must be a string", "desc")
    return StageSpec(
        name=name, dvcfile=dvcfile, wdir=wdir, cmd=cmd, deps=list(deps), params=params, outs=outs,
        frozen=bool(d.get("frozen", False)), always_changed=bool(d.get("always_changed", False)),
        desc=desc, meta=d.get("meta"),
    )


def _is_composite(v: Any) -> bool:
    return isinstance(v, (dict, list, tuple))


# --- the file ------------------------------------------------------------------------------------------------


def load_dvcfile(
    repo_root: str | os.PathLike[str],
    relpath: str = "dvc.yaml",
    parsing: Mapping[str, Any] | None = None,
    _loader: _FileLoader | None = None,
) -> DvcFile:
    """Parse `repo_root/relpath` into a `DvcFile` of fully resolved stages.

    `relpath` is repo-relative POSIX; stage `wdir`s in the result are repo-relative. `parsing` is the
    ``[parsing]`` section of the DVC config (``bool``, ``list``), read from ``.dvc/config`` when None.
    """
    root = Path(repo_root)
    path = root / relpath
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(relpath, "file not found") from None
    except OSError as exc:
        raise FormatError(relpath, f"cannot read: {exc.strerror}") from None
    if parsing is None:
        parsing = _parsing_config(root)
    return parse_dvcfile(text, root, relpath, parsing, _loader)


def _parsing_config(root: Path) -> Mapping[str, Any]:
    """The ``[parsing]`` section of .dvc/config (+ config.local); {} when absent. Cheap: no INI parse if unused."""
    from dvc_compat.config import parse_config_text, read_config_file

    out: dict[str, Any] = {}
    for name in ("config", "config.local"):
        try:
            raw = read_config_file(root / ".dvc" / name, f".dvc/{name}")
        except FormatError as exc:
            if exc.message == "not UTF-8 text":
                continue
            raise
        if raw is None or "parsing" not in raw:
            continue
        out.update(parse_config_text(raw, f".dvc/{name}").get("parsing", {}))
    return out


def parse_dvcfile(
    text: bytes | str,
    repo_root: str | os.PathLike[str],
    relpath: str = "dvc.yaml",
    parsing: Mapping[str, Any] | None = None,
    _loader: _FileLoader | None = None,
    *,
    reader: Callable[[str], bytes | None] | None = None,
) -> DvcFile:
    """Parse dvc.yaml content. vars/params files are read from `repo_root`, or through `reader` (repo-relative
    POSIX path -> bytes, None if missing) when the dvc.yaml comes from a git tree such as an experiment commit."""
    data = load_yaml(text, relpath)
    try:
        return _parse(data, Path(repo_root), relpath, parsing or {}, _loader or _FileLoader(reader))
    except _Err as exc:
        line = find_line(text, exc.loc)
        key = ".".join(str(k) for k in exc.loc) or None
        raise FormatError(relpath, exc.message, line=line, key=key) from None


def _parse(data: Any, root: Path, relpath: str, parsing: Mapping[str, Any], loader: _FileLoader) -> DvcFile:
    dvc_dir = posixpath.dirname(relpath) or "."
    result = DvcFile(path=relpath)
    if data is None:
        return result
    _expect(isinstance(data, dict), f"dvc.yaml must be a mapping, not {_type_name(data)}")
    for key in data:
        if key not in TOP_KEYS:
            close = suggest(str(key), TOP_KEYS)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _Err(f"unknown top-level key '{key}'{hint}", (key,))

    try:
        check_top_shape(data)
    except ShapeError as exc:
        raise _Err(exc.message, exc.loc) from None
    ctx = _Context(loader)
    dir_abs = root / dvc_dir if dvc_dir != "." else root
    try:
        ctx.merge_file(DEFAULT_PARAMS_FILE, dir_abs, dvc_dir, optional=True)
        ctx.load_vars(data.get("vars"), dir_abs, dvc_dir, "vars")
    except _Err as exc:
        if exc.loc or "vars" in data:
            raise exc.at("vars") from None
        raise
    res = _Resolver(parsing)

    stages = data.get("stages") or {}
    _expect(isinstance(stages, dict), f"'stages' must be a mapping, not {_type_name(stages)}", "stages")
    for name, definition in stages.items():
        try:
            # DVC accepts any name in dvc.yaml except '@' (reserved for foreach/matrix); `dvc stage add` is
            # stricter (see is_valid_stage_name), which is for tools creating stages.
            _expect(isinstance(name, str) and "@" not in name,
                    f"invalid stage name '{name}': '@' is reserved for foreach/matrix stages")
            _expect(isinstance(definition, dict), f"stage '{name}' must be a mapping, not {_type_name(definition)}")
            for stage in _expand(name, definition, ctx, res, dir_abs, dvc_dir, relpath):
                if stage.name in result.stages:
                    raise _Err(f"duplicate stage name '{stage.name}'")
                result.stages[stage.name] = stage
        except _Err as exc:
            raise exc.at("stages", name) from None

    for section in ("params", "metrics", "plots"):
        entries = data.get(section)
        if entries is None:
            continue
        try:
            _expect(isinstance(entries, list), f"top-level '{section}' must be a list, not {_type_name(entries)}")
            resolved = [res.value(e, ctx.data, None) for e in entries]
        except _Err as exc:
            raise exc.at(section) from None
        if section == "plots":
            result.plots = resolved
        else:
            for i, e in enumerate(resolved):
                _expect(isinstance(e, str), f"top-level '{section}' entries must be paths", section, i)
            setattr(result, section, resolved)
    artifacts = data.get("artifacts")
    if artifacts is not None:
        try:
            _expect(isinstance(artifacts, dict), "'artifacts' must be a mapping")
            for name, art in artifacts.items():
                rname = res.value(name, ctx.data, None)
                rart = res.value(art, ctx.data, None)
                _expect(isinstance(rname, str), f"artifact name must be a string, not {_type_name(rname)}", name)
                _expect(isinstance(rart, dict) and "path" in rart, f"artifact '{rname}' needs a 'path'", name)
                result.artifacts[rname] = rart
        except _Err as exc:
            raise exc.at("artifacts") from None
    result.vars_params = {f: tuple(keys) for f, keys in res.used.items()}
    return result


def _expand(
    name: str, definition: dict, ctx: _Context, res: _Resolver, dir_abs: Path, dvc_dir: str, relpath: str
) -> Iterator[StageSpec]:
    has_foreach = "foreach" in definition
    has_matrix = "matrix" in definition
    if has_foreach and has_matrix:
        raise _Err(f"stage '{name}': 'foreach' and 'matrix' cannot be used together")
    if has_foreach:
        extra = [k for k in definition if k not in ("foreach", "do")]
        _expect(not extra, f"stage '{name}': only 'do' may accompany 'foreach', not '{extra[0] if extra else ''}'",
                *(extra[:1]))
        _expect("do" in definition, f"stage '{name}': 'foreach' needs a 'do' block")
        template = definition["do"]
        _expect(isinstance(template, dict), f"stage '{name}': 'do' must be a mapping", "do")
        try:
            items = res.value(definition["foreach"], ctx.data, None)
        except _Err as exc:
            raise _Err(f"stage '{name}': {exc.message}", ("foreach",) + exc.loc) from None
        # (generated name, item, whether `key` is set, the item's place in its list/mapping)
        if isinstance(items, dict):
            pairs = [(to_str(k), v, True, str(k)) for k, v in items.items()]
        elif isinstance(items, list):
            if any(_is_composite(v) for v in items):
                pairs = [(str(i), v, False, str(i)) for i, v in enumerate(items)]
            else:
                pairs = [(to_str(v), v, False, str(i)) for i, v in enumerate(items)]
        else:
            raise _Err(f"stage '{name}': 'foreach' must be a list or a mapping, not {_type_name(items)}",
                       ("foreach",))
        origin = _file_origin(definition["foreach"], ctx)
        for key, (item, with_key, place) in _collapse((k, (v, w, p)) for k, v, w, p in pairs).items():
            injected = {"item": item, **({"key": key} if with_key else {})}
            res.origins = {("item",): (origin[0], f"{origin[1]}.{place}")} if origin else {}
            yield _with_injected(ctx, injected,
                                 lambda c, k=key: _entry(f"{name}@{k}", template, c, res, dir_abs, dvc_dir,
                                                         relpath, ("do",)))
        return
    if has_matrix:
        matrix = definition["matrix"]
        _expect(isinstance(matrix, dict) and bool(matrix), f"stage '{name}': 'matrix' must be a non-empty mapping",
                "matrix")
        try:
            resolved = res.value(matrix, ctx.data, None)
        except _Err as exc:
            raise _Err(f"stage '{name}': {exc.message}", ("matrix",) + exc.loc) from None
        for k, v in resolved.items():
            _expect(isinstance(v, list), f"stage '{name}': matrix '{k}' must be a list, not {_type_name(v)}",
                    "matrix", k)
        template = {k: v for k, v in definition.items() if k != "matrix"}
        names = list(resolved)
        combos = []
        for combo in itertools.product(*(list(enumerate(resolved[n])) for n in names)):
            item = {n: v for n, (_i, v) in zip(names, combo)}
            frags = [f"{n}{i}" if _is_composite(v) else to_str(v) for n, (i, v) in zip(names, combo)]
            places = {n: i for n, (i, _v) in zip(names, combo)}
            combos.append(("-".join(frags), (item, places)))
        origins = {n: o for n in names if (o := _file_origin(matrix[n], ctx)) is not None}
        for key, (item, places) in _collapse(combos).items():
            res.origins = {("item", n): (file, f"{base}.{places[n]}") for n, (file, base) in origins.items()}
            yield _with_injected(ctx, {"item": item, "key": key},
                                 lambda c, k=key: _entry(f"{name}@{k}", template, c, res, dir_abs, dvc_dir,
                                                         relpath, ()))
        return
    res.origins = {}
    yield _entry(name, definition, ctx, res, dir_abs, dvc_dir, relpath, ())


def _file_origin(raw: Any, ctx: _Context) -> tuple[str, str] | None:
    """(params/vars file, dotted path) when a foreach/matrix iterates over exactly one ``${...}`` of such a file:
    DVC then tracks each used item under its place in that file (``models.0``, ``grid.lr.2``)."""
    if not isinstance(raw, str):
        return None
    spans, exact = _template(raw)
    if not exact:
        return None
    parts = _expr_parts(spans[0][2])
    src = _source_of(ctx.sources, parts)
    return (src, ".".join(parts)) if src is not None and src in ctx.files else None


def _collapse(entries: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """foreach/matrix entries by generated name: entries that render to the same name (``x`` listed twice, ``1``
    and ``'1'``) become one stage, at the first one's position with the last one's value. DVC keys its entries
    with a dict the same way, so `dvc stage list`/`dvc dag`/`dvc repro` show one such stage, not an error."""
    return dict(entries)


def _with_injected(ctx: _Context, injected: dict[str, Any], build: Any) -> StageSpec:
    """Run `build(ctx)` with `item`/`key` set in the context, restoring what was there (no context copy)."""
    saved = {k: ctx.data[k] for k in injected if k in ctx.data}
    ctx.data.update(injected)
    try:
        return build(ctx)
    finally:
        for k in injected:
            if k in saved:
                ctx.data[k] = saved[k]
            else:
                ctx.data.pop(k, None)


def _entry(
    name: str, definition: dict, ctx: _Context, res: _Resolver, dir_abs: Path, dvc_dir: str, relpath: str,
    loc: tuple[Any, ...],
) -> StageSpec:
    try:
        try:
            check_stage_shape(definition)
        except ShapeError as exc:
            raise _Err(exc.message, exc.loc) from None
        stage_ctx = ctx
        wdir_rel = dvc_dir
        wdir_abs = dir_abs
        if definition.get("wdir"):
            try:
                w = res.value(definition["wdir"], ctx.data, "wdir")
            except _Err as exc:
                raise exc.at("wdir") from None
            if isinstance(w, str):
                wdir_rel = _norm_join(dvc_dir, w)
                wdir_abs = dir_abs / w
        if definition.get("vars"):
            stage_ctx = ctx.clone()
            try:
                stage_ctx.load_vars(definition["vars"], wdir_abs, wdir_rel, f"stages.{name}.vars")
            except _Err as exc:
                raise exc.at("vars") from None
        resolved: dict[str, Any] = {}
        res.sources, res.file_sources = stage_ctx.sources, stage_ctx.files
        try:
            for key, value in definition.items():
                if key == "vars":
                    continue
                try:
                    resolved[key] = res.value(value, stage_ctx.data, key)
                except _Err as exc:
                    raise exc.at(key) from None
        finally:
            res.sources = None
        return _build_stage(name, resolved, relpath, dvc_dir)
    except _Err as exc:
        if not exc.message.startswith("stage '"):
            exc.message = f"stage '{name}': {exc.message}"
        raise exc.at(*loc) from None


# --- projects ------------------------------------------------------------------------------------------------


def is_virtualenv(path: str) -> bool:
    """A Python virtual environment (it holds ``pyvenv.cfg``): tens of thousands of files and never a pipeline.
    DVC walks into one unless ``.dvcignore`` names it; exptui skips it, which only differs for a dvc.yaml placed
    inside a virtualenv (docs/compatibility.md)."""
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def find_dvcfiles(repo_root: str | os.PathLike[str]) -> list[str]:
    """Repo-relative paths of every ``dvc.yaml`` below `repo_root`, sorted, root first.

    Skips ``.git``, ``.hg`` and ``.dvc`` directories and Python virtual environments (other hidden directories are
    walked, as DVC walks them) and
    whatever the repository's ``.dvcignore`` files ignore
    (`dvc_compat.ignore`: DVC's rules, ``!`` re-includes and ``.dvcignore`` files in subdirectories included).
    """
    from dvc_compat.ignore import NEVER_WALKED, DvcIgnore

    root = Path(repo_root)
    ignored = DvcIgnore(root)
    found: list[str] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        base = root / rel if rel else root
        try:
            with os.scandir(base) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            child = f"{rel}/{e.name}" if rel else e.name
            if e.is_dir(follow_symlinks=False):
                if e.name in NEVER_WALKED or ignored.is_ignored(child, True) or is_virtualenv(e.path):
                    continue
                stack.append(child)
            elif e.name == "dvc.yaml" and e.is_file() and not ignored.is_ignored(child):
                found.append(child)
    found.sort(key=lambda p: (p.count("/"), p))
    return found


def load_project(repo_root: str | os.PathLike[str], max_bytes: int | None = None,
                 limit_hint: str = "") -> list[DvcFile]:
    """Every dvc.yaml of the repo, parsed (params/vars files read once).

    `max_bytes`: refuse params/vars files bigger than this (readers for display), `limit_hint` saying how to
    raise the limit; a root params.yaml over it is skipped (it is shown as an error of its own)."""
    root = Path(repo_root)
    parsing = _parsing_config(root)
    loader = _FileLoader(max_bytes=max_bytes, limit_hint=limit_hint)
    return [load_dvcfile(root, rel, parsing, loader) for rel in find_dvcfiles(root)]
