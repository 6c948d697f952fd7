"""Live preview of a sweep's trials: one row per experiment that would be queued, one column per varied param."""
from __future__ import annotations

from typing import Any
from collections.abc import Mapping

from textual.widgets import DataTable

from dvc_compat.params import format_value
from exptui.tui.text import plain

MAX_PREVIEW_ROWS = 200   # the table is a preview; the count above it is always exact


def _label(key: Any) -> str:
    if isinstance(key, tuple) and len(key) == 2:
        file, name = key
        return f"{file}:{name}" if file else str(name)
    return str(key)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return format_value(value)


class SweepPreview(DataTable):
    """Shows trials (mappings of param -> value); only the params that vary get a column."""

    DEFAULT_CSS = """
    SweepPreview { height: 1fr; min-height: 4; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, show_cursor=False, **kwargs)
        self.trials: list[Mapping[Any, Any]] = []

    def show_trials(self, trials: list[Mapping[Any, Any]]) -> None:
        self.trials = trials
        self.clear(columns=True)
        if not trials:
            return
        keys: list[Any] = []
        for trial in trials:
            for key in trial:
                if key not in keys:
                    keys.append(key)
        varied = [k for k in keys if len({repr(t.get(k)) for t in trials}) > 1] or keys
        self.add_column("#", key="#")
        for key in varied:      # keys and values are data: Text cells (a str cell is parsed as markup), inert
            self.add_column(plain(_label(key)), key=_label(key))
        for number, trial in enumerate(trials[:MAX_PREVIEW_ROWS], start=1):
            self.add_row(str(number), *(plain(_text(trial.get(k))) for k in varied))
        if len(trials) > MAX_PREVIEW_ROWS:
            self.add_row("…", *(f"+{len(trials) - MAX_PREVIEW_ROWS} more" if i == 0 else "" for i in range(len(varied))))
