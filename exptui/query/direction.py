"""Which way is better for a metric, and how a value moved against a baseline.

By name: a metric whose key contains one of the words loss, error, err, mse, rmse, mae,
logloss, log_loss, perplexity, time, latency (as a whole word of the key: ``val_loss``,
``test.rmse``, ``train_time``, ``errorRate``) is lower-is-better; every other metric is
higher-is-better. Params have no direction. Overrides (from config) win, keyed by column id,
``file:key``, label or bare key.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from exptui.query.columns import Column, is_number

Direction = Literal["lower", "higher"]

LOWER_IS_BETTER_WORDS: frozenset[str] = frozenset({
    "loss", "losses", "error", "errors", "err", "mse", "rmse", "mae", "logloss", "perplexity", "ppl",
    "time", "latency", "duration", "runtime",
})
#: metrics known to be higher-is-better (a whole word of the key: ``val_f1``, ``test.roc_auc``, ``r2``)
HIGHER_IS_BETTER_WORDS: frozenset[str] = frozenset({
    "f1", "accuracy", "acc", "roc_auc", "auc", "precision", "recall", "r2",
})
_WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_DIRECTION_WORDS: dict[str, Direction] = {
    "lower": "lower", "min": "lower", "minimize": "lower", "down": "lower",
    "higher": "higher", "max": "higher", "maximize": "higher", "up": "higher",
}


def words_of(key: str) -> list[str]:
    """``val_logLoss.epoch2`` -> ``['val', 'log', 'loss', 'epoch', '2']`` (lower-cased)."""
    return [w.lower() for w in _WORD_RE.findall(key)]


def name_direction(key: str) -> Direction:
    words = words_of(key)
    if any(w in LOWER_IS_BETTER_WORDS for w in words):
        return "lower"
    joined = "".join(words)
    if "logloss" in joined:
        return "lower"
    return "higher"


@dataclass(frozen=True)
class Directions:
    """Direction rules: name heuristics plus explicit overrides (``{"f1": "higher"}``)."""

    overrides: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        for name, value in (self.overrides or {}).items():
            if value.lower() not in _DIRECTION_WORDS:
                from exptui.errors import ExptuiError

                raise ExptuiError(
                    f"direction for '{name}' must be one of lower/higher/min/max, not '{value}'"
                )

    def of(self, column: Column) -> Direction | None:
        """'lower', 'higher' or None (params, text fields: no better or worse)."""
        if self.overrides:
            for name in (column.id, column.file_key, column.label, column.key):
                if name in self.overrides:
                    return _DIRECTION_WORDS[self.overrides[name].lower()]
        if column.family == "metrics":
            return name_direction(column.key)
        if column.is_field and column.key == "duration":
            return "lower"
        return None


DEFAULT_DIRECTIONS = Directions()


def known_direction(column: Column, directions: Directions = DEFAULT_DIRECTIONS) -> Direction | None:
    """The direction of a metric only when it is known (an override, or a name in the lists above), unlike
    `Directions.of`, which calls every other metric higher-is-better. Highlighting a "best" value and naming a
    sweep's best trial use this: a guess there would mislead."""
    if column.family != "metrics":
        return None
    if directions.overrides:
        for name in (column.id, column.file_key, column.label, column.key):
            if name in directions.overrides:
                return _DIRECTION_WORDS[directions.overrides[name].lower()]
    if name_direction(column.key) == "lower":
        return "lower"
    tokens = set(re.split(r"[^a-z0-9]+", column.key.lower()))
    if tokens & HIGHER_IS_BETTER_WORDS or "roc_auc" in column.key.lower():
        return "higher"
    return None


def direction(column: Column, directions: Directions = DEFAULT_DIRECTIONS) -> Direction | None:
    return directions.of(column)


@dataclass(frozen=True)
class Delta:
    """``value - baseline``: ``abs`` change, ``rel`` change (fraction of |baseline|, None when
    the baseline is 0), and ``better`` (None when unchanged, non-numeric or no direction)."""

    abs: float | None
    rel: float | None
    better: bool | None

    @property
    def changed(self) -> bool:
        return self.abs is not None and self.abs != 0


NO_DELTA = Delta(None, None, None)


def delta(value: Any, baseline_value: Any, column: Column,
          directions: Directions = DEFAULT_DIRECTIONS) -> Delta:
    """How ``value`` moved from ``baseline_value``; NO_DELTA unless both are finite numbers."""
    if not (is_number(value) and is_number(baseline_value)):
        return NO_DELTA
    if not (math.isfinite(value) and math.isfinite(baseline_value)):
        return NO_DELTA
    change = value - baseline_value
    rel = change / abs(baseline_value) if baseline_value != 0 else None
    way = directions.of(column)
    if change == 0 or way is None:
        better = None
    else:
        better = (change < 0) if way == "lower" else (change > 0)
    return Delta(change, rel, better)


def format_delta(d: Delta, precision: int = 3) -> str:
    """``+0.012 (+1.3%)``; empty when there is no numeric change."""
    if d.abs is None:
        return ""
    text = f"{d.abs:+.{precision}g}"
    if d.rel is not None:
        text += f" ({d.rel * 100:+.1f}%)"
    return text


def arrow(d: Delta) -> str:
    """``▲``/``▼`` for up/down (colour it by ``d.better``); empty when unchanged."""
    if not d.changed:
        return ""
    return "▲" if d.abs > 0 else "▼"  # type: ignore[operator]
