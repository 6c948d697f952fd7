"""Live preview of a sweep's trials: one row per experiment that would be queued, one column per varied param."""
from __future__ import annotations

from typing import Any
from collections.abc import Mapping, Sequence

from textual.widgets import DataTable

from dvc_compat.params import format_value
from exptui.tui.text import plain

MAX_PREVIEW_ROWS = 200   # the table is a preview; the count above it is always exact

#: one trial as dvc_compat.sweep expands it: {(params file, or None for the default one, dotted key): value}
Trial = Mapping[tuple[str | None, str], Any]


def _label(key: tuple[str | None, str]) -> str:
    file, name = key
    return f"{file}:{name}" if file else str(name)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return format_value(value)


class SweepPreview(DataTable):
    """Shows trials (mappings of param -> value); only the params that vary get a column.

    Not focusable: it is a picture of the form, and a Tab stop on it would swallow keys meant for the fields.
    """

    can_focus = False

    DEFAULT_CSS = """
    SweepPreview { height: 1fr; min-height: 4; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, show_cursor=False, **kwargs)
        self.trials: Sequence[Trial] = []

    def show_trials(self, trials: Sequence[Trial]) -> None:
        self.trials = trials
        self.clear(columns=True)
        if not trials:
            return
        keys: list[tuple[str | None, str]] = []
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
