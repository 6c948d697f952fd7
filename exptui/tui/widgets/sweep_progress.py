"""One line under the header while sweeps run: ``sweep md-lr: 4/6 done, 1 running, ETA 0:40``.

Hidden when no sweep is unfinished, so the table keeps its room. The labels come from data (params names) and are
made inert; the text is built as a rich Text, never parsed as markup.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from exptui.query.inert import inert

if TYPE_CHECKING:   # exptui.query.sweeps is imported once the whole listing is in (MainScreen._update_sweeps)
    from exptui.query.sweeps import SweepProgress


class SweepProgressLine(Static):
    """Progress of the unfinished sweeps, newest last; the first ones are dropped with "+N more" when many run."""

    MAX_SHOWN = 3

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]  # Static's keyword arguments
        self.display = False
        self.shown: list[SweepProgress] = []

    def show(self, progress: Sequence[SweepProgress]) -> None:
        active = [p for p in progress if not p.finished]
        self.shown = active
        self.display = bool(active)
        if not active:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        hidden = len(active) - self.MAX_SHOWN
        if hidden > 0:
            text.append(f"+{hidden} more  ", style="dim")
        for i, sweep in enumerate(active[-self.MAX_SHOWN:]):
            if i:
                text.append("  ·  ", style="dim")
            text.append("◔ ", style="bold")
            text.append(inert(sweep.text()))
        self.update(text)
