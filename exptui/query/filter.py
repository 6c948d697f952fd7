"""The filter language of `exptui show --filter` and the TUI's filter bar.

    f1 > 0.9 and train.model in ['rf', 'lgbm']
    not (status == 'failed' or loss is missing)
    name ~= 'lr-0\\.1' or has label 'keep' or is starred
    created >= '2026-11-01' and duration < 60

A hand-written tokenizer and recursive-descent parser (never ``eval``): the grammar is
small, errors can point at the exact character, and it is cheap enough to re-run on
every keystroke. Parsing produces a small AST (:class:`Node`), which is compiled into
closures so that filtering 10,000 rows is a few milliseconds.

Grammar::

    expr     := and_expr (('or' | '||') and_expr)*
    and_expr := unary (('and' | '&&') unary)*
    unary    := ('not' | '!') unary | primary
    primary  := '(' expr ')'
              | 'is' ['not'] ('starred' | <status>)
              | 'has' ('label' value | 'note')
              | ref op value                  op: == = != < <= > >= ~=
              | value op ref                  (flipped: 0.9 < f1)
              | ref ['not'] 'in' '[' [value (',' value)* [',']] ']'
              | ref 'is' ['not'] ('missing' | 'null' | 'true' | 'false')
              | ref                           (bool columns only: `starred`)
              | STRING                        (shorthand for name ~= STRING)
    ref      := IDENT | `back-quoted name`
    value    := NUMBER | STRING | 'true' | 'false' | 'null' | bare word (taken as text)

Semantics: a missing value (``-``) or one from an unreadable file (``!``) never matches a
comparison, ``in``, ``not in`` or ``~=``; ``not (...)`` negates the whole condition, so
``not f1 > 0.5`` does match rows without ``f1``. ``~=`` is a regex search, case-insensitive
unless the pattern has an upper-case letter; a pattern that is not a valid regex is taken as
plain text, so typing ``lr(`` mid-way never errors. Patterns run on RE2 (`exptui.query.regex`),
in time linear in the value: ``'(a+)+b'`` cannot freeze the dashboard; lookaround and
backreferences, which need backtracking, are refused with an error. Floats compare equal within 1e-9
relative. Dates (``created``) take ``'YYYY-MM-DD'`` (the whole day), an ISO date-time,
``'today'``, ``'yesterday'`` or an age like ``'2h'``, ``'3 days ago'``, ``'1w'``; ``duration``
takes seconds or ``'45s'``, ``5m``, ``'1h30m'``.
"""
from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from exptui.errors import ExptuiError
from exptui.records import STATUSES, ExperimentRow
from exptui.query.columns import (
    ERROR,
    MISSING,
    SHA_FIELDS,
    Column,
    ColumnIndex,
    ColumnLookupError,
    as_index,
)

ROW_KINDS: tuple[str, ...] = ("workspace", "baseline", "experiment", "queued")
MAX_NESTING = 64


class FilterError(ExptuiError):
    """A filter that cannot be parsed or compiled.

    ``column`` is the 0-based character offset of the mistake in the filter text (always
    inside the text), so the TUI can underline it and the CLI can draw a caret.
    """

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"{self.message} (at character {self.column + 1} of the filter)"

    def caret(self, text: str) -> str:
        """Two lines: the filter text (inert) and a caret under the mistake, counted in terminal cells."""
        from exptui.query.cells import cell_width
        from exptui.query.inert import inert

        return f"{inert(text)}\n{' ' * cell_width(inert(text[:self.column]))}^"


# --------------------------------------------------------------------------- tokens

IDENT, STRING, NUMBER, OP, KEYWORD, PUNCT, EOF = "ident", "string", "number", "op", "keyword", "punct", "eof"
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "has", "true", "false", "null", "none"})
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "~=")


@dataclass(frozen=True, slots=True)
class Token:
    type: str
    text: str          # source text (keywords lower-cased, `=` normalised to `==`)
    pos: int
    value: Any = None  # parsed literal for STRING/NUMBER, name for IDENT


_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT_RE = re.compile(r"[^\W\d][\w.:/\-]*")
_WORD_RE = re.compile(r"[\w.+\-:/]+")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_TWO_CHAR_OPS = {"==": "==", "!=": "!=", "<=": "<=", ">=": ">=", "~=": "~=", "&&": "and", "||": "or", "=~": "~="}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the list always ends with an EOF token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        two = text[i:i + 2]
        if two in _TWO_CHAR_OPS:
            mapped = _TWO_CHAR_OPS[two]
            tokens.append(Token(KEYWORD if mapped in ("and", "or") else OP, mapped, i))
            i += 2
            continue
        if c in "<>":
            tokens.append(Token(OP, c, i))
            i += 1
            continue
        if c == "=":
            tokens.append(Token(OP, "==", i))
            i += 1
            continue
        if c == "!":
            tokens.append(Token(KEYWORD, "not", i))
            i += 1
            continue
        if c in "()[],":
            tokens.append(Token(PUNCT, c, i))
            i += 1
            continue
        if c in "'\"":
            value, end = _read_string(text, i)
            tokens.append(Token(STRING, text[i:end], i, value))
            i = end
            continue
        if c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise FilterError("unterminated `quoted name`: add the closing backquote", i)
            if end == i + 1:
                raise FilterError("empty `quoted name`", i)
            tokens.append(Token(IDENT, text[i:end + 1], i, text[i + 1:end]))
            i = end + 1
            continue
        m = _NUMBER_RE.match(text, i)
        if m and (c.isdigit() or c == "." or (len(m.group()) > 1 and c in "+-")):
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                word = _word_at(text, i)
                if re.fullmatch(r"[\d.eE+\-]+", word):
                    raise FilterError(f"malformed number '{word}'", i)
                # a word that starts with digits: a sha prefix or an age like 2h (bare text)
                tokens.append(Token(IDENT, word, i, word))
                i += len(word)
                continue
            raw = m.group()
            number: int | float = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
            tokens.append(Token(NUMBER, raw, i, number))
            i = end
            continue
        m = _IDENT_RE.match(text, i)
        if m:
            word = m.group()
            if word.lower() in KEYWORDS:
                tokens.append(Token(KEYWORD, word.lower(), i))
            else:
                tokens.append(Token(IDENT, word, i, word))
            i = m.end()
            continue
        if c == "~":
            raise FilterError("unexpected '~': did you mean '~=' (regex match)?", i)
        if c in "‘’“”«»":
            raise FilterError(f"unexpected '{c}': use straight quotes ' or \"", i)
        raise FilterError(f"unexpected character '{c}'", i)
    tokens.append(Token(EOF, "", n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            # unknown escapes keep their backslash, so regexes like '\d+' read as typed
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if c == quote:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise FilterError(f"unterminated string: add the closing {quote}", start)


def _word_at(text: str, i: int) -> str:
    m = _WORD_RE.match(text, i)
    return m.group() if m else text[i]


# --------------------------------------------------------------------------- AST

@dataclass(frozen=True)
class Literal:
    value: Any            # int | float | str | bool | None
    pos: int
    text: str
    bare: bool = False    # an unquoted word taken as text


@dataclass(frozen=True)
class Ref:
    column: Column
    pos: int
    text: str


@dataclass(frozen=True)
class Compare:
    ref: Ref
    op: str               # one of COMPARISONS
    literal: Literal
    op_pos: int


@dataclass(frozen=True)
class InList:
    ref: Ref
    values: tuple[Literal, ...]
    negate: bool


@dataclass(frozen=True)
class IsMissing:
    ref: Ref
    negate: bool


@dataclass(frozen=True)
class Truthy:
    ref: Ref


@dataclass(frozen=True)
class NameSearch:
    literal: Literal


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class MatchAll:
    pass


Node = Compare | InList | IsMissing | Truthy | NameSearch | And | Or | Not | MatchAll


# --------------------------------------------------------------------------- parser

class _Parser:
    def __init__(self, text: str, index: ColumnIndex) -> None:
        self.text = text
        self.index = index
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # token helpers -------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.type != EOF:
            self.i += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok.type == KEYWORD and tok.text in words

    def at_punct(self, char: str) -> bool:
        tok = self.peek()
        return tok.type == PUNCT and tok.text == char

    def error_at(self, tok: Token, message: str) -> FilterError:
        """An error at ``tok``; at the end of input, point at the last real token so the
        column always lies inside the text."""
        if tok.type == EOF:
            prev = self.tokens[self.i - 1] if self.i > 0 else tok
            return FilterError(message, min(prev.pos, max(len(self.text) - 1, 0)))
        return FilterError(message, tok.pos)

    @staticmethod
    def describe(tok: Token) -> str:
        return "the end of the filter" if tok.type == EOF else f"'{tok.text}'"

    # grammar -------------------------------------------------------------
    def parse(self) -> Node:
        if self.peek().type == EOF:
            return MatchAll()
        node = self.parse_or()
        tok = self.peek()
        if tok.type != EOF:
            if tok.type == PUNCT and tok.text == ")":
                raise self.error_at(tok, "unbalanced parenthesis: this ')' has no matching '('")
            raise self.error_at(tok, f"expected 'and' or 'or' before {self.describe(tok)}")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.at_keyword("or"):
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while self.at_keyword("and"):
            self.advance()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def nest(self, tok: Token) -> None:
        """Bound the recursion: a pasted wall of parentheses is an error, not a crash."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise FilterError(f"too deeply nested (more than {MAX_NESTING} levels of 'not' or parentheses)", tok.pos)

    def parse_unary(self) -> Node:
        if self.at_keyword("not"):
            tok = self.advance()
            self.nest(tok)
            node = Not(self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_primary()

    def parse_primary(self) -> Node:
        tok = self.peek()
        if tok.type == PUNCT and tok.text == "(":
            self.advance()
            self.nest(tok)
            if self.at_punct(")"):
                raise self.error_at(self.peek(), "empty parentheses: put a condition inside")
            node = self.parse_or()
            if not self.at_punct(")"):
                nxt = self.peek()
                if nxt.type == EOF:
                    raise FilterError("unbalanced parenthesis: this '(' is never closed", tok.pos)
                raise self.error_at(nxt, f"expected ')' or 'and'/'or' before {self.describe(nxt)}")
            self.advance()
            self.depth -= 1
            return node
        if tok.type == KEYWORD and tok.text == "is":
            return self.parse_is_subjectless()
        if tok.type == KEYWORD and tok.text == "has":
            return self.parse_has()
        if tok.type == IDENT:
            return self.parse_ref_condition(self.parse_ref())
        if tok.type in (STRING, NUMBER) or (tok.type == KEYWORD and tok.text in ("true", "false", "null", "none")):
            return self.parse_literal_first()
        if tok.type == EOF:
            prev = self.tokens[self.i - 1] if self.i > 0 else None
            after = f" after '{prev.text}'" if prev is not None else ""
            raise self.error_at(tok, f"expected a condition{after}")
        if tok.type == PUNCT and tok.text == ")":
            raise self.error_at(tok, "unbalanced parenthesis: this ')' has no matching '('")
        raise self.error_at(tok, f"expected a column name or condition, found {self.describe(tok)}")

    def parse_ref(self) -> Ref:
        tok = self.advance()
        try:
            column = self.index.resolve(tok.value)
        except ColumnLookupError as exc:
            raise FilterError(exc.message, tok.pos) from None
        return Ref(column, tok.pos, tok.value)

    def parse_ref_condition(self, ref: Ref) -> Node:
        tok = self.peek()
        if tok.type == OP:
            self.advance()
            literal = self.parse_value(after=tok)
            return Compare(ref, tok.text, literal, tok.pos)
        if tok.type == KEYWORD and tok.text == "in":
            self.advance()
            return InList(ref, self.parse_list(tok), False)
        if tok.type == KEYWORD and tok.text == "not" and self.peek(1).type == KEYWORD and self.peek(1).text == "in":
            self.advance()
            in_tok = self.advance()
            return InList(ref, self.parse_list(in_tok), True)
        if tok.type == KEYWORD and tok.text == "is":
            self.advance()
            negate = False
            if self.at_keyword("not"):
                self.advance()
                negate = True
            what = self.peek()
            word = what.text.lower() if what.type in (IDENT, KEYWORD) else ""
            if word == "missing":
                self.advance()
                return IsMissing(ref, negate)
            if word in ("null", "none", "true", "false"):
                self.advance()
                value = {"null": None, "none": None, "true": True, "false": False}[word]
                node: Node = Compare(ref, "==", Literal(value, what.pos, what.text), tok.pos)
                return Not(node) if negate else node
            raise self.error_at(what, f"expected 'missing', 'null', 'true' or 'false' after 'is', found {self.describe(what)}")
        if ref.column.kind == "bool":
            return Truthy(ref)
        if tok.type == EOF:
            raise FilterError(
                f"expected an operator after '{ref.text}' (==, !=, <, <=, >, >=, ~=, in, is missing)", ref.pos
            )
        raise self.error_at(tok, f"expected an operator after '{ref.text}', found {self.describe(tok)}")

    def parse_value(self, after: Token) -> Literal:
        tok = self.peek()
        if tok.type in (STRING, NUMBER):
            self.advance()
            return Literal(tok.value, tok.pos, tok.text)
        if tok.type == KEYWORD and tok.text in ("true", "false", "null", "none"):
            self.advance()
            return Literal({"true": True, "false": False}.get(tok.text), tok.pos, tok.text)
        if tok.type == IDENT:
            # a bare word is text (`status == failed`), unless it names a column:
            # comparing two columns is not supported and silently matching nothing would mislead
            if self.index.try_resolve(tok.value) is not None and tok.value not in STATUSES and tok.value not in ROW_KINDS:
                raise self.error_at(
                    tok, f"'{tok.value}' is a column; compare with a value, or quote it: '{tok.value}'"
                )
            self.advance()
            return Literal(tok.value, tok.pos, tok.text, bare=True)
        raise self.error_at(tok if tok.type != EOF else after, f"expected a value after '{after.text}'")

    def parse_list(self, in_tok: Token) -> tuple[Literal, ...]:
        open_tok = self.peek()
        if not (open_tok.type == PUNCT and open_tok.text == "["):
            raise self.error_at(open_tok if open_tok.type != EOF else in_tok, "expected '[' after 'in'")
        self.advance()
        values: list[Literal] = []
        while True:
            tok = self.peek()
            if tok.type == PUNCT and tok.text == "]":
                self.advance()
                return tuple(values)
            if tok.type == EOF:
                raise FilterError("unbalanced bracket: this '[' is never closed", open_tok.pos)
            values.append(self.parse_value(after=self.tokens[self.i - 1]))
            tok = self.peek()
            if tok.type == PUNCT and tok.text == ",":
                self.advance()
                continue
            if tok.type == PUNCT and tok.text == "]":
                continue
            if tok.type == EOF:
                raise FilterError("unbalanced bracket: this '[' is never closed", open_tok.pos)
            raise self.error_at(tok, f"expected ',' or ']' in the list, found {self.describe(tok)}")

    def parse_is_subjectless(self) -> Node:
        is_tok = self.advance()
        negate = False
        if self.at_keyword("not"):
            self.advance()
            negate = True
        tok = self.peek()
        word = tok.text.lower() if tok.type in (IDENT, KEYWORD) else ""
        if word == "starred":
            self.advance()
            node: Node = Truthy(Ref(self.index.resolve("starred"), tok.pos, tok.text))
        elif word in STATUSES:
            self.advance()
            node = Compare(Ref(self.index.resolve("status"), is_tok.pos, "status"), "==",
                           Literal(word, tok.pos, tok.text), is_tok.pos)
        else:
            options = "'starred' or a status (" + ", ".join(STATUSES) + ")"
            raise self.error_at(tok if tok.type != EOF else is_tok, f"expected {options} after 'is'")
        return Not(node) if negate else node

    def parse_has(self) -> Node:
        has_tok = self.advance()
        tok = self.peek()
        word = tok.text.lower() if tok.type == IDENT else ""
        if word in ("label", "labels"):
            self.advance()
            literal = self.parse_value(after=tok)
            return Compare(Ref(self.index.resolve("label"), tok.pos, tok.text), "==", literal, tok.pos)
        if word == "note":
            self.advance()
            return Not(IsMissing(Ref(self.index.resolve("note"), tok.pos, tok.text), False))
        raise self.error_at(tok if tok.type != EOF else has_tok, "expected 'label' or 'note' after 'has'")

    def parse_literal_first(self) -> Node:
        tok = self.advance()
        literal = Literal(
            tok.value if tok.type in (STRING, NUMBER) else {"true": True, "false": False}.get(tok.text),
            tok.pos, tok.text,
        )
        op = self.peek()
        if op.type == OP:
            self.advance()
            nxt = self.peek()
            if nxt.type != IDENT:
                raise self.error_at(nxt if nxt.type != EOF else op, f"expected a column name after '{op.text}'")
            ref = self.parse_ref()
            return Compare(ref, _FLIPPED[op.text], literal, op.pos)
        if tok.type == STRING:
            return NameSearch(literal)
        raise FilterError(f"a value needs a column to compare with, e.g. f1 > {tok.text}", tok.pos)


_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=", "~=": "~="}


def parse_filter(text: str, columns: Iterable[Column] | ColumnIndex) -> Node:
    """Parse ``text`` into an AST (columns resolved); raises FilterError."""
    return _Parser(text, as_index(columns)).parse()


# --------------------------------------------------------------------------- compiler

RowPredicate = Callable[[ExperimentRow], bool]


class Predicate:
    """A compiled filter: call it on a row, or ``.filter(rows)``."""

    __slots__ = ("text", "node", "_fn")

    def __init__(self, text: str, node: Node, fn: RowPredicate) -> None:
        self.text = text
        self.node = node
        self._fn = fn

    def __call__(self, row: ExperimentRow) -> bool:
        return self._fn(row)

    def filter(self, rows: Iterable[ExperimentRow]) -> list[ExperimentRow]:
        return [row for row in rows if self._fn(row)] if not self.matches_everything else list(rows)

    @property
    def matches_everything(self) -> bool:
        return isinstance(self.node, MatchAll)

    @property
    def columns(self) -> tuple[Column, ...]:
        """Columns the expression refers to, in order of first use."""
        found: dict[str, Column] = {}
        for ref in _refs(self.node):
            found.setdefault(ref.column.id, ref.column)
        return tuple(found.values())

    def __repr__(self) -> str:
        return f"Predicate({self.text!r})"


def _refs(node: Node) -> Iterable[Ref]:
    if isinstance(node, (Compare, InList, IsMissing, Truthy)):
        yield node.ref
    elif isinstance(node, (And, Or)):
        for item in node.items:
            yield from _refs(item)
    elif isinstance(node, Not):
        yield from _refs(node.item)


def compile_filter(text: str, columns: Iterable[Column] | ColumnIndex) -> Predicate:
    """Parse and compile a filter. An empty (or blank) expression matches every row."""
    node = parse_filter(text, columns)
    return Predicate(text, node, _compile(node))


def _compile(node: Node) -> RowPredicate:
    if isinstance(node, MatchAll):
        return lambda row: True
    if isinstance(node, Compare):
        return _compile_compare(node)
    if isinstance(node, InList):
        return _compile_in(node)
    if isinstance(node, IsMissing):
        get = node.ref.column.getter()
        if node.negate:
            return lambda row: (v := get(row)) is not MISSING and v is not ERROR
        return lambda row: (v := get(row)) is MISSING or v is ERROR
    if isinstance(node, Truthy):
        get = node.ref.column.getter()
        return lambda row: get(row) is True
    if isinstance(node, NameSearch):
        name = node.literal.value.lower()
        return lambda row: name in row.name.lower()
    if isinstance(node, Not):
        inner = _compile(node.item)
        return lambda row: not inner(row)
    if isinstance(node, (And, Or)):
        fns = [_compile(item) for item in node.items]
        return _all_of(fns) if isinstance(node, And) else _any_of(fns)
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


def _all_of(fns: list[RowPredicate]) -> RowPredicate:
    """Flat, so a chain of 1,000 `and`s is a loop rather than 1,000 nested calls."""
    if len(fns) == 2:
        a, b = fns
        return lambda row: a(row) and b(row)

    def all_of(row: ExperimentRow) -> bool:
        for fn in fns:
            if not fn(row):
                return False
        return True

    return all_of


def _any_of(fns: list[RowPredicate]) -> RowPredicate:
    if len(fns) == 2:
        a, b = fns
        return lambda row: a(row) or b(row)

    def any_of(row: ExperimentRow) -> bool:
        for fn in fns:
            if fn(row):
                return True
        return False

    return any_of


_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _is_num(v: Any) -> bool:
    return (v.__class__ is float or v.__class__ is int) or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _num_equal(v: Any, lit: float) -> bool:
    return _is_num(v) and (v == lit or (isinstance(v, float) or isinstance(lit, float)) and math.isclose(v, lit, rel_tol=1e-9))


def _literal_kind(lit: Literal) -> str:
    v = lit.value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "text"


def _check_enum(column: Column, lit: Literal) -> Literal:
    """``status``/``kind`` literals: case-insensitive (the table shows ``Failed``), and a typo
    such as ``'faild'`` is an error at parse time instead of silently matching nothing."""
    allowed = STATUSES if column.key == "status" else ROW_KINDS if column.key == "kind" else None
    if not column.is_field or allowed is None or not isinstance(lit.value, str):
        return lit
    folded = lit.value.lower()
    if folded in allowed:
        return lit if folded == lit.value else Literal(folded, lit.pos, lit.text, lit.bare)
    import difflib

    close = difflib.get_close_matches(folded, allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise FilterError(f"unknown {column.key} '{lit.value}': {hint}one of {', '.join(allowed)}", lit.pos)


def _compile_compare(node: Compare) -> RowPredicate:
    column, op, lit = node.ref.column, node.op, node.literal
    get = column.getter()
    kind = _literal_kind(lit)
    value = lit.value
    if op == "~=":
        return _compile_match(node, get)
    if column.is_field and column.key == "duration" and isinstance(value, str):
        try:
            seconds = parse_seconds(value)
        except ValueError:
            raise FilterError(f"can't read '{value}' as a duration: use seconds or '45s', '5m', '1h30m'",
                              lit.pos) from None
        node = Compare(node.ref, op, Literal(seconds, lit.pos, lit.text), node.op_pos)
        lit, value, kind = node.literal, seconds, "number"
    if column.is_field and column.key == "created":
        return _compile_date(node, get)
    if column.is_field and column.key == "label":
        if op not in ("==", "!="):
            raise FilterError(f"labels can be compared with ==, !=, ~= or in, not '{op}'", node.op_pos)
        label = str(value) if value is not None else ""
        if op == "==":
            return lambda row: label in get(row)
        return lambda row: label not in get(row)
    if op in ("==", "!="):
        eq = _equality(column, _check_enum(column, lit))
        if op == "==":
            return eq
        return lambda row: (v := get(row)) is not MISSING and v is not ERROR and not eq(row)
    # ordering
    if kind in ("null", "bool"):
        raise FilterError(f"'{op}' needs a number, text or date, not {lit.text}", lit.pos)
    compare = _ORDERING[op]
    if kind == "number":
        def ordered(row: ExperimentRow) -> bool:
            v = get(row)
            cls = v.__class__
            if cls is float or cls is int:  # the hot path: plain numbers
                return compare(v, value)
            return _is_num(v) and compare(v, value)

        return ordered
    if column.kind == "numeric":
        raise FilterError(f"'{node.ref.text}' holds numbers: compare it with a number, not {lit.text}", lit.pos)
    return lambda row: (v := get(row)).__class__ is str and compare(v, value)


def _equality(column: Column, lit: Literal) -> RowPredicate:
    get = column.getter()
    value = lit.value
    kind = _literal_kind(lit)
    if kind == "number":
        return lambda row: _num_equal(get(row), value)
    if kind == "bool":
        return lambda row: get(row) is value
    if kind == "null":
        return lambda row: get(row) is None
    if column.is_field and column.key in SHA_FIELDS and len(value) >= 4:
        sha = (lambda row: row.rev) if column.key == "rev" else (lambda row: row.baseline)
        return lambda row: get(row) == value or sha(row).startswith(value)
    return lambda row: get(row) == value


def _compile_in(node: InList) -> RowPredicate:
    column = node.ref.column
    get = column.getter()
    if column.is_field and column.key == "label":
        wanted = frozenset(str(lit.value) for lit in node.values)
        if node.negate:
            return lambda row: wanted.isdisjoint(get(row))
        return lambda row: not wanted.isdisjoint(get(row))
    if column.is_field and column.key in ("created", "duration"):
        tests = [_compile_compare(Compare(node.ref, "==", lit, lit.pos)) for lit in node.values]
    else:
        values = tuple(_check_enum(column, lit) for lit in node.values)
        node = InList(node.ref, values, node.negate)
        tests = [_equality(column, lit) for lit in node.values]
    plain = [lit.value for lit in node.values if isinstance(lit.value, str)]
    if len(plain) == len(node.values) and not (column.is_field and column.key in SHA_FIELDS | {"created", "duration"}):
        members = frozenset(plain)  # fast path: all text
        if node.negate:
            return lambda row: (v := get(row)) is not MISSING and v is not ERROR and not (v.__class__ is str and v in members)
        return lambda row: (v := get(row)).__class__ is str and v in members

    def any_match(row: ExperimentRow) -> bool:
        return any(test(row) for test in tests)

    if node.negate:
        return lambda row: (v := get(row)) is not MISSING and v is not ERROR and not any_match(row)
    return any_match


def _compile_match(node: Compare, get: Callable[[ExperimentRow], Any]) -> RowPredicate:
    matches = value_matcher(node)
    return lambda row: matches(get(row))


def value_matcher(node: Compare) -> Callable[[Any], bool]:
    """The ``~=`` test on one cell value (shared by the row predicate and the column mask)."""
    lit = node.literal
    if not isinstance(lit.value, str):
        pattern_text = lit.text
    else:
        pattern_text = lit.value
    from exptui.query.regex import RegexError, compile_regex

    try:  # RE2: linear in the text, so no pattern can freeze the table (see exptui.query.regex)
        search = compile_regex(pattern_text, ignore_case=not any(ch.isupper() for ch in pattern_text),
                               literal_on_error=True).search
    except RegexError as exc:
        raise FilterError(str(exc), lit.pos) from None

    def match(v: Any) -> bool:
        if v.__class__ is str:
            return search(v)
        if v is MISSING or v is ERROR:
            return False
        if isinstance(v, tuple):  # labels
            return any(search(item) for item in v)
        return search(_as_text(v))

    return match


def _as_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


# --------------------------------------------------------------------------- dates

_AGE_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
              "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
              "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
              "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
_AGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(_AGE_UNITS, key=len, reverse=True))
                     + r")\s*(ago)?\s*$", re.I)
_SPAN_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)", re.I)


def parse_seconds(text: str) -> float:
    """``90``, ``'45s'``, ``'5m'``, ``'1h30m'``, ``'2 hours'`` -> seconds; ValueError otherwise."""
    s = text.strip().lower()
    m = _AGE_RE.match(s)
    if m and not m.group(3):
        return float(m.group(1)) * _AGE_UNITS[m.group(2)]
    parts = _SPAN_RE.findall(s)
    if parts and _SPAN_RE.sub("", s).strip() == "":
        return sum(float(n) * _AGE_UNITS[u] for n, u in parts)
    return float(s)


def parse_date_literal(text: str, now: datetime | None = None) -> tuple[float, float]:
    """A half-open epoch-seconds range ``[lo, hi)`` for a date literal.

    A bare date is the whole (local) day; an age like ``2h`` is the instant that long ago.
    Raises ValueError on anything else.
    """
    now = now or datetime.now()
    s = text.strip()
    low = s.lower()
    if low in ("today", "yesterday"):
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if low == "yesterday":
            day -= timedelta(days=1)
        return day.timestamp(), (day + timedelta(days=1)).timestamp()
    m = _AGE_RE.match(s)
    if m:
        instant = now.timestamp() - float(m.group(1)) * _AGE_UNITS[m.group(2).lower()]
        return instant, instant + 1e-6
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        day = datetime.fromisoformat(s)
        return day.timestamp(), (day + timedelta(days=1)).timestamp()
    moment = datetime.fromisoformat(s)  # ValueError on garbage
    return moment.timestamp(), moment.timestamp() + 1e-6


def _compile_date(node: Compare, get: Callable[[ExperimentRow], Any]) -> RowPredicate:
    lit = node.literal
    if not isinstance(lit.value, str):
        raise FilterError(
            f"compare dates with a quoted date such as '2026-11-23', 'today' or '2h', not {lit.text}", lit.pos
        )
    try:
        lo, hi = parse_date_literal(lit.value)
    except ValueError:
        raise FilterError(
            f"can't read '{lit.value}' as a date: use 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM', 'today' or an age like '2h'",
            lit.pos,
        ) from None
    tests: dict[str, Callable[[float], bool]] = {
        "==": lambda t: lo <= t < hi,
        "!=": lambda t: not (lo <= t < hi),
        "<": lambda t: t < lo,
        "<=": lambda t: t < hi,
        ">": lambda t: t >= hi,
        ">=": lambda t: t >= lo,
    }
    test = tests[node.op]

    def match(row: ExperimentRow) -> bool:
        v = get(row)
        if not isinstance(v, datetime):
            return False
        return test(v.timestamp())

    return match


__all__ = [
    "FilterError", "Predicate", "compile_filter", "parse_filter", "tokenize", "Token", "Node",
    "Compare", "InList", "IsMissing", "Truthy", "NameSearch", "And", "Or", "Not", "MatchAll",
    "Literal", "Ref", "parse_date_literal", "parse_seconds",
]
