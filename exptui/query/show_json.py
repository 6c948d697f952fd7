"""The ``exptui show --json`` objects (docs/show-json.md): the one writer of that schema.

`record` builds one row's object for every path: the plain listing (`rows_to_json`, straight from the index's
already-flat dicts, serialised with json's C encoder — no ``indent``, whose pure-Python encoder costs ~1 s at
10,000 rows) and the table model's filtered/sorted views (`TableModel.to_json_records`, which hands over the
visible columns through `section`). Only light imports: ``show --json`` never loads pandas or Textual.
"""
from __future__ import annotations

import json
from dataclasses import fields
from typing import Any
from collections.abc import Iterable, Iterator, Mapping

from exptui.query.format import json_safe
from exptui.records import Annotations, ExperimentRow, RunFacts

_FACT_FIELDS = tuple(f.name for f in fields(RunFacts))
_JSON_PLAIN = frozenset({str, int, bool, type(None)})


class _Everything:
    """Stands for "every key" in `section`."""

    def __contains__(self, key: object) -> bool:
        return True


_ALL_KEYS: Any = _Everything()


def _all_plain(data: dict[str, Any]) -> bool:
    for value in data.values():
        cls = value.__class__
        if cls not in _JSON_PLAIN and not (cls is float and value - value == 0):
            return False
    return True


def section(source: dict[str, Any], family: str, visible: dict[tuple[str, str], set[str]] | None,
            errors: dict[str, str]) -> dict[str, dict[str, Any]]:
    """One row's params or metrics as ``{file: {dotted.key: value}}``: restricted to the visible columns unless
    `visible` is None, flattened like DVC, JSON-safe, files named in `errors` left out. A tight loop (every row of
    ``show --json``): an unfiltered file of plain values is passed through without a copy."""
    out: dict[str, dict[str, Any]] = {}
    for file, data in source.items():
        keys = _ALL_KEYS if visible is None else visible.get((family, file))
        if keys is None or not data or file in errors or not isinstance(data, dict):
            continue
        if (visible is None or keys.issuperset(data)) and _all_plain(data):  # every key shown (a sorted table)
            out[file] = data
            continue
        values: dict[str, Any] = {}
        for key, value in data.items():
            cls = value.__class__
            if cls in _JSON_PLAIN:
                if key in keys:
                    values[key] = value
            elif cls is float:
                if key in keys:
                    values[key] = value if value - value == 0 else None  # NaN/inf are not JSON
            elif isinstance(value, dict):
                from dvc_compat.params import flatten  # lazily: nested values are rare

                for sub_key, sub_value in flatten(value, key + ".").items():
                    if sub_key in keys:
                        values[sub_key] = json_safe(sub_value)
            elif key in keys:
                values[key] = json_safe(value)
        if values:
            out[file] = values
    return out


def _facts(facts: RunFacts) -> dict[str, Any]:
    """The facts as JSON values; plain ones (most) go through as they are, without a `json_safe` call each."""
    out: dict[str, Any] = {}
    for name in _FACT_FIELDS:
        value = getattr(facts, name)
        out[name] = value if value.__class__ in _JSON_PLAIN else json_safe(value)
    return out


def record(row: ExperimentRow, params: dict[str, dict[str, Any]] | None = None,
           metrics: dict[str, dict[str, Any]] | None = None,
           live: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One ``exptui show --json`` object. Without `params`/`metrics`, all of the row's own values (`section`).

    `live`: ``{row key: {"step": ..., "latest": {...}}}`` of running experiments (`Project.live_metrics`); a
    running row found there gets a ``live`` field, every other row stays as it was (no key at all)."""
    if params is None:
        params = section(row.params, "params", None, row.errors)
    if metrics is None:
        metrics = section(row.metrics, "metrics", None, row.errors)
    created = row.created or (row.facts.created if row.facts else None)
    facts = None if row.facts is None else _facts(row.facts)
    ann = row.annotations
    out = {
        "name": row.name,
        "rev": row.rev,
        "baseline": row.baseline,
        "baseline_name": row.baseline_name,
        "kind": row.kind,
        "status": row.status,
        "created": created.isoformat() if created else None,
        "params": params,
        "metrics": metrics,
        "errors": dict(row.errors),
        "starred": ann.starred,
        "labels": list(ann.labels),
        "note": ann.note,
        "facts": facts,
    }
    if live is not None and row.status == "running" and row.key in live:
        out["live"] = live[row.key]
    return out


def live_json(step: int | None, latest: Mapping[str, float]) -> dict[str, Any]:
    """The ``live`` field of a running row: DVCLive's current step and latest values (non-finite as null)."""
    return {"step": step, "latest": {k: json_safe(v) for k, v in latest.items()}}


def rows_to_json(rows: Iterable[ExperimentRow], indent: int | None = None,
                 live: Mapping[str, dict[str, Any]] | None = None) -> str:
    records = [record(r, live=live) for r in rows]
    if indent is None:
        return json.dumps(records, ensure_ascii=False)
    return dumps_indented(records, indent)  # `show --json` in a terminal: the same text, mostly in C


def record_json(row: ExperimentRow, live: Mapping[str, dict[str, Any]] | None = None) -> str:
    """One record as the list encoder writes it (``ensure_ascii=False``, default separators)."""
    return _ENCODE(record(row, live=live))


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
_encode_str = json.encoder.encode_basestring


_NO_ANNOTATIONS = Annotations()
_EMPTY_ANNOTATIONS = _ENCODE({"starred": False, "labels": [], "note": _NO_ANNOTATIONS.note})[1:-1] + ", "


class experiment_json:  # noqa: N801 - a namespace of functions, used like a module
    """An experiment's record from pieces encoded once: `fragments` (the part that depends on the commit only:
    status, created, params, metrics, errors / facts) is stored in the index per commit, `base_part` is shared by
    all experiments of one baseline, so a warm ``show --json`` encodes only the name and annotations per row.
    `assemble` gives exactly ``record_json(row)`` (tests/test_store_index_segments.py checks that)."""

    @staticmethod
    def fragments(row: ExperimentRow) -> tuple[str, str]:
        rec = record(row)
        middle = {k: rec[k] for k in ("status", "created", "params", "metrics", "errors")}
        return _ENCODE(middle)[1:-1] + ", ", _ENCODE({"facts": rec["facts"]})[1:-1]

    @staticmethod
    def base_part(baseline: str, baseline_name: str) -> str:
        return _ENCODE({"baseline": baseline, "baseline_name": baseline_name, "kind": "experiment"})[1:-1] + ", "

    @staticmethod
    def assemble(name: str, rev: str, base: str, frags: tuple[str, str], ann: Any) -> str:
        if ann is None or ann is _NO_ANNOTATIONS or ann == _NO_ANNOTATIONS:
            notes = _EMPTY_ANNOTATIONS
        else:
            notes = _ENCODE({"starred": ann.starred, "labels": list(ann.labels), "note": ann.note})[1:-1] + ", "
        # the C string encoder that JSONEncoder(ensure_ascii=False) itself calls for a str, without its dispatch
        return "".join(('{"name": ', _encode_str(name), ', "rev": ', _encode_str(rev), ", ", base, frags[0], notes,
                        frags[1], "}"))


def json_array_chunks(lines: Iterable[str], chunk: int = 2000) -> Iterator[str]:
    """``[line, line, ...]`` exactly as `json.dumps` of the list writes it, in pieces of `chunk` records: the
    document is written as the rows come, never held whole."""
    yield "["
    batch: list[str] = []
    first = True
    for line in lines:
        batch.append(line)
        if len(batch) >= chunk:
            yield ("" if first else ", ") + ", ".join(batch)
            first, batch = False, []
    if batch:
        yield ("" if first else ", ") + ", ".join(batch)
    yield "]"


def indented_array_chunks(records: Iterable[Any], indent: int = 2) -> Iterator[str]:
    """``json.dumps(list(records), indent=indent, ensure_ascii=False)`` one record at a time: each record is encoded
    one level in (`dumps_indented`). The filtered or sorted ``show --json`` streams this."""
    pad = " " * indent
    first = True
    for rec in records:
        yield ("[\n" if first else ",\n") + pad + dumps_indented(rec, indent, level=1)
        first = False
    yield "[]" if first else "\n]"


_SCALAR = frozenset({str, int, float, bool, type(None)})


class _Unusual(Exception):
    """A value `dumps_indented` leaves to json's own encoder (a subclass, a key that is not a string...)."""


def dumps_indented(value: Any, indent: int = 2, level: int = 0) -> str:
    """``json.dumps(value, indent=indent, ensure_ascii=False)``, the same text, shifted `level` indents in (JSON
    text holds no raw line break inside a string, so shifting is adding indentation after each ``\\n``).

    With ``indent``, json encodes in pure Python (a generator per container, a call per value): ~80 % of
    ``show --json --sort-by f1`` at 100,000 rows. Here each container whose values are all scalars (or empty
    containers) — a params file's values, a metrics file's — is one call of json's C encoder, whose item separator
    carries the line break and indentation of its depth; only the containers around them are walked here. Anything
    not of the plain JSON types exactly (a subclass, a key that is not a string in a dict of containers, a depth
    past 64) makes the whole value go through ``json.dumps`` itself, so the text is always json's
    (tests/test_show_json_stream.py compares them on random nested values)."""
    parts: list[str] = []
    try:
        _put(value, indent, level, parts)
    except _Unusual:
        text = json.dumps(value, indent=indent, ensure_ascii=False)
        return text.replace("\n", "\n" + " " * (indent * level)) if level else text
    return "".join(parts)


_ENCODERS: dict[tuple[int, int], Any] = {}
_encode_str = json.encoder.encode_basestring  # json's own (C when there is one), as with ensure_ascii=False


def _flat_encoder(indent: int, depth: int) -> Any:
    """json's C encoder with the line break and indentation of `depth` as its item separator: a function of one
    flat container to its text (json.JSONEncoder.encode would build that encoder again on every call)."""
    enc = _ENCODERS.get((indent, depth))
    if enc is None:
        sep = ",\n" + " " * (indent * depth)
        make = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed: the C part of json.encoder
        if make is None:  # a Python without json's C part
            enc = json.JSONEncoder(ensure_ascii=False, separators=(sep, ": ")).encode
        else:
            default = json.JSONEncoder().default
            c_encoder = make(None, default, _encode_str, None, ": ", sep, False, False, True)

            def enc(value: Any, c_encoder: Any = c_encoder) -> str:
                return "".join(c_encoder(value, 0))
        _ENCODERS[(indent, depth)] = enc
    return enc


def _scalar(value: Any, cls: type) -> str:
    """One scalar as json writes it (`json.encoder`'s rules: floatstr, int.__repr__, the three literals)."""
    if cls is str:
        return _encode_str(value)
    if cls is float:
        if value != value:
            return "NaN"
        if value in (_INF, -_INF):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    if cls is int:
        return int.__repr__(value)
    return "null" if value is None else "true" if value else "false"


_INF = float("inf")


def _flat(values: Iterable[Any]) -> bool:
    for v in values:
        cls = v.__class__
        if cls not in _SCALAR and not ((cls is dict or cls is list or cls is tuple) and not v):
            return False
    return True


def _put(value: Any, indent: int, level: int, parts: list[str]) -> None:
    cls = value.__class__
    if cls in _SCALAR:
        parts.append(_scalar(value, cls))
        return
    is_dict = cls is dict
    if not (is_dict or cls is list or cls is tuple):
        raise _Unusual
    if not value:
        parts.append("{}" if is_dict else "[]")
        return
    if level > 64:
        raise _Unusual  # json reports a circular reference (or goes on): its own encoder decides
    inner = "\n" + " " * (indent * (level + 1))
    close = "\n" + " " * (indent * level) + ("}" if is_dict else "]")
    if _flat(value.values() if is_dict else value):
        text = _flat_encoder(indent, level + 1)(value)
        parts.append(text[0] + inner + text[1:-1] + close)
        return
    sep = ("{" if is_dict else "[") + inner
    append = parts.append
    if is_dict:
        for key, item in value.items():
            if key.__class__ is not str:
                raise _Unusual
            item_cls = item.__class__
            if item_cls in _SCALAR:  # most of a record's own fields: no call down
                append(sep + _encode_str(key) + ": " + _scalar(item, item_cls))
            else:
                append(sep + _encode_str(key) + ": ")
                _put(item, indent, level + 1, parts)
            sep = "," + inner
    else:
        for item in value:
            item_cls = item.__class__
            if item_cls in _SCALAR:
                append(sep + _scalar(item, item_cls))
            else:
                append(sep)
                _put(item, indent, level + 1, parts)
            sep = "," + inner
    append(close)
