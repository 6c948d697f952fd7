"""-S override and sweep syntax: parsing, grid expansion, random sampling, error messages."""
from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvc_compat.errors import SweepSyntaxError
from dvc_compat.sweep import (
    DELETE,
    count,
    expand_grid,
    format_combination,
    group_by_file,
    is_sweep,
    parse_override,
    parse_overrides,
    sample_random,
)


@pytest.mark.parametrize(
    ("text", "file", "key", "op", "kind", "values"),
    [
        ("train.lr=0.1", None, "train.lr", "set", "value", (0.1,)),
        ("other.yaml:seed=3", "other.yaml", "seed", "set", "value", (3,)),
        ("+train.dropout=0.5", None, "train.dropout", "add", "value", (0.5,)),
        ("++x=1", None, "x", "force_add", "value", (1,)),
        ("~old.key", None, "old.key", "delete", "value", (DELETE,)),
        ("a=1,2,3", None, "a", "set", "choice", (1, 2, 3)),
        ("a=x,y", None, "a", "set", "choice", ("x", "y")),
        ("a=[1,2],[3]", None, "a", "set", "choice", ([1, 2], [3])),
        ("a=[1,2]", None, "a", "set", "value", ([1, 2],)),
        ("a='x,y'", None, "a", "set", "value", ("x,y",)),
        ('a="p,q",r', None, "a", "set", "choice", ("p,q", "r")),
        ("a={k: 1, j: 2}", None, "a", "set", "value", ({"k": 1, "j": 2},)),
        ("a=choice(adam, 'b,c', null, true)", None, "a", "set", "choice", ("adam", "b,c", None, True)),
        ("a=range(1,4)", None, "a", "set", "range", (1, 2, 3)),
        ("a=range(5,0,-2)", None, "a", "set", "range", (5, 3, 1)),
        ("a=range(0.1,0.4,0.1)", None, "a", "set", "range", (0.1, 0.2, 0.3)),
        ("a=range(0, 1, 0.25)", None, "a", "set", "range", (0.0, 0.25, 0.5, 0.75)),
        ("a=range(3,3)", None, "a", "set", "range", ()),
        ("a=uniform(0,1)", None, "a", "set", "uniform", (0, 1)),
        ("a=loguniform(1e-4, 0.1)", None, "a", "set", "loguniform", (0.0001, 0.1)),
        ("a=randint(1,10)", None, "a", "set", "randint", (1, 10)),
        ("a=", None, "a", "set", "value", ("",)),
        ("a=foo(x)", None, "a", "set", "value", ("foo(x)",)),
        ("sub/p.json:a.b=1", "sub/p.json", "a.b", "set", "value", (1,)),
    ],
)
def test_parse_override(text: str, file: str | None, key: str, op: str, kind: str, values: tuple) -> None:
    o = parse_override(text)
    assert (o.file, o.key, o.op, o.sweep.kind) == (file, key, op, kind)
    assert o.sweep.values == values
    assert [type(v) for v in o.sweep.values] == [type(v) for v in values]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train.lr=range(1,)", "-S 'train.lr=range(1,)': range() needs 2 or 3 numbers: 'range(1,)' (column 10)"),
        ("a=range(1,2,3,4)", "-S 'a=range(1,2,3,4)': range() needs 2 or 3 numbers: 'range(1,2,3,4)' (column 3)"),
        ("a=range(1,5,0)", "-S 'a=range(1,5,0)': range() step must not be 0: 'range(1,5,0)' (column 3)"),
        ("a=range(x,5)", "-S 'a=range(x,5)': range() needs numbers, got 'x' (column 9)"),
        ("a=1,,2", "-S 'a=1,,2': empty value in comma list: '1,,2' (column 5)"),
        ("a=[1,2", "-S 'a=[1,2': unclosed '[': '[1,2' (column 3)"),
        ("a=1,2]", "-S 'a=1,2]': unbalanced ']': '1,2]' (column 6)"),
        ("a='x", "-S 'a='x': unterminated quote: ''x' (column 3)"),
        ("a", "-S 'a': expected [file:]key=value: 'a' (column 1)"),
        ("=3", "-S '=3': missing key: '=3' (column 1)"),
        ("a b=1", "-S 'a b=1': invalid key: 'a b' (column 1)"),
        (":a=1", "-S ':a=1': empty file name before ':': ':a' (column 1)"),
        ("a=glob(x*)", "-S 'a=glob(x*)': glob() is not supported in sweeps: 'glob(x*)' (column 3)"),
        ("a=randint(1.5,3)", "-S 'a=randint(1.5,3)': randint() needs integers: 'randint(1.5,3)' (column 3)"),
        ("a=loguniform(0,1)", "-S 'a=loguniform(0,1)': loguniform() needs positive bounds: 'loguniform(0,1)' (column 3)"),
        ("a=uniform(2,1)", "-S 'a=uniform(2,1)': uniform() needs low <= high: 'uniform(2,1)' (column 3)"),
        ("a=choice()", "-S 'a=choice()': choice() needs at least one value: 'choice()' (column 3)"),
    ],
)
def test_syntax_errors_name_token_and_column(text: str, message: str) -> None:
    with pytest.raises(SweepSyntaxError) as info:
        parse_override(text)
    assert str(info.value) == message


def test_same_target_twice_is_rejected() -> None:
    with pytest.raises(SweepSyntaxError, match="already set"):
        parse_overrides(["a=1", "params.yaml:a=2"])


def test_grid_is_cartesian_product_in_order() -> None:
    ov = parse_overrides(["a=1,2", "other.yaml:b=range(0,3)", "+c=x"])
    assert count(ov) == 6
    grid = expand_grid(ov)
    assert len(grid) == 6
    assert grid[0] == {(None, "a"): 1, ("other.yaml", "b"): 0, (None, "c"): "x"}
    assert grid[1] == {(None, "a"): 1, ("other.yaml", "b"): 1, (None, "c"): "x"}
    assert grid[-1] == {(None, "a"): 2, ("other.yaml", "b"): 2, (None, "c"): "x"}
    assert is_sweep(ov) and not is_sweep(parse_overrides(["a=1"]))


def test_grid_rejects_distributions() -> None:
    ov = parse_overrides(["a=uniform(0,1)"])
    with pytest.raises(SweepSyntaxError, match="can only be sampled"):
        expand_grid(ov)
    with pytest.raises(SweepSyntaxError):
        count(ov)


def test_random_sampling_is_deterministic_and_in_bounds() -> None:
    ov = parse_overrides(["m=a,b,c", "lr=loguniform(1e-4,1e-1)", "n=randint(1,3)", "d=uniform(-1,1)"])
    s1 = sample_random(ov, 50, seed=7)
    assert s1 == sample_random(ov, 50, seed=7)
    assert s1 != sample_random(ov, 50, seed=8)
    for combo in s1:
        assert combo[(None, "m")] in ("a", "b", "c")
        assert 1e-4 <= combo[(None, "lr")] <= 1e-1
        assert combo[(None, "n")] in (1, 2, 3)
        assert -1 <= combo[(None, "d")] <= 1
    assert {c[(None, "n")] for c in s1} == {1, 2, 3}  # both ends inclusive
    logs = [math.log10(c[(None, "lr")]) for c in sample_random(ov, 400, seed=1)]
    assert sum(1 for x in logs if x < -2.5) > 100  # log-uniform: half the mass below the log midpoint


def test_group_by_file_and_format() -> None:
    ov = parse_overrides(["a=1,2", "other.yaml:b=x", "+c=true", "~d"])
    combo = expand_grid(ov)[1]
    edits = group_by_file(combo, ov)
    assert edits["params.yaml"].values == {"a": 2, "c": True}
    assert edits["params.yaml"].allow_new == {"c"} and edits["params.yaml"].remove == ["d"]
    assert edits["other.yaml"].values == {"b": "x"}
    assert format_combination(combo) == "a=2 other.yaml:b=x c=true ~d"


@given(st.lists(st.lists(st.integers(-50, 50), min_size=1, max_size=4), min_size=1, max_size=4))
@settings(max_examples=100, deadline=None)
def test_expansion_count_matches_product(lists: list[list[int]]) -> None:
    texts = [f"k{i}=" + ",".join(map(str, vals)) for i, vals in enumerate(lists)]
    ov = parse_overrides(texts)
    grid = expand_grid(ov)
    assert len(grid) == count(ov) == math.prod(len(v) for v in lists)
    # first override varies slowest, like itertools.product
    assert [tuple(c[(None, f"k{i}")] for i in range(len(lists))) for c in grid] == list(itertools.product(*lists))


@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(-5, 5).filter(bool))
@settings(max_examples=100, deadline=None)
def test_int_range_matches_python_range(start: int, stop: int, step: int) -> None:
    assert parse_override(f"a=range({start},{stop},{step})").sweep.values == tuple(range(start, stop, step))


HYDRA_VALUES = [
    "0x1F", "0b11", "1e3", "1E3", "-1.5e-3", "+3", "TRUE", "False", "NULL", "Null", ".inf", "-inf", "INF", "NaN",
    "1.", ".5", "01", "007", "1_000.5", "a:b", "a: b", '"q"', "[a, b c]", "[1,[2,3]]", "{a: [1]}", "[]", "{}",
    "a b ", "' x '", "hello world", "3.0", "${x}", "http://x/y", "-", "True ", "yes", "on", "2020-01-01T10:00:00",
    "12:30", "0.1.2", "v1.2", "1e", "e3", '""', '[1, "a,b"]', "{a: 1, b: [x, y]}", "ab\\,c", "[0x1F, 01, inf]",
    "'it\\'s'", "C:\\path", "[ a , b ]", "1__0", "_1", "1_", "a\\ b", "lightgbm", "-0.0", "1e-05", "100",
]


@pytest.mark.dvc
@pytest.mark.parametrize("text", HYDRA_VALUES)
def test_values_typed_exactly_as_hydra_does(text: str) -> None:
    """hydra-core (installed with dvc; what `dvc exp run -S` uses) is the reference for value typing."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from dvc_compat.params import format_value, parse_value

    expected = OverridesParser.create().parse_override(f"a={text}").value()
    got = parse_value(text)
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(got, float) and math.isnan(got)
    else:
        assert got == expected and type(got) is type(expected)
        # what we print for a value (names, logs, queue entries) Hydra reads back to the same value
        assert OverridesParser.create().parse_override(f"a={format_value(got)}").value() == expected


@pytest.mark.dvc
@pytest.mark.parametrize(
    "text",
    ["a=1,2,3", "a=x,'y,z',[1,2]", "a=choice(adam, sgd)", "a=range(1,5)", "a=range(10,0,-3)", "a=range(0,7,2)",
     "a=ab\\,c,d", "a=true,NULL,1e-3"],
)
def test_sweeps_expand_as_hydra_does(text: str) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    o = OverridesParser.create().parse_override(text)
    expected = list(o.sweep_iterator()) if o.is_sweep_override() else [o.value()]
    expected = [getattr(x, "text", x) for x in expected]  # Hydra wraps quoted choices in QuotedString
    got = list(parse_override(text).sweep.values)
    assert got == expected and [type(x) for x in got] == [type(x) for x in expected]


def test_trial_names_say_what_varies_and_stay_unique() -> None:
    from dvc_compat.sweep import trial_names

    combos = expand_grid(parse_overrides(["train.max_depth=3,5", "train.learning_rate=0.05,0.1",
                                          "train.model=random_forest", "train.use_gpu=true,false"]))
    names = trial_names(combos, lambda n: n == "md3-lr0.05-ug")
    assert names[:3] == ["md3-lr0.05-ug-2", "md3-lr0.05-noug", "md3-lr0.1-ug"]
    assert len(set(names)) == len(names) == 8                      # the constant model is left out of every name
    strings = trial_names(expand_grid(parse_overrides(["train.model=lightgbm,random_forest"])), lambda n: False)
    assert strings == ["lightgbm", "random_forest"]
    # random draws that round to the same text get a suffix, never a duplicate
    same = trial_names([{(None, "lr"): 0.100001}, {(None, "lr"): 0.1000002}], lambda n: False)
    assert same == ["lr0.1", "lr0.1-2"]
    # nothing varies (one trial), or a name that would read as a sha or an option: the caller generates one
    assert trial_names(expand_grid(parse_overrides(["a=1"])), lambda n: False) == [None]
    assert trial_names([{(None, "x"): "abcd"}, {(None, "x"): "-rf"}], lambda n: False) == [None, "rf"]
    assert all(n is None or len(n) <= 60 for n in trial_names(
        [{(None, "k"): "v" * 50 + str(i), (None, "j"): "w" * 50} for i in range(2)], lambda n: False))
