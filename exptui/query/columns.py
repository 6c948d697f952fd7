"""Table columns: ids, short labels, header groups and cell values.

A params/metrics column is identified by ``<family>:<file>:<dotted.key>``, e.g.
``metrics:metrics.json:f1`` or ``params:params.yaml:train.lr``. Ids never change while
the set of files does, so the TUI can key widths, order and visibility on them.

The *label* is what a header shows: the bare key (``f1``), unless the same key occurs in
several files or collides with a fixed field such as ``status``; then ``file:key`` (what
``dvc exp show`` does). Fixed fields (``name``, ``status``, ``created``...) are columns of
family ``"field"`` whose id is just their name, so the filter and sort code treat every
kind of column alike.
"""
from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from exptui.errors import ExptuiError
from exptui.records import ExperimentRow

Family = Literal["params", "metrics", "field"]
Kind = Literal["numeric", "text", "bool", "datetime", "mixed"]
FAMILIES: tuple[str, ...] = ("metrics", "params")  # header order, as `dvc exp show` does


class _Sentinel:
    """A cell that has no value. Falsy, and never equal to anything but itself."""

    __slots__ = ("_name", "text")

    def __init__(self, name: str, text: str) -> None:
        self._name = name
        self.text = text

    def __repr__(self) -> str:
        return self._name

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:  # keep identity through copy/pickle
        return self._name


MISSING = _Sentinel("MISSING", "-")
"""The row has no such key (or not the file at all): shown ``-``."""
ERROR = _Sentinel("ERROR", "!")
"""The file the key lives in could not be read for this row (``row.errors``): shown ``!``."""


def is_absent(value: Any) -> bool:
    """True for MISSING and ERROR: values that never match a comparison and sort last."""
    return value is MISSING or value is ERROR


# --------------------------------------------------------------------------- fields

def _created(row: ExperimentRow) -> datetime | None:
    if row.created is not None:
        return row.created
    return row.facts.created if row.facts is not None else None


def _fact(name: str) -> Callable[[ExperimentRow], Any]:
    def get(row: ExperimentRow) -> Any:
        facts = row.facts
        if facts is None:
            return MISSING
        value = getattr(facts, name)
        return MISSING if value is None else value

    return get


def _optional(getter: Callable[[ExperimentRow], Any]) -> Callable[[ExperimentRow], Any]:
    def get(row: ExperimentRow) -> Any:
        value = getter(row)
        return MISSING if value is None or value == "" else value

    return get


FIELD_GETTERS: dict[str, Callable[[ExperimentRow], Any]] = {
    "name": lambda row: row.name,
    "rev": lambda row: row.rev,
    "baseline": lambda row: row.baseline_name or row.baseline[:7],
    "kind": lambda row: row.kind,
    "status": lambda row: row.status,
    "created": _optional(_created),
    "starred": lambda row: row.annotations.starred,
    "label": lambda row: row.annotations.labels,
    "note": _optional(lambda row: row.annotations.note),
    "stage": _optional(lambda row: row.stage),
    "duration": _fact("duration"),
    "host": _fact("host"),
    "python": _fact("python"),
    "command": _fact("command"),
    "packages": _fact("packages_digest"),
    "failure": _fact("error"),
    "sweep": _optional(lambda row: row.sweep),
    "search": _optional(lambda row: row.search),
}
"""Fixed fields every row has; usable in filters (`status == 'failed'`) and sorts."""

FIELD_KINDS: dict[str, Kind] = {
    "name": "text", "rev": "text", "baseline": "text", "kind": "text", "status": "text",
    "created": "datetime", "starred": "bool", "label": "text", "note": "text", "stage": "text",
    "duration": "numeric", "host": "text", "python": "text", "command": "text",
    "packages": "text", "failure": "text", "sweep": "text",
    "search": "text",
}
FIELD_ALIASES: dict[str, str] = {
    "labels": "label", "state": "status", "experiment": "name", "exp": "name",
    "time": "created", "timestamp": "created", "star": "starred", "sha": "rev",
}
SHA_FIELDS = frozenset({"rev", "baseline"})
"""Fields where ``== 'abc1234'`` also matches a sha prefix (rev/baseline sha)."""


# --------------------------------------------------------------------------- Column

@dataclass(frozen=True)
class Column:
    """One column. Equality and hashing go by ``id`` only."""

    family: Family
    file: str
    key: str
    label: str = field(default="", compare=False)
    kind: Kind = field(default="text", compare=False)

    @property
    def id(self) -> str:
        if self.family == "field":
            return self.key
        return f"{self.family}:{self.file}:{self.key}"

    @property
    def file_key(self) -> str:
        """``file:key`` (or the field name): unique within one family."""
        return self.key if self.family == "field" else f"{self.file}:{self.key}"

    @property
    def is_field(self) -> bool:
        return self.family == "field"

    def value(self, row: ExperimentRow) -> Any:
        """The cell's value, ``MISSING`` or ``ERROR``."""
        return self._get(row)

    def getter(self) -> Callable[[ExperimentRow], Any]:
        """A specialised value function, for hot loops (filtering 10k rows)."""
        return self._get

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_get", None)  # a cached closure: rebuilt on demand, never pickled
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @functools.cached_property
    def _get(self) -> Callable[[ExperimentRow], Any]:
        # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass
        if self.family == "field":
            return FIELD_GETTERS[self.key]
        file, key, family = self.file, self.key, self.family
        nested = key.split(".") if "." in key else None

        def get(row: ExperimentRow) -> Any:
            errors = row.errors
            if errors and file in errors:  # unreadable wins over any partial data
                return ERROR
            data = (row.metrics if family == "metrics" else row.params).get(file)
            if data.__class__ is not dict and not isinstance(data, Mapping):
                if errors and family == "metrics" and _pipeline_unreadable(errors):
                    return ERROR  # which metrics files the row has is unknown: never "no value"
                return MISSING  # None, or a file whose top level is not a mapping
            value = data.get(key, MISSING)
            if value is MISSING and nested is not None:
                value = _lookup_nested(data, nested)
            return value

        return get


def _pipeline_unreadable(errors: Mapping[str, str]) -> bool:
    """Could a dvc.yaml of the row not be read (so the metrics files it declares are unknown)? E.g. a params.yaml
    that is not YAML: dvc.yaml reads it for its `${}` variables, as DVC does."""
    return any(name == "dvc.yaml" or name.endswith("/dvc.yaml") for name in errors)


def field_column(name: str) -> Column:
    """The column of a fixed field (``name``, ``status``, ``created``...)."""
    name = FIELD_ALIASES.get(name, name)
    return Column("field", "", name, name, FIELD_KINDS[name])


FIELD_COLUMNS: tuple[Column, ...] = tuple(field_column(name) for name in FIELD_GETTERS)


def _lookup_nested(data: Mapping[str, Any], parts: list[str]) -> Any:
    """Look ``a.b.c`` up in still-nested data (a store may hand over unflattened dicts)."""
    node: Any = data
    for i, part in enumerate(parts):
        if not isinstance(node, Mapping):
            return MISSING
        if part in node:
            node = node[part]
            continue
        rest = ".".join(parts[i:])  # keys that themselves contain dots
        return node.get(rest, MISSING)
    return node


def value_kind(value: Any) -> str | None:
    """The kind of one value; None for nulls, which do not decide a column's kind."""
    if value is None or value is MISSING or value is ERROR:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "numeric"
    if isinstance(value, datetime):
        return "datetime"
    return "text"


_KIND_BY_TYPE: dict[type, str] = {int: "numeric", float: "numeric", bool: "bool", str: "text",
                                  list: "text", tuple: "text", datetime: "datetime"}


def _combine_kinds(kinds: set[str]) -> Kind:
    if not kinds:
        return "text"
    if len(kinds) == 1:
        return next(iter(kinds))  # type: ignore[arg-type]  # every member is a Kind literal
    return "mixed"


def collect_columns(rows: Sequence[ExperimentRow]) -> list[Column]:
    """Every params/metrics column present in any row: metrics first, then params;
    files and keys in first-seen order so a column's place is stable as rows arrive."""
    seen: dict[str, dict[str, dict[str, set[str]]]] = {family: {} for family in FAMILIES}
    kind_of_type = _KIND_BY_TYPE
    for row in rows:
        for family, source in (("metrics", row.metrics), ("params", row.params)):
            if not source:
                continue
            files = seen[family]
            for file, data in source.items():
                if not isinstance(data, Mapping):
                    continue
                keys = files.get(file)
                if keys is None:
                    keys = files[file] = {}
                # hot loop (10k rows x 30 keys): type lookup first, nested dicts only when seen
                for key, value in data.items():
                    kind = kind_of_type.get(value.__class__)
                    if kind is None:
                        if isinstance(value, Mapping):
                            from dvc_compat.params import flatten  # lazily: nested values are rare
                            for sub_key, sub_value in flatten(value, key + ".").items():
                                sub_kinds = keys.get(sub_key)
                                if sub_kinds is None:
                                    sub_kinds = keys[sub_key] = set()
                                sub_kind = value_kind(sub_value)
                                if sub_kind is not None:
                                    sub_kinds.add(sub_kind)
                            continue
                        kind = value_kind(value)
                    kinds = keys.get(key)
                    if kinds is None:
                        kinds = keys[key] = set()
                    if kind is not None:
                        kinds.add(kind)
    return _columns_of(seen)


Schema = tuple
"""What one row contributes to `collect_columns`: ``((family, ((file, ((key, kinds), ...)), ...)), ...)`` in the
row's own order (kinds a sorted tuple). Rows of one sweep share it, so an index stores one per distinct schema
and a listing folds each distinct one once (`columns_from_schemas`) instead of reading every row's values."""


def schema_of(metrics: Mapping[str, Any] | None, params: Mapping[str, Any] | None) -> Schema:
    """The `Schema` of a row with these params and metrics: ``columns_from_schemas([schema_of(r.metrics,
    r.params) for r in rows]) == collect_columns(rows)`` (tests/test_query_columns_schema.py checks it)."""
    out = []
    for family, source in (("metrics", metrics), ("params", params)):
        if not source:
            continue
        files = []
        for file, data in source.items():
            if not isinstance(data, Mapping):
                continue
            keys: dict[str, set[str]] = {}
            for key, value in data.items():
                kind = _KIND_BY_TYPE.get(value.__class__)
                if kind is None:
                    if isinstance(value, Mapping):
                        from dvc_compat.params import flatten

                        for sub_key, sub_value in flatten(value, key + ".").items():
                            sub_kinds = keys.setdefault(sub_key, set())
                            sub_kind = value_kind(sub_value)
                            if sub_kind is not None:
                                sub_kinds.add(sub_kind)
                        continue
                    kind = value_kind(value)
                kinds = keys.setdefault(key, set())
                if kind is not None:
                    kinds.add(kind)
            files.append((file, tuple((key, tuple(sorted(kinds))) for key, kinds in keys.items())))
        out.append((family, tuple(files)))
    return tuple(out)


def columns_from_schemas(schemas: Iterable[Schema]) -> list[Column]:
    """`collect_columns` of rows given by their schemas, in listing order (a repeated schema adds nothing)."""
    seen: dict[str, dict[str, dict[str, set[str]]]] = {family: {} for family in FAMILIES}
    for schema in schemas:
        for family, files in schema:
            by_file = seen[family]
            for file, keys in files:
                known = by_file.get(file)
                if known is None:
                    known = by_file[file] = {}
                for key, kinds in keys:
                    have = known.get(key)
                    if have is None:
                        have = known[key] = set()
                    have.update(kinds)
    return _columns_of(seen)


def _columns_of(seen: dict[str, dict[str, dict[str, set[str]]]]) -> list[Column]:
    key_count: dict[str, int] = {}
    for files in seen.values():
        for keys in files.values():
            for key in keys:
                key_count[key] = key_count.get(key, 0) + 1
    fixed = set(FIELD_GETTERS)
    columns: list[Column] = []
    for family, files in seen.items():
        for file, keys in files.items():
            for key, kinds in keys.items():
                label = key if key_count[key] == 1 and key not in fixed else f"{file}:{key}"
                columns.append(Column(family, file, key, label, _combine_kinds(kinds)))  # type: ignore[arg-type]
    # the same file:key in both families (rare): fall back to full ids for those
    by_label: dict[str, int] = {}
    for column in columns:
        by_label[column.label] = by_label.get(column.label, 0) + 1
    if any(n > 1 for n in by_label.values()):
        columns = [
            Column(c.family, c.file, c.key, c.id, c.kind) if by_label[c.label] > 1 else c for c in columns
        ]
    return columns


# --------------------------------------------------------------------------- header groups

@dataclass(frozen=True)
class ColumnGroup:
    """A run of adjacent columns sharing family and file: one spanning header cell."""

    family: Family
    file: str
    start: int               # index of the first column in the list given to column_groups
    columns: tuple[Column, ...]

    @property
    def title(self) -> str:
        return self.file if self.family != "field" else ""


def column_groups(columns: Sequence[Column]) -> list[ColumnGroup]:
    """Split columns into header groups (family, file), keeping their order."""
    groups: list[ColumnGroup] = []
    start = 0
    for i in range(1, len(columns) + 1):
        if i == len(columns) or (columns[i].family, columns[i].file) != (columns[start].family, columns[start].file):
            if i > start:
                first = columns[start]
                groups.append(ColumnGroup(first.family, first.file, start, tuple(columns[start:i])))
            start = i
    return groups


# --------------------------------------------------------------------------- resolving references

class ColumnLookupError(ExptuiError):
    """A column reference (in a filter, sort spec or --keep) names no column or several."""

    def __init__(self, message: str, ref: str, candidates: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref
        self.candidates = tuple(candidates)


class ColumnIndex:
    """Resolves what a user types to one column.

    Tried in order: field names (and aliases), exact id, label, ``file:key``,
    ``family:key``, bare key, unique dotted suffix (``lr`` for ``train.lr``). Built once
    per column set, so resolving per keystroke is a few dict lookups.
    """

    def __init__(self, columns: Iterable[Column]) -> None:
        self.columns: list[Column] = [c for c in columns if not c.is_field]
        self._exact: dict[str, Column] = {}
        self._multi: dict[str, list[Column]] = {}
        for column in FIELD_COLUMNS:
            self._exact[column.key] = column
        for column in self.columns:
            self._exact.setdefault(column.id, column)
        for column in self.columns:
            self._exact.setdefault(column.label, column)
        for alias, target in FIELD_ALIASES.items():  # aliases lose to real labels (`time`)
            self._exact.setdefault(alias, field_column(target))
        for column in self.columns:
            for name in (column.file_key, f"{column.family}:{column.key}", column.key):
                self._add_multi(name, column)
            parts = column.key.split(".")
            for i in range(1, len(parts)):
                self._add_multi(".".join(parts[i:]), column)

    def _add_multi(self, name: str, column: Column) -> None:
        bucket = self._multi.setdefault(name, [])
        if column not in bucket:
            bucket.append(column)

    def names(self) -> list[str]:
        """Every name a user might mean, for suggestions and completion."""
        return list(self._exact) + [name for name in self._multi if name not in self._exact]

    def resolve(self, ref: str) -> Column:
        """The column ``ref`` names, or ColumnLookupError (ambiguous or unknown)."""
        column = self._exact.get(ref)
        if column is not None:
            return column
        bucket = self._multi.get(ref)
        if bucket:
            if len(bucket) == 1:
                return bucket[0]
            options = [c.file_key if c.file_key not in self._multi or len(self._multi[c.file_key]) == 1 else c.id
                       for c in bucket]
            raise ColumnLookupError(
                f"ambiguous column '{ref}': did you mean {_join_or(options)}?", ref, options
            )
        in_file = [c for c in self.columns if c.file == ref]
        if in_file:
            example = in_file[0].file_key
            raise ColumnLookupError(f"'{ref}' is a file, not a column: name one of its keys, e.g. '{example}'",
                                    ref, [c.file_key for c in in_file[:3]])
        matches = difflib.get_close_matches(ref, self.names(), n=3, cutoff=0.5)
        hint = f" (did you mean {_join_or(matches)}?)" if matches else ""
        raise ColumnLookupError(f"unknown column '{ref}'{hint}", ref, matches)

    def try_resolve(self, ref: str) -> Column | None:
        try:
            return self.resolve(ref)
        except ColumnLookupError:
            return None


def _join_or(names: Sequence[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def as_index(columns: Iterable[Column] | ColumnIndex) -> ColumnIndex:
    return columns if isinstance(columns, ColumnIndex) else ColumnIndex(columns)


def is_number(value: Any) -> bool:
    """int or float but not bool (True is an int in Python, never a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same_value(a: Any, b: Any) -> bool:
    """Equal for only-changed and compare: 1 == 1.0, but True != 1 and "1" != 1."""
    if a is b:
        return True
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                        and not isinstance(a, bool) and not isinstance(b, bool)):
        return False
    try:
        return bool(a == b)
    except Exception:  # exotic values: fall back to their text
        return str(a) == str(b)
