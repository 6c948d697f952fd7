"""The durable experiment queue, kept entirely in git objects and refs.

Why git and not a broker or a JSON file: refs give us exactly the primitive a queue needs, a create-only
update that has one winner among any number of racing processes (measured 100/100, docs/reliability.md), plus
all-or-nothing multi-ref transactions, and git objects make every entry immutable and gc-safe.

Layout (all under ``refs/exptui/``, never under ``refs/exps/``: DVC parses everything there):

- ``queue/<id>``    -> the entry: a commit of the workspace with the params applied, parent = baseline;
                       message ``exptui queue <id> <name>`` + a JSON line (name, baseline, overrides, created).
- ``claims/<id>``   -> a claim commit (empty tree): which worker process owns the entry and which attempt.
                       Created create-only, so exactly one worker runs an entry.
- ``done/<id>``     -> the terminal state: status success|failed|cancelled|crashed, reason, experiment ref,
                       log path. Created create-only: a worker finishing and ``recover()`` declaring it crashed
                       cannot both win.
- ``attempts/<id>`` -> the last retired terminal record when an entry was retried (its chain of parents is the
                       history of earlier attempts; their logs stay on disk).
- ``reserved/<baseline>/<name>`` -> the entry holding a user-given name (``run --queue -n NAME``), created in the
                       same transaction as the entry with an old-value check, so of several processes queueing
                       one name at once exactly one wins. A reservation is released with its entry (`remove`), and
                       one whose entry succeeded or is gone may be taken over (compare-and-swap). The entry's
                       ref comes first in the transaction, before its reservation.

State of an entry: ``done`` present -> that status; else ``claims`` present -> running; else queued.
Ids are ``<unix-ms>-<hex>``: they sort by creation time, which is the queue order.

One ``git for-each-ref`` (with each ref's message) reads the whole queue, so ``exptui queue status`` costs one
git call plus a directory listing.
"""
from __future__ import annotations

import json
import operator
import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exptui.errors import ExptuiError
from exptui.store.claims import (
    CLAIM_GRACE, ProcessIdentity, RunInfo, RunState, owner_dead,
)
from exptui.store.entry_state import TERMINAL_STATES, EntryState, check_transition
from exptui.store.git import ZERO_OID, Git, RefConflict, RefLocked, RefUpdate
from exptui.store.queue_meta import MetaCache

if TYPE_CHECKING:  # `rows` imports them: reading the queue (`queue status`) never needs the records module
    from exptui.records import ExperimentRow

NS = "refs/exptui/"
QUEUE_NS = NS + "queue/"
CLAIMS_NS = NS + "claims/"
DONE_NS = NS + "done/"
ATTEMPTS_NS = NS + "attempts/"
RESERVED_NS = NS + "reserved/"

#: the terminal states in display order (see exptui.store.entry_state for which state may follow which)
TERMINAL: tuple[EntryState, ...] = tuple(s for s in EntryState if s in TERMINAL_STATES)
#: `create` packs the refs when it wrote at least this many (a big `run --queue`), as `git gc` would
PACK_REFS_AFTER = 1000
#: a ref lock is held for milliseconds by a live `git update-ref`; one this old was left by a killed process
STALE_REF_LOCK = 5.0
_IDENT = "exptui <exptui@localhost>"

#: body keys of a queue entry that most entries do not have (`QueueStore.entries` reads them only when present)
_OPTIONAL_META = frozenset(("reserved", "search", "sweep", "sweep_label"))

#: {params file: {dotted key: value}}
Overrides = dict[str, dict[str, Any]]
#: ``(entry index, file, original bytes or None) -> new bytes``: the params edit of one queue entry
ParamsApplier = Callable[[int, str, "bytes | None"], bytes]


def new_entry_id(now: float | None = None) -> str:
    """``<unix-ms>-<6 hex>``: sorts by creation time; the random part keeps two TUIs from colliding."""
    ms = int((time.time() if now is None else now) * 1000)
    import secrets  # imported when an entry is made: reading the queue never needs it

    return f"{ms:013d}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class ClaimRecord:
    owner: ProcessIdentity
    attempt: int
    time: float
    sha: str = ""


@dataclass(frozen=True)
class DoneRecord:
    """A terminal state. `exp_ref` / `exp_rev` name the recorded experiment (success only)."""

    status: EntryState
    reason: str | None = None
    exp_ref: str | None = None
    exp_rev: str | None = None
    log_path: str | None = None
    attempt: int = 1
    finished: float = 0.0
    duration: float | None = None
    sha: str = ""
    stages: dict[str, Any] = field(default_factory=dict)   # {stage: {"outcome": ran|restored|..., "seconds": s}}

    def __post_init__(self) -> None:
        # callers may pass the state's name ("failed"); a record only ever holds a terminal state
        state = EntryState(self.status)
        if not state.terminal:
            raise ValueError(f"a terminal record cannot hold the state {state.value}")
        object.__setattr__(self, "status", state)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value, "reason": self.reason, "exp_ref": self.exp_ref, "exp_rev": self.exp_rev,
            "log_path": self.log_path, "attempt": self.attempt, "finished": self.finished,
            "duration": self.duration, "stages": self.stages,
        }


@dataclass
class QueueEntry:
    """One queued experiment and where it is in its lifecycle."""

    id: str
    name: str
    rev: str                                  # the snapshot commit
    baseline: str
    overrides: Overrides = field(default_factory=dict)
    created: float = 0.0
    status: EntryState = EntryState.QUEUED
    attempt: int = 0                          # attempts started so far (claims made)
    reason: str | None = None
    exp_ref: str | None = None
    exp_rev: str | None = None
    log_path: str | None = None
    stage: str | None = None
    started: float | None = None
    finished: float | None = None
    claim: ClaimRecord | None = None
    done: DoneRecord | None = None
    run: RunInfo | None = None
    previous: DoneRecord | None = None        # the last retired attempt, when retried
    reserved: bool = False                    # its name is held under reserved/ (a user-given name)
    search: dict[str, Any] | None = None      # a trial of an adaptive search: {"id", "name", "trial", "params"}
    sweep: str | None = None                  # id of the sweep it was queued with (the sweep's first entry id)
    sweep_label: str | None = None            # that sweep's short label, e.g. "md-lr"

    @property
    def ref(self) -> str:
        return QUEUE_NS + self.id

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    @property
    def search_tag(self) -> tuple[str, str] | None:
        """(id, name) of the adaptive search this entry is a trial of, recorded as run facts; None outside one.
        Trials queued before the name was stored take it from their own name (``NAME-<n>``)."""
        if self.search is None or not isinstance(self.search.get("id"), str):
            return None
        name = self.search.get("name")
        return self.search["id"], name if isinstance(name, str) and name else self.name.rpartition("-")[0]

    @property
    def dead_reason(self) -> str | None:
        """For a running entry: why its owner counts as dead (None while it may be alive)."""
        if self.status != EntryState.RUNNING or self.claim is None:
            return None
        owner = self.run.owner if self.run is not None else self.claim.owner
        if self.run is None and time.time() - self.claim.time < CLAIM_GRACE:
            # claimed moments ago: the worker may still be cloning; only a provably dead owner counts
            return owner_dead(owner, None)
        heartbeat = self.run.heartbeat if self.run is not None else self.claim.time
        return owner_dead(owner, heartbeat)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# --- raw git objects -----------------------------------------------------------------------------------------


def _object_sha(kind: str, data: bytes, hexlen: int) -> str:
    import hashlib  # here, not at import: `queue status` never hashes (hashlib's import is ~3 ms of it)

    header = f"{kind} {len(data)}\0".encode()
    h = hashlib.sha1() if hexlen == 40 else hashlib.sha256()
    h.update(header)
    h.update(data)
    return h.hexdigest()


def _commit_bytes(tree: str, parents: Sequence[str], message: str, when: float | None = None) -> bytes:
    stamp = f"{int(time.time() if when is None else when)} +0000"
    head = [f"tree {tree}", *(f"parent {p}" for p in parents),
            f"author {_IDENT} {stamp}", f"committer {_IDENT} {stamp}"]
    return ("\n".join(head) + "\n\n" + message).encode()


def _parse_tree(data: bytes, rawlen: int) -> list[tuple[bytes, bytes, bytes]]:
    """Raw tree object -> [(mode, name, raw sha)] in stored order."""
    out = []
    i = 0
    while i < len(data):
        sp = data.index(b" ", i)
        nul = data.index(b"\0", sp)
        out.append((data[i:sp], data[sp + 1:nul], data[nul + 1:nul + 1 + rawlen]))
        i = nul + 1 + rawlen
    return out


def _tree_key(entry: tuple[bytes, bytes, bytes]) -> bytes:
    mode, name, _ = entry
    return name + b"/" if mode in (b"40000", b"040000") else name


def _serialize_tree(entries: Iterable[tuple[bytes, bytes, bytes]]) -> bytes:
    return b"".join(m + b" " + n + b"\0" + s for m, n, s in sorted(entries, key=_tree_key))


class _ObjectWriter:
    """Builds many blobs/trees/commits in Python and writes them with one `git hash-object` per type.

    Object ids are computed locally (they are content hashes), so trees can reference blobs and commits can
    reference trees before anything touches the disk; a sweep of 1,000 entries costs three git calls.
    """

    def __init__(self, git: Git, hexlen: int):
        self.git = git
        self.hexlen = hexlen
        self.pending: dict[str, dict[str, bytes]] = {}

    def add(self, kind: str, data: bytes) -> str:
        sha = _object_sha(kind, data, self.hexlen)
        self.pending.setdefault(kind, {})[sha] = data
        return sha

    def flush(self) -> None:
        tmp = scratch_mkdtemp(self.git, "objects")
        try:
            for kind in ("blob", "tree", "commit"):
                objs = self.pending.get(kind)
                if not objs:
                    continue
                paths = []
                for sha, data in objs.items():
                    p = tmp / f"{kind}-{sha}"
                    p.write_bytes(data)
                    paths.append(str(p))
                out = self.git.run("hash-object", "-w", "-t", kind, "--stdin-paths",
                                   input="\n".join(paths) + "\n").split()
                if out != list(objs):
                    raise ExptuiError(f"git wrote different {kind} ids than expected; is this a sha256 repo?")
        finally:
            import shutil  # imported where used: reading the queue never needs it

            shutil.rmtree(tmp, ignore_errors=True)
        self.pending.clear()


def scratch_dir(git: Git) -> Path:
    """A tmpfs for throw-away files fed to git (no disk flushes for a sweep's 3,000 objects), else .git/exptui/tmp."""
    shm = Path(SHM)
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return _tmp_dir(git)


SHM = "/dev/shm"
_SCRATCH_PREFIX = "exptui-"


def scratch_mkdtemp(git: Git, what: str) -> Path:
    """A fresh scratch directory ``exptui-<what>-<pid>-<repo key>-<random>`` in `scratch_dir`; the caller removes
    it.

    The pid in the name is what lets `dead_scratch_dirs` (run by `doctor` and recovery) remove the ones a killed
    process (`run --queue` SIGKILLed mid-sweep) left in /dev/shm, where nothing else would ever clean them; the repo
    key keeps one repository's doctor from reporting (and recovery from removing) another repository's leftovers
    in the shared /dev/shm.
    """
    prefix = f"{_SCRATCH_PREFIX}{what}-{os.getpid()}-{_repo_key(git)}-"
    import tempfile  # imported where used: reading the queue never needs it

    return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch_dir(git)))


def _repo_key(git: Git) -> str:
    """8 hex digits naming this repository (its real git dir) in scratch directory names."""
    import hashlib

    return hashlib.sha1(os.fsencode(os.path.realpath(git.git_dir))).hexdigest()[:8]


def dead_scratch_dirs(git: Git) -> list[Path]:
    """Scratch directories (see `scratch_mkdtemp`) whose creating process is gone."""
    from exptui.store.claims import pid_alive

    out = []
    key: str | None = None  # hashed only when a candidate is found: most listings of /dev/shm hold none
    for base in dict.fromkeys([Path(SHM), git.git_dir / "exptui" / "tmp"]):
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            parts = name.split("-")
            if not name.startswith(_SCRATCH_PREFIX) or len(parts) < 4 or not parts[2].isdigit():
                continue
            # the pid first: a live process's directory (a sweep running now, in this repository or another) is
            # never a candidate, and the repo key (hashlib, ~3 ms of a `queue status`) is needed only for dead ones
            if pid_alive(int(parts[2])):
                continue
            if len(parts) >= 5 and parts[3] != (key := key or _repo_key(git)):
                continue  # another repository's: its own doctor/recovery decides
            if (base / name).is_dir():
                out.append(base / name)
    return sorted(out)


def _tmp_dir(git: Git) -> Path:
    d = git.git_dir / "exptui" / "tmp"
    d.mkdir(parents=True, exist_ok=True)
    return d


# --- the store -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntrySpec:
    """What to queue: a name and the params to set, per params file."""

    name: str
    overrides: Overrides
    meta: Mapping[str, Any] = field(default_factory=dict)   # more JSON for the entry (an adaptive search's trial)


class QueueStore:
    """Queue entries, claims and terminal states of one repository."""

    def __init__(self, git: Git):
        self.git = git
        self.state = RunState(git.git_dir)
        self._empty_tree: str | None = None
        self._meta = MetaCache(git)

    # -- reading --------------------------------------------------------------------------------------------
    def _ref_shas(self) -> dict[str, dict[str, str]]:
        """{namespace: {id: sha}}: one for-each-ref over refs/exptui/."""
        # "<sha> refs/exptui/<ns>/<id>" per ref: one split over the whole output, no per-line decode/partition
        # (10,000 entries). The whole name, not `%(refname:lstrip=2)`: git formats that ~20 % slower (10,000 refs:
        # 13.6 against 16.8 ms of git's CPU, median of 31 alternating runs, load 5), and the prefix costs nothing
        # to skip here
        out = self.git.run_bytes("for-each-ref", "--format=%(objectname) %(refname)", NS)
        result: dict[str, dict[str, str]] = {"queue": {}, "claims": {}, "done": {}, "attempts": {}}
        words = out.decode("utf-8", "replace").split()
        if len(words) % 2:  # a ref name with whitespace cannot exist; never trust a torn answer either
            words = words[:-1]
        shas, names = words[0::2], words[1::2]
        if all(map(operator.lt, names, names[1:])):
            # git lists refs sorted by name, so each namespace is one run of them, found by halving: its dict is
            # made by C loops (10,000 queued: ~1 ms, not ~5 ms of partitioning ref by ref)
            for ns, run in result.items():
                prefix = f"{NS}{ns}/"
                lo, hi = bisect_left(names, prefix), bisect_left(names, f"{NS}{ns}0")  # "0" sorts right after "/"
                if lo < hi:
                    skip = len(prefix)
                    run.update(zip([name[skip:] for name in names[lo:hi]], shas[lo:hi]))
            return result
        skip = len(NS)
        for sha, name in zip(shas, names):  # not in order (a name decoded with replacement characters)
            ns, _, entry_id = name[skip:].partition("/")
            target = result.get(ns)
            if target is not None and entry_id and name.startswith(NS):
                target[entry_id] = sha
        return result

    def _prepare(self, refs: dict[str, dict[str, str]]) -> tuple[list[str], list[str]]:
        """The queue's ids in order and their shas, with every body of the listing made available
        (`MetaCache.prepare`)."""
        queue = refs["queue"]
        ids = list(queue)  # in git's order, by name
        if all(map(operator.lt, ids, ids[1:])):
            shas = list(queue.values())
        else:  # names decoded with replacement characters, or namespaces read ref by ref
            ids.sort()
            shas = [queue[i] for i in ids]
        self._meta.prepare(shas, [sha for ns in ("claims", "done", "attempts") for sha in refs[ns].values()])
        return ids, shas

    def _read_refs(self) -> dict[str, dict[str, tuple[str, dict[str, Any]]]]:
        """{namespace: {id: (sha, json body)}}: one for-each-ref over refs/exptui/ plus the bodies.

        Every object here is immutable, so bodies are cached by sha (`exptui.store.queue_meta`): a listing of
        1,000 entries costs one for-each-ref and one small file read, and only objects not seen before are read
        from git (one batch).
        """
        refs = self._ref_shas()
        self._prepare(refs)
        body = self._meta.body
        return {ns: {entry_id: (sha, body(sha)) for entry_id, sha in run.items()} for ns, run in refs.items()}

    def entries(self, with_run_info: bool = True) -> list[QueueEntry]:
        """Every entry (any state), oldest first."""
        refs = self._ref_shas()
        ids, _shas = self._prepare(refs)
        return _EntryBuilder(self, refs, with_run_info).build(ids)

    def listing(self) -> QueueListing:
        """The queue as `queue status` reads it: plainly queued entries as columns, the others in full (see
        `QueueListing`). One for-each-ref and the body cache, as `entries`."""
        refs = self._ref_shas()
        ids, shas = self._prepare(refs)
        queue = refs["queue"]
        others = refs["claims"].keys() | refs["done"].keys() | refs["attempts"].keys()
        plain = [i for i in ids if i not in others] if others else ids
        columns = self._meta.queue_columns([queue[i] for i in plain] if others else shas)
        special = [i for i in ids if i in others] if others else []
        if columns.bad:  # overrides `flat` cannot read: in full, so that showing them fails as it always did
            bad = set(columns.bad)
            special = sorted([*special, *(plain[i] for i in bad)])
            keep = [i for i in range(len(plain)) if i not in bad]
            plain = [plain[i] for i in keep]
            columns = self._meta.queue_columns([queue[i] for i in plain])
        names = columns.names
        if "" in names:  # a body without a name: the entry is called by its id (as `QueueEntry.name`)
            names = [n or i for n, i in zip(names, plain)]
        builder = _EntryBuilder(self, refs, True)
        return QueueListing(self, refs, plain, names, (columns.labels, columns.texts, columns.ends),
                            builder.build(special))

    def get(self, entry_id: str) -> QueueEntry | None:
        for e in self.entries():
            if e.id == entry_id:
                return e
        return None

    def log_path(self, entry_id: str, attempt: int | None = None) -> Path:
        suffix = "" if not attempt or attempt <= 1 else f".{attempt}"
        return self.state.logs_dir / f"{entry_id}{suffix}.log"

    # -- creating -------------------------------------------------------------------------------------------
    def create(self, specs: Sequence[EntrySpec], baseline: str, workspace_tree: str,
               apply: ParamsApplier, *, reserve_names: bool = False,
               sweep_label: str | None = None) -> list[QueueEntry]:
        """Queue one entry per spec, all or nothing.

        `workspace_tree` is the workspace snapshot (temporary-index tree); each entry's tree is that tree with
        its params files replaced by `apply(index of the spec, file, original bytes) -> new bytes`. Every entry is
        built (and every override validated) before the single ref transaction that queues them all.
        `reserve_names`: hold each spec's name under ``reserved/`` in that transaction; ExptuiError (nothing
        queued) when another live entry holds one, or another process takes one at the same moment.
        `sweep_label`: the entries are the trials of one sweep; each carries that label and the sweep's id (the
        first entry's id), which the worker copies into the experiment's run facts.
        """
        hexlen = len(baseline)
        writer = _ObjectWriter(self.git, hexlen)
        trees = _TreeEditor(self.git, writer, hexlen)
        now = time.time()
        entries: list[QueueEntry] = []
        used_ids: set[str] = set()
        for index, spec in enumerate(specs):
            entry_id = new_entry_id(now + index / 1000)  # one ms apart: queue order = sweep order
            while entry_id in used_ids:
                entry_id = new_entry_id(now + index / 1000)
            used_ids.add(entry_id)
            sweep_id = entries[0].id if entries else entry_id
            edits: dict[str, str] = {}
            for file in spec.overrides:
                original = trees.read_blob(workspace_tree, file)
                edits[file] = writer.add("blob", apply(index, file, original))
            tree = trees.replace(workspace_tree, edits)
            meta: dict[str, Any] = {"id": entry_id, "name": spec.name, "baseline": baseline, "overrides": spec.overrides,
                    "created": now, "tree_base": workspace_tree}
            if reserve_names:
                meta["reserved"] = True
            for key, value in spec.meta.items():
                meta.setdefault(key, value)
            if sweep_label is not None:
                meta["sweep"] = sweep_id
                meta["sweep_label"] = sweep_label
            msg = f"exptui queue {entry_id} {spec.name}\n\n{json.dumps(meta, sort_keys=True)}\n"
            sha = writer.add("commit", _commit_bytes(tree, [baseline], msg, now))
            self._meta.remember(sha, json.loads(json.dumps(meta, sort_keys=True)))
            entries.append(QueueEntry(entry_id, spec.name, sha, baseline, spec.overrides, now,
                                      reserved=reserve_names, search=meta.get("search"),
                                      sweep=sweep_id if sweep_label is not None else None,
                                      sweep_label=sweep_label))
        writer.flush()
        updates = [RefUpdate(e.ref, e.rev, ZERO_OID) for e in entries]
        if reserve_names:
            held = self._reservations(baseline)
            live = self._live_revs() if held else set()
            for e in entries:
                old = held.get(e.name)
                if old is not None and old in live:
                    raise ExptuiError(f"experiment name '{e.name}' is already queued for this baseline; choose "
                                      "another name; nothing queued")
                updates.append(RefUpdate(f"{RESERVED_NS}{baseline}/{e.name}", e.rev, old or ZERO_OID))
        try:
            self.git.update_refs(updates, message="exptui: queue")
        except (RefConflict, RefLocked) as exc:
            prefix = f"{RESERVED_NS}{baseline}/"
            if not reserve_names or not exc.ref.startswith(prefix):
                raise
            raise ExptuiError(f"experiment name '{exc.ref[len(prefix):]}' was queued by another process at the "
                              "same moment; choose another name; nothing queued") from None
        if len(updates) >= PACK_REFS_AFTER:
            # thousands of loose ref files make every later listing read thousands of files (80 ms for
            # 10,000); packed, one file. `git pack-refs` locks what it rewrites as `update-ref` does, so workers
            # claiming entries meanwhile are safe; a failure (another pack-refs holds the lock) changes nothing.
            self.git.run_bytes("pack-refs", "--all", check=False)
        return entries

    def _reservations(self, baseline: str) -> dict[str, str]:
        """{name: sha of the entry holding it} under one baseline."""
        prefix = f"{RESERVED_NS}{baseline}/"
        return {ref[len(prefix):]: sha for ref, sha in self.git.for_each_ref([prefix], ("refname", "objectname"))}

    def _live_revs(self) -> set[str]:
        """Snapshot commits of entries that hold their name: present and not succeeded (a success's name is held
        by its experiment ref from then on)."""
        return {e.rev for e in self.entries(with_run_info=False) if not e.status.recorded}

    def reserved_names(self, baseline: str) -> set[str]:
        """Names held by live entries under `baseline` (see `create(reserve_names=True)`)."""
        held = self._reservations(baseline)
        if not held:
            return set()
        live = self._live_revs()
        return {name for name, sha in held.items() if sha in live}

    # -- state transitions ----------------------------------------------------------------------------------
    def _update(self, updates: Sequence[RefUpdate], message: str) -> bool:
        """One ref transaction; False when an old-value check failed or a live process holds a ref's lock.

        A lock file of one of *our* refs left by a process killed mid-update (git never removes it, and the ref
        could never change again) is broken once it is clearly stale, then the transaction is retried.
        """
        for attempt in (0, 1):
            try:
                self.git.update_refs(updates, message=message)
                return True
            except (RefConflict, RefLocked):
                if attempt or not self._break_stale_locks(u.ref for u in updates):
                    return False
        return False

    def _break_stale_locks(self, refs: Iterable[str]) -> bool:
        broken = False
        now = time.time()
        for ref in refs:
            if not ref.startswith(NS):
                continue
            lock = self.git.git_dir / (ref + ".lock")
            try:
                if now - lock.stat().st_mtime >= STALE_REF_LOCK:
                    lock.unlink()
                    broken = True
            except FileNotFoundError:
                continue
        return broken

    def _empty(self) -> str:
        if self._empty_tree is None:
            self._empty_tree = self.git.hash_object(b"", "tree")
        return self._empty_tree

    def _state_commit(self, subject: str, data: Mapping[str, Any], parents: Sequence[str] = ()) -> str:
        body = json.loads(json.dumps(dict(data), sort_keys=True))
        msg = f"{subject}\n\n{json.dumps(body, sort_keys=True)}\n"
        sha = self.git.hash_object(_commit_bytes(self._empty(), parents, msg), "commit")
        self._meta.remember(sha, body)
        return sha

    def claim(self, entry: QueueEntry, owner: ProcessIdentity) -> ClaimRecord | None:
        """Create-only claim: the returned record when this process won the entry, None when another did.

        `entry` is as listed: queued; listed running means another worker won it already (None, as the
        create-only ref would answer); a finished one is IllegalTransition. When the claim is won `entry` is
        updated in place (running, under this claim), so the caller can run and finish it without listing again.
        """
        if entry.status == EntryState.RUNNING:
            return None
        check_transition(entry.name, entry.status, EntryState.RUNNING)
        attempt = (entry.previous.attempt if entry.previous is not None else 0) + 1
        now = time.time()
        sha = self._state_commit(f"exptui claim {entry.id}",
                                 {"owner": owner.to_dict(), "attempt": attempt, "time": now})
        if not self._update([RefUpdate(CLAIMS_NS + entry.id, sha, ZERO_OID),
                                  RefUpdate(entry.ref, entry.rev, entry.rev)],
                                 message="exptui: claim"):
            return None
        claim = ClaimRecord(owner, attempt, now, sha)
        entry.claim, entry.attempt, entry.status, entry.started = claim, attempt, EntryState.RUNNING, now
        return claim

    def finish(self, entry: QueueEntry, record: DoneRecord) -> bool:
        """Create-only terminal state; False when the entry already had one (someone else decided first).

        `entry` is as its caller listed (or claimed) it: running, else IllegalTransition. It is left as it was, so
        a caller that lost the race is told False rather than refused for its own stale copy.
        """
        check_transition(entry.name, entry.status, record.status)
        parents = [entry.previous.sha] if entry.previous is not None and entry.previous.sha else []
        sha = self._state_commit(f"exptui done {entry.id} {record.status}", record.to_json(), parents)
        if not self._update([RefUpdate(DONE_NS + entry.id, sha, ZERO_OID)], message="exptui: done"):
            return False
        return True

    def cancel_queued(self, entry: QueueEntry, reason: str = "cancelled before it started") -> bool:
        """Claim and finish a queued entry in one transaction, so no worker can start it meanwhile."""
        check_transition(entry.name, entry.status, EntryState.CANCELLED)
        owner = ProcessIdentity.current()
        attempt = (entry.previous.attempt if entry.previous is not None else 0) + 1
        claim = self._state_commit(f"exptui claim {entry.id}",
                                   {"owner": owner.to_dict(), "attempt": attempt, "time": time.time()})
        parents = [entry.previous.sha] if entry.previous is not None and entry.previous.sha else []
        done = self._state_commit(
            f"exptui done {entry.id} cancelled",
            DoneRecord(EntryState.CANCELLED, reason, attempt=attempt, finished=time.time()).to_json(), parents)
        if not self._update([RefUpdate(CLAIMS_NS + entry.id, claim, ZERO_OID),
                                  RefUpdate(DONE_NS + entry.id, done, ZERO_OID)], message="exptui: cancel"):
            return False
        return True

    def retry(self, entry: QueueEntry) -> bool:
        """Put a finished entry back in the queue (its terminal record moves to ``attempts/``); CAS-checked.
        Only a failed, cancelled or crashed entry may be retried (IllegalTransition otherwise)."""
        check_transition(entry.name, entry.status, EntryState.QUEUED)
        if entry.done is None or entry.claim is None:
            return False
        updates = [
            RefUpdate(DONE_NS + entry.id, None, entry.done.sha),
            RefUpdate(CLAIMS_NS + entry.id, None, entry.claim.sha),
            RefUpdate(ATTEMPTS_NS + entry.id, entry.done.sha,
                      entry.previous.sha if entry.previous is not None else ZERO_OID),
        ]
        if not self._update(updates, message="exptui: retry"):
            return False
        return True

    def remove(self, entry: QueueEntry) -> bool:
        """Drop an entry and all its state refs (CAS on each); logs are deleted too. Never touches refs/exps.

        A queued entry is first cancelled atomically (claim + done, create-only): deleting it while a worker
        claims it at the same moment would leave that worker running an entry that no longer exists.
        """
        if entry.claim is None:
            if not self.cancel_queued(entry, "removed"):
                return False
            fresh = self.get(entry.id)
            if fresh is None or fresh.claim is None or fresh.done is None:
                return False
            entry = fresh
        updates = [RefUpdate(entry.ref, None, entry.rev)]
        if entry.reserved:  # release its name, unless another entry took it over meanwhile
            reservation = f"{RESERVED_NS}{entry.baseline}/{entry.name}"
            if self._reservations(entry.baseline).get(entry.name) == entry.rev:
                updates.append(RefUpdate(reservation, None, entry.rev))
        if entry.claim is not None:
            updates.append(RefUpdate(CLAIMS_NS + entry.id, None, entry.claim.sha))
        if entry.done is not None:
            updates.append(RefUpdate(DONE_NS + entry.id, None, entry.done.sha))
        if entry.previous is not None:
            updates.append(RefUpdate(ATTEMPTS_NS + entry.id, None, entry.previous.sha))
        if not self._update(updates, message="exptui: remove"):
            return False
        self.state.clear(entry.id)
        for p in self.state.logs_dir.glob(f"{entry.id}*.log*"):
            try:
                p.unlink()
            except OSError:
                pass
        return True

    # -- the experiments table ------------------------------------------------------------------------------
    def rows(self, index: Any = None) -> list[ExperimentRow]:
        """Rows for entries not finished successfully (successes show up as experiments under refs/exps).

        Params come from each entry's snapshot, read like an experiment's (every params file the snapshot's
        dvc.yaml declares) through the store's `ExperimentIndex` (`index`, or a fresh one); metrics are left
        empty: a snapshot carries the baseline's metrics, which a queued row must not pretend to have.
        """
        from exptui.records import ExperimentRow, RunFacts

        entries = [e for e in self.entries() if not e.status.recorded]
        if not entries:
            return []
        data = self._snapshot_params(entries, index)
        from datetime import datetime, timezone

        def when(ts: float | None) -> datetime | None:
            return datetime.fromtimestamp(ts, timezone.utc) if ts else None

        rows = []
        for e in entries:
            params, errors = data.get(e.rev, ({}, {}))
            created = when(e.created)
            tag = e.search_tag
            facts = RunFacts(created=created, started=when(e.started), finished=when(e.finished), error=e.reason,
                             sweep=e.sweep, sweep_label=e.sweep_label, search=tag and tag[0],
                             search_name=tag and tag[1])
            rows.append(ExperimentRow(
                name=e.name, rev=e.rev, baseline=e.baseline, kind="queued", status=e.status.row_status,
                created=created, params=params, errors=errors, facts=facts,
                stage=e.stage if e.status == EntryState.RUNNING else None,
                started=e.started if e.status == EntryState.RUNNING else None,
                queue_id=e.id, ref=e.ref,
            ))
        return rows

    def _snapshot_params(self, entries: Sequence[QueueEntry], index: Any) -> dict[str, tuple[dict, dict]]:
        """{snapshot sha: (params, errors)}; the store's index when it is there, else params.yaml + edited files."""
        try:
            own = index is None
            if own:
                from exptui.store.index import ExperimentIndex

                index = ExperimentIndex(self.git)
            got = index.commit_data([e.rev for e in entries])
            if own:
                index.cache.save()  # snapshots are immutable: the next listing reads them from the cache
            edited = {e.rev: {"params.yaml", *e.overrides} for e in entries}
            out = {}
            for sha, d in got.items():
                got_params = {f: dict(v) for f, v in (d.get("params") or {}).items()}
                wanted = edited.get(sha, set()) | set(got_params)  # params files only: a snapshot's metrics are stale
                out[sha] = (got_params, {f: v for f, v in (d.get("errors") or {}).items() if f in wanted})
            if len(out) == len({e.rev for e in entries}):
                return out
        except Exception:  # noqa: BLE001 - fall back to reading the edited files directly
            pass
        from dvc_compat.errors import FormatError
        from dvc_compat.params import flatten, params_format, parse_params

        files_per_entry = [sorted({"params.yaml", *e.overrides}) for e in entries]
        names = [f"{e.rev}:{f}" for e, files in zip(entries, files_per_entry) for f in files]
        blobs = iter(self.git.read_objects(names))
        result: dict[str, tuple[dict, dict]] = {}
        for e, files in zip(entries, files_per_entry):
            params: dict[str, dict[str, Any]] = {}
            errors: dict[str, str] = {}
            for f in files:
                answer = next(blobs)
                if answer is None:
                    continue
                try:
                    params[f] = flatten(parse_params(answer[2], f, params_format(f)))
                except FormatError as exc:
                    errors[f] = str(exc)
            result[e.rev] = (params, errors)
        return result


def _done_from(data: Mapping[str, Any], sha: str) -> DoneRecord:
    def opt(key: str) -> Any:
        v = data.get(key)
        return None if v in ("", None) else v

    return DoneRecord(
        status=EntryState.of_record(data.get("status")), reason=opt("reason"), exp_ref=opt("exp_ref"),
        exp_rev=opt("exp_rev"), log_path=opt("log_path"), attempt=int(data.get("attempt") or 1),
        finished=float(data.get("finished") or 0.0),
        duration=None if data.get("duration") is None else float(data["duration"]), sha=sha,
        stages=stages if isinstance(stages := data.get("stages"), dict) else {},
    )


class _EntryBuilder:
    """Builds `QueueEntry` records from one for-each-ref's shas and the cached bodies (`QueueStore.entries` for
    all of them, `QueueStore.listing` for those not plainly queued)."""

    def __init__(self, store: QueueStore, refs: dict[str, dict[str, str]], with_run_info: bool):
        self.store = store
        self.refs = refs
        self.with_run_info = with_run_info
        self._runs: dict[str, RunInfo] | None = None

    def build(self, ids: Sequence[str]) -> list[QueueEntry]:
        """The entries of these ids (in `refs["queue"]`), in this order."""
        if not ids:
            return []
        if self._runs is None:
            self._runs = self.store.state.all() if self.with_run_info else {}
        runs = self._runs
        logs = os.path.join(self.store.state.logs_dir, "")  # `log_path` as a string: no Path object per entry
        body = self.store._meta.body
        queue, attempts, claims, dones = (self.refs[ns] for ns in ("queue", "attempts", "claims", "done"))
        entries = []
        for entry_id in ids:
            sha = queue[entry_id]
            meta = body(sha)
            get = meta.get
            # positional, the rest left at their defaults: one entry of a 10,000-entry sweep is built in ~0.4 µs
            # instead of ~0.7 with keywords
            entry = QueueEntry(entry_id, str(get("name") or entry_id), sha, str(get("baseline", "")),
                               get("overrides") or {}, float(get("created") or 0.0))
            if not _OPTIONAL_META.isdisjoint(meta):  # a user-given name, an adaptive search's trial, a sweep
                sweep, sweep_label, search = get("sweep"), get("sweep_label"), get("search")
                entry.reserved = bool(get("reserved"))
                entry.search = search if isinstance(search, dict) else None
                entry.sweep = sweep if sweep and isinstance(sweep, str) else None
                entry.sweep_label = sweep_label if sweep_label and isinstance(sweep_label, str) else None
            asha = attempts.get(entry_id) if attempts else None
            if asha is not None:
                entry.previous = _done_from(body(asha), asha)
            csha = claims.get(entry_id) if claims else None
            if csha is not None:
                cdata = body(csha)
                owner = ProcessIdentity.from_dict(cdata.get("owner")) or ProcessIdentity(0, "", "?", "?")
                entry.claim = ClaimRecord(owner, int(cdata.get("attempt", 1)), float(cdata.get("time", 0)), csha)
                entry.attempt = entry.claim.attempt
                entry.status = EntryState.RUNNING
                entry.started = entry.claim.time
            elif entry.previous is not None:
                entry.attempt = entry.previous.attempt
            dsha = dones.get(entry_id) if dones else None
            if dsha is not None:
                entry.done = _done_from(body(dsha), dsha)
                entry.status = entry.done.status
                entry.reason = entry.done.reason
                entry.exp_ref = entry.done.exp_ref
                entry.exp_rev = entry.done.exp_rev
                entry.log_path = entry.done.log_path
                entry.finished = entry.done.finished
            elif entry.claim is not None:
                run = runs.get(entry_id)
                if run is not None and run.owner.token == entry.claim.owner.token:
                    entry.run = run
                    entry.stage = run.stage
                    entry.started = run.started
                    entry.log_path = run.log_path or None
            if entry.log_path is None:
                attempt = entry.attempt
                entry.log_path = f"{logs}{entry_id}.log" if attempt <= 1 else f"{logs}{entry_id}.{attempt}.log"
            entries.append(entry)
        return entries


class QueueListing:
    """The queue as `queue status` reads it (`QueueStore.listing`).

    Entries that are plainly queued (no claim, no terminal record, no retired attempt) are columns: their ids,
    names and overrides as `exptui.query.overrides.flat` columns, taken from the body cache as they are. Every
    other entry (running, finished, retried: usually a few) is a `QueueEntry` in `special`. Why: a status of a
    10,000-entry sweep shows only a name and params for a queued entry, and a `QueueEntry` (24 fields) each was
    a fifth of the command (issue 13). `entries()` gives the full list for callers that need every record.
    """

    def __init__(self, store: QueueStore, refs: dict[str, dict[str, str]], ids: list[str], names: list[str],
                 flat: tuple[list[str], list[str], list[int]], special: list[QueueEntry]):
        self.store = store
        self.refs = refs
        self.ids = ids            # the plainly queued entries, in id order (queue order)
        self.names = names
        self.flat = flat          # (labels, texts, ends) of their overrides
        self.special = special    # every other entry, in id order

    def __len__(self) -> int:
        return len(self.ids) + len(self.special)

    def entries(self) -> list[QueueEntry]:
        """Every entry as `QueueStore.entries` lists it (the special ones as they are here, after recovery's
        display changes), oldest first."""
        plain = _EntryBuilder(self.store, self.refs, True).build(self.ids)
        if not self.special:
            return plain
        return sorted([*plain, *self.special], key=operator.attrgetter("id"))

    def names_by_id(self) -> dict[str, str]:
        return {**dict(zip(self.ids, self.names)), **{e.id: e.name for e in self.special}}


class _TreeEditor:
    """Replaces blobs deep inside a tree by writing only the trees along the changed paths."""

    def __init__(self, git: Git, writer: _ObjectWriter, hexlen: int):
        self.git = git
        self.writer = writer
        self.rawlen = hexlen // 2
        self._trees: dict[str, list[tuple[bytes, bytes, bytes]]] = {}
        self._blobs: dict[str, bytes | None] = {}

    def _tree(self, sha: str) -> list[tuple[bytes, bytes, bytes]]:
        if sha not in self._trees:
            if sha in self.writer.pending.get("tree", {}):
                data = self.writer.pending["tree"][sha]
            else:
                answer = self.git.read_objects([sha])[0]
                if answer is None or answer[1] != "tree":
                    raise ExptuiError(f"tree {sha} is missing from the repository")
                data = answer[2]
            self._trees[sha] = _parse_tree(data, self.rawlen)
        return self._trees[sha]

    def read_blob(self, tree: str, path: str) -> bytes | None:
        key = f"{tree}:{path}"
        if key not in self._blobs:  # every entry of a sweep edits the same workspace file: read it once
            answer = self.git.read_objects([key])[0]
            self._blobs[key] = None if answer is None or answer[1] != "blob" else answer[2]
        return self._blobs[key]

    def replace(self, tree: str, edits: Mapping[str, str]) -> str:
        """`tree` with each path in `edits` pointing at the given blob (created if missing)."""
        if not edits:
            return tree
        by_first: dict[bytes, dict[str, str]] = {}
        leaves: dict[bytes, str] = {}
        for path, blob in edits.items():
            head, _, rest = path.strip("/").partition("/")
            if rest:
                by_first.setdefault(head.encode(), {})[rest] = blob
            else:
                leaves[head.encode()] = blob
        entries = {name: (mode, sha) for mode, name, sha in self._tree(tree)}
        for name, blob in leaves.items():
            mode = entries.get(name, (b"100644", b""))[0]
            if mode in (b"40000", b"040000"):
                raise ExptuiError(f"{name.decode()} is a directory, not a params file")
            entries[name] = (mode, bytes.fromhex(blob))
        for name, sub in by_first.items():
            mode, raw = entries.get(name, (b"40000", b""))
            sub_tree = raw.hex() if raw else self.writer.add("tree", b"")
            entries[name] = (b"40000", bytes.fromhex(self.replace(sub_tree, sub)))
        data = _serialize_tree((mode, name, sha) for name, (mode, sha) in entries.items())
        return self.writer.add("tree", data)
