"""Fast `exptui show --json` for an unfiltered listing.

The objects are exactly `exptui.query.table.row_record`'s (docs/show-json.md; a test checks they agree), but
built straight from the index's already-flattened dicts and serialised with json's C encoder (no `indent`: the
pure-Python encoder that `indent` needs costs ~1 s at 10,000 rows). Non-JSON values (dates, NaN/inf, tuples...)
are converted only where they occur.
"""
from __future__ import annotations

import json
import math
from dataclasses import fields
from datetime import datetime
from typing import Any, Iterable

from exptui.records import ExperimentRow, RunFacts

_FACT_FIELDS = tuple(f.name for f in fields(RunFacts))
_PLAIN = (str, int, bool, type(None))


def _safe(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    return str(value)


def _values(d: dict[str, Any]) -> dict[str, Any]:
    for v in d.values():
        if not isinstance(v, _PLAIN) and not (isinstance(v, float) and math.isfinite(v)):
            return {k: _safe(v) for k, v in d.items()}
    return d


def _flat(d: dict[str, Any]) -> bool:
    return not any(isinstance(v, dict) for v in d.values())


def record(row: ExperimentRow) -> dict[str, Any]:
    params = row.params
    metrics = row.metrics
    if not all(_flat(v) for v in params.values()) or not all(_flat(v) for v in metrics.values()):
        from exptui.query.table import row_record  # rows not from the index: use the general path

        return row_record(row)
    created = row.created or (row.facts.created if row.facts else None)
    facts = None
    if row.facts is not None:
        facts = {name: _safe(getattr(row.facts, name)) for name in _FACT_FIELDS}
    ann = row.annotations
    return {
        "name": row.name,
        "rev": row.rev,
        "baseline": row.baseline,
        "baseline_name": row.baseline_name,
        "kind": row.kind,
        "status": row.status,
        "created": created.isoformat() if created else None,
        "params": {f: _values(d) for f, d in params.items() if d and isinstance(d, dict)},
        "metrics": {f: _values(d) for f, d in metrics.items() if d and isinstance(d, dict)},
        "errors": dict(row.errors),
        "starred": ann.starred,
        "labels": list(ann.labels),
        "note": ann.note,
        "facts": facts,
    }


def rows_to_json(rows: Iterable[ExperimentRow], indent: int | None = None) -> str:
    return json.dumps([record(r) for r in rows], indent=indent, ensure_ascii=False)
