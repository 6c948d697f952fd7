"""The filter's ``~=`` against hostile patterns and values (issue 9, item 6).

``tag ~= '(a+)+b'`` hung `exptui show --filter` and froze the dashboard (its filter runs on the UI thread):
Python's `re` backtracks 2^28 times on a 28-``a`` value. Patterns now run on RE2, linear in the text.

* the CLI: bounded run (time-out, peak memory) on a real repo whose param ``tag`` is ``a``x28 + ``c``;
* the dashboard: the real app under Pilot, the filter typed key by key, the table must settle (no freeze);
* a hypothesis fuzz, 2,000+ examples with a per-example deadline (2 s: generous for a busy machine, while a
  catastrophic backtrack takes minutes), over the whole filter grammar with generated regexes, against rows whose
  values are built to make backtracking engines blow up.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exptui.query.columns import collect_columns
from exptui.query.filter import FilterError, compile_filter
from exptui.records import Annotations, ExperimentRow, RunFacts
from hostile_repo import TAG, copy_repo, error_lines, make_template, run_bounded
from tests.tui_support import async_test, wait_for

pytestmark = pytest.mark.timeout(600)
EVIL = "(a+)+b"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("hostile-filter") / "template")


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return copy_repo(template, tmp_path / "repo")


def test_catastrophic_regex_in_the_cli_filter(repo: Path) -> None:
    for args in (("show", "--json", "--filter", f"tag ~= '{EVIL}'"), ("show", "--filter", f"tag ~= '{EVIL}'"),
                 ("show", "--json", "--filter", "tag ~= '^(a|aa)+$'"), ("show", "--json", "--filter",
                                                                        "name ~= '(.*a){25}'")):
        result = run_bounded(repo, *args)
        result.check_bounds()
        assert result.rc == 0, result.stderr
        if "--json" in args:
            assert [r["name"] for r in json.loads(result.stdout) if r["kind"] == "experiment"] == []
    result = run_bounded(repo, "show", "--json", "--filter", "tag ~= 'a+c$'")
    assert [r["name"] for r in json.loads(result.stdout) if r["kind"] == "experiment"] == ["e1"]


def test_lookaround_is_refused_with_one_line_naming_why(repo: Path) -> None:
    result = run_bounded(repo, "show", "--filter", "tag ~= '(?=a)a'")
    result.check_bounds()
    lines = error_lines(result.stderr)
    assert result.rc != 0 and lines and lines[0].startswith("error: ") and "lookaround" in lines[0], result.stderr


@async_test
async def test_catastrophic_regex_never_freezes_the_dashboard(repo: Path) -> None:
    from exptui.project import Project
    from exptui.tui.app import ExptuiApp
    from exptui.tui.view_state import ViewState

    app = ExptuiApp(Project.open(repo), repo, poll_interval=0.1, view=ViewState())
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        table = app.main.table
        assert any(r.name == "e1" for r in table.rows)
        await pilot.press("slash")
        await pilot.press(*f"tag ~= '{EVIL}'")         # every prefix is filtered too, on the UI thread
        await wait_for(pilot, lambda: not any(r.kind == "experiment" for r in table.rows))
        await pilot.press("escape")
        await wait_for(pilot, lambda: any(r.name == "e1" for r in table.rows))


# --- the fuzz -------------------------------------------------------------------------------------------------


def _row(name: str, **values: Any) -> ExperimentRow:
    return ExperimentRow(name=name, rev=(name.encode().hex() * 40)[:40], baseline="b" * 40,
                         params={"params.yaml": {k: v for k, v in values.items()}},
                         metrics={"metrics.json": {"f1": 0.5, "loss": 1.0}},
                         annotations=Annotations(labels=("a" * 40 + "c", "keep")), created=datetime(2026, 1, 1),
                         facts=RunFacts(duration=60.0))


ROWS = [
    _row("aaaaaaaaaaaaaaaaaaaaaaaaaaaac", tag=TAG, lr=0.1, text="a" * 5000 + "c", model="lgbm"),
    _row("x" * 250, tag="ab" * 2000 + "c", lr=0.3, text="\udcff surrogate" + "a" * 100, model="rf"),
    _row("plain", tag="keep", lr=1e-9, text="é ü 中 " * 200, model="rf"),
]
ROWS[2].errors["metrics.json"] = "metrics.json: broken"
COLUMNS = collect_columns(ROWS)
REFS = ["tag", "lr", "text", "model", "name", "f1", "loss", "status", "kind", "label", "created", "duration",
        "note", "starred", "`params.yaml:tag`"]

# regex pieces chosen for backtracking blow-ups (nested and adjacent quantifiers, overlapping alternations),
# plus what RE2 refuses (lookaround, backreferences) and what is not a regex at all
_atoms = st.sampled_from(["a", "b", "c", ".", r"\w", r"\d", "[ab]", "[^c]", "(a|aa)", "(a|a)", "(?:ab)", "é",
                          "(?=a)", r"(a)\1", "(", ")", "[", "\\", "{2,", "^", "$", r"\b"])
_quants = st.sampled_from(["", "", "*", "+", "?", "{2,}", "{1,30}", "*?", "+?", "{25}"])


def _group(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda parts, q: "(" + "".join(parts) + ")" + q, st.lists(inner, min_size=1, max_size=4),
                     _quants)


_regex_piece = st.recursive(st.builds(lambda a, q: a + q, _atoms, _quants), _group, max_leaves=8)
REGEXES = st.lists(_regex_piece, min_size=1, max_size=5).map("".join) | st.sampled_from(
    ["(a+)+b", "(a*)*b", "(a|aa)+c$", "(.*a){25}", "^(\\w+\\s?)*$", "(x+x+)+y", "a{1000}{1000}"])


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_values = st.one_of(st.integers(-10, 10).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
                    st.sampled_from(["'rf'", "'lgbm'", "true", "false", "null", "'2026-01-01'", "'2h'", "'1h30m'",
                                     "bare", "'success'", "'failed'"]),
                    st.text(max_size=8).map(_quote))
_refs = st.sampled_from(REFS)
_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "=", "~=", "=~"])
_compare = st.builds(lambda r, o, v: f"{r} {o} {v}", _refs, _ops, _values)
_match = st.builds(lambda r, p: f"{r} ~= {_quote(p)}", _refs, REGEXES)
_flipped = st.builds(lambda v, o, r: f"{v} {o} {r}", _values, _ops, _refs)
_in = st.builds(lambda r, neg, vs: f"{r} {'not ' if neg else ''}in [{', '.join(vs)}]", _refs, st.booleans(),
                st.lists(_values, max_size=4))
_is = st.builds(lambda r, neg, w: f"{r} is {'not ' if neg else ''}{w}", _refs, st.booleans(),
                st.sampled_from(["missing", "null", "true", "false"]))
_misc = st.sampled_from(["is starred", "is not failed", "has note", "has label 'keep'", "starred",
                         "'aaaa'"]) | REGEXES.map(_quote)
_condition = st.one_of(_match, _match, _compare, _flipped, _in, _is, _misc)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["and", "or", "&&", "||"]), inner),
        st.builds(lambda a: f"not ({a})", inner),
        st.builds(lambda a: f"!{a}", inner),
        st.builds(lambda a: f"({a})", inner),
    )


FILTERS = st.recursive(_condition, _combine, max_leaves=4)


@settings(max_examples=2000, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(FILTERS | st.text(max_size=40) | st.builds(lambda f, cut: f[:cut], FILTERS, st.integers(0, 60)))
def test_filter_fuzz_never_hangs_or_crashes(text: str) -> None:
    """Every filter (whole, garbage, or cut mid-way as the filter bar sees it per keystroke) either compiles or is
    a FilterError pointing inside the text; compiled, it runs over the hostile rows within the deadline."""
    try:
        predicate = compile_filter(text, COLUMNS)
    except FilterError as exc:
        assert 0 <= exc.column <= max(len(text) - 1, 0)
        return
    kept = predicate.filter(ROWS)
    assert all(row in ROWS for row in kept)


def test_fuzz_corpus_reaches_the_dangerous_cases() -> None:
    """The fuzz is worth its examples only if RE2 actually runs the blow-up patterns on the hostile values."""
    for pattern in ("(a+)+b", "(a|aa)+c$", "(.*a){25}", "(x+x+)+y"):
        predicate = compile_filter(f"text ~= {_quote(pattern)} or tag ~= {_quote(pattern)}", COLUMNS)
        predicate.filter(ROWS)
    assert [r.name for r in compile_filter("tag ~= 'a+c$'", COLUMNS).filter(ROWS)] == [ROWS[0].name]
    assert [r.name for r in compile_filter("text ~= '中'", COLUMNS).filter(ROWS)] == ["plain"]
    with pytest.raises(FilterError, match="lookaround"):
        compile_filter("tag ~= '(?=a)a'", COLUMNS)
    # not a regex at all: plain text, as before (typing `lr(` never errors)
    assert compile_filter("name ~= 'pl(a'", COLUMNS).filter(ROWS) == []
    assert [r.name for r in compile_filter("model ~= 'LGBM' or model ~= 'lgbm'", COLUMNS).filter(ROWS)] == [
        ROWS[0].name]


def test_column_keep_drop_patterns_are_bounded_too() -> None:
    """The column chooser matches user patterns against column names, which come from data keys."""
    from exptui.query.table import TableModel

    long_key = "a" * 5000 + "c"
    rows = [_row("r1", **{long_key: 1, "lr": 0.1})]
    table = TableModel(rows)
    table.set_keep([EVIL, "(.*a){25}", "lr"])
    table.set_drop(["(a|aa)+c"])
    ids = [c.id for c in table.shown_columns]
    assert any(i.endswith(":lr") for i in ids) and not any(long_key in i for i in ids)
