"""Filter expressions compiled to boolean masks over the table's DataFrame (`exptui.query.frame`).

The row predicate of `exptui.query.filter` stays the definition of what a filter means; this
module computes the same answer a column at a time: ``f1 > 0.5`` is one numpy comparison
over the column's float64 view, ``and``/``or``/``not`` are ``&``/``|``/``~`` of masks.
``tests/test_query_mask.py`` checks mask == row-by-row on generated tables and filters.

Leaves whose meaning depends on more than a cell's value (dates, durations, labels, sha
prefixes) are evaluated with the row predicate itself, row by row, so they cannot drift; so
are the rare cells float64 cannot hold exactly (ints beyond 2**53).
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from exptui.query.columns import SHA_FIELDS, Column
from exptui.query.filter import (
    And,
    Compare,
    InList,
    IsMissing,
    Literal,
    MatchAll,
    NameSearch,
    Node,
    Not,
    Or,
    Truthy,
    _check_enum,
    _compile,
    _literal_kind,
    _num_equal,
    value_matcher,
)
from exptui.query.frame import C_BIGINT, C_BOOL, C_FLOAT, C_NONE, C_STR, EXACT_INT, TableFrame

Mask = np.ndarray
MaskFn = Callable[[TableFrame], Mask]

_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_ROW_WISE_FIELDS = frozenset({"created", "duration", "label"}) | SHA_FIELDS


def compile_mask(node: Node) -> MaskFn:
    """A function from a frame to the boolean mask of matching rows.

    ``node`` must already have compiled with `compile_filter` (which raises the FilterErrors);
    this adds no error of its own.
    """
    if isinstance(node, MatchAll):
        return lambda frame: np.ones(frame.size, dtype=bool)
    if isinstance(node, Not):
        inner = compile_mask(node.item)
        return lambda frame: ~inner(frame)
    if isinstance(node, (And, Or)):
        parts = [compile_mask(item) for item in node.items]
        combine = np.logical_and if isinstance(node, And) else np.logical_or

        def combined(frame: TableFrame) -> Mask:
            result = parts[0](frame)
            for part in parts[1:]:
                result = combine(result, part(frame))
            return result

        return combined
    if isinstance(node, NameSearch):
        name = node.literal.value.lower()
        return lambda frame: frame.lower_names().str.contains(name, regex=False).to_numpy(dtype=bool)
    if isinstance(node, IsMissing):
        column = node.ref.column
        if node.negate:
            return lambda frame: frame.typed(column).present
        return lambda frame: ~frame.typed(column).present
    if isinstance(node, Truthy):
        column = node.ref.column
        return lambda frame: _bool_equal(frame, column, True)
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, InList):
        return _in_list(node)
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


def _row_wise(node: Node) -> MaskFn:
    """The row predicate applied to every row: for leaves whose meaning is more than a cell value."""
    predicate = _compile(node)

    def mask(frame: TableFrame) -> Mask:
        return np.fromiter(map(predicate, frame.rows), dtype=bool, count=frame.size)

    return mask


def _special(column: Column) -> bool:
    return column.is_field and column.key in _ROW_WISE_FIELDS


def _exact_number(value: Any) -> bool:
    return isinstance(value, float) or -EXACT_INT <= value <= EXACT_INT


def _compare(node: Compare) -> MaskFn:
    column, op, lit = node.ref.column, node.op, node.literal
    if op == "~=":
        matches = value_matcher(node)
        return lambda frame: frame.cells(column).map(matches).to_numpy(dtype=bool)
    if _special(column):
        return _row_wise(node)
    kind = _literal_kind(lit)
    if op in ("==", "!="):
        equal = _equality(column, _check_enum(column, lit))
        if op == "==":
            return equal
        return lambda frame: frame.typed(column).present & ~equal(frame)
    compare = _ORDERING[op]
    value = lit.value
    if kind == "number":
        if not _exact_number(value):
            return _row_wise(node)

        def ordered(frame: TableFrame) -> Mask:
            typed = frame.typed(column)
            with np.errstate(invalid="ignore"):
                result = typed.is_number & compare(typed.numbers, value)
            return _patch_inexact(result, typed.codes, frame.cells(column), lambda v: compare(v, value))

        return ordered

    def text_ordered(frame: TableFrame) -> Mask:
        typed = frame.typed(column)
        result = np.zeros(frame.size, dtype=bool)
        at = np.flatnonzero(typed.codes == C_STR)
        if at.size:
            result[at] = compare(frame.cells(column).to_numpy()[at], value).astype(bool)
        return result

    return text_ordered


def _patch_inexact(result: Mask, codes: np.ndarray, cells: Any, test: Callable[[Any], bool]) -> Mask:
    """Rows whose number float64 cannot hold exactly, decided in Python."""
    at = np.flatnonzero(codes == C_BIGINT)
    if at.size:
        values = cells.to_numpy()
        for i in at:
            result[i] = test(values[i])
    return result


def _bool_equal(frame: TableFrame, column: Column, value: bool) -> Mask:
    typed = frame.typed(column)
    return (typed.codes == C_BOOL) & (typed.numbers == (1.0 if value else 0.0))


def _equality(column: Column, lit: Literal) -> MaskFn:
    """``==`` with one literal (the enum spelling already folded)."""
    value = lit.value
    kind = _literal_kind(lit)
    if kind == "bool":
        return lambda frame: _bool_equal(frame, column, value)
    if kind == "null":
        return lambda frame: frame.typed(column).codes == C_NONE
    if kind == "number":
        if not _exact_number(value):
            return _row_wise(Compare(_ref_of(column), "==", lit, lit.pos))
        fuzzy_literal = isinstance(value, float)
        finite_literal = math.isfinite(value)

        def equal(frame: TableFrame) -> Mask:
            typed = frame.typed(column)
            numbers = typed.numbers
            with np.errstate(invalid="ignore"):
                same = numbers == value
                if finite_literal:  # math.isclose(v, lit, rel_tol=1e-9): never close to an infinity
                    fuzzy = typed.codes == C_FLOAT if not fuzzy_literal else np.ones(frame.size, dtype=bool)
                    close = np.abs(numbers - value) <= 1e-9 * np.maximum(np.abs(numbers), abs(value))
                    same |= fuzzy & np.isfinite(numbers) & close
            result = typed.is_number & same
            return _patch_inexact(result, typed.codes, frame.cells(column), lambda v: _num_equal(v, value))

        return equal

    def text_equal(frame: TableFrame) -> Mask:
        typed = frame.typed(column)
        result = np.zeros(frame.size, dtype=bool)
        at = np.flatnonzero(typed.codes == C_STR)
        if at.size:
            result[at] = frame.cells(column).to_numpy()[at] == value
        return result

    return text_equal


def _ref_of(column: Column) -> Any:
    from exptui.query.filter import Ref

    return Ref(column, 0, column.id)


def _in_list(node: InList) -> MaskFn:
    column = node.ref.column
    if _special(column):
        return _row_wise(node)
    values = tuple(_check_enum(column, lit) for lit in node.values)
    if all(isinstance(lit.value, str) for lit in values):
        members = frozenset(lit.value for lit in values)

        def any_equal(frame: TableFrame) -> Mask:
            typed = frame.typed(column)
            result = np.zeros(frame.size, dtype=bool)
            at = np.flatnonzero(typed.codes == C_STR)
            if at.size:
                result[at] = frame.cells(column).iloc[at].isin(members).to_numpy(dtype=bool)
            return result
    else:
        tests = [_equality(column, lit) for lit in values]

        def any_equal(frame: TableFrame) -> Mask:
            result = np.zeros(frame.size, dtype=bool)
            for test in tests:
                result |= test(frame)
            return result

    if node.negate:
        return lambda frame: frame.typed(column).present & ~any_equal(frame)
    return any_equal
