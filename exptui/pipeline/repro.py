"""Reproduce a pipeline the way `dvc repro` does (dvc-internals §4.2), in-process and fast.

For each selected stage, upstream first:
1. unchanged (cmd, deps, params, outs match the lock) → skipped;
2. changed, but cmd/deps/params match the lock and every out is in the cache → outs checked
   out from the lock ("restored"), nothing runs;
3. the inputs match a run-cache entry whose outs are in the cache → restored from the run cache;
4. else run: non-persist outs removed, the command runs in its own process group, outs are
   hashed and saved to the cache, the stage's lock entry is written at once (a later failure
   keeps earlier stages' entries), and the run cache gets an entry.
A failing command raises `StageFailed` (exit code 2) and leaves that stage's lock entry as it was.
"""
from __future__ import annotations

import os
import sys
import posixpath
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvc_compat.model import HashInfo, LockStage, StageSpec
from exptui.errors import PipelineError, StageFailed
from exptui.pipeline.dag import is_outside_repo, repo_path
from exptui.pipeline.datasources import DataSourceStage
from exptui.pipeline.state import Hashed, tmp_dir
from exptui.pipeline.status import (
    StageStatus,
    Workspace,
    can_run_cache,
    data_source_status,
    ensure_dvc_repo,
    ensure_stages,
    matches,
    stage_status,
)

if TYPE_CHECKING:
    from exptui.pipeline.runcache import RunCache

Sink = Callable[[bytes], None]

#: a stage's log file keeps the first LOG_CAP bytes of its output (the sink still gets everything)
LOG_CAP = 64 << 20

SKIPPED = "skipped"
RESTORED = "restored"          # outs checked out from the lock's hashes
RUN_CACHE = "run-cache"        # outs checked out from a run-cache entry
RAN = "ran"
COMMITTED = "committed"        # a `.dvc` data source changed in place: re-hashed, saved, its .dvc file updated
FAILED = "failed"
FROZEN = "frozen"
BLOCKED = "blocked"            # not run: a stage upstream of it failed (`--keep-going`)


@dataclass
class StageEvent:
    """Progress report for the CLI/TUI: `kind` is `start` or one of the outcomes above."""

    kind: str
    stage: StageSpec
    message: str
    elapsed: float = 0.0
    log_path: Path | None = None
    reasons: list[str] = field(default_factory=list)  # why the stage is not up to date (see status)


@dataclass
class StageOutcome:
    address: str
    outcome: str
    elapsed: float = 0.0
    returncode: int | None = None
    log_path: Path | None = None
    reasons: list[str] = field(default_factory=list)
    lock: LockStage | None = None  # the stage's lock entry after this run (None if failed)


@dataclass
class ReproResult:
    stages: list[StageOutcome] = field(default_factory=list)
    elapsed: float = 0.0
    gitignores: list[str] = field(default_factory=list)  # repo-relative .gitignore files changed
    dotdvc_files: list[str] = field(default_factory=list)  # repo-relative .dvc files re-committed (git add them)

    def by_outcome(self, outcome: str) -> list[StageOutcome]:
        return [s for s in self.stages if s.outcome == outcome]

    @property
    def changed(self) -> bool:
        """Did anything other than skipping happen?"""
        return any(s.outcome not in (SKIPPED, FROZEN) for s in self.stages)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for s in self.stages:
            counts[s.outcome] = counts.get(s.outcome, 0) + 1
        words = {RAN: "ran", SKIPPED: "unchanged", RESTORED: "restored from cache",
                 RUN_CACHE: "restored from run cache", FAILED: "failed", FROZEN: "frozen",
                 BLOCKED: "skipped after a failure",
                 COMMITTED: "data source" + ("s" if counts.get(COMMITTED, 0) != 1 else "") + " committed"}
        parts = [f"{counts[k]} {words[k]}" for k in (COMMITTED, RAN, RESTORED, RUN_CACHE, SKIPPED, FROZEN, FAILED, BLOCKED)
                 if counts.get(k)]
        return f"{len(self.stages)} stage{'s' if len(self.stages) != 1 else ''}: " + ", ".join(parts) \
            + f" in {self.elapsed:.2f}s"


def _noop_sink(_: bytes) -> None:
    pass


def _noop_events(_: StageEvent) -> None:
    pass


def log_name(address: str) -> str:
    """A file name for a stage's log (`sub/dvc.yaml:train@a` → `sub--train@a.log`)."""
    if ":" in address:
        file, name = address.rsplit(":", 1)
        prefix = posixpath.dirname(file).replace("/", "--")
        address = f"{prefix}--{name}" if prefix else name
    return address.replace("/", "--") + ".log"


class _Reproducer:
    def __init__(self, root: Path, ws: Workspace, force: bool, sink: Sink, events: Callable[[StageEvent], None],
                 env: dict[str, str] | None, log_dir: Path, timeout: float | None,
                 cancel: threading.Event | None, run_cache: bool) -> None:
        self.root = root
        self.ws = ws
        self.force = force
        self.sink = sink
        self.events = events
        self.extra_env = env or {}
        self.log_dir = log_dir
        self.timeout = timeout
        self.cancel = cancel
        self.use_run_cache = run_cache
        self._run_cache: RunCache | None = None
        self.gitignores_changed: list[str] = []   # repo-relative .gitignore files this run added entries to
        self.dotdvc_paths: list[str] = []
        self.locks_written: list[str] = []   # stages whose dvc.lock entry this run rewrote
        self.log_note: str | None = None     # where a failure message sends the user, instead of the stage log
        self.echo_commands = True

    @property
    def run_cache(self) -> RunCache:
        if self._run_cache is None:
            from exptui.pipeline.runcache import RunCache

            self._run_cache = RunCache(self.ws.cache.cache_dir)
        return self._run_cache

    # ------------------------------------------------------------ per stage
    def stage(self, stage: StageSpec, forced: bool) -> StageOutcome:
        start = time.monotonic()
        if isinstance(stage, DataSourceStage):
            return self._data_source(stage, start)
        if isinstance(stage.cmd, list) and not stage.cmd:
            return self._empty_command(stage, start, forced)
        status = stage_status(self.ws, stage)
        reasons = [str(c) for c in status.changes]
        lock = self.ws.lock_entry(stage)
        if stage.frozen:
            self._verify_frozen(stage, lock)
            msg = f"Stage '{stage.address}' is frozen, skipping"
            return self._done(stage, FROZEN, msg, start, reasons, lock)
        if not status.changed and not forced:
            msg = f"Stage '{stage.address}' didn't change, skipping"
            return self._done(stage, SKIPPED, msg, start, reasons, lock)
        if not forced and can_run_cache(stage):
            restored = self._restore_from_lock(stage, status, lock)
            if restored is not None:
                msg = f"Stage '{stage.address}' is cached - restoring outputs"
                return self._done(stage, RESTORED, msg, start, reasons, restored)
            if self.use_run_cache:
                restored = self._restore_from_run_cache(stage, status)
                if restored is not None:
                    msg = f"Stage '{stage.address}' is cached (run cache) - restoring outputs"
                    return self._done(stage, RUN_CACHE, msg, start, reasons, restored)
        return self._run(stage, start, reasons)

    def _empty_command(self, stage: StageSpec, start: float, forced: bool) -> StageOutcome:
        """`cmd: []`, as `dvc repro` treats it: a stage with nothing to depend on or produce never changes (skipped,
        no lock entry); any other, or a forced one, has nothing to run and dvc.lock cannot record it, so the run
        fails (DVC fails there too)."""
        address = stage.address
        if not (stage.deps or stage.outs or stage.params or forced):
            return self._done(stage, SKIPPED, f"Stage '{address}' didn't change, skipping", start, [], None)
        msg = (f"failed to reproduce '{address}': its 'cmd' is an empty list, which neither DVC nor exptui can run "
               f"or record in dvc.lock; give the stage a command ({stage.dvcfile})")
        raise _failed(msg, self._done(stage, FAILED, msg, start, [], None))

    def _data_source(self, stage: DataSourceStage, start: float) -> StageOutcome:
        """DVC's "Verifying data sources": data changed in place is committed again, missing data is an error.

        Forcing changes nothing for unchanged data (committing it again would write the same bytes). The
        outcome carries no lock entry: a `.dvc` file is not part of dvc.lock nor of an experiment's hash.
        """
        status = data_source_status(self.ws, stage)
        reasons = [str(c) for c in status.changes]
        address = stage.address
        if not status.changed:
            return self._done(stage, SKIPPED, f"'{address}' didn't change, skipping", start, reasons, None)
        if stage.frozen:
            return self._done(stage, FROZEN, f"'{address}' is frozen, skipping", start, reasons, None)
        deleted = [c for c in status.changes if c.what == "deleted"]
        if deleted:
            raise PipelineError(
                f"failed to reproduce '{address}': missing data source '{deleted[0].path}'; restore it "
                f"(`dvc checkout {address}`) or stop tracking it (`dvc remove {address}`)"
            )
        if stage.has_command:
            raise PipelineError(
                f"'{address}' is an old single-stage file with a command, which exptui does not run: move the "
                "stage into dvc.yaml, or run it with `dvc repro`"
            )
        if stage.is_import:
            raise PipelineError(
                f"'{address}' is an import and its data changed: run `dvc update {address}` to fetch it again"
            )
        from dvc_compat.dotdvc import write_dotdvc
        from exptui.pipeline.datasources import recommit

        committed = recommit(self.ws, stage)
        write_dotdvc(self.root / stage.dvcfile, committed)
        stage.dotdvc = committed
        self.dotdvc_paths.append(stage.dvcfile)
        self._track_gitignore(stage)
        msg = f"Verifying data sources in stage: '{address}' - changed data committed to the cache"
        return self._done(stage, COMMITTED, msg, start, reasons, None)

    def _done(self, stage: StageSpec, outcome: str, message: str, start: float, reasons: list[str],
              lock: LockStage | None, log_path: Path | None = None, returncode: int | None = None) -> StageOutcome:
        elapsed = time.monotonic() - start
        self.events(StageEvent(outcome, stage, message, elapsed, log_path, reasons))
        return StageOutcome(stage.address, outcome, elapsed, returncode, log_path, reasons, lock)

    def _verify_frozen(self, stage: StageSpec, lock: LockStage | None) -> None:
        recorded = {h.path: h for h in lock.outs} if lock else {}
        for out in stage.outs:
            if self.ws.hash(stage, out.path) is not None:
                continue
            old = recorded.get(out.path)
            if old is not None and old.md5 and self.ws.cache.has(old.md5, old.legacy):
                self._checkout(stage, old)
                continue
            raise PipelineError(
                f"stage '{stage.address}' is frozen but its output '{out.path}' is missing and not in the "
                "cache: unfreeze the stage (remove `frozen: true`) or restore the output"
            )

    def _checkout(self, stage: StageSpec, info: HashInfo) -> None:
        assert info.md5
        dest = self.ws.abspath(stage, info.path)
        current = self.ws.state.hash(dest)
        if current is None or not matches(self.ws, stage, info, current):
            self.ws.cache.checkout(dest, info.md5, self.ws.state, isexec=info.isexec, legacy=info.legacy)
        self.ws.state.forget(dest)

    def _restore_from_lock(self, stage: StageSpec, status: StageStatus, lock: LockStage | None) -> LockStage | None:
        """DVC restores outs from the lock when only outs differ and their objects are cached."""
        if lock is None or status.only("cmd", "dep", "param", "lock", "always_changed"):
            return None
        recorded = {h.path: h for h in lock.outs}
        plan: list[HashInfo] = []
        for out in stage.outs:
            info = recorded.get(out.path)
            if info is None or not info.md5:
                return None
            if self.ws.cache.has(info.md5, info.legacy):
                plan.append(info)
                continue
            if out.cache:
                return None
            current = self.ws.hash(stage, out.path)  # cache: false out: must be intact in the workspace
            if current is None or not matches(self.ws, stage, info, current):
                return None
        for info in plan:
            self._checkout(stage, info)
        self._track_gitignore(stage)
        return lock

    def _current_inputs(self, stage: StageSpec) -> LockStage | None:
        """A lock entry without outs for the workspace as it is now (None if a dep is missing)."""
        deps = []
        for dep in sorted(stage.deps):
            current = self.ws.hash(stage, dep)
            if current is None:
                return None
            deps.append(_hash_info(dep, current))
        params, missing = self.ws.current_params(stage)
        if missing:
            return None
        return LockStage(cmd=stage.cmd, deps=deps, params=params)

    def _restore_from_run_cache(self, stage: StageSpec, status: StageStatus) -> LockStage | None:
        inputs = self._current_inputs(stage)
        if inputs is None:
            return None
        out_paths = [o.path for o in stage.outs]
        for entry in self.run_cache.candidates(inputs, out_paths):
            if sorted(h.path for h in entry.outs) != sorted(out_paths):
                continue
            if not all(h.md5 and self.ws.cache.has(h.md5) for h in entry.outs):
                continue
            for info in entry.outs:
                self._checkout(stage, info)
            new_lock = LockStage(cmd=stage.cmd, deps=inputs.deps, params=inputs.params,
                                 outs=sorted(entry.outs, key=lambda h: h.path))
            self._write_lock(stage, new_lock)
            self._track_gitignore(stage)
            return new_lock
        return None

    def _run(self, stage: StageSpec, start: float, reasons: list[str]) -> StageOutcome:
        from exptui.pipeline.cache import remove_path, unprotect
        from exptui.pipeline.proc import run_command_result

        for dep in stage.deps:
            if "://" in dep:
                raise PipelineError(
                    f"stage '{stage.address}': external dependency '{dep}' is not supported by exptui; "
                    "run this stage with `dvc repro`, or import the data with `dvc import-url`"
                )
            if self.ws.hash(stage, dep) is None:
                raise PipelineError(
                    f"stage '{stage.address}': dependency '{repo_path(stage, dep)}' does not exist "
                    "(create it, or add the stage that produces it)"
                )
        for out in stage.outs:
            if out.cache and is_outside_repo(repo_path(stage, out.path)):
                raise PipelineError(
                    f"stage '{stage.address}': output '{out.path}' is outside the repository and DVC 3 cannot cache "
                    "it: add `cache: false` to it in dvc.yaml, or write it inside the repository"
                )
        _, missing = self.ws.current_params(stage)
        if missing:
            m = missing[0]
            what = f"'{m.path}' does not exist" if m.key == "*" else f"'{m.key}' is missing from '{m.path}'"
            raise PipelineError(f"stage '{stage.address}': params file {what}" if m.key == "*"
                                else f"stage '{stage.address}': param {what}")
        for out in stage.outs:
            path = self.ws.abspath(stage, out.path)
            if out.persist:
                unprotect(path)
            else:
                remove_path(path)
            self.ws.state.forget(path)

        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / log_name(stage.address)
        self.events(StageEvent("start", stage, f"Running stage '{stage.address}':", 0.0, log_path, reasons))
        env = dict(os.environ)
        # Output goes through a pipe, not a terminal: without this a Python stage's prints would
        # arrive in 8 KiB blocks instead of live (DVC lets stages write to the terminal directly).
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("DVC_ROOT", str(self.root))
        env.update(self.extra_env)
        # after the caller's env: a queue worker passes its whole environment, PATH included
        _put_own_python_first(env)
        env["DVC_STAGE"] = stage.address
        cwd = self.root / stage.wdir
        commands = [stage.cmd] if isinstance(stage.cmd, str) else list(stage.cmd)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        returncode = 0
        timed_out = cancelled = False
        with open(log_path, "wb") as log:
            written = 0

            def tee(chunk: bytes) -> None:
                nonlocal written
                if written < LOG_CAP:
                    room = LOG_CAP - written
                    log.write(chunk[:room])
                    if len(chunk) > room:
                        log.write(f"\n[exptui: log truncated after {LOG_CAP} bytes]\n".encode())
                    written += len(chunk)
                self.sink(chunk)

            for command in commands:
                line = f"> {command}\n".encode()
                log.write(line)
                if self.echo_commands:
                    self.sink(line)
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                result = run_command_result(command, cwd, env, tee, remaining, self.cancel)
                returncode, timed_out, cancelled = result.returncode, result.timed_out, result.cancelled
                if returncode != 0 or timed_out or cancelled:
                    break
        if returncode != 0 or timed_out or cancelled:
            for out in stage.outs:
                self.ws.state.forget(self.ws.abspath(stage, out.path))
            if timed_out:
                why = f"timed out after {self.timeout:g}s"
            elif cancelled:
                why = "was cancelled"
            elif returncode < 0:
                why = f"was killed by signal {-returncode}"
            else:
                why = f"failed with exit code {returncode}"
            msg = f"stage '{stage.address}' {why} (log: {self.log_note or _display(self.root, log_path)})"
            outcome = self._done(stage, FAILED, msg, start, reasons, None, log_path, returncode)
            raise _failed(msg, outcome)

        new_lock = self._commit(stage)
        return self._done(stage, RAN, f"Stage '{stage.address}' ran", start, reasons, new_lock, log_path, 0)

    def _commit(self, stage: StageSpec) -> LockStage:
        """Hash outs, save them to the cache, write the lock entry and the run-cache entry."""
        from exptui.pipeline.runcache import may_save

        before, _ = self.ws.current_params(stage)
        after, _ = self.ws.current_params(stage, fresh=True)
        # Params changed while the command ran (the stage rewrote its own params file, or an editor did: nothing
        # that takes the workspace lock can): the lock records them as they are now, as DVC does, but the outputs
        # may come from either version, so the run cache must not claim them for one of them.
        params_moved = after != before
        outs: list[HashInfo] = []
        hashed: dict[str, Hashed] = {}
        for out in stage.outs:
            path = self.ws.abspath(stage, out.path)
            self.ws.state.forget(path)
            current = self.ws.state.hash(path)
            if current is None:
                raise _failed(
                    f"stage '{stage.address}': output '{repo_path(stage, out.path)}' was not created by the command"
                )
            hashed[out.path] = current
            outs.append(_hash_info(out.path, current))
            if out.cache:
                try:
                    self.ws.cache.save(path, current)
                    self.ws.cache.link_saved(path, current, self.ws.state)  # cache.type symlink/hardlink, as DVC
                except OSError as exc:  # disk full, quota, read-only cache: say what was being saved, and where
                    if self.locks_written:  # earlier stages of this run did update dvc.lock: say so, truthfully
                        kept = ", ".join(dict.fromkeys(self.locks_written))
                        lock_note = f"dvc.lock has the stages that finished ({kept}); '{stage.address}' is not in it"
                    else:
                        lock_note = "dvc.lock was not changed"
                    raise PipelineError(
                        f"stage '{stage.address}': could not save output '{repo_path(stage, out.path)}' to the "
                        f"cache {self.ws.cache.cache_dir}: {exc.strerror or exc} (free space there and run again; "
                        f"{lock_note})"
                    ) from exc
        inputs = self._current_inputs(stage)
        if inputs is None:
            raise _failed(f"stage '{stage.address}': a dependency disappeared while the stage ran")
        new_lock = LockStage(cmd=stage.cmd, deps=inputs.deps, params=inputs.params,
                             outs=sorted(outs, key=lambda h: h.path))
        self._write_lock(stage, new_lock)
        if self.use_run_cache and may_save(stage) and not params_moved:
            for out in stage.outs:  # DVC commits outs kept in git (cache: false) to the cache for the run cache
                if not out.cache:
                    self.ws.cache.save(self.ws.abspath(stage, out.path), hashed[out.path])
            self.run_cache.save(new_lock)
        self._track_gitignore(stage)
        return new_lock

    def _write_lock(self, stage: StageSpec, lock: LockStage) -> None:
        from dvc_compat.lockfile import write_lock

        self.ws.locks(stage.dvcfile)[stage.name] = lock
        write_lock(self.ws.lock_path(stage.dvcfile), {stage.name: lock})
        self.locks_written.append(stage.address)

    def _track_gitignore(self, stage: StageSpec) -> None:
        """Add the stage's cached outs to their .gitignore files now, as DVC does when it commits a stage: a later
        stage depending on the directory holding them hashes that .gitignore too (so must its lock entry)."""
        paths = [repo_path(stage, o.path) for o in stage.outs if o.cache]
        if not paths:
            return
        for changed in ensure_gitignored(self.root, paths):
            self.gitignores_changed.append(changed)
            self.ws.state.forget(self.root / changed)  # directories above it hash differently now

    def finish(self) -> list[str]:
        return list(dict.fromkeys(self.gitignores_changed))


@contextmanager
def _os_errors_as_one_line() -> Iterator[None]:
    """An OSError outside a stage (lock dir, .gitignore...) becomes one line, not a traceback."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise PipelineError(f"{exc.strerror or exc}{where}") from exc


def _failed(message: str, outcome: StageOutcome | None = None) -> StageFailed:
    exc = StageFailed(message)
    exc.outcome = outcome  # type: ignore[attr-defined]
    return exc


def plan_stages(pipeline: Any, targets: list[str] | None, *, single_item: bool = False,
                downstream: bool = False) -> list[StageSpec]:
    """The stages a repro considers, in run order: all; TARGETS and their upstream; with `single_item` the
    TARGETS alone; with `downstream` the TARGETS and every stage after them (as `dvc repro --downstream`)."""
    if targets and (single_item or downstream):
        wanted = [a for t in targets for a in pipeline.resolve_target(t)]
        chosen = set(wanted)
        if downstream:
            for address in wanted:
                chosen |= _downstream(pipeline, address)
        return list(pipeline.order(chosen))
    return list(pipeline.select(targets))


def _downstream(pipeline: Any, address: str) -> set[str]:
    down = pipeline.downstream
    seen: set[str] = set()
    todo = [address]
    while todo:
        for nxt in down.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _hash_info(path: str, h: Hashed) -> HashInfo:
    return HashInfo(path=path, md5=h.md5, size=h.size, nfiles=h.nfiles, isexec=h.isexec and not h.is_dir)


def _display(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def gitignore_entry(path: str) -> str:
    """The line DVC adds for `path` to the .gitignore of its directory: `/name`, with the characters that are special
    in gitignore patterns (`\\ [ ] ! * # ?`) backslash-escaped, so the line matches that one name only."""
    return "/" + "".join("\\" + c if c in "\\[]!*#?" else c for c in posixpath.basename(path))


def ensure_gitignored(root: Path, paths: list[str]) -> list[str]:
    """Add `/name` lines to the .gitignore next to each cached out, as DVC does.

    Paths git already ignores (by any rule) are left alone. Returns the .gitignore files changed.
    """
    if not (root / ".git").exists():
        return []
    todo: list[str] = []
    for path in dict.fromkeys(paths):
        if is_outside_repo(path):  # DVC ignores only outputs inside the repository
            continue
        gi = root / posixpath.dirname(path) / ".gitignore"
        entry = gitignore_entry(path)
        try:
            lines = gi.read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            lines = []
        if entry not in lines:
            todo.append(path)
    if not todo:
        return []
    try:
        proc = subprocess.run(["git", "check-ignore", "--stdin", "-z"], cwd=root, capture_output=True,
                              input=b"\0".join(p.encode() for p in todo) + b"\0")
        already = set(proc.stdout.decode("utf-8", "replace").split("\0")) if proc.returncode in (0, 1) else set()
    except OSError:
        already = set()
    changed: list[str] = []
    for path in todo:
        if path in already:
            continue
        gi = root / posixpath.dirname(path) / ".gitignore"
        entry = gitignore_entry(path)
        try:
            text = gi.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if entry in text.splitlines():
            continue
        if text and not text.endswith("\n"):
            text += "\n"
        from dvc_compat.fsutil import atomic_write

        rel = gi.relative_to(root).as_posix()
        atomic_write(gi, (text + entry + "\n").encode("utf-8"), display=rel)
        changed.append(rel)
    return list(dict.fromkeys(changed))



def _put_own_python_first(env: dict[str, str]) -> None:
    """Let `python` in a stage command mean the interpreter running exptui, unless a venv is active.

    Running `.venv/bin/exptui` without activating the venv is the common way to start it (the
    README does so); stage commands say `python src/train.py` and would otherwise get the system
    interpreter, without the project's packages. With a virtualenv or conda env activated, its
    `python` is what the user chose for the stages, so PATH is left alone.
    """
    if env.get("VIRTUAL_ENV") or env.get("CONDA_PREFIX"):
        return
    bin_dir = os.path.dirname(sys.executable)
    path = env.get("PATH", "")
    if path.split(os.pathsep)[0] != bin_dir:
        env["PATH"] = bin_dir + (os.pathsep + path if path else "")


def reproduce(
    root: Path,
    targets: list[str] | None = None,
    force: bool = False,
    sink: Sink | None = None,
    events: Callable[[StageEvent], None] | None = None,
    cache_dir: Path | None = None,
    env: dict[str, str] | None = None,
    *,
    force_downstream: bool = False,
    single_item: bool = False,
    run_cache: bool = True,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    log_dir: Path | None = None,
    echo_commands: bool = True,
    log_note: str | None = None,
    downstream: bool = False,
    keep_going: bool = False,
) -> ReproResult:
    """Bring the selected stages (default: all) up to date; see the module docstring.

    `force` re-runs every stage of the plan, upstream of the targets included (as `dvc repro -f`);
    with `single_item` the plan is the targets alone (`dvc repro -s -f train` re-runs only train). `sink` receives every
    stage's output bytes; `events` receives a `StageEvent` per status change. Raises
    `StageFailed` (exit code 2; `.outcome` and `.result` have the details) when a command fails.
    `timeout` is in seconds per stage (SIGTERM to the stage's group, then SIGKILL); `cancel`
    stops the running stage the same way and prevents the next ones from starting.
    `echo_commands` writes `> cmd` lines to the sink (they always go to the stage log). `log_note` replaces the
    stage log's path in failure messages (an isolated run's stage logs vanish with its run dir: the message must
    name the log that stays). `downstream`: the targets and the stages after them, not their upstream.
    `keep_going` (`dvc repro -k`): a failed stage stops only the stages after it; the others still run, then
    `StageFailed` names the failed and the skipped stages.
    """
    from exptui.pipeline.workspace_lock import workspace_lock

    root = Path(root).resolve()
    started = time.monotonic()
    ensure_dvc_repo(root, cache_dir)
    from exptui.pipeline import group_reaper

    env = dict(env or {})
    tag = None
    if group_reaper.RUN_TOKEN_ENV not in env and group_reaper.RUN_TOKEN_ENV not in os.environ:
        # tag this run's stage processes: if we are SIGKILLed, the reaper kills them even when they escaped their
        # process group (a queue run's caller passes its own tag and keeps it guarded itself)
        import secrets

        tag = env[group_reaper.RUN_TOKEN_ENV] = f"ws-{os.getpid()}-{secrets.token_hex(4)}"
        group_reaper.guard_tag(tag)
    try:
        # the lock comes first: dvc.yaml, params and dvc.lock are read under it, never in the middle of another run
        with _os_errors_as_one_line(), workspace_lock(root):
            return _reproduce(root, targets, force, sink, events, cache_dir, env, started,
                              force_downstream=force_downstream, single_item=single_item, run_cache=run_cache,
                              timeout=timeout, cancel=cancel, log_dir=log_dir, echo_commands=echo_commands,
                              log_note=log_note, downstream=downstream, keep_going=keep_going)
    finally:
        if tag is not None:  # a clean end (even a failed stage): what a stage left running is the user's, as in DVC
            group_reaper.release_tag(tag)


def _reproduce(root: Path, targets: list[str] | None, force: bool, sink: Sink | None,
               events: Callable[[StageEvent], None] | None, cache_dir: Path | None, env: dict[str, str] | None,
               started: float, *, force_downstream: bool, single_item: bool, run_cache: bool,
               timeout: float | None, cancel: threading.Event | None, log_dir: Path | None,
               echo_commands: bool, log_note: str | None = None, downstream: bool = False,
               keep_going: bool = False) -> ReproResult:
    from exptui.pipeline.dag import load_pipeline

    pipeline = load_pipeline(root)
    ensure_stages(root, pipeline.stages)
    stages = plan_stages(pipeline, targets, single_item=single_item, downstream=downstream)
    # as `dvc repro -f`: every stage of the plan (upstream included) is forced; `-s -f` for one stage
    forced: set[str] = {s.address for s in stages} if force else set()
    ws = Workspace(root, cache_dir=cache_dir)
    rep = _Reproducer(root, ws, force, sink or _noop_sink, events or _noop_events, env,
                      log_dir or tmp_dir(root) / "exptui" / "logs", timeout, cancel, run_cache)
    rep.echo_commands = echo_commands
    rep.log_note = log_note
    result = ReproResult()
    try:
        with _os_errors_as_one_line():
            failures: list[tuple[str, str]] = []   # (address, why) of stages that failed under keep_going
            blocked: set[str] = set()               # stages after a failed one: not run under keep_going
            for stage in stages:
                if stage.address in blocked:
                    result.stages.append(StageOutcome(stage.address, BLOCKED))
                    rep.events(StageEvent(BLOCKED, stage, f"Stage '{stage.address}' skipped: an upstream stage "
                                                         "failed"))
                    continue
                try:
                    if cancel is not None and cancel.is_set():
                        raise _failed(f"cancelled before stage '{stage.address}'")
                    outcome = rep.stage(stage, stage.address in forced)
                except PipelineError as exc:
                    failed = getattr(exc, "outcome", None)
                    cancelled = cancel is not None and cancel.is_set()
                    if keep_going and not cancelled:
                        result.stages.append(failed or StageOutcome(stage.address, FAILED))
                        if failed is None:  # refused before it ran (a missing dep...): no event said it yet
                            rep.events(StageEvent(FAILED, stage, str(exc)))
                        failures.append((stage.address, str(exc)))
                        blocked |= _downstream(pipeline, stage.address)
                        continue
                    if not isinstance(exc, StageFailed):
                        raise
                    if failed is not None:
                        result.stages.append(failed)
                    result.elapsed = time.monotonic() - started
                    exc.result = result  # type: ignore[attr-defined]
                    raise
                except OSError as exc:  # disk full, permissions...: one line naming the stage and the file
                    what = exc.strerror or str(exc)
                    where = f" ({exc.filename})" if exc.filename else ""
                    raise PipelineError(f"stage '{stage.address}': {what}{where}") from exc
                result.stages.append(outcome)
                if force_downstream and outcome.outcome not in (SKIPPED, FROZEN):
                    forced.update(_downstream(pipeline, stage.address))
            if failures:
                result.elapsed = time.monotonic() - started
                skipped = [s.address for s in result.stages if s.outcome == BLOCKED]
                msg = "failed to reproduce " + ", ".join(f"'{a}'" for a, _ in failures)
                if skipped:
                    msg += "; skipped after the failure: " + ", ".join(f"'{a}'" for a in skipped)
                msg += " (" + "; ".join(why for _, why in failures) + ")"
                failure = _failed(msg)
                failure.result = result  # type: ignore[attr-defined]
                raise failure
    finally:
        try:
            result.dotdvc_files = list(dict.fromkeys(rep.dotdvc_paths))
            with _os_errors_as_one_line():
                result.gitignores = rep.finish()
        finally:
            ws.close()
    result.elapsed = time.monotonic() - started
    return result
