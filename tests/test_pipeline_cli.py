"""`exptui repro|status|dag` as a user runs them: real processes, real repos, exact lines."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import BIN, git
from dvc_compat.config import init_dvc_dir

PY = sys.executable
EXPTUI = str(BIN / "exptui")


def run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXPTUI, "-C", str(repo), *args], capture_output=True, text=True)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    init_dvc_dir(git_repo)
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.1\n")
    (git_repo / "dvc.yaml").write_text(textwrap.dedent(f"""\
        stages:
          prepare:
            cmd: {PY} -c "print('preparing'); open('data.txt', 'w').write('x' * 100)"
            outs: [data.txt]
          train:
            cmd: {PY} -c "import yaml; lr = yaml.safe_load(open('params.yaml'))['train']['lr']; open('model.txt', 'w').write(str(lr)); print('trained', lr)"
            deps: [data.txt]
            params: [train.lr]
            outs: [model.txt]
    """))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "pipeline")
    return git_repo


def test_repro_prints_stage_lines_output_and_summary(repo: Path) -> None:
    first = run(repo, "repro")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "Running stage 'prepare':"
    assert lines[1].startswith("> ") and "print('preparing')" in lines[1]
    assert lines[2] == "preparing"
    assert lines[3].startswith("Stage 'prepare' done in ")
    assert "Running stage 'train':" in lines and "trained 0.1" in lines
    assert "Updated dvc.lock." in lines
    assert "\tgit add dvc.lock .gitignore" in lines
    assert lines[-1].startswith("2 stages: 2 ran in ")
    assert (repo / ".dvc/tmp/exptui/logs/train.log").read_text().endswith("trained 0.1\n")

    second = run(repo, "repro")
    assert second.returncode == 0
    assert second.stdout.splitlines()[:3] == [
        "Stage 'prepare' didn't change, skipping",
        "Stage 'train' didn't change, skipping",
        "Data and pipelines are up to date.",
    ]
    assert second.stdout.splitlines()[3].startswith("2 stages: 2 unchanged in ")


def test_repro_restores_a_deleted_out_and_quiet_mode(repo: Path) -> None:
    run(repo, "repro")
    (repo / "model.txt").unlink()
    out = run(repo, "repro").stdout
    assert "Stage 'train' is cached - restoring outputs (" in out
    assert (repo / "model.txt").read_text() == "0.1"
    (repo / "params.yaml").write_text("train:\n  lr: 0.5\n")
    quiet = run(repo, "repro", "-q")
    assert quiet.returncode == 0 and quiet.stdout == "trained 0.5\n"


def test_failing_stage_exit_code_2_and_one_error_line(repo: Path) -> None:
    run(repo, "repro")
    lock = (repo / "dvc.lock").read_bytes()
    (repo / "params.yaml").write_text("train:\n  lr: 0.2\n")
    text = (repo / "dvc.yaml").read_text().replace("print('trained', lr)", "print('boom'); raise SystemExit(1)")
    (repo / "dvc.yaml").write_text(text)
    proc = run(repo, "repro")
    assert proc.returncode == 2
    assert proc.stderr == "error: stage 'train' failed with exit code 1 (log: .dvc/tmp/exptui/logs/train.log)\n"
    assert "boom" in proc.stdout
    assert (repo / "dvc.lock").read_bytes() == lock


def test_status_text_json_and_exit_code(repo: Path) -> None:
    never = run(repo, "status")
    assert never.returncode == 0
    assert never.stdout == ("prepare:\n\tno lock entry (never run)\n\tout data.txt: deleted\n"
                            "train:\n\tno lock entry (never run)\n\tdep data.txt: deleted\n\tparams file params.yaml: new\n"
                            "\tout model.txt: deleted\n")
    run(repo, "repro")
    clean = run(repo, "status")
    assert clean.returncode == 0 and clean.stdout == "Data and pipelines are up to date.\n"
    (repo / "params.yaml").write_text("train:\n  lr: 0.2\n")
    (repo / "data.txt").write_text("changed")
    changed = run(repo, "status")
    assert changed.returncode == 0
    assert changed.stdout == (
        "prepare:\n\tout data.txt: modified\n"
        "train:\n\tdep data.txt: modified\n\tparam train.lr: 0.1 -> 0.2\n"
    )
    data = json.loads(run(repo, "status", "--json").stdout)
    assert data["train"] == [
        {"kind": "dep", "what": "modified", "path": "data.txt"},
        {"kind": "param", "what": "modified", "path": "params.yaml", "key": "train.lr", "old": 0.1, "new": 0.2},
    ]
    assert json.loads(run(repo, "status", "--json", "prepare").stdout) == {
        "prepare": [{"kind": "out", "what": "modified", "path": "data.txt"}]}


def test_dag_formats(repo: Path) -> None:
    art = run(repo, "dag").stdout
    assert "| prepare |" in art and "| <- prepare |" in art
    assert '"prepare" -> "train";' in run(repo, "dag", "--dot").stdout
    assert run(repo, "dag", "--mermaid").stdout.startswith("flowchart TD\n")
    assert "train" not in run(repo, "dag", "prepare").stdout


def test_works_from_a_subdirectory(repo: Path) -> None:
    (repo / "src").mkdir()
    proc = run(repo / "src", "status")
    assert proc.returncode == 0 and "prepare:" in proc.stdout


def test_not_a_dvc_repo_is_one_clear_line(tmp_path: Path) -> None:
    for cmd in ("repro", "status", "dag"):
        proc = run(tmp_path, cmd)
        assert proc.returncode == 1
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
        assert "not a DVC repository" in proc.stderr and "dvc init" in proc.stderr


def test_no_dvc_yaml_is_one_clear_line(git_repo: Path) -> None:
    init_dvc_dir(git_repo)
    proc = run(git_repo, "repro")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "dvc.yaml" in proc.stderr


def test_bad_target_and_bad_dvc_yaml(repo: Path) -> None:
    proc = run(repo, "repro", "nope")
    assert proc.returncode == 1 and proc.stderr.startswith("error: stage 'nope' not found")
    (repo / "dvc.yaml").write_text("stages:\n  a:\n    cmd: [unclosed\n")
    proc = run(repo, "status")
    assert proc.returncode == 1 and proc.stderr.startswith("error: dvc.yaml:") and proc.stderr.count("\n") == 1


def test_cycle_reported_by_the_cli(repo: Path) -> None:
    (repo / "dvc.yaml").write_text(textwrap.dedent("""\
        stages:
          a:
            cmd: cp b.txt a.txt
            deps: [b.txt]
            outs: [a.txt]
          b:
            cmd: cp a.txt b.txt
            deps: [a.txt]
            outs: [b.txt]
    """))
    proc = run(repo, "dag")
    assert proc.returncode == 1 and proc.stderr == ("error: dvc.yaml: stages form a cycle: a -> b -> a "
                                                 "(each reads what the next writes; remove one of those deps or outs)\n")


def test_ctrl_c_passes_sigint_to_the_stage_and_exits_130(repo: Path) -> None:
    import os
    import signal
    import time

    script = repo / "slow.py"
    script.write_text(textwrap.dedent("""\
        import os, time
        open('slow.pid', 'w').write(str(os.getpid()))
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            open('interrupted.txt', 'w').write('got SIGINT')
            raise
    """))
    (repo / "dvc.yaml").write_text(f"stages:\n  slow:\n    cmd: {PY} slow.py\n    outs: [never.txt]\n")
    proc = subprocess.Popen([EXPTUI, "-C", str(repo), "repro"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    pid_file = repo / "slow.pid"
    end = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < end:
        time.sleep(0.05)
    stage_pid = int(pid_file.read_text())
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: only exptui's group gets it
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert err.strip().endswith(("Interrupted.", "Aborted."))  # click reports Ctrl-C as Abort
    assert (repo / "interrupted.txt").read_text() == "got SIGINT"
    assert not Path(f"/proc/{stage_pid}").exists()
    assert not (repo / "dvc.lock").exists()


def test_noop_commands_stay_light(repo: Path) -> None:
    """A no-op repro/status must not pay for heavy imports (ruamel is only needed to write a lock)."""
    run(repo, "repro")
    for cmd in ("repro", "status"):
        code = (
            "import sys\n"
            "from exptui.cli import cli\n"
            f"cli.main(args=['-C', {str(repo)!r}, {cmd!r}], standalone_mode=False)\n"
            "print('MODULES', ' '.join(sorted(sys.modules)))\n"
        )
        out = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True).stdout
        mods = set(out.split("MODULES", 1)[1].split())
        for heavy in ("pandas", "numpy", "textual", "git", "sklearn", "ruamel", "rich"):
            assert heavy not in mods, f"{heavy} imported by a no-op {cmd}"


def test_closed_stdout_does_not_kill_the_stage(repo: Path) -> None:
    """`exptui repro | head -1`: the reader goes away, the pipeline still completes and is logged."""
    proc = subprocess.run(f"'{EXPTUI}' -C '{repo}' repro | head -c 1", shell=True, capture_output=True, text=True)
    assert proc.returncode == 0
    assert run(repo, "status").stdout == "Data and pipelines are up to date.\n"
    assert (repo / ".dvc/tmp/exptui/logs/train.log").read_text().endswith("trained 0.1\n")


def test_missing_dependency_cli_line(repo: Path) -> None:
    text = (repo / "dvc.yaml").read_text().replace("deps: [data.txt]", "deps: [data.txt, raw/input.csv]")
    (repo / "dvc.yaml").write_text(text)
    proc = run(repo, "repro")
    assert proc.returncode == 1
    assert proc.stderr == ("error: stage 'train': dependency 'raw/input.csv' does not exist "
                           "(create it, or add the stage that produces it)\n")
    assert "Stage 'prepare' done in" in proc.stdout  # upstream work is kept
    assert "prepare:" in (repo / "dvc.lock").read_text()


@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
def test_sigkilled_repro_leaves_a_consistent_repo(repo: Path, shell: str) -> None:
    """kill -9 mid-stage: the stage dies with us, earlier lock entries stay valid, the next repro resumes.

    With dash as /bin/sh (Debian, and DVC's shell when $SHELL is unset) the stage's python is the shell's
    child, not the shell itself: PDEATHSIG alone would leave it running.
    """
    import os
    import signal
    import time

    from dvc_compat.lockfile import read_lock

    (repo / "slow.py").write_text(
        "import os, time\nopen('slow.pid', 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
    )
    text = (repo / "dvc.yaml").read_text() + f"  slow:\n    cmd: {PY} slow.py\n    deps: [model.txt]\n    outs: [never.txt]\n"
    (repo / "dvc.yaml").write_text(text)
    if not Path(shell).exists():
        pytest.skip(f"{shell} is not installed")
    proc = subprocess.Popen([EXPTUI, "-C", str(repo), "repro"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "SHELL": shell})
    pid_file = repo / "slow.pid"
    end = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < end:
        time.sleep(0.05)
    stage_pid = int(pid_file.read_text())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    end = time.monotonic() + 10
    while Path(f"/proc/{stage_pid}").exists() and time.monotonic() < end:
        time.sleep(0.05)
    assert not Path(f"/proc/{stage_pid}").exists(), "stage outlived its killed exptui"
    assert set(read_lock(repo / "dvc.lock")) == {"prepare", "train"}
    cache = repo / ".dvc" / "cache"
    assert not [p for p in cache.rglob(".*.tmp")]
    (repo / "slow.py").write_text("open('never.txt', 'w').write('done')\n")
    out = run(repo, "repro").stdout
    assert "Stage 'prepare' didn't change, skipping" in out and "Running stage 'slow':" in out


def test_repro_why_says_why(repo: Path) -> None:
    run(repo, "repro")
    (repo / "params.yaml").write_text("train:\n  lr: 0.3\n")
    (repo / "data.txt").unlink()
    lines = run(repo, "repro", "--why").stdout.splitlines()
    assert lines[:2] == ["Running stage 'prepare':", "  because out data.txt: deleted"]  # no deps: not restorable
    k = lines.index("Running stage 'train':")
    assert lines[k + 1] == "  because param train.lr: 0.1 -> 0.3"
    (repo / "model.txt").unlink()
    lines = run(repo, "repro", "-v").stdout.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("Stage 'train' is cached - restoring outputs"))
    assert lines[k + 1] == "  because out model.txt: deleted"


def test_init_makes_a_dvc_repo_without_the_dvc_package(git_repo: Path, tmp_path: Path) -> None:
    """`exptui init` writes what `dvc init` writes, stages it, is idempotent, and refuses a non-git directory."""
    plain = tmp_path / "plain"
    plain.mkdir()
    proc = run(plain, "repro")
    assert proc.returncode == 1 and "run 'exptui init' (or 'dvc init') first" in proc.stderr
    proc = run(plain, "init")
    assert proc.returncode == 1
    assert proc.stderr == f"error: '{plain}' is not a git repository: run 'git init' there first, then 'exptui init'\n"
    assert not (plain / ".dvc").exists()

    proc = run(git_repo, "init")
    assert proc.returncode == 0, proc.stderr
    assert "Initialized a DVC repository" in proc.stdout
    staged = git(git_repo, "diff", "--cached", "--name-only").split()
    assert staged == [".dvc/.gitignore", ".dvc/config", ".dvcignore"]
    again = run(git_repo, "init")
    assert again.returncode == 0 and "already a DVC repository" in again.stdout

    (git_repo / "dvc.yaml").write_text("stages:\n  hello:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n")
    proc = run(git_repo, "repro")
    assert proc.returncode == 0, proc.stderr
    assert (git_repo / "out.txt").read_text() == "hi\n" and (git_repo / "dvc.lock").exists()
