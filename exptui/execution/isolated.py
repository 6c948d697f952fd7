"""Run one experiment in an isolated run directory and record the result as a DVC experiment.

Why `git clone --shared --no-checkout` and not `git worktree`: a worktree shares hooks, config and refs with the
user's repository, so a stage that runs git (or a pre-commit hook) would act on the user's repo, and a killed run
leaves admin state in the user's ``.git``. A shared clone has its own refs, index and config, borrows objects
through alternates, and writes nothing into the user's repository; the queue ref pins the snapshot so
`git gc` in the user's repo cannot drop objects the clone relies on. The clone's few files are written directly
and the tree checked out with one ``git read-tree -u`` (see `write_shared_repo`): ~6 ms instead of ~22 ms.

The DVC cache is shared: the run dir's ``.dvc/config.local`` points ``cache.dir`` at the repo's cache and the
pipeline engine is given the same directory, so stages whose inputs match the baseline's lock or the run cache are
restored from the cache instead of re-run, and a stage's outputs land in the one cache.

The result tree is snapshotted straight into the user's object store (temporary index, ``--work-tree`` = run dir)
and recorded with a create-only ref in DVC's layout (``refs/exps/<b[:2]>/<b[2:]>/<name>``); a taken name gets a
numeric suffix, never an overwrite.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from exptui.execution.runner import CappedLog, PipelineOutcome, run_pipeline
from exptui.store.claims import new_token
from exptui.store.git import Git


@dataclass
class IsolatedResult:
    """How an isolated run ended. `exp_ref`/`exp_rev` are set on success."""

    status: str                         # success | failed | cancelled
    reason: str | None = None
    exp_ref: str | None = None
    exp_rev: str | None = None
    name: str | None = None             # the recorded name (may carry a suffix if the asked name was taken)
    log_path: Path | None = None
    elapsed: float = 0.0
    stage_times: dict[str, float] = field(default_factory=dict)       # seconds of each stage that ran
    stage_outcomes: dict[str, str] = field(default_factory=dict)      # ran | restored | run-cache | skipped...


def runs_dir(git: Git) -> Path:
    return git.git_dir / "exptui" / "runs"


def make_run_dir(repo_root: Path, git_dir: Path, snapshot_rev: str, run_dir: Path) -> None:
    """Shared clone of the repo at `run_dir`, checked out (detached) at `snapshot_rev`."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    if run_dir.exists():
        shutil.rmtree(run_dir)  # left by a dead attempt of the same entry
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _IDENTITY}
    env["GIT_TERMINAL_PROMPT"] = "0"
    objects = git_dir / "objects"
    if objects.is_dir() and len(snapshot_rev) in (40, 64):
        write_shared_repo(run_dir / ".git", objects, snapshot_rev)
        _run(["git", "-C", str(run_dir), "read-tree", "--reset", "-u", snapshot_rev], env)
        return
    _run(["git", "clone", "-q", "--shared", "--no-checkout", "--no-tags", str(git_dir), str(run_dir)], env)
    _run(["git", "-C", str(run_dir), "-c", "advice.detachedHead=false", "checkout", "-q", "--detach",
          snapshot_rev], env)


def write_shared_repo(dot_git: Path, objects: Path, head: str) -> None:
    """The repository `git clone --shared --no-checkout` + ``checkout --detach`` would leave, written directly.

    Why not the clone: it is two git processes per experiment (~20 ms of the per-experiment overhead) to get
    what is four small files: HEAD detached at the snapshot, a config, and an ``objects/info/alternates``
    borrowing the user's object store (objects the queue ref pins, so `git gc` there cannot drop them). No
    remote and no copied refs: nothing in a run reads them, and the result is recorded from the user's
    repository (`record_experiment`), not from this one. Files are not fsynced: the run dir is scratch.
    """
    (dot_git / "objects" / "info").mkdir(parents=True)
    (dot_git / "objects" / "pack").mkdir()
    (dot_git / "refs" / "heads").mkdir(parents=True)
    (dot_git / "refs" / "tags").mkdir()
    config = "[core]\n\trepositoryformatversion = {}\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n"
    if len(head) == 64:  # a sha256 repository: its clone must say so, or git reads the ids as sha1
        config = config.format(1) + "[extensions]\n\tobjectformat = sha256\n"
    else:
        config = config.format(0)
    (dot_git / "config").write_text(config)
    (dot_git / "HEAD").write_text(head + "\n")
    (dot_git / "objects" / "info" / "alternates").write_text(str(objects.resolve()) + "\n")


_IDENTITY = {"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
             "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL"}


def _run(cmd: list[str], env: dict[str, str]) -> None:
    from exptui.store.signals import run_process

    proc = run_process(cmd, env=env)  # interrupted: git gets SIGTERM and removes its locks (see store/signals.py)
    if proc.returncode != 0:
        from exptui.errors import ExptuiError

        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExptuiError(f"{' '.join(cmd[:3])} failed: {msg[-1] if msg else proc.returncode}")


def point_dvc_cache(run_dir: Path, cache_dir: Path) -> None:
    """Write ``cache.dir`` into the run dir's ``.dvc/config.local`` (keeping any other local settings)."""
    dvc_dir = run_dir / ".dvc"
    try:
        ignored = "config.local" in (dvc_dir / ".gitignore").read_text()
    except OSError:
        ignored = False
    if not ignored:
        return  # no `dvc init`-style .dvc/.gitignore: the file would end up in the experiment commit
    local = dvc_dir / "config.local"
    lines = local.read_text().splitlines() if local.exists() else []
    out: list[str] = []
    in_cache = wrote = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            if in_cache and not wrote:
                out.append(f"    dir = {cache_dir}")
                wrote = True
            in_cache = stripped.strip("[]").strip().strip("'\"") == "cache"
        elif in_cache and stripped.split("=", 1)[0].strip() == "dir":
            continue
        out.append(line)
    if in_cache and not wrote:
        out.append(f"    dir = {cache_dir}")
        wrote = True
    if not wrote:
        out += ["[cache]", f"    dir = {cache_dir}"]
    from dvc_compat.fsutil import atomic_write

    atomic_write(local, ("\n".join(out) + "\n").encode("utf-8"), durable=False)  # scratch: no fsync


def checkout_data_sources(run_dir: Path, cache_dir: Path) -> None:
    """Place the data of every git-tracked ``.dvc`` file (``dvc add``) from the cache, as DVC's executors do:
    a clone holds only the ``.dvc`` file, and stages depending on that data would fail. Data missing from the
    cache stays missing (the stage then fails with a clear message, as ``dvc repro`` does)."""
    from dvc_compat.dotdvc import read_dotdvc
    from dvc_compat.errors import FormatError
    from exptui.pipeline.cache import ContentCache
    from exptui.store.signals import run_process

    proc = run_process(["git", "-C", str(run_dir), "ls-files", "-z", "--", "*.dvc"])
    cache: ContentCache | None = None
    for rel in filter(None, proc.stdout.decode("utf-8", "surrogateescape").split("\0")):
        dotdvc = run_dir / rel
        try:
            spec = read_dotdvc(dotdvc, rel)
        except (OSError, FormatError):
            continue  # a broken .dvc file is reported by the stage that needs its data
        base = dotdvc.parent / str(spec.extra.get("wdir") or ".")
        for out, flags in zip(spec.outs, spec.out_flags):
            if not out.md5 or flags.get("cache") is False:
                continue
            cache = cache or ContentCache.for_repo(run_dir, cache_dir)
            dest = base / out.path
            if not dest.exists() and cache.has(out.md5, out.legacy):
                dest.parent.mkdir(parents=True, exist_ok=True)
                cache.checkout(dest, out.md5, isexec=out.isexec, legacy=out.legacy)


def shared_cache_dir(root: Path, git: Git) -> Path:
    """The DVC cache queued runs share: the repo's (``.dvc/config`` cache.dir honoured) in a DVC repo; in a repo
    without ``.dvc/`` a cache inside ``.git/exptui`` so that a queued run never creates files in the workspace."""
    if (root / ".dvc").is_dir():
        from dvc_compat.config import DEFAULT_CACHE_DIR, load_config

        try:
            return Path(load_config(root).cache_dir).resolve()
        except Exception:  # noqa: BLE001 - a broken config fails the stage later with a clear message
            return root / DEFAULT_CACHE_DIR
    return git.git_dir / "exptui" / "dvc-cache"


def copy_paths(repo_root: Path, run_dir: Path, paths: list[str]) -> None:
    """Copy ignored-but-needed files (secrets, local configs) into the run dir; they are never committed."""
    for rel in paths:
        src = repo_root / rel
        dst = run_dir / rel
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def record_result(git: Git, run_dir: Path, baseline: str, name: str, stages_lock: dict,
                  facts: object | None = None, status: str = "success") -> tuple[str, str, str]:
    """Commit the run dir's tree as an experiment of `baseline` and create its ref; (ref, sha, recorded name).

    Through the store's `record_experiment` (create-only ref; a name taken meanwhile gets a ``-2`` suffix,
    never an overwrite).
    """
    from exptui.store.experiments import record_experiment

    rec = record_experiment(git, run_dir, baseline, name, stages_lock, facts,  # type: ignore[arg-type]
                            on_conflict="suffix", status=status)
    return rec.ref, rec.rev, rec.name


def run_isolated(
    repo_root: str | os.PathLike[str],
    snapshot_rev: str,
    baseline: str,
    name: str,
    log_path: str | os.PathLike[str] | None,
    *,
    run_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    on_stage: Callable[[str | None], None] | None = None,
    run_token: str | None = None,
    sink: Callable[[bytes], None] | None = None,
    copy: list[str] | None = None,
    keep_run_dir: bool = False,
    git: Git | None = None,
    command: str | None = None,
    created: float | None = None,
    pruned: Callable[[], bool] | None = None,
    sweep: tuple[str, str] | None = None,
    search: tuple[str, str] | None = None,
) -> IsolatedResult:
    """Run the pipeline of `snapshot_rev` in a fresh shared clone and record it as experiment `name`.

    - `log_path`: capped log of all stage output (None: no log file, `sink` only);
    - `run_dir`: where to clone (default ``.git/exptui/runs/<random>``), removed afterwards unless `keep_run_dir`;
    - `cache_dir`: the DVC cache to share (default: the repo's ``.dvc/cache``);
    - `timeout`: per stage, seconds; `cancel`: set it to stop the running stage (SIGTERM, grace, SIGKILL);
    - `on_stage(address|None)`: called when a stage starts and when the pipeline ends;
    - `run_token`: tags every stage process's environment (``EXPTUI_RUN_TOKEN``) so orphans can be found;
    - `copy`: ignored-but-needed paths copied from the repo into the run dir;
    - `command` / `created`: run facts recorded in the experiment commit (what started it, when it was queued);
    - `pruned`: asked when the run was cancelled; True (an adaptive search stopped the trial early) records what
      the run reached (its partial DVCLive metrics, the lock of the stages that finished) as an experiment with
      status ``pruned``.
    - `sweep`: (id, label) of the sweep the entry was queued with, recorded as run facts too; `search`: (id,
      name) of the adaptive search it is a trial of, likewise (the ``Exptui-Search`` trailers).

    Never touches the user's workspace, index, HEAD or stash. Raises only for setup failures (clone); a failing
    stage is a result with status ``failed``.
    """
    root = Path(repo_root).resolve()
    git = git or Git(root)
    started = time.monotonic()
    token = run_token or new_token()
    rd = Path(run_dir) if run_dir is not None else runs_dir(git) / f"run-{token}"
    cache = Path(cache_dir) if cache_dir is not None else shared_cache_dir(root, git)
    log = CappedLog(Path(log_path)) if log_path is not None else None

    def out(chunk: bytes) -> None:
        if log is not None:
            log.write(chunk)
        if sink is not None:
            sink(chunk)

    from datetime import datetime, timezone

    from exptui.execution.recovery import owner_file, write_owner
    from exptui.store.claims import ProcessIdentity
    from exptui.store.facts import finish_facts, start_facts

    started_at = datetime.now(timezone.utc)

    def facts_now() -> object:
        # built at record time: environment_facts() hashes the installed packages once per process (slow the
        # first time), and a worker warms it up in the background while this run clones and runs
        facts = start_facts(command=command or f"exptui run --temp -n {name}",
                            created=None if created is None else datetime.fromtimestamp(created, timezone.utc))
        if sweep is not None:
            facts = replace(facts, sweep=sweep[0], sweep_label=sweep[1])
        if search is not None:
            facts = replace(facts, search=search[0], search_name=search[1])
        return finish_facts(replace(facts, started=started_at))

    try:
        write_owner(rd, ProcessIdentity.current(token))
        make_run_dir(root, git.git_dir, snapshot_rev, rd)
        point_dvc_cache(rd, cache)
        checkout_data_sources(rd, cache)
        if copy:
            copy_paths(root, rd, copy)
        # a failure names the log that stays (the entry's), never the stage log inside the run dir, which goes
        note = _display(root, log.path) if log is not None else "the output above"
        outcome: PipelineOutcome = run_pipeline(
            rd, out, token, cache_dir=cache, env=env, timeout=timeout, cancel=cancel, on_stage=on_stage, log=log,
            log_note=note,
        )
        if outcome.status == "cancelled" and pruned is not None and pruned():
            ref, sha, recorded = record_result(git, rd, baseline, name, _finished_stages_lock(rd),
                                               facts_now(), status="pruned")
            if log is not None:
                log.note(f"pruned: recorded the partial run as experiment {recorded} ({sha[:7]}) as {ref}")
            return IsolatedResult("pruned", outcome.reason, ref, sha, recorded,
                                  None if log is None else log.path, time.monotonic() - started,
                                  outcome.stage_times, outcome.stage_outcomes)
        if outcome.status != "success":
            if log is not None:
                log.note(f"{outcome.status}: {outcome.reason}")
            return IsolatedResult(outcome.status, outcome.reason, log_path=None if log is None else log.path,
                                  elapsed=time.monotonic() - started, stage_times=outcome.stage_times,
                                  stage_outcomes=outcome.stage_outcomes)
        ref, sha, recorded = record_result(git, rd, baseline, name, outcome.stages_lock or {}, facts_now())
        if log is not None:
            log.note(f"recorded experiment {recorded} ({sha[:7]}) as {ref}")
        return IsolatedResult("success", None, ref, sha, recorded, None if log is None else log.path,
                              time.monotonic() - started, outcome.stage_times, outcome.stage_outcomes)
    finally:
        # what the stages left running (a double-forked daemon escapes the stage's process group, not its
        # environment tag) dies with the run: its run dir is about to go, and nothing would ever stop it
        from exptui.store.claims import kill_tagged

        kill_tagged(token)
        if log is not None:
            log.close()
        if not keep_run_dir and remove_run_dir(rd):
            try:
                owner_file(rd).unlink()
            except FileNotFoundError:
                pass


def _finished_stages_lock(run_dir: Path) -> dict:
    """{stage: lock entry} of the stages the run dir's ``dvc.lock`` records (those that finished before a
    pruned trial was stopped): the experiment hash of a partial run."""
    from dvc_compat.lockfile import read_lock

    try:
        return dict(read_lock(run_dir / "dvc.lock"))
    except Exception:  # noqa: BLE001 - no lock yet (the first stage was stopped) or a half-written one
        return {}


def _display(root: Path, path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def remove_run_dir(path: Path) -> bool:
    """Best effort: a cleanup failure is logged by the caller and retried by `doctor`, never fatal."""
    def onerror(func, p, exc_info):
        try:
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=onerror)
    return not Path(path).exists()
