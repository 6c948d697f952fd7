"""dvc.yaml parsing and params parity with the real `dvc` on small real repos (issue 12, parsing/params part).

Every test builds a real git + DVC repo (`git init`, `dvc init`), asks the real `dvc` CLI what it makes of a
dvc.yaml, and asks `exptui` (its CLI, as a subprocess) the same question:

* foreach/matrix entries that render to the same name collapse into one stage (DVC keeps the first position and
  the last value, dict semantics), where exptui used to reject the pipeline as "duplicate stage name";
* `cmd: []` is a valid stage; `dvc repro` skips it when it has no deps/outs and fails on it otherwise;
* what DVC rejects, exptui rejects with one line naming the file and the stage: null `deps`/`outs`/`params`
  sections, `${}` in a boolean field (DVC checks the schema before interpolating), stage `vars` redefining the
  `item`/`key` of a foreach, a broken params.yaml, remote deps whose DVC plugin is not installed.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import BIN, git

pytestmark = [pytest.mark.dvc, pytest.mark.timeout(300)]

DVC = str(BIN / "dvc")
EXPTUI = str(BIN / "exptui")


def run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=repo, capture_output=True, text=True, timeout=120)


def ok(repo: Path, *args: str) -> str:
    proc = run(repo, *args)
    assert proc.returncode == 0, f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git + DVC repo with one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    ok(root, DVC, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def dot_lines(text: str) -> list[str]:
    """`dag --dot` output without indentation (DVC and exptui indent differently)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def lock_stages(repo: Path) -> dict:
    path = repo / "dvc.lock"
    return yaml.safe_load(path.read_text())["stages"] if path.exists() else {}


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """exptui's failure: non-zero exit, one line on stderr, no traceback."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def shown_rows(repo: Path) -> list[dict]:
    """`exptui show --json` rows after committing the workspace (so both a commit and the workspace are read)."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "state")
    rows = json.loads(ok(repo, EXPTUI, "show", "--json"))
    assert {r["kind"] for r in rows} == {"workspace", "baseline"}
    return rows


def flat(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def twin(repo: Path) -> Path:
    """A second clone of `repo` with the same working files, so dvc and exptui each run on their own copy."""
    other = repo.parent / "twin"
    subprocess.run(["cp", "-a", str(repo), str(other)], check=True)
    return other


# --- 1. same-name foreach/matrix entries collapse ----------------------------------------------------------

DUPLICATES = """\
stages:
  gen:
    foreach: [x, y, x]
    do:
      cmd: echo ${item} > out-${item}.txt
      outs: ["out-${item}.txt"]
  grid:
    matrix:
      v: [1, '1']
      w: [a]
    cmd: echo ${item.v}-${item.w} > grid-${key}.txt
    outs: ["grid-${key}.txt"]
  both:
    cmd: cat out-x.txt out-y.txt grid-1-a.txt > both.txt
    deps: [out-x.txt, out-y.txt, grid-1-a.txt]
    outs: [both.txt]
"""


def test_same_name_foreach_and_matrix_entries_collapse_like_dvc(repo: Path) -> None:
    write(repo, {"dvc.yaml": DUPLICATES})
    dvc_names = ok(repo, DVC, "stage", "list", "--name-only").split()
    assert dvc_names == ["gen@x", "gen@y", "grid@1-a", "both"]
    assert dot_lines(ok(repo, EXPTUI, "dag", "--dot")) == dot_lines(ok(repo, DVC, "dag", "--dot"))
    # and both run it the same way: same lock entries
    other = twin(repo)
    ok(repo, DVC, "repro", "-q")
    ok(other, EXPTUI, "repro")
    assert lock_stages(other) == lock_stages(repo)
    assert set(lock_stages(repo)) == set(dvc_names)


# --- 2. cmd: [] --------------------------------------------------------------------------------------------


def test_empty_cmd_list_is_a_stage_that_repro_skips_like_dvc(repo: Path) -> None:
    write(repo, {"dvc.yaml": "stages:\n  noop:\n    cmd: []\n  echo:\n    cmd: echo hi > hi.txt\n"
                             "    outs: [hi.txt]\n"})
    assert dot_lines(ok(repo, EXPTUI, "dag", "--dot")) == dot_lines(ok(repo, DVC, "dag", "--dot"))
    other = twin(repo)
    dvc_out = ok(repo, DVC, "repro")
    ours = ok(other, EXPTUI, "repro")
    assert "Stage 'noop' didn't change, skipping" in dvc_out
    assert "Stage 'noop' didn't change, skipping" in ours
    assert lock_stages(other) == lock_stages(repo)
    assert list(lock_stages(repo)) == ["echo"]


def test_empty_cmd_list_with_deps_fails_repro_like_dvc(repo: Path) -> None:
    write(repo, {"data.txt": "d\n", "dvc.yaml": "stages:\n  empty:\n    cmd: []\n    deps: [data.txt]\n"})
    dvc_proc = run(repo, DVC, "repro")
    assert dvc_proc.returncode != 0 and "failed to reproduce 'empty'" in dvc_proc.stderr
    line = one_error_line(run(repo, EXPTUI, "repro"))
    assert "failed to reproduce 'empty'" in line and "cmd" in line
    assert lock_stages(repo) == {}


# --- 3. what DVC rejects, exptui rejects (file and stage named) --------------------------------------------

REJECTED = {
    "null deps": ("stages:\n  s:\n    cmd: echo\n    deps:\n", "'deps'"),
    "null outs": ("stages:\n  s:\n    cmd: echo\n    outs:\n", "'outs'"),
    "null params": ("stages:\n  s:\n    cmd: echo\n    params:\n", "'params'"),
    "null metrics": ("stages:\n  s:\n    cmd: echo\n    metrics:\n", "'metrics'"),
    "deps from ${}": ("vars:\n  - files: [a, b]\nstages:\n  s:\n    cmd: echo\n    deps: ${files}\n", "'deps'"),
    "${} in frozen": ("stages:\n  s:\n    cmd: echo\n    frozen: ${flag}\n", "'frozen'"),
    "${} in always_changed": ("stages:\n  s:\n    cmd: echo\n    always_changed: ${flag}\n", "'always_changed'"),
    "${} in an out flag": ("stages:\n  s:\n    cmd: echo\n    outs:\n      - o:\n          cache: ${flag}\n",
                           "'cache'"),
    "${} in frozen of a foreach": ("stages:\n  s:\n    foreach: [a]\n    do:\n      cmd: echo\n"
                                   "      frozen: ${flag}\n", "'frozen'"),
    "null wdir": ("stages:\n  s:\n    cmd: echo\n    wdir:\n", "'wdir'"),
    "null out flags": ("stages:\n  s:\n    cmd: echo\n    outs:\n      - o:\n", "'outs'"),
    "null stage vars": ("stages:\n  s:\n    cmd: echo\n    vars:\n", "'vars'"),
    "vars redefine item": ("stages:\n  s:\n    foreach: [a]\n    do:\n      vars:\n        - item: 3\n"
                           "      cmd: echo ${item}\n", "reserved"),
    "vars redefine key": ("stages:\n  s:\n    foreach: {a: 1}\n    do:\n      vars:\n        - key: 3\n"
                          "      cmd: echo ${item}\n", "reserved"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_what_dvc_rejects_exptui_rejects_naming_file_and_stage(repo: Path, case: str) -> None:
    text, what = REJECTED[case]
    write(repo, {"params.yaml": "flag: true\n", "dvc.yaml": text})
    dvc_proc = run(repo, DVC, "stage", "list", "--fail")
    assert dvc_proc.returncode != 0, dvc_proc.stdout
    for command in (["dag"], ["status"], ["repro"]):
        line = one_error_line(run(repo, EXPTUI, *command))
        assert "dvc.yaml" in line and "stage 's" in line and what in line, (command, line)
    for row in shown_rows(repo):  # the workspace and the commit: an error naming the file and the stage
        assert "stage 's" in row["errors"]["dvc.yaml"] and what in row["errors"]["dvc.yaml"], row


def test_checkpoint_outs_in_dvc_yaml_are_accepted_like_dvc(repo: Path) -> None:
    """DVC 3 still accepts (and ignores) the DVC 2 `checkpoint: true` out flag in dvc.yaml."""
    write(repo, {"dvc.yaml": "stages:\n  s:\n    cmd: echo 1 > o\n    outs:\n      - o:\n          checkpoint: true\n"})
    assert ok(repo, DVC, "stage", "list", "--name-only").split() == ["s"]
    other = twin(repo)
    ok(repo, DVC, "repro", "-q")
    ok(other, EXPTUI, "repro")
    assert lock_stages(other) == lock_stages(repo)


def test_broken_params_yaml_is_an_error_even_unused_like_dvc(repo: Path) -> None:
    write(repo, {"params.yaml": "a: [1\n", "dvc.yaml": "vars: [params.yaml]\nstages:\n  s:\n    cmd: echo ${a}\n"})
    dvc_proc = run(repo, DVC, "stage", "list", "--fail")
    assert dvc_proc.returncode != 0 and "params.yaml" in dvc_proc.stderr
    for command in (["dag"], ["status"], ["repro"]):
        line = one_error_line(run(repo, EXPTUI, *command))
        assert "params.yaml" in line, (command, line)
    for row in shown_rows(repo):
        assert any("params.yaml" in e and "invalid YAML" in e for e in row["errors"].values()), row


@pytest.mark.parametrize("url", ["s3://bucket/data.csv", "gs://bucket/data.csv", "azure://container/data.csv"])
def test_remote_dep_without_its_plugin_is_one_line_like_dvc(repo: Path, url: str) -> None:
    scheme = url.split(":", 1)[0]
    plugin = {"s3": "dvc-s3", "gs": "dvc-gs", "azure": "dvc-azure"}[scheme]
    if importlib.util.find_spec(plugin.replace("-", "_")) is not None:
        pytest.skip(f"{plugin} is installed here")
    write(repo, {"dvc.yaml": f"stages:\n  s:\n    cmd: echo\n    deps: [{url}]\n"})
    dvc_proc = run(repo, DVC, "stage", "list")
    expected = f"{scheme} is supported, but requires '{plugin}' to be installed"
    assert dvc_proc.returncode != 0 and expected in dvc_proc.stderr
    for command in (["dag"], ["status"], ["repro"]):
        line = one_error_line(run(repo, EXPTUI, *command))
        assert expected in line and "dvc.yaml" in line and "stage 's'" in line, (command, line)


def test_forced_empty_cmd_list_fails_like_dvc(repo: Path) -> None:
    write(repo, {"dvc.yaml": "stages:\n  noop:\n    cmd: []\n"})
    dvc_proc = run(repo, DVC, "repro", "-f")
    assert dvc_proc.returncode != 0 and "failed to reproduce 'noop'" in dvc_proc.stderr
    line = one_error_line(run(repo, EXPTUI, "repro", "-f"))
    assert "failed to reproduce 'noop'" in line and "cmd" in line
    assert lock_stages(repo) == {}


@pytest.mark.parametrize("text", ["stages:\n", "params:\nstages: {}\n", "vars:\nstages: {}\n",
                                  "metrics:\nstages: {}\n"])
def test_null_top_level_sections_are_rejected_like_dvc(repo: Path, text: str) -> None:
    write(repo, {"dvc.yaml": text})
    assert run(repo, DVC, "stage", "list", "--fail").returncode != 0
    key = text.split(":", 1)[0]
    line = one_error_line(run(repo, EXPTUI, "dag"))
    assert "dvc.yaml" in line and f"'{key}'" in line and "null" in line, line


def test_checkpoint_in_dvc_lock_is_rejected_like_dvc(repo: Path) -> None:
    """A DVC 2 lock entry with `checkpoint: true`: DVC 3 refuses the lock file ("extra keys not allowed")."""
    write(repo, {"dvc.yaml": "stages:\n  s:\n    cmd: echo hi > o\n    outs:\n      - o\n", "o": "hi\n",
                 "dvc.lock": "schema: '2.0'\nstages:\n  s:\n    cmd: echo hi > o\n    outs:\n    - path: o\n"
                             "      md5: 764efa883dda1e11db47671c4a3bbd9e\n      size: 3\n      checkpoint: true\n"})
    dvc_proc = run(repo, DVC, "status")
    assert dvc_proc.returncode != 0 and "checkpoint" in dvc_proc.stderr
    for command in (["status"], ["repro"], ["dag"]):
        line = one_error_line(run(repo, EXPTUI, *command))
        assert "dvc.lock" in line and "stage 's'" in line and "checkpoint" in line, (command, line)


# --- 4. -S on JSON params: the bytes DVC writes ------------------------------------------------------------


def test_set_param_on_json_files_writes_the_bytes_dvc_writes(repo: Path) -> None:
    """A compact one-line file with non-ASCII text and a pretty-printed one: the queued experiment commit holds
    the same bytes as the commit `dvc exp run --queue -S` makes."""
    write(repo, {"compact.json": '{"a": 1, "b": {"c": "\u00e9t\u00e9", "d": [1, 2]}}\n',
                 "pretty.json": '{\n  "z": 1.5,\n  "y": {\n    "x": 2\n  }\n}\n',
                 "dvc.yaml": "stages:\n  s:\n    cmd: echo\n    params:\n      - compact.json:\n      - pretty.json:\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "json params")
    sets = ["-S", "compact.json:a=2", "-S", "compact.json:b.d=[3]", "-S", "pretty.json:y.x=0.25"]
    ok(repo, DVC, "exp", "run", "-q", "--queue", *sets)
    ok(repo, EXPTUI, "run", "--queue", "-n", "ours", *sets)
    ours = git(repo, "for-each-ref", "--format=%(objectname)", "refs/exptui/queue/").split()
    assert len(ours) == 1
    for name in ("compact.json", "pretty.json"):
        dvc_bytes = subprocess.run(["git", "show", f"refs/exps/celery/stash:{name}"], cwd=repo, check=True,
                                   capture_output=True).stdout
        our_bytes = subprocess.run(["git", "show", f"{ours[0]}:{name}"], cwd=repo, check=True,
                                   capture_output=True).stdout
        assert our_bytes == dvc_bytes, name
    assert json.loads(dvc_bytes) == {"z": 1.5, "y": {"x": 0.25}}


# --- 5. tracked vars ---------------------------------------------------------------------------------------

TRACKED_DVC_YAML = """\
vars:
  - config/model.yaml
  - flags.json
  - declared.yaml
stages:
  train:
    cmd: echo ${model.layers} ${model.opt[0]} ${flags} ${dec.a} ${dec.b}
    params:
      - declared.yaml: [dec.a]
  each:
    foreach: ${names}
    do:
      cmd: echo ${item}
  models:
    foreach: ${models}
    do:
      cmd: echo ${key} ${item.lr}
  grid:
    matrix:
      depth: ${depths}
      kind: [x]
    cmd: echo ${item.depth} ${item.kind}
  side:
    vars: [extra.yaml]
    cmd: echo ${e}
"""


def test_show_lists_the_tracked_vars_dvc_exp_show_lists(repo: Path) -> None:
    """Values `${}` takes from params/vars files no stage declares are params for `dvc exp show`: the same files,
    keys (dotted, list items by index), values and key order in `exptui show --json` and its columns. A mapping
    turned into flags is not tracked; a declared file keeps its declared keys only."""
    write(repo, {
        "config/model.yaml": "model: {layers: 4, opt: [adam, sgd], unused: 1}\nnames: [a, b, a]\n"
                             "models: {big: {lr: 0.1}, small: {lr: 0.2}}\ndepths: [3, 5]\nother: 1\n",
        "flags.json": '{"flags": {"verbose": true, "n": 2}}',
        "declared.yaml": "dec: {a: 1, b: 2}\n",
        "extra.yaml": "e: 5\nf: 6\n",
        "params.yaml": "seed: 1\n",
        "dvc.yaml": TRACKED_DVC_YAML,
    })
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tracked vars")
    dvc_params = json.loads(ok(repo, DVC, "exp", "show", "--json"))[0]["data"]["params"]
    rows = json.loads(ok(repo, EXPTUI, "show", "--json"))
    for row in rows:
        assert not row["errors"], row["errors"]
        ours = row["params"]
        assert set(ours) == set(dvc_params)
        for path, shown in dvc_params.items():
            theirs = flat(shown["data"])  # declared keys come nested in DVC's JSON, exptui's are flattened
            assert ours[path] == theirs, path
            assert list(ours[path]) == list(theirs), path  # DVC's order: first use
    assert dvc_params["config/model.yaml"]["data"] == {
        "model.layers": 4, "model.opt.0": "adam", "names.2": "a", "names.1": "b", "models.big.lr": 0.1,
        "models.small.lr": 0.2, "depths.0": 3, "depths.1": 5}


def test_tracked_vars_merged_from_two_files_are_listed_under_the_file_that_set_each(repo: Path) -> None:
    """`vars: [test_params.yaml]` merges its `models` into params.yaml's: a foreach item then holds values of both
    files, and DVC tracks each used key in the file that set it (found by the corpus: dvc-parsing__foreach-mixed-
    vars-files); exptui listed them all under params.yaml."""
    write(repo, {
        "params.yaml": "models:\n  m1: {thresh: 10}\n  m2: {thresh: 15}\n",
        "test_params.yaml": "models:\n  m1: {epochs: 5}\n  m2: {epochs: 10}\n",
        "dvc.yaml": "vars: [test_params.yaml]\nstages:\n  build:\n    foreach: ${models}\n    do:\n"
                    "      cmd: echo ${item.thresh} ${item.epochs} ${models.m1.epochs}\n",
    })
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "merged vars")
    dvc_params = json.loads(ok(repo, DVC, "exp", "show", "--json"))[0]["data"]["params"]
    assert flat(dvc_params["test_params.yaml"]["data"]) == {"models.m1.epochs": 5, "models.m2.epochs": 10}
    for row in json.loads(ok(repo, EXPTUI, "show", "--json")):
        assert row["params"] == {p: flat(d["data"]) for p, d in dvc_params.items()}, row


def test_empty_mapping_params_are_no_columns_as_in_dvc_exp_show(repo: Path) -> None:
    """Issue 12 said `empty_map: {}` is a column of `dvc exp show`; DVC 3.67.1 shows none (its table and CSV
    flatten with `dvc.utils.flatten`, where an empty mapping leaves no key; only its raw nested `--json` holds
    it), and neither does exptui: the same param columns, in the same order."""
    write(repo, {"params.yaml": "a: 1\nempty_map: {}\nnested: {inner: {}, x: 2}\nempty_list: []\n",
                 "dvc.yaml": "stages:\n  s:\n    cmd: echo ${a}\n    params: [a]\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "empty map")
    candidates = {"a", "empty_map", "nested.inner", "nested.x", "empty_list"}
    theirs = [c for c in ok(repo, DVC, "exp", "show", "--csv").splitlines()[0].split(",") if c in candidates]
    ours = [c for c in ok(repo, EXPTUI, "show", "--csv").splitlines()[0].split(",") if c in candidates]
    assert theirs == ours == ["a", "nested.x", "empty_list"]
    for row in json.loads(ok(repo, EXPTUI, "show", "--json")):
        assert list(row["params"]["params.yaml"]) == ["a", "nested.x", "empty_list"]


# --- 6. dvc.yaml in a hidden directory ---------------------------------------------------------------------


def test_dvc_yaml_in_a_hidden_directory_is_collected_like_dvc(repo: Path) -> None:
    write(repo, {
        "dvc.yaml": "stages:\n  root:\n    cmd: echo root > root.txt\n    outs: [root.txt]\n",
        ".pipelines/extra/dvc.yaml": "stages:\n  extra:\n    cmd: echo ${n} > extra.txt\n    params: [n]\n"
                                     "    outs: [extra.txt]\n",
        ".pipelines/extra/params.yaml": "n: 3\n",
    })
    names = ok(repo, DVC, "stage", "list", "--all", "--name-only").split()
    assert sorted(names) == [".pipelines/extra/dvc.yaml:extra", "root"]
    assert sorted(dot_lines(ok(repo, EXPTUI, "dag", "--dot"))) == sorted(dot_lines(ok(repo, DVC, "dag", "--dot")))
    other = twin(repo)
    ok(repo, DVC, "repro", "-q", "--all-pipelines")
    ok(other, EXPTUI, "repro")
    lock = ".pipelines/extra/dvc.lock"
    assert yaml.safe_load((other / lock).read_text()) == yaml.safe_load((repo / lock).read_text())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ran")
    dvc_params = json.loads(ok(repo, DVC, "exp", "show", "--json"))[0]["data"]["params"]
    assert dvc_params[".pipelines/extra/params.yaml"]["data"] == {"n": 3}
    for row in json.loads(ok(repo, EXPTUI, "show", "--json")):
        assert row["params"] == {p: flat(d["data"]) for p, d in dvc_params.items()}, row


# --- 7. Hydra composition ----------------------------------------------------------------------------------


def test_hydra_composition_is_refused_in_one_line_naming_the_setting(repo: Path) -> None:
    """`dvc exp run` with `hydra.enabled` rebuilds params.yaml from conf/ (checked here with the real dvc); exptui
    does not implement that, so its runs refuse before touching anything."""
    write(repo, {"conf/config.yaml": "lr: 0.1\n", "params.yaml": "lr: 0.5\n",
                 "dvc.yaml": "stages:\n  s:\n    cmd: echo ${lr} > out.txt\n    params: [lr]\n    outs: [out.txt]\n"})
    ok(repo, DVC, "config", "hydra.enabled", "true")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hydra")
    ok(repo, DVC, "exp", "run", "-q", "--queue", "-S", "lr=0.2")
    dvc_params = yaml.safe_load(git(repo, "show", "refs/exps/celery/stash:params.yaml"))
    assert dvc_params == {"lr": 0.2}  # composed from conf/config.yaml, then overridden
    for args in (["run", "-S", "lr=0.3"], ["run", "--temp"], ["run", "--queue", "-S", "lr=0.3"]):
        line = one_error_line(run(repo, EXPTUI, *args))
        assert "hydra.enabled" in line and ".dvc/config" in line, (args, line)
    assert (repo / "params.yaml").read_text() == "lr: 0.5\n"
    assert not (repo / "out.txt").exists()
    assert git(repo, "for-each-ref", "refs/exptui/queue/", "refs/exps/").count("refs/exps/") == 1  # DVC's stash
