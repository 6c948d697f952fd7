"""The sweep dialog's unqueued form, kept by the dashboard so closing the dialog by mistake loses nothing.

A plain record with no Textual import: the dashboard holds one `DraftSlot` for its lifetime (startup does not
load the sweep dialog's module), the dialog reads it when it opens and writes it when it closes unqueued.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SweepDraft:
    """What the user typed: the row it was for (its table key) and every input's text by input id."""

    row_key: str
    texts: dict[str, str] = field(default_factory=dict)


@dataclass
class DraftSlot:
    """The dashboard's one remembered draft: set when a filled form is closed unqueued, cleared once queued."""

    draft: SweepDraft | None = None

    def take_for(self, row_key: str) -> SweepDraft | None:
        """The draft if it was typed for this row (a form for another row's params would not fit it)."""
        return self.draft if self.draft is not None and self.draft.row_key == row_key else None
