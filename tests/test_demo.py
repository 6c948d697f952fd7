"""`exptui demo` and `build_demo_repo`: a real git repo, built by exptui's own engine, that
real git and the real dvc consider clean and up to date; refusal of foreign directories."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exptui.demo import DemoDirNotEmpty, build_demo, build_demo_repo, demo_state, presets_for
from exptui.errors import ExptuiError
from conftest import BIN, PIPELINES, git

DVC = str(BIN / "dvc")
EXPTUI = [sys.executable, "-m", "exptui"] if not (BIN / "exptui").exists() else [str(BIN / "exptui")]
CHURN_STAGES = {"generate", "prepare", "train", "evaluate"}


def exptui(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXPTUI, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def cli_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`exptui demo DIR --no-tui --experiments 0`, run once for the module (with fixed dates)."""
    base = tmp_path_factory.mktemp("demo")
    proc = exptui("demo", "repo", "--no-tui", "--experiments", "0", "--fixed-dates", cwd=base)
    return base / "repo", proc


def test_cli_demo_builds_a_clean_repo(cli_demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    repo, proc = cli_demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert git(repo, "log", "--format=%s").splitlines() == ["Baseline: run the pipeline", "Add the churn example pipeline"]

    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert lock["schema"] == "2.0" and set(lock["stages"]) == CHURN_STAGES
    tracked = set(git(repo, "ls-files").split())
    assert {"dvc.lock", "metrics.yaml", "params.yaml", "dvc.yaml", "plots/roc.csv", "plots/train_curve.csv",
            ".dvc/config", ".dvc/.gitignore", ".dvcignore", "src/train.py"} <= tracked
    assert not [p for p in tracked if p.startswith(("data/", "models/"))]  # DVC-cached, not in git
    metrics = yaml.safe_load((repo / "metrics.yaml").read_text())
    assert 0.0 < metrics["f1"] < 1.0 and metrics["roc_auc"] > 0.8
    assert (repo / "models" / "model.joblib").is_file()
    assert any((repo / ".dvc" / "cache" / "files" / "md5").iterdir())


def test_cli_demo_prints_one_line_per_step_and_next_steps(
        cli_demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, proc = cli_demo
    out = proc.stdout.splitlines()
    for stage in CHURN_STAGES:
        line = next(line for line in out if f"baseline: {stage} " in line)
        assert line.rstrip().endswith("s") and "(ran)" in line
    assert "Next steps:" in out
    after = out[out.index("Next steps:") + 1:]
    assert after[0].strip() == "cd repo"
    assert any("exptui run --queue -S 'train.max_depth=3,5,7'" in line for line in after)
    assert any("exptui queue start -j 2" in line for line in after)


def test_exptui_engine_sees_the_demo_up_to_date(cli_demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    repo, _ = cli_demo
    proc = exptui("repro", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "4 stages: 4 unchanged" in proc.stdout
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_demo_dir_is_relative_to_dash_c(tmp_path: Path) -> None:
    mine = tmp_path / "elsewhere" / "mine"
    mine.mkdir(parents=True)
    (mine / "x").write_text("not a demo")
    proc = exptui("-C", "elsewhere", "demo", "mine", "--no-tui", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {mine} is not empty and was not made by `exptui demo`: pick another directory"


def test_demo_refuses_a_foreign_directory(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    proc = exptui("demo", str(target), "--no-tui", "--experiments", "0", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not empty" in lines[0]
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "keep me"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(DemoDirNotEmpty):
        build_demo_repo(a_file, experiments=0)


def test_demo_reopens_or_rebuilds_an_earlier_demo_reproducibly(cli_demo: tuple[Path, subprocess.CompletedProcess[str]],
                                                 tmp_path: Path) -> None:
    repo, _ = cli_demo
    assert demo_state(repo) == "demo"
    head = git(repo, "rev-parse", "HEAD")
    proc = exptui("demo", str(repo), "--no-tui", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Opening the churn demo built earlier" in proc.stdout
    assert git(repo, "rev-parse", "HEAD") == head  # nothing rebuilt
    other = exptui("demo", str(repo), "--no-tui", "--pipeline", "sentiment", cwd=tmp_path)
    assert other.returncode == 1
    assert other.stderr == f"error: {repo} holds the churn demo: add --fresh to rebuild it as sentiment, " \
                           "or give another directory\n"
    assert git(repo, "rev-parse", "HEAD") == head

    with pytest.raises(DemoDirNotEmpty, match="--fresh"):
        build_demo_repo(repo, experiments=0)

    # --fresh on a copy (the module's demo stays as it is for the other tests)
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy, symlinks=True)
    (copy / "scratch.txt").write_text("made by the user in the demo")
    rebuilt = build_demo_repo(copy, experiments=0, fresh=True, fixed_dates=True)
    assert not (rebuilt / "scratch.txt").exists()
    assert git(rebuilt, "status", "--porcelain") == ""
    # fixed dates: the rebuilt repo has the very same commits as the CLI's (snapshot tests rely on it)
    assert git(rebuilt, "rev-parse", "HEAD") == head
    assert git(rebuilt, "log", "-1", "--format=%ad %an", "--date=iso-strict").strip() \
        == "2024-01-01T12:01:00+00:00 exptui demo"


def test_demo_sentiment_for_a_user_without_git_identity(tmp_path: Path) -> None:
    """A new user may have no git identity: the demo repo (only) gets a local one."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_", "EMAIL"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    proc = subprocess.run([*EXPTUI, "demo", "s", "--pipeline", "sentiment", "--no-tui", "--experiments", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    repo = tmp_path / "s"
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"generate@train", "generate@test", "featurize", "train", "evaluate"}
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert "eval/metrics.json" in git(repo, "ls-files").split()
    assert git(repo, "log", "--format=%an <%ae>").splitlines() == ["exptui demo <demo@exptui.invalid>"] * 2
    assert git(repo, "config", "--local", "user.email").strip() == "demo@exptui.invalid"
    assert not (home / ".gitconfig").exists()  # the user's own config is left alone
    lines = proc.stdout.splitlines()
    assert any("baseline: featurize (ran)" in line for line in lines)
    assert any("exptui run --queue -S 'featurize.ngram_max=1,2,3'" in line for line in lines)


def test_demo_bad_arguments_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ExptuiError, match="unknown demo pipeline 'mnist'"):
        build_demo_repo(tmp_path / "x", pipeline="mnist")
    with pytest.raises(ExptuiError, match="0 or more"):
        build_demo_repo(tmp_path / "x", experiments=-1)
    assert not (tmp_path / "x").exists()
    proc = exptui("demo", str(tmp_path / "y"), "--pipeline", "mnist", cwd=tmp_path)
    assert proc.returncode != 0 and "Invalid value for '--pipeline'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_baseline_failure_is_one_line_and_rebuilt_next_time(tmp_path: Path) -> None:
    pipes = tmp_path / "pipes"
    shutil.copytree(PIPELINES / "churn", pipes / "churn", ignore=shutil.ignore_patterns("__pycache__"))
    prepare = pipes / "churn" / "src" / "prepare.py"
    good = prepare.read_text()
    prepare.write_text("import sys\nprint('prepare: the disk is on fire')\nsys.exit(3)\n")
    env = {**os.environ, "EXPTUI_PIPELINES": str(pipes)}
    run = lambda: subprocess.run([*EXPTUI, "demo", "d", "--no-tui", "--experiments", "0"], cwd=tmp_path,  # noqa: E731
                                 capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    failed = run()
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the demo baseline failed in ")
    assert "prepare" in lines[0] and "the disk is on fire" in lines[0]
    assert demo_state(tmp_path / "d") == "demo"

    prepare.write_text(good)
    rebuilt = run()  # an unfinished demo is rebuilt without --fresh
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.startswith("Rebuilding the churn demo")
    assert git(tmp_path / "d", "status", "--porcelain") == ""


def test_presets_are_unique_and_extend_past_the_list() -> None:
    for pipeline in ("churn", "sentiment"):
        presets = presets_for(pipeline, 12)
        assert len(presets) == 12
        assert len({p.name for p in presets}) == 12
        assert all(p.overrides and all("=" in o for o in p.overrides) for p in presets)
    assert presets_for("churn", 0) == []


def test_demo_records_experiments(tmp_path: Path) -> None:
    report = build_demo(tmp_path / "e", experiments=2)
    repo = report.path
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split()
    baseline = git(repo, "rev-parse", "HEAD").strip()
    assert sorted(refs) == sorted(f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"
                                  for name in ("random-forest", "logistic"))
    assert report.experiments == ["random-forest", "logistic"]
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""  # run in isolated dirs
    shown = {p: git(repo, "show", f"refs/exps/{baseline[:2]}/{baseline[2:]}/{p}:params.yaml")
             for p in report.experiments}
    assert "model: random_forest" in shown["random-forest"] and "model: logistic_regression" in shown["logistic"]
    assert "# lightgbm | random_forest | logistic_regression" in shown["logistic"]  # comments kept

    # the real dvc lists them as its own experiments
    listed = subprocess.run([DVC, "exp", "list", "--name-only"], cwd=repo, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.split()) == ["logistic", "random-forest"]

    # DVCLive (the train stage logs with it) made no refs of its own (above: exactly the two) and left its files
    # in each experiment, where the real dvc reads them as metrics and plots
    for name in report.experiments:
        files = git(repo, "ls-tree", "-r", "--name-only", f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}",
                    "dvclive").split()
        assert files == ["dvclive/metrics.json", "dvclive/plots/metrics/test/logloss.tsv",
                         "dvclive/plots/metrics/train/logloss.tsv"], (name, files)
    live = json.loads(git(repo, "show", f"refs/exps/{baseline[:2]}/{baseline[2:]}/logistic:dvclive/metrics.json"))
    assert live["step"] == 19 and set(live["test"]) == {"logloss"}  # the 20 steps of the logreg curve
    plots = subprocess.run([DVC, "plots", "diff", "random-forest", "logistic", "--json"], cwd=repo,
                           capture_output=True, text=True, timeout=120)
    assert plots.returncode == 0, plots.stderr
    assert {"dvclive/plots/metrics/train/logloss.tsv", "dvclive/plots/metrics/test/logloss.tsv"} <= set(
        json.loads(plots.stdout)["data"])


@pytest.mark.dvc
def test_real_dvc_sees_the_demo_up_to_date(cli_demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    repo, _ = cli_demo
    proc = subprocess.run([DVC, "status"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Data and pipelines are up to date." in proc.stdout


@pytest.mark.dvc
def test_real_dvc_runs_an_experiment_on_the_demo(cli_demo: tuple[Path, subprocess.CompletedProcess[str]],
                                                  tmp_path: Path) -> None:
    """DVC picks up where exptui left off: only the changed stages run, the rest come from the lock."""
    repo = tmp_path / "copy"
    shutil.copytree(cli_demo[0], repo, symlinks=True)
    proc = subprocess.run([DVC, "exp", "run", "-S", "train.max_depth=3", "-n", "dvc-shallow"], cwd=repo,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Running stage 'train'" in proc.stdout and "Running stage 'evaluate'" in proc.stdout
    assert "Running stage 'generate'" not in proc.stdout and "Running stage 'prepare'" not in proc.stdout
    listed = subprocess.run([DVC, "exp", "list", "--name-only"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert listed.stdout.split() == ["dvc-shallow"]


def test_demo_opens_the_dashboard_in_a_terminal(cli_demo: tuple[Path, subprocess.CompletedProcess[str]],
                                                tmp_path: Path) -> None:
    """On a terminal, `exptui demo` hands over to the dashboard (`ui`), which quits on ctrl+q."""
    import pty
    import select
    import signal
    import time

    repo, _ = cli_demo
    pid, fd = pty.fork()
    if pid == 0:  # the child: exptui on a pseudo-terminal
        try:
            os.chdir(tmp_path)
            os.environ["TERM"] = "xterm-256color"
            os.execv(EXPTUI[0], [*EXPTUI, "demo", str(repo)])
        finally:
            os._exit(127)
    output = b""
    quit_sent = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if not quit_sent and b"\x1b[?1049h" in output and b"exptui" in output.split(b"\x1b[?1049h", 1)[1]:
                time.sleep(0.5)
                os.write(fd, b"\x11")  # ctrl+q
                quit_sent = True
        status = None
        wait_until = time.monotonic() + 10
        while status is None and time.monotonic() < wait_until:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
            else:
                time.sleep(0.1)
        if status is None:  # still running: stop it (our own child) and fail
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the dashboard did not quit; output: {output[-500:]!r}")
    finally:
        os.close(fd)
    assert quit_sent, output[-1000:]
    assert os.waitstatus_to_exitcode(status) == 0
    text = output.decode("utf-8", "replace")
    assert "Opening the churn demo built earlier" in text
    assert "Traceback" not in text


_HIDE_SKLEARN = """
import sys

class _Hidden:
    '''An environment installed without the `examples` extra: scikit-learn cannot be imported.'''
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "sklearn":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, _Hidden())
from exptui.cli import main
main(sys.argv[1:])
"""


def test_demo_without_the_examples_extra_says_what_to_install(tmp_path: Path) -> None:
    """exptui itself never imports scikit-learn/lightgbm/joblib (the `examples` extra): the demo, which trains with
    them, says so in one line before it writes anything."""
    dest = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-c", _HIDE_SKLEARN, "demo", str(dest), "--no-tui"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "scikit-learn" in lines[0] and "exptui[examples]" in lines[0]
    assert not dest.exists()


def test_exptui_itself_never_imports_the_example_packages() -> None:
    """The `examples` extra is only for pipelines/: no module of exptui or dvc_compat imports it."""
    root = Path(__file__).resolve().parent.parent
    for package in ("exptui", "dvc_compat"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for module in ("sklearn", "lightgbm", "joblib", "dvclive"):
                # statements only: exptui names dvclive's files ("from dvclive/metrics.json") in its docs
                assert not re.search(rf"^\s*(import|from) {module}(\s|\.|$)", text, re.M), (path, module)
