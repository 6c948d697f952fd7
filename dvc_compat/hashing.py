"""Content hashes exactly as DVC 3 computes them.

* file: md5 of the raw bytes (``hash: md5`` in dvc.lock);
* directory: md5 of a JSON manifest ``[{"md5": ..., "relpath": ...}, ...]`` sorted by relpath, serialised with
  sorted keys and default separators, with ``.dir`` appended; the manifest bytes themselves are the cache object;
* legacy (DVC 2, no ``hash:`` field): ``md5-dos2unix``, where text files have CRLF turned into LF first.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable, Iterator

__all__ = [
    "CHUNK_SIZE",
    "md5_bytes",
    "md5_file",
    "dir_manifest",
    "parse_dir_manifest",
    "is_text_chunk",
    "legacy_md5_dos2unix",
    "legacy_dir_md5",
    "DirHash",
    "walk_files",
    "hash_dir",
    "hash_path",
]

CHUNK_SIZE = 1024 * 1024
_TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: str | os.PathLike[str]) -> str:
    """md5 hex digest of a file's bytes, read in 1 MiB chunks (memory stays flat for big outputs)."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(CHUNK_SIZE)
        view = memoryview(buf)
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


def dir_manifest(entries: Iterable[tuple[str, str]]) -> tuple[bytes, str]:
    """(manifest bytes, ``<md5>.dir``) for a directory's files given as (posix relpath, file md5) pairs.

    The input order does not matter: entries are sorted by relpath, as DVC does.
    """
    items = [{"md5": md5, "relpath": rel} for rel, md5 in sorted(entries, key=lambda e: e[0])]
    data = json.dumps(items, sort_keys=True).encode("utf-8")
    return data, md5_bytes(data) + ".dir"


def parse_dir_manifest(data: bytes) -> list[tuple[str, str]]:
    """The (relpath, md5) pairs of a ``.dir`` cache object."""
    return [(item["relpath"], item["md5"]) for item in json.loads(data)]


def is_text_chunk(chunk: bytes) -> bool:
    """DVC 2's binary heuristic on a chunk's first 512 bytes: no NUL and < 30% non-text bytes."""
    block = chunk[:512]
    if not block:
        return True
    if b"\x00" in block:
        return False
    nontext = block.translate(None, _TEXT_CHARS)
    return len(nontext) / len(block) <= 0.30


def legacy_md5_dos2unix(path: str | os.PathLike[str]) -> str:
    """DVC 2's ``md5-dos2unix``, exactly as dvc-data computes it: the file is read in 1 MiB chunks and each
    chunk whose first 512 bytes look like text has CRLF replaced by LF before hashing (a CRLF split across a
    chunk boundary stays as it is, as in DVC)."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK_SIZE)
            if not chunk:
                break
            h.update(chunk.replace(b"\r\n", b"\n") if is_text_chunk(chunk) else chunk)
    return h.hexdigest()


def legacy_dir_md5(files: Iterable[tuple[str, str | os.PathLike[str]]]) -> str:
    """DVC 2's ``md5-dos2unix`` of a directory, from its (posix relpath, path) files (the caller walks it, leaving
    out what ``.dvcignore`` ignores): the manifest lists each file's ``legacy_md5_dos2unix`` under ``md5``, and the
    manifest bytes themselves are hashed with plain md5, as dvc-data digests a legacy tree."""
    return dir_manifest((rel, legacy_md5_dos2unix(path)) for rel, path in files)[1]


@dataclass(frozen=True)
class DirHash:
    """A directory's DVC hash: the manifest bytes (the ``.dir`` cache object), its oid, total size, file count."""

    manifest: bytes
    md5: str
    size: int
    nfiles: int
    entries: tuple[tuple[str, str], ...]   # (posix relpath, md5), sorted


def walk_files(root: str | os.PathLike[str]) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(posix relpath, DirEntry) of every file below `root` (symlinked directories are not followed)."""
    stack = [("", os.fspath(root))]
    while stack:
        rel, path = stack.pop()
        with os.scandir(path) as it:
            for e in it:
                child = f"{rel}/{e.name}" if rel else e.name
                if e.is_dir(follow_symlinks=False):
                    stack.append((child, e.path))
                elif e.is_file():
                    yield child, e


def hash_dir(path: str | os.PathLike[str]) -> DirHash:
    """Hash a directory as DVC 3 does (no stat cache: callers that hash often keep their own)."""
    entries: list[tuple[str, str]] = []
    size = 0
    for rel, e in walk_files(path):
        entries.append((rel, md5_file(e.path)))
        size += e.stat().st_size
    manifest, oid = dir_manifest(entries)
    entries.sort(key=lambda x: x[0])
    return DirHash(manifest=manifest, md5=oid, size=size, nfiles=len(entries), entries=tuple(entries))


def hash_path(path: str | os.PathLike[str]) -> tuple[str, int, int | None, bool]:
    """(md5, size, nfiles or None, isexec) of a file or directory, the fields of a dvc.lock entry."""
    p = Path(path)
    if p.is_dir():
        d = hash_dir(p)
        return d.md5, d.size, d.nfiles, False
    st = p.stat()
    return md5_file(p), st.st_size, None, bool(st.st_mode & 0o111)
