"""Terminal cell width: measuring and fitting text into columns.

``len()`` counts code points, a terminal counts cells: ``学習率`` is 3 code points and 6 cells, an emoji is 2 cells,
a combining accent 0. Every place that lines text up in columns (the CLI tables of ``show``, ``diff``, ``compare``,
``queue status``; the dashboard's table, compare and queue views) measures with :func:`cell_width` and cuts with
:func:`truncate` / :func:`fit`, so a row's dividers stay in the same cell column whatever script its names use.

Widths come from Rich's tables (``rich.cells``, the same ones Textual renders with), so the dashboard's own layout
and these measurements always agree. Text is expected to be inert already (``exptui.query.inert``): a control
character has no width a terminal agrees on.
"""
from __future__ import annotations

ELLIPSIS = "…"


def cell_width(text: str) -> int:
    """Terminal cells ``text`` takes: wide (CJK, emoji) characters count 2, combining marks 0."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len   # only for non-ASCII text: `queue status` and `show` start without it

    return cell_len(text)


def truncate(text: str, width: int, ellipsis: str = ELLIPSIS) -> str:
    """``text`` cut to at most ``width`` cells, ending with ``…`` when something was cut.

    A wide character that would straddle the cut becomes a space, so the result is exactly ``width`` cells
    whenever it was cut.
    """
    if width <= 0:
        return ""
    if cell_width(text) <= width:
        return text
    if width == 1:
        return ellipsis
    if text.isascii():
        return text[: width - 1] + ellipsis
    from rich.cells import split_text

    head, _ = split_text(text, width - 1)
    return head + ellipsis


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` cut (with ``…``) or padded with spaces to exactly ``width`` cells; ``right`` aligns right."""
    used = cell_width(text)
    if used > width:
        text = truncate(text, width)
        used = cell_width(text)
    if used >= width:
        return text
    fill = " " * (width - used)
    return fill + text if right else text + fill


def column_widths(rows: list[list[str]] | list[tuple[str, ...]], columns: int | None = None) -> list[int]:
    """The widest cell of each column, in cells (``columns``: how many to measure; default all of the first row)."""
    count = len(rows[0]) if columns is None and rows else (columns or 0)
    widths = [0] * count
    for row in rows:
        for i in range(min(count, len(row))):
            w = cell_width(row[i])
            if w > widths[i]:
                widths[i] = w
    return widths


def aligned_lines(rows: list[tuple[str, ...]], columns: int) -> list[str]:
    """Each row's first ``columns`` cells padded to their column's widest cell and joined by two spaces, then the
    rest of the row (its last cell, unpadded, when non-empty). Cells must be inert already.

    Tables of plain ASCII (``queue status`` of a 10,000-entry sweep) take a path without per-cell measuring: one
    check over all the text, then ``len``/``str.ljust`` through one format string per table (~4x cheaper)."""
    if not rows:
        return []
    joined = "".join(map("".join, rows))
    if joined.isascii():
        widths = [max(map(len, column)) for column in list(zip(*rows))[:columns]]
        if set(map(len, rows)) == {columns + 1}:  # one more cell per row (`queue status`): one `%` per row
            padded = "  ".join(f"%-{w}s" for w in widths)
            with_last, without_last = padded + "  %s", padded + "%.0s"  # `%.0s` takes the empty cell, prints none
            return [(with_last if r[columns] else without_last) % r for r in rows]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        return [fmt.format(*r[:columns]) + ("  " + "  ".join(r[columns:]) if any(r[columns:]) else "")
                for r in rows]
    widths = column_widths(rows, columns)
    return ["  ".join(fit(c, w) for c, w in zip(r[:columns], widths))
            + ("  " + "  ".join(r[columns:]) if any(r[columns:]) else "") for r in rows]
