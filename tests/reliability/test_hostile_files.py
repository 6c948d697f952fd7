"""Hostile files (issue 9, item 6): alias bombs, deep nesting, recursive anchors, huge files, FIFOs.

Each file is planted where exptui reads data — the workspace's params.yaml, a metrics file, dvc.yaml, dvc.lock, a
committed experiment's files, .dvc/config — and real `exptui` commands run on a real repo under a time-out and a
peak-memory bound (see `hostile_repo.run_bounded`: generous bounds, so only a blow-up fails them). What must
hold: the command finishes, the table still renders, the file that failed is named (an error cell in `show
--json`, one warning line in `show`, one error line and a non-zero exit where the command cannot go on), no
traceback, nothing changed.

Before the fix: the 7-level bomb made `show` take 25 s and 418 MB, 8 levels in a commit hung it, 500 levels of
nesting were a RecursionError traceback, and a 45 MB metrics file took 294 s and 4.5 GB.
"""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from hostile_repo import (
    PARAMS,
    alias_bomb,
    commit_experiment,
    copy_repo,
    deep_json,
    deep_yaml,
    error_lines,
    exptui,
    huge_metrics_json,
    make_template,
    refs,
    run_bounded,
)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("hostile-files") / "template")


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return copy_repo(template, tmp_path / "repo")


def _rows(stdout: str) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(stdout)}


def _show_json(repo: Path) -> dict[str, dict]:
    result = run_bounded(repo, "show", "--json")
    result.check_bounds()
    assert result.rc == 0, result.stderr
    return _rows(result.stdout)


def _show_table(repo: Path, mention: str) -> str:
    """`show` renders the table (e1 included) and warns in one line per failed file, naming it."""
    result = run_bounded(repo, "show")
    result.check_bounds()
    assert result.rc == 0, result.stderr
    assert "e1" in result.stdout
    warnings = [line for line in error_lines(result.stderr) if mention in line]
    assert len(warnings) == 1, result.stderr
    return warnings[0]


# --- the reader itself (fast, in-process) ---------------------------------------------------------------------


@pytest.mark.parametrize("levels", [7, 8, 30])
def test_alias_bomb_is_refused_by_the_one_yaml_reader(levels: int) -> None:
    from dvc_compat.errors import FormatError
    from dvc_compat.yamlio import load_yaml

    with pytest.raises(FormatError, match=r"^params\.yaml:\d+: YAML aliases expand to more than 10,000"):
        load_yaml(alias_bomb(levels), "params.yaml")


def test_aliases_within_the_budget_and_merge_keys_still_load() -> None:
    from dvc_compat.yamlio import load_yaml

    text = "base: &b {lr: 0.1, depth: 3}\nexp1: {<<: *b, lr: 0.2}\nexp2: *b\nlists: &l [1, 2]\nmore: [*l, *l]\n"
    assert load_yaml(text) == {"base": {"lr": 0.1, "depth": 3}, "exp1": {"lr": 0.2, "depth": 3},
                               "exp2": {"lr": 0.1, "depth": 3}, "lists": [1, 2], "more": [[1, 2], [1, 2]]}
    assert len(load_yaml(alias_bomb(3))["l3"]) == 9          # 9 + 81 + 729 values through aliases: allowed


@pytest.mark.parametrize("text", ["a: &x [1, *x]\n", "a: &x {b: *x}\n"])
def test_recursive_anchor_is_refused(text: str) -> None:
    from dvc_compat.errors import FormatError
    from dvc_compat.yamlio import load_yaml

    with pytest.raises(FormatError, match="recursive anchor"):
        load_yaml(text, "params.yaml")


@pytest.mark.parametrize(("fmt", "text"), [
    ("yaml", deep_yaml(500)),
    ("yaml", "a: " + "[" * 101 + "]" * 101),
    ("json", deep_json(500)),
    ("json", deep_json(5000)),                               # past the C scanner's own recursion limit
    ("toml", "a = " + "[" * 500 + "]" * 500),
    ("py", "a = " + "[" * 150 + "]" * 150),
], ids=["yaml500", "yaml101", "json500", "json5000", "toml500", "py150"])
def test_deep_nesting_is_one_error_naming_the_file(fmt: str, text: str) -> None:
    from dvc_compat.errors import FormatError
    from dvc_compat.params import parse_params

    with pytest.raises(FormatError) as info:
        parse_params(text, f"params.{fmt}", fmt)
    assert str(info.value).startswith(f"params.{fmt}")
    assert "\n" not in str(info.value)


def test_nesting_up_to_the_bound_is_accepted() -> None:
    from dvc_compat.limits import MAX_DEPTH
    from dvc_compat.params import parse_params

    assert parse_params("a: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1), "p.yaml", "yaml")
    assert parse_params('{"a": ' + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "}", "p.json", "json")


def test_vars_merge_shares_aliased_values_instead_of_expanding_them(tmp_path: Path) -> None:
    """dvc.yaml parsing merged params.yaml into every stage's context with a deep copy, which expanded aliases
    (the hang of issue 9). Values are now shared, copied on write: a params file at the alias budget costs the
    same as a plain one, and a stage-level merge never changes what another stage sees."""
    from dvc_compat.dvcyaml import load_dvcfile

    shared = "[" + ", ".join(["*l"] * 9) + "]"
    (tmp_path / "params.yaml").write_text("l: &l [" + ", ".join(["1.5"] * 1000) + "]\nm: " + shared +
                                          "\nopts: {lr: 0.1}\n")
    stages = "\n".join(f"  s{i}:\n    cmd: echo ${{opts.lr}} ${{item.x}}\n    vars:\n      - item: {{x: {i}}}"
                       for i in range(200))
    (tmp_path / "dvc.yaml").write_text("stages:\n" + stages + "\n")
    dvcfile = load_dvcfile(tmp_path)
    assert dvcfile.stages["s7"].cmd == "echo 0.1 7"
    assert dvcfile.stages["s199"].cmd == "echo 0.1 199"


def test_stage_contexts_never_deep_copy_shared_values() -> None:
    """What the alias budget keeps out of files, a caller may still build: a context holding a value shared 9^8
    times (43 million lists once expanded) is cloned per stage and merged into without expanding it. Run in a
    bounded subprocess: the deep copy this replaces took minutes and gigabytes on it."""
    import sys

    from hostile_repo import run_argv_bounded

    code = """
from dvc_compat.dvcyaml import _Context, _FileLoader, _merge
node = ["x"] * 9
for _ in range(8):
    node = [node] * 9
ctx = _Context(_FileLoader())
_merge(ctx.data, {"bomb": node, "train": {"lr": 0.1}}, "", ctx.sources, "params.yaml")
for i in range(200):
    stage = ctx.clone()
    _merge(stage.data, {"train": {f"extra{i}": i}}, "", stage.sources, "vars")
    assert stage.data["bomb"] is node and f"extra{i}" in stage.data["train"]
assert ctx.data["train"] == {"lr": 0.1}          # merges into a clone never reach the original
"""
    result = run_argv_bounded([sys.executable, "-c", code], Path.cwd())
    result.check_bounds()
    assert result.rc == 0, result.stderr


# --- in the workspace -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [7, 8])
def test_alias_bomb_in_params_yaml(repo: Path, levels: int) -> None:
    (repo / "params.yaml").write_text(PARAMS + alias_bomb(levels))
    rows = _show_json(repo)
    assert "alias" in rows["workspace"]["errors"]["params.yaml"]
    assert rows["e1"]["params"]["params.yaml"]["x.lr"] == 0.2          # the committed rows are untouched
    assert "params.yaml" in _show_table(repo, "params.yaml")
    before = refs(repo)
    for args in (("status",), ("repro",), ("run", "-q", "-S", "x.lr=0.3")):
        result = run_bounded(repo, *args)
        result.check_bounds()
        lines = error_lines(result.stderr)
        assert result.rc != 0 and len(lines) == 1 and lines[0].startswith("error: params.yaml:"), result.stderr
    assert refs(repo) == before
    assert (repo / "params.yaml").read_text() == PARAMS + alias_bomb(levels)


def test_deep_nesting_in_params_yaml(repo: Path) -> None:
    (repo / "params.yaml").write_text(PARAMS + deep_yaml(500))
    rows = _show_json(repo)
    assert "nested more than 100 levels" in rows["workspace"]["errors"]["params.yaml"]
    _show_table(repo, "params.yaml")


@pytest.mark.parametrize("content", [deep_json(500), deep_json(5000), '{"m": ' + "1" * 5000 + "}"],
                         ids=["deep500", "deep5000", "5000-digit-int"])
def test_hostile_metrics_json_in_the_workspace(repo: Path, content: str) -> None:
    (repo / "metrics.json").write_text(content)
    rows = _show_json(repo)
    assert rows["workspace"]["errors"]["metrics.json"].startswith("metrics.json")
    assert rows["e1"]["metrics"]["metrics.json"] == {"m": 0.2}
    _show_table(repo, "metrics.json")


def test_huge_metrics_file_is_an_error_cell_past_the_size_limit(repo: Path) -> None:
    (repo / "metrics.json").write_bytes(huge_metrics_json(45))
    rows = _show_json(repo)
    reason = rows["workspace"]["errors"]["metrics.json"]
    assert "over the 1 MB limit" in reason and "EXPTUI_MAX_FILE_SIZE" in reason
    _show_table(repo, "metrics.json")


def test_the_size_limit_is_configurable(repo: Path) -> None:
    (repo / "metrics.json").write_bytes(huge_metrics_json(2))
    assert "over the 1 MB limit" in json.loads(exptui(repo, "show", "--json").stdout)[0]["errors"]["metrics.json"]
    shown = _rows(exptui(repo, "show", "--json", EXPTUI_MAX_FILE_SIZE="4M").stdout)["workspace"]
    assert shown["metrics"]["metrics.json"]["m"] == 1 and not shown["errors"]
    commit_experiment(repo, "wide", {"metrics.json": huge_metrics_json(2)})  # cached per commit: limit included
    assert "over the 1 MB limit" in _rows(exptui(repo, "show", "--json").stdout)["wide"]["errors"]["metrics.json"]
    wide = _rows(exptui(repo, "show", "--json", EXPTUI_MAX_FILE_SIZE="4M").stdout)["wide"]
    assert wide["metrics"]["metrics.json"]["m"] == 1 and not wide["errors"]
    bad = exptui(repo, "show", EXPTUI_MAX_FILE_SIZE="lots")
    lines = error_lines(bad.stderr)
    assert bad.returncode != 0 and len(lines) == 1 and "EXPTUI_MAX_FILE_SIZE='lots'" in lines[0], bad.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("what", ["fifo", "device"])
def test_a_fifo_or_device_as_metrics_file_never_blocks(repo: Path, what: str) -> None:
    (repo / "metrics.json").unlink()
    if what == "fifo":
        os.mkfifo(repo / "metrics.json")
    else:
        (repo / "metrics.json").symlink_to("/dev/zero")
    rows = _show_json(repo)
    assert "not a regular file" in rows["workspace"]["errors"]["metrics.json"]


def test_alias_bomb_in_dvc_yaml(repo: Path) -> None:
    text = (repo / "dvc.yaml").read_text()
    bomb = "    meta:\n" + textwrap.indent(alias_bomb(8), " " * 6)
    (repo / "dvc.yaml").write_text(text.replace("  a:\n", "  a:\n" + bomb, 1))
    rows = _show_json(repo)
    assert "alias" in rows["workspace"]["errors"]["dvc.yaml"]
    before = refs(repo)
    for args in (("status",), ("repro",), ("dag",), ("run", "-q", "-S", "x.lr=0.3"), ("run", "--queue", "-S",
                                                                                   "x.lr=0.3")):
        result = run_bounded(repo, *args)
        result.check_bounds()
        lines = error_lines(result.stderr)
        assert result.rc != 0 and len(lines) == 1 and lines[0].startswith("error: dvc.yaml:"), (args, result.stderr)
    assert refs(repo) == before


def test_alias_bomb_in_dvc_lock(repo: Path) -> None:
    (repo / "dvc.lock").write_text((repo / "dvc.lock").read_text() + "x-bomb:\n" +
                                   textwrap.indent(alias_bomb(8), "  "))
    for args in (("status",), ("repro",)):
        result = run_bounded(repo, *args)
        result.check_bounds()
        lines = error_lines(result.stderr)
        assert result.rc != 0 and len(lines) == 1 and "dvc.lock" in lines[0], (args, result.stderr)


@pytest.mark.parametrize("content", [
    alias_bomb(8) + "[parsing]\nbool = store_true\n",
    "[core]\n" + "    remote = x\n" * 2_000_000,                     # 30 MB
    "[" * 100_000 + "\n[parsing]\n",
], ids=["alias-bomb", "30MB", "brackets"])
def test_hostile_dvc_config(repo: Path, content: str) -> None:
    (repo / ".dvc" / "config").write_text(content)
    for args in (("show", "--json"), ("status",), ("repro",)):
        result = run_bounded(repo, *args)
        result.check_bounds()
        lines = error_lines(result.stderr)
        if result.rc != 0:
            assert len(lines) == 1 and ".dvc/config" in lines[0] and len(lines[0]) < 300, (args, result.stderr)
        else:
            assert args == ("show", "--json") and ".dvc/config" in result.stdout, (args, result.stderr)


# --- in a committed experiment --------------------------------------------------------------------------------


@pytest.mark.parametrize(("files", "mention"), [
    ({"params.yaml": (PARAMS + alias_bomb(8)).encode()}, "alias"),
    ({"params.yaml": (PARAMS + alias_bomb(30)).encode()}, "alias"),
    ({"params.yaml": (PARAMS + deep_yaml(500)).encode()}, "nested"),
    ({"metrics.json": deep_json(500).encode()}, "nested"),
    ({"metrics.json": huge_metrics_json(45)}, "limit"),
], ids=["bomb8", "bomb30", "deep-params", "deep-metrics", "45MB-metrics"])
def test_hostile_files_in_a_committed_experiment(repo: Path, files: dict[str, bytes], mention: str) -> None:
    commit_experiment(repo, "evil", files)
    rows = _show_json(repo)
    (path,) = files
    assert mention in rows["evil"]["errors"][path]
    assert rows["e1"]["metrics"]["metrics.json"] == {"m": 0.2}
    assert rows["workspace"]["errors"] == {}
    result = run_bounded(repo, "show")
    result.check_bounds()
    assert result.rc == 0 and "evil" in result.stdout and "e1" in result.stdout
    result = run_bounded(repo, "diff", "evil")
    result.check_bounds()


def test_alias_bomb_in_a_committed_dvc_yaml(repo: Path) -> None:
    text = (repo / "dvc.yaml").read_text()
    bomb = "    meta:\n" + textwrap.indent(alias_bomb(8), " " * 6)
    commit_experiment(repo, "evil", {"dvc.yaml": text.replace("  a:\n", "  a:\n" + bomb, 1).encode()})
    rows = _show_json(repo)
    assert "alias" in rows["evil"]["errors"]["dvc.yaml"]

