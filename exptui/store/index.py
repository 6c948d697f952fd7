"""The experiment index: list every experiment with its params and metrics, fast.

A listing is one `git for-each-ref` (experiments, branches, tags, the notes ref), one batched object read for
commits not seen before, and reads of the on-disk index (`.git/exptui/index/`, see `index_segments`): per commit
sha what was extracted from it (tree, parents, time, message, flattened params/metrics, errors) and its
pre-encoded ``show --json`` pieces, in append-only segments of checksummed columns. Commits never change, so an
entry never goes stale; a listing that found new commits appends one segment with only those; deleting the
directory only costs a rebuild, a damaged file is rebuilt with a one-line notice. Parsed annotations are cached
next to it, keyed by the notes commit sha.

Nothing heavy is imported here (no pandas, textual or GitPython): `exptui show --json` runs through this module.
"""
from __future__ import annotations

import os
import pickle
import threading
import zlib
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterable, Iterator, Mapping

from dvc_compat.fsutil import atomic_write

from dvc_compat.exp_refs import CELERY_FAILED as DVC_FAILED_REF
from dvc_compat.exp_refs import CELERY_STASH as DVC_QUEUE_REF
from dvc_compat.exp_refs import EXPS_NAMESPACE, parse_exp_ref
from exptui.records import Annotations, ExperimentRow, RowKind, RunFacts

if TYPE_CHECKING:  # pragma: no cover
    from exptui.query.columns import Column
from exptui.store.commit_data import EXTRACT_VERSION, CommitReader
from exptui.store.facts import parse_trailers
from exptui.store.git import Git
from exptui.store.git_args import NOTES_REF, refs_args
from exptui.store.index_segments import (Entries, IndexDamaged, Segment, decode_blob, encode, encode_blob,
                                         list_segments, load_list, read_column, read_header, read_part,
                                         segment_number, segment_path, unpickle_mapping, write_segment)

EXPS_PREFIX = EXPS_NAMESPACE + "/"


_ABSENT: Any = object()  # `IndexCache.times_of`: a commit the index does not have


class IndexRebuilt(Exception):
    """The index files were found damaged while listing: the listing starts over from an empty index."""



@dataclass
class RefSnapshot:
    """Everything one for-each-ref told us."""

    head: str | None
    head_branch: str | None
    exps: list[tuple[str, str, str, str]] = field(default_factory=list)   # (ref, sha, baseline, name)
    branches: dict[str, str] = field(default_factory=dict)                # short name -> sha
    tags: dict[str, str] = field(default_factory=dict)                    # short name -> peeled commit sha
    notes: str | None = None
    dvc_queue: str | None = None
    dvc_failed: str | None = None                                         # refs/exps/celery/failed
    #: for-each-ref's output as git printed it (`first_rows` compares the next start's with it, line by line
    #: only where they differ); with `parsed` False, `exps` was not read from it yet (`read_refs(parse=False)`)
    raw: bytes = b""
    parsed: bool = True


@dataclass(frozen=True)
class CatalogEntry:
    """One row of a listing, described without building it (`ExperimentIndex.catalog`)."""

    kind: RowKind
    name: str
    rev: str
    ref: str | None
    baseline: str
    baseline_name: str
    item: Any  # the listing's plan item: a row, or an experiment's (name, sha, baseline, bname, notes, ref)


def read_refs(git: Git, exps: tuple[str, ...] = (EXPS_NAMESPACE,), raw: bytes | None = None,
              parse: bool = True) -> RefSnapshot:
    """Every ref the listing uses; `exps`: the experiment refs to read (default all; one exact ref when resolving
    a name: `ExperimentIndex.experiment_by_ref`). `raw`: for-each-ref's output read before (`raw` of a snapshot
    read with `parse` False), not read again. `parse` False: the experiment refs are not parsed (`exps` empty,
    `raw` kept): all but ~0.05 s of a read at 100,000 refs, for `first_rows.amend`, which compares `raw` with the
    last start's and parses only the lines that differ; the listing parses the rest (`ExperimentIndex.rows`)."""
    # `*objectname` (peeling) makes git read every object, so it is asked for tags only: 0.1 s saved at 10k refs.
    # the whole output is one `split` into a flat list (NUL between the fields and, once replaced, between lines:
    # neither can be in a refname), the two columns are slices of it, no tuple per line
    out = raw if raw is not None else git.run_bytes(*refs_args(exps))
    lines = out if parse else _outside_exps(out)
    flat = lines.decode("utf-8", "replace").replace("\n", "\0").split("\0")
    names, shas = flat[0:-1:2], flat[1::2]   # the output ends with a newline: one empty field last
    del flat
    branch = git.head_branch()
    snap = RefSnapshot(head=None, head_branch=branch, raw=out, parsed=parse)
    baselines: dict[str, str] = {}  # one string per baseline, not one copy per experiment (100k refs: ~10 MB)
    found = snap.exps
    # for-each-ref lists refs by name, so a baseline's experiments are one run: each run found by bisection
    # and taken whole (checked ref by ref with a C-speed scan, so an unsorted list is still read right)
    i, end = 0, len(names)
    while i < end:
        ref = names[i]
        if ref.startswith(EXPS_PREFIX):
            parsed = parse_exp_ref(ref)
            if parsed is not None:
                cut = ref.rfind("/") + 1
                prefix = ref[:cut]
                j = bisect_left(names, prefix[:-1] + "0", i + 1, end)   # "0" follows "/": past the run
                block = names[i:j]
                tails = [r[cut:] for r in block if r.startswith(prefix)]
                baseline = baselines.setdefault(parsed[0], parsed[0])
                if j > i + 1 and len(tails) == len(block) and "" not in tails and "/" not in "\0".join(tails):
                    found.extend(zip(block, shas[i:j], repeat(baseline), tails))
                    i = j
                    continue
                found.append((ref, shas[i], baseline, parsed[1]))
            elif ref == DVC_QUEUE_REF:
                snap.dvc_queue = shas[i]
            elif ref == DVC_FAILED_REF:
                snap.dvc_failed = shas[i]
        elif ref.startswith("refs/heads/"):
            snap.branches[ref[11:]] = shas[i]
        elif ref == NOTES_REF:
            snap.notes = shas[i]
        i += 1
    for ref, sha, peeled in git.for_each_ref(["refs/tags"], ("refname", "objectname", "*objectname")):
        if ref.startswith("refs/tags/"):
            snap.tags[ref[10:]] = peeled or sha
    if branch is not None and branch in snap.branches:
        snap.head = snap.branches[branch]
    else:
        snap.head = git.rev_parse("HEAD")
    return snap


def _outside_exps(out: bytes) -> bytes:
    """The lines of a `read_refs` output that are not experiment refs (DVC's queue refs are kept): for-each-ref
    sorts by name, so the refs under `refs/exps/` are one run of lines, skipped without splitting it."""
    prefix = EXPS_PREFIX.encode()
    if out.startswith(prefix):
        start = 0
    else:
        start = out.find(b"\n" + prefix) + 1
        if start == 0:
            return out
    last = out.rfind(b"\n" + prefix) + 1   # the start of the run's last line (0: the run is the first line)
    end = out.find(b"\n", max(last, start)) + 1 or len(out)
    kept = [out[:start]]
    for queue_ref in (DVC_FAILED_REF, DVC_QUEUE_REF):   # inside the run, in its order
        line = queue_ref.encode() + b"\0"
        if out.startswith(line, start):
            at = start
        else:
            at = out.find(b"\n" + line, start, end) + 1
            if at == 0:
                continue
        kept.append(out[at:out.find(b"\n", at) + 1 or len(out)])
    kept.append(out[end:])
    return b"".join(kept)


def _cache_version() -> tuple:
    """What a cache file must match to be used: the extraction rules and the shapes of the records it pickles
    (a field added to RunFacts or Annotations invalidates old files instead of half-filling new rows), the
    size limit for files shown (a file refused under one limit is read again under a higher one), and the
    ``show --json`` pieces of a sample row (a change to `show_json.record` invalidates the stored pieces)."""
    from dataclasses import fields

    from exptui.store.commit_data import display_file_limit

    return (EXTRACT_VERSION, tuple(f.name for f in fields(RunFacts)), tuple(f.name for f in fields(Annotations)),
            display_file_limit(), _json_fingerprint())


def _json_fingerprint() -> tuple[str, str]:
    """The stored ``show --json`` pieces of a fixed sample commit, as this version of the code writes them."""
    stamp = datetime(2020, 1, 2, 3, 4, 5, tzinfo=_UTC)
    data = {"time": 1577934245, "status": "failed", "errors": {"bad.yaml": "bad"},
            "params": {"p.yaml": {"a": 1, "b.c": 0.5}, "bad.yaml": {"x": 1}},
            "metrics": {"m.json": {"f1": float("nan"), "s": "x"}},
            "facts": RunFacts(created=stamp, started=stamp, finished=stamp, duration=1.5, command="c", host="h")}
    return _commit_fragments("0" * 40, data)


class IndexCache:
    """The on-disk per-commit cache: append-only segments of checksummed columns (`index_segments`).

    `load` reads only the segments' headers and commit ids; an entry's full data, the commit times and the
    ``show --json`` fragments are read the first time they are asked for. Entries added by a listing are appended
    as one new segment on `save`; every `MAX_SEGMENTS` appends the small segments are merged (bytes copied, nothing
    unpickled). A damaged or truncated file is reported in one line on stderr and the index is rebuilt."""

    DIR = "index"
    NOTES = "notes.bin"
    LEGACY = "commits.pickle"
    MAX_SEGMENTS = 8
    LARGE = 4096      # segments of this many entries or more are never merged on append (see `_rewrite`)
    CHUNK = 5000      # a cold listing reads, stores and frees commits this many at a time (`ExperimentIndex._ensure`)

    def __init__(self, git: Git, fragments: Callable[[str, dict], tuple[str, str] | None] | None = None):
        self.dir = git.git_dir / "exptui" / self.DIR
        self._fragments_of = fragments
        self._notes: tuple[str, dict[str, Annotations]] | None = None
        self._notes_dirty = False
        self.pending: dict[str, dict] = {}
        self.dirty = False
        self._loaded = False     # the segments and their commits' ids read (`open`)
        self._indexed = False    # `_loc` built from them (`load`); before it a lookup scans `_shas` (`_at`)
        self._version: tuple = ()
        self._segments: list[Segment] = []
        self._stale: list[Path] = []  # segment files of another version: removed on the next save
        # sha -> segment << 32 | position: one int a commit, not a (segment, position) tuple (~5 MiB at 100k)
        self._loc: dict[str, int] = {}
        self._shas: list[list[str]] = []  # per segment, its commits in order: the same str objects as `_loc`'s keys
        self._entries: dict[int, Entries] = {}
        self._times: dict[int, list] = {}
        self._json: dict[int, list] = {}
        self._decoded: dict[str, dict] = {}
        self._keys: dict[str, str] = {}  # one str object per distinct dict key of the decoded entries (`_share_keys`)
        self._listed: dict[str, ExperimentRow] = {}  # sha -> the newest shared listing row of it (`listed_row`)
        self._values: dict[str, dict[str, dict | None]] = {}  # file -> key -> one object per distinct value (`listed`)
        self._cols: dict[tuple[int, Any], Any] = {}  # (segment, what) -> a decoded piece of the per-column store

    # --- loading ------------------------------------------------------------------------------------------------

    def load(self) -> None:
        """The segments, their commits' ids and the id -> place map `_loc` (~40 ms at 100,000, 30 of it the map):
        what a listing and every write need."""
        self.open()
        if self._indexed:
            return
        self._indexed = True
        for k, shas in enumerate(self._shas):
            at = k << _SEG
            for i, sha in enumerate(shas):
                self._loc[sha] = at | i

    def open(self) -> None:
        """The segments and their commits' ids, without the map (~10 ms at 100,000): enough for a few lookups
        (`missing_few`, `times_of`, `listed_row`; the dashboard's early start amends its saved screen with a few
        new experiments' keys before the paint, and the map is built by the listing after it)."""
        if self._loaded:
            return
        self._loaded = True
        self._version = _cache_version()
        try:
            self._load()
            notes = decode_blob(self.dir / self.NOTES, self._version)
            if isinstance(notes, tuple) and len(notes) == 2:
                self._notes = notes
        except IndexDamaged as exc:
            self._damaged(exc)  # nothing was handed out yet: the listing just reads every commit

    def _load(self) -> None:
        for path in list_segments(self.dir):
            seg = read_header(path, segment_number(path) or 0)
            if seg is None:
                continue
            if seg.version != self._version:
                seg.close()
                self._stale.append(path)
                continue
            self._segments.append(seg)
            self._shas.append(load_list(seg, "sha"))

    def _damaged(self, exc: IndexDamaged) -> None:
        """One line on stderr, then start from nothing: the next save writes a whole new index."""
        import sys

        from exptui.query.inert import inert

        print(inert(f"exptui: the experiment index in {self.dir} is damaged ({exc}); rebuilding it"),
              file=sys.stderr)
        for seg in self._segments:
            seg.close()
        self._stale.extend(list_segments(self.dir))
        self._stale.append(self.dir / self.NOTES)
        self._segments, self._loc, self._entries, self._times, self._json, self._cols = [], {}, {}, {}, {}, {}
        self._shas = []
        self._decoded, self._notes, self._listed = {}, None, {}
        self.dirty = self._notes_dirty = True

    def _guard(self, fn: Callable[[], Any]) -> Any:
        """Run a read of the files; on damage: the notice, an empty index, and `IndexRebuilt` for the listing
        to start over (it then reads every commit again), so a damaged file never yields a wrong or missing row."""
        try:
            return fn()
        except IndexDamaged as exc:
            self._damaged(exc)
            raise IndexRebuilt from None

    # --- entries ------------------------------------------------------------------------------------------------

    def __contains__(self, sha: str) -> bool:
        self.load()
        return sha in self._loc or sha in self.pending

    def __len__(self) -> int:
        self.load()
        return len(self._loc.keys() | self.pending.keys())

    def get(self, sha: str) -> dict | None:
        self.open()   # one entry: looked up without the id map if it is not built yet (`_at`)
        data = self.pending.get(sha) or self._decoded.get(sha)
        if data is not None:
            return data
        loc = self._where(sha)
        if loc is None:
            return None
        data = _share_keys(self._guard(lambda: self._segment_entries(loc[0]).get(loc[1])), self._keys)
        self._decoded[sha] = data
        return data

    def release_bulk(self) -> None:
        """Drop the segments' ``data`` columns read whole for a listing (~2.6 MB per 5,000 entries, 51 MiB at
        100,000): the entries are decoded by then, and a later read of a few is one `pread` each. The commit
        times too (~3.6 MiB at 100k: an int a commit): the rows hold their `created`, and the next listing reads
        the times again (20 columns at 100k, ~15 ms of CPU)."""
        for entries in self._entries.values():
            entries.release()
        self._times = {}

    def put(self, sha: str, data: dict) -> None:
        """A new entry, or a changed one (a baseline's dvc.yaml paths found later): appended on `save` (which
        loads everything first; pending entries need no id map)."""
        self.open()
        self.pending[sha] = data
        self._decoded.pop(sha, None)
        self._listed.pop(sha, None)
        self.dirty = True

    def listed_row(self, item: tuple) -> ExperimentRow:
        """The shared listing row of a plan item (name, sha, baseline, baseline name, annotations, ref).

        It holds the parts of the commit's entry a row shows (params, metrics, errors, status, time, facts): an
        entry decoded for this is not kept whole (`get` decodes it again for a reader that wants more), so the
        dashboard's 100,000 rows do not hold the entries' tree, parents, message and metric files (~700 bytes an
        entry, ~70 MiB at 100k). The newest row of each commit is kept by sha and a reload's row takes its parts
        (the same dicts and `created`) from it: no second copy while both listings are alive, and no per-commit
        tuple of the parts kept beside the rows (~12 MiB at 100k). Rows are read-only for their holders."""
        name, sha, b, bname, ann, ref = item
        prev = self._listed.get(sha)
        if prev is None:
            row = _listed_row(item, self.listed(sha))
        else:
            row = ExperimentRow(
                name=name, rev=prev.rev, baseline=b, kind="experiment", status=prev.status, baseline_name=bname,
                created=prev.created, params=prev.params, metrics=prev.metrics, errors=prev.errors,
                annotations=ann or _NO_ANNOTATIONS, facts=prev.facts, ref=ref,
            )
        self._listed[sha] = row
        return row

    def listed(self, sha: str) -> tuple | None:
        """(params, metrics, errors, status, time, facts) of a stored commit: what a shared listing row holds,
        with shared key strings and values (`_share_values`). Not kept: `listed_row` keeps the row."""
        data = self.pending.get(sha) or self._decoded.get(sha)
        if data is None:
            loc = self._where(sha)
            if loc is None:
                return None
            data = self._guard(lambda: self._segment_entries(loc[0]).get(loc[1]))
            keys, values = self._keys, self._values  # only the parts kept get shared keys and values
            data = {"params": _share_values(data["params"], keys, values, "params"),
                    "metrics": _share_values(data["metrics"], keys, values, "metrics"),
                    "errors": _share_keys(data["errors"], keys), "status": data.get("status"),
                    "time": data.get("time"), "facts": data.get("facts")}
        return (data["params"], data["metrics"], data["errors"] or _NO_ERRORS, data.get("status"),
                data.get("time"), data.get("facts"))

    def stored_sha(self, sha: str) -> str:
        """The index's own str object equal to `sha` (`sha` itself for a commit not written yet): a row's `rev`
        held as this is not a second copy of the commit id (~90 bytes a row, 9 MiB at 100,000)."""
        at = self._at(sha)
        return sha if at is None else self._shas[at >> _SEG][at & _POS]

    def missing(self, shas: Iterable[str]) -> list[str]:
        """The commits of `shas` the index does not have (one pass, no call per sha: 100,000 at a listing)."""
        self.load()
        loc, pending = self._loc, self.pending
        return [s for s in shas if s not in loc and s not in pending]

    def missing_few(self, shas: Iterable[str]) -> list[str]:
        """`missing` for a few commits (the dashboard's early start), without building the id map if it is not
        built yet: each is looked for in the segments' id lists (`_at`)."""
        self.open()
        pending = self.pending
        return [s for s in shas if s not in pending and self._at(s) is None]

    def times_of(self, listed: Iterable[tuple[str, str, str]]) -> list[Any]:
        """The commit time of each (ref, sha, name) in `listed`; `_ABSENT` for a commit the index does not have.
        After `open` only (a few commits), each is looked for in the segments' id lists."""
        pending, by_segment = self.pending, self._times
        loc_get = self._loc.get if self._indexed else self._at
        out: list[Any] = []
        for _ref, sha, _name in listed:
            at = loc_get(sha)
            if at is None or sha in pending:
                data = pending.get(sha)
                out.append(_ABSENT if data is None else data.get("time"))
                continue
            k = at >> _SEG
            times = by_segment.get(k)
            if times is None:
                times = self.times(k)
            out.append(times[at & _POS])
        return out

    def time_of(self, sha: str) -> Any:
        loc = self._where(sha)
        if loc is None or sha in self.pending:
            data = self.pending.get(sha)
            return None if data is None else data.get("time")
        times = self._times.get(loc[0])
        if times is None:
            times = self._times[loc[0]] = self._guard(lambda: load_list(self._segments[loc[0]], "time"))
        return times[loc[1]]

    def fragments(self, sha: str) -> tuple[str, str] | None:
        """The commit's pre-encoded ``show --json`` pieces (`show_json.commit_fragments`), or None."""
        if sha in self.pending:
            return None
        loc = self._where(sha)
        if loc is None:
            return None
        frags = self._json.get(loc[0])
        if frags is None:
            frags = self._json[loc[0]] = self._guard(lambda: load_list(self._segments[loc[0]], "json"))
        return frags[loc[1]]

    def _segment_entries(self, k: int) -> Entries:
        entries = self._entries.get(k)
        if entries is None:
            entries = self._entries[k] = Entries(self._segments[k])
        return entries

    # --- the per-column store (`_columnar`) ----------------------------------------------------------------------

    def location(self, sha: str) -> tuple[int, int] | None:
        """(segment, position) of a stored commit; None for one not written yet (pending) or unknown."""
        return None if sha in self.pending else self._where(sha)

    def _where(self, sha: str) -> tuple[int, int] | None:
        """(segment, position) of `sha` in the segments, whether or not a newer version of it is pending."""
        at = self._at(sha)
        return None if at is None else (at >> _SEG, at & _POS)

    def _at(self, sha: str) -> int | None:
        """`_loc[sha]`; before `load` built it, the segments' id lists are scanned (C-level, ~1 ms at 100,000),
        newest segment first, as the map's later segments win."""
        if self._indexed:
            return self._loc.get(sha)
        for k in range(len(self._shas) - 1, -1, -1):
            try:
                return k << _SEG | self._shas[k].index(sha)
            except ValueError:
                continue
        return None

    def _piece(self, k: int, name: str) -> Any:
        key = (k, name)
        if key not in self._cols:
            seg = self._segments[k]

            def read() -> Any:
                if name == "schema_ids":
                    ids = array("I")
                    try:
                        ids.frombytes(read_column(seg, name))
                    except ValueError:
                        raise IndexDamaged(f"{seg.path.name}: bad schema ids") from None
                    if len(ids) != seg.count:
                        raise IndexDamaged(f"{seg.path.name}: schema ids do not match the entries")
                    return ids
                try:
                    return pickle.loads(read_column(seg, name))
                except IndexDamaged:
                    raise
                except Exception:  # noqa: BLE001
                    raise IndexDamaged(f"{seg.path.name}: column {name} unreadable") from None

            self._cols[key] = self._guard(read)
        return self._cols[key]

    def schema(self, loc: tuple[int, int]) -> tuple[int, Any]:
        """(schema id within its segment, the `columns.Schema`) of the stored entry at `loc`."""
        k, i = loc
        sid = self._piece(k, "schema_ids")[i]
        return sid, self._piece(k, "schemas")[sid]

    def values(self, k: int, family: str, file: str, key: str) -> dict[int, Any]:
        """One param's or metric's values in segment `k`: {position: value}, only the entries that have it."""
        ck = (k, (family, file, key))
        found = self._cols.get(ck)
        if found is None:
            part = self._piece(k, "vals_dir").get((family, file, key))
            if part is None:
                found = {}
            else:
                seg = self._segments[k]

                def read() -> Any:
                    return unpickle_mapping(read_part(seg, "vals", *part), f"{seg.path.name}: a value column")

                found = self._guard(read)
            self._cols[ck] = found
        return found

    def times(self, k: int) -> list:
        """The commit times of segment `k`'s entries."""
        times = self._times.get(k)
        if times is None:
            times = self._times[k] = self._guard(lambda: load_list(self._segments[k], "time"))
        return times

    def sparse(self, k: int, name: str) -> dict[int, Any]:
        """``status``/``errors`` of segment `k`: {position: value} for the entries that have one."""
        return self._piece(k, name)

    def facts(self, k: int) -> list:
        return self._piece(k, "facts")

    # --- notes --------------------------------------------------------------------------------------------------

    @property
    def notes(self) -> tuple[str, dict[str, Annotations]] | None:
        self.open()   # read with the segments; the id map is not needed for them
        return self._notes

    @notes.setter
    def notes(self, value: tuple[str, dict[str, Annotations]] | None) -> None:
        self.load()
        self._notes = value
        self._notes_dirty = True
        self.dirty = True

    # --- writing ------------------------------------------------------------------------------------------------

    def save(self, retain: bool = True) -> None:
        """Append the pending entries as one segment (and merge small segments). `retain=False`: the entries are
        not kept decoded in memory once written (a cold listing writes 100,000 commits in chunks and frees each
        chunk: it reads them back as pieces), unless writing failed (read-only .git): then they stay pending."""
        if not self.dirty:
            return
        self.load()   # the id map: the new segment's ids go into it, a merge (`_rewrite`) walks it
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._remove_stale_temp_files()
            for path in self._stale:  # before writing: a rebuilt notes file has the same name as the damaged one
                path.unlink(missing_ok=True)
            self._stale = []
            if self._notes_dirty:
                atomic_write(self.dir / self.NOTES, encode_blob(self._version, self._notes), durable=False)
                self._notes_dirty = False
            if self.pending:
                shas = list(self.pending)
                payload = segment_payload(self._version, self._fragments_of, shas, [self.pending[s] for s in shas])
                number = max([seg.number for seg in self._segments] + [_newest_number(self.dir)]) + 1
                path = write_segment(self.dir, number, payload)
                seg = read_header(path, number)
                if seg is not None:
                    k = len(self._segments)
                    self._segments.append(seg)
                    self._shas.append(shas)
                    for i, sha in enumerate(shas):
                        self._loc[sha] = k << _SEG | i
                        if retain:
                            self._decoded[sha] = self.pending[sha]
                self.pending = {}
            if sum(seg.count < self.LARGE for seg in self._segments) > self.MAX_SEGMENTS:
                self._rewrite(None, only_small=True)
            (self.dir.parent / self.LEGACY).unlink(missing_ok=True)
            (self.dir / self.LEGACY).unlink(missing_ok=True)
        except (OSError, IndexDamaged):
            return  # the cache is an optimisation: a read-only .git or a full disk must not break listing
        self.dirty = False

    def add_segment(self, shas: list[str], written: Path) -> bool:
        """Append a segment file written by a cold build's second process (`index_worker`: `segment_payload` of
        `shas`, in a temp file of this directory), renamed to the next number; its entries are read back from the
        file, as after `save(retain=False)`. False when it is not there or not whole: the caller then reads those
        commits itself."""
        self.load()
        try:
            number = max([seg.number for seg in self._segments] + [_newest_number(self.dir)]) + 1
            path = segment_path(self.dir, number)
            os.replace(written, path)
            seg = read_header(path, number)
        except (OSError, IndexDamaged):
            return False
        if seg is None or seg.count != len(shas) or seg.version != self._version:
            if seg is not None:
                seg.close()
            path.unlink(missing_ok=True)
            return False
        k = len(self._segments)
        self._segments.append(seg)
        self._shas.append(shas)
        for i, sha in enumerate(shas):
            self._loc[sha] = k << _SEG | i
            self.pending.pop(sha, None)
            self._decoded.pop(sha, None)
        return True

    def _rewrite(self, keep: set[str] | None, only_small: bool = False) -> None:
        """Merge every segment into one (without the entries not in `keep`), copying each entry's bytes.
        `only_small`: merge only the segments under `LARGE` entries; large ones (a cold listing's chunks) stay
        as they are, so appending never copies the whole history (nor holds it in memory)."""
        merge = {k for k, seg in enumerate(self._segments) if not only_small or seg.count < self.LARGE}
        shas: list[str] = []
        times: list[Any] = []
        frags: list[Any] = []
        datas: list[bytes] = []
        decoded: list[dict] = []
        for sha, at in self._loc.items():
            k, i = at >> _SEG, at & _POS
            if keep is not None and sha not in keep or k not in merge:
                continue
            seg = self._segments[k]
            if k not in self._times:
                self._times[k] = load_list(seg, "time")
            if k not in self._json:
                self._json[k] = load_list(seg, "json")
            shas.append(sha)
            times.append(self._times[k][i])
            frags.append(self._json[k][i])
            datas.append(self._segment_entries(k).raw(i))
            decoded.append(self._segment_entries(k).get(i))  # the per-column store is built from the values
        number = max([seg.number for seg in self._segments] + [_newest_number(self.dir)]) + 1
        path = write_segment(self.dir, number, encode(self._version, shas, times, frags, datas, _columnar(decoded)))
        kept = [k for k in range(len(self._segments)) if k not in merge]  # large segments, in their order
        renumber = {k: j for j, k in enumerate(kept)}
        old = [self._segments[k] for k in sorted(merge)]
        merged = read_header(path, number)
        loc = {sha: renumber[at >> _SEG] << _SEG | at & _POS for sha, at in self._loc.items() if at >> _SEG in renumber}
        self._segments = [self._segments[k] for k in kept]
        self._shas = [self._shas[k] for k in kept]
        if merged is not None:
            loc.update((sha, len(self._segments) << _SEG | i) for i, sha in enumerate(shas))
            self._segments.append(merged)
            self._shas.append(shas)
        self._loc = loc
        self._entries, self._times, self._json, self._cols = {}, {}, {}, {}
        if keep is not None:
            self._decoded = {s: d for s, d in self._decoded.items() if s in keep}
            self._listed = {s: d for s, d in self._listed.items() if s in keep}
        for s in old:
            s.close()
            s.path.unlink(missing_ok=True)

    def _remove_stale_temp_files(self, max_age: float = 3600.0) -> None:
        """Temp files of writers killed mid-write: the writer named in the file's name is dead (a cold build's
        helper, `index_worker.helper_temp_pid`, or `atomic_write`'s temp, ``.<name>.<pid>.<random>.tmp``), or the
        file is an hour old (no live writer takes that long; a pid of another machine sharing the directory). A
        zombie is dead (`claims.pid_alive`): a killed parent's helper may stay one for minutes in a container."""
        import time

        from dvc_compat.fsutil import temp_name_pid
        from exptui.store.claims import pid_alive
        from exptui.store.index_worker import helper_temp_pid

        now = time.time()
        for tmp in self.dir.glob(".*.tmp"):
            pid = helper_temp_pid(tmp.name) or temp_name_pid(tmp.name)
            try:
                if pid is not None and pid != os.getpid() and not pid_alive(pid) \
                        or now - tmp.stat().st_mtime > max_age:
                    tmp.unlink()
            except OSError:
                continue

    def prune(self, keep: Iterable[str]) -> int:
        """Drop entries for commits not in `keep`; returns how many were dropped. Rewrites the index at once."""
        self.load()
        keep = set(keep)
        for sha in [s for s in self.pending if s not in keep]:
            del self.pending[sha]
        drop = [sha for sha in self._loc if sha not in keep]
        if drop:
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                self._rewrite(keep)
            except (OSError, IndexDamaged):
                pass
        return len(drop)


_SEG = 32  # `IndexCache._loc`: a commit's segment is its value >> _SEG, its position in it the value & _POS
_POS = (1 << _SEG) - 1


def _fragment(fragments_of: Callable[[str, dict], tuple[str, str] | None] | None, sha: str,
              data: dict) -> tuple[str, str] | None:
    if fragments_of is None:
        return None
    try:
        return fragments_of(sha, data)
    except Exception:  # noqa: BLE001 - no fragment: that row is encoded from its data, the slower way
        return None


def segment_payload(version: tuple, fragments_of: Callable[[str, dict], tuple[str, str] | None] | None,
                    shas: list[str], datas: list[dict]) -> bytes:
    """One segment file's bytes for these entries: their times, pre-encoded JSON pieces, whole pickles and the
    per-column store. A function of its arguments alone, so a cold build's second process encodes its chunks
    exactly as `IndexCache.save` does."""
    return encode(version, shas, [d.get("time") for d in datas], [_fragment(fragments_of, s, d) for s, d in zip(shas, datas)],
                  [pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL) for d in datas], _columnar(datas))


def read_chunk(reader: CommitReader, shas: list[str], hints: dict[str, tuple[str, ...]] | None) -> dict[str, dict]:
    """The index entries of `shas` (commits that do not exist are left out): what `reader` extracts, the message
    cut to its first line, with the run facts and status of its trailers."""
    new = reader.read(shas, hints)
    for data in new.values():
        facts, status = parse_trailers(data["message"])
        data["facts"] = facts
        data["status"] = status
        data["message"] = data["message"].split("\n", 1)[0]
    return new


_PLAIN = frozenset({int, float, str, bool, type(None), list})


def _columnar(datas: list[dict]) -> dict[str, bytes]:
    """The per-column store of a segment's entries, beside their whole pickles:

    - ``vals_dir`` + ``vals``: one pickled {position: value} per (family, file, top-level key), each with its
      offset, length and CRC, so ``show --filter 'f1 > 0.9' --limit 20`` unpickles the ``f1`` column alone;
    - ``schemas`` + ``schema_ids``: each entry's `columns.Schema` (its files, keys and value kinds), stored once per
      distinct schema: the table's columns, their order and kinds, come from these without reading any values;
    - ``status``, ``errors``: sparse {position: value}; ``facts``: one list (read only for a filter on them).
    """
    from exptui.query.columns import schema_of

    vals: dict[tuple[str, str, str], dict[int, Any]] = {}
    schemas: list[Any] = []
    schema_ids = array("I")
    by_signature: dict[tuple, int] = {}
    by_schema: dict[Any, int] = {}
    status: dict[int, Any] = {}
    errors: dict[int, Any] = {}
    facts: list[Any] = []
    for i, data in enumerate(datas):
        signature: list[Any] = []
        exact = False
        for family in ("metrics", "params"):
            for file, values in (data.get(family) or {}).items():
                if values.__class__ is not dict:
                    exact = True  # rare (a list, a non-dict mapping): its schema is worked out in full below
                    if not isinstance(values, Mapping):
                        continue
                signature.append((family, file, tuple(values), tuple(v.__class__ for v in values.values())))
                for key, value in values.items():
                    column = vals.get((family, file, key))
                    if column is None:
                        column = vals[(family, file, key)] = {}
                    column[i] = value
                    if value.__class__ not in _PLAIN and isinstance(value, Mapping):
                        exact = True  # nested: the schema holds its flattened keys, not only the class
        sig = tuple(signature)
        sid = None if exact else by_signature.get(sig)
        if sid is None:  # the same keys and value types always give the same schema: worked out once per kind
            schema = schema_of(data.get("metrics"), data.get("params"))
            sid = by_schema.get(schema)
            if sid is None:
                sid = by_schema[schema] = len(schemas)
                schemas.append(schema)
            if not exact:
                by_signature[sig] = sid
        schema_ids.append(sid)
        if data.get("status") is not None:
            status[i] = data["status"]
        if data.get("errors"):
            errors[i] = data["errors"]
        facts.append(data.get("facts"))
    directory: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    parts: list[bytes] = []
    offset = 0
    for name, column in vals.items():
        raw = pickle.dumps(column, protocol=pickle.HIGHEST_PROTOCOL)
        directory[name] = (offset, len(raw), zlib.crc32(raw))
        parts.append(raw)
        offset += len(raw)
    dump = pickle.dumps
    return {"schemas": dump(schemas, protocol=pickle.HIGHEST_PROTOCOL), "schema_ids": schema_ids.tobytes(),
            "vals_dir": dump(directory, protocol=pickle.HIGHEST_PROTOCOL), "vals": b"".join(parts),
            "status": dump(status, protocol=pickle.HIGHEST_PROTOCOL),
            "errors": dump(errors, protocol=pickle.HIGHEST_PROTOCOL),
            "facts": dump(facts, protocol=pickle.HIGHEST_PROTOCOL)}


def _newest_number(directory: Path) -> int:
    """The highest segment number on disk (another process may have appended since this one loaded)."""
    paths = list_segments(directory)
    return (segment_number(paths[-1]) or 0) if paths else 0


class ExperimentIndex:
    """Lists baselines, experiments and queued entries of one repository as `ExperimentRow`s."""

    def __init__(self, git: Git, dvc_cache_dir: Path | None = None):
        self.git = git
        self.cache = IndexCache(git, _commit_fragments)
        self.reader = CommitReader(git, dvc_cache_dir)
        self.refs_read = 0  # listings that read the refs so far (the refs themselves are not kept: 7-13 MiB at 100k)
        # the TUI lists from a worker thread while actions (star, apply...) resolve names from others
        self._lock = threading.RLock()

    # --- commit data --------------------------------------------------------------------------------------------

    def commit_data(self, shas: Iterable[str], hints: dict[str, tuple[str, ...]] | None = None) -> dict[str, dict]:
        """Cached extraction for `shas`, reading only commits never seen before."""
        with self._lock:
            return _retrying(lambda: self._commit_data(shas, hints))

    def _commit_data(self, shas: Iterable[str], hints: dict[str, tuple[str, ...]] | None = None) -> dict[str, dict]:
        shas = list(dict.fromkeys(shas))
        self._ensure(shas, hints)
        out = {}
        for s in shas:
            data = self.cache.get(s)
            if data is not None:
                out[s] = data
        return out

    def _ensure(self, shas: list[str], hints: dict[str, tuple[str, ...]] | None = None) -> None:
        """Read the commits of `shas` the cache does not have (one batched read)."""
        cache = self.cache
        # a few (the early start's new commits, `index_new`): looked up without building the id map
        missing = cache.missing_few(shas) if len(shas) <= self.INDEX_NEW_LIMIT else cache.missing(shas)
        if not missing:
            return
        # a cold listing of 100,000 commits: read, store and free them a chunk at a time, so peak memory is one
        # chunk's (the listing reads them back as pre-encoded pieces); a few new commits are kept decoded
        chunked = len(missing) > cache.CHUNK
        chunks = [missing[start:start + cache.CHUNK] for start in range(0, len(missing), cache.CHUNK)]
        helper = None
        if len(missing) >= self.PARALLEL_FROM:
            from exptui.store.index_worker import SegmentWorker

            # the second half of the chunks to a second process (both cores: reading and parsing 100,000 commits
            # is ~15 s of CPU), started first so it works while this one reads the first half
            half = (len(chunks) + 1) // 2
            helper = SegmentWorker.start(self.git, self.reader.dvc_cache_dir, cache, chunks[half:], hints)
            if helper is not None:
                chunks, later = chunks[:half], chunks[half:]
        try:
            for chunk in chunks:
                self._store_chunk(chunk, hints, chunked)
            if helper is not None:
                # its segments, in chunk order (the same files a serial build writes); any chunk it did not
                # deliver (it failed or was killed), or that could not be added, is read here
                delivered = helper.results()
                for i, chunk in enumerate(later):
                    got = delivered.pop(i, None)
                    if got is None or not cache.add_segment(*got):
                        self._store_chunk(chunk, hints, chunked)
                cache.save(retain=False)  # merges small segments, as after any chunk
        finally:
            if helper is not None:
                helper.close()

    #: from this many commits to read, a cold build uses a second process (`exptui.store.index_worker`)
    PARALLEL_FROM = 20000

    def _store_chunk(self, chunk: list[str], hints: dict[str, tuple[str, ...]] | None, chunked: bool) -> None:
        cache = self.cache
        for sha, data in read_chunk(self.reader, chunk, hints).items():
            cache.put(sha, data)
        if chunked:
            cache.save(retain=False)
            self.reader.forget_parsed()

    def annotations(self, notes_sha: str | None) -> dict[str, Annotations]:
        from exptui.store.annotations import read_all

        cached = self.cache.notes
        if notes_sha is None:
            return {}
        if cached is not None and cached[0] == notes_sha:
            return cached[1]
        if cached is not None:
            from exptui.store.annotations import read_changes

            notes = read_changes(self.git, cached[0], notes_sha, cached[1])
        else:
            notes = read_all(self.git, notes_sha)
        self.cache.notes = (notes_sha, notes)
        return notes

    # --- listing ------------------------------------------------------------------------------------------------

    def rows(self, all_commits: bool = False, include_workspace: bool = True, num: int = 1,
             shared: bool = False, *, first: int = 0,
             on_first: Callable[[list[ExperimentRow], int], None] | None = None,
             on_refs: Callable[[RefSnapshot], None] | None = None,
             refs: RefSnapshot | None = None) -> list[ExperimentRow]:
        """Workspace row, then per baseline: the baseline row, its experiments (newest first), its queued entries.

        Baselines: HEAD; branch tips that have experiments; with `all_commits` every commit that has experiments;
        the last `num` commits of HEAD's first-parent history. Thread-safe.

        `shared`: experiment rows hold the index's own params/metrics/errors dicts instead of copies (a one-shot
        reader that never changes them, `show --filter/--sort-by/--limit`, saves a copy of every dict).

        With `on_first`, the first `first` rows of the listing (the top of the dashboard) are built first and
        handed to `on_first(rows, total)` before the rest are: at 100,000 experiments building every row object
        is most of a warm listing, and a screen shows forty. Not called when the listing has no more rows than
        `first` (or called again if a damaged index is rebuilt midway).

        `on_refs(snapshot)`: called with the refs as soon as they are read, before the rest of the plan (the
        dashboard amends its saved first screen with them: `exptui.store.first_rows.amend`). `refs`: read already
        (`read_snapshot`, by the dashboard's early start, after a change token equal to the caller's), not again.
        """
        from exptui.query.gc_pause import gc_paused

        def listing() -> list[ExperimentRow]:
            plan = self._plan(all_commits, include_workspace, num, on_refs, refs)
            if on_first is None or len(plan) <= first:
                return self._materialize(plan, shared)
            head = self._materialize(plan[:first], shared)
            on_first(head, len(plan))
            return head + self._materialize(plan[first:], shared)

        with self._lock, gc_paused():  # acyclic rows in bulk: see gc_pause for why and what it saves
            try:
                return _retrying(listing)
            finally:
                self.cache.release_bulk()

    def json_lines(self, all_commits: bool = False, num: int = 1,
                   live: Mapping[str, dict[str, Any]] | None = None) -> Iterator[str]:
        """The listing of `rows` as ``show --json`` objects, one string per row, equal to
        ``json.dumps(show_json.record(row), ensure_ascii=False)``, but built from each commit's pre-encoded
        fragments: the params/metrics of experiments already indexed are never unpickled. Every file read happens
        before the first string is yielded (a damaged index is rebuilt first, never noticed halfway). `live`: as
        `show_json.record`'s, for running rows (never pre-encoded: they are queue entries, not indexed commits)."""
        from exptui.query.gc_pause import gc_paused
        from exptui.query.show_json import experiment_json, record_json

        with self._lock, gc_paused():
            plan = _retrying(lambda: self._json_plan(all_commits, num))
        with gc_paused():
            bases: dict[tuple[str, str], str] = {}
            for item in plan:
                if isinstance(item, str):
                    yield item
                elif isinstance(item, ExperimentRow):
                    yield record_json(item, live)
                else:
                    name, sha, b, bname, ann, frags = item
                    base = bases.get((b, bname))
                    if base is None:
                        base = bases[(b, bname)] = experiment_json.base_part(b, bname)
                    yield experiment_json.assemble(name, sha, base, frags, ann)

    def columnar(self, all_commits: bool, num: int, choose: Callable[[list[Column]], Iterable[Column]]
                 ) -> tuple[list[Column], list[ExperimentRow], Callable[[list[ExperimentRow]], list[ExperimentRow]]]:
        """The listing for a filter/sort/limit that reads only the columns it names (``show --filter 'f1 > 0.9'
        --sort-by f1 --limit 20`` at 100k: the ``f1`` values, not 100,000 entries).

        Returns (every column of the listing, as `collect_columns` of the full rows would give them; the rows,
        whose experiments hold only the values of the columns `choose(columns)` names, plus their status, errors,
        annotations and, when a fact field is named, facts; `full`, which turns some of those rows into full rows
        (the index's own dicts: read-only)). A filter or sort over the columns `choose` named gives the same
        result on these rows as on full rows."""
        from exptui.query.gc_pause import gc_paused

        with self._lock, gc_paused():
            columns, light, items = _retrying(lambda: self._columnar(all_commits, num, choose))

        def full(rows: list[ExperimentRow]) -> list[ExperimentRow]:
            with self._lock, gc_paused():
                return _retrying(lambda: self._full_rows(rows, items))

        return columns, light, full

    def _full_rows(self, rows: list[ExperimentRow], items: dict[int, tuple]) -> list[ExperimentRow]:
        out = []
        for row in rows:
            item = items.get(id(row))
            if item is None:
                out.append(row)
                continue
            data = self.cache.get(item[1])
            if data is None:  # the index was rebuilt meanwhile: read the commit again
                self._ensure([item[1]], {item[1]: self._dvcfile_paths_of(item[2])})
                data = self.cache.get(item[1])
            out.append(_shared_row(item, data))
        return out

    def _columnar(self, all_commits: bool, num: int, choose: Callable[[list[Column]], Iterable[Column]]
                  ) -> tuple[list[Column], list[ExperimentRow], dict[int, tuple]]:
        from exptui.query.columns import FIELD_GETTERS, columns_from_schemas, schema_of

        plan = self._plan(all_commits, True, num)
        cache = self.cache
        schemas: list[Any] = []
        folded: set[tuple[int, int]] = set()
        locs: list[tuple[int, int] | None] = []
        for item in plan:
            if isinstance(item, tuple):
                loc = cache.location(item[1])
                locs.append(loc)
                if loc is None:
                    data = cache.get(item[1])
                    assert data is not None  # _plan made sure every listed commit is in the cache
                    schemas.append(schema_of(data["metrics"], data["params"]))
                    continue
                sid, schema = cache.schema(loc)
                if (loc[0], sid) not in folded:  # a schema seen before adds no column and no kind
                    folded.add((loc[0], sid))
                    schemas.append(schema)
            else:
                locs.append(None)
                schemas.append(schema_of(item.metrics, item.params))
        columns = columns_from_schemas(schemas)
        named = list(choose(columns))
        wanted: list[tuple[str, str, str]] = []  # (family, file, top-level key): a dotted key's prefixes too
        for column in named:
            if column.is_field:
                continue
            parts = column.key.split(".")
            for n in range(1, len(parts) + 1):
                wanted.append((column.family, column.file, ".".join(parts[:n])))
        wanted = list(dict.fromkeys(wanted))
        plain_fields = {"name", "rev", "baseline", "kind", "status", "starred", "label", "note", "stage"}
        need_facts = any(c.is_field and c.key not in plain_fields and c.key in FIELD_GETTERS for c in named)
        rows: list[ExperimentRow] = []
        items: dict[int, tuple] = {}
        no_errors: dict[str, str] = {}
        absent = object()
        per_segment: dict[int, tuple] = {}
        make = ExperimentRow
        from_ts = datetime.fromtimestamp
        for item, loc in zip(plan, locs):
            if not isinstance(item, tuple):
                rows.append(item)
                continue
            if loc is None:
                rows.append(_shared_row(item, cache.get(item[1])))
                continue
            k, i = loc
            state = per_segment.get(k)
            if state is None:  # what this segment holds for the named columns, read once
                state = per_segment[k] = (
                    cache.times(k), cache.sparse(k, "status"), cache.sparse(k, "errors"),
                    cache.facts(k) if need_facts else None,
                    [(family == "metrics", file, key, cache.values(k, family, file, key))
                     for family, file, key in wanted])
            times, status, errors, facts, wanted_values = state
            params: dict[str, dict[str, Any]] = {}
            metrics: dict[str, dict[str, Any]] = {}
            for is_metric, file, key, values in wanted_values:
                value = values.get(i, absent)
                if value is not absent:
                    target = metrics if is_metric else params
                    found = target.get(file)
                    if found is None:
                        found = target[file] = {}
                    found[key] = value
            name, sha, b, bname, ann, ref = item
            t = times[i]
            row = make(name=name, rev=sha, baseline=b, kind="experiment", status=status.get(i) or "success",
                       baseline_name=bname, created=from_ts(t, _UTC) if t else None, params=params,
                       metrics=metrics, errors=errors.get(i, no_errors), annotations=ann or _NO_ANNOTATIONS,
                       facts=facts[i] if facts is not None else None, ref=ref)
            items[id(row)] = item
            rows.append(row)
        cache.save()
        return columns, rows, items

    def _json_plan(self, all_commits: bool, num: int) -> list[Any]:
        plan = self._plan(all_commits, True, num)
        fragments = self.cache.fragments
        for k, item in enumerate(plan):  # in place: at 100k rows a second list is ~1 MB of pointers
            if isinstance(item, tuple):
                name, sha, b, bname, ann, _ref = item
                frags = fragments(sha)
                if frags is None:  # just read (or indexed by a version without fragments): from its data
                    plan[k] = self._lazy_row(item)
                else:
                    plan[k] = (name, sha, b, bname, ann, frags)
        return plan

    def _materialize(self, plan: list[Any], shared: bool = False) -> list[ExperimentRow]:
        if shared:
            listed_row = self.cache.listed_row
            return [listed_row(item) if isinstance(item, tuple) else item for item in plan]
        return [self._lazy_row(item) if isinstance(item, tuple) else item for item in plan]

    def _lazy_row(self, item: tuple) -> ExperimentRow:
        name, sha, b, bname, ann, ref = item
        data = self.cache.get(sha)
        assert data is not None  # _plan made sure every listed commit is in the cache
        return _row(name, sha, b, "experiment", bname, data, ann, ref)

    def _plan(self, all_commits: bool, include_workspace: bool, num: int,
              on_refs: Callable[[RefSnapshot], None] | None = None, given: RefSnapshot | None = None
              ) -> list[Any]:
        """The listing in order: `ExperimentRow`s, and for each experiment a tuple (name, sha, baseline,
        baseline name, annotations, ref) whose row is built from the cache only when asked for."""
        refs = given if given is not None else self.read_snapshot()
        if not refs.parsed:   # the early start's (`first_rows`): its experiment refs are parsed now
            refs = read_refs(self.git, raw=refs.raw)
        if on_refs is not None:
            on_refs(refs)
        head = refs.head
        by_baseline: dict[str, list[tuple[str, str, str]]] = {}
        for ref, sha, baseline, name in refs.exps:
            by_baseline.setdefault(baseline, []).append((ref, sha, name))
        dvc_queued = self._dvc_queue_entries(refs.dvc_queue, DVC_QUEUE_REF, "queued")
        queued_shas = {sha for sha, *_rest in dvc_queued}
        dvc_queued += [e for e in self._dvc_queue_entries(refs.dvc_failed, DVC_FAILED_REF, "failed")
                       if e[0] not in queued_shas]  # an entry still in the stash has not run: it is queued
        dvc_started = self._dvc_running_entries({sha for sha, *_rest in dvc_queued})
        if dvc_started:
            recorded = {(baseline, name) for _ref, _sha, baseline, name in refs.exps}
            dvc_started = {sha: v for sha, v in dvc_started.items() if (v[0], v[1]) not in recorded}  # done, stale
        dvc_queued += [(sha, base, base, name, "running") for sha, (base, name, _t) in dvc_started.items()]

        baselines: list[str] = []
        if head is not None:
            baselines.append(head)
            if num != 1:
                args = ["rev-list", "--first-parent"] + ([f"--max-count={num}"] if num > 0 else []) + [head]
                baselines.extend(s for s in self.git.run(*args).split() if s != head)
        branch_tips = set(refs.branches.values())
        for baseline in by_baseline:
            if baseline in baselines:
                continue
            if all_commits or baseline in branch_tips:
                baselines.append(baseline)
        for _sha, _b, base, _n, _s in dvc_queued:
            if base not in baselines and (all_commits or base in branch_tips):
                baselines.append(base)

        # read baselines first: experiments look for the dvc.yaml files their baseline has
        base_data = self._commit_data(baselines)
        # a ref whose baseline is no commit here (non-hex, another repo's SHA-256...): DVC shows it under none
        baselines = [b for b in baselines if b in base_data]
        if len(baselines) > 2:  # HEAD first, then the newest baselines first
            rest = sorted(baselines[1:], key=lambda b: (base_data.get(b) or {}).get("time", 0), reverse=True)
            baselines = baselines[:1] + rest
        hints = {}
        want: list[str] = []
        for b in baselines:
            paths: tuple[str, ...] | None = None
            shas = [sha for _ref, sha, _name in by_baseline.get(b, ())]
            want += shas
            for sha in self.cache.missing(shas):  # the baseline's dvc.yaml paths: only for commits still to read
                if paths is None:
                    paths = self._dvcfile_paths_of(b)
                hints[sha] = paths
            for sha, _bb, base, _n, _s in dvc_queued:
                if base == b:
                    want.append(sha)
                    if paths is None:
                        paths = self._dvcfile_paths_of(b)
                    hints[sha] = paths
        self._ensure(want, hints)
        notes = self.annotations(refs.notes)

        names = _baseline_names(refs)
        queue_rows: dict[str, list[ExperimentRow]] = {}
        for qrow in self._exptui_queue_rows(names):
            queue_rows.setdefault(qrow.baseline, []).append(qrow)
        plan: list[Any] = []
        if include_workspace and head is not None:
            ws = self.workspace_row(head, names.get(head, head[:7]))
            if ws is not None:
                plan.append(ws)
        cache = self.cache
        for b in baselines:
            bdata = base_data.get(b)
            if bdata is None:
                continue
            bname = names.get(b, b[:7])
            plan.append(_row(bname, b, b, "baseline", bname, bdata, notes.get(b), None))
            listed = by_baseline.get(b, ())
            exps = [(t or 0, name, sha, ref) for (ref, sha, name), t in zip(listed, cache.times_of(listed))
                    if t is not _ABSENT]
            exps.sort(reverse=True)  # newest first; the same order as by (created, name) of the rows
            stored = cache.stored_sha
            plan.extend((name, stored(sha), b, bname, notes.get(sha), ref) for _t, name, sha, ref in exps)
            for sha, _bb, base, qname, status in dvc_queued:
                qdata = cache.get(sha) if base == b else None
                if qdata is None:
                    continue
                row = _row(qname or sha[:7], sha, b, "queued", bname, qdata, None, None)
                row.status = status  # type: ignore[assignment]
                # queued: not run yet; failed: the run left no result. Either way the stash commit carries the
                # baseline's metrics, which are not this experiment's (DVC shows none either)
                row.metrics = {}
                mfiles = qdata.get("metric_files", ())
                row.errors = {f: e for f, e in row.errors.items()
                              if not any(f == m or f.startswith(m + "/") for m in mfiles)}
                row.queue_id = f"dvc:{sha}"
                if status == "running":
                    row.started = dvc_started[sha][2]
                plan.append(row)
            plan.extend(queue_rows.pop(b, ()))
        for orphans in queue_rows.values():  # entries of baselines not shown (e.g. an old commit) still show
            plan.extend(orphans)
        cache.save()
        return plan

    def read_snapshot(self, parse: bool = True, raw: bytes | None = None) -> RefSnapshot:
        """Every ref a listing uses (`read_refs`, `parse` False: the experiment refs kept unparsed for the listing
        given it), counted in `refs_read`. `raw`: the output of a `git_args.refs_args()` for-each-ref read
        before (`exptui.store.prestart`), not read again."""
        refs = read_refs(self.git, raw=raw, parse=parse)
        self.refs_read += 1
        return refs

    @property
    def lock(self) -> threading.RLock:
        """Held by every listing; the dashboard's early start holds it while it amends its first screen."""
        return self._lock

    def listing_keys(self, listed: list[tuple[str, str, str]]) -> list[tuple | None]:
        """The key `_plan` orders a baseline's experiments by (newest first: descending) for each (ref, sha, name)
        of `listed`; None for a commit the index does not have. For `first_rows.amend` (a few hundred rows: the
        index's id map is not built for them if it is not yet, `SegmentCache.open`)."""
        self.cache.open()
        return [None if t is _ABSENT else (t or 0, name, sha, ref)
                for (ref, sha, name), t in zip(listed, self.cache.times_of(listed))]

    def index_new(self, shas: dict[str, str]) -> bool:
        """Read the commits of `shas` (sha -> its baseline) the index does not have yet, as a listing would (the
        baseline's dvc.yaml paths as hints), and keep them: one batched read of those few commits, O(new), as
        the warm `show` indexes one new commit. For `first_rows.amend` (a sweep ran while no dashboard was open);
        the listing that follows finds them indexed. False if there are more than `INDEX_NEW_LIMIT` to read."""
        missing = self.cache.missing_few(shas) if len(shas) <= self.INDEX_NEW_LIMIT else self.cache.missing(shas)
        if len(missing) > self.INDEX_NEW_LIMIT:
            return False
        if missing:
            hints: dict[str, tuple[str, ...]] = {}
            paths: dict[str, tuple[str, ...]] = {}
            for sha in missing:
                baseline = shas[sha]
                if baseline not in paths:
                    paths[baseline] = self._dvcfile_paths_of(baseline)
                hints[sha] = paths[baseline]
            self._ensure(missing, hints)
        return True

    #: at most this many commits are read for an amended first screen (each is ~1-3 ms of git and parsing)
    INDEX_NEW_LIMIT = 64

    def listed_row(self, name: str, sha: str, baseline: str, bname: str, ref: str,
                   notes_sha: str | None) -> ExperimentRow | None:
        """The shared row `rows(shared=True)` builds for one experiment, if the index has its commit (else None:
        reading a commit is not for `first_rows.amend`, which must be cheap)."""
        if self.cache.missing_few([sha]):
            return None
        return self.cache.listed_row((name, sha, baseline, bname, self.annotations(notes_sha).get(sha), ref))

    def _dvcfile_paths_of(self, commit: str) -> tuple[str, ...]:
        data = self.cache.get(commit)
        if data is not None and "dvcfiles" in data:
            return data["dvcfiles"]
        paths = self.reader.dvcfile_paths(commit)
        if data is not None:
            self.cache.put(commit, {**data, "dvcfiles": paths})
        return paths

    def experiment_by_ref(self, ref: str) -> ExperimentRow | None:
        """The row the listing (with `all_commits`) has for experiment `ref`, from one for-each-ref of that ref
        and of branches/tags (for the baseline's name): resolving one name costs O(1), not a listing. None: no
        such experiment (or its baseline is no commit here, so the listing would not show it either)."""
        parsed = parse_exp_ref(ref)
        if parsed is None or any(c in ref for c in "*?[\\"):  # for-each-ref would read a pattern as a glob
            return None
        with self._lock:
            return _retrying(lambda: self._experiment_by_ref(ref, parsed[0], parsed[1]))

    def _experiment_by_ref(self, ref: str, baseline: str, name: str) -> ExperimentRow | None:
        refs = read_refs(self.git, (ref,))
        sha = next((s for r, s, _b, _n in refs.exps if r == ref), None)
        if sha is None or not self._commit_data([baseline]):
            return None
        if sha not in self.cache:
            self._ensure([sha], {sha: self._dvcfile_paths_of(baseline)})
        data = self.cache.get(sha)
        if data is None:
            return None
        notes = self.annotations(refs.notes)
        bname = _baseline_names(refs).get(baseline, baseline[:7])
        self.cache.save()
        return _row(name, sha, baseline, "experiment", bname, data, notes.get(sha), ref)

    def catalog(self, all_commits: bool = True) -> tuple[list[CatalogEntry], Callable[[CatalogEntry], ExperimentRow]]:
        """What the listing (`rows`) holds, without building its rows: one `CatalogEntry` per row (kind, name,
        rev, ref, baseline and its name) in listing order, and a function that builds the row of one entry, equal
        to the listing's. Resolving a name (`Project.resolve`) looks through these instead of unpickling every
        experiment (a warm listing of 100,000 does; the catalog reads refs and the index's ids and times)."""
        from exptui.query.gc_pause import gc_paused

        with self._lock, gc_paused():
            plan = _retrying(lambda: self._plan(all_commits, True, 1))
        entries = []
        for item in plan:
            if isinstance(item, tuple):
                name, sha, b, bname, _ann, ref = item
                entries.append(CatalogEntry("experiment", name, sha, ref, b, bname, item))
            else:
                entries.append(CatalogEntry(item.kind, item.name, item.rev, item.ref, item.baseline,
                                            item.baseline_name, item))

        def row(entry: CatalogEntry) -> ExperimentRow:
            if not isinstance(entry.item, tuple):
                return entry.item
            with self._lock:
                sha, baseline = entry.rev, entry.baseline

                def build() -> ExperimentRow:
                    if self.cache.get(sha) is None:  # the index was rebuilt meanwhile: read the commit again
                        self._ensure([sha], {sha: self._dvcfile_paths_of(baseline)})
                    return self._lazy_row(entry.item)

                return _retrying(build)

        return entries, row

    def experiment_shas(self, baseline: str) -> list[str]:
        """The commits of the experiments recorded under `baseline` (one for-each-ref, no listing)."""
        from dvc_compat.exp_refs import baseline_prefix

        return [sha for _ref, sha, b, _name in read_refs(self.git, (baseline_prefix(baseline).rstrip("/"),)).exps
                if b == baseline]

    def workspace(self) -> ExperimentRow | None:
        """The listing's workspace row, without the listing."""
        refs = read_refs(self.git, ())
        if refs.head is None:
            return None
        return self.workspace_row(refs.head, _baseline_names(refs).get(refs.head, refs.head[:7]))

    def _dvc_queue_entries(self, stash_sha: str | None, ref: str, status: str
                           ) -> list[tuple[str, str, str, str, str]]:
        """DVC's own queue, read-only: reflog entries of `ref` -> (stash sha, head, baseline, name, `status`).

        ``refs/exps/celery/stash`` holds the queued runs; ``refs/exps/celery/failed`` gets one reflog line per
        queued run that failed, pointing at its stash commit (``dvc exp show`` lists those as failed)."""
        if stash_sha is None:
            return []
        log = self.git.git_dir / "logs" / Path(ref)
        try:
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            meta, _, msg = line.partition("\t")
            parts = meta.split(" ")
            if len(parts) < 2:
                continue
            new = parts[1]
            if msg.startswith("commit: "):
                msg = msg[len("commit: "):]
            if not msg.startswith("dvc-exp:"):
                continue
            fields_ = msg[len("dvc-exp:"):].split(":")
            if len(fields_) < 3:
                continue
            out.append((new, fields_[0], fields_[1], fields_[2], status))
        out.reverse()  # newest first
        return out

    def _dvc_running_entries(self, known: set[str]) -> dict[str, tuple[str, str, float]]:
        """DVC queue runs in progress (`dvc queue start`, `dvc exp run --temp`): stash sha -> (baseline, name,
        started), read-only.

        A run leaves the stash when it starts, so only its executor info file tells about it:
        `.dvc/tmp/exps/run/<stash sha>/<stash sha>.run` (celery) or `.dvc/tmp/exps/standalone/run/...` (--temp),
        JSON with `baseline_rev`, `name`, `root_dir` and a `status` (0 pending .. 2 running, 3 success, 4 failed,
        5 cancelled, 6 finished). As in DVC's own `iter_active`, a run is active while its status is at most
        success and its temporary checkout (`root_dir`) still exists; a stale file (its checkout removed) is not.
        The same run may have a file in both places: the highest status wins. A run whose experiment is already
        recorded under its baseline is over, whatever its file says. The stash commit itself stays in the object
        store, so the row gets its params from it."""
        import json
        import os
        import re

        exps_tmp = self.git.root / ".dvc" / "tmp" / "exps"
        found: dict[str, tuple[int, str, str, str, float]] = {}
        for pid_dir in (exps_tmp / "run", exps_tmp / "standalone" / "run"):
            try:
                names = os.listdir(pid_dir)
            except OSError:
                continue
            for rev in names:
                if not re.fullmatch(r"[0-9a-f]{40}", rev) or rev in known:
                    continue  # `workspace` (a `dvc exp run` in the workspace) is not a queue entry
                info_path = pid_dir / rev / f"{rev}.run"
                try:
                    info = json.loads(info_path.read_text(encoding="utf-8"))
                    started = (pid_dir / rev).stat().st_mtime
                except (OSError, ValueError):
                    continue
                if not isinstance(info, dict) or info.get("location") == "workspace":
                    continue  # a `dvc exp run` in the workspace leaves a file at status 1 for good: not a queue run
                status = info.get("status", 0)
                status = status if isinstance(status, int) else 0
                prev = found.get(rev)
                if prev is None or status > prev[0]:
                    found[rev] = (status, str(info.get("baseline_rev") or ""), str(info.get("name") or ""),
                                  str(info.get("root_dir") or ""), min(started, prev[4]) if prev else started)
        running: dict[str, tuple[str, str, float]] = {}
        for rev, (status, baseline, name, root_dir, started) in found.items():
            if status <= 3 and root_dir and os.path.isdir(root_dir) and re.fullmatch(r"[0-9a-f]{40}", baseline):
                running[rev] = (baseline, name, started)
        return running

    def _exptui_queue_rows(self, names: dict[str, str]) -> list[ExperimentRow]:
        """Entries of exptui's own queue (not yet finished)."""
        from exptui.store.queue import QueueStore

        try:
            rows = list(QueueStore(self.git).rows(index=self))
        except Exception as exc:  # noqa: BLE001 - a broken queue must not hide the experiments
            import sys

            from exptui.query.inert import inert

            print(inert(f"warning: cannot read the exptui queue: {exc}", multiline=True), file=sys.stderr)
            return []
        for r in rows:
            if not r.baseline_name:
                r.baseline_name = names.get(r.baseline, r.baseline[:7])
        return rows

    def workspace_row(self, head: str, head_name: str) -> ExperimentRow | None:
        """The workspace: params and metrics files as they are on disk now."""
        from exptui.store.workspace import read_workspace

        from exptui.store.workspace_run import current

        params, metrics, errors = read_workspace(self.git.root)
        running = current(self.git.git_dir)
        return ExperimentRow(
            name="workspace", rev="workspace", baseline=head, kind="workspace",
            status="running" if running else "success",
            baseline_name=head_name, created=None, params=params, metrics=metrics, errors=errors,
            stage=running.get("stage") if running else None,
            started=running.get("started") if running else None,
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _baseline_names(refs: RefSnapshot) -> dict[str, str]:
    """Display names: the current branch for HEAD, else a branch, else a tag (short sha by default)."""
    names: dict[str, str] = {}
    for tag, sha in sorted(refs.tags.items(), reverse=True):
        names[sha] = tag
    for branch, sha in sorted(refs.branches.items(), reverse=True):
        names[sha] = branch
    if refs.head is not None and refs.head_branch is not None:
        names[refs.head] = refs.head_branch
    return names


_NO_ANNOTATIONS = Annotations()  # frozen: one shared instance for the rows that have none
_NO_ERRORS: dict[str, str] = {}  # the shared listing rows' `errors` when a commit has none (read-only, as their
#                                  params/metrics: 64 bytes less per row, 6 MiB at 100k)
_UTC = timezone.utc


def _row(
    name: str, rev: str, baseline: str, kind: RowKind, bname: str, data: dict, ann: Annotations | None, ref: str | None
) -> ExperimentRow:
    """One row from a cache entry: called once per experiment on every listing, so it does only what each row
    needs (one lookup per key, the shared empty `Annotations`). The params/metrics/errors dicts are copies: rows
    are handed out and the cache entry must not change with them."""
    t = data.get("time")
    return ExperimentRow(
        name=name,
        rev=rev,
        baseline=baseline,
        kind=kind,
        status="queued" if kind == "queued" else (data.get("status") or "success"),
        baseline_name=bname,
        created=datetime.fromtimestamp(t, _UTC) if t else None,
        params={f: v.copy() for f, v in data["params"].items()},
        metrics={f: v.copy() for f, v in data["metrics"].items()},
        errors=data["errors"].copy(),
        annotations=ann or _NO_ANNOTATIONS,
        facts=data.get("facts"),
        ref=ref,
    )


def _shared_row(item: tuple, data: dict | None) -> ExperimentRow:
    """An experiment row of a plan item that holds the cache entry's dicts themselves (read-only use)."""
    name, sha, b, bname, ann, ref = item
    assert data is not None  # _plan made sure every listed commit is in the cache
    t = data.get("time")
    return ExperimentRow(
        name=name, rev=sha, baseline=b, kind="experiment", status=data.get("status") or "success",
        baseline_name=bname, created=datetime.fromtimestamp(t, _UTC) if t else None,
        params=data["params"], metrics=data["metrics"], errors=data["errors"],
        annotations=ann or _NO_ANNOTATIONS, facts=data.get("facts"), ref=ref,
    )


def _share_keys(data: dict, keys: dict[str, str]) -> dict:
    """`data` with every dict key, at any depth, replaced by the one equal str in `keys` (added if new).

    Each entry is its own pickle, so unpickling gives every entry its own copies of the same key strings
    ("params", "params.yaml", "train.lr"...: ~25 per entry, ~55 bytes each). At 100,000 decoded entries, which the
    dashboard's rows share, that was ~130 MiB of equal strings. The dicts are rebuilt (same keys, same order, same
    values), so nothing that reads them can tell."""
    out = {}
    for k, v in data.items():
        if v.__class__ is dict:
            v = _share_keys(v, keys)
        if k.__class__ is str:
            k = keys.setdefault(k, k)
        out[k] = v
    return out


_MAX_DISTINCT = 2048  # a column with more distinct values (seeds, most metrics) is not shared: its table would cost more


def _share_values(data: dict, keys: dict[str, str], values: dict[str, dict[str, dict | None]], family: str
                  ) -> dict:
    """`_share_keys` for a ``{file: {key: value}}`` of a shared listing row, which also gives every row one object
    per distinct int, str and non-zero float of a column (file, key).

    A sweep's rows repeat the same few values of most params (``train.lr``, ``model``, ``n_estimators``): each
    was its own object per row (24-50 bytes) at 100,000 rows. Values are shared only with their own class (1,
    1.0 and True are equal) and never for 0.0 (-0.0 equals it but prints differently) or NaN (equal to nothing);
    a column stops being shared once it has `_MAX_DISTINCT` values. Equal values of one class are
    indistinguishable to every reader, and none of them mutates a scalar."""
    out = _keyed_dict((family,))
    for f, inner in data.items():
        if f.__class__ is str:
            f = keys.setdefault(f, f)
        if inner.__class__ is not dict:
            out[f] = inner
            continue
        columns = values.get(f)
        if columns is None:
            columns = values[f] = {}
        new = _keyed_dict(f)
        for k, v in inner.items():
            if k.__class__ is str:
                k = keys.setdefault(k, k)
            cls = v.__class__
            if cls is dict:
                v = _share_keys(v, keys)
            elif cls is str or cls is int or (cls is float and v and v == v):
                column = columns.get(k, _NEW_COLUMN)
                if column is _NEW_COLUMN:
                    column = columns[k] = {}
                if column is not None:
                    same = column.get(v)
                    if same is None:
                        if len(column) >= _MAX_DISTINCT:
                            columns[k] = None
                        else:
                            column[v] = v
                    elif same.__class__ is cls:
                        v = same
            new[k] = v
        out[f] = new
    return out


_NEW_COLUMN: dict = {}
# a file (or (family,) for the outer {file: ...}) -> the class whose instances' __dict__ are its rows' dicts
_DICT_KINDS: dict[Any, type] = {}
_MAX_DICT_KINDS = 1024


def _keyed_dict(file: Any) -> dict:
    """An empty dict for a shared row's ``{key: value}`` of `file` (or its ``{file: {...}}`` of a family: `file` is
    then ``(family,)``) that shares its key table with the other rows' of the same `file`.

    A plain dict of six keys is 272 bytes (CPython 3.11), most of it its own table of keys and hashes, although
    every row of a file has the same keys in the same order. An instance's ``__dict__`` is CPython's key-sharing
    dict: the keys live once in the class, each dict holds its values only (~144 bytes for six keys, 97 for one
    instead of 192: ~40 MiB less at 100,000 rows). It is a plain `dict` to every reader (`type(d) is dict`, same equality, order, JSON, pickle,
    copy); a row whose keys differ or come in another order just gets its own table, as CPython does on its own.
    Filling it is no slower than a plain dict."""
    kind = _DICT_KINDS.get(file)
    if kind is None:
        if len(_DICT_KINDS) >= _MAX_DICT_KINDS:
            return {}
        kind = _DICT_KINDS.setdefault(file, type("SharedKeys", (), {"__module__": __name__}))
    return object.__new__(kind).__dict__


def _listed_row(item: tuple, part: tuple | None) -> ExperimentRow:
    """An experiment row of a plan item that holds the parts `IndexCache.listed` gives (read-only use)."""
    name, sha, b, bname, ann, ref = item
    assert part is not None  # _plan made sure every listed commit is in the cache
    params, metrics, errors, status, t, facts = part
    return ExperimentRow(
        name=name, rev=sha, baseline=b, kind="experiment", status=status or "success",
        baseline_name=bname, created=datetime.fromtimestamp(t, _UTC) if t else None,
        params=params, metrics=metrics, errors=errors, annotations=ann or _NO_ANNOTATIONS, facts=facts, ref=ref,
    )


def _retrying(fn: Callable[[], Any]) -> Any:
    """`fn`, once more if it found the index damaged (the second run starts from an empty index)."""
    try:
        return fn()
    except IndexRebuilt:
        return fn()


def _commit_fragments(sha: str, data: dict) -> tuple[str, str]:
    """What an experiment row of this commit prints in ``show --json`` that depends on the commit alone."""
    from exptui.query.show_json import experiment_json

    return experiment_json.fragments(_row("", sha, sha, "experiment", "", data, None, None))
