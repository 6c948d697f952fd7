"""dvc_compat against the real dvc 3: the same repo, DVC's own output files compared byte for byte.

One module-scoped repo runs `dvc repro` once (a few seconds); every test then compares what dvc_compat
computes with what dvc wrote: stage names, interpolated commands, dvc.lock bytes, lock entries rebuilt from
scratch, directory hashes and cache objects, run-cache keys/values and file bytes.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dvc_compat.cache_layout import object_path, run_cache_key_value, run_cache_path
from dvc_compat.config import DVC_GITIGNORE, DVCIGNORE_TEXT, init_dvc_dir, load_config
from dvc_compat.dotdvc import dump_dotdvc, read_dotdvc, write_dotdvc
from dvc_compat.dvcyaml import load_project
from dvc_compat.exp_refs import commit_message, exp_hash, parse_dvc_stash_message, parse_exp_ref
from dvc_compat.hashing import hash_dir, hash_path
from dvc_compat.lockfile import (
    dump_lock,
    dump_yaml_like_dvc,
    lock_stage_to_dict,
    lockfile_path,
    read_lock,
    read_lock_raw,
    write_lock,
)
from dvc_compat.model import HashInfo, LockStage
from dvc_compat.params import apply_overrides, get_dotted, load_params

pytestmark = pytest.mark.dvc

DVC = str(Path(sys.executable).parent / "dvc")

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "DVC_NO_ANALYTICS": "1",
}

PARAMS = """\
# project params
train:
  lr: 0.001      # learning rate
  epochs: 3
  layers: [1, 2]
  opt: {name: adam, beta: 0.9}
seed: 42
flag: true
models:
  small: {layers: 2}
  large: {layers: 8}
"""

DVC_YAML = r"""
vars:
  - config/data.yaml:split,seed2
  - cfg: {lr: 0.1, verbose: true, quiet: false, tags: [a, b c]}
    outdir: out
stages:
  prep:
    cmd: mkdir -p ${outdir} && cp -r data/raw ${outdir}/prepared && echo ${seed} ${split} > ${outdir}/seed.txt
    deps:
      - data/raw
      - src/run.sh
    params:
      - seed
      - train.opt
      - config/data.yaml: [split]
    outs:
      - ${outdir}/prepared
      - ${outdir}/seed.txt
  train:
    cmd:
      - echo ${cfg} ${train.layers[1]} \${HOME} ${flag} > model.txt
      - "echo '{\"acc\": 0.5, \"loss\": 0.25}' > metrics.json"
    deps:
      - ${outdir}/prepared
    params:
      - train.lr
      - train
      - other.yaml:
      - flag
    outs:
      - model.txt
    metrics:
      - metrics.json:
          cache: false
  lst:
    foreach: [x, 1, true]
    do:
      cmd: echo ${item} > lst-${item}.txt
      deps:
        - src/run.sh
      outs:
        - lst-${item}.txt
  fe:
    foreach: ${models}
    do:
      cmd: echo ${key} ${item.layers} > model-${key}.txt
      deps:
        - model.txt
      outs:
        - model-${key}.txt
  mx:
    matrix:
      m: [cnn, rnn]
      cfg: [{a: 1}, {a: 2}]
    cmd: echo ${item.m} ${item.cfg.a} ${key} > mx-${key}.txt
    deps:
      - model.txt
    outs:
      - mx-${key}.txt
  inwdir:
    vars:
      - local: 5
    wdir: work
    cmd: cat ../model.txt > w.txt && echo ${local} >> w.txt
    deps:
      - ../model.txt
    outs:
      - w.txt
"""

SUB_DVC_YAML = """
stages:
  subst:
    cmd: echo ${greeting} > hello.txt
    params:
      - greeting
    outs:
      - hello.txt
"""


def run(cwd: Path, *args: str) -> str:
    proc = subprocess.run(list(args), cwd=cwd, env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git + dvc repo where the real `dvc repro` has run the whole pipeline once."""
    root = tmp_path_factory.mktemp("realdvc") / "repo"
    root.mkdir()
    run(root, "git", "init", "-q", "-b", "main")
    run(root, DVC, "init", "-q")
    write_files(root, {
        "params.yaml": PARAMS,
        "other.yaml": "z: 2\nk: 1\n",
        "config/data.yaml": "split: 0.2\nseed2: 7\nunused: 1\n",
        "data/raw/x.csv": "a,b\n1,2\n",
        "data/raw/sub/deep.txt": "deep\n",
        "src/run.sh": "#!/bin/sh\necho run\n",
        "dvc.yaml": DVC_YAML,
        "work/.keep": "",
        "sub/dvc.yaml": SUB_DVC_YAML,
        "sub/params.yaml": "greeting: hi there\n",
    })
    (root / "data/raw/y.csv").write_bytes(b"c\r\n3\r\n")
    (root / "src/run.sh").chmod(0o755)
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "pipeline")
    run(root, DVC, "repro", "-q", "--all-pipelines")
    return root


def test_stage_names_match_dvc_stage_list(repo: Path) -> None:
    out = run(repo, DVC, "stage", "list", "--all", "--name-only")
    dvc_names = sorted(line.strip() for line in out.splitlines() if line.strip())
    ours = sorted(st.address for f in load_project(repo) for st in f.stages.values())
    assert ours == dvc_names
    assert "mx@cnn-cfg0" in ours and "fe@small" in ours and "lst@true" in ours and "sub/dvc.yaml:subst" in ours


def test_interpolated_commands_match_dvc_lock(repo: Path) -> None:
    checked = 0
    for f in load_project(repo):
        lock = read_lock(repo / lockfile_path(f.path))
        assert set(lock) == set(f.stages)
        for name, st in f.stages.items():
            assert st.cmd == lock[name].cmd, name
            checked += 1
    assert checked == 13


def test_lock_dump_is_byte_identical(repo: Path) -> None:
    for rel in ("dvc.lock", "sub/dvc.lock"):
        original = (repo / rel).read_text()
        assert dump_lock(read_lock(repo / rel)) == original
        assert dump_lock(read_lock_raw(repo / rel)) == original


def test_write_lock_keeps_other_stages_and_order(repo: Path, tmp_path: Path) -> None:
    original = (repo / "dvc.lock").read_text()
    target = tmp_path / "dvc.lock"
    target.write_text(original)
    stages = read_lock(target)
    assert write_lock(target, {"train": stages["train"]}) is False  # same content: not rewritten
    assert target.read_text() == original
    changed = LockStage(cmd="echo changed", deps=stages["train"].deps, params=stages["train"].params,
                        outs=stages["train"].outs)
    assert write_lock(target, {"train": changed}) is True
    after = read_lock(target)
    assert list(after) == list(stages)
    assert after["train"].cmd == "echo changed"
    assert {k: v for k, v in after.items() if k != "train"} == {k: v for k, v in stages.items() if k != "train"}


def _param_values(repo: Path, wdir: str, spec_file: str, keys: tuple[str, ...] | None) -> dict:
    data = load_params(repo / wdir / spec_file)
    if keys is None:
        return data
    return {k: get_dotted(data, k) for k in keys}


def test_lock_entries_rebuilt_from_scratch_equal_dvcs(repo: Path) -> None:
    """What the pipeline engine will do: hash deps/outs, read params, build the lock entry, compare."""
    for f in load_project(repo):
        raw = read_lock_raw(repo / lockfile_path(f.path))
        for name, st in f.stages.items():
            wdir = repo / st.wdir

            def info(path: str) -> HashInfo:
                md5, size, nfiles, isexec = hash_path(wdir / path)
                return HashInfo(path=path, md5=md5, size=size, nfiles=nfiles, isexec=isexec)

            stage = LockStage(
                cmd=st.cmd,
                deps=[info(d) for d in st.deps],
                params={p.file: _param_values(repo, st.wdir, p.file, p.keys) for p in st.params},
                outs=[info(o.path) for o in st.outs],
            )
            assert lock_stage_to_dict(stage) == raw[name], name
            assert dump_lock({name: stage}) == dump_lock({name: raw[name]})


def test_dir_hash_and_manifest_object_match(repo: Path) -> None:
    cfg = load_config(repo)
    assert cfg.cache_dir == repo / ".dvc" / "cache"
    lock = read_lock(repo / "dvc.lock")
    prepared = next(o for o in lock["prep"].outs if o.path == "out/prepared")
    d = hash_dir(repo / "out" / "prepared")
    assert (d.md5, d.size, d.nfiles) == (prepared.md5, prepared.size, prepared.nfiles)
    assert object_path(cfg.cache_dir, d.md5).read_bytes() == d.manifest
    for rel, md5 in d.entries:
        assert object_path(cfg.cache_dir, md5).read_bytes() == (repo / "out/prepared" / rel).read_bytes()
    raw_dep = next(x for x in lock["prep"].deps if x.path == "data/raw")
    assert raw_dep.md5 == d.md5  # same content as the copy


def test_run_cache_key_value_and_bytes_match(repo: Path) -> None:
    cache = load_config(repo).cache_dir
    raw = read_lock_raw(repo / "dvc.lock")
    found = 0
    for name, entry in raw.items():
        key, value = run_cache_key_value(entry)
        path = run_cache_path(cache, key, value)
        eligible = bool(entry.get("deps")) and bool(entry.get("outs"))
        if eligible:
            assert path.is_file(), name
            assert path.read_text() == dump_yaml_like_dvc(entry)
            found += 1
        else:
            assert not path.exists()
    runs = [p for p in (cache / "runs").rglob("*") if p.is_file()]
    assert found >= 10 and len(runs) >= found


def test_init_dvc_dir_matches_dvc_init(tmp_path: Path) -> None:
    real = tmp_path / "real"
    ours = tmp_path / "ours"
    for d in (real, ours):
        d.mkdir()
        run(d, "git", "init", "-q")
    run(real, DVC, "init", "-q")
    created = init_dvc_dir(ours)
    assert sorted(created) == [".dvc/.gitignore", ".dvc/config", ".dvcignore"]
    for rel in created:
        assert (ours / rel).read_bytes() == (real / rel).read_bytes(), rel
    assert (ours / ".dvc/.gitignore").read_text() == DVC_GITIGNORE
    assert (ours / ".dvcignore").read_text() == DVCIGNORE_TEXT
    assert (ours / ".dvc/tmp").is_dir()
    assert init_dvc_dir(ours) == []  # idempotent, never overwrites
    # DVC itself accepts our directory as a repo
    assert run(ours, DVC, "status", "-q") == ""


def test_config_matches_dvc_config_commands(tmp_path: Path) -> None:
    repo = tmp_path / "cfg"
    repo.mkdir()
    run(repo, "git", "init", "-q")
    run(repo, DVC, "init", "-q")
    run(repo, DVC, "remote", "add", "-d", "store", "/tmp/some store")
    run(repo, DVC, "remote", "add", "other", "s3://bucket/path")
    run(repo, DVC, "config", "cache.type", "hardlink,symlink")
    run(repo, DVC, "config", "--local", "cache.dir", "../../shared-cache")
    cfg = load_config(repo)
    assert cfg.core_remote == "store"
    assert cfg.remotes == {"store": {"url": "/tmp/some store"}, "other": {"url": "s3://bucket/path"}}
    assert cfg.link_types == ("hardlink", "symlink")
    dvc_cache_dir = run(repo, DVC, "cache", "dir").strip()
    assert cfg.cache_dir == Path(os.path.normpath(dvc_cache_dir))


def test_dotdvc_read_write_match_dvc_add(tmp_path: Path) -> None:
    repo = tmp_path / "add"
    repo.mkdir()
    run(repo, "git", "init", "-q")
    run(repo, DVC, "init", "-q")
    write_files(repo, {"d/a.txt": "a\n", "d/s/b.txt": "b\n", "tool.sh": "#!/bin/sh\n"})
    (repo / "tool.sh").chmod(0o755)
    run(repo, DVC, "add", "-q", "d", "tool.sh")
    for name, target in (("d.dvc", "d"), ("tool.sh.dvc", "tool.sh")):
        text = (repo / name).read_text()
        parsed = read_dotdvc(repo / name)
        assert dump_dotdvc(parsed) == text
        md5, size, nfiles, isexec = hash_path(repo / target)
        assert (parsed.outs[0].md5, parsed.outs[0].size, parsed.outs[0].nfiles, parsed.outs[0].isexec) == (
            md5, size, nfiles, isexec)
    # rewrite after a change, keeping a user comment; the result equals what `dvc commit` writes
    with_comment = "# keep me\n" + (repo / "d.dvc").read_text()
    (repo / "d.dvc").write_text(with_comment)
    (repo / "d/a.txt").write_text("changed\n")
    run(repo, DVC, "commit", "-q", "-f", "d.dvc")
    expected = (repo / "d.dvc").read_text()
    assert "# keep me" in expected
    (repo / "d.dvc").write_text(with_comment)
    d = hash_dir(repo / "d")
    f = read_dotdvc(repo / "d.dvc")
    f.outs[0] = HashInfo(path="d", md5=d.md5, size=d.size, nfiles=d.nfiles)
    write_dotdvc(repo / "d.dvc", f)
    assert (repo / "d.dvc").read_text() == expected


def test_experiment_commit_hash_ref_and_queue_message(tmp_path: Path) -> None:
    repo = tmp_path / "exp"
    repo.mkdir()
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, DVC, "init", "-q")
    write_files(repo, {
        "params.yaml": "a: 1\nb: 2\n",
        "dvc.yaml": "stages:\n  one:\n    cmd: echo ${a} > one.txt\n    params: [a]\n    outs: [one.txt]\n"
                    "  two:\n    cmd: cat one.txt > two.txt && echo ${b} >> two.txt\n    deps: [one.txt]\n"
                    "    params: [b]\n    outs: [two.txt]\n",
    })
    run(repo, DVC, "repro", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "baseline")
    head = run(repo, "git", "rev-parse", "HEAD").strip()
    run(repo, DVC, "exp", "run", "-q", "-n", "bee", "-S", "b=5")
    refs = run(repo, "git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps").split("\n")
    exp_refs = [line.split() for line in refs if line and parse_exp_ref(line.split()[0])]
    assert len(exp_refs) == 1
    ref, sha = exp_refs[0]
    assert parse_exp_ref(ref) == (head, "bee")
    # every internal ref DVC left behind is rejected by the parser
    assert all(parse_exp_ref(line.split()[0]) is None for line in refs if line and line.split()[0] != ref)
    message = run(repo, "git", "cat-file", "-p", sha).split("\n\n", 1)[1]
    lock_text = run(repo, "git", "show", f"{sha}:dvc.lock")
    from dvc_compat.lockfile import parse_lock

    entries = {name: lock_stage_to_dict(s) for name, s in parse_lock(lock_text).items()}
    assert message == commit_message(exp_hash({"two": entries["two"]}))  # only 'two' was reproduced
    # a queued experiment: DVC's stash message parses
    run(repo, DVC, "exp", "run", "-q", "--queue", "-n", "queued-one", "-S", "a=9")
    log = run(repo, "git", "log", "-g", "--format=%gs", "refs/exps/celery/stash")
    entry = parse_dvc_stash_message(log.splitlines()[0])
    assert entry is not None and entry.baseline_rev == head and entry.name == "queued-one"
    assert entry.rev == head


SET_PARAM_CASES = [
    (["train.lr=0.5", "train.layers=[3,4]", "+train.new=abc", "train.opt={name: sgd}", "seed=1e-5"],
     {"train.lr": 0.5, "train.layers": [3, 4], "train.new": "abc", "train.opt": {"name": "sgd"}, "seed": 1e-5},
     {"train.new"}),
    (["train.epochs={a: 1}", "flag=[1]", "train.long=short"],
     {"train.epochs": {"a": 1}, "flag": [1], "train.long": "short"}, set()),
    (["seed=abc def", "train.opt.beta=null", "flag=FALSE"],
     {"seed": "abc def", "train.opt.beta": None, "flag": False}, set()),
]


@pytest.mark.parametrize(("args", "overrides", "allow_new"), SET_PARAM_CASES)
def test_apply_overrides_is_byte_identical_to_dvc_set_param(
    tmp_path: Path, args: list[str], overrides: dict, allow_new: set[str]
) -> None:
    """`dvc exp run --queue -S` edits params.yaml in its stash commit; our edit writes the same bytes."""
    text = PARAMS + (
        "long_note: 'a very long string value that goes past the eighty column limit for sure, yes it does'\n")
    text = text.replace("  opt: {name: adam, beta: 0.9}\n",
                        "  opt: {name: adam, beta: 0.9}\n  long: \"a quoted string\"\n  wd: 1e-3\n  hexed: 0x1F\n"
                        "  text: |\n    two\n    lines\n  nested: [[1, 2], {a: 0x10}]\n")
    repo = tmp_path / "setp"
    repo.mkdir()
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, DVC, "init", "-q")
    write_files(repo, {"params.yaml": text, "dvc.yaml": "stages:\n  s:\n    cmd: echo ${seed}\n    params: [seed]\n"})
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "base")
    run(repo, DVC, "exp", "run", "-q", "--queue", *[a for arg in args for a in ("-S", arg)])
    stash = run(repo, "git", "rev-parse", "refs/exps/celery/stash").strip()
    dvc_text = run(repo, "git", "show", f"{stash}:params.yaml")
    ours = tmp_path / "params.yaml"
    ours.write_text(text)
    apply_overrides(ours, overrides, allow_new=allow_new)
    assert ours.read_text() == dvc_text
    assert "# learning rate" in dvc_text


PARITY_CASES = [
    # (dvc.yaml, accepted by DVC?)
    ("stages:\n  t:\n    cmd: x\n    outz: [a]\n", False),
    ("stages:\n  t:\n    deps: [a]\n", False),
    ("stages:\n  t:\n    cmd: 3\n", False),
    ("stages:\n  t:\n    cmd: x\n    deps: a\n", False),
    ("stages:\n  t:\n    cmd: x\n    frozen: yes\n", False),
    ("stage:\n  t:\n    cmd: x\n", False),
    ("stages:\n  t:\n    cmd: x\n    outs:\n      - a:\n          cahce: false\n", False),
    ("stages:\n  t@x:\n    cmd: x\n", False),
    ("stages:\n  t:\n    foreach: 3\n    do: {cmd: x}\n", False),
    ("stages:\n  t:\n    cmd: x\n  t:\n    cmd: y\n", False),
    ("stages:\n  t:\n    cmd: echo ${nope}\n", False),
    ("vars:\n  - l: [1, 2]\nstages:\n  a:\n    cmd: echo ${l}\n", False),
    ("vars:\n  - train: {lr: 1}\nstages:\n  s:\n    cmd: x\n", False),
    ("vars:\n  - nofile.yaml\nstages: {}\n", False),
    ("vars:\n  - x: ${y}\nstages: {}\n", False),
    ("stages:\n  t.x:\n    cmd: echo ${train.lr}\n", True),
    ("stages: {}\n", True),
    ("vars:\n  - train: {extra: 2}\nstages:\n  s:\n    cmd: echo ${train.lr} ${train.extra}\n", True),
    ("vars:\n  - m: {a: {n: 1}, b: {n: 2}}\nstages:\n  f:\n    foreach: ${m}\n    do:\n      cmd: echo ${key} ${item.n}\n",
     True),
    ("stages:\n  t:\n    cmd: x\n    frozen: true\n    always_changed: false\n    desc: d\n    meta: {a: [1]}\n"
     "    outs:\n      - o:\n          persist: true\n          cache: false\n          remote: r\n          push: false\n"
     "    plots:\n      - p.csv:\n          x: a\n          y: b\n          template: linear\n", True),
    ("metrics: [m.json]\nparams: [p.yaml]\nplots:\n  - p.csv: {x: a}\nartifacts:\n  m: {path: m.pkl, type: model}\n"
     "stages: {}\n", True),
]


def test_accepts_and_rejects_what_dvc_does(tmp_path: Path) -> None:
    """Neither stricter nor looser than DVC on a set of valid and invalid dvc.yaml files."""
    from dvc_compat.dvcyaml import load_dvcfile
    from dvc_compat.errors import FormatError

    repo = tmp_path / "parity"
    repo.mkdir()
    run(repo, "git", "init", "-q")
    run(repo, DVC, "init", "-q")
    (repo / "params.yaml").write_text("train:\n  lr: 0.1\n")
    mismatches = []
    for text, expected in PARITY_CASES:
        (repo / "dvc.yaml").write_text(text)
        proc = subprocess.run([DVC, "stage", "list", "--fail", "--name-only"], cwd=repo, env=ENV,
                              capture_output=True, text=True)
        dvc_ok = proc.returncode == 0
        try:
            f = load_dvcfile(repo)
            ours_ok = True
        except FormatError:
            ours_ok = False
        if dvc_ok != expected or ours_ok != expected:
            mismatches.append((text, expected, dvc_ok, ours_ok))
        elif ours_ok:
            assert sorted(f.stages) == sorted(proc.stdout.split()), text
    assert not mismatches


def test_vars_params_are_what_dvc_exp_show_lists(tmp_path: Path) -> None:
    import json

    from dvc_compat.dvcyaml import load_dvcfile

    repo = tmp_path / "tv"
    repo.mkdir()
    run(repo, "git", "init", "-q")
    run(repo, DVC, "init", "-q")
    write_files(repo, {
        "config/model.yaml": "model: {layers: 4, opt: [adam, sgd], name: n, unused: 1}\nother: 3\n",
        "extra.yaml": "e: 5\nf: 6\n",
        "params.yaml": "seed: 1\n",
        "dvc.yaml": "vars:\n  - config/model.yaml\nstages:\n  s:\n    cmd: echo ${model.layers} ${model.opt[0]}\n"
                    "  t:\n    vars: [extra.yaml]\n    cmd: echo ${e}\n",
    })
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "x")
    shown = json.loads(run(repo, DVC, "exp", "show", "--json"))[0]["data"]["params"]
    ours = load_dvcfile(repo).vars_params
    for path, keys in ours.items():
        assert list(shown[path]["data"]) == list(keys)  # the same keys in the same order (first use)
    assert set(shown) - {"params.yaml"} == set(ours)


def test_toml_and_json_overrides_match_dvc(tmp_path: Path) -> None:
    """TOML and JSON edits are byte-identical to DVC's (DVC rewrites JSON on one line, key order kept)."""
    import json

    repo = tmp_path / "jt"
    repo.mkdir()
    run(repo, "git", "init", "-q")
    run(repo, DVC, "init", "-q")
    json_text = '{\n    "z": 1,\n    "a": {\n        "lr": 0.1,\n        "l": [1, 2]\n    }\n}\n'
    toml_text = "# top\n[train]\nlr = 0.1  # rate\nl = [1, 2]\nname = \"x\"\n"
    write_files(repo, {"p.json": json_text, "p.toml": toml_text,
                       "dvc.yaml": "stages:\n  s:\n    cmd: echo\n    params:\n      - p.json:\n      - p.toml:\n"})
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "x")
    run(repo, DVC, "exp", "run", "-q", "--queue", "-S", "p.json:a.lr=0.5", "-S", "p.json:a.l=[3]",
        "-S", "p.toml:train.lr=0.5", "-S", "p.toml:train.name=y")
    dvc_json = run(repo, "git", "show", "refs/exps/celery/stash:p.json")
    dvc_toml = run(repo, "git", "show", "refs/exps/celery/stash:p.toml")
    ours_json, ours_toml = tmp_path / "p.json", tmp_path / "p.toml"
    ours_json.write_text(json_text)
    ours_toml.write_text(toml_text)
    apply_overrides(ours_json, {"a.lr": 0.5, "a.l": [3]})
    apply_overrides(ours_toml, {"train.lr": 0.5, "train.name": "y"})
    assert ours_toml.read_text() == dvc_toml
    assert ours_json.read_text() == dvc_json
    assert list(json.loads(ours_json.read_text())) == ["z", "a"]


def test_dvcignore_skips_the_same_dvcfiles_as_dvc(tmp_path: Path) -> None:
    repo = tmp_path / "ign"
    repo.mkdir()
    run(repo, "git", "init", "-q")
    run(repo, DVC, "init", "-q")
    for rel in ["dvc.yaml", "keep/dvc.yaml", "x/data/dvc.yaml", "data/dvc.yaml", "runs/a/dvc.yaml", "tmp1/dvc.yaml",
                "deep/tmp2/dvc.yaml", "deep/keep/dvc.yaml", "anch/sub/dvc.yaml", "other/anch/sub/dvc.yaml"]:
        write_files(repo, {rel: "stages:\n  s:\n    cmd: echo\n"})
    (repo / ".dvcignore").write_text("/data\nruns/\ntmp*\nanch/sub\n")
    out = run(repo, DVC, "stage", "list", "--all", "--name-only")
    assert sorted(out.split()) == sorted(st.address for f in load_project(repo) for st in f.stages.values())


def test_dvcignore_negation_and_subdirectory_files_skip_what_dvc_skips(tmp_path: Path) -> None:
    repo = tmp_path / "ign2"
    repo.mkdir()
    run(repo, "git", "init", "-q")
    run(repo, DVC, "init", "-q")
    for rel in ["dvc.yaml", "exp1/dvc.yaml", "exp_keep/dvc.yaml", "sub/inner/dvc.yaml", "sub/other/dvc.yaml",
                "sub/deeper/inner/dvc.yaml", "inner/dvc.yaml", "a/exp2/dvc.yaml"]:
        write_files(repo, {rel: "stages:\n  s:\n    cmd: echo\n"})
    (repo / ".dvcignore").write_text("exp*\n!exp_keep\n")
    (repo / "sub" / ".dvcignore").write_text("inner\n")
    out = run(repo, DVC, "stage", "list", "--all", "--name-only")
    assert sorted(out.split()) == sorted(st.address for f in load_project(repo) for st in f.stages.values())
    assert "exp_keep/dvc.yaml:s" in out and "sub/other/dvc.yaml:s" in out and "inner/dvc.yaml:s" in out
