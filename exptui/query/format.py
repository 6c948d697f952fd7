"""Cell text: what a value looks like in the terminal table, markdown and the TUI.

Numbers follow ``dvc exp show``: floats rounded to ``precision`` significant digits
(``.5g`` by default, params too), ints as ints, right-aligned. ``-`` is a missing value,
``!`` a value whose file could not be read.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from exptui.query.columns import ERROR, MISSING, Column
from exptui.query.durations import format_duration

DEFAULT_PRECISION = 5
MISSING_TEXT = MISSING.text
ERROR_TEXT = ERROR.text


def format_number(value: int | float, precision: int | None = DEFAULT_PRECISION) -> str:
    """``precision`` significant digits for floats (None: full ``repr``); ints unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if precision is None:
        return repr(value)
    return f"{value:.{precision}g}"


def format_value(value: Any, precision: int | None = DEFAULT_PRECISION) -> str:
    """Text of any cell value: numbers, bools, null, text, lists, MISSING, ERROR."""
    if value is MISSING:
        return MISSING_TEXT
    if value is ERROR:
        return ERROR_TEXT
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value, precision)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(item, precision) for item in value) + "]"
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def is_right_aligned(value: Any) -> bool:
    """Numbers line up on the right, like every spreadsheet."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_created(moment: datetime | None, now: datetime | None = None) -> str:
    """``HH:MM`` if today, ``Mon DD`` if this year, else ``YYYY-MM-DD`` (local time)."""
    if moment is None or moment is MISSING:
        return MISSING_TEXT
    if moment.tzinfo is not None:
        moment = moment.astimezone()  # to local time, naive from here on
        moment = moment.replace(tzinfo=None)
    now = now or datetime.now()
    if now.tzinfo is not None:
        now = now.astimezone().replace(tzinfo=None)
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    if moment.year == now.year:
        return moment.strftime("%b %d")
    return moment.strftime("%Y-%m-%d")


def format_cell(column: Column, value: Any, precision: int | None = DEFAULT_PRECISION,
                now: datetime | None = None) -> str:
    """The text of one cell, knowing its column (dates, durations, labels, stars)."""
    if value is MISSING or value is ERROR:
        return value.text
    if column.is_field:
        if column.key == "created":
            return format_created(value, now)
        if column.key == "duration":
            return format_duration(value, missing=MISSING_TEXT)
        if column.key == "label":
            return ", ".join(value)
        if column.key == "starred":
            return "★" if value else ""
        if column.key in ("rev", "baseline") and len(value) == 40:
            return value[:7]
    return format_value(value, precision)


def cell_formatter(column: Column, precision: int | None = DEFAULT_PRECISION,
                   now: datetime | None = None) -> Callable[[Any], str]:
    """``format_cell`` specialised for one column: the fast path for rendering 10k rows."""
    if column.is_field:
        if column.key == "status":
            return lambda value: status_text(value) if isinstance(value, str) else format_cell(column, value)
        return lambda value: format_cell(column, value, precision, now)
    spec = f".{precision}g" if precision is not None else None

    def fmt(value: Any) -> str:
        cls = value.__class__
        if cls is float and spec is not None:
            return format(value, spec)  # same text as format_number, nan/inf included
        if cls is str:
            return value
        if cls is int:
            return str(value)
        return format_value(value, precision)

    return fmt


def status_text(status: str) -> str:
    """``Success``, ``Failed``...: the State column as ``dvc exp show`` capitalises it."""
    return status.capitalize()


def json_safe(value: Any) -> Any:
    """Values JSON can carry: tuples become lists, datetimes ISO text, NaN/inf null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
