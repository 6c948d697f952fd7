"""What travels between the client and a Dask worker that cannot see the repository: plain data, both ways.

Why data and not paths: a worker on another machine (a GPU box, a Kubernetes pod) has neither the checkout nor
its DVC cache. The client packs everything one experiment needs into a `TaskPayload` (the snapshot's tree as a
``git archive`` tar, the DVC cache objects of the data the pipeline reads but does not make) and the worker
answers with a `TaskResult` (the files the run changed, the cache objects of its outs, run facts, the log's
tail). The client alone writes refs and its cache, so the worker never needs git write access.

Cache objects are keyed by their path inside the cache (``files/md5/ab/cdef...``, or DVC 2's ``ab/cdef...``),
so both cache layouts travel unchanged; objects named by their md5 are verified on arrival. Past
`payload_limit` bytes (256 MiB by default, ``EXPTUI_DASK_PAYLOAD_LIMIT=1G`` or ``--payload-limit``) a
payload or result is refused with one line naming the data: big data belongs in a DVC remote.
"""
from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exptui.errors import ExptuiError
from exptui.store.signals import run_process

#: default cap on the cache objects one task carries each way
DEFAULT_PAYLOAD_LIMIT = 256 << 20
PAYLOAD_LIMIT_ENV = "EXPTUI_DASK_PAYLOAD_LIMIT"


class PayloadTooLarge(ExptuiError):
    """The data of one experiment is over the limit for sending it with the task."""


@dataclass
class TaskPayload:
    """One claimed queue entry, as a Dask task gets it."""

    entry_id: str
    name: str
    run_token: str                      # tags the stage processes on the worker (kill by tag)
    archive: bytes                      # `git archive` tar of the snapshot commit (params already applied)
    objects: dict[str, bytes] = field(default_factory=dict)   # cache-relative path -> object bytes
    command: str = ""                   # run-fact command (carries the entry id, see worker.queue_command)
    created: float | None = None        # when the entry was queued
    packages_digest: str = ""           # the client's packages digest: the worker warns when its own differs
    timeout: float | None = None        # per stage, seconds
    client_var: str = ""                # name of the Dask Variable holding the client's heartbeat and cancels
    log_topic: str = ""                 # Dask event topic the log streams to
    remote: dict[str, Any] | None = None    # a DVC remote to pull deps from / push outs to (see remote_dvc)
    remote_hashes: list[str] = field(default_factory=list)   # cache paths to pull from that remote
    limit: int = DEFAULT_PAYLOAD_LIMIT

    def size(self) -> int:
        """Bytes of data carried (archive + objects), what the limit and the tests look at."""
        return len(self.archive) + sum(len(v) for v in self.objects.values())


@dataclass
class TaskResult:
    """How a remote run ended, with everything the client needs to record it as a local run would."""

    entry_id: str
    run_id: str                         # one per execution of the task (Dask may run a task again)
    status: str                         # success | failed | cancelled
    reason: str | None = None
    files: bytes = b""                  # tar of the files the run added or changed (dvc.lock, metrics, plots...)
    deleted: list[str] = field(default_factory=list)
    objects: dict[str, bytes] = field(default_factory=dict)   # new cache objects (outs, run cache)
    stages_lock: dict[str, Any] = field(default_factory=dict)
    stage_times: dict[str, float] = field(default_factory=dict)
    stage_outcomes: dict[str, str] = field(default_factory=dict)
    facts: Any = None                   # RunFacts of the run, on the worker (host, python, packages)
    log_total: int = 0                  # bytes of log the task produced
    log_tail: bytes = b""               # its last bytes (for what the stream did not deliver)
    warnings: list[str] = field(default_factory=list)


def payload_limit(value: int | None = None) -> int:
    """`value`, else ``EXPTUI_DASK_PAYLOAD_LIMIT`` (bytes, or a number with K, M or G), else 256 MiB."""
    if value is not None:
        return value
    raw = os.environ.get(PAYLOAD_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_PAYLOAD_LIMIT
    return parse_size(raw, PAYLOAD_LIMIT_ENV)


def parse_size(raw: str, what: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)i?b?", raw.strip(), re.IGNORECASE)
    if not m:
        raise ExptuiError(f"{what}={raw!r} is not a size: use bytes or a number with K, M or G (e.g. 1G)")
    return int(float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2).lower()])


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


# -- the tree ----------------------------------------------------------------------------------------------

def archive_commit(git_dir: Path, rev: str) -> bytes:
    """The commit's tree as an uncompressed tar (`git archive`): modes and symlinks kept, no .git."""
    proc = run_process(["git", "--git-dir", str(git_dir), "archive", "--format=tar", rev])
    if proc.returncode != 0:
        raise ExptuiError(f"git archive {rev[:12]} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout


def unpack(data: bytes, dest: Path) -> None:
    """Extract a tar made by `archive_commit` or `pack_files`; members leaving `dest` are refused."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="tar")
            return
        for member in tar.getmembers():  # Python without extraction filters: check by hand
            target = posixpath.normpath(member.name)
            if target.startswith(("/", "../")) or target == ".." or member.islnk():
                raise ExptuiError(f"refusing to extract {member.name!r} outside the run directory")
        tar.extractall(dest)  # noqa: S202 - members checked above


def pack_files(root: Path, paths: list[str]) -> bytes:
    """A tar of these repo-relative files (symlinks as links, modes kept)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:") as tar:
        for rel in paths:
            tar.add(str(root / rel), arcname=rel, recursive=False)
    return buf.getvalue()


def apply_files(run_dir: Path, files: bytes, deleted: list[str]) -> None:
    """Put a result's changed files into `run_dir` (the snapshot's checkout) and drop its deleted ones."""
    for rel in deleted:
        target = (run_dir / rel)
        if posixpath.normpath(rel).startswith("../") or rel.startswith("/"):
            continue
        try:
            target.unlink()
        except FileNotFoundError:
            pass
    if files:
        unpack(files, run_dir)


# -- cache objects -----------------------------------------------------------------------------------------

def object_paths(cache_dir: Path, md5: str, legacy: bool = False) -> list[str]:
    """Cache-relative paths of everything `md5` needs (a directory: its manifest and every file)."""
    from dvc_compat.hashing import parse_dir_manifest
    from exptui.pipeline.cache import object_path

    first = object_path(cache_dir, md5, legacy)
    out = [first.relative_to(cache_dir).as_posix()]
    if md5.endswith(".dir"):
        try:
            entries = parse_dir_manifest(first.read_bytes())
        except (OSError, ValueError, KeyError, TypeError):
            return out  # missing: the worker's stage reports it as a local run would
        out += [object_path(cache_dir, m, legacy).relative_to(cache_dir).as_posix() for _, m in entries]
    return out


def read_objects(cache_dir: Path, wanted: dict[str, list[str]], limit: int, fix: str,
                 optional: dict[str, list[str]] | None = None) -> dict[str, bytes]:
    """{cache path: bytes} of `wanted` ({data path: cache paths}); over `limit` -> PayloadTooLarge naming the
    biggest data. Objects absent from the cache are left out (the stage needing them says so).

    `optional` data (the outs dvc.lock records, which let the worker restore unchanged stages instead of
    running them again) is added, whole data paths at a time, only while the total stays under `limit`."""
    sizes: dict[str, int] = {}
    total = 0
    seen: set[str] = set()
    for label, rels in wanted.items():
        for rel in rels:
            if rel in seen:
                continue
            seen.add(rel)
            try:
                size = (cache_dir / rel).stat().st_size
            except OSError:
                continue
            sizes[label] = sizes.get(label, 0) + size
            total += size
    if total > limit:
        biggest = max(sizes, key=lambda k: sizes[k])
        raise PayloadTooLarge(f"{biggest}: {mib(sizes[biggest])} of data ({mib(total)} in all) is over the "
                              f"{mib(limit)} limit for sending it with a Dask task; {fix}")
    for rels in (optional or {}).values():
        todo = [r for r in dict.fromkeys(rels) if r not in seen]
        try:
            extra = sum((cache_dir / r).stat().st_size for r in todo)
        except OSError:
            continue   # not all in the cache: the stage runs on the worker
        if total + extra <= limit:
            seen.update(todo)
            total += extra
    out: dict[str, bytes] = {}
    for rel in seen:
        try:
            out[rel] = (cache_dir / rel).read_bytes()
        except OSError:
            continue
    return out


def write_objects(cache_dir: Path, objects: dict[str, bytes], durable: bool = True) -> None:
    """Store received objects: verified (named by md5), written to a temp name, renamed, read-only. `durable`:
    fsynced before the rename (the repo's cache); a task's scratch cache skips it."""
    from exptui.pipeline.cache import write_object_file

    for rel, data in objects.items():
        norm = posixpath.normpath(rel)
        if norm.startswith(("/", "../")) or norm == "..":
            raise ExptuiError(f"refusing cache object outside the cache: {rel!r}")
        dest = cache_dir / norm
        if dest.exists():
            continue
        parts = norm.split("/")
        if len(parts) >= 2 and parts[0] != "runs":
            expected = (parts[-2] + parts[-1]).removesuffix(".dir")
            if re.fullmatch(r"[0-9a-f]{32}", expected) and hashlib.md5(data).hexdigest() != expected:
                raise ExptuiError(f"cache object {rel} arrived corrupt (md5 mismatch)")
        write_object_file(dest, data=data, durable=durable)


def list_objects(cache_dir: Path) -> set[str]:
    """Cache-relative paths of every object in `cache_dir` (temp files left out)."""
    found: set[str] = set()
    if not cache_dir.is_dir():
        return found
    for dirpath, _dirs, files in os.walk(cache_dir):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                continue
            found.add((Path(dirpath) / name).relative_to(cache_dir).as_posix())
    return found


# -- what a pipeline reads but does not make ---------------------------------------------------------------

def recorded_outs(run_dir: Path, cache_dir: Path) -> dict[str, list[str]]:
    """{out path: cache paths} of every cached out the snapshot's dvc.lock files record."""
    from dvc_compat.lockfile import read_lock

    found: dict[str, list[str]] = {}
    proc = run_process(["git", "-C", str(run_dir), "ls-files", "-z", "--", "dvc.lock", "*/dvc.lock"])
    for rel in filter(None, proc.stdout.decode("utf-8", "surrogateescape").split("\0")):
        try:
            lock = read_lock(run_dir / rel, rel)
        except Exception:  # noqa: BLE001 - a broken lock: the stages just run
            continue
        for name, stage in lock.items():
            for out in stage.outs:
                if out.md5:
                    found[f"{rel}:{name}:{out.path}"] = object_paths(cache_dir, out.md5, out.legacy)
    return found


def input_data(run_dir: Path, cache_dir: Path) -> dict[str, list[str]]:
    """{data path: cache paths} of the data the stages read that no stage makes: `dvc add`-ed data (``.dvc``
    files) and deps recorded in dvc.lock that are neither in git nor under a stage's out.

    `run_dir` is a checkout of the snapshot (the client's scratch clone): git-tracked deps travel in the tree.
    """
    from dvc_compat.dotdvc import read_dotdvc
    from dvc_compat.errors import FormatError
    from dvc_compat.lockfile import read_lock
    from exptui.pipeline.dag import load_pipeline, repo_path
    from exptui.pipeline.datasources import DataSourceStage

    wanted: dict[str, list[str]] = {}
    tracked = set(run_process(["git", "-C", str(run_dir), "ls-files", "-z"])
                  .stdout.decode("utf-8", "surrogateescape").split("\0"))
    for rel in [t for t in tracked if t.endswith(".dvc")]:
        try:
            spec = read_dotdvc(run_dir / rel, rel)
        except (OSError, FormatError):
            continue
        base = posixpath.dirname(rel)
        for out in spec.outs:
            if out.md5:
                path = posixpath.normpath(posixpath.join(base, str(spec.extra.get("wdir") or "."), out.path))
                wanted[path] = object_paths(cache_dir, out.md5, out.legacy)
    try:
        pipeline = load_pipeline(run_dir)
    except Exception:  # noqa: BLE001 - a broken dvc.yaml fails on the worker with the engine's own message
        return wanted
    made: set[str] = set()
    for stage in pipeline.stages:
        if not isinstance(stage, DataSourceStage):
            made.update(repo_path(stage, o.path) for o in stage.outs)

    def produced(path: str) -> bool:
        return any(path == m or path.startswith(m + "/") or m.startswith(path + "/") for m in made)

    locks: dict[str, Any] = {}
    for stage in pipeline.stages:
        if isinstance(stage, DataSourceStage):
            continue
        lock_file = posixpath.join(posixpath.dirname(stage.dvcfile), "dvc.lock")
        if lock_file not in locks:
            try:
                locks[lock_file] = read_lock(run_dir / lock_file, lock_file)
            except Exception:  # noqa: BLE001 - no lock yet (or broken): nothing known to send
                locks[lock_file] = {}
        entry = locks[lock_file].get(stage.name)
        recorded = {posixpath.normpath(d.path): d for d in entry.deps} if entry is not None else {}
        for dep in stage.deps:
            path = repo_path(stage, dep)
            if path in wanted or produced(path) or (run_dir / path).exists():
                continue
            info = recorded.get(posixpath.normpath(dep))
            if info is not None and info.md5:
                wanted[path] = object_paths(cache_dir, info.md5, info.legacy)
    return wanted
