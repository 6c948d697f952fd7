"""Stage graph: edges from outs to deps, order, cycles, duplicate outs, targets, drawings."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvc_compat.model import DvcFile, OutSpec, StageSpec
from exptui.errors import PipelineError
from exptui.pipeline.dag import build_pipeline, draw_ascii, draw_dot, draw_mermaid, load_pipeline


def stage(name: str, deps: list[str] = (), outs: list[str] = (), dvcfile: str = "dvc.yaml",
          wdir: str = ".") -> StageSpec:
    return StageSpec(name=name, dvcfile=dvcfile, wdir=wdir, cmd=f"echo {name}", deps=list(deps),
                     outs=[OutSpec(o) for o in outs])


def files(*stages: StageSpec) -> list[DvcFile]:
    by_file: dict[str, DvcFile] = {}
    for s in stages:
        by_file.setdefault(s.dvcfile, DvcFile(path=s.dvcfile)).stages[s.name] = s
    return list(by_file.values())


def names(stages: list[StageSpec]) -> list[str]:
    return [s.address for s in stages]


def test_order_follows_edges_and_keeps_declaration_order_otherwise() -> None:
    p = build_pipeline(files(
        stage("evaluate", deps=["model.pkl", "data/test.csv"], outs=["metrics.json"]),
        stage("report", deps=["notes.md"], outs=["report.html"]),
        stage("train", deps=["data/train.csv"], outs=["model.pkl"]),
        stage("prepare", deps=["raw.csv"], outs=["data"]),
    ))
    assert names(p.order()) == ["prepare", "train", "evaluate", "report"]
    assert p.upstream["evaluate"] == ["train", "prepare"]  # file inside the `data` out dir counts


def test_out_inside_a_dep_directory_makes_an_edge() -> None:
    p = build_pipeline(files(
        stage("consume", deps=["data"], outs=["summary.txt"]),
        stage("produce_a", outs=["data/a.csv"]),
        stage("produce_b", outs=["data/sub/b.csv"]),
    ))
    assert names(p.order()) == ["produce_a", "produce_b", "consume"]
    assert sorted(p.upstream["consume"]) == ["produce_a", "produce_b"]


def test_paths_are_compared_repo_relative_across_dvc_files_and_wdirs() -> None:
    p = build_pipeline(files(
        stage("prepare", outs=["data/clean.csv"]),
        stage("train", deps=["../data/clean.csv"], outs=["model.bin"], dvcfile="models/dvc.yaml", wdir="models"),
        stage("ship", deps=["models/./model.bin"], outs=["dist"]),
    ))
    assert names(p.order()) == ["prepare", "models/dvc.yaml:train", "ship"]


def test_cycle_is_an_error_naming_the_cycle() -> None:
    with pytest.raises(PipelineError, match=r"^dvc.yaml: stages form a cycle: prepare -> train -> prepare \("):
        build_pipeline(files(
            stage("prepare", deps=["model.pkl"], outs=["data.csv"]),
            stage("train", deps=["data.csv"], outs=["model.pkl"]),
        ))


def test_self_cycle() -> None:
    with pytest.raises(PipelineError, match=r"cycle: loop -> loop"):
        build_pipeline(files(stage("loop", deps=["x/y"], outs=["x"])))


def test_two_stages_with_the_same_out_are_named() -> None:
    with pytest.raises(PipelineError) as err:
        build_pipeline(files(stage("a", outs=["model.pkl"]), stage("b", outs=["./model.pkl"])))
    assert str(err.value).startswith("dvc.yaml: output 'model.pkl' is specified in more than one stage: 'a' and 'b'")


def test_overlapping_outs_are_rejected() -> None:
    with pytest.raises(PipelineError, match="overlapping"):
        build_pipeline(files(stage("a", outs=["data"]), stage("b", outs=["data/x.csv"])))


def test_select_targets_with_upstream_closure() -> None:
    p = build_pipeline(files(
        stage("prepare", outs=["data.csv"]),
        stage("train", deps=["data.csv"], outs=["model.pkl"]),
        stage("evaluate", deps=["model.pkl"], outs=["metrics.json"]),
        stage("lint", outs=["lint.txt"]),
        stage("sub", deps=["../data.csv"], outs=["sub.txt"], dvcfile="s/dvc.yaml", wdir="s"),
    ))
    assert names(p.select(["train"])) == ["prepare", "train"]
    assert names(p.select(["evaluate", "lint"])) == ["prepare", "train", "evaluate", "lint"]
    assert names(p.select(["s/dvc.yaml:sub"])) == ["prepare", "s/dvc.yaml:sub"]
    assert names(p.select(["s:sub"])) == ["prepare", "s/dvc.yaml:sub"]
    assert names(p.select(["sub"])) == ["prepare", "s/dvc.yaml:sub"]  # unique outside the root file
    assert names(p.select(["s/dvc.yaml"])) == ["prepare", "s/dvc.yaml:sub"]
    assert names(p.select(None)) == ["prepare", "train", "evaluate", "lint", "s/dvc.yaml:sub"]
    with pytest.raises(PipelineError, match="stage 'nope' not found"):
        p.select(["nope"])
    with pytest.raises(PipelineError, match="does not exist"):
        p.select(["x/dvc.yaml:train"])


def test_foreach_group_target_and_matrix_from_a_real_dvc_yaml(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n"
        "  gen:\n"
        "    foreach: [a, b]\n"
        "    do:\n"
        "      cmd: echo ${item} > out/${item}.txt\n"
        "      outs:\n"
        "        - out/${item}.txt\n"
        "  grid:\n"
        "    matrix:\n"
        "      m: [x, y]\n"
        "      d: [1, 2]\n"
        "    cmd: echo ${item.m}${item.d}\n"
        "    deps: [out]\n"
        "    outs:\n"
        "      - grid/${item.m}-${item.d}.txt\n"
    )
    p = load_pipeline(tmp_path)
    assert names(p.select(["gen"])) == ["gen@a", "gen@b"]
    assert names(p.select(["gen@b"])) == ["gen@b"]
    assert names(p.select(["grid@y-2"])) == ["gen@a", "gen@b", "grid@y-2"]
    assert len(p.select(["grid"])) == 6


def test_drawings_name_every_stage_and_edge() -> None:
    p = build_pipeline(files(
        stage("prepare", outs=["data.csv"]),
        stage("train", deps=["data.csv"], outs=["model.pkl"]),
        stage("baseline", deps=["data.csv"], outs=["base.pkl"]),
        stage("evaluate", deps=["model.pkl", "base.pkl"], outs=["metrics.json"]),
    ))
    stages = p.order()
    art = draw_ascii(p, stages)
    lines = art.splitlines()
    # layer by layer: prepare on top, train and baseline side by side, evaluate last
    row_of = {name: next(i for i, line in enumerate(lines) if f"| {name} " in line)
              for name in ("prepare", "train", "baseline", "evaluate")}
    assert row_of["prepare"] < row_of["train"] == row_of["baseline"] < row_of["evaluate"]
    assert "<- train, baseline" in art
    dot = draw_dot(p, stages)
    assert '"prepare" -> "train";' in dot and '"baseline" -> "evaluate";' in dot
    mermaid = draw_mermaid(p, stages)
    assert mermaid.startswith("flowchart TD")
    assert mermaid.count("-->") == 4


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_dags_order_upstream_first_and_select_closes_upstream(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 12))
    # stage i may read the outputs of any stage j < i: always acyclic; declared in a shuffled order
    deps = [data.draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set() for i in range(n)]
    order = data.draw(st.permutations(range(n)))
    p = build_pipeline(files(*[
        stage(f"s{i}", deps=[f"out{j}/file.txt" if j % 2 else f"out{j}" for j in sorted(deps[i])], outs=[f"out{i}"])
        for i in order
    ]))
    ordered = [int(s.name[1:]) for s in p.order()]
    assert sorted(ordered) == list(range(n))
    pos = {s: k for k, s in enumerate(ordered)}
    assert all(pos[j] < pos[i] for i in range(n) for j in deps[i])
    target = data.draw(st.integers(0, n - 1))
    want: set[int] = set()
    todo = [target]
    while todo:
        k = todo.pop()
        if k not in want:
            want.add(k)
            todo.extend(deps[k])
    assert {int(s.name[1:]) for s in p.select([f"s{target}"])} == want


def test_ascii_drawing_wraps_to_the_width() -> None:
    p = build_pipeline(files(
        stage("prepare", outs=["d"]),
        *[stage(f"train_model_{i}", deps=["d"], outs=[f"m{i}"]) for i in range(6)],
        stage("evaluate", deps=[f"m{i}" for i in range(6)], outs=["x"]),
    ))
    art = draw_ascii(p, p.order(), width=60)
    assert max(len(line) for line in art.splitlines()) <= 60
    for i in range(6):
        assert f"| train_model_{i} |" in art and f"train_model_{i}" in art.split("| evaluate")[1]
