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
        if visible is None and _all_plain(data):
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
    return json.dumps([record(r, live=live) for r in rows], indent=indent, ensure_ascii=False)


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
    at the top level and its lines shifted one level in (JSON text holds no raw line breaks inside strings, so
    every ``\\n`` of an encoded record is a line break of the layout). The filtered ``show --json`` streams this."""
    pad = " " * indent
    first = True
    for rec in records:
        text = json.dumps(rec, indent=indent, ensure_ascii=False).replace("\n", "\n" + pad)
        yield ("[\n" if first else ",\n") + pad + text
        first = False
    yield "[]" if first else "\n]"
