"""dvc.yaml parsing: interpolation, vars, foreach/matrix, validation errors with file:line (real files)."""
from __future__ import annotations

from pathlib import Path

import pytest

from dvc_compat.dvcyaml import find_dvcfiles, load_dvcfile, load_project, to_str
from dvc_compat.errors import FormatError
from dvc_compat.model import OutSpec, ParamSpec

ROOT = Path(__file__).resolve().parents[1]


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def load(tmp_path: Path, dvc_yaml: str, **files: str):
    write(tmp_path, {"dvc.yaml": dvc_yaml, **{k.replace("__", "."): v for k, v in files.items()}})
    return load_dvcfile(tmp_path)


def error(tmp_path: Path, dvc_yaml: str, **files: str) -> FormatError:
    with pytest.raises(FormatError) as info:
        load(tmp_path, dvc_yaml, **files)
    return info.value


def test_plain_stage_fields(tmp_path: Path) -> None:
    f = load(tmp_path, """
stages:
  train:
    cmd: python train.py
    wdir: src
    deps: [train.py, ../data]
    params:
      - lr
      - train.epochs
      - other.yaml: [a.b, c]
      - whole.json:
      - empty.toml: []
      - lr
    outs:
      - model.pkl
      - cache-free.csv:
          cache: false
          persist: true
          desc: a file
    metrics:
      - metrics.json:
          cache: false
    plots:
      - roc.csv:
          x: fpr
          y: tpr
    frozen: true
    always_changed: true
    desc: Train it
    meta: {owner: me}
""")
    st = f.stages["train"]
    assert st.cmd == "python train.py" and st.wdir == "src" and st.dvcfile == "dvc.yaml"
    assert st.deps == ["train.py", "../data"]
    assert st.params == [
        ParamSpec("params.yaml", ("lr", "train.epochs")),
        ParamSpec("other.yaml", ("a.b", "c")),
        ParamSpec("whole.json", None),
        ParamSpec("empty.toml", None),
    ]
    assert st.outs == [
        OutSpec("model.pkl"),
        OutSpec("cache-free.csv", cache=False, persist=True),
        OutSpec("metrics.json", kind="metrics", cache=False),
        OutSpec("roc.csv", kind="plots"),
    ]
    assert st.outs[1].props == {"desc": "a file"}
    assert st.outs[3].props == {"x": "fpr", "y": "tpr"}
    assert st.frozen and st.always_changed and st.desc == "Train it" and st.meta == {"owner": "me"}
    assert st.address == "train"


def test_whole_file_params_win_over_keys(tmp_path: Path) -> None:
    f = load(tmp_path, "stages:\n  s:\n    cmd: x\n    params:\n      - a\n      - params.yaml:\n      - b\n")
    assert f.stages["s"].params == [ParamSpec("params.yaml", None)]


def test_interpolation_types_and_escapes(tmp_path: Path) -> None:
    f = load(tmp_path, r"""
vars:
  - inline: {n: 3, f: 0.5, on: true, off: false, none: null, name: abc, lst: [x, y]}
stages:
  s:
    cmd: echo ${inline.n} ${inline.f} ${inline.on} ${inline.off} ${inline.none} \${HOME} ${inline.lst[1]} ${ inline.name }
    deps:
      - ${inline.name}/data
    outs:
      - out-${train.lr}.txt
    meta: ${inline.on}
    desc: ${inline.name}
""", params__yaml="train:\n  lr: 0.01\n")
    st = f.stages["s"]
    assert st.cmd == "echo 3 0.5 true false None ${HOME} y abc"
    assert st.deps == ["abc/data"]
    assert st.outs[0].path == "out-0.01.txt"
    assert st.meta is True  # a lone ${} keeps its type
    assert st.desc == "abc"


def test_dict_in_cmd_becomes_flags(tmp_path: Path) -> None:
    f = load(tmp_path, """
vars:
  - cfg: {lr: 0.1, verbose: true, quiet: false, tags: [a, b c], name: x y, nested: {depth: 3}}
stages:
  s:
    cmd: python t.py ${cfg}
  lone:
    cmd: ${cfg}
""")
    expected = "--lr 0.1 --verbose --tags a 'b c' --name 'x y' --nested.depth 3"
    assert f.stages["s"].cmd == f"python t.py {expected}"
    assert f.stages["lone"].cmd == expected


def test_flags_follow_parsing_config(tmp_path: Path) -> None:
    write(tmp_path, {".dvc/config": "[parsing]\n    bool = boolean_optional\n    list = append\n"})
    f = load(tmp_path, "vars:\n  - c: {q: false, t: [1, 2]}\nstages:\n  s:\n    cmd: run ${c}\n")
    assert f.stages["s"].cmd == "run --no-q --t 1 --t 2"


def test_vars_files_keys_and_stage_vars(tmp_path: Path) -> None:
    f = load(tmp_path, """
vars:
  - config/data.yaml:split,seed
  - config/model.yaml
stages:
  s:
    vars:
      - local: 7
      - extra.yaml
    cmd: run ${split} ${seed} ${model.layers} ${local} ${e} ${base}
  t:
    cmd: run ${split}
""", params__yaml="base: 1\n", extra__yaml="e: 5\n",
        **{"config/data__yaml": "split: 0.2\nseed: 3\nunused: 9\n", "config/model__yaml": "model: {layers: 4}\n"})
    assert f.stages["s"].cmd == "run 0.2 3 4 7 5 1"
    assert f.stages["t"].cmd == "run 0.2"


def test_stage_vars_do_not_leak_between_stages(tmp_path: Path) -> None:
    e = error(tmp_path, "stages:\n  a:\n    vars: [{x: 1}]\n    cmd: echo ${x}\n  b:\n    cmd: echo ${x}\n")
    assert "stage 'b'" in str(e) and "unknown variable 'x'" in str(e) and e.line == 6


def test_redefining_a_leaf_is_an_error(tmp_path: Path) -> None:
    e = error(tmp_path, "vars:\n  - train: {lr: 1}\nstages:\n  s:\n    cmd: x\n", params__yaml="train:\n  lr: 0.1\n")
    assert "cannot redefine 'train.lr'" in str(e) and "params.yaml" in str(e)
    assert e.path == "dvc.yaml" and e.line == 2


def test_merging_new_leaves_into_a_section_is_fine(tmp_path: Path) -> None:
    f = load(tmp_path, "vars:\n  - train: {extra: 2}\nstages:\n  s:\n    cmd: ${train.lr} ${train.extra}\n",
             params__yaml="train:\n  lr: 0.1\n")
    assert f.stages["s"].cmd == "0.1 2"


def test_foreach_list_of_primitives(tmp_path: Path) -> None:
    f = load(tmp_path, "stages:\n  lst:\n    foreach: [x, 1, true, 0.5]\n    do:\n      cmd: echo ${item}\n")
    assert list(f.stages) == ["lst@x", "lst@1", "lst@true", "lst@0.5"]
    assert f.stages["lst@true"].cmd == "echo true"


def test_foreach_list_of_dicts_and_dict(tmp_path: Path) -> None:
    f = load(tmp_path, """
vars:
  - models: {small: {layers: 2}, large: {layers: 8}}
stages:
  a:
    foreach: [{n: 1}, {n: 2}]
    do:
      cmd: echo ${item.n}
  b:
    foreach: ${models}
    do:
      cmd: train --name ${key} --layers ${item.layers}
      outs:
        - models/${key}.pkl
""")
    assert list(f.stages) == ["a@0", "a@1", "b@small", "b@large"]
    assert f.stages["a@1"].cmd == "echo 2"
    assert f.stages["b@large"].cmd == "train --name large --layers 8"
    assert f.stages["b@large"].outs[0].path == "models/large.pkl"


def test_matrix_names_and_values(tmp_path: Path) -> None:
    f = load(tmp_path, """
vars:
  - lrs: [0.1, 0.01]
stages:
  mx:
    matrix:
      model: [cnn, rnn]
      cfg: [{a: 1}, {a: 2}]
      lr: ${lrs}
    cmd: run ${item.model} ${item.cfg.a} ${item.lr} ${key}
""")
    names = list(f.stages)
    assert names[:3] == ["mx@cnn-cfg0-0.1", "mx@cnn-cfg0-0.01", "mx@cnn-cfg1-0.1"]
    assert len(names) == 8
    assert f.stages["mx@rnn-cfg1-0.01"].cmd == "run rnn 2 0.01 rnn-cfg1-0.01"


def test_item_and_key_are_restored_after_foreach(tmp_path: Path) -> None:
    f = load(tmp_path, "vars:\n  - item: outer\nstages:\n  a:\n    foreach: [1]\n    do:\n      cmd: echo ${item}\n"
                       "  b:\n    cmd: echo ${item}\n")
    assert f.stages["a@1"].cmd == "echo 1" and f.stages["b"].cmd == "echo outer"


def test_top_level_sections(tmp_path: Path) -> None:
    f = load(tmp_path, """
vars: [{d: eval}]
params: [config/model.yaml]
metrics:
  - ${d}/summary.json
plots:
  - ${d}/roc.json: {x: fpr, y: tpr}
  - plain.csv
artifacts:
  clf: {path: models/clf.pkl, type: model, labels: [prod]}
stages: {}
""")
    assert f.params == ["config/model.yaml"]
    assert f.metrics == ["eval/summary.json"]
    assert f.plots == [{"eval/roc.json": {"x": "fpr", "y": "tpr"}}, "plain.csv"]
    assert f.artifacts == {"clf": {"path": "models/clf.pkl", "type": "model", "labels": ["prod"]}}


def test_subdir_dvcfile_paths(tmp_path: Path) -> None:
    write(tmp_path, {
        "sub/dvc.yaml": "stages:\n  s:\n    cmd: echo ${v}\n    wdir: work\n",
        "sub/params.yaml": "v: from-sub\n",
        "params.yaml": "v: from-root\n",
    })
    f = load_dvcfile(tmp_path, "sub/dvc.yaml")
    st = f.stages["s"]
    assert st.cmd == "echo from-sub" and st.wdir == "sub/work" and st.dvcfile == "sub/dvc.yaml"
    assert st.address == "sub/dvc.yaml:s"


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("stages:\n  train:\n    cmd: x\n    outz: [a]\n", "stage 'train': unknown key 'outz' (did you mean 'outs'?)", 4),
        ("stages:\n  train:\n    deps: [a]\n", "stage 'train': missing required key 'cmd'", 2),
        ("stages:\n  train:\n    cmd: 3\n", "'cmd' must be a string or a list of strings", 3),
        ("stages:\n  t:\n    cmd: x\n    deps: a\n", "'deps' must be a list of paths", 4),
        ("stages:\n  t:\n    cmd: x\n    frozen: yes\n", "'frozen' must be true or false", 4),
        ("stage:\n  t:\n    cmd: x\n", "unknown top-level key 'stage' (did you mean 'stages'?)", 1),
        ("stages:\n  t:\n    cmd: x\n    outs:\n      - a:\n          cahce: false\n", "unknown flag 'cahce'", 6),
        ("stages:\n  t@x:\n    cmd: x\n", "invalid stage name 't@x'", 2),
        ("stages:\n  t:\n    foreach: [1]\n", "'foreach' needs a 'do' block", 2),
        ("stages:\n  t:\n    foreach: 3\n    do: {cmd: x}\n", "'foreach' must be a list or a mapping", 3),
        ("stages:\n  t:\n    matrix: {a: 1}\n    cmd: x\n", "matrix 'a' must be a list", 3),
        ("stages:\n  t:\n    cmd: x\n   deps: [a]\n", "invalid YAML", 4),
        ("stages:\n  t:\n    cmd: x\n  t:\n    cmd: y\n", "duplicate key 't'", 4),
        ("vars:\n  - nofile.yaml\nstages: {}\n", "'nofile.yaml' does not exist", 2),
        ("vars:\n  - p.yaml:zz\nstages: {}\n", "could not find 'zz' in 'p.yaml'", 2),
        ("vars:\n  - x: ${y}\nstages: {}\n", "interpolating is not allowed", 2),
    ],
)
def test_errors_name_file_line_and_problem(tmp_path: Path, text: str, fragment: str, line: int) -> None:
    (tmp_path / "p.yaml").write_text("a: 1\n")
    e = error(tmp_path, text)
    assert fragment in str(e)
    assert e.path == "dvc.yaml"
    assert e.line == line, str(e)
    assert str(e).startswith(f"dvc.yaml:{line}: ")
    assert "\n" not in str(e)


def test_unknown_variable_message_matches_the_brief(tmp_path: Path) -> None:
    text = "\n".join(["stages:", "  train:"] + ["    # filler"] * 11 + ["    cmd: python train.py --lr ${train.lrr}"])
    e = error(tmp_path, text + "\n", params__yaml="train:\n  lr: 0.1\n")
    assert str(e) == "dvc.yaml:14: stage 'train': unknown variable 'train.lrr' in 'python train.py --lr ${train.lrr}'"
    assert e.key == "stages.train.cmd"


def test_error_inside_foreach_points_at_template(tmp_path: Path) -> None:
    e = error(tmp_path, "stages:\n  a:\n    foreach: [1, 2]\n    do:\n      cmd: echo ${nope}\n")
    assert "stage 'a@1': unknown variable 'nope'" in str(e) and e.line == 5


def test_list_inside_string_is_rejected(tmp_path: Path) -> None:
    e = error(tmp_path, "vars:\n  - l: [1, 2]\nstages:\n  a:\n    cmd: echo ${l}\n")
    assert "cannot interpolate data of type 'list'" in str(e) and e.line == 5


def test_bad_params_file_names_the_params_file(tmp_path: Path) -> None:
    e = error(tmp_path, "stages:\n  a:\n    cmd: x\n", params__yaml="a: [1\n")
    assert e.path.endswith("params.yaml") and e.line is not None


def test_empty_dvcfile(tmp_path: Path) -> None:
    assert load(tmp_path, "").stages == {}


def test_find_dvcfiles_skips_git_hg_dvc_and_ignored_but_not_other_hidden_dirs(tmp_path: Path) -> None:
    for rel in ["dvc.yaml", "a/dvc.yaml", "a/b/dvc.yaml", ".git/dvc.yaml", ".dvc/dvc.yaml", "a/.hg/dvc.yaml",
                ".hid/dvc.yaml", "ignored/dvc.yaml", "c/other.yaml"]:
        write(tmp_path, {rel: "stages: {}\n"})
    write(tmp_path, {".dvcignore": "# comment\nignored/\n"})
    expected = ["dvc.yaml", ".hid/dvc.yaml", "a/dvc.yaml", "a/b/dvc.yaml"]
    assert find_dvcfiles(tmp_path) == expected
    assert [f.path for f in load_project(tmp_path)] == expected


def test_to_str_renders_like_dvc() -> None:
    assert to_str(True) == "true" and to_str(False) == "false" and to_str(None) == "None" and to_str(1.5) == "1.5"


def test_churn_dvcfile_loads() -> None:
    churn = ROOT / "pipelines" / "churn"
    f = load_dvcfile(churn)
    assert list(f.stages)[:2] == ["generate", "prepare"]


def test_parse_from_a_git_tree_with_a_reader(tmp_path: Path) -> None:
    """dvc.yaml and its params read from an experiment commit, not from the workspace."""
    from dvc_compat.dvcyaml import parse_dvcfile

    blobs = {"sub/params.yaml": b"lr: 0.5\n", "sub/cfg.yaml": b"n: 3\n"}
    asked: list[str] = []

    def reader(path: str) -> bytes | None:
        asked.append(path)
        return blobs.get(path)

    write(tmp_path, {"sub/params.yaml": "lr: 999\n"})  # the workspace copy must not be used
    f = parse_dvcfile(b"vars: [cfg.yaml]\nstages:\n  s:\n    cmd: run ${lr} ${n}\n", tmp_path, "sub/dvc.yaml",
                      reader=reader)
    assert f.stages["s"].cmd == "run 0.5 3"
    assert asked == ["sub/params.yaml", "sub/cfg.yaml"]
    with pytest.raises(FormatError, match="'sub/missing.yaml' does not exist"):
        parse_dvcfile(b"vars: [missing.yaml]\nstages: {}\n", tmp_path, "sub/dvc.yaml", reader=reader)


def test_vars_params_tracks_values_used_from_files(tmp_path: Path) -> None:
    f = load(tmp_path, """
vars:
  - config/model.yaml
  - inline: {x: 1}
stages:
  s:
    cmd: run ${model.layers} ${model.opt[0]} ${inline.x} ${seed} ${ model.layers }
  f:
    foreach: [1, 2]
    do:
      cmd: run ${item} ${model.name}
  t:
    vars: [extra.yaml]
    cmd: run ${e}
""", params__yaml="seed: 1\n", extra__yaml="e: 5\n",
        **{"config/model__yaml": "model: {layers: 4, opt: [adam], name: n}\n"})
    assert f.vars_params == {
        "config/model.yaml": ("model.layers", "model.opt.0", "model.name"),  # order of first use, as DVC
        "extra.yaml": ("e",),
        "params.yaml": ("seed",),
    }


def test_dvcignore_patterns(tmp_path: Path) -> None:
    for rel in ["dvc.yaml", "keep/dvc.yaml", "x/data/dvc.yaml", "data/dvc.yaml", "runs/a/dvc.yaml", "tmp1/dvc.yaml",
                "deep/tmp2/dvc.yaml", "deep/keep/dvc.yaml", "anch/sub/dvc.yaml", "other/anch/sub/dvc.yaml"]:
        write(tmp_path, {rel: "stages: {}\n"})
    write(tmp_path, {".dvcignore": "# c\n/data\nruns/\ntmp*\nanch/sub\n!keep\n"})
    assert find_dvcfiles(tmp_path) == [
        "dvc.yaml", "keep/dvc.yaml", "deep/keep/dvc.yaml", "x/data/dvc.yaml", "other/anch/sub/dvc.yaml"]


def test_find_dvcfiles_walks_hidden_directories_but_not_virtualenvs(tmp_path: Path) -> None:
    """Hidden directories are collected as DVC collects them; a Python virtualenv (`pyvenv.cfg`: tens of thousands
    of files, never a pipeline) is skipped, which took the walk of this repository from ~100 ms to ~2 ms."""
    from dvc_compat.dvcyaml import find_dvcfiles

    for rel in ("dvc.yaml", ".pipelines/extra/dvc.yaml", ".venv/lib/dvc.yaml", ".git/x/dvc.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("stages: {}\n")
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert find_dvcfiles(tmp_path) == ["dvc.yaml", ".pipelines/extra/dvc.yaml"]
