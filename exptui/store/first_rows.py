"""The dashboard's first screen, kept from its last start: painted before the listing is read.

At 100,000 experiments the listing's plan (one `for-each-ref` of every ref, parsing it, the index's ids and
times) costs ~0.8 s of CPU before a single row can be built, and the dashboard shows forty. So the rows the
dashboard painted first last time are saved here (a few hundred rows, a few hundred KB at most), keyed by the
change token (`exptui.store.token`: the ref directories' and `packed-refs`' stat, HEAD, the queue's state,
dvc.yaml/params.yaml/dvc.lock) and the listing's options. On the next start with the same key they are handed
over at once; the listing is read as before and replaces them when it is complete, so rows the token cannot
see change (the workspace's metrics files, a run's elapsed time) are right again a second or so later.

A ref added, deleted or moved since changes the token (the common case while a sweep runs). Then the saved screen
is amended instead (`amend`), once the refs are read (one `for-each-ref`, ~0.15 s of CPU at 100,000, the first
step of the listing's plan, not repeated): saved rows whose ref is gone or points elsewhere are dropped, new
experiments of the index are put where the listing puts them (a baseline's experiments newest first), and those
below the saved top are left for the listing. Only when that is certain to give the top of the new listing: the
saved screen is a prefix of the listing (no sort or filter reordered it), nothing but experiment refs changed
(`Since`: the state token without them, HEAD, branches, tags, notes, DVC's queue, the baselines that have
experiments), no queue rows among the saved ones, at most `ExperimentIndex.INDEX_NEW_LIMIT` new commits of the
saved groups not indexed yet (those are read then, only they: a sweep ran while no dashboard was open). Otherwise
the listing streams its top as before. So a deleted or moved experiment is never painted, and a new one is never
missing. The top of a sorted, filtered or leaderboard view is no prefix: it is saved with its view (`Since.view`)
and amended under the same rules by `exptui.store.first_rows_view`.

The file is `.git/exptui/first-rows.pickle`: inside the git dir, outside the index (a damaged or foreign file is
ignored and removed, never an error: it is only a head start) and outside the change token (writing it never
makes the poller reload).
"""
from __future__ import annotations

import pickle
import threading
from bisect import bisect_left
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast
from collections.abc import Callable

from dvc_compat.exp_refs import parse_exp_ref
from dvc_compat.fsutil import atomic_write
from exptui.records import Annotations, ExperimentRow, RunFacts

if TYPE_CHECKING:  # pragma: no cover
    from exptui.store.first_rows_view import SavedView
    from exptui.store.index import ExperimentIndex, RefSnapshot

FILE = "first-rows.pickle"
FORMAT = 5
#: more new experiment refs than this since the saved screen: the listing streams its top instead (each one is a
#: lookup and a scan of the saved rows; a sweep adds a few between two starts)
AMEND_LIMIT = 1000


@dataclass(frozen=True)
class Since:
    """What a saved screen that is a prefix of the listing was read with, so that a later start can amend it."""

    state: str                  # `exptui.store.token.changed_token(refs=False)` before the listing was read
    context: tuple              # `refs_context` of the listing's refs
    baselines: frozenset[str]   # the baselines that had experiments
    raw: bytes = b""            # the listing's for-each-ref output as git printed it (`RefSnapshot.raw`; in the
    #                             file: after the pickle, see `save`): the next start's is compared with it bytewise
    #                             and only the lines that differ are decoded (`_raw_changed`)
    keys: tuple[tuple, ...] = ()  # the listing's key (`ExperimentIndex.listing_keys`) of each experiment of the
    #                               saved top: `amend` needs the index's ids (~0.05 s at 100,000) only for new ones
    view: SavedView | None = None   # the sort/filter/leaderboard view the saved top is the top of (None: the
    #                                 listing's own order, a prefix): `exptui.store.first_rows_view` amends it


@dataclass(frozen=True)
class FirstRows:
    """The saved top of a listing: `rows` (in listing order) of a listing of `total` rows, read under `key`."""

    rows: list[ExperimentRow]
    total: int
    key: tuple = ()
    since: Since | None = None


@dataclass(frozen=True)
class Early:
    """What `Project.start_first_screen` worked out before the dashboard was up: the change `token` it read first,
    the first screen (`rows`: the saved one if its key is that token, else the saved one amended, or None), and
    after a change the `state` token and the `refs` read after that token (the listing takes them as its own when
    its token is the same: nothing the token sees changed between)."""

    token: str
    state: str
    refs: RefSnapshot | None
    rows: FirstRows | None


class EarlyStart:
    """A thread working out an `Early` (daemon: a dashboard that fails to start does not wait for it)."""

    def __init__(self, work: Callable[[], Early]) -> None:
        self._work = work
        self._result: Early | None = None
        self._thread = threading.Thread(target=self._run, name="exptui-first-screen", daemon=True)

    @classmethod
    def start(cls, work: Callable[[], Early]) -> EarlyStart:
        early = cls(work)
        early._thread.start()
        return early

    def _run(self) -> None:
        try:
            self._result = self._work()
        except Exception:  # noqa: BLE001 - only a head start: the dashboard reads everything itself
            self._result = None

    def result(self, timeout: float | None = None) -> Early | None:
        """The `Early` once worked out (None if it failed or took longer than `timeout`); handed out once."""
        self._thread.join(timeout)
        result, self._result = self._result, None
        return None if self._thread.is_alive() else result


def refs_context(refs: RefSnapshot) -> tuple:
    """Every ref of a snapshot but the experiments': a change in any of them may reorder or rename rows."""
    return (refs.head, refs.head_branch, tuple(sorted(refs.branches.items())), tuple(sorted(refs.tags.items())),
            refs.notes, refs.dvc_queue, refs.dvc_failed)


def _columns(refs: RefSnapshot) -> tuple[tuple[str, ...], ...]:
    """(refs, shas, baselines, names) of the experiment refs: one C-level transpose, no loop over 100,000."""
    return tuple(zip(*refs.exps)) if refs.exps else ((), (), (), ())


def since(state: str, refs: RefSnapshot, keys: tuple[tuple, ...] = ()) -> Since:
    _names, _shas, baselines, _n = _columns(refs)
    return Since(state, refs_context(refs), frozenset(baselines), refs.raw, keys)


def _saved_keys(old: Since, exps: list[ExperimentRow]) -> list[tuple | None] | None:
    """The listing keys `old` kept for `exps` (the saved top's experiments), or None if one is not there or was
    kept for another commit or name (a file from before the keys: the index is asked)."""
    by_ref = {key[3]: key for key in old.keys}
    keys: list[tuple | None] = []
    for row in exps:
        key = by_ref.get(row.ref)
        if key is None or key[2] != row.rev or key[1] != row.name:
            return None
        keys.append(key)
    return keys


def _shape() -> tuple:
    """What the pickled rows' classes looked like: a field added or renamed makes old files unusable."""
    from exptui.store.first_rows_view import SavedView

    return (FORMAT, *(tuple(f.name for f in fields(cls))
                      for cls in (ExperimentRow, RunFacts, Annotations, Since, SavedView)))


def path_of(git_dir: Path) -> Path:
    return Path(git_dir) / "exptui" / FILE


def load(git_dir: Path, key: tuple | None = None) -> FirstRows | None:
    """The rows saved under `key` (any key if None), or None (no file, another key, or an unreadable file, which
    is removed)."""
    path = path_of(git_dir)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    from exptui.store.first_rows_view import SavedView

    try:
        size = int.from_bytes(data[:8], "little")
        shape, saved_key, total, rows, saved_since = pickle.loads(memoryview(data)[8:8 + size])
        if shape != _shape() or (key is not None and saved_key != key):
            return None
        if not isinstance(total, int) or not isinstance(rows, list) \
                or not all(isinstance(r, ExperimentRow) for r in rows) \
                or not isinstance(saved_since, (Since, type(None))) \
                or (saved_since is not None and not isinstance(saved_since.view, (SavedView, type(None)))):
            raise ValueError("not a list of rows")
        if saved_since is not None:
            saved_since = replace(saved_since, raw=data[8 + size:])
    except Exception:  # noqa: BLE001 - truncated, foreign or from another version: only a head start
        try:
            path.unlink()
        except OSError:
            pass
        return None
    return FirstRows(rows, total, saved_key, saved_since)


def saved_under(git_dir: Path, token: str) -> bool:
    """Whether the saved screen looks saved under change token `token`: its key is pickled near the start of the
    file, so only its first 4 KiB are read and searched for the token (a 24-digit hash), nothing unpickled. For
    `exptui.store.prestart`, which then starts no for-each-ref (an unchanged start reads no refs before the paint);
    `load` decides for real, so a wrong answer only costs or spares that head start."""
    try:
        with open(path_of(git_dir), "rb") as file:
            head = file.read(8 + 4096)
    except OSError:
        return False
    return bool(token) and token.encode() in head[8:]


def save(git_dir: Path, key: tuple, rows: list[ExperimentRow], total: int, since: Since | None = None) -> None:
    """Keep `rows` (the top of a listing of `total` rows) for the next start with the same `key`, or, with
    `since` (the rows are a prefix of the listing), for one whose refs `amend` can account for. Best effort:
    a read-only git dir or a full disk costs the next start its head start, nothing else."""
    try:
        path = path_of(git_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_temp_files(path.parent)
        # the refs of `since` follow the pickle as git printed them: no copy of them in the pickle (~11 MB at
        # 100,000 refs), and the next start compares its own for-each-ref output with them as they are
        head = pickle.dumps((_shape(), key, total, list(rows), None if since is None else replace(since, raw=b"")),
                            protocol=pickle.HIGHEST_PROTOCOL)
        buf = bytearray(len(head).to_bytes(8, "little"))
        buf += head
        if since is not None:
            buf += since.raw
        atomic_write(path, cast(bytes, buf),   # written as is: no copy of ~11 MB
                     durable=False)   # a cache: losing it in a power cut costs a head start, never a torn file
    except Exception:  # noqa: BLE001 - see above
        pass


def _remove_dead_temp_files(directory: Path) -> None:
    """A dashboard killed between writing its temp file and the rename (of this file, ~11 MB at 100,000
    experiments, or of `view.json`) leaves the temp file, named with its pid; the next save removes those of dead
    writers (`queue status` and `doctor` do too, but a dashboard user may never run them)."""
    from exptui.store.claims import clean_temp_files

    clean_temp_files(directory)


@dataclass
class Kept:
    """What both amendments start from (`kept_rows`): the refs `added` and `removed` since the saved screen, its
    `rows` without the removed experiments, and each kept experiment's listing key by `id`."""

    since: Since
    added: list[tuple[str, str]]
    removed: list[tuple[str, str]]
    rows: list[ExperimentRow]
    key_of: dict[int, tuple]


def kept_rows(saved: FirstRows, refs: RefSnapshot, state: str, index: ExperimentIndex) -> Kept | None:
    """The saved rows still valid under `refs`, or None when an amendment cannot be certain: the state or the
    other refs changed, queue rows are among them (a queue entry's ref deleted from packed-refs changes no state
    the token sees), a baseline's group appears or goes (the order of the groups changes), a key is unknown."""
    old = saved.since
    if old is None or not old.raw or not refs.raw or old.state != state or old.context != refs_context(refs):
        return None
    if any(row.kind not in ("workspace", "baseline", "experiment") for row in saved.rows):
        return None
    added, removed = _raw_changed(old.raw, refs.raw)
    if added is None or not _same_baselines(old.baselines, added, removed, refs.raw):
        return None
    gone = {ref for ref, _sha in removed}
    rows = [row for row in saved.rows if row.kind != "experiment" or row.ref not in gone]
    exps = [row for row in rows if row.kind == "experiment"]
    keys = _saved_keys(old, exps)
    if keys is None:
        keys = index.listing_keys([(row.ref or "", row.rev, row.name) for row in exps])
    if any(k is None for k in keys):
        return None
    return Kept(old, added, removed, rows, {id(row): k for row, k in zip(exps, keys) if k is not None})


def amend(saved: FirstRows, refs: RefSnapshot, state: str, index: ExperimentIndex) -> FirstRows | None:
    """The top of the listing `refs` will give, from `saved` (read under other refs), or None if that cannot be
    known for certain without the rest of the plan (see the module docstring). ~0.05 s of CPU at 100,000."""
    old = saved.since
    if old is not None and old.view is not None:   # the top of a sorted or filtered view
        from exptui.store.first_rows_view import amend_view

        return amend_view(saved, refs, state, index)
    kept = kept_rows(saved, refs, state, index)
    if kept is None:
        return None
    old, added, removed, rows, key_of = kept.since, kept.added, kept.removed, kept.rows, kept.key_of
    shown = {row.rev for row in rows if row.kind == "baseline"}
    new: list[tuple[str, str, str, str]] = []   # (ref, sha, baseline, name) of the groups on the saved screen
    for ref, sha in sorted(added):
        parsed = parse_exp_ref(ref)
        if parsed is None:
            return None
        if parsed[0] in shown:   # else its group starts below the saved top (the order of groups is unchanged)
            new.append((ref, sha, *parsed))
    # commits not indexed yet (a sweep ran while no dashboard was open): read now, only those few, the way the
    # warm `show` reads one new commit; the listing then finds them indexed
    if new and not index.index_new({sha: baseline for _ref, sha, baseline, _name in new}):
        return None
    for ref, sha, baseline, name in new:
        at = next(i for i, row in enumerate(rows) if row.kind == "baseline" and row.rev == baseline)
        (key,) = index.listing_keys([(ref, sha, name)])
        if key is None:
            return None   # not readable as a commit: the listing decides what to show
        j = at + 1
        while j < len(rows) and rows[j].kind == "experiment" and rows[j].baseline == baseline \
                and key_of[id(rows[j])] > key:
            j += 1
        if j == len(rows):
            continue   # after the last saved row of a group that goes on below the saved top
        row = index.listed_row(name, sha, baseline, rows[at].baseline_name, ref, refs.notes)
        if row is None:
            return None
        rows.insert(j, row)
        key_of[id(row)] = key
    return FirstRows(rows, saved.total + len(added) - len(removed), saved.key, old)


def _same_baselines(baselines: frozenset[str], added: list[tuple[str, str]], removed: list[tuple[str, str]],
                    raw: bytes) -> bool:
    """Whether the refs of `raw` (`old` changed by `added` and `removed`) have experiments of exactly
    `baselines`: an added one of another baseline, or the last one of a baseline removed, is a group that
    appears or goes. False too for a changed ref that is no experiment's."""
    for ref, _sha in added:
        parsed = parse_exp_ref(ref)
        if parsed is None or parsed[0] not in baselines:
            return False
    emptied = set()
    for ref, _sha in removed:
        if parse_exp_ref(ref) is None:
            return False
        emptied.add(ref[:ref.rfind("/") + 1])
    for prefix in emptied:   # one C-level find each: is any experiment of that baseline left?
        line = prefix.encode()
        if not raw.startswith(line) and raw.find(b"\n" + line) < 0:
            return False
    return True


def _raw_changed(old: bytes, new: bytes) -> tuple[list[tuple[str, str]] | None, list[tuple[str, str]]]:
    """`_changed` between two for-each-ref outputs (`RefSnapshot.raw`), decoding only the lines between their
    common first and last lines: bytes compared 64 KiB at a time, then halved to the byte; a few refs changed in
    one baseline's run (a sweep) decode a few lines, not 100,000 (~0.1 s of CPU at 100,000: the decode, the split
    and the transposes)."""
    n = min(len(old), len(new))
    step = 1 << 16
    p = 0
    while p < n and old[p:p + step] == new[p:p + step]:
        p += step
    if p < n:   # the first difference is in [p, p + step): the longest equal slice from p, by halving
        lo, hi = 0, min(step, n - p)   # (a shorter side's last slice differs in length only)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if old[p:p + mid] == new[p:p + mid]:
                lo = mid
            else:
                hi = mid - 1
        p += lo
    else:
        p = n
    p = old.rfind(b"\n", 0, p) + 1   # back to the start of a line (the same in both: the bytes before are equal)
    limit, s = n - p, 0   # the common tail, not into the common head
    while s < limit:
        width = min(step, limit - s)
        if old[len(old) - s - width:len(old) - s] == new[len(new) - s - width:len(new) - s]:
            s += width
            continue
        lo, hi = 0, width - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if old[len(old) - s - mid:len(old) - s] == new[len(new) - s - mid:len(new) - s]:
                lo = mid
            else:
                hi = mid - 1
        s += lo
        break
    # the tail from the start of a line on both sides (a newline inside the common tail is one on both)
    while s > 0 and not ((len(old) - s == p or old[len(old) - s - 1] == 10)
                         and (len(new) - s == p or new[len(new) - s - 1] == 10)):
        at = old.find(b"\n", len(old) - s)
        s = 0 if at < 0 else len(old) - at - 1
    return _changed(*_lines(old[p:len(old) - s]), *_lines(new[p:len(new) - s]))


def _lines(part: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(refs, shas) of whole lines of for-each-ref output, as `read_refs` splits them."""
    flat = part.decode("utf-8", "replace").replace("\n", "\0").split("\0")
    return tuple(flat[0:-1:2]), tuple(flat[1::2])


def _changed(old_refs: tuple[str, ...], old_shas: tuple[str, ...], refs: tuple[str, ...], shas: tuple[str, ...]
             ) -> tuple[list[tuple[str, str]] | None, list[tuple[str, str]]]:
    """(ref, sha) pairs added and removed (a moved ref is both) between two listings of experiment refs sorted by
    name, as `for-each-ref` gives them. Halves both sides until a pair of slices is equal (a C-level compare):
    a few changes among 100,000 refs cost ~2 ms, not the ~0.2 s of two dicts and their item sets. None for the
    added ones: more than `AMEND_LIMIT`."""
    added: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    todo = [(0, len(old_refs), 0, len(refs))]
    while todo:
        alo, ahi, blo, bhi = todo.pop()
        if ahi - alo == bhi - blo and old_refs[alo:ahi] == refs[blo:bhi] and old_shas[alo:ahi] == shas[blo:bhi]:
            continue
        if ahi - alo <= 64 or bhi - blo <= 64:
            before = dict(zip(old_refs[alo:ahi], old_shas[alo:ahi]))
            now = dict(zip(refs[blo:bhi], shas[blo:bhi]))
            added += [(ref, sha) for ref, sha in now.items() if before.get(ref) != sha]
            removed += [(ref, sha) for ref, sha in before.items() if now.get(ref) != sha]
            if len(added) > AMEND_LIMIT:
                return None, removed
            continue
        mid = (alo + ahi) // 2
        at = bisect_left(refs, old_refs[mid], blo, bhi)   # everything before old_refs[mid] in both: one side
        todo += [(alo, mid, blo, at), (mid, ahi, at, bhi)]
    return added, removed
