"""`exptui status` / `exptui repro` give the answers the real `dvc` gives (issue 12: status and hashing).

Every test builds a small real repo (`git init` + `dvc init`) in a temp dir and runs both tools as subprocesses on
it; `dvc status --json` is the judge. Commands run under a timeout: a pipeline that makes exptui spin must fail the
test, not hang the suite.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import BIN, git

pytestmark = pytest.mark.dvc

DVC = str(BIN / "dvc")
EXPTUI = str(BIN / "exptui")
PY = sys.executable
UP_TO_DATE = "Data and pipelines are up to date."
#: no command here does more than a few file copies: this is a hang, not a slow machine
TIMEOUT = 60


def run(tool: str, repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([tool, *args], cwd=repo, capture_output=True, text=True, timeout=TIMEOUT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{Path(tool).name} {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(DVC, repo, *args, check=check)


def exptui(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(EXPTUI, repo, *args, check=check)


def make_repo(path: Path, dvc_yaml: str, files: dict[str, str | bytes] | None = None) -> Path:
    """A git + DVC repo holding `dvc.yaml` and `files`, all committed."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    dvc(path, "init", "-q")
    (path / "dvc.yaml").write_text(dvc_yaml)
    for name, content in (files or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "pipeline")
    return path


def dvc_status(repo: Path, *args: str) -> dict[str, Any]:
    return json.loads(dvc(repo, "status", "--json", *args).stdout)


# ---------------------------------------------------------------- 1. pipelines that must load (no hang)

def test_an_absolute_output_path_loads_and_is_clean_after_repro(tmp_path: Path) -> None:
    """`outs: [/abs/path: {cache: false}]` (DVC accepts it) once made `_ancestors` spin on `dirname('/')`."""
    target = tmp_path / "outside" / "abs_out.txt"
    target.parent.mkdir()
    repo = make_repo(tmp_path / "repo", (
        "stages:\n"
        "  write:\n"
        f"    cmd: echo hi > {target}\n"
        "    outs:\n"
        f"      - {target}:\n"
        "          cache: false\n"
        "  read:\n"
        f"    cmd: cat {target} > copy.txt\n"
        f"    deps: [{target}]\n"
        "    outs: [copy.txt]\n"
    ))
    dag = exptui(repo, "dag", "--dot")
    assert '"write" -> "read";' in dag.stdout  # the absolute path still connects its producer and its reader
    assert set(dvc_status(repo)) == {"write", "read"}
    assert "write:" in exptui(repo, "status").stdout
    exptui(repo, "repro")
    assert target.read_text() == "hi\n"
    assert dvc(repo, "status").stdout.strip() == UP_TO_DATE
    assert exptui(repo, "status").stdout.strip() == UP_TO_DATE
    assert not (target.parent / ".gitignore").exists()  # nothing written outside the repository


def test_a_cached_output_outside_the_repo_is_refused_in_one_line(tmp_path: Path) -> None:
    """DVC 3 runs the stage, then fails to cache `/abs/out` ("not supported since DVC 3.0"); exptui refuses
    before running it, in one line naming the output and the fix, and writes nothing outside the repository."""
    target = tmp_path / "outside" / "abs_out.txt"
    target.parent.mkdir()
    repo = make_repo(tmp_path / "repo", f"stages:\n  write:\n    cmd: echo hi > {target}\n    outs: [{target}]\n")
    theirs = dvc(repo, "repro", check=False)
    assert theirs.returncode != 0 and "external output" in theirs.stderr + theirs.stdout
    target.unlink()
    ours = exptui(repo, "repro", check=False)
    assert ours.returncode != 0
    assert "Traceback" not in ours.stderr
    assert ours.stderr.strip().splitlines()[-1].endswith(
        f"stage 'write': output '{target}' is outside the repository and DVC 3 cannot cache it: add `cache: false` "
        "to it in dvc.yaml, or write it inside the repository")
    assert not target.exists()
    assert not (target.parent / ".gitignore").exists()


# ---------------------------------------------------------------- 2. .gitignore written as each stage commits

def test_a_directory_dep_sees_the_gitignore_dvc_writes_into_it(tmp_path: Path) -> None:
    """Stage A writes the cached out `data/a.txt`; stage B depends on the directory `data`. DVC adds `/a.txt` to
    `data/.gitignore` when it commits A, before B runs, so B's directory hash counts that file: exptui must write
    it at the same moment, or `dvc status` sees B's dep as modified after `exptui repro`. Names are escaped as DVC
    escapes them (`/b\\[1\\]\\*.txt`)."""
    dvc_yaml = (
        "stages:\n"
        "  a:\n"
        "    cmd: mkdir -p data && echo a > data/a.txt && echo b > 'data/b[1]*.txt'\n"
        "    outs: [data/a.txt, 'data/b[1]*.txt']\n"
        "  b:\n"
        "    cmd: ls -a data > listing.txt\n"
        "    deps: [data]\n"
        "    outs: [listing.txt]\n"
    )
    theirs = make_repo(tmp_path / "theirs", dvc_yaml, {"data/keep.txt": "k\n"})
    ours = make_repo(tmp_path / "ours", dvc_yaml, {"data/keep.txt": "k\n"})
    dvc(theirs, "repro")
    exptui(ours, "repro")
    for name in ("data/.gitignore", ".gitignore", "listing.txt", "dvc.lock"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    assert dvc(ours, "status").stdout.strip() == UP_TO_DATE
    assert exptui(ours, "status").stdout.strip() == UP_TO_DATE
    again = dvc(ours, "repro")
    assert "Running stage" not in again.stdout
    assert exptui(theirs, "status").stdout.strip() == UP_TO_DATE


# ---------------------------------------------------------------- 3, 4, 7, 8. status: same stages, same words

def assert_same_status(repo: Path, *args: str) -> dict[str, Any]:
    """`exptui status --dvc-json ARGS` equals `dvc status --json ARGS`; returns it."""
    theirs = dvc_status(repo, *args)
    ours = json.loads(exptui(repo, "status", "--dvc-json", *args).stdout)
    assert ours == theirs
    return theirs


STATUS_YAML = """\
stages:
  a:
    cmd: cp in.txt a.txt
    deps: [in.txt]
    params: [p, q]
    outs: [a.txt]
  b:
    cmd: cat a.txt > b.txt && echo '{}' > m.json
    deps: [a.txt]
    outs: [b.txt, {m.json: {cache: false}}]
  callback:
    cmd: echo cb
  outs_only:
    cmd: echo x > outs_only.txt
    outs: [outs_only.txt]
  always:
    cmd: echo ac
    deps: [in.txt]
    always_changed: true
  frozen_always:
    cmd: echo fz > fz.txt
    outs: [fz.txt]
    always_changed: true
    frozen: true
  frozen_callback:
    cmd: echo fcb
    frozen: true
"""


def test_frozen_always_changed_and_callback_stages_are_changed_as_in_dvc(tmp_path: Path) -> None:
    """DVC reports `always changed` for `always_changed` and callback stages even when frozen (a frozen stage's
    deps are not looked at; its outs are)."""
    repo = make_repo(tmp_path / "repo", STATUS_YAML, {"in.txt": "in\n", "params.yaml": "p: 1\nq: 2\nr: 3\n"})
    dvc(repo, "repro", check=False)  # fails at the frozen stage whose out was never made, after running the rest
    status = assert_same_status(repo)
    assert status == {"callback": ["always changed"], "always": ["always changed"],
                      "frozen_always": [{"changed outs": {"fz.txt": "deleted"}}, "always changed"],
                      "frozen_callback": ["always changed"]}
    text = exptui(repo, "status").stdout
    assert "frozen_always: (frozen)\n\tno lock entry (never run)\n\tout fz.txt: deleted\n\talways changed\n" in text
    assert "always:\n\talways changed\nfrozen_always:" in text


def test_never_run_stages_are_described_in_dvcs_words(tmp_path: Path) -> None:
    """No lock entry: DVC says the deps are `modified` (or `deleted`), the params files `new`, the outs `deleted`;
    exptui says the same after its own `no lock entry (never run)` line."""
    repo = make_repo(tmp_path / "repo", STATUS_YAML, {"in.txt": "in\n", "params.yaml": "p: 1\nq: 2\nr: 3\n"})
    status = assert_same_status(repo)
    assert status["a"] == [{"changed deps": {"in.txt": "modified", "params.yaml": "new"}},
                           {"changed outs": {"a.txt": "deleted"}}]
    assert exptui(repo, "status", "a").stdout == (
        "a:\n\tno lock entry (never run)\n\tdep in.txt: modified\n\tparams file params.yaml: new\n"
        "\tout a.txt: deleted\n")


def test_empty_cmd_list_stages_have_dvcs_status(tmp_path: Path) -> None:
    """`cmd: []` is no callback for DVC (its `is_callback` needs a command): with nothing to depend on or produce
    it is never in `dvc status` (exptui said `always changed` and `no lock entry`); with deps/params/outs it is
    described as any never-run stage. Before and after `dvc repro` (which skips the no-op stage)."""
    repo = make_repo(tmp_path / "repo", (
        "stages:\n"
        "  noop:\n    cmd: []\n"
        "  with_dep:\n    cmd: []\n    deps: [in.txt]\n"
        "  with_out:\n    cmd: []\n    outs: [o.txt]\n"
        "  with_param:\n    cmd: []\n    params: [a]\n"
        "  real:\n    cmd: cp in.txt r.txt\n    deps: [in.txt]\n    outs: [r.txt]\n"
    ), {"in.txt": "in\n", "params.yaml": "a: 1\n"})
    status = assert_same_status(repo)
    assert "noop" not in status and set(status) == {"with_dep", "with_out", "with_param", "real"}
    assert "noop" not in exptui(repo, "status").stdout
    dvc(repo, "repro", "real")
    assert_same_status(repo)
    assert exptui(repo, "status", "noop").stdout.strip() == UP_TO_DATE
    assert dvc(repo, "status", "noop").stdout.strip() == UP_TO_DATE


def test_every_kind_of_change_uses_dvcs_words(tmp_path: Path) -> None:
    """After a run: a dep added to dvc.yaml since (DVC: `modified`, not `new`), a dep edited, a dep deleted, a
    params file added (`new`), a param key edited / added / deleted, an out edited, an out deleted, an out whose
    cache object is gone (`not in cache`), a changed command."""
    repo = make_repo(tmp_path / "repo", (
        "stages:\n"
        "  a:\n"
        "    cmd: cp in.txt a.txt && echo 2 > a2.txt && echo 3 > a3.txt\n"
        "    deps: [in.txt, gone.txt]\n"
        "    params: [p, q]\n"
        "    outs: [a.txt, a2.txt, a3.txt]\n"
        "  whole:\n"
        "    cmd: echo w > w.txt\n"
        "    params: [{cfg.yaml: }]\n"
        "    outs: [w.txt]\n"
    ), {"in.txt": "in\n", "gone.txt": "g\n", "extra.txt": "e\n", "params.yaml": "p: 1\nq: 2\n",
        "cfg.yaml": "x: 1\ny: 2\n", "other.yaml": "k: 1\n"})
    exptui(repo, "repro")
    assert assert_same_status(repo) == {}
    (repo / "dvc.yaml").write_text((repo / "dvc.yaml").read_text()
                                   .replace("deps: [in.txt, gone.txt]", "deps: [in.txt, gone.txt, extra.txt]")
                                   .replace("params: [p, q]", "params: [p, q, {other.yaml: [k]}]")
                                   .replace("cp in.txt a.txt &&", "cp in.txt a.txt  &&"))
    (repo / "in.txt").write_text("in, edited\n")
    (repo / "gone.txt").unlink()
    (repo / "params.yaml").write_text("p: 5\n")
    (repo / "cfg.yaml").write_text("x: 1\nz: 3\n")
    (repo / "a.txt").write_text("edited out\n")
    (repo / "a2.txt").unlink()
    a3 = (repo / "a3.txt").read_bytes()
    import hashlib
    md5 = hashlib.md5(a3).hexdigest()
    (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    (repo / "w.txt").unlink()
    (repo / "w.txt").write_text("w\n")  # same content, new file: clean
    status = assert_same_status(repo)
    assert status == {
        "a": [{"changed deps": {"in.txt": "modified", "gone.txt": "deleted", "extra.txt": "modified",
                                "params.yaml": {"q": "deleted", "p": "modified"}, "other.yaml": "new"}},
              {"changed outs": {"a.txt": "modified", "a2.txt": "deleted", "a3.txt": "not in cache"}},
              "changed command"],
        "whole": [{"changed deps": {"cfg.yaml": {"y": "deleted", "z": "new"}}}],
    }
    lines = exptui(repo, "status").stdout.splitlines()
    assert lines[:2] == ["a:", "\tdep in.txt: modified"]
    assert "\tdep extra.txt: modified" in lines and "\tparams file other.yaml: new" in lines
    assert lines.index("\tout a3.txt: not in cache") < lines.index("\tchanged command")


def test_status_target_lists_that_stage_alone_unless_with_deps(tmp_path: Path) -> None:
    """`dvc status b` reports b only, `dvc status --with-deps b` (`-d`) b and its upstream."""
    repo = make_repo(tmp_path / "repo", STATUS_YAML, {"in.txt": "in\n", "params.yaml": "p: 1\nq: 2\nr: 3\n"})
    assert set(assert_same_status(repo, "b")) == {"b"}
    assert set(assert_same_status(repo, "--with-deps", "b")) == {"a", "b"}
    assert set(assert_same_status(repo, "-d", "b")) == {"a", "b"}
    assert set(assert_same_status(repo, "a", "always")) == {"a", "always"}


def test_interpolated_and_wdir_paths_are_printed_normalised_as_dvc_prints_them(tmp_path: Path) -> None:
    """`${dir}/clf-model` with `dir: model/` is `model//clf-model` in dvc.lock but `model/clf-model` in `dvc status`;
    a stage with `wdir` in `sub/dvc.yaml` has its paths printed from the repo root."""
    repo = make_repo(tmp_path / "repo", (
        "vars:\n"
        "  - dir: model/\n"
        "stages:\n"
        "  train:\n"
        "    cmd: mkdir -p model && cp in.txt ${dir}/clf-model\n"
        "    deps: [in.txt]\n"
        "    outs: ['${dir}/clf-model']\n"
    ), {"in.txt": "in\n", "sub/dvc.yaml": (
        "stages:\n"
        "  s:\n"
        "    wdir: work\n"
        "    cmd: cp x.txt y.txt\n"
        "    deps: [x.txt]\n"
        "    params: [k]\n"
        "    outs: [y.txt]\n"), "sub/work/x.txt": "x\n", "sub/work/params.yaml": "k: 1\n"})
    dvc(repo, "repro", "train", "sub/dvc.yaml:s")
    assert "path: model//clf-model" in (repo / "dvc.lock").read_text()
    assert assert_same_status(repo) == {}
    (repo / "model" / "clf-model").write_text("edited\n")
    (repo / "sub" / "work" / "x.txt").write_text("x2\n")
    (repo / "sub" / "work" / "params.yaml").write_text("k: 2\n")
    (repo / "sub" / "work" / "y.txt").unlink()
    assert assert_same_status(repo) == {
        "train": [{"changed outs": {"model/clf-model": "modified"}}],
        "sub/dvc.yaml:s": [{"changed deps": {"sub/work/x.txt": "modified", "sub/work/params.yaml": {"k": "modified"}}},
                           {"changed outs": {"sub/work/y.txt": "deleted"}}],
    }
    text = exptui(repo, "status").stdout
    assert "\tout model/clf-model: modified\n" in text and "\tparam sub/work/params.yaml:k: 1 -> 2\n" in text


# ---------------------------------------------------------------- 5. DVC 2 locks: md5-dos2unix

def dvc2_md5(path: Path) -> str:
    """The md5-dos2unix DVC 2 recorded for a file or a directory, computed by dvc-data (the real thing)."""
    from dvc_data.hashfile.hash import file_md5

    if not path.is_dir():
        return file_md5(str(path), name="md5-dos2unix")
    import hashlib

    entries = sorted((p.relative_to(path).as_posix(), file_md5(str(p), name="md5-dos2unix"))
                     for p in path.rglob("*") if p.is_file())
    manifest = json.dumps([{"md5": md5, "relpath": rel} for rel, md5 in entries], sort_keys=True)
    return hashlib.md5(manifest.encode()).hexdigest() + ".dir"


def to_dvc2_lock(repo: Path) -> None:
    """Rewrite dvc.lock as DVC 2 wrote it: no `hash: md5` lines, md5-dos2unix digests."""
    import yaml

    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    for stage in lock["stages"].values():
        for entry in stage.get("deps", []) + stage.get("outs", []):
            entry.pop("hash")
            entry["md5"] = dvc2_md5(repo / entry["path"])
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))


def test_a_dvc2_lock_with_crlf_text_deps_is_judged_by_md5_dos2unix(tmp_path: Path) -> None:
    """A DVC 2 lock (`md5:` without `hash: md5`) holds md5-dos2unix digests: text files (DVC's binary heuristic)
    hash with CRLF turned into LF, binary ones raw; a directory's manifest lists those digests. Turning CRLF into
    LF changes nothing for DVC, an edit does; exptui must say the same, for a file dep and a directory dep."""
    repo = make_repo(tmp_path / "repo", (
        "stages:\n"
        "  use:\n"
        "    cmd: cat notes.txt > out.txt\n"
        "    deps: [notes.txt, corpus]\n"
        "    outs: [{out.txt: {cache: false}}]\n"
    ), {"notes.txt": b"one\r\ntwo\r\n", "corpus/a.txt": b"alpha\r\nbeta\r\n", "corpus/deep/b.csv": b"x,y\r\n1,2\r\n",
        "corpus/blob.bin": b"\x00\x01\r\n\x02\xff" * 50})
    dvc(repo, "repro")
    to_dvc2_lock(repo)
    assert "hash:" not in (repo / "dvc.lock").read_text()
    assert assert_same_status(repo) == {}
    # CRLF -> LF: the same md5-dos2unix, clean for both
    (repo / "notes.txt").write_bytes(b"one\ntwo\n")
    (repo / "corpus" / "deep" / "b.csv").write_bytes(b"x,y\n1,2\n")
    assert assert_same_status(repo) == {}
    assert exptui(repo, "status").stdout.strip() == UP_TO_DATE
    # the binary file is hashed raw: its CRLF matters
    (repo / "corpus" / "blob.bin").write_bytes(b"\x00\x01\n\x02\xff" * 50)
    assert assert_same_status(repo) == {"use": [{"changed deps": {"corpus": "modified"}}]}
    (repo / "corpus" / "blob.bin").write_bytes(b"\x00\x01\r\n\x02\xff" * 50)
    (repo / "notes.txt").write_bytes(b"one\ntwo\nthree\n")
    assert assert_same_status(repo) == {"use": [{"changed deps": {"notes.txt": "modified"}}]}


# ---------------------------------------------------------------- .dvc files in hidden directories

def test_dvc_files_in_hidden_directories_are_data_sources_as_in_dvc(tmp_path: Path) -> None:
    """`dvc add .data/raw.csv` writes `.data/raw.csv.dvc`; DVC collects it (hidden directories are walked), so it
    heads the dag and data edited in place shows in status and is committed by repro. exptui skipped hidden
    directories when looking for `.dvc` files, and saw a stage reading untracked data."""
    repo = make_repo(tmp_path / "repo", (
        "stages:\n  count:\n    cmd: wc -l < .data/raw.csv > count.txt\n    deps: [.data/raw.csv]\n"
        "    outs: [count.txt]\n"))
    (repo / ".data").mkdir()
    (repo / ".data" / "raw.csv").write_text("a\nb\n")  # not committed: `dvc add` refuses files git tracks
    dvc(repo, "add", "-q", ".data/raw.csv")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add data")
    assert sorted(exptui(repo, "dag", "--dot").stdout.split()) == sorted(dvc(repo, "dag", "--dot").stdout.split())
    assert '".data/raw.csv.dvc" -> "count"' in dvc(repo, "dag", "--dot").stdout
    assert_same_status(repo)
    exptui(repo, "repro")
    assert dvc(repo, "status").stdout.strip() == UP_TO_DATE
    (repo / ".data" / "raw.csv").write_text("a\nb\nc\n")  # edited in place, not `dvc add`-ed again
    status = assert_same_status(repo)
    assert status[".data/raw.csv.dvc"] == [{"changed outs": {".data/raw.csv": "modified"}}]


# ---------------------------------------------------------------- 6. .dvcignore in a subdirectory

def test_a_dvcignore_in_a_subdirectory_is_honoured_as_by_dvc(tmp_path: Path) -> None:
    """`nest/.dvcignore` listing `secret.txt`: a dep `nest/data` hashes without `nest/data/secret.txt` (nor
    `nest/data/deep/secret.txt`), in both tools; editing the ignored file changes nothing, editing another does."""
    dvc_yaml = ("stages:\n  use:\n    cmd: ls -R nest/data > listing.txt\n    deps: [nest/data]\n"
                "    outs: [listing.txt]\n")
    files: dict[str, str | bytes] = {"nest/.dvcignore": "secret.txt\n", "nest/data/a.txt": "a\n",
                                     "nest/data/secret.txt": "s\n", "nest/data/deep/secret.txt": "s2\n",
                                     "nest/data/deep/b.txt": "b\n"}
    theirs = make_repo(tmp_path / "theirs", dvc_yaml, files)
    ours = make_repo(tmp_path / "ours", dvc_yaml, files)
    dvc(theirs, "repro")
    exptui(ours, "repro")
    assert (ours / "dvc.lock").read_text() == (theirs / "dvc.lock").read_text()
    assert "nfiles: 2" in (ours / "dvc.lock").read_text()
    for repo in (ours, theirs):
        (repo / "nest" / "data" / "secret.txt").write_text("changed\n")
        (repo / "nest" / "data" / "deep" / "secret.txt").write_text("changed\n")
        assert assert_same_status(repo) == {}
        (repo / "nest" / "data" / "deep" / "b.txt").write_text("b2\n")
        assert assert_same_status(repo) == {"use": [{"changed deps": {"nest/data": "modified"}}]}


def test_a_directory_holding_a_dvcignore_is_refused_as_by_dvc(tmp_path: Path) -> None:
    """DVC refuses to hash a directory with a `.dvcignore` inside (".dvcignore file should not be in collected dir
    path"); exptui refuses too, in one line naming the directory, instead of hashing the ignore file as data."""
    repo = make_repo(tmp_path / "repo", ("stages:\n  use:\n    cmd: ls -R nest > listing.txt\n    deps: [nest]\n"
                                         "    outs: [listing.txt]\n"),
                     {"nest/.dvcignore": "secret.txt\n", "nest/data/a.txt": "a\n", "nest/data/secret.txt": "s\n"})
    theirs = dvc(repo, "status", check=False)
    assert theirs.returncode != 0 and ".dvcignore file should not be in collected dir path" in theirs.stderr
    for command in ("status", "repro"):
        ours = exptui(repo, command, check=False)
        assert ours.returncode != 0 and "Traceback" not in ours.stderr
        assert ours.stderr.strip().splitlines()[-1].endswith(
            "'nest' holds a .dvcignore file (.dvcignore), which DVC refuses inside a tracked directory: move it to a "
            "directory above, or track a subdirectory instead")
    assert not (repo / "listing.txt").exists()


# ---------------------------------------------------------------- a real-world project: all of it at once

def test_the_templated_multi_pipeline_project_has_dvcs_status_at_every_step(tmp_path: Path) -> None:
    """test_interop's project (vars, foreach, matrix, `sub/dvc.yaml` with wdir, params in YAML/JSON/TOML/Python,
    `dvc add` data, a metrics directory): `exptui status --dvc-json` equals `dvc status --json` never run, after
    `dvc repro`, after edits of every kind, and after `exptui repro` (which leaves both clean)."""
    from test_interop import init_pipeline

    repo = init_pipeline(tmp_path / "repo")
    assert_same_status(repo)
    assert_same_status(repo, "sub/dvc.yaml")
    dvc(repo, "repro", "-q", "-P")
    assert assert_same_status(repo) == {}
    (repo / "cfg.json").write_text('{"train": {"lr": 0.3, "epochs": 3}}\n')
    (repo / "hp.py").write_text("SEED = 8\nRATE = 0.5\n\n\nclass Train:\n    layers = 2\n")
    (repo / "opts.toml").write_text('[tune]\ndepth = 4\nname = "deeper"\n')  # not a key any stage tracks
    (repo / "sub" / "work" / "sp.yaml").write_text("k: 4\n")
    (repo / "models" / "beta.bin").unlink()
    with (repo / "data" / "raw.csv").open("a") as f:
        f.write("5,6\n")
    status = assert_same_status(repo)
    assert set(status) == {"data/raw.csv.dvc", "prepare", "train@alpha", "train@beta", "sub/dvc.yaml:count"}
    assert set(assert_same_status(repo, "--with-deps", "summary")) == {"data/raw.csv.dvc", "prepare"}
    assert assert_same_status(repo, "summary") == {}
    exptui(repo, "repro", "-q")
    assert dvc(repo, "status").stdout.strip() == UP_TO_DATE
    assert assert_same_status(repo) == {}


def test_symlinks_inside_a_directory_dep_hash_as_in_dvc(tmp_path: Path) -> None:
    """DVC's walk does not follow a symlink to a directory (it is left out of the hash; a link back up cannot loop)
    and hashes a symlink to a file as the file's content."""
    dvc_yaml = "stages:\n  use:\n    cmd: echo used > used.txt\n    deps: [d]\n    outs: [used.txt]\n"
    theirs = make_repo(tmp_path / "theirs", dvc_yaml, {"d/a.txt": "a\n", "other/o.txt": "o\n"})
    ours = make_repo(tmp_path / "ours", dvc_yaml, {"d/a.txt": "a\n", "other/o.txt": "o\n"})
    for repo in (theirs, ours):
        (repo / "d" / "sub").mkdir()
        (repo / "d" / "linkdir").symlink_to("../other")
        (repo / "d" / "sub" / "loop").symlink_to("..")
        (repo / "d" / "linkfile").symlink_to("a.txt")
    dvc(theirs, "repro")
    exptui(ours, "repro")
    assert (ours / "dvc.lock").read_text() == (theirs / "dvc.lock").read_text()
    assert "nfiles: 2" in (ours / "dvc.lock").read_text()
    assert assert_same_status(ours) == {}
    (ours / "other" / "o.txt").write_text("changed behind the link\n")
    assert assert_same_status(ours) == {}


def test_paths_outside_the_repo_are_printed_absolute_as_dvc_prints_them(tmp_path: Path) -> None:
    """A dep `../shared.txt` of a stage with `wdir: ..` in `sub/dvc.yaml` leaves the repo: DVC prints its absolute
    path; its paths inside the repo stay repo-relative."""
    shared = tmp_path / "shared.txt"
    shared.write_text("s\n")
    repo = make_repo(tmp_path / "repo", "stages: {}\n", {"sub/dvc.yaml": (
        "stages:\n  s:\n    wdir: ..\n    cmd: cp ../shared.txt copy.txt\n    deps: [../shared.txt]\n"
        "    outs: [copy.txt]\n")})
    (repo / "dvc.yaml").unlink()
    real = str(Path(shared).resolve())
    assert assert_same_status(repo) == {
        "sub/dvc.yaml:s": [{"changed deps": {real: "modified"}}, {"changed outs": {"copy.txt": "deleted"}}]}
    exptui(repo, "repro")
    assert assert_same_status(repo) == {}
    shared.write_text("s2\n")
    assert assert_same_status(repo) == {"sub/dvc.yaml:s": [{"changed deps": {real: "modified"}}]}
