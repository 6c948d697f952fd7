"""`aligned_lines`: the plain-ASCII fast path lines up exactly as the per-cell measuring path does."""
from __future__ import annotations

from exptui.query.cells import aligned_lines, column_widths, fit


def _measured(rows: list[tuple[str, ...]], columns: int) -> list[str]:
    widths = column_widths(rows, columns)
    return ["  ".join(fit(c, w) for c, w in zip(r[:columns], widths)) + ("  " + r[columns] if r[columns] else "")
            for r in rows]


def test_ascii_and_wide_tables_line_up_the_same_way() -> None:
    ascii_rows = [("NAME", "STATUS", "PARAMS", "INFO"), ("lr0", "queued", "train.lr=0", ""),
                  ("a-much-longer-name", "success", "", "exp-1"), ("x", "", "{}", "")]
    wide_rows = [*ascii_rows, ("学習率", "queued", "é", "")]
    for rows in (ascii_rows, wide_rows):
        assert aligned_lines(rows, 3) == _measured(rows, 3)
    assert aligned_lines(wide_rows, 3)[-1].startswith("学習率              queued")  # 6 cells + padding
    assert aligned_lines([], 3) == []


def test_ascii_rows_of_one_more_cell_or_of_other_lengths_line_up_as_measured() -> None:
    """The `%` path (every row one cell longer than the padded columns, as in `queue status`) and the format path
    (rows of other lengths) give the measured lines: `%` in a cell, empty and long last cells, an empty column."""
    import random

    rng = random.Random(7)
    cells = ["", "a", "%s", "%(x)s", "{}", "train.lr=0.1", "x" * 17, " lead", "trail ", "100%"]
    for _ in range(300):
        n = rng.randint(1, 12)
        rows = [tuple(rng.choice(cells) for _ in range(4)) for _ in range(n)]
        assert aligned_lines(rows, 3) == _measured(rows, 3)
        rows = [(*r, "") for r in rows] if rng.random() < 0.5 else rows  # 5 cells: the format path
        widths = column_widths(rows, 3)
        assert aligned_lines(rows, 3) == [
            "  ".join(fit(c, w) for c, w in zip(r[:3], widths)) + ("  " + "  ".join(r[3:]) if any(r[3:]) else "")
            for r in rows]
