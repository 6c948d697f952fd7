"""Params files: loading by extension, dotted keys, -S value typing and comment-keeping edits (real files)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvc_compat.errors import FormatError
from dvc_compat.params import (
    apply_overrides,
    flatten,
    format_value,
    get_dotted,
    load_params,
    parse_value,
)
from dvc_compat.yamlio import load_yaml


def test_yaml_is_read_as_yaml_1_2_like_dvc(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text("a: 1e-3\nb: yes\nc: 0o17\nd: 0x1F\ne: 1_000\nf: .inf\ng: ~\nh: True\ni: 010\nj: off\n")
    d = load_params(p)
    assert d == {"a": 0.001, "b": "yes", "c": 15, "d": 31, "e": 1000, "f": float("inf"), "g": None,
                 "h": True, "i": 10, "j": "off"}


def test_unknown_extension_is_yaml_and_empty_is_empty(tmp_path: Path) -> None:
    (tmp_path / "p.cfg").write_text("a: 1\n")
    (tmp_path / "e.yaml").write_text("# nothing\n")
    assert load_params(tmp_path / "p.cfg") == {"a": 1}
    assert load_params(tmp_path / "e.yaml") == {}


def test_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"b": {"x": 1}, "a": [1, 2]}')
    (tmp_path / "p.toml").write_text("[train]\nlr = 0.1\nlayers = [1, 2]\n")
    assert list(load_params(tmp_path / "p.json")) == ["b", "a"]
    assert load_params(tmp_path / "p.toml") == {"train": {"lr": 0.1, "layers": [1, 2]}}


def test_python_params_are_read_without_executing(tmp_path: Path) -> None:
    p = tmp_path / "params.py"
    marker = tmp_path / "executed"
    p.write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        "LR = 0.1\n"
        "NAME: str = 'net'\n"
        "LAYERS = [1, 2]\n"
        "OPTS = {'a': 1}\n"
        "COMPUTED = LR * 2\n"
        "class Train:\n"
        "    epochs = 3\n"
        "    def __init__(self):\n"
        "        self.depth = 4\n"
        "        self.other = compute()\n"
    )
    assert load_params(p) == {"LR": 0.1, "NAME": "net", "LAYERS": [1, 2], "OPTS": {"a": 1},
                              "Train": {"epochs": 3, "depth": 4}}
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("p.yaml", "a: [1\nb: 2\n", 2),
        ("p.json", '{"a": 1,\n "b": }', 2),
        ("p.toml", "a = 1\nb = \n", 2),
        ("p.py", "a = 1\nb = (\n", 2),
    ],
)
def test_parse_errors_name_file_and_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(FormatError) as info:
        load_params(p, display=name)
    assert info.value.path == name and info.value.line == line
    assert str(info.value).startswith(f"{name}:{line}: ")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(FormatError, match="mapping"):
        load_params(tmp_path / "p.yaml")


def test_flatten_and_get_dotted() -> None:
    d = {"train": {"lr": 0.1, "opt": {"name": "adam"}, "layers": [1, 2], "empty": {}}, "seed": 1, "a.b": 5}
    assert flatten(d) == {"train.lr": 0.1, "train.opt.name": "adam", "train.layers": [1, 2], "seed": 1, "a.b": 5}
    assert get_dotted(d, "train.opt") == {"name": "adam"}
    assert get_dotted(d, "train.layers.1") == 2
    assert get_dotted(d, "a.b") == 5
    assert get_dotted(d, "train.nope", None) is None
    with pytest.raises(KeyError):
        get_dotted(d, "train.lr.x")


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), ("-2", -2), ("0.1", 0.1), ("1e-3", 0.001), ("true", True), ("false", False), ("null", None),
     ("[1,2]", [1, 2]), ("{a: 1}", {"a": 1}), ("abc", "abc"), ("'3'", "3"), ('"x y"', "x y"), ("yes", "yes"),
     ("2020-01-01", "2020-01-01"), ("", ""), ("a: b", "a: b"), ("a#b", "a#b"), ("lightgbm", "lightgbm")],
)
def test_parse_value_types_like_dvc(text: str, value: object) -> None:
    got = parse_value(text)
    assert got == value and type(got) is type(value)


@given(st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
))
@settings(max_examples=200, deadline=None)
def test_format_value_round_trips_through_parse_value(value: object) -> None:
    assert parse_value(format_value(value)) == value


YAML_TEXT = """\
# Training parameters
train:
  lr: 0.1       # learning rate
  epochs: 3
  layers: [1, 2]
  name: 'net'
prepare:
  split: 0.2
seed: 42  # seed
"""


def test_yaml_override_keeps_comments_and_order(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text(YAML_TEXT)
    apply_overrides(p, {"train.lr": 0.01, "seed": 7, "train.layers": [3, 4, 5]})
    text = p.read_text()
    assert "# Training parameters" in text and "# learning rate" in text and "# seed" in text
    assert text.index("train:") < text.index("prepare:") < text.index("seed:")
    assert "name: net" in text  # as DVC writes it: ruamel's default quoting
    assert load_yaml(text) == {"train": {"lr": 0.01, "epochs": 3, "layers": [3, 4, 5], "name": "net"},
                               "prepare": {"split": 0.2}, "seed": 7}
    assert text.replace("0.01", "0.1").replace("seed: 7", "seed: 42").replace("[3, 4, 5]", "[1, 2]") \
        .replace("lr: 0.1 ", "lr: 0.1 ").splitlines()[0] == "# Training parameters"


def test_unknown_key_is_an_error_with_suggestion_and_file_untouched(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text(YAML_TEXT)
    with pytest.raises(FormatError) as info:
        apply_overrides(p, {"train.lrr": 1}, display="params.yaml")
    msg = str(info.value)
    assert msg.startswith("params.yaml: unknown key 'train.lrr'")
    assert "did you mean 'train.lr'" in msg and "+train.lrr=" in msg
    assert p.read_text() == YAML_TEXT


def test_allow_new_adds_keys_and_sections(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text(YAML_TEXT)
    apply_overrides(p, {"train.dropout": 0.5, "new.deep.key": "x"}, allow_new={"train.dropout", "new.deep.key"})
    d = load_params(p)
    assert d["train"]["dropout"] == 0.5 and d["new"] == {"deep": {"key": "x"}}


def test_remove_key(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text(YAML_TEXT)
    apply_overrides(p, {}, remove=["prepare.split"])
    assert load_params(p)["prepare"] == {}


def test_missing_file_created_only_for_new_keys(tmp_path: Path) -> None:
    p = tmp_path / "new.yaml"
    with pytest.raises(FormatError, match="does not exist"):
        apply_overrides(p, {"a": 1})
    apply_overrides(p, {"a.b": 1}, allow_new={"a.b"})
    assert load_params(p) == {"a": {"b": 1}}


def test_json_override_keeps_order_and_writes_one_line_like_dvc(tmp_path: Path) -> None:
    p = tmp_path / "p.json"
    p.write_text('{\n    "z": 1,\n    "a": {\n        "lr": 0.1, "n": "\u00e9"\n    }\n}\n')
    apply_overrides(p, {"a.lr": 0.5})
    assert p.read_text() == '{"z": 1, "a": {"lr": 0.5, "n": "\\u00e9"}}'
    assert json.loads(p.read_text())["a"]["lr"] == 0.5


def test_toml_override_keeps_comments(tmp_path: Path) -> None:
    p = tmp_path / "p.toml"
    p.write_text("# top\n[train]\nlr = 0.1  # rate\nepochs = 3\n")
    apply_overrides(p, {"train.lr": 0.2})
    assert p.read_text() == "# top\n[train]\nlr = 0.2  # rate\nepochs = 3\n"
    with pytest.raises(FormatError, match="null"):
        apply_overrides(p, {"train.lr": None})


def test_python_override_replaces_literals_in_place(tmp_path: Path) -> None:
    p = tmp_path / "params.py"
    p.write_text("LR = 0.1  # rate\nclass Train:\n    epochs = 3\n    def __init__(self):\n        self.depth = 4\n")
    apply_overrides(p, {"LR": 0.05, "Train.epochs": 10, "Train.depth": 7})
    assert p.read_text() == (
        "LR = 0.05  # rate\nclass Train:\n    epochs = 10\n    def __init__(self):\n        self.depth = 7\n"
    )
    with pytest.raises(FormatError, match="not supported"):
        apply_overrides(p, {"NEW": 1}, allow_new={"NEW"})
    with pytest.raises(FormatError, match="unknown key 'LRR'"):
        apply_overrides(p, {"LRR": 1})


def test_list_index_override(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text("layers: [1, 2, 3]\n")
    apply_overrides(p, {"layers.1": 20})
    assert load_params(p) == {"layers": [1, 20, 3]}
    with pytest.raises(FormatError):
        apply_overrides(p, {"layers.9": 1})


PY_PARAMS = '''\
import math
LR = 0.1
NAME: str = "net"
EPOCHS: int
A = B = 3
LAYERS = [1, 2, (3, 4)]
OPTS = {"a": 1, "b": [1, 2]}
TAGS = {"x", "y"}
PAIR = (1, "two")
NEG = -5
COMPUTED = LR * 2
CALL = math.sqrt(2)
class Train:
    epochs = 3
    nested = {"k": None}
    def __init__(self, x):
        self.depth = 4
        self.other = x
        local = 5
    class Inner:
        deep = True
def helper():
    HIDDEN = 1
'''


@pytest.mark.dvc
def test_python_params_equal_dvcs_reader(tmp_path: Path) -> None:
    from dvc.utils.serialize._py import parse_py

    p = tmp_path / "params.py"
    p.write_text(PY_PARAMS)
    assert load_params(p) == parse_py(PY_PARAMS, str(p))
