"""Completion for the filter bar: what may come next at the cursor.

``suggest(text, cursor, index)`` looks at the tokens before the word being typed and offers
column names where a column may start, operators after a column, known values after an
operator (statuses, kinds, labels, or a column's distinct values when ``values_of`` is
given), and ``and``/``or`` after a complete condition. ``inline_completion`` turns that
into the single completed text a Textual ``Suggester`` returns.

It never raises: half-typed input is the normal case here.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from exptui.records import STATUSES
from exptui.query.columns import FIELD_GETTERS, Column, ColumnIndex, as_index
from exptui.query.filter import EOF, IDENT, KEYWORD, NUMBER, OP, PUNCT, ROW_KINDS, STRING, FilterError, tokenize

OPERATORS: tuple[str, ...] = ("==", "!=", ">", ">=", "<", "<=", "~=", "in", "not in", "is missing", "is not missing")
STARTERS: tuple[str, ...] = ("not", "is starred", "is not starred", "has label", "(")
JOINERS: tuple[str, ...] = ("and", "or")
_PARTIAL_RE = re.compile(r"[\w.:/\-]*$")


@dataclass(frozen=True)
class Suggestions:
    """Candidates to replace ``text[start:end]`` (the partial word at the cursor)."""

    start: int
    end: int
    candidates: tuple[str, ...]
    context: str  # column, operator, value, joiner, has, is, is-ref, not or none


def suggest(text: str, cursor: int | None, columns: Iterable[Column] | ColumnIndex,
            values_of: Callable[[Column], Sequence[str]] | None = None, limit: int = 30) -> Suggestions:
    """Completion candidates for the word at ``cursor`` (default: end of text)."""
    index = as_index(columns)
    cursor = len(text) if cursor is None else max(0, min(cursor, len(text)))
    head = text[:cursor]
    quote = _open_quote(head)
    if quote is not None:
        start = quote + 1
        partial = head[start:]
        before = head[:quote]
    else:
        start = cursor - len(_PARTIAL_RE.search(head).group())  # type: ignore[union-attr]
        partial = head[start:]
        before = head[:start]
    try:
        tokens = [t for t in tokenize(before) if t.type != EOF]
    except FilterError:
        return Suggestions(start, cursor, (), "none")
    context, column = _context(tokens, index)
    if context == "column":
        pool = _column_names(index) + list(STARTERS)
    elif context == "operator":
        pool = list(OPERATORS)
    elif context == "value":
        pool = _values(column, values_of)
        if quote is None:
            pool = [_quoted(v) if not re.fullmatch(r"[\w.\-]+", v) else v for v in pool]
    elif context == "joiner":
        pool = list(JOINERS)
    elif context == "has":
        pool = ["label", "note"]
    elif context == "is":
        pool = ["starred", "not", *STATUSES]
    elif context == "is-ref":
        pool = ["missing", "not", "null", "true", "false"]
    elif context == "not":
        pool = ["in"]
    else:
        pool = []
    lowered = partial.lower()
    first = [c for c in pool if c.startswith(partial) and c != partial]
    second = [c for c in pool if c not in first and lowered in c.lower() and c != partial]
    return Suggestions(start, cursor, tuple((first + second)[:limit]), context)


def inline_completion(text: str, columns: Iterable[Column] | ColumnIndex,
                      values_of: Callable[[Column], Sequence[str]] | None = None) -> str | None:
    """The whole text completed with the best candidate that extends the word typed at the
    end, or None (what ``textual.suggester.Suggester.get_suggestion`` returns)."""
    if not text or text[-1].isspace():
        return None
    found = suggest(text, None, columns, values_of)
    partial = text[found.start:found.end]
    for candidate in found.candidates:
        if candidate.startswith(partial) and partial:
            return text[:found.start] + candidate
    return None


def _open_quote(head: str) -> int | None:
    """Position of an unclosed quote in ``head``, if the cursor is inside a string."""
    quote_char, start, i = None, None, 0
    while i < len(head):
        c = head[i]
        if quote_char is None:
            if c in "'\"":
                quote_char, start = c, i
        elif c == "\\":
            i += 1
        elif c == quote_char:
            quote_char, start = None, None
        i += 1
    return start


def _context(tokens: list, index: ColumnIndex) -> tuple[str, Column | None]:
    if not tokens:
        return "column", None
    last = tokens[-1]
    if last.type == KEYWORD and last.text in ("and", "or", "not"):
        if last.text == "not" and len(tokens) >= 2 and tokens[-2].type == IDENT:
            return "not", None  # `f1 not` -> `in`
        if last.text == "not" and len(tokens) >= 2 and tokens[-2].type == KEYWORD and tokens[-2].text == "is":
            return ("is-ref" if len(tokens) >= 3 and tokens[-3].type == IDENT else "is"), None
        return "column", None
    if last.type == PUNCT and last.text == "(":
        return "column", None
    if last.type == IDENT:
        if len(tokens) >= 2 and (tokens[-2].type == OP or (tokens[-2].type == KEYWORD and tokens[-2].text == "in")):
            return "joiner", None
        if last.text.lower() in ("label", "labels") and len(tokens) >= 2 and tokens[-2].type == KEYWORD \
                and tokens[-2].text == "has":
            return "value", index.try_resolve("label")
        return "operator", None
    if last.type == KEYWORD and last.text == "has":
        return "has", None
    if last.type == KEYWORD and last.text == "is":
        return ("is-ref" if len(tokens) >= 2 and tokens[-2].type == IDENT else "is"), None
    if last.type == OP or (last.type == PUNCT and last.text in "[,"):
        return "value", _column_before(tokens, index)
    if last.type in (STRING, NUMBER) or (last.type == PUNCT and last.text in ")]"):
        return "joiner", None
    if last.type == KEYWORD and last.text in ("true", "false", "null", "none", "missing"):
        return "joiner", None
    return "none", None


def _column_before(tokens: list, index: ColumnIndex) -> Column | None:
    for token in reversed(tokens):
        if token.type == IDENT:
            return index.try_resolve(token.value)
        if token.type == KEYWORD and token.text in ("and", "or"):
            return None
    return None


def _column_names(index: ColumnIndex) -> list[str]:
    labels = [c.label for c in index.columns]
    return labels + [name for name in FIELD_GETTERS if name not in labels]


def _values(column: Column | None, values_of: Callable[[Column], Sequence[str]] | None) -> list[str]:
    if column is None:
        return []
    if column.is_field and column.key == "status":
        return list(STATUSES)
    if column.is_field and column.key == "kind":
        return list(ROW_KINDS)
    if column.is_field and column.key == "created":
        return ["today", "yesterday", "1h", "1d", "1w"]
    if column.kind == "bool":
        return ["true", "false"]
    return list(values_of(column)) if values_of is not None else []


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
