"""Data added with `dvc add` (`.dvc` files) as pipeline stages; the real `dvc` judges every result.

A `.dvc` file whose data was edited in place is listed by status and committed again by repro (new md5 in the
file, comments and other keys kept, object in the cache) before the stages reading it run, byte for byte as
`dvc repro` does; missing data fails with one line; experiments carry the new reference.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN, git
from dvc_compat.errors import FormatError
from exptui.pipeline.datasources import find_dotdvc_files, load_data_sources

pytestmark = pytest.mark.dvc

DVC = str(BIN / "dvc")
UP_TO_DATE = "Data and pipelines are up to date."

DVC_YAML = """\
stages:
  prep:
    cmd: cat data/raw.csv images/a.txt > joined.txt && echo prep >> runs.log
    deps: [data/raw.csv, images]
    outs: [joined.txt]
  count:
    cmd: wc -c < joined.txt > count.txt && echo count >> runs.log
    deps: [joined.txt]
    outs: [count.txt]
"""


def dvc(repo: Path, *args: str) -> str:
    proc = subprocess.run([DVC, *args], cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def exptui(repo: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "exptui", "-C", str(repo), *args], capture_output=True,
                          text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def runs(repo: Path) -> list[str]:
    log = repo / "runs.log"
    return log.read_text().split() if log.exists() else []


def cache_files(repo: Path) -> dict[str, bytes]:
    cache = repo / ".dvc" / "cache"
    return {p.relative_to(cache).as_posix(): p.read_bytes() for p in sorted(cache.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """A file and a directory added with `dvc add` (the file's .dvc hand-edited: a comment and a desc), a
    two-stage pipeline reading them, run by dvc and committed."""
    repo = git_repo
    dvc(repo, "init", "-q")
    (repo / "data").mkdir()
    (repo / "data" / "raw.csv").write_text("a,b\n1,2\n")
    (repo / "images" / "sub").mkdir(parents=True)
    (repo / "images" / "a.txt").write_text("a\n")
    (repo / "images" / "sub" / "b.txt").write_text("bb\n")
    dvc(repo, "add", "-q", "data/raw.csv", "images")
    dotdvc = repo / "data" / "raw.csv.dvc"
    dotdvc.write_text("# raw data, refreshed nightly\n" + dotdvc.read_text().replace(
        "path: raw.csv\n", "path: raw.csv  # the export\n  desc: nightly export\n"))
    (repo / "dvc.yaml").write_text(DVC_YAML)
    with (repo / ".gitignore").open("a") as f:  # `dvc add` put /images there
        f.write("runs.log\n")
    dvc(repo, "repro", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    (repo / "runs.log").unlink()
    return repo


def edit_in_place(repo: Path) -> None:
    with (repo / "data" / "raw.csv").open("a") as f:
        f.write("3,4\n")
    (repo / "images" / "a.txt").write_text("A!\n")
    (repo / "images" / "sub" / "c.txt").write_text("new\n")


def test_status_lists_data_sources_edited_in_place_as_dvc_does(repo: Path) -> None:
    assert exptui(repo, "status").stdout.strip() == UP_TO_DATE
    edit_in_place(repo)
    text = exptui(repo, "status").stdout
    assert "data/raw.csv.dvc:\n\tout data/raw.csv: modified\n" in text
    assert "images.dvc:\n\tout images: modified\n" in text
    ours = json.loads(exptui(repo, "status", "--json").stdout)
    theirs = json.loads(dvc(repo, "status", "--json"))
    assert set(ours) == set(theirs) == {"data/raw.csv.dvc", "images.dvc", "prep"}
    assert ours["data/raw.csv.dvc"] == [{"kind": "out", "what": "modified", "path": "data/raw.csv"}]
    assert json.loads(exptui(repo, "status", "--dvc-json").stdout) == theirs


def test_repro_recommits_data_sources_byte_identical_to_dvc(repo: Path, tmp_path: Path) -> None:
    edit_in_place(repo)
    (repo / "data" / "raw.csv").chmod(0o755)  # DVC records the exec bit: `isexec: true`
    theirs = tmp_path / "theirs"
    shutil.copytree(repo, theirs, symlinks=True)
    dvc(theirs, "repro", "-q")
    proc = exptui(repo, "repro")
    assert "Verifying data sources in stage: 'data/raw.csv.dvc'" in proc.stdout
    assert "Verifying data sources in stage: 'images.dvc'" in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("4 stages: 2 data sources committed, 2 ran in ")
    assert runs(repo) == runs(theirs) == ["prep", "count"]
    for path in ("data/raw.csv.dvc", "images.dvc", "dvc.lock", "data/.gitignore", ".gitignore"):
        assert (repo / path).read_bytes() == (theirs / path).read_bytes(), path
    text = (repo / "data" / "raw.csv.dvc").read_text()
    assert text.startswith("# raw data, refreshed nightly\n") and "# the export" in text and "isexec: true" in text
    assert cache_files(repo) == cache_files(theirs)  # new objects and the new .dir manifest
    assert UP_TO_DATE in dvc(repo, "status")
    assert exptui(theirs, "status").stdout.strip() == UP_TO_DATE
    assert exptui(repo, "repro").stdout.splitlines()[0] == "'data/raw.csv.dvc' didn't change, skipping"


def test_data_missing_from_the_cache_is_saved_again(repo: Path) -> None:
    md5 = next(line.split()[-1] for line in (repo / "data/raw.csv.dvc").read_text().splitlines() if "md5:" in line)
    obj = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    before = (repo / "data/raw.csv.dvc").read_bytes()
    obj.chmod(0o644)
    obj.unlink()
    assert "data/raw.csv.dvc:\n\tout data/raw.csv: not in cache" in exptui(repo, "status").stdout
    exptui(repo, "repro", "-q")
    assert obj.read_bytes() == b"a,b\n1,2\n" and not obj.stat().st_mode & 0o222  # read-only, as DVC keeps it
    assert (repo / "data/raw.csv.dvc").read_bytes() == before
    assert runs(repo) == []  # the data did not change: nothing downstream runs
    assert UP_TO_DATE in dvc(repo, "status")


def test_missing_data_fails_in_one_line_before_any_stage_runs(repo: Path) -> None:
    (repo / "data" / "raw.csv").unlink()
    assert "data/raw.csv.dvc:\n\tout data/raw.csv: deleted" in exptui(repo, "status").stdout
    proc = exptui(repo, "repro", ok=False)
    assert proc.returncode != 0 and runs(repo) == []
    assert proc.stderr.startswith("error: failed to reproduce 'data/raw.csv.dvc': missing data source "
                                  "'data/raw.csv'; restore it (`dvc checkout data/raw.csv.dvc`)")
    assert len(proc.stderr.splitlines()) == 1


def test_a_data_source_is_a_target_and_a_node_of_the_dag(repo: Path) -> None:
    edit_in_place(repo)
    out = exptui(repo, "repro", "-q", "data/raw.csv.dvc").stdout
    assert runs(repo) == [] and out == ""
    assert "data/raw.csv.dvc" not in exptui(repo, "status").stdout  # committed; images.dvc is still changed
    dag = exptui(repo, "dag", "--dot").stdout
    assert '"data/raw.csv.dvc" -> "prep";' in dag and '"images.dvc" -> "prep";' in dag


def test_a_workspace_experiment_records_the_new_data_reference(repo: Path) -> None:
    edit_in_place(repo)
    exptui(repo, "run", "-q", "-n", "fresh")
    ref = next(r for r in git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split()
               if r.endswith("/fresh"))
    for path in ("data/raw.csv.dvc", "images.dvc", "dvc.lock"):
        assert git(repo, "show", f"{ref}:{path}") == (repo / path).read_text(), path
    assert UP_TO_DATE in dvc(repo, "status")


@pytest.mark.parametrize("link", ["copy", "symlink"])
def test_isolated_runs_get_the_data_from_the_cache_and_leave_the_dotdvc_alone(repo: Path, link: str) -> None:
    """`--temp` runs in a clone: the data is placed from the shared cache (linked with cache.type symlink),
    verified unchanged, and the recorded .dvc files are the baseline's."""
    if link != "copy":
        dvc(repo, "config", "cache.type", link)
        git(repo, "commit", "-q", "-am", "links")
    (repo / "params.yaml").write_text("x: 1\n")
    exptui(repo, "run", "--temp", "-q", "-n", "iso")
    ref = next(r for r in git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split()
               if r.endswith("/iso"))
    for path in ("data/raw.csv.dvc", "images.dvc", "dvc.lock"):
        assert git(repo, "show", f"{ref}:{path}") == git(repo, "show", f"HEAD:{path}"), path


def test_isolated_run_refills_the_cache_from_the_workspace_or_fails_naming_the_missing_data(repo: Path) -> None:
    """Objects gone from the cache: the snapshot commits the workspace's data again (the run succeeds); with
    the data gone too, the run fails naming the data source."""
    shutil.rmtree(repo / ".dvc" / "cache")
    exptui(repo, "run", "--temp", "-q", "-n", "refilled")
    assert UP_TO_DATE in dvc(repo, "status")
    shutil.rmtree(repo / ".dvc" / "cache")
    (repo / "data" / "raw.csv").unlink()
    proc = exptui(repo, "run", "--temp", "-q", "-n", "nodata", ok=False)
    assert proc.returncode != 0 and "missing data source 'data/raw.csv'" in proc.stderr


def test_discovery_walks_hidden_dirs_skips_dvcignored_ones_virtualenvs_and_git(tmp_path: Path) -> None:
    """Hidden directories are walked as DVC walks them (interop/test_status_parity.py checks it against dvc);
    `.git` and Python virtualenvs never are."""
    root = tmp_path
    (root / ".dvc").mkdir()
    for rel in ("a.dvc", "sub/b.csv.dvc", ".hidden/c.dvc", "skipme/d.dvc", "sub/deep/e.dvc", ".venv/v.dvc",
                ".git/g.dvc"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"outs:\n- md5: {'0' * 32}\n  size: 1\n  hash: md5\n  path: x\n")
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "dir.dvc").mkdir()  # a directory named like a .dvc file is not one
    (root / ".dvcignore").write_text("skipme\n")
    assert find_dotdvc_files(root) == [".hidden/c.dvc", "a.dvc", "sub/b.csv.dvc", "sub/deep/e.dvc"]
    stages = {s.address: s for s in load_data_sources(root)}
    assert stages["sub/deep/e.dvc"].wdir == "sub/deep" and stages["sub/deep/e.dvc"].outs[0].path == "x"
    (root / "sub" / "b.csv.dvc").write_text("outs: 3\n")
    with pytest.raises(FormatError) as err:
        load_data_sources(root)
    assert "sub/b.csv.dvc" in str(err.value)


def test_a_malformed_dotdvc_file_is_one_error_line(repo: Path) -> None:
    (repo / "images.dvc").write_text("outs:\n- size: 3\n")
    proc = exptui(repo, "status", ok=False)
    assert proc.returncode != 0 and proc.stderr.startswith("error: images.dvc")
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


def exp_file(repo: Path, name: str, path: str) -> str:
    ref = next(r for r in git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split()
               if r.endswith(f"/{name}"))
    return git(repo, "show", f"{ref}:{path}")


def test_temp_and_queued_runs_commit_data_edited_in_place_into_their_snapshot_like_dvc(repo: Path,
                                                                                      tmp_path: Path) -> None:
    """DVC commits data deps before stashing a --temp/queued run (`_stash_commit_deps`): the experiment is run
    on the data as the user has it, records the new .dvc files, and the workspace's .dvc files stay as they
    were."""
    edit_in_place(repo)
    theirs = tmp_path / "theirs"
    shutil.copytree(repo, theirs, symlinks=True)
    dvc(theirs, "exp", "run", "--temp", "-q", "-n", "t")
    exptui(repo, "run", "--temp", "-q", "-n", "t")
    exptui(repo, "run", "--queue", "-n", "q")
    exptui(repo, "queue", "start", "-j", "1", "--wait")
    for name in ("t", "q"):
        for path in ("data/raw.csv.dvc", "images.dvc", "dvc.lock"):
            assert exp_file(repo, name, path) == exp_file(theirs, "t", path), (name, path)
        assert exp_file(repo, name, "data/raw.csv.dvc") != git(repo, "show", "HEAD:data/raw.csv.dvc")
    for path in ("data/raw.csv.dvc", "images.dvc"):  # the workspace is left alone, as by dvc
        assert (repo / path).read_text() == git(repo, "show", f"HEAD:{path}") == (theirs / path).read_text()
    objects = [{k: v for k, v in cache_files(r).items() if k.startswith("files/")} for r in (repo, theirs)]
    assert objects[0] == objects[1]  # the edited data (file and directory) went into the cache


def test_imports_and_old_stage_files_are_not_recommitted(repo: Path) -> None:
    """A changed `dvc import` file needs `dvc update`; a DVC 1 `.dvc` with a cmd needs dvc.yaml: one line each,
    the file untouched."""
    dotdvc = repo / "data" / "raw.csv.dvc"
    original = dotdvc.read_text()
    edit_in_place(repo)
    for extra, hint in (("deps:\n- path: https://example.invalid/raw.csv\n", "dvc update data/raw.csv.dvc"),
                        ("cmd: python make_raw.py\n", "move the stage into dvc.yaml")):
        dotdvc.write_text(extra + original)
        proc = exptui(repo, "repro", "data/raw.csv.dvc", ok=False)
        assert proc.returncode != 0 and hint in proc.stderr and len(proc.stderr.splitlines()) == 1
        assert dotdvc.read_text() == extra + original
