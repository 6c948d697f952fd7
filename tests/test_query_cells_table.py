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
