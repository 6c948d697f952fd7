"""The filter language: semantics, error positions, and hypothesis properties.

Properties: random valid expressions parse and evaluate exactly like a direct Python
reference evaluation of the same expression tree; random garbage, and every prefix of a
valid expression (what the filter bar sees per keystroke), either parses or raises a
FilterError whose column lies inside the text — never another exception.
"""
from __future__ import annotations

import math
import random
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exptui.errors import ExptuiError
from exptui.query.columns import collect_columns
from exptui.query.filter import FilterError, compile_filter, parse_date_literal, tokenize
from exptui.query.frame import TableFrame
from exptui.query.mask import compile_mask
from exptui.records import RunFacts
from test_query_columns import make_row


def names(rows, text, columns=None):
    predicate = compile_filter(text, columns if columns is not None else collect_columns(rows))
    matched = [row.name for row in rows if predicate(row)]
    # the DataFrame mask (what TableModel runs) must agree with the row predicate on every case here
    mask = compile_mask(predicate.node)(TableFrame(rows))
    assert [row.name for row, hit in zip(rows, mask) if hit] == matched, text
    return matched


@pytest.fixture
def rows():
    now = datetime.now()
    return [
        make_row("main", kind="baseline", params={"params.yaml": {"train.lr": 0.1, "model": "rf"}},
                 metrics={"metrics.json": {"f1": 0.5, "loss": 0.9}}, created=now - timedelta(days=40)),
        make_row("fast-lr", params={"params.yaml": {"train.lr": 0.3, "model": "rf"}},
                 metrics={"metrics.json": {"f1": 0.7, "loss": 0.4}}, starred=True, labels=("keep", "v2"),
                 created=now - timedelta(hours=1), facts=RunFacts(duration=62.0)),
        make_row("slow-lr", params={"params.yaml": {"train.lr": 0.01, "model": "lgbm"}},
                 metrics={"metrics.json": {"f1": 0.8, "loss": 0.3}}, labels=("v2",),
                 created=now - timedelta(days=3), facts=RunFacts(duration=600.0)),
        make_row("broken", params={"params.yaml": {"train.lr": 1.0, "model": "lgbm"}},
                 errors={"metrics.json": "mapping values are not allowed here, line 2"}, status="failed"),
        make_row("queued-1", params={"params.yaml": {"train.lr": 0.05}}, kind="queued", status="queued"),
    ]


# --------------------------------------------------------------------------- semantics

def test_empty_matches_everything(rows) -> None:
    assert names(rows, "") == [r.name for r in rows]
    assert names(rows, "   \t ") == [r.name for r in rows]


@pytest.mark.parametrize("text, expected", [
    ("f1 > 0.6", ["fast-lr", "slow-lr"]),
    ("f1 >= 0.7", ["fast-lr", "slow-lr"]),
    ("f1 < 0.7", ["main"]),
    ("f1 <= 0.7", ["main", "fast-lr"]),
    ("f1 == 0.7", ["fast-lr"]),
    ("f1 = 0.7", ["fast-lr"]),
    ("f1 != 0.7", ["main", "slow-lr"]),                     # missing/error rows never match !=
    ("0.6 < f1", ["fast-lr", "slow-lr"]),                   # literal first is flipped
    ("train.lr < 0.1", ["slow-lr", "queued-1"]),
    ("lr < 0.1", ["slow-lr", "queued-1"]),                  # unique dotted suffix
    ("params.yaml:train.lr >= 1", ["broken"]),
    ("params:params.yaml:train.lr == 1", ["broken"]),
    ("metrics:f1 > 0.75", ["slow-lr"]),
    ("model == 'rf'", ["main", "fast-lr"]),
    ('model == "rf"', ["main", "fast-lr"]),
    ("model == rf", ["main", "fast-lr"]),                   # bare word is text
    ("model != rf", ["slow-lr", "broken"]),
    ("model in ['rf', 'xgb']", ["main", "fast-lr"]),
    ("model not in ['rf']", ["slow-lr", "broken"]),
    ("train.lr in [0.1, 0.3,]", ["main", "fast-lr"]),
    ("train.lr in []", []),
    ("f1 is missing", ["broken", "queued-1"]),
    ("f1 is not missing", ["main", "fast-lr", "slow-lr"]),
    ("not f1 > 0.6", ["main", "broken", "queued-1"]),       # negation of the whole condition
    ("f1 > 0.6 and model == lgbm", ["slow-lr"]),
    ("f1 > 0.75 or model == rf", ["main", "fast-lr", "slow-lr"]),
    ("f1 > 0.75 || model == rf && loss < 0.5", ["fast-lr", "slow-lr"]),
    ("(f1 > 0.75 or model == rf) and loss < 0.5", ["fast-lr", "slow-lr"]),
    ("not (f1 > 0.6 or f1 is missing)", ["main"]),
    ("!(model == rf)", ["slow-lr", "broken", "queued-1"]),
    ("F1 > 0.6 AND Model == 'rf'".replace("F1", "f1").replace("Model", "model"), ["fast-lr"]),
    ("is starred", ["fast-lr"]),
    ("is not starred", ["main", "slow-lr", "broken", "queued-1"]),
    ("starred", ["fast-lr"]),
    ("starred == true", ["fast-lr"]),
    ("has label 'v2'", ["fast-lr", "slow-lr"]),
    ("label == keep", ["fast-lr"]),
    ("labels != keep", ["main", "slow-lr", "broken", "queued-1"]),
    ("label in ['keep', 'zzz']", ["fast-lr"]),
    ("label ~= '^v'", ["fast-lr", "slow-lr"]),
    ("status == 'failed'", ["broken"]),
    ("is failed", ["broken"]),
    ("status == Failed", ["broken"]),                       # as the State column shows it
    ("status in [QUEUED, 'Failed']", ["broken", "queued-1"]),
    ("kind != Baseline", ["fast-lr", "slow-lr", "broken", "queued-1"]),
    ("status in [queued, failed]", ["broken", "queued-1"]),
    ("kind == baseline", ["main"]),
    ("baseline == main", ["main", "fast-lr", "slow-lr", "broken", "queued-1"]),
    ("name ~= 'lr$'", ["fast-lr", "slow-lr"]),
    ("name ~= 'LR'", []),                                   # upper case in pattern: case-sensitive
    ("name ~= 'FAST'", []),
    ("name ~= 'fast'", ["fast-lr"]),
    ("name ~= '-lr('", []),                                 # invalid regex: taken as text
    ("model ~= 'GB'", []),
    ("model ~= 'gb'", ["slow-lr", "broken"]),
    ("train.lr ~= '^0\\.0'", ["slow-lr", "queued-1"]),      # numbers matched by their text
    ("'lr'", ["fast-lr", "slow-lr"]),                       # a lone string searches names
    ("duration > 60", ["fast-lr", "slow-lr"]),
    ("duration < 100", ["fast-lr"]),
    ("created > '2h'", ["fast-lr"]),
    ("created < '1d'", ["main", "slow-lr"]),
    ("created >= 'today' or created is missing", None),    # checked below (midnight edge)
    ("`params.yaml:train.lr` > 0.5", ["broken"]),
])
def test_semantics(rows, text: str, expected: list[str] | None) -> None:
    result = names(rows, text)
    if expected is not None:
        assert result == expected


def test_sha_prefix_matches_rev_and_baseline(rows) -> None:
    target = rows[1]
    assert names(rows, f"rev == '{target.rev[:8]}'") == ["fast-lr"]
    assert names(rows, f"baseline == {rows[0].rev[:10]}") == [r.name for r in rows]
    assert names(rows, f"rev == '{target.rev[:3]}'") == []  # too short to be a prefix


def test_dates(rows) -> None:
    day = datetime(2026, 3, 10, 15, 30)
    dated = [make_row("a", created=day), make_row("b", created=day + timedelta(days=1)), make_row("c")]
    assert names(dated, "created == '2026-03-10'") == ["a"]
    assert names(dated, "created > '2026-03-10'") == ["b"]
    assert names(dated, "created >= '2026-03-10'") == ["a", "b"]
    assert names(dated, "created < '2026-03-11'") == ["a"]
    assert names(dated, "created <= '2026-03-11'") == ["a", "b"]
    assert names(dated, "created != '2026-03-10'") == ["b"]
    assert names(dated, "created > '2026-03-10 16:00'") == ["b"]
    assert names(dated, "created in ['2026-03-11', '2020-01-01']") == ["b"]
    lo, hi = parse_date_literal("yesterday", now=datetime(2026, 3, 11, 8, 0))
    assert datetime.fromtimestamp(lo) == datetime(2026, 3, 10) and hi - lo == 86400


def test_float_equality_tolerates_rounding() -> None:
    rows = [make_row("a", metrics={"m.json": {"acc": 0.1 + 0.2}})]
    assert names(rows, "acc == 0.3") == ["a"]
    assert names(rows, "acc != 0.3") == []


def test_null_and_bool_values() -> None:
    rows = [make_row("a", params={"p.yaml": {"x": None, "flag": True}}),
            make_row("b", params={"p.yaml": {"x": 1, "flag": False}}),
            make_row("c", params={"p.yaml": {"flag": 1}})]
    assert names(rows, "x == null") == ["a"]
    assert names(rows, "x is null") == ["a"]
    assert names(rows, "x is not null") == ["b", "c"]   # `not (x == null)`: missing counts
    assert names(rows, "x != null") == ["b"]
    assert names(rows, "flag == true") == ["a"]          # 1 is not true
    assert names(rows, "flag is false") == ["b"]
    assert names(rows, "flag == 1") == ["c"]             # True is not 1


def test_mixed_column_orders_only_same_types() -> None:
    rows = [make_row("n", params={"p.yaml": {"v": 5}}), make_row("s", params={"p.yaml": {"v": "abc"}})]
    assert names(rows, "v > 1") == ["n"]
    assert names(rows, "v > 'a'") == ["s"]


def test_columns_used_and_repr(rows) -> None:
    predicate = compile_filter("f1 > 0.5 and (model == rf or f1 < 0.2) and is starred", collect_columns(rows))
    assert [c.id for c in predicate.columns] == ["metrics:metrics.json:f1", "params:params.yaml:model", "starred"]
    assert "f1 > 0.5" in repr(predicate)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("text, message, column", [
    ("f2 > 1", "unknown column 'f2' (did you mean 'f1'?)", 0),
    ("f1 > 0.5 and f3 < 1", "unknown column 'f3'", 13),
    ("f1 >", "expected a value after '>'", 3),
    ("f1 > and", "expected a value after '>'", 5),
    ("(f1 > 1", "unbalanced parenthesis: this '(' is never closed", 0),
    ("f1 > 1)", "unbalanced parenthesis: this ')' has no matching '('", 6),
    ("()", "empty parentheses", 1),
    ("name == 'abc", "unterminated string", 8),
    ('name == "abc\\"', "unterminated string", 8),
    ("f1 > 'x'", "'f1' holds numbers: compare it with a number", 5),
    ("status == faild", "unknown status 'faild': did you mean 'failed'?", 10),
    ("f1 f1", "expected an operator after 'f1', found 'f1'", 3),
    ("f1", "expected an operator after 'f1'", 0),
    ("and", "expected a column name or condition, found 'and'", 0),
    ("f1 > 1 and", "expected a condition after 'and'", 7),
    ("not", "expected a condition after 'not'", 0),
    ("f1 > 1 f1 < 2", "expected 'and' or 'or' before 'f1'", 7),
    ("model in 'rf'", "expected '[' after 'in'", 9),
    ("model in ['rf'", "unbalanced bracket: this '[' is never closed", 9),
    ("model in ['rf' 'x']", "expected ',' or ']' in the list", 15),
    ("f1 > f1", "'f1' is a column", 5),
    ("f1 ~ 'x'", "did you mean '~='", 3),
    ("f1 > 1.2.3", "malformed number", 5),
    ("f1 > 0.5 # comment", "unexpected character '#'", 9),
    ("is", "expected 'starred' or a status", 0),
    ("has lab", "expected 'label' or 'note' after 'has'", 4),
    ("f1 is 3", "expected 'missing', 'null', 'true' or 'false' after 'is'", 6),
    ("created > 'last tuesday'", "can't read 'last tuesday' as a date", 10),
    ("created > 3", "compare dates with a quoted date", 10),
    ("starred > true", "'>' needs a number, text or date, not true", 10),
    ("label < 'a'", "labels can be compared with ==, !=, ~= or in", 6),
    ("0.5", "a value needs a column to compare with", 0),
    ("`f1", "unterminated `quoted name`", 0),
    ("model == ‘rf’", "use straight quotes", 9),
])
def test_error_messages_and_columns(rows, text: str, message: str, column: int) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(text, collect_columns(rows))
    assert message in info.value.message
    assert info.value.column == column
    assert 0 <= info.value.column < len(text)
    assert isinstance(info.value, ExptuiError)  # the CLI prints it as one `error:` line
    assert "at character" in str(info.value)
    assert info.value.caret(text).splitlines()[1] == " " * column + "^"


def test_ambiguous_column_names_candidates() -> None:
    rows = [make_row("a", metrics={"train.json": {"acc": 1}, "test.json": {"acc": 2}})]
    with pytest.raises(FilterError, match=r"ambiguous column 'acc'.*train.json:acc.*test.json:acc"):
        compile_filter("acc > 0", collect_columns(rows))
    assert names(rows, "test.json:acc == 2") == ["a"]


def test_tokens_keep_positions() -> None:
    tokens = tokenize("f1>=0.5 and name~='x\\d'")
    assert [(t.type, t.text, t.pos) for t in tokens][:4] == [
        ("ident", "f1", 0), ("op", ">=", 2), ("number", "0.5", 4), ("keyword", "and", 8)]
    assert tokens[-2].value == "x\\d"   # unknown escapes keep the backslash, for regexes
    assert tokens[-1].type == "eof"


# --------------------------------------------------------------------------- properties

FLOATS = [0.0, 0.1, 0.5, 1.0, 2.5, -1.0]
INTS = [0, 1, 2, 3]
MODELS = ["rf", "lgbm", "a b", "x'y"]
NUMERIC = {"lr": "params", "depth": "params", "f1": "metrics", "loss": "metrics"}
OPS = ["==", "!=", "<", "<=", ">", ">="]


@st.composite
def prop_rows(draw):
    out = []
    for i in range(draw(st.integers(1, 8))):
        params: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        if draw(st.booleans()):
            params["lr"] = draw(st.sampled_from(FLOATS))
        if draw(st.booleans()):
            params["depth"] = draw(st.sampled_from(INTS))
        if draw(st.booleans()):
            params["model"] = draw(st.sampled_from(MODELS))
        if draw(st.booleans()):
            metrics["f1"] = draw(st.sampled_from(FLOATS))
        if draw(st.booleans()):
            metrics["loss"] = draw(st.sampled_from(FLOATS + INTS))
        errors = {"m.json": "unreadable"} if draw(st.integers(0, 5)) == 0 else {}
        out.append(make_row(f"exp{i}", params={"p.yaml": params}, metrics={} if errors else {"m.json": metrics},
                            errors=errors, starred=draw(st.booleans()),
                            labels=tuple(draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True)))))
    # every column exists in at least one row so references resolve
    out.append(make_row("anchor", params={"p.yaml": {"lr": 0.1, "depth": 1, "model": "rf"}},
                        metrics={"m.json": {"f1": 0.5, "loss": 1.0}}))
    return out


def _value(row, name: str) -> Any:
    """Reference lookup: None when missing or unreadable."""
    if name in NUMERIC and NUMERIC[name] == "metrics" or name == "loss":
        if "m.json" in row.errors:
            return None
        return row.metrics.get("m.json", {}).get(name)
    return row.params.get("p.yaml", {}).get(name)


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _ref_compare(v: Any, op: str, lit: Any) -> bool:
    if v is None:
        return False
    if _num(lit):
        if not _num(v):
            return op == "!="
        eq = math.isclose(v, lit, rel_tol=1e-9) or v == lit
        return {"==": eq, "!=": not eq, "<": v < lit, "<=": v <= lit, ">": v > lit, ">=": v >= lit}[op]
    if not isinstance(v, str):
        return op == "!="
    return {"==": v == lit, "!=": v != lit, "<": v < lit, "<=": v <= lit, ">": v > lit, ">=": v >= lit}[op]


def _quote(s: str, rnd: random.Random) -> str:
    q = rnd.choice(["'", '"'])
    return q + s.replace("\\", "\\\\").replace(q, "\\" + q) + q


@st.composite
def expressions(draw, depth: int = 0):
    """(tree, text) pairs: an expression tree and a rendering of it."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    kw = lambda w: w.upper() if rnd.random() < 0.2 else w  # noqa: E731
    sp = lambda: rnd.choice([" ", "  ", " "])  # noqa: E731
    choice = draw(st.integers(0, 9 if depth < 3 else 5))
    if choice <= 2:
        name = draw(st.sampled_from(sorted(NUMERIC)))
        op = draw(st.sampled_from(OPS))
        lit = draw(st.sampled_from(FLOATS + INTS))
        ref = rnd.choice([name, f"p.yaml:{name}" if NUMERIC[name] == "params" else f"m.json:{name}"])
        return ("cmp", name, op, lit), f"{ref}{sp()}{op}{sp()}{lit!r}"
    if choice == 3:
        op = draw(st.sampled_from(["==", "!=", "<", ">="]))
        lit = draw(st.sampled_from(MODELS))
        return ("cmp", "model", op, lit), f"model {op} {_quote(lit, rnd)}"
    if choice == 4 and draw(st.booleans()):
        pattern = draw(st.sampled_from(["r", "gb", "a b", "^l", "f$", "x'", "R", ""]))
        return ("match", "model", pattern), f"model ~= {_quote(pattern, rnd)}"
    if choice == 4:
        lits = draw(st.lists(st.sampled_from(MODELS), max_size=3))
        negate = draw(st.booleans())
        body = ", ".join(_quote(x, rnd) for x in lits)
        return ("in", "model", lits, negate), f"model {kw('not') + ' ' if negate else ''}{kw('in')} [{body}]"
    if choice == 5:
        what = draw(st.sampled_from(["starred", "notstarred", "label", "missing"]))
        if what == "starred":
            return ("starred", False), f"{kw('is')} starred"
        if what == "notstarred":
            return ("starred", True), f"{kw('is')} {kw('not')} starred"
        if what == "label":
            lab = draw(st.sampled_from(["a", "b", "z"]))
            return ("label", lab), f"{kw('has')} label {_quote(lab, rnd)}"
        name = draw(st.sampled_from(sorted(NUMERIC) + ["model"]))
        return ("missing", name), f"{name} is missing"
    if choice in (6, 7):
        (ta, a), (tb, b) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
        op = "and" if choice == 6 else "or"
        sym = rnd.choice([kw(op), "&&" if op == "and" else "||"])
        return (op, ta, tb), f"({a}){sp()}{sym}{sp()}({b})"
    if choice == 8:
        t, a = draw(expressions(depth + 1))
        return ("not", t), rnd.choice([f"{kw('not')} ({a})", f"!({a})"])
    t, a = draw(expressions(depth + 1))
    return t, f"({a})"


def _reference(tree, row) -> bool:
    kind = tree[0]
    if kind == "cmp":
        return _ref_compare(_value(row, tree[1]), tree[2], tree[3])
    if kind == "match":
        v = _value(row, "model")
        if not isinstance(v, str):
            return False
        flags = 0 if any(ch.isupper() for ch in tree[2]) else re.IGNORECASE
        return re.search(tree[2], v, flags) is not None
    if kind == "in":
        v = _value(row, "model")
        if v is None:
            return False
        hit = isinstance(v, str) and v in tree[2]
        return (not hit) if tree[3] else hit
    if kind == "starred":
        return row.annotations.starred != tree[1]
    if kind == "label":
        return tree[1] in row.annotations.labels
    if kind == "missing":
        return _value(row, tree[1]) is None
    if kind == "and":
        return _reference(tree[1], row) and _reference(tree[2], row)
    if kind == "or":
        return _reference(tree[1], row) or _reference(tree[2], row)
    if kind == "not":
        return not _reference(tree[1], row)
    raise AssertionError(kind)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), prop_rows())
def test_valid_expressions_match_reference(expr, rows) -> None:
    tree, text = expr
    predicate = compile_filter(text, collect_columns(rows))
    for row in rows:
        assert predicate(row) == _reference(tree, row), (text, row.name)
    mask = compile_mask(predicate.node)(TableFrame(rows))
    assert [bool(hit) for hit in mask] == [_reference(tree, row) for row in rows], text


def test_precedence_not_and_or() -> None:
    rows = [make_row(f"r{i}", params={"p.yaml": {"a": i & 1, "b": (i >> 1) & 1, "c": (i >> 2) & 1}})
            for i in range(8)]
    cols = collect_columns(rows)
    for text, ref in [
        ("a == 1 or b == 1 and c == 1", lambda a, b, c: a or (b and c)),
        ("not a == 1 and b == 1", lambda a, b, c: (not a) and b),
        ("not not a == 1 or c == 1", lambda a, b, c: a or c),
        ("a == 1 and b == 1 or c == 1", lambda a, b, c: (a and b) or c),
    ]:
        predicate = compile_filter(text, cols)
        for i, row in enumerate(rows):
            assert predicate(row) == bool(ref(i & 1, (i >> 1) & 1, (i >> 2) & 1)), text


GARBAGE = st.text(alphabet=st.sampled_from(list("f1lrmodel.:_ 0.5-'\"`()[],=!<>~&|andorntishbel#é\\")), max_size=40)


@settings(max_examples=800, deadline=None)
@given(GARBAGE)
def test_garbage_raises_filter_error_inside_text(text: str) -> None:
    rows = [make_row("a", params={"p.yaml": {"lr": 0.1, "model": "rf"}}, metrics={"m.json": {"f1": 0.5}}),
            make_row("b", errors={"m.json": "bad"})]
    try:
        predicate = compile_filter(text, collect_columns(rows))
    except FilterError as exc:
        assert 0 <= exc.column < len(text), (text, exc.column)
        assert exc.message
    else:
        for row in rows:
            assert predicate(row) in (True, False)


@settings(max_examples=150, deadline=None)
@given(expressions(), prop_rows())
def test_every_prefix_parses_or_points_inside(expr, rows) -> None:
    """What the filter bar sees while the user types."""
    _, text = expr
    columns = collect_columns(rows)
    for end in range(len(text) + 1):
        prefix = text[:end]
        try:
            predicate = compile_filter(prefix, columns)
        except FilterError as exc:
            assert 0 <= exc.column < len(prefix)
        else:
            for row in rows:
                predicate(row)


def test_dates_with_utc_values_use_local_days() -> None:
    """The store hands over UTC-aware datetimes; date literals mean local days."""
    from datetime import timezone

    local_morning = datetime(2026, 3, 10, 0, 30)            # 00:30 local time
    aware = local_morning.astimezone(timezone.utc)           # same instant, in UTC
    rows = [make_row("a", created=aware), make_row("b", created=datetime(2026, 3, 9, 23, 59).astimezone(timezone.utc))]
    assert names(rows, "created == '2026-03-10'") == ["a"]
    assert names(rows, "created < '2026-03-10'") == ["b"]
    assert names(rows, f"created >= '{local_morning.isoformat()}'") == ["a"]


def test_huge_inputs_are_errors_or_loops_not_crashes() -> None:
    rows = [make_row("a", metrics={"m.json": {"f1": 0.5}}), make_row("b", metrics={"m.json": {"f1": 0.9}})]
    cols = collect_columns(rows)
    with pytest.raises(FilterError, match="too deeply nested") as info:
        compile_filter("(" * 500 + "f1 > 0" + ")" * 500, cols)
    assert info.value.column == 64
    with pytest.raises(FilterError, match="too deeply nested"):
        compile_filter("not " * 500 + "f1 > 0", cols)
    assert names(rows, "(" * 60 + "f1 > 0.6" + ")" * 60) == ["b"]
    assert names(rows, " and ".join(["f1 > 0.1"] * 5000)) == ["a", "b"]   # flat: no recursion limit
    assert names(rows, " or ".join(["f1 > 0.7"] * 5000)) == ["b"]


def test_duration_literals(rows) -> None:
    from exptui.query.filter import parse_seconds

    assert [parse_seconds(t) for t in ["90", "45s", "5m", "1h30m", "2 hours", "1.5h", "3 min"]] == [
        90, 45, 300, 5400, 7200, 5400, 180]
    with pytest.raises(ValueError):
        parse_seconds("soon")
    assert names(rows, "duration > 5m") == ["slow-lr"]
    assert names(rows, "duration <= '1m02s'") == ["fast-lr"]
    assert names(rows, "duration in ['1m02s', 600]") == ["fast-lr", "slow-lr"]
    with pytest.raises(FilterError, match="can't read 'soon' as a duration") as info:
        compile_filter("duration > soon", collect_columns(rows))
    assert info.value.column == 11
    assert names(rows, "created > '2 days ago'") == ["fast-lr"]
    assert names(rows, "created > '90 minutes ago'") == ["fast-lr"]
