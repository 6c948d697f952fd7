"""The index's on-disk form: append-only segment files of columns, each column checksummed.

A segment (`.git/exptui/index/seg-<number>-<writer>.bin`) holds the entries of some commits as separate columns:

- ``sha``: the commit ids (one pickled list),
- ``time``: their commit times (one pickled list), what the listing sorts experiments by,
- ``json``: each commit's pre-encoded ``show --json`` fragments (one pickled list), what ``show --json`` prints,
- ``data``: each commit's full extraction (params, metrics, errors, facts...), one pickle per entry with an
  offsets table and a CRC per entry, so one entry (a baseline's dvc.yaml paths) is read without reading the
  others.

- the per-column store (built by `index._columnar`): ``vals`` (one pickled {position: value} per param/metric key,
  each part with its own CRC, located through ``vals_dir``), ``schemas`` + ``schema_ids`` (each entry's files,
  keys and value kinds, stored once per distinct schema), ``status``/``errors`` (sparse) and ``facts``: a filter
  on ``f1`` reads the ``f1`` part alone.

A reader opens the header of every segment (a few hundred bytes), then reads and unpickles only the columns it
asks for: ``show --json`` never unpickles a params or metrics dict. A listing that found new commits appends one
small segment instead of rewriting the whole history; `compact` merges segments by copying bytes (no unpickling).

Every header and column carries a CRC-32 and a length: a truncated or damaged file raises `IndexDamaged` (the
caller rebuilds), never a wrong row. Files are written temp -> fsync -> rename, so a crash leaves a segment whole
or absent. Commits never change, so two segments holding the same commit (two processes appending at once, a
compaction interrupted before it removed its inputs) hold the same values; the later one wins.
"""
from __future__ import annotations

import os
import pickle
import struct
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"EXPTUIX5"  # 5: the per-column store (`EXTRA_COLUMNS`); files of format 4 are rebuilt with one notice
_OLD_MAGICS = (b"EXPTUIX4",)
_HEAD = struct.Struct("<8sII")  # magic, header length, header crc
PREFIX = "seg-"
SUFFIX = ".bin"


class IndexDamaged(Exception):
    """A segment file is truncated, has a bad checksum or does not parse."""


@dataclass
class Segment:
    """One segment file's header: where each column is and its checksum."""

    path: Path
    number: int
    version: tuple
    count: int
    columns: dict[str, tuple[int, int, int]]  # name -> (offset, length, crc32)
    size: int
    fd: int  # kept open: a compaction may unlink the file while this process still reads its columns

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def segment_number(path: Path) -> int | None:
    """The write-order number of ``seg-<number>-<writer>.bin`` (None: not a segment file)."""
    if not (path.name.startswith(PREFIX) and path.name.endswith(SUFFIX)):
        return None
    number = path.name[len(PREFIX):-len(SUFFIX)].split("-", 1)[0]
    return int(number) if number.isdigit() else None


def list_segments(directory: Path) -> list[Path]:
    """Segment files in write order (by number, then name)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = []
    for name in names:
        path = directory / name
        number = segment_number(path)
        if number is not None:
            found.append((number, name, path))
    return [p for _n, _name, p in sorted(found)]


def read_header(path: Path, number: int) -> Segment | None:
    """The segment's header (None: the file is gone, e.g. merged away by another process's compaction)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexDamaged(f"{path.name}: {exc.strerror or exc}") from None
    try:
        return _read_header(path, number, fd)
    except BaseException:
        os.close(fd)
        raise


def _read_header(path: Path, number: int, fd: int) -> Segment:
    try:
        head = os.pread(fd, _HEAD.size, 0)
        if len(head) != _HEAD.size:
            raise IndexDamaged(f"{path.name}: truncated header")
        magic, length, crc = _HEAD.unpack(head)
        if magic in _OLD_MAGICS:
            raise IndexDamaged(f"{path.name}: written by an older exptui, format {magic[-1:].decode()}")
        if magic != MAGIC:
            raise IndexDamaged(f"{path.name}: not an index segment")
        raw = os.pread(fd, length, _HEAD.size)
        size = os.fstat(fd).st_size
    except OSError as exc:
        raise IndexDamaged(f"{path.name}: {exc.strerror or exc}") from None
    if len(raw) != length or zlib.crc32(raw) != crc:
        raise IndexDamaged(f"{path.name}: damaged header")
    try:
        meta = pickle.loads(raw)
        version, count = meta["version"], meta["count"]
        base = _HEAD.size + length  # column offsets are stored relative to the end of the header
        columns = {name: (base + off, ln, crc) for name, (off, ln, crc) in meta["columns"].items()}
    except Exception:  # noqa: BLE001 - a checksummed header that does not parse is damage all the same
        raise IndexDamaged(f"{path.name}: unreadable header") from None
    end = max((off + ln for off, ln, _c in columns.values()), default=base)
    if end > size:
        raise IndexDamaged(f"{path.name}: truncated ({size} of {end} bytes)")
    return Segment(path, number, version, count, columns, size, fd)


def read_column(seg: Segment, name: str) -> bytes:
    """A column's bytes, checked against its length and CRC."""
    offset, length, crc = seg.columns[name]
    try:
        raw = os.pread(seg.fd, length, offset)
    except OSError as exc:
        raise IndexDamaged(f"{seg.path.name}: {exc.strerror or exc}") from None
    if len(raw) != length or zlib.crc32(raw) != crc:
        raise IndexDamaged(f"{seg.path.name}: column {name} damaged")
    return raw


def load_list(seg: Segment, name: str) -> list:
    raw = read_column(seg, name)
    try:
        value = pickle.loads(raw)
    except Exception:  # noqa: BLE001
        raise IndexDamaged(f"{seg.path.name}: column {name} unreadable") from None
    if not isinstance(value, list) or len(value) != seg.count:
        raise IndexDamaged(f"{seg.path.name}: column {name} has the wrong length")
    return value


class Entries:
    """The ``data`` column of one segment: one pickle per entry, each with its own CRC, unpickled on access.

    A few entries (a baseline's, one new experiment's) are read one by one with `pread`, so a warm
    ``show --json`` never reads the params and metrics of 100,000 experiments; from `BULK_AFTER` entries on the
    whole column is read at once (the dashboard's listing needs every entry), and let go as soon as every entry of
    the segment has been read once: a listing that goes through the segments in order holds one column at a time,
    not all of them (51 MiB at 100,000 entries, at the moment the rows are all built: the dashboard's peak)."""

    BULK_AFTER = 64

    def __init__(self, seg: Segment):
        self.seg = seg
        self.blob: bytes | None = None
        self.offsets = array("Q")
        self.crcs = array("I")
        try:
            self.offsets.frombytes(read_column(seg, "data_offsets"))
            self.crcs.frombytes(read_column(seg, "data_crcs"))
        except ValueError:
            raise IndexDamaged(f"{seg.path.name}: bad offsets") from None
        if (len(self.offsets) != seg.count + 1 or len(self.crcs) != seg.count
                or self.offsets[-1] != seg.columns["data"][1]):
            raise IndexDamaged(f"{seg.path.name}: offsets do not match the data")
        self._single_reads = 0
        self._seen = bytearray(seg.count)  # entries read at least once (whole columns are let go after all were)
        self._unseen = seg.count

    def raw(self, i: int) -> bytes:
        start, end = self.offsets[i], self.offsets[i + 1]
        if not self._seen[i]:
            self._seen[i] = 1
            self._unseen -= 1
        if self.blob is None and self._single_reads >= self.BULK_AFTER:
            self.blob = read_column(self.seg, "data")
        if self.blob is not None:
            raw = self.blob[start:end]
            if not self._unseen:  # every entry was read once: a listing is past this segment
                self.release()
            return raw
        self._single_reads += 1
        try:
            raw = os.pread(self.seg.fd, end - start, self.seg.columns["data"][0] + start)
        except OSError as exc:
            raise IndexDamaged(f"{self.seg.path.name}: {exc.strerror or exc}") from None
        if len(raw) != end - start or zlib.crc32(raw) != self.crcs[i]:
            raise IndexDamaged(f"{self.seg.path.name}: entry {i} damaged")
        return raw

    def get(self, i: int) -> dict:
        return unpickle_mapping(self.raw(i), f"{self.seg.path.name}: entry {i}")

    def release(self) -> None:
        """Forget the column read whole (the next reads are single `pread`s again, until `BULK_AFTER`; a next pass
        over every entry lets go of it again at its end)."""
        self.blob = None
        self._single_reads = 0
        self._seen = bytearray(self.seg.count)
        self._unseen = self.seg.count


def unpickle_mapping(raw: bytes, where: str) -> dict:
    """`raw` unpickled, which must give a dict; anything else (a failing or foreign pickle) is `IndexDamaged`
    naming `where`, so the caller rebuilds the index instead of showing a wrong row."""
    try:
        value = pickle.loads(raw)
    except Exception:  # noqa: BLE001
        raise IndexDamaged(f"{where}: unreadable") from None
    if not isinstance(value, dict):
        raise IndexDamaged(f"{where}: not a mapping")
    return value


def read_part(seg: Segment, name: str, start: int, length: int, crc: int) -> bytes:
    """`length` bytes at `start` within column `name` (one of several parts stored back to back, each with its
    own CRC: a per-param value column inside ``vals``), checked."""
    try:
        raw = os.pread(seg.fd, length, seg.columns[name][0] + start)
    except OSError as exc:
        raise IndexDamaged(f"{seg.path.name}: {exc.strerror or exc}") from None
    if len(raw) != length or zlib.crc32(raw) != crc or start + length > seg.columns[name][1]:
        raise IndexDamaged(f"{seg.path.name}: part of column {name} damaged")
    return raw


def encode(version: tuple, shas: list[str], times: list[Any], fragments: list[Any], data: list[bytes],
           extra: dict[str, bytes] | None = None) -> bytes:
    """A whole segment file; `data` holds one pickled entry per sha; `extra`: more columns by name (the index's
    per-column store, `index._columnar`)."""
    offsets = array("Q", [0])
    crcs = array("I")
    total = 0
    for item in data:
        total += len(item)
        offsets.append(total)
        crcs.append(zlib.crc32(item))
    payloads = {
        "sha": pickle.dumps(shas, protocol=pickle.HIGHEST_PROTOCOL),
        "time": pickle.dumps(times, protocol=pickle.HIGHEST_PROTOCOL),
        "json": pickle.dumps(fragments, protocol=pickle.HIGHEST_PROTOCOL),
        **(extra or {}),
        "data": b"".join(data),  # last, with its offsets and CRCs: the file ends as format 4's did
        "data_offsets": offsets.tobytes(),
        "data_crcs": crcs.tobytes(),
    }
    columns: dict[str, tuple[int, int, int]] = {}
    offset = 0  # relative to the end of the header, whose size depends on what it holds
    for name, payload in payloads.items():
        columns[name] = (offset, len(payload), zlib.crc32(payload))
        offset += len(payload)
    meta = pickle.dumps({"version": version, "count": len(shas), "columns": columns}, protocol=4)
    return _HEAD.pack(MAGIC, len(meta), zlib.crc32(meta)) + meta + b"".join(payloads.values())


def write_segment(directory: Path, number: int, payload: bytes) -> Path:
    from dvc_compat.fsutil import atomic_write

    # the writer's own name: two processes appending at once both pick the same next number, and a rename onto
    # the other's file would leave this process reading that file's entries at its own entries' positions
    path = segment_path(directory, number)
    atomic_write(path, payload, durable=False)
    return path


def segment_path(directory: Path, number: int) -> Path:
    """A new segment file's name: its number, then the writer's own pid and a random part (see `write_segment`)."""
    return directory / f"{PREFIX}{number:08d}-{os.getpid()}-{os.urandom(3).hex()}{SUFFIX}"


def encode_blob(version: tuple, value: Any) -> bytes:
    """A single checksummed pickle (the notes cache): magic, length, crc, then the pickle."""
    raw = pickle.dumps({"version": version, "value": value}, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEAD.pack(MAGIC, len(raw), zlib.crc32(raw)) + raw


def decode_blob(path: Path, version: tuple) -> Any:
    """The value `encode_blob` wrote (None: no file or another version); IndexDamaged if damaged."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexDamaged(f"{path.name}: {exc.strerror or exc}") from None
    if len(data) < _HEAD.size:
        raise IndexDamaged(f"{path.name}: truncated")
    magic, length, crc = _HEAD.unpack(data[:_HEAD.size])
    raw = data[_HEAD.size:]
    if magic != MAGIC or len(raw) != length or zlib.crc32(raw) != crc:
        raise IndexDamaged(f"{path.name}: damaged")
    try:
        meta = pickle.loads(raw)
    except Exception:  # noqa: BLE001
        raise IndexDamaged(f"{path.name}: unreadable") from None
    if not isinstance(meta, dict) or meta.get("version") != version:
        return None
    return meta.get("value")
