"""Which stages changed and why, computed without running anything (DVC's rules, dvc-internals §4.2).

A pipeline stage is changed when its `cmd` differs from the lock, when a dependency or a tracked
param differs (not checked for `frozen` stages), when it is `always_changed` (or a callback stage:
a cmd with no deps and no outs; frozen or not), or when an output is missing, modified or — for cached outputs —
no longer in the cache. Removing a dep from dvc.yaml does not count, as in DVC.

Reasons use `dvc status`'s words, order and paths (tests/interop/test_status_parity.py compares them with the real
`dvc status --json`); `StageStatus.to_dvc` gives DVC's JSON shape.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvc_compat.model import HashInfo, LockStage, StageSpec
from exptui.errors import PipelineError
from exptui.pipeline.dag import is_outside_repo, repo_path
from exptui.pipeline.state import Hashed, StateDB

if TYPE_CHECKING:
    from exptui.pipeline.cache import ContentCache
    from exptui.pipeline.dag import Pipeline

_MISSING: Any = object()


@dataclass(frozen=True)
class Change:
    """One reason a stage is changed."""

    kind: str                 # cmd | dep | param | out | lock | always_changed
    what: str                 # DVC's words: modified | deleted | new | not in cache | changed | always changed
    path: str | None = None   # dep/out path or params file, repo-relative and normalised as `dvc status` prints it
    key: str | None = None    # param key
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.kind == "cmd":
            return "changed command"
        if self.kind == "lock":
            return "no lock entry (never run)"
        if self.kind == "always_changed":
            return self.what
        if self.kind == "param" and self.key == "*":
            return f"params file {self.path}: {self.what}"
        if self.kind == "param":
            where = f"{self.key}" if self.path in (None, "params.yaml") else f"{self.path}:{self.key}"
            if self.what == "modified":
                return f"param {where}: {_short(self.old)} -> {_short(self.new)}"
            return f"param {where}: {self.what}"
        return f"{self.kind} {self.path}: {self.what}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "what": self.what}
        for name in ("path", "key"):
            if getattr(self, name) is not None:
                d[name] = getattr(self, name)
        if self.kind == "param" and self.what == "modified":
            d["old"], d["new"] = self.old, self.new
        return d


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class StageStatus:
    stage: StageSpec
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def address(self) -> str:
        return self.stage.address

    def only(self, *kinds: str) -> list[Change]:
        return [c for c in self.changes if c.kind in kinds]

    def to_dvc(self) -> list[str | dict[str, Any]]:
        """This stage's entry as `dvc status --json` writes it: `{"changed deps": {path: word, params file:
        {key: word}}}`, `{"changed outs": {...}}`, `"always changed"`, `"changed command"`, in that order."""
        deps: dict[str, Any] = {}
        outs: dict[str, str] = {}
        for c in self.changes:
            if c.kind == "dep" or (c.kind == "param" and c.key == "*"):
                deps[c.path or ""] = c.what
            elif c.kind == "param":
                deps.setdefault(c.path or "", {})[c.key] = c.what
            elif c.kind == "out":
                outs[c.path or ""] = c.what
        entry: list[str | dict[str, Any]] = []
        if deps:
            entry.append({"changed deps": deps})
        if outs:
            entry.append({"changed outs": outs})
        entry += ["always changed" for c in self.changes if c.kind == "always_changed"]
        entry += ["changed command" for c in self.changes if c.kind == "cmd"]
        return entry


class Workspace:
    """One command's view of a repo: hashes (stat cache), params, locks and the content cache.

    Everything is read at most once per command.
    """

    def __init__(self, root: Path, state: StateDB | None = None, cache_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.state = state or StateDB(self.root)
        self._cache_dir = cache_dir
        self._cache: ContentCache | None = None
        self._params: dict[str, Any] = {}
        self._locks: dict[str, dict[str, LockStage]] = {}

    @property
    def cache(self) -> ContentCache:  # created (and its config read) on first use
        if self._cache is None:
            from exptui.pipeline.cache import ContentCache

            self._cache = ContentCache.for_repo(self.root, self._cache_dir)
        return self._cache

    # ------------------------------------------------------------ locks
    def lock_path(self, dvcfile: str) -> Path:
        from dvc_compat.lockfile import lockfile_path

        return self.root / lockfile_path(dvcfile)

    def locks(self, dvcfile: str) -> dict[str, LockStage]:
        if dvcfile not in self._locks:
            from dvc_compat.lockfile import read_lock

            path = self.lock_path(dvcfile)
            from dvc_compat.lockfile import lockfile_path

            # errors name the lock as the user sees it ("dvc.lock:4: ..."), not by its absolute path
            self._locks[dvcfile] = read_lock(path, lockfile_path(dvcfile)) if path.exists() else {}
        return self._locks[dvcfile]

    def lock_entry(self, stage: StageSpec) -> LockStage | None:
        return self.locks(stage.dvcfile).get(stage.name)

    # ------------------------------------------------------------ paths
    def abspath(self, stage: StageSpec, path: str) -> Path:
        return self.root / repo_path(stage, path)

    def hash(self, stage: StageSpec, path: str) -> Hashed | None:
        return self.state.hash(self.abspath(stage, path))

    def shown(self, stage: StageSpec, path: str) -> str:
        """`path` of `stage` as `dvc status` (run at the repo root) prints it: repo-relative and normalised
        (`${dir}/model` with `dir: out/` is written `out//model`, printed `out/model`; a wdir stage's `x.txt` is
        `sub/work/x.txt`); an absolute path as written; a path leading out of the repo as its absolute path."""
        if posixpath.isabs(path):
            return path
        rel = repo_path(stage, path)
        return posixpath.normpath(posixpath.join(self.root.as_posix(), rel)) if is_outside_repo(rel) else rel

    # ------------------------------------------------------------ params
    def params_file(self, stage: StageSpec, file: str) -> Any:
        """Parsed params file (dict), or _MISSING when it does not exist."""
        rel = repo_path(stage, file)
        if rel not in self._params:
            from dvc_compat.params import load_params

            try:
                self._params[rel] = load_params(self.root / rel, display=rel)
            except FileNotFoundError:
                self._params[rel] = _MISSING
        return self._params[rel]

    def current_params(self, stage: StageSpec, fresh: bool = False) -> tuple[dict[str, dict[str, Any]], list[Change]]:
        """The params a lock entry would record now, plus what is missing.

        Files in lock order (params.yaml first, then sorted); keys sorted; a whole-file entry
        (keys=None) wins over key lists for the same file, as in DVC. `fresh` reads the stage's params files
        again instead of using this command's first reading (after a stage ran: did they change meanwhile?).
        """
        from dvc_compat.params import get_dotted

        if fresh:
            for spec in stage.params:
                self._params.pop(repo_path(stage, spec.file), None)

        wanted: dict[str, set[str] | None] = {}
        for spec in stage.params:
            if spec.keys is None or wanted.get(spec.file, set()) is None:
                wanted[spec.file] = None
            else:
                wanted.setdefault(spec.file, set()).update(spec.keys)  # type: ignore[union-attr]
        result: dict[str, dict[str, Any]] = {}
        missing: list[Change] = []
        for file in sorted(wanted, key=lambda f: (f != "params.yaml", f)):
            data = self.params_file(stage, file)
            keys = wanted[file]
            if data is _MISSING:
                missing.append(Change("param", "deleted", path=self.shown(stage, file), key="*"))
                continue
            if keys is None:
                result[file] = {k: data[k] for k in sorted(data)}
                continue
            values: dict[str, Any] = {}
            for key in sorted(keys):
                value = get_dotted(data, key, default=_MISSING)
                if value is _MISSING:
                    missing.append(Change("param", "deleted", path=self.shown(stage, file), key=key))
                else:
                    values[key] = value
            result[file] = values
        return result, missing

    def close(self) -> None:
        self.state.close()


# ---------------------------------------------------------------- rules

def has_deps(stage: StageSpec) -> bool:
    return bool(stage.deps or stage.params)


def is_callback(stage: StageSpec) -> bool:
    """A cmd with no deps and no outs: DVC treats it as always changed. Not `cmd: []` (DVC's `is_callback` needs
    a command): that stage does nothing, so it is never changed."""
    return bool(stage.cmd) and not has_deps(stage) and not stage.outs


def is_noop(stage: StageSpec) -> bool:
    """`cmd: []` with no deps, params or outs: valid for DVC, never run by `dvc repro`, never in `dvc status`."""
    return not stage.cmd and not has_deps(stage) and not stage.outs


def can_run_cache(stage: StageSpec) -> bool:
    """DVC's `_can_hash`: eligible for the run cache and for restoring outs from the lock."""
    if is_callback(stage) or stage.always_changed:
        return False
    if not (stage.cmd and has_deps(stage) and stage.outs):
        return False
    if any("://" in d for d in stage.deps):
        return False
    return not any(o.persist or "://" in o.path for o in stage.outs)


def _lock_by_path(entries: list[HashInfo]) -> dict[str, HashInfo]:
    return {e.path: e for e in entries}


def matches(ws: Workspace, stage: StageSpec, old: HashInfo, current: Hashed) -> bool:
    """Does the workspace hash equal the recorded one? DVC 2 entries (no `hash: md5`) hold an
    md5-dos2unix digest, which differs from the raw md5 only for text files with CRLF (for a directory: when one of
    its files is such a file). Legacy digests are not kept in the stat cache: they are computed only when the raw
    one differs."""
    if old.md5 == current.md5:
        return True
    if not (old.legacy and old.md5) or old.is_dir != current.is_dir:
        return False
    path = ws.abspath(stage, old.path)
    if current.is_dir:  # the same files as the DVC 3 hash (.dvcignore applied), each hashed md5-dos2unix
        from dvc_compat.hashing import legacy_dir_md5

        return legacy_dir_md5((rel, file_path) for rel, file_path, _ in ws.state.walk_files(path)) == old.md5
    from dvc_compat.hashing import legacy_md5_dos2unix

    return legacy_md5_dos2unix(path) == old.md5


def dep_changes(ws: Workspace, stage: StageSpec, lock: LockStage | None) -> list[Change]:
    """DVC's words for deps: `deleted` (gone), `modified` (differs from the lock, or the lock has no hash for it:
    a dep added since the last run or a stage never run)."""
    recorded = _lock_by_path(lock.deps) if lock else {}
    changes = []
    for dep in stage.deps:
        if "://" in dep:
            continue
        current = ws.hash(stage, dep)
        old = recorded.get(dep)
        if current is None:
            changes.append(Change("dep", "deleted", path=ws.shown(stage, dep)))
        elif old is None or not old.md5 or not matches(ws, stage, old, current):
            changes.append(Change("dep", "modified", path=ws.shown(stage, dep)))
    return changes


def param_changes(ws: Workspace, stage: StageSpec, lock: LockStage | None) -> list[Change]:
    """Per key `new`/`modified`/`deleted`; a params file the lock has no entry for is `new` as a whole, a missing
    params file `deleted` as a whole (DVC's ParamsDependency status)."""
    current, missing = ws.current_params(stage)
    recorded = lock.params if lock else {}
    changes = list(missing)
    for file, values in current.items():
        shown = ws.shown(stage, file)
        if file not in recorded:
            changes.append(Change("param", "new", path=shown, key="*"))
            continue
        old_values = recorded[file]
        for key, value in values.items():
            old = old_values.get(key, _MISSING)
            if old is _MISSING:
                changes.append(Change("param", "new", path=shown, key=key, new=value))
            elif old != value:
                changes.append(Change("param", "modified", path=shown, key=key, old=old, new=value))
        whole = any(spec.keys is None for spec in stage.params if spec.file == file)
        if whole:
            for key in old_values:
                if key not in values:
                    changes.append(Change("param", "deleted", path=shown, key=key))
    return changes


def out_changes(ws: Workspace, stage: StageSpec, lock: LockStage | None) -> list[Change]:
    """DVC's words for outs: `not in cache` (a cached out whose recorded object is gone), `deleted`, `modified`
    (differs from the lock, or the lock has no hash for it)."""
    recorded = _lock_by_path(lock.outs) if lock else {}
    changes = []
    for out in stage.outs:
        old = recorded.get(out.path)
        shown = ws.shown(stage, out.path)
        if out.cache and old is not None and old.md5 and not ws.cache.has(old.md5, old.legacy):
            changes.append(Change("out", "not in cache", path=shown))
            continue
        current = ws.hash(stage, out.path)
        if current is None:
            changes.append(Change("out", "deleted", path=shown))
        elif old is None or not old.md5 or not matches(ws, stage, old, current):
            changes.append(Change("out", "modified", path=shown))
    return changes


def data_source_status(ws: Workspace, stage: StageSpec) -> StageStatus:
    """A `.dvc` file's data against its recorded hashes: `not in cache`, `deleted`, `modified` (DVC's order).

    Paths are repo-relative, as `dvc status` prints them (`data/raw.csv`, not `raw.csv`).
    """
    from exptui.pipeline.datasources import DataSourceStage

    assert isinstance(stage, DataSourceStage)
    return StageStatus(stage, out_changes(ws, stage, LockStage(cmd="", outs=stage.recorded())))


def stage_status(ws: Workspace, stage: StageSpec) -> StageStatus:
    """Why `stage` would run now (empty `changes` = up to date), in `dvc status`'s order: deps and params (not for
    a frozen stage), outs, `always changed` (`always_changed: true` or a callback stage, frozen or not), `changed
    command`. A stage never run gets exptui's `no lock entry` first, then what DVC says of it (its deps modified,
    its params files new, its outs deleted or modified)."""
    if not stage.cmd and stage.dvcfile.endswith(".dvc"):  # a data source (exptui.pipeline.datasources)
        return data_source_status(ws, stage)
    lock = ws.lock_entry(stage)
    status = StageStatus(stage)
    if lock is None and not is_noop(stage):
        status.changes.append(Change("lock", "missing"))
    if not stage.frozen:
        status.changes += dep_changes(ws, stage, lock)
        status.changes += param_changes(ws, stage, lock)
    status.changes += out_changes(ws, stage, lock)
    if stage.always_changed or is_callback(stage):
        status.changes.append(Change("always_changed", "always changed"))
    if lock is not None and lock.cmd != stage.cmd:
        status.changes.append(Change("cmd", "changed"))
    return status


def status_stages(pipeline: Pipeline, targets: list[str] | None, with_deps: bool = False) -> list[StageSpec]:
    """The stages `status` reports on, in run order: all without targets; else the targets alone, as `dvc status
    TARGET` (upstream stages too with `with_deps`, as `dvc status --with-deps`)."""
    if not targets or with_deps:
        return pipeline.select(targets)
    return pipeline.order(a for t in targets for a in pipeline.resolve_target(t))


def pipeline_status(root: Path, targets: list[str] | None = None,
                    cache_dir: Path | None = None, with_deps: bool = False) -> list[StageStatus]:
    """Status of every selected stage (see `status_stages`), in run order."""
    from exptui.pipeline.dag import load_pipeline

    ensure_dvc_repo(root, cache_dir)
    pipeline = load_pipeline(root)
    ws = Workspace(root, cache_dir=cache_dir)
    try:
        return [stage_status(ws, stage) for stage in status_stages(pipeline, targets, with_deps)]
    finally:
        ws.close()


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` that has a `.dvc` folder."""
    start = Path(start).resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".dvc").is_dir():
            return candidate
    if not start.exists():
        raise PipelineError(f"'{start}' does not exist")
    raise PipelineError(
        f"'{start}' is not a DVC repository (no .dvc directory here or above): run 'exptui init' (or 'dvc init') first"
    )


def ensure_dvc_repo(root: Path, cache_dir: Path | None = None) -> None:
    """Refuse to work (and to create `.dvc/tmp/...`) outside a DVC repository.

    A plain git repo is accepted when the caller names the cache (queued runs of pipelines
    without `dvc init` keep their cache and scratch state under the git dir).
    """
    root = Path(root)
    if (root / ".dvc").is_dir():
        return
    if cache_dir is not None and (root / ".git").exists():
        return
    raise PipelineError(f"'{root}' is not a DVC repository (no .dvc directory): run 'exptui init' (or 'dvc init') first")


def ensure_stages(root: Path, stages: list[StageSpec]) -> None:
    if not stages:
        raise PipelineError("dvc.yaml: no stages (the file is missing or empty); define stages in dvc.yaml")
