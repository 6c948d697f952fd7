"""The queue's body cache: the JSON bodies of queue/claim/done commits by sha, kept in
``.git/exptui/cache/queue-meta.bin`` for the next process.

Every object is immutable, so a body never goes stale: an entry that changes state has new refs pointing at new
objects, read from git in one batch and added to the cache. What `queue status` reads of a queued entry is its
name and its params overrides, so the queue entries' bodies are kept as columns as well (issue 13: with 10,000
queued, building a dict per body was most of the cache's 10–15 ms, mostly page faults):

- ``names``: each queue body's name (``""`` when it has none);
- ``labels``, ``texts``, ``ends``: each queue body's overrides as `exptui.query.overrides.flat` columns, the form
  the Params column is summarised from (`summarize_flat`), under `FLAT_FORMAT`;
- the whole bodies, in `marshal` records of `CHUNK` bodies each after the columns (strings shared within a
  record), a record decoded only for an entry of it shown in full (running, finished, retried: a few) or when a
  caller asks for every entry (`QueueStore.entries`).

Bodies of other commits (claims, terminal records: small, one per entry that ran) are kept as dicts. A queue body
is one with a ``baseline`` (every entry `QueueStore.create` writes has one); any other is kept as a dict too.

File: ``MAGIC``, the length of the header as a decimal line, the header (one marshal tuple: format, byte order,
`CHUNK`, {sha: body} of the other bodies, queue shas, names, labels, texts, ends, the records' offsets as native
uint32), then the records. A torn, foreign or old-format file (version 1: one marshal dict) is ignored and
rewritten; the bodies of a record that does not decode are read from git again. Writes are atomic (temp file,
rename): of writers racing, the last rename wins, and each file is whole.
"""
from __future__ import annotations

import json
import marshal
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from exptui.query.overrides import FLAT_FORMAT, flat

if TYPE_CHECKING:
    from exptui.store.git import Git

#: the JSON cache of exptui <= 0.1, removed when this file is written (the first marshal format had this name)
_OLD_NAMES = ("queue-meta.json",)

Body = dict[str, Any]

#: queue bodies per record: one record decodes nearly as fast per body as one marshal of every body (strings
#: shared within it), and an entry shown in full decodes only its own record
CHUNK = 64


class QueueColumns:
    """Names and flat overrides of some queue entries, in the order asked (see `MetaCache.queue_columns`)."""

    __slots__ = ("names", "labels", "texts", "ends", "bad")

    def __init__(self, names: list[str], labels: list[str], texts: list[str], ends: list[int],
                 bad: list[int]) -> None:
        self.names = names      # "" where a body has no name
        self.labels = labels
        self.texts = texts
        self.ends = ends
        self.bad = bad          # positions whose overrides `flat` cannot read: shown through a full entry


def _columns_of(body: Body) -> tuple[str, list[str], list[str]] | None:
    """(name, labels, texts) of one queue body; None when its overrides are not a mapping of mappings."""
    name = body.get("name")
    try:
        labels, texts, _ends = flat([body.get("overrides") or {}])
    except (AttributeError, TypeError):
        return None
    return (str(name) if name else ""), labels, texts


class MetaCache:
    """Bodies by sha, in memory for this process and on disk for the next (see the module's docstring)."""

    MAGIC = b"exptui-queue-meta 2\n"

    def __init__(self, git: Git):
        self.git = git
        self.path = git.git_dir / "exptui" / "cache" / "queue-meta.bin"
        self._loaded = False
        self._dicts: dict[str, Body] = {}        # bodies as dicts: the file's other bodies, decoded, fetched, new
        self._qshas: list[str] = []              # the file's queue bodies, in the order written (id order)
        self._names: list[str] = []
        self._labels: list[str] = []
        self._texts: list[str] = []
        self._ends: list[int] = []
        self._offsets: Sequence[int] = ()
        self._blob: memoryview = memoryview(b"")
        self._records: dict[int, list[Any]] = {}  # decoded records by number
        self._qindex: dict[str, int] | None = None
        self._dirty = False                      # bodies were read from git: the file is rewritten

    # -- reading the file ---------------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            raw = self.path.read_bytes()
        except OSError:
            return
        if not raw.startswith(self.MAGIC):
            return  # missing, foreign or the old format: rebuilt by the next `prepare`
        view = memoryview(raw)
        try:
            eol = raw.index(b"\n", len(self.MAGIC))
            start = eol + 1
            size = int(raw[len(self.MAGIC):eol])
            header = marshal.loads(view[start:start + size])
            version, order, chunk, dicts, qshas, names, labels, texts, ends, offsets = header
            offsets = memoryview(offsets).cast("I")
            blob = view[start + size:]
        except (ValueError, EOFError, TypeError):
            return  # torn or corrupt
        n = len(qshas)
        if (version != FLAT_FORMAT or order != sys.byteorder or chunk != CHUNK or type(dicts) is not dict
                or not all(type(v) is dict for v in dicts.values())
                or not all(type(x) is list for x in (qshas, names, labels, texts, ends))
                or len(names) != n or len(ends) != n or len(offsets) != -(-n // CHUNK) + 1
                or len(labels) != len(texts)
                or (ends[-1] if n else 0) != len(labels) or offsets[-1] != len(blob)):
            return  # another version's, or cut short (a torn copy): never trusted
        self._dicts, self._qshas, self._names, self._labels, self._texts, self._ends = (
            dicts, qshas, names, labels, texts, ends)
        self._offsets, self._blob = offsets, blob

    def _index(self) -> dict[str, int]:
        if self._qindex is None:
            self._qindex = dict(zip(self._qshas, range(len(self._qshas))))
        return self._qindex

    def _decoded(self, i: int) -> Body | None:
        """The file's body at position `i` (its record decoded once); None when the record does not decode."""
        c = i // CHUNK
        record = self._records.get(c)
        if record is None:
            try:
                record = marshal.loads(self._blob[self._offsets[c]:self._offsets[c + 1]])
            except (ValueError, EOFError, TypeError):
                record = []
            if type(record) is not list or len(record) != min(CHUNK, len(self._qshas) - c * CHUNK):
                record = []  # read from git again, entry by entry
            self._records[c] = record
        body = record[i % CHUNK] if record else None
        return body if type(body) is dict else None

    # -- the API ------------------------------------------------------------------------------------------------
    def remember(self, sha: str, body: Body) -> None:
        """A body this process just wrote (no need to read it back from git)."""
        self._load()
        self._dicts[sha] = body

    def has(self, sha: str) -> bool:
        return sha in self._dicts or sha in self._index()

    def prepare(self, queue_shas: Sequence[str], other_shas: Iterable[str]) -> None:
        """Make every listed body available: those not cached are read from git in one batch. The file is
        rewritten when something was read, or when it holds many bodies no ref points at any more: then it
        holds exactly this listing's bodies, the queue's in the order given (id order: `queue_columns` of the
        next listing takes the columns as they are)."""
        self._load()
        other = set(other_shas)
        if self._qshas == queue_shas:  # the listing the file was written for: its queue bodies are all there
            missing = sorted(s for s in other if s not in self._dicts and s not in self._index())
        else:
            missing = sorted({s for s in (*queue_shas, *other) if not self.has(s)})
        if missing:
            self._fetch(missing)
        cached = len(self._qshas) + len(self._dicts)
        if self._dirty or cached > 2 * (len(queue_shas) + len(other)) + 1000:
            self._save(queue_shas, other)

    def body(self, sha: str) -> Body:
        """The body of a listed object (`prepare` first); ``{}`` for one git could not give."""
        got = self._dicts.get(sha)
        if got is not None:
            return got
        i = self._index().get(sha)
        got = self._decoded(i) if i is not None else None
        if got is None and i is not None:
            self._fetch([sha])  # a record that does not decode: read again, written whole next time
            got = self._dicts.get(sha)
        if got is None:
            return {}
        self._dicts[sha] = got
        return got

    def queue_columns(self, shas: Sequence[str]) -> QueueColumns:
        """Names and flat overrides of these queue bodies (`prepare` first), in this order."""
        if shas == self._qshas:
            return QueueColumns(self._names, self._labels, self._texts, self._ends, [])
        names: list[str] = []
        labels: list[str] = []
        texts: list[str] = []
        ends: list[int] = []
        bad: list[int] = []
        index = self._index()
        src_ends = self._ends
        run_start = run_end = -1  # a run of consecutive file positions, copied by slices

        def flush() -> None:
            if run_start < 0:
                return
            names.extend(self._names[run_start:run_end])
            lo = src_ends[run_start - 1] if run_start else 0
            shift = len(labels) - lo
            labels.extend(self._labels[lo:src_ends[run_end - 1]])
            texts.extend(self._texts[lo:src_ends[run_end - 1]])
            ends.extend([e + shift for e in src_ends[run_start:run_end]])

        for pos, sha in enumerate(shas):
            i = index.get(sha) if sha not in self._dicts else None
            if i is not None:
                if i == run_end:
                    run_end += 1
                else:
                    flush()
                    run_start, run_end = i, i + 1
                continue
            flush()
            run_start = run_end = -1
            got = _columns_of(self.body(sha))
            if got is None:
                bad.append(pos)
                got = ("", [], [])
            names.append(got[0])
            labels.extend(got[1])
            texts.extend(got[2])
            ends.append(len(labels))
        flush()
        return QueueColumns(names, labels, texts, ends, bad)

    # -- reading git, writing the file --------------------------------------------------------------------------
    def _fetch(self, shas: list[str]) -> None:
        for sha, answer in zip(shas, self.git.read_objects(shas)):
            body: Body = {}
            if answer is not None and answer[1] == "commit":
                msg = answer[2].partition(b"\n\n")[2]
                try:
                    parsed = json.loads(msg.partition(b"\n")[2].strip() or b"{}")
                    body = parsed if isinstance(parsed, dict) else {}
                except ValueError:
                    body = {}
            self._dicts[sha] = body
        self._dirty = True

    def _save(self, queue_shas: Sequence[str], other: set[str]) -> None:
        from dvc_compat.fsutil import atomic_write

        memo: dict[str, str] = {}  # equal strings as one object: marshal stores each once (keys, labels, ids)
        dicts: dict[str, Body] = {}
        qshas: list[str] = []
        names: list[str] = []
        labels: list[str] = []
        texts: list[str] = []
        ends: list[int] = []
        sources: list[int | Body] = []  # per queue body kept: its position in the file, or the body itself
        index = self._index()
        try:
            for sha in queue_shas:
                i = index.get(sha) if sha not in self._dicts else None
                if i is not None:  # as the file had it: its columns copied, its record too where it can be
                    lo = self._ends[i - 1] if i else 0
                    cols: tuple[str, list[str], list[str]] = (
                        self._names[i], self._labels[lo:self._ends[i]], self._texts[lo:self._ends[i]])
                    sources.append(i)
                else:
                    body = self.body(sha)
                    got = _columns_of(body) if "baseline" in body else None
                    if got is None:  # not an entry `create` writes, or overrides `flat` cannot read
                        dicts[sha] = _share_strings(body, memo)
                        continue
                    cols = got
                    sources.append(body)
                qshas.append(sha)
                names.append(cols[0])
                labels.extend(memo.setdefault(x, x) for x in cols[1])
                texts.extend(cols[2])
                ends.append(len(labels))
            for sha in other:
                if sha not in dicts:
                    dicts[sha] = _share_strings(self.body(sha), memo)
            records = [self._record(sources[k:k + CHUNK], qshas[k:k + CHUNK]) for k in range(0, len(qshas), CHUNK)]
            offsets = [0]
            for record in records:
                offsets.append(offsets[-1] + len(record))
            from array import array

            header = marshal.dumps((FLAT_FORMAT, sys.byteorder, CHUNK, dicts, qshas, names, labels, texts, ends,
                                    array("I", offsets).tobytes()))
            blob = b"".join(records)
            # this process goes on with what it wrote: the next `queue_columns` of this listing takes the columns
            self._qshas, self._names, self._labels, self._texts, self._ends = qshas, names, labels, texts, ends
            self._offsets, self._blob, self._qindex, self._records = offsets, memoryview(blob), None, {}
            atomic_write(self.path, b"".join([self.MAGIC, b"%d\n" % len(header), header, blob]), durable=False)
            for old in _OLD_NAMES:
                self.path.with_name(old).unlink(missing_ok=True)
        except (OSError, ValueError, OverflowError):
            pass  # read-only .git or disk full (ValueError: a body marshal cannot hold): an optimisation only
        self._dirty = False

    def _record(self, sources: list[int | Body], shas: list[str]) -> bytes:
        """One record of the file to write: the old file's record as it was when it holds exactly these bodies
        (a claim or a finished entry leaves every queue body where it was), else these bodies dumped anew."""
        first = sources[0]
        if (isinstance(first, int) and first % CHUNK == 0 and self._qshas[first:first + CHUNK] == shas
                and self._decoded(first) is not None):  # a record that does not decode is dumped anew
            c = first // CHUNK
            return bytes(self._blob[self._offsets[c]:self._offsets[c + 1]])
        bodies = []
        for source, sha in zip(sources, shas):
            body = self._decoded(source) if isinstance(source, int) else source
            bodies.append(self.body(sha) if body is None else body)
        return marshal.dumps(_share_strings(bodies, {}))


def _share_strings(value: Any, memo: dict[str, str]) -> Any:
    """``value`` (a JSON value) with every string replaced by the first equal one seen: bodies repeat their keys
    and ids, and marshal writes a repeated object as a back-reference (half the size, faster to load)."""
    if isinstance(value, str):
        return memo.setdefault(value, value)
    if isinstance(value, dict):
        return {memo.setdefault(k, k) if isinstance(k, str) else k: _share_strings(v, memo) for k, v in value.items()}
    if isinstance(value, list):
        return [_share_strings(v, memo) for v in value]
    return value
