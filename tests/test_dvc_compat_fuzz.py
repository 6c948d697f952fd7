"""Bad input never escapes as a traceback: every parser either succeeds or raises its one-line error type."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvc_compat.dotdvc import parse_dotdvc
from dvc_compat.dvcyaml import STAGE_KEYS, parse_dvcfile
from dvc_compat.errors import FormatError, SweepSyntaxError
from dvc_compat.lockfile import parse_lock
from dvc_compat.params import parse_params
from dvc_compat.sweep import parse_override

_KEYS = st.sampled_from(list(STAGE_KEYS) + ["foreach", "do", "matrix", "vars", "path", "cache", "md5", "x",
                                            "${a}", "stages", "schema", "outs", "size", "nfiles"])
_SCALARS = (st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, width=16)
            | st.sampled_from(["${a}", "${a.b}", "${item}", "${key}", "\\${x}", "x", "", "${", "a@b", "2.0",
                               "${a[0]}", "${}", "data/${a}.csv", "params.yaml", "p.yaml:a,b"]))
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS | st.text(max_size=4), inner, max_size=4),
    max_leaves=25,
)


def _line_ok(err: Exception) -> None:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text


@given(_DOCS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_dvcfile_parser_only_raises_format_error(doc: object) -> None:
    text = yaml.safe_dump({"vars": [{"a": {"b": [1, 2]}}], "stages": {"s": doc}} if isinstance(doc, dict) else doc)
    try:
        parse_dvcfile(text, Path("/nonexistent-root"), "dvc.yaml")
    except FormatError as exc:
        _line_ok(exc)
        assert exc.path == "dvc.yaml"


@given(_DOCS)
@settings(max_examples=200, deadline=None)
def test_lock_parser_only_raises_format_error(doc: object) -> None:
    text = yaml.safe_dump({"schema": "2.0", "stages": doc} if isinstance(doc, dict) else doc)
    try:
        parse_lock(text, "dvc.lock")
    except FormatError as exc:
        _line_ok(exc)


@given(_DOCS)
@settings(max_examples=200, deadline=None)
def test_dotdvc_parser_only_raises_format_error(doc: object) -> None:
    try:
        parse_dotdvc(yaml.safe_dump(doc), "x.dvc")
    except FormatError as exc:
        _line_ok(exc)


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
@settings(max_examples=300, deadline=None)
def test_params_parsers_only_raise_format_error(data: bytes) -> None:
    for fmt in ("yaml", "json", "toml", "py"):
        try:
            parse_params(data, f"p.{fmt}", fmt)
        except FormatError as exc:
            _line_ok(exc)


_TOKENS = st.sampled_from(list("ab.:=+~,[]{}()'\"\\ 0123456789-e") + ["range(", "choice(", "uniform(", "randint(", "\n"])


@given(st.lists(_TOKENS, max_size=20).map("".join))
@settings(max_examples=500, deadline=None)
def test_override_parser_only_raises_sweep_syntax_error(text: str) -> None:
    try:
        o = parse_override(text)
    except SweepSyntaxError as exc:
        _line_ok(exc)
        assert str(exc).startswith("-S '" + text.replace("\n", "\\n") + "'")
    else:
        json.dumps(o.key)  # parsed overrides are plain data
