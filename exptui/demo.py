"""Build the demo repository: a fresh git repo holding an example pipeline, its baseline
run committed, and a few finished experiments, so the dashboard has something to show.

`build_demo_repo` is the one entry point; the CLI (`exptui demo`), the tests and the
benchmarks of every part of exptui use it, so it is deterministic: the example
pipelines are seeded (same params, same output bytes, same dvc.lock), and
`fixed_dates=True` also fixes the identity and dates of the demo's own commits, so
the baseline's sha is the same on every run (snapshot tests). Experiment commits are
dated by the store; their trees and ref names are deterministic.

Only exptui's own engine runs the pipeline (`exptui.pipeline.repro.reproduce`) and
only exptui's store records experiments (`exptui.project.Project`): the demo never
shells out to `dvc`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from exptui.errors import ExptuiError

#: file inside `.git` that marks a repo as built by `exptui demo` (outside the work tree: git status stays clean)
MARKER = "exptui-demo.json"
DEFAULT_DIR = "exptui-demo"
PIPELINES = ("churn", "sentiment")
#: what a pipeline folder may hold after someone ran its scripts in place; never copied
_RUN_LEFTOVERS = ("__pycache__", "*.pyc", ".dvc", "dvc.lock", "data", "models", "plots", "eval", "metrics.yaml")
_DEMO_NAME, _DEMO_EMAIL = "exptui demo", "demo@exptui.invalid"
#: base of the fixed commit dates; each commit is one minute later than the one before
_FIXED_EPOCH = 1_704_110_400  # 2024-01-01T12:00:00Z


class DemoDirNotEmpty(ExptuiError):
    """The target directory holds files that are not an earlier demo: never overwrite them."""


@dataclass(frozen=True)
class Preset:
    """One experiment the demo records: a name and its `-S` overrides."""

    name: str
    overrides: tuple[str, ...]


PRESETS: dict[str, tuple[Preset, ...]] = {
    "churn": (
        Preset("random-forest", ("train.model=random_forest",)),
        Preset("logistic", ("train.model=logistic_regression",)),
        Preset("lgbm-shallow", ("train.max_depth=3",)),
        Preset("lgbm-deep", ("train.max_depth=7",)),
        Preset("lgbm-slow", ("train.learning_rate=0.03", "train.n_estimators=200")),
        Preset("lgbm-fast", ("train.learning_rate=0.3",)),
        Preset("forest-deep", ("train.model=random_forest", "train.max_depth=10")),
        Preset("small-test", ("prepare.test_size=0.1",)),
    ),
    "sentiment": (
        Preset("unigrams", ("featurize.ngram_max=1",)),
        Preset("strong-reg", ("train.C=0.1",)),
        Preset("weak-reg", ("train.C=10",)),
        Preset("small-vocab", ("featurize.max_features=100",)),
        Preset("trigrams", ("featurize.ngram_max=3", "featurize.max_features=2000")),
        Preset("noisy", ("generate.label_noise=0.2",)),
    ),
}


@dataclass
class DemoReport:
    """What `build_demo_repo` did, step by step (the CLI prints it as it happens)."""

    path: Path
    pipeline: str
    steps: list[tuple[str, float]] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why parts were left out (a preset that failed)


Progress = Callable[[str], None]


def pipelines_root() -> Path:
    """Where the example pipelines live: `$EXPTUI_PIPELINES`, else `pipelines/` of the source checkout
    (editable installs), else `<prefix>/share/exptui/pipelines` (where a wheel's data files land)."""
    override = os.environ.get("EXPTUI_PIPELINES")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parents[1] / "pipelines")
    candidates.append(Path(sys.prefix) / "share" / "exptui" / "pipelines")
    for root in candidates:
        if (root / "churn" / "dvc.yaml").is_file():
            return root
    raise ExptuiError(
        "example pipelines not found (looked in " + ", ".join(str(c) for c in candidates)
        + "): install exptui from a source checkout or set EXPTUI_PIPELINES"
    )


def demo_state(dest: Path) -> str:
    """`missing`, `empty`, `demo` (built by an earlier `exptui demo`) or `foreign`."""
    if not dest.exists():
        return "missing"
    if not dest.is_dir():
        return "foreign"
    if (dest / ".git" / MARKER).is_file():
        return "demo"
    return "foreign" if any(dest.iterdir()) else "empty"


def check_destination(dest: Path, fresh: bool) -> str:
    """`demo_state(dest)`, refusing (one line) a directory the demo must not touch.

    An unfinished earlier demo (interrupted, or its baseline failed) may always be rebuilt."""
    state = demo_state(dest)
    if state == "foreign":
        raise DemoDirNotEmpty(f"{dest} is not empty and was not made by `exptui demo`: pick another directory")
    if state == "demo" and not fresh and demo_complete(dest):
        raise DemoDirNotEmpty(f"{dest} already holds a demo: open it with `exptui -C {dest}` or rebuild it with --fresh")
    return state


def _read_marker(dest: Path) -> dict:
    try:
        data = json.loads((dest / ".git" / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def demo_pipeline(dest: Path) -> str | None:
    """The pipeline an earlier demo in `dest` was built from (None if unknown)."""
    name = _read_marker(dest).get("pipeline")
    return name if name in PIPELINES else None


def demo_complete(dest: Path) -> bool:
    """Did the demo build in `dest` get as far as committing its baseline?"""
    return _read_marker(dest).get("complete") is True


#: the `-S` examples printed after the demo, per pipeline: (one run, one sweep)
SUGGESTIONS: dict[str, tuple[str, str]] = {
    "churn": ("train.max_depth=5", "train.max_depth=3,5,7"),
    "sentiment": ("train.C=0.5", "featurize.ngram_max=1,2,3"),
}


def presets_for(pipeline: str, count: int) -> list[Preset]:
    """The first `count` presets; past the list, learning-rate/C variations with unique names."""
    base = list(PRESETS[pipeline])
    extra_key = "train.learning_rate" if pipeline == "churn" else "train.C"
    i = 0
    while len(base) < count:
        i += 1
        value = round(0.02 * i, 4) if pipeline == "churn" else round(0.25 * i, 4)
        base.append(Preset(f"sweep-{i}", (f"{extra_key}={value}",)))
    return base[:count]


def build_demo_repo(
    dest: Path | str,
    pipeline: str = "churn",
    experiments: int = 3,
    quiet: bool = True,
    *,
    fixed_dates: bool = False,
    fresh: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Create the demo repo at `dest` and return its resolved path.

    `dest` must be missing or empty — or an earlier demo when `fresh` (it is rebuilt).
    `experiments` finished experiments are recorded after the baseline (0 = none).
    `quiet=False` prints progress to stdout unless a `progress` callback is given.
    Raises `DemoDirNotEmpty` / `ExptuiError` with a one-line message on bad input.
    """
    return build_demo(dest, pipeline, experiments, quiet=quiet, fixed_dates=fixed_dates,
                      fresh=fresh, progress=progress).path


def build_demo(
    dest: Path | str,
    pipeline: str = "churn",
    experiments: int = 3,
    *,
    quiet: bool = True,
    fixed_dates: bool = False,
    fresh: bool = False,
    progress: Progress | None = None,
) -> DemoReport:
    """`build_demo_repo`, returning the step-by-step `DemoReport`."""
    if pipeline not in PIPELINES:
        raise ExptuiError(f"unknown demo pipeline '{pipeline}': choose one of {', '.join(PIPELINES)}")
    if experiments < 0:
        raise ExptuiError("--experiments must be 0 or more")
    _check_example_packages(pipeline)
    dest = Path(dest).expanduser().absolute()
    say: Progress = progress or (_silent if quiet else print)
    source = pipelines_root() / pipeline

    if check_destination(dest, fresh) == "demo":
        shutil.rmtree(dest)

    report = DemoReport(dest, pipeline)
    clock = _Clock(report, say)
    with _git_env(fixed_dates):
        git = _Git(dest, fixed_dates)
        with clock.step("git repo + pipeline files"):
            dest.mkdir(parents=True, exist_ok=True)
            git("init", "-q", "-b", "main")
            _write_marker(dest, pipeline, complete=False)
            _ensure_identity(git)
            shutil.copytree(source, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*_RUN_LEFTOVERS))
            _init_dvc(dest)
            git("add", "-A")
            git.commit(f"Add the {pipeline} example pipeline")

        _run_baseline(dest, say, report)
        with clock.step("commit baseline (dvc.lock + metrics)"):
            git("add", "-A")
            git.commit("Baseline: run the pipeline")
        _write_marker(dest, pipeline, complete=True)  # experiments are extras: the demo is usable now

        presets = presets_for(pipeline, experiments)
        if presets:
            _record_experiments(dest, presets, say, report)
    return report


# --- steps ------------------------------------------------------------------------------------


def _init_dvc(dest: Path) -> None:
    """What `dvc init` writes (.dvc/config, .dvc/.gitignore, .dvcignore), via dvc_compat."""
    from dvc_compat.config import init_dvc_dir

    init_dvc_dir(dest)


#: import name -> distribution, of what the example pipelines train with (the `examples` extra)
EXAMPLE_PACKAGES = {"sklearn": "scikit-learn", "lightgbm": "lightgbm", "joblib": "joblib"}


def _check_example_packages(pipeline: str) -> None:
    """Before anything is written: the example pipelines need the `examples` extra, which a plain `pip install
    exptui` leaves out (exptui itself never imports them)."""
    import importlib.util

    def absent(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is None
        except (ImportError, ValueError):  # a broken install counts as absent
            return True

    missing = [dist for mod, dist in EXAMPLE_PACKAGES.items() if absent(mod)]
    if missing:
        raise ExptuiError(
            f"the '{pipeline}' demo pipeline trains with {', '.join(missing)}, which this environment lacks: "
            f"pip install 'exptui[examples]' (from a checkout: pip install -e '.[examples]')")


def _stage_env() -> dict[str, str]:
    """Stage commands say `python`: make it this interpreter, whose venv has numpy/sklearn/lightgbm."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return {"PATH": bin_dir + (os.pathsep + path if path else "")}


def _run_baseline(dest: Path, say: Progress, report: DemoReport) -> None:
    from exptui.pipeline.repro import StageEvent, reproduce

    def on_event(ev: StageEvent) -> None:
        if ev.kind != "start":
            label = f"baseline: {ev.stage.address} ({ev.kind})"
            report.steps.append((label, ev.elapsed))
            say(_line(label, ev.elapsed))

    output = bytearray()
    try:
        reproduce(dest, sink=output.extend, events=on_event, env=_stage_env())
    except ExptuiError as exc:
        error = ExptuiError(f"the demo baseline failed in {dest}: {exc}{_tail(output)}")
        error.exit_code = exc.exit_code  # a failed stage keeps its exit code (2)
        raise error from exc


def _record_experiments(dest: Path, presets: list[Preset], say: Progress, report: DemoReport) -> None:
    """Record each preset as a finished experiment of the baseline, in an isolated run dir
    (`temp=True`), so the demo's workspace stays the clean baseline.

    A failure here does not undo the demo: the baseline is committed and useful on its own.
    The first failure is reported in one line and stops the remaining presets.
    """
    from exptui.project import Project

    saved_path = os.environ.get("PATH")
    os.environ.update(_stage_env())  # the store runs stages with this process's environment
    try:
        with Project.open(dest) as project:
            for preset in presets:
                label = f"experiment {preset.name} ({' '.join(preset.overrides)})"
                started = time.monotonic()
                output = bytearray()
                try:
                    project.run(overrides=list(preset.overrides), name=preset.name, temp=True, sink=output.extend)
                except ExptuiError as exc:
                    _skip(report, say, f"{label} failed: {exc}{_tail(output)}; the baseline is ready, "
                                       f"{len(presets) - len(report.experiments) - 1} more experiment(s) skipped")
                    return
                elapsed = time.monotonic() - started
                report.steps.append((label, elapsed))
                report.experiments.append(preset.name)
                say(_line(label, elapsed))
    finally:
        if saved_path is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved_path


def _skip(report: DemoReport, say: Progress, reason: str) -> None:
    report.skipped.append(reason)
    say(f"  {reason}")


def _tail(output: bytearray, lines: int = 3) -> str:
    """The last lines a failed stage printed, as a one-line suffix."""
    tail = output.decode("utf-8", "replace").strip().splitlines()[-lines:]
    return f" (last output: {' | '.join(line.strip() for line in tail)})" if tail else ""


# --- helpers -------------------------------------------------------------------------------------


def _silent(_: str) -> None:
    pass


def _line(label: str, seconds: float) -> str:
    return f"  {label:<64} {seconds:6.2f}s"


class _Clock:
    """Times a step and reports it as one line."""

    def __init__(self, report: DemoReport, say: Progress) -> None:
        self.report, self.say = report, say

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        elapsed = time.monotonic() - started
        self.report.steps.append((label, elapsed))
        self.say(_line(label, elapsed))


class _Git:
    """Runs git in the demo repo; failures become one-line `ExptuiError`s."""

    def __init__(self, root: Path, fixed_dates: bool) -> None:
        self.root, self.fixed_dates = root, fixed_dates
        self.commits = 0

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        from exptui.store.signals import run_process

        # interrupted (Ctrl-C, SIGTERM), git gets SIGTERM and removes the demo repo's index.lock, never SIGKILL
        raw = run_process(["git", *args], cwd=self.root, env=os.environ.copy())
        proc = subprocess.CompletedProcess(raw.args, raw.returncode, raw.stdout.decode("utf-8", "replace"),
                                           raw.stderr.decode("utf-8", "replace"))
        if check and proc.returncode != 0:
            message = (proc.stderr or proc.stdout).strip().splitlines()
            raise ExptuiError(f"git {args[0]} failed in {self.root}: {message[-1] if message else proc.returncode}")
        return proc

    def commit(self, message: str) -> None:
        self("commit", "-q", "--no-verify", "-m", message)
        self.commits += 1
        if self.fixed_dates:  # the next commit (ours or the store's) is one minute later
            stamp = f"@{_FIXED_EPOCH + 60 * self.commits} +0000"
            os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = stamp


@contextmanager
def _git_env(fixed_dates: bool) -> Iterator[dict[str, str]]:
    """With `fixed_dates`, a fixed identity and commit date exported to this process while the
    demo builds (restored after), so the store's experiment commits are reproducible too."""
    env: dict[str, str] = {"GIT_CONFIG_NOSYSTEM": "1"} if fixed_dates else {}
    if fixed_dates:
        stamp = f"@{_FIXED_EPOCH} +0000"
        env.update(GIT_AUTHOR_NAME=_DEMO_NAME, GIT_AUTHOR_EMAIL=_DEMO_EMAIL,
                   GIT_COMMITTER_NAME=_DEMO_NAME, GIT_COMMITTER_EMAIL=_DEMO_EMAIL,
                   GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _ensure_identity(git: _Git) -> None:
    """A new user may have no git identity: give the demo repo (only) a local one."""
    if git("var", "GIT_AUTHOR_IDENT", check=False).returncode != 0:
        git("config", "user.name", _DEMO_NAME)
        git("config", "user.email", _DEMO_EMAIL)


def _write_marker(dest: Path, pipeline: str, complete: bool) -> None:
    """Mark `dest` as ours; `complete` only once the baseline is committed, so an interrupted
    build is recognised and rebuilt instead of reopened half-made."""
    from exptui import __version__

    marker = {"pipeline": pipeline, "exptui": __version__, "complete": complete}
    (dest / ".git" / MARKER).write_text(json.dumps(marker, sort_keys=True) + "\n", encoding="utf-8")


def ignore_in_enclosing_repo(dest: Path) -> Path | None:
    """A demo built inside another git checkout (the default `./exptui-demo` in a project) would show up in that
    project's `git status` as an untracked folder: list it in the enclosing repo's `.git/info/exclude` (local to
    that clone, no tracked file changes). Returns the exclude file written, or None (not inside a checkout,
    already listed, or git refused)."""
    parent = Path(dest).absolute().parent
    try:
        out = subprocess.run(["git", "-C", str(parent), "rev-parse", "--show-toplevel", "--git-path", "info/exclude"],
                             capture_output=True, text=True, timeout=30, check=True).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) < 2:
        return None
    top, exclude = Path(out[0]), Path(out[1])
    exclude = exclude if exclude.is_absolute() else parent / exclude
    try:
        rel = Path(dest).resolve().relative_to(top.resolve())
    except ValueError:
        return None
    line = "/" + rel.as_posix() + "/"
    try:
        existing = exclude.read_text(encoding="utf-8").splitlines() if exclude.is_file() else []
        if line in existing:
            return None
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with open(exclude, "a", encoding="utf-8") as fh:
            if existing and existing[-1].strip():
                fh.write("\n")
            fh.write(f"# the exptui demo (a separate git repo)\n{line}\n")
    except OSError:
        return None
    return exclude
