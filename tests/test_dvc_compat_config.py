"""DVC config parsing, init files, the YAML loader, and .dvc files (real files in temp dirs)."""
from __future__ import annotations

from pathlib import Path

import pytest

from dvc_compat.config import init_dvc_dir, load_config, parse_config_text
from dvc_compat.dotdvc import DotDvcFile, dump_dotdvc, parse_dotdvc, read_dotdvc, write_dotdvc
from dvc_compat.errors import FormatError
from dvc_compat.model import HashInfo
from dvc_compat.yamlio import HAVE_LIBYAML, SafeLoader12, find_line, load_yaml, rt_dumps, rt_load


def test_parse_configobj_style() -> None:
    text = (
        "[core]\n    remote = store\n    autostage = true\n"
        "[cache]\n    type = \"reflink,copy\"\n    dir = ../cache  # shared\n"
        "['remote \"store\"']\n    url = s3://b/p\n"
        "[\"remote \\\"x\\\"\"]\n    url = /x\n"
        "# comment\n; another\n"
    )
    d = parse_config_text(text)
    assert d["core"] == {"remote": "store", "autostage": "true"}
    assert d["cache"] == {"type": "reflink,copy", "dir": "../cache"}
    assert d['remote "store"'] == {"url": "s3://b/p"}


def test_bad_config_line_is_reported_with_line() -> None:
    with pytest.raises(FormatError) as info:
        parse_config_text("[core]\n    remote = x\n  garbage line\n")
    assert info.value.line == 3 and ".dvc/config:3:" in str(info.value)


def test_load_config_defaults_and_local_override(tmp_path: Path) -> None:
    init_dvc_dir(tmp_path)
    cfg = load_config(tmp_path)
    assert cfg.cache_dir == tmp_path / ".dvc" / "cache"
    assert cfg.link_types == ("reflink", "copy") and cfg.core_remote is None and cfg.remotes == {}
    (tmp_path / ".dvc" / "config").write_text("[cache]\n    dir = /abs/cache\n    type = copy\n"
                                              "['remote \"r\"']\n    url = /r\n")
    (tmp_path / ".dvc" / "config.local").write_text("[cache]\n    dir = ../local-cache\n"
                                                    "['remote \"r\"']\n    password = x\n")
    cfg = load_config(tmp_path)
    assert cfg.cache_dir == tmp_path / "local-cache"
    assert cfg.link_types == ("copy",)
    assert cfg.remotes == {"r": {"url": "/r", "password": "x"}}


def test_load_config_without_dvc_dir(tmp_path: Path) -> None:
    assert load_config(tmp_path).cache_dir == tmp_path / ".dvc" / "cache"


def test_loader_is_the_c_loader() -> None:
    assert HAVE_LIBYAML and "CParser" in [c.__name__ for c in SafeLoader12.__mro__]


def test_loader_rejects_python_tags() -> None:
    with pytest.raises(FormatError):
        load_yaml("a: !!python/object/apply:os.system ['echo hi']\n", "evil.yaml")


def test_find_line_follows_keys_and_indexes() -> None:
    text = "a:\n  b:\n    - x\n    - y: 1\n      z: 2\n"
    assert find_line(text, ["a"]) == 1
    assert find_line(text, ["a", "b", 1, "z"]) == 5
    assert find_line(text, ["a", "missing"]) == 1
    assert find_line("a: [\n", ["a"]) is None


def test_round_trip_helpers_keep_comments() -> None:
    text = "# head\na: 1  # one\nb: [1, 2]\n"
    doc = rt_load(text)
    doc["a"] = 2
    assert rt_dumps(doc) == "# head\na: 2  # one\nb: [1, 2]\n"
    with pytest.raises(FormatError) as info:
        rt_load("a: [\n", "x.yaml")
    assert str(info.value).startswith("x.yaml:")


def test_dotdvc_round_trip_and_flags(tmp_path: Path) -> None:
    text = ("outs:\n- md5: 3e2b31c72181b87149ff995e7202c0e3\n  size: 10\n  isexec: true\n  hash: md5\n"
            "  path: run.sh\n  desc: a tool\n  cache: false\n")
    f = parse_dotdvc(text, "run.sh.dvc")
    assert f.outs == [HashInfo("run.sh", "3e2b31c72181b87149ff995e7202c0e3", 10, None, True)]
    assert f.out_flags == [{"desc": "a tool", "cache": False}]
    assert dump_dotdvc(f) == text
    p = tmp_path / "new.dvc"
    write_dotdvc(p, DotDvcFile(outs=[HashInfo("d", "a" * 32 + ".dir", 3, 2)]))
    assert p.read_text() == f"outs:\n- md5: {'a' * 32}.dir\n  size: 3\n  nfiles: 2\n  hash: md5\n  path: d\n"
    assert read_dotdvc(p).outs[0].nfiles == 2


@pytest.mark.parametrize("text", ["- 1\n", "outs: []\n", "outs:\n- md5: abc\n", "wdir: .\n"])
def test_dotdvc_errors(text: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_dotdvc(text, "x.dvc")
    assert str(info.value).startswith("x.dvc")


def test_cache_dir_shortcut(tmp_path: Path) -> None:
    from dvc_compat.config import cache_dir

    init_dvc_dir(tmp_path)
    assert cache_dir(tmp_path) == tmp_path / ".dvc" / "cache"
    (tmp_path / ".dvc" / "config").write_text("[cache]\n    dir = ../c\n")
    assert cache_dir(tmp_path) == tmp_path / "c"


YAML_TOKENS = [
    "1e3", "1E-3", "1.5e+2", "0o17", "017", "0x1F", "0b101", "-0b1", "1_000", "+.5", ".5", "5.", ".inf", "-.Inf",
    ".NaN", "inf", "nan", "yes", "No", "on", "OFF", "y", "n", "true", "True", "TRUE", "tRue", "~", "null", "Null",
    "NULL", "", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "12:30:45", "1:20",
    "0.", "-0", "+1", "1__0", "_1", "0777", "09", "1e", "e1", "0x", "0o8", "=", "<<", "- a", "[1, 0x10, 1e3]",
    "{a: 0o7, b: yes}", "'0x1F'", '"1e3"', "0x_", "._", "2001-13-45",
]


@pytest.mark.dvc
def test_yaml_loader_types_scalars_like_dvcs_ruamel() -> None:
    """DVC reads YAML with ruamel (YAML 1.2); our fast C loader must give the same values."""
    import math
    import random

    from ruamel.yaml import YAML

    ruamel = YAML(typ="safe")
    rng = random.Random(42)
    alphabet = list("0123456789eE._+-xobafnitTFN: ~yYOl") + ["inf", "NaN", "null", "true", "0x", "0o", "0b"]
    tokens = list(YAML_TOKENS)
    for _ in range(3000):
        tok = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))).strip()
        if tok and tok[0] not in "-:" and ": " not in tok and not tok.endswith(":"):
            tokens.append(tok)
    for tok in tokens:
        text = f"k: {tok}\n"
        try:
            expected = ruamel.load(text)
        except Exception:  # noqa: BLE001 - then ours must fail too
            with pytest.raises(FormatError):
                load_yaml(text)
            continue
        got = load_yaml(text)
        a, b = expected["k"], got["k"]
        if isinstance(a, float) and math.isnan(a):
            assert isinstance(b, float) and math.isnan(b), tok
        else:
            assert a == b and type(a) is type(b), tok
