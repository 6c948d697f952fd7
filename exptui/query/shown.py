"""ShownRows: the rows a view shows, held as positions into the table's row list.

Why: at 100,000 experiments a filter keystroke that matches half of them used to gather 50,000 row objects into a
new list, copy it twice more (the view, the dashboard, the table) and walk it to count the experiments shown. The
frame engine already knows the answer as a numpy array of positions (the mask, the lexsort); this keeps it that way
all the way to the table. A row object is fetched only when something asks for it (the ~40 lines on screen, the
cursor row, the width sample), and `tolist()` gathers them in C when a caller really wants all of them.

numpy is never imported here: positions are a ``range``, a list, or whatever array the frame engine passes (used
through indexing and ``len`` only, plus the array's own methods where it has them), so the row engine and the
CLI stay free of it.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from exptui.records import ExperimentRow

_CHUNK = 64


class ShownRows(Sequence[ExperimentRow]):
    """``base[at[0]], base[at[1]], ...`` as a read-only sequence (``at`` None: every row of ``base``).

    ``base`` is a list of rows or a numpy object array of them (`exptui.query.frame.TableFrame.row_array`);
    ``at`` is None, a ``range``, a list of ints or a numpy integer array. Compares equal to any sequence of the
    same rows (tests compare it with lists)."""

    __slots__ = ("base", "at", "spread", "_list")

    def __init__(self, base: Any, at: Any = None, spread: Any = None) -> None:
        self.base = base
        self.at = at
        self.spread = spread      # optional: per base position, a hash of the row's key (`TableFrame.spread`)
        self._list: list[ExperimentRow] | None = None

    def __len__(self) -> int:
        return len(self.base) if self.at is None else len(self.at)

    @overload
    def __getitem__(self, index: int) -> ExperimentRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[ExperimentRow]: ...
    def __getitem__(self, index: int | slice) -> ExperimentRow | list[ExperimentRow]:
        if isinstance(index, slice):
            if self._list is not None:
                return self._list[index]
            return ShownRows(self.base, self.positions()[index]).tolist()
        if self.at is None:
            return self.base[index]
        return self.base[self.at[index]]

    def __iter__(self) -> Iterator[ExperimentRow]:
        """In order; over numpy positions gathered a chunk at a time, so a scan that stops at the first hit (a
        column present in the first rows shown) never gathers all of them."""
        if self._list is not None or not (hasattr(self.at, "dtype") and hasattr(self.base, "take")):
            yield from self.tolist()
            return
        at, take = self.at, self.base.take
        start, step, n = 0, _CHUNK, len(at)
        while start < n:
            yield from take(at[start:start + step]).tolist()
            start += step
            step = min(step * 4, 1 << 16)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ShownRows, list, tuple)):
            return self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ShownRows({len(self)} rows)"

    def positions(self) -> Any:
        """The positions into ``base`` (a range when every row is shown)."""
        return range(len(self.base)) if self.at is None else self.at

    def position(self, index: int) -> int:
        """The position in ``base`` of the ``index``-th shown row."""
        return index if self.at is None else int(self.at[index])

    def index_of_position(self, position: int) -> int | None:
        """Where the row at ``base[position]`` is shown, or None (a C-level search over a numpy ``at``)."""
        at = self.at
        if at is None:
            return position if 0 <= position < len(self.base) else None
        if hasattr(at, "nonzero"):                # a numpy array: one vectorised comparison
            hits = (at == position).nonzero()[0]
            return int(hits[0]) if len(hits) else None
        try:
            return list(at).index(position) if not isinstance(at, range) else at.index(position)
        except ValueError:
            return None

    def same_base(self, other: object) -> bool:
        return isinstance(other, ShownRows) and other.base is self.base

    def tolist(self) -> list[ExperimentRow]:
        """Every shown row as a list (gathered once, in C for a numpy base and ``at``)."""
        if self._list is None:
            base, at = self.base, self.at
            if at is None:
                self._list = base.tolist() if hasattr(base, "tolist") else list(base)
            elif hasattr(base, "take") and hasattr(at, "dtype"):
                self._list = base.take(at).tolist()
            elif isinstance(at, range) and hasattr(base, "tolist"):
                self._list = base[at.start:at.stop:at.step].tolist()
            else:
                self._list = [base[i] for i in at]
        return self._list


def as_list(rows: Sequence[ExperimentRow]) -> list[ExperimentRow]:
    """A list of ``rows`` (no copy made of a `ShownRows`' own list: callers must not change it)."""
    if isinstance(rows, ShownRows):
        return rows.tolist()
    return list(rows)
