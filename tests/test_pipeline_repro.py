"""reproduce(): skip, restore from lock/cache, run cache, failures, frozen/always_changed, foreach/matrix.

Every test builds a real git repo with a tiny pipeline whose stage scripts append their name to
`runs.log`, so "did the command run?" is asserted from the file system, not from our own report.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import git
from dvc_compat.config import init_dvc_dir
from exptui.errors import PipelineError, StageFailed
from exptui.pipeline import repro as R
from exptui.pipeline.repro import reproduce
from exptui.pipeline.state import StateDB
from exptui.pipeline.dag import load_pipeline
from exptui.pipeline.status import Workspace, pipeline_status, stage_status

PY = sys.executable

PREP = """
import os, sys, yaml
open('runs.log', 'a').write('prepare\\n')
p = yaml.safe_load(open('params.yaml'))['prepare']
os.makedirs('data/prepared', exist_ok=True)
raw = open('raw.txt').read()
open('data/prepared/train.txt', 'w').write(raw * p['copies'])
open('data/prepared/test.txt', 'w').write(raw[::-1])
"""

TRAIN = """
import json, yaml
open('runs.log', 'a').write('train\\n')
lr = yaml.safe_load(open('params.yaml'))['train']['lr']
size = len(open('data/prepared/train.txt').read())
open('model.bin', 'w').write(f'model lr={lr} size={size}\\n')
json.dump({'score': size * lr}, open('metrics.json', 'w'))
"""

DVC_YAML = f"""
stages:
  prepare:
    cmd: {PY} prepare.py
    deps:
      - prepare.py
      - raw.txt
    params:
      - prepare
    outs:
      - data/prepared
  train:
    cmd: {PY} train.py
    deps:
      - train.py
      - data/prepared
    params:
      - train.lr
    outs:
      - model.bin
    metrics:
      - metrics.json:
          cache: false
"""


def runs(repo: Path) -> list[str]:
    try:
        return (repo / "runs.log").read_text().split()
    except FileNotFoundError:
        return []


def outcomes(result: R.ReproResult) -> dict[str, str]:
    return {s.address: s.outcome for s in result.stages}


def set_params(repo: Path, copies: int = 2, lr: float = 0.1) -> None:
    (repo / "params.yaml").write_text(f"prepare:\n  copies: {copies}\ntrain:\n  lr: {lr}\n  epochs: 3\n")


@pytest.fixture
def repo(git_repo: Path) -> Path:
    init_dvc_dir(git_repo)
    (git_repo / "dvc.yaml").write_text(DVC_YAML)
    (git_repo / "prepare.py").write_text(PREP)
    (git_repo / "train.py").write_text(TRAIN)
    (git_repo / "raw.txt").write_text("hello world\n")
    (git_repo / ".gitignore").write_text("runs.log\n")
    set_params(git_repo)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "pipeline")
    return git_repo


def test_first_run_runs_all_then_everything_is_skipped(repo: Path) -> None:
    first = reproduce(repo)
    assert outcomes(first) == {"prepare": "ran", "train": "ran"}
    assert runs(repo) == ["prepare", "train"]
    lock = (repo / "dvc.lock").read_text()
    assert "md5:" in lock and ".dir" in lock and "train.lr: 0.1" in lock
    second = reproduce(repo)
    assert outcomes(second) == {"prepare": "skipped", "train": "skipped"}
    assert not second.changed
    assert runs(repo) == ["prepare", "train"]
    assert all(not s.changed for s in pipeline_status(repo))


def test_outs_are_cached_and_gitignored_like_dvc(repo: Path) -> None:
    reproduce(repo)
    assert "/model.bin" in (repo / ".gitignore").read_text().splitlines()
    assert (repo / "data" / ".gitignore").read_text() == "/prepared\n"
    # metrics.json is cache: false: it stays in git, not ignored
    assert "/metrics.json" not in (repo / ".gitignore").read_text()
    md5 = hashlib.md5((repo / "model.bin").read_bytes()).hexdigest()
    obj = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    assert obj.read_bytes() == (repo / "model.bin").read_bytes()
    assert obj.stat().st_mode & 0o777 == 0o444
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    assert "model.bin" not in status and "data/prepared" not in status


def test_changing_a_param_reruns_only_downstream(repo: Path) -> None:
    reproduce(repo)
    set_params(repo, lr=0.2)
    result = reproduce(repo)
    assert outcomes(result) == {"prepare": "skipped", "train": "ran"}
    assert runs(repo) == ["prepare", "train", "train"]
    assert "lr=0.2" in (repo / "model.bin").read_text()
    set_params(repo, copies=3, lr=0.2)
    assert outcomes(reproduce(repo)) == {"prepare": "ran", "train": "ran"}


def test_a_param_the_stage_does_not_track_changes_nothing(repo: Path) -> None:
    reproduce(repo)
    (repo / "params.yaml").write_text("prepare:\n  copies: 2\ntrain:\n  lr: 0.1\n  epochs: 99\n")
    assert outcomes(reproduce(repo)) == {"prepare": "skipped", "train": "skipped"}


def test_deleted_cached_out_is_restored_without_running(repo: Path) -> None:
    reproduce(repo)
    model = (repo / "model.bin").read_bytes()
    train_txt = (repo / "data/prepared/train.txt").read_bytes()
    (repo / "model.bin").unlink()
    shutil.rmtree(repo / "data" / "prepared")
    result = reproduce(repo)
    assert outcomes(result) == {"prepare": "restored", "train": "restored"}
    assert runs(repo) == ["prepare", "train"]  # no command ran
    assert (repo / "model.bin").read_bytes() == model
    assert (repo / "data/prepared/train.txt").read_bytes() == train_txt
    assert os.access(repo / "model.bin", os.W_OK)  # a copy, not the read-only cache object
    assert outcomes(reproduce(repo)) == {"prepare": "skipped", "train": "skipped"}


def test_modified_out_is_restored_from_the_lock(repo: Path) -> None:
    reproduce(repo)
    original = (repo / "model.bin").read_bytes()
    (repo / "model.bin").write_text("tampered\n")
    (repo / "data/prepared/extra.txt").write_text("stray\n")
    assert outcomes(reproduce(repo)) == {"prepare": "restored", "train": "restored"}
    assert (repo / "model.bin").read_bytes() == original
    assert not (repo / "data/prepared/extra.txt").exists()
    assert runs(repo) == ["prepare", "train"]


def test_missing_cache_object_forces_a_run(repo: Path) -> None:
    reproduce(repo)
    md5 = hashlib.md5((repo / "model.bin").read_bytes()).hexdigest()
    obj = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    obj.unlink()
    (repo / "model.bin").unlink()
    status = {s.address: [str(c) for c in s.changes] for s in pipeline_status(repo)}
    assert status["train"] == ["out model.bin: not in cache"]
    # the run cache has the entry, but its object is gone: the stage must run
    assert outcomes(reproduce(repo)) == {"prepare": "skipped", "train": "ran"}
    assert obj.exists()


def test_run_cache_restores_a_previous_param_value(repo: Path) -> None:
    reproduce(repo)
    model_01 = (repo / "model.bin").read_bytes()
    lock_01 = (repo / "dvc.lock").read_bytes()
    set_params(repo, lr=0.2)
    reproduce(repo)
    set_params(repo, lr=0.1)
    result = reproduce(repo)
    assert outcomes(result) == {"prepare": "skipped", "train": "run-cache"}
    assert runs(repo) == ["prepare", "train", "train"]
    assert (repo / "model.bin").read_bytes() == model_01
    # metrics.json (cache: false) came back too: DVC commits it to the cache for the run cache
    assert "score" in (repo / "metrics.json").read_text()
    assert (repo / "dvc.lock").read_bytes() == lock_01
    runs_dir = repo / ".dvc" / "cache" / "runs"
    assert len([p for p in runs_dir.rglob("*") if p.is_file()]) == 3  # prepare + train x2


def test_no_run_cache_option_runs(repo: Path) -> None:
    reproduce(repo)
    set_params(repo, lr=0.2)
    reproduce(repo)
    set_params(repo, lr=0.1)
    assert outcomes(reproduce(repo, run_cache=False))["train"] == "ran"


def test_failing_stage_raises_with_one_line_and_keeps_the_lock(repo: Path) -> None:
    reproduce(repo)
    lock_before = (repo / "dvc.lock").read_bytes()
    (repo / "train.py").write_text("import sys\nprint('about to fail')\nsys.exit(3)\n")
    with pytest.raises(StageFailed) as err:
        reproduce(repo)
    message = str(err.value)
    assert message == "stage 'train' failed with exit code 3 (log: .dvc/tmp/exptui/logs/train.log)"
    assert err.value.exit_code == 2
    assert "about to fail" in (repo / ".dvc/tmp/exptui/logs/train.log").read_text()
    assert (repo / "dvc.lock").read_bytes() == lock_before
    result = err.value.result
    assert outcomes(result) == {"prepare": "skipped", "train": "failed"}


def test_earlier_stage_lock_entries_survive_a_later_failure(repo: Path) -> None:
    (repo / "train.py").write_text("raise SystemExit(1)\n")
    with pytest.raises(StageFailed):
        reproduce(repo)
    lock = (repo / "dvc.lock").read_text()
    assert "prepare:" in lock and "train:" not in lock
    (repo / "train.py").write_text(TRAIN)
    assert outcomes(reproduce(repo)) == {"prepare": "skipped", "train": "ran"}


def test_missing_dependency_is_one_clear_line(repo: Path) -> None:
    (repo / "raw.txt").unlink()
    with pytest.raises(PipelineError) as err:
        reproduce(repo)
    assert str(err.value) == ("stage 'prepare': dependency 'raw.txt' does not exist "
                              "(create it, or add the stage that produces it)")
    assert runs(repo) == []


def test_missing_param_is_one_clear_line(repo: Path) -> None:
    (repo / "params.yaml").write_text("prepare:\n  copies: 2\ntrain:\n  epochs: 3\n")
    reproduce(repo, ["prepare"])
    with pytest.raises(PipelineError, match=r"stage 'train': param 'train.lr' is missing from 'params.yaml'"):
        reproduce(repo)


def test_output_not_created_fails_the_stage(repo: Path) -> None:
    (repo / "train.py").write_text("open('metrics.json', 'w').write('{}')\n")
    with pytest.raises(StageFailed, match="output 'model.bin' was not created"):
        reproduce(repo)


def test_force_and_targets(repo: Path) -> None:
    reproduce(repo)
    assert outcomes(reproduce(repo, force=True)) == {"prepare": "ran", "train": "ran"}
    assert outcomes(reproduce(repo, ["train"], force=True)) == {"prepare": "ran", "train": "ran"}  # as dvc
    assert outcomes(reproduce(repo, ["train"], force=True, single_item=True)) == {"train": "ran"}
    assert outcomes(reproduce(repo, ["prepare"])) == {"prepare": "skipped"}
    (repo / "raw.txt").write_text("changed\n")
    result = reproduce(repo, ["prepare"])
    assert outcomes(result) == {"prepare": "ran"}
    assert outcomes(reproduce(repo, ["train"], single_item=True)) == {"train": "ran"}


def test_cmd_change_reruns(repo: Path) -> None:
    reproduce(repo)
    (repo / "dvc.yaml").write_text(DVC_YAML.replace(f"cmd: {PY} train.py", f"cmd: {PY} train.py --v2"))
    status = {s.address: [str(c) for c in s.changes] for s in pipeline_status(repo)}
    assert status == {"prepare": [], "train": ["changed command"]}
    assert outcomes(reproduce(repo)) == {"prepare": "skipped", "train": "ran"}


def test_frozen_and_always_changed(git_repo: Path) -> None:
    init_dvc_dir(git_repo)
    (git_repo / "src.txt").write_text("a\n")
    (git_repo / "dvc.yaml").write_text(textwrap.dedent("""
        stages:
          frozen_copy:
            cmd: cp src.txt copy.txt && echo frozen >> runs.log
            deps: [src.txt]
            outs: [copy.txt]
          report:
            cmd: echo report >> runs.log && date +%N > report.txt
            deps: [copy.txt]
            outs:
              - report.txt:
                  cache: false
            always_changed: true
    """))
    assert outcomes(reproduce(git_repo)) == {"frozen_copy": "ran", "report": "ran"}
    text = (git_repo / "dvc.yaml").read_text().replace("outs: [copy.txt]", "outs: [copy.txt]\n    frozen: true")
    (git_repo / "dvc.yaml").write_text(text)
    (git_repo / "src.txt").write_text("b\n")
    result = reproduce(git_repo)
    assert outcomes(result) == {"frozen_copy": "frozen", "report": "ran"}
    assert runs(git_repo) == ["frozen", "report", "report"]
    assert (git_repo / "copy.txt").read_text() == "a\n"
    # a frozen stage's missing out comes back from the cache
    (git_repo / "copy.txt").unlink()
    reproduce(git_repo)
    assert (git_repo / "copy.txt").read_text() == "a\n"
    assert runs(git_repo).count("frozen") == 1


def test_foreach_and_matrix_stages_run(git_repo: Path) -> None:
    init_dvc_dir(git_repo)
    (git_repo / "params.yaml").write_text("models: {small: {n: 1}, large: {n: 3}}\n")
    (git_repo / "dvc.yaml").write_text(textwrap.dedent("""
        stages:
          gen:
            foreach: ${models}
            do:
              cmd: mkdir -p out && printf '${key} %.0s' $(seq ${item.n}) > out/${key}.txt
              params:
                - models.${key}
              outs:
                - out/${key}.txt
          grid:
            matrix:
              opt: [adam, sgd]
              lr: [1, 2]
            cmd: mkdir -p grid && cat out/small.txt out/large.txt > grid/${item.opt}-${item.lr}.txt
            deps: [out/small.txt, out/large.txt]
            outs:
              - grid/${item.opt}-${item.lr}.txt
    """))
    result = reproduce(git_repo)
    assert [s.address for s in result.stages] == [
        "gen@small", "gen@large", "grid@adam-1", "grid@adam-2", "grid@sgd-1", "grid@sgd-2"]
    assert all(s.outcome == "ran" for s in result.stages)
    assert (git_repo / "grid/sgd-2.txt").read_text() == "small large large large "
    lock = (git_repo / "dvc.lock").read_text()
    assert "  gen@small:" in lock and "  grid@sgd-2:" in lock and "models.small:" in lock
    assert not reproduce(git_repo).changed
    assert outcomes(reproduce(git_repo, ["grid@sgd-1"], force=True, single_item=True)) == {"grid@sgd-1": "ran"}


def test_cmd_list_wdir_and_env(git_repo: Path) -> None:
    init_dvc_dir(git_repo)
    sub = git_repo / "sub"
    sub.mkdir()
    (sub / "dvc.yaml").write_text(textwrap.dedent("""
        stages:
          two:
            wdir: work
            cmd:
              - echo "$DVC_STAGE|$DVC_ROOT|$EXTRA" > first.txt
              - cat first.txt > second.txt && pwd >> second.txt
            outs: [first.txt, second.txt]
    """))
    (sub / "work").mkdir()
    result = reproduce(git_repo, env={"EXTRA": "x1"})
    assert outcomes(result) == {"sub/dvc.yaml:two": "ran"}
    lines = (sub / "work" / "second.txt").read_text().splitlines()
    assert lines == [f"sub/dvc.yaml:two|{git_repo.resolve()}|x1", str((sub / "work").resolve())]
    assert (sub / "dvc.lock").exists() and not (git_repo / "dvc.lock").exists()
    assert "/first.txt" in (sub / "work" / ".gitignore").read_text().splitlines()


def test_persist_out_is_kept_before_running(git_repo: Path) -> None:
    init_dvc_dir(git_repo)
    (git_repo / "n.txt").write_text("1\n")
    (git_repo / "dvc.yaml").write_text(textwrap.dedent("""
        stages:
          acc:
            cmd: cat n.txt >> history.txt
            deps: [n.txt]
            outs:
              - history.txt:
                  persist: true
    """))
    reproduce(git_repo)
    (git_repo / "n.txt").write_text("2\n")
    reproduce(git_repo)
    assert (git_repo / "history.txt").read_text() == "1\n2\n"


def test_stat_cache_avoids_rehashing_unchanged_files(repo: Path) -> None:
    reproduce(repo)
    big = repo / "raw.txt"
    with open(big, "w") as fh:
        fh.write("x" * 3_000_000)
    old = big.stat().st_mtime_ns - 5_000_000_000  # older than the racy window
    os.utime(big, ns=(old, old))
    reproduce(repo)  # prepare reruns; raw.txt hashed once and remembered
    time.sleep(0.05)  # outs just written are inside the racy window; let them age
    pipeline_status(repo)
    for _ in range(2):
        state = StateDB(repo)
        ws = Workspace(repo, state=state)
        assert [stage_status(ws, s).changed for s in load_pipeline(repo).order()] == [False, False]
        assert state.hashed_bytes == 0  # nothing (3 MB raw.txt, 9 MB of outs) was read again
        ws.close()
    # same size, new content and mtime: detected
    big.write_text("y" * 3_000_000)
    status = {s.address: [str(c) for c in s.changes] for s in pipeline_status(repo)}
    assert status["prepare"] == ["dep raw.txt: modified"]


def test_concurrent_repro_or_dvc_in_one_workspace_is_refused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    from exptui.pipeline.workspace_lock import WorkspaceLocked

    monkeypatch.setenv("EXPTUI_LOCK_WAIT", "0.3")
    lock_path = repo / ".dvc/tmp/lock"  # DVC's repo lock (zc.lockfile flock)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(WorkspaceLocked, match="another exptui/dvc command is running in this workspace"):
            reproduce(repo)
        assert runs(repo) == []
    finally:
        os.close(fd)
    assert outcomes(reproduce(repo)) == {"prepare": "ran", "train": "ran"}


def test_events_report_each_stage(repo: Path) -> None:
    seen: list[tuple[str, str]] = []
    output = bytearray()
    reproduce(repo, events=lambda ev: seen.append((ev.kind, ev.stage.address)), sink=output.extend)
    assert seen == [("start", "prepare"), ("ran", "prepare"), ("start", "train"), ("ran", "train")]
    assert f"> {PY} prepare.py".encode() in output


def test_racy_file_rewritten_with_same_stat_is_not_trusted(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import exptui.pipeline.state as state_mod

    monkeypatch.setattr(state_mod, "RACY_FINE_NS", 60_000_000_000)  # deterministic on a loaded machine
    reproduce(repo)
    raw = repo / "raw.txt"
    raw.write_text("hello earth\n")          # same size as "hello world\n"
    st = raw.stat()
    assert outcomes(reproduce(repo)) == {"prepare": "ran", "train": "ran"}  # hashed while young
    raw.write_text("hello mars!\n")          # same size, same inode ...
    os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and the very same mtime
    status = {s.address: [str(c) for c in s.changes] for s in pipeline_status(repo)}
    assert status["prepare"] == ["dep raw.txt: modified"]


def test_corrupt_state_db_is_rebuilt(repo: Path) -> None:
    reproduce(repo)
    db = repo / ".dvc/tmp/exptui/state.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    assert outcomes(reproduce(repo)) == {"prepare": "skipped", "train": "skipped"}
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM state").fetchone()[0] > 0


def test_dvc2_lock_entries_are_compared_with_md5_dos2unix(git_repo: Path) -> None:
    """A lock written by DVC 2 (no `hash: md5`, CRLF-normalised md5s, objects in the old layout)."""
    from dvc_compat.hashing import legacy_md5_dos2unix

    init_dvc_dir(git_repo)
    (git_repo / "in.txt").write_bytes(b"a\r\nb\r\n")
    (git_repo / "dvc.yaml").write_text("stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n"
                                       "    outs: [out.txt]\n")
    reproduce(git_repo)
    legacy = legacy_md5_dos2unix(git_repo / "in.txt")
    raw = hashlib.md5(b"a\r\nb\r\n").hexdigest()
    assert legacy != raw
    lock = (git_repo / "dvc.lock").read_text()
    (git_repo / "dvc.lock").write_text(lock.replace("      hash: md5\n", "").replace(raw, legacy))
    cache = git_repo / ".dvc" / "cache"
    old_obj = cache / legacy[:2] / legacy[2:]
    old_obj.parent.mkdir(parents=True)
    shutil.move(cache / "files" / "md5" / raw[:2] / raw[2:], old_obj)
    assert all(not s.changed for s in pipeline_status(git_repo))
    (git_repo / "out.txt").unlink()
    assert outcomes(reproduce(git_repo)) == {"copy": "restored"}
    assert (git_repo / "out.txt").read_bytes() == b"a\r\nb\r\n"


def test_cache_dir_from_config_local_and_explicit_argument(repo: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared-cache"
    (repo / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {shared}\n")
    reproduce(repo)
    md5 = hashlib.md5((repo / "model.bin").read_bytes()).hexdigest()
    assert (shared / "files" / "md5" / md5[:2] / md5[2:]).is_file()
    assert not (repo / ".dvc" / "cache" / "files").exists()
    assert any((shared / "runs").rglob("*"))
    explicit = tmp_path / "explicit"
    set_params(repo, lr=0.7)
    reproduce(repo, cache_dir=explicit)
    md5 = hashlib.md5((repo / "model.bin").read_bytes()).hexdigest()
    assert (explicit / "files" / "md5" / md5[:2] / md5[2:]).is_file()


@pytest.mark.parametrize("link", ["hardlink", "symlink"])
def test_link_types_from_config(repo: Path, link: str) -> None:
    (repo / ".dvc" / "config").write_text(f"[cache]\n    type = {link}\n")
    reproduce(repo)
    (repo / "model.bin").unlink()
    assert outcomes(reproduce(repo))["train"] == "restored"
    model = repo / "model.bin"
    if link == "symlink":
        assert model.is_symlink() and ".dvc/cache/files/md5" in os.readlink(model)
    else:
        assert model.stat().st_nlink == 2
    assert not reproduce(repo).changed
    # a re-run replaces the link; the cache object is never written through it
    obj_before = model.read_bytes()
    set_params(repo, lr=0.9)
    reproduce(repo)
    md5 = hashlib.md5(obj_before).hexdigest()
    assert (repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).read_bytes() == obj_before


def test_timeout_and_cancel_fail_the_stage_and_keep_the_lock(repo: Path) -> None:
    import threading

    reproduce(repo)
    lock = (repo / "dvc.lock").read_bytes()
    (repo / "train.py").write_text("import time\ntime.sleep(30)\n")
    start = time.monotonic()
    with pytest.raises(StageFailed, match=r"^stage 'train' timed out after 0.5s \(log: "):
        reproduce(repo, timeout=0.5)
    assert time.monotonic() - start < 10
    assert (repo / "dvc.lock").read_bytes() == lock
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(StageFailed, match=r"^stage 'train' was cancelled"):
        reproduce(repo, cancel=cancel)
    with pytest.raises(StageFailed, match=r"^cancelled before stage 'prepare'"):
        reproduce(repo, cancel=cancel)
    assert (repo / "dvc.lock").read_bytes() == lock


def test_directory_with_many_files_is_saved_in_one_batch_and_restored(git_repo: Path) -> None:
    init_dvc_dir(git_repo)
    (git_repo / "n.txt").write_text("40\n")
    (git_repo / "dvc.yaml").write_text(
        "stages:\n  many:\n    cmd: mkdir -p out/sub && for i in $(seq 1 $(cat n.txt)); do echo $i > out/f$i.txt; done"
        " && echo same > out/sub/a && echo same > out/sub/b\n    deps: [n.txt]\n    outs: [out]\n"
    )
    reproduce(git_repo)
    cache = git_repo / ".dvc" / "cache" / "files" / "md5"
    objects = [p for p in cache.rglob("*") if p.is_file()]
    assert len(objects) == 40 + 1 + 1  # 40 distinct files, one shared content, the .dir manifest
    assert not [p for p in cache.rglob(".*")]  # no temp files left behind
    assert all(p.stat().st_mode & 0o777 == 0o444 for p in objects)
    shutil.rmtree(git_repo / "out")
    assert outcomes(reproduce(git_repo)) == {"many": "restored"}
    assert (git_repo / "out" / "f40.txt").read_text() == "40\n"
    assert (git_repo / "out" / "sub" / "b").read_text() == "same\n"
    # without deps a stage is not restorable (DVC's rule): it just runs again
    (git_repo / "dvc.yaml").write_text((git_repo / "dvc.yaml").read_text().replace("    deps: [n.txt]\n", ""))
    shutil.rmtree(git_repo / "out")
    assert outcomes(reproduce(git_repo)) == {"many": "ran"}


def test_status_reasons_for_params_files(git_repo: Path) -> None:
    init_dvc_dir(git_repo)
    (git_repo / "params.yaml").write_text("a: 1\n")
    (git_repo / "cfg.yaml").write_text("x: 1\ny: 2\n")
    (git_repo / "dvc.yaml").write_text(
        "stages:\n  s:\n    cmd: echo > out.txt\n    params:\n      - a\n      - cfg.yaml:\n      - cfg.yaml: [x]\n"
        "    outs: [out.txt]\n"
    )
    reproduce(git_repo)
    assert "cfg.yaml:\n        x: 1\n        y: 2\n" in (git_repo / "dvc.lock").read_text()  # whole file wins
    (git_repo / "cfg.yaml").write_text("x: 1\nz: 3\n")
    (git_repo / "params.yaml").unlink()
    reasons = sorted(str(c) for s in pipeline_status(git_repo) for c in s.changes)
    assert reasons == ["param cfg.yaml:y: deleted", "param cfg.yaml:z: new", "params file params.yaml: deleted"]
    with pytest.raises(PipelineError, match=r"^stage 's': params file 'params.yaml' does not exist$"):
        reproduce(git_repo)


def test_outside_a_dvc_repo_nothing_is_created(git_repo: Path) -> None:
    (git_repo / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n")
    with pytest.raises(PipelineError, match="not a DVC repository"):
        reproduce(git_repo)
    with pytest.raises(PipelineError, match="not a DVC repository"):
        pipeline_status(git_repo)
    assert not (git_repo / ".dvc").exists() and not (git_repo / "a.txt").exists()


def test_plain_git_repo_with_an_explicit_cache_keeps_the_work_tree_clean(git_repo: Path, tmp_path: Path) -> None:
    """Queued runs of pipelines without `dvc init`: scratch state goes under .git, objects to the given cache."""
    (git_repo / "in.txt").write_text("x\n")
    (git_repo / "dvc.yaml").write_text("stages:\n  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n"
                                       "    outs: [a.txt]\n")
    cache = tmp_path / "cache"
    result = reproduce(git_repo, cache_dir=cache)
    assert outcomes(result) == {"a": "ran"}
    assert not (git_repo / ".dvc").exists()
    assert (git_repo / ".git" / "exptui" / "tmp" / "exptui" / "state.sqlite").exists()
    assert (git_repo / ".git" / "exptui" / "tmp" / "exptui" / "logs" / "a.log").exists()
    assert any((cache / "files" / "md5").rglob("*"))
    assert not reproduce(git_repo, cache_dir=cache).changed
    assert all(not s.changed for s in pipeline_status(git_repo, cache_dir=cache))


def test_stage_log_is_capped_but_the_sink_gets_everything(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(R, "LOG_CAP", 1000)
    init_dvc_dir(git_repo)
    (git_repo / "dvc.yaml").write_text("stages:\n  loud:\n    cmd: yes | head -c 100000\n")
    got = bytearray()
    reproduce(git_repo, sink=got.extend, echo_commands=False)
    assert got == b"y\n" * 50000
    log = (git_repo / ".dvc/tmp/exptui/logs/loud.log").read_bytes()
    assert log.endswith(b"[exptui: log truncated after 1000 bytes]\n") and len(log) < 1100


def test_python_stage_output_arrives_live(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    init_dvc_dir(git_repo)
    (git_repo / "dvc.yaml").write_text(
        f"stages:\n  talk:\n    cmd: {PY} -c \"import time; print('first'); time.sleep(1.5); print('second')\"\n")
    arrivals: list[tuple[float, bytes]] = []
    start = time.monotonic()
    reproduce(git_repo, sink=lambda b: arrivals.append((time.monotonic() - start, b)), echo_commands=False)
    first_at = next(t for t, b in arrivals if b"first" in b)
    second_at = next(t for t, b in arrivals if b"second" in b)
    assert second_at - first_at > 1.0  # 'first' was not held back until the process ended


def test_os_errors_outside_stages_are_one_line(repo: Path) -> None:
    (repo / "data" / ".gitignore").mkdir(parents=True)  # a directory where DVC writes its ignore file
    with pytest.raises(PipelineError, match=r"Is a directory \(.*data/\.gitignore\)$"):
        reproduce(repo)
    assert "prepare:" in (repo / "dvc.lock").read_text()  # the work done is recorded


def test_fifo_dependency_is_refused_not_hung(repo: Path) -> None:
    (repo / "raw.txt").unlink()
    os.mkfifo(repo / "raw.txt")
    with pytest.raises(PipelineError, match="not a regular file or directory"):
        reproduce(repo)


def test_python_in_a_stage_is_exptuis_interpreter_unless_a_venv_is_active(git_repo: Path, monkeypatch) -> None:
    """`.venv/bin/exptui repro` without activating the venv must not run stages on the system python."""
    init_dvc_dir(git_repo)
    (git_repo / "dvc.yaml").write_text(
        "stages:\n  which:\n    cmd: python -c \"import sys; open('which.txt','w').write(sys.executable)\"\n"
        "    outs:\n    - which.txt\n"
    )
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    reproduce(git_repo)
    assert Path((git_repo / "which.txt").read_text()).parent == Path(sys.executable).parent

    # An activated venv's own `python` wins: PATH is left as the user set it.
    venv_bin = git_repo.parent / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    shim = venv_bin / "python"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    shim.chmod(0o755)
    monkeypatch.setenv("VIRTUAL_ENV", str(venv_bin.parent))
    monkeypatch.setenv("PATH", f"{venv_bin}:/usr/bin:/bin")
    reproduce(git_repo, force=True)
    assert os.environ["PATH"] == f"{venv_bin}:/usr/bin:/bin"  # the caller's environment is never modified
    assert (git_repo / "which.txt").exists()
