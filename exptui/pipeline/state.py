"""Hashes of workspace files, remembered by (inode, mtime_ns, size) so unchanged data is never re-read.

DVC keeps the same kind of "state" database; ours lives at
`<repo>/.dvc/tmp/exptui/state.sqlite` (WAL; `tmp_dir` says where for repos without `.dvc`).
It is only a cache: deleting it costs one re-hash, a corrupt one is recreated, and a
read-only one degrades to in-memory memoisation.

Why these choices:
- one connection and one write transaction per command: lookups are single-row selects,
  new hashes are buffered and written together on `close()`;
- the key is (inode, mtime, ctime, size): tools that preserve or normalise mtimes (`cp -p`,
  `tar -x`, `rsync -t`, reproducible builds) can give new content an old mtime, but nothing in user
  space can set ctime, which every write and every `utime` moves to "now";
- git's "racily clean" rule: a file changed again within the timestamp granularity of the moment
  its content was read would keep its stat and a stale hash. So before reading a file we take a
  *stamp* on the file system's own clock (touch `state.stamp` next to the database, read its
  mtime) and an entry is trusted only if the file's ctime is strictly older than that stamp: any
  later change then lands in a later tick and moves ctime. Entries that are not (the file was
  written in the same tick, or its clock is ahead) are memoised for this command but never
  persisted, and rows are checked again on lookup. A wall-clock guard (`RACY_FINE_NS`, or
  `RACY_COARSE_NS` for whole-second mtimes) is kept on top, for files on another file system;
- directories are hashed as DVC hashes them: the md5 of the JSON manifest of their files
  (each file's md5 from this same cache) + `.dir`; `size` is the total, `nfiles` the count.
"""
from __future__ import annotations

import os
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from dvc_compat.ignore import DvcIgnore

#: an entry is not persisted while the file is younger than this (mtime granularity guard):
#: file systems with sub-second mtimes tick every few ms; whole-second ones (FAT, old HFS+, some NFS) need 2 s
RACY_FINE_NS = 30_000_000
RACY_COARSE_NS = 2_000_000_000
#: names DVC never looks into inside a tracked directory
_ALWAYS_IGNORED = {".git", ".hg", ".dvc"}


@dataclass(frozen=True)
class Hashed:
    """The current hash of a workspace path (file or directory)."""

    md5: str                       # `.dir` suffix for directories
    size: int
    nfiles: int | None = None      # directories only
    isexec: bool = False           # files only
    manifest: bytes | None = None  # directories: the exact JSON bytes hashed (cache object body)

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


def md5_file(path: str | os.PathLike[str]) -> str:
    """md5 of the raw bytes (DVC 3 `hash: md5`)."""
    from dvc_compat.hashing import md5_file as _md5

    return _md5(path)


def dir_manifest(entries: list[tuple[str, str]]) -> tuple[bytes, str]:
    """(JSON manifest bytes, `<md5>.dir`) of (relpath, md5) pairs, as DVC writes `.dir` objects."""
    from dvc_compat.hashing import dir_manifest as _dir_manifest

    return _dir_manifest(entries)


def tmp_dir(root: Path) -> Path:
    """Where a command keeps its scratch state for `root`: DVC's `.dvc/tmp` in a DVC repo; in a plain git
    repo (queued runs support pipelines without `dvc init`) `<git dir>/exptui/tmp`, so nothing appears in
    the work tree. Only a path: nothing is created here."""
    root = Path(root)
    if (root / ".dvc").is_dir():
        return root / ".dvc" / "tmp"
    git = root / ".git"
    if git.is_file():  # a linked worktree or submodule: "gitdir: <path>"
        text = git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            git = (root / text[len("gitdir:"):].strip()).resolve()
    return git / "exptui" / "tmp"


#: the on-disk layout (PRAGMA user_version); a database of another version is dropped and rebuilt
_SCHEMA = 2

#: a row: (inode, mtime_ns, ctime_ns, size, md5, stamp_ns)
_Row = tuple[int, int, int, int, str, int]


def _trusted(row: _Row, st: os.stat_result) -> bool:
    """The row describes `st` exactly, and was taken after the file's last change had left its tick."""
    return (row[0] == st.st_ino and row[1] == st.st_mtime_ns and row[2] == st.st_ctime_ns and row[3] == st.st_size
            and row[2] < row[5])


class StateDB:
    """Per-command hasher: stat cache in sqlite + in-memory memo (each path hashed once)."""

    def __init__(self, root: Path, db_path: Path | None = None) -> None:
        self.root = Path(root)
        self.db_path = db_path or tmp_dir(self.root) / "exptui" / "state.sqlite"
        self._conn: sqlite3.Connection | None = None
        self._opened = False
        self._pending: dict[str, _Row] = {}
        self._memo: dict[str, Hashed | None] = {}
        self._prefetched: dict[str, _Row] = {}
        self._ignore: DvcIgnore | None = None
        self._stamp_ns: int | None = None   # the file system's clock, taken before the reads that follow
        self._stamp_failed = False
        self.hashed_bytes = 0          # bytes actually read this command (for tests/benchmarks)

    # ------------------------------------------------------------ sqlite
    def _db(self) -> sqlite3.Connection | None:
        if self._opened:
            return self._conn
        self._opened = True
        for attempt in range(2):
            try:
                self.db_path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.db_path), timeout=10, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                if conn.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA:
                    conn.execute("DROP TABLE IF EXISTS state")  # an older layout: only a cache
                    conn.execute(f"PRAGMA user_version={_SCHEMA}")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS state (path TEXT PRIMARY KEY, inode INTEGER, "
                    "mtime_ns INTEGER, ctime_ns INTEGER, size INTEGER, md5 TEXT, stamp_ns INTEGER)"
                )
                self._conn = conn
                return conn
            except sqlite3.DatabaseError:
                if attempt == 0 and self.db_path.exists():
                    # corrupt cache: it is only a cache, start over
                    for suffix in ("", "-wal", "-shm"):
                        try:
                            os.unlink(str(self.db_path) + suffix)
                        except OSError:
                            pass
                    continue
                return None
            except OSError:
                return None
        return None

    def _prefetch(self, directory: str) -> None:
        """Load every entry under `directory` with one range query (a tracked dir may hold 100k files)."""
        conn = self._db()
        if conn is None:
            return
        lo = directory.rstrip(os.sep) + os.sep
        hi = lo[:-1] + chr(ord(os.sep) + 1)
        try:
            rows = conn.execute(
                "SELECT path, inode, mtime_ns, ctime_ns, size, md5, stamp_ns FROM state WHERE path >= ? AND path < ?",
                (lo, hi),
            ).fetchall()
        except sqlite3.DatabaseError:
            return
        self._prefetched.update({r[0]: r[1:] for r in rows})

    def _lookup(self, key: str, st: os.stat_result) -> str | None:
        row = self._prefetched.get(key)
        if row is None:
            conn = self._db()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    "SELECT inode, mtime_ns, ctime_ns, size, md5, stamp_ns FROM state WHERE path = ?", (key,)
                ).fetchone()
            except sqlite3.DatabaseError:
                return None
        if row is not None and _trusted(row, st):
            return row[4]
        return None

    def _stamp(self, st: os.stat_result) -> int | None:
        """A time on the file system's clock taken before `st`'s file is read: the current stamp if the file's
        last change is already older, else a fresh one (touch `state.stamp`, read its mtime). None when no stamp
        can be taken (read-only location): nothing is persisted then."""
        if self._stamp_ns is not None and st.st_ctime_ns < self._stamp_ns:
            return self._stamp_ns
        if self._stamp_failed:
            return None
        stamp = self.db_path.with_name("state.stamp")
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            with open(stamp, "ab"):
                pass
            os.utime(stamp)
            self._stamp_ns = os.stat(stamp).st_mtime_ns
        except OSError:
            self._stamp_failed = True
            return None
        return self._stamp_ns

    def _remember(self, key: str, st: os.stat_result, md5: str, stamp: int | None) -> None:
        if stamp is None or st.st_ctime_ns >= stamp:
            return  # changed within the tick of our read: racily clean, never trusted later
        window = RACY_COARSE_NS if st.st_mtime_ns % 1_000_000_000 == 0 else RACY_FINE_NS
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < window:
            return
        self._pending[key] = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size, md5, stamp)

    def close(self) -> None:
        """Write the new hashes in one transaction and close."""
        conn = self._conn
        if conn is not None and self._pending:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR REPLACE INTO state (path, inode, mtime_ns, ctime_ns, size, md5, stamp_ns) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(k, *v) for k, v in self._pending.items()],
                )
                conn.execute("COMMIT")
            except sqlite3.DatabaseError:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.DatabaseError:
                    pass
        self._pending.clear()
        if conn is not None:
            conn.close()
        self._conn = None
        self._opened = False

    def __enter__(self) -> StateDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ hashing
    def forget(self, path: Path | str) -> None:
        """Drop the memo of `path`, everything below it and every directory above it: it changed."""
        key = str(path)
        prefix = key + os.sep
        for k in [k for k in self._memo if k == key or k.startswith(prefix)]:
            del self._memo[k]
        parent = os.path.dirname(key)
        while parent and parent != key:
            self._memo.pop(parent, None)
            key, parent = parent, os.path.dirname(parent)

    def file_md5(self, path: Path | str, st: os.stat_result | None = None) -> str:
        st = st or os.stat(path)
        key = str(path)
        md5 = self._lookup(key, st)
        if md5 is None:
            stamp = self._stamp(st)  # before the read: a change after it moves ctime past the stamp
            md5 = md5_file(path)
            self.hashed_bytes += st.st_size
            self._remember(key, st, md5, stamp)
        return md5

    def record(self, path: Path, md5: str) -> None:
        """We know `path`'s md5 (just checked out from the cache): store it without reading it.

        Only against a stamp taken *before* the file was written (never a fresh one): with no read to come after
        the stamp, a change right after our write in the same tick would otherwise be trusted. A file we just
        wrote is therefore usually hashed once more by the next command, which then remembers it."""
        path = Path(path)
        try:
            st = os.stat(path)
        except OSError:
            return
        if stat.S_ISREG(st.st_mode):
            self._remember(str(path), st, md5, self._stamp_ns)

    def hash(self, path: Path) -> Hashed | None:
        """Hash a file or directory; None when it does not exist. Memoised per command."""
        key = str(path)
        if key in self._memo:
            return self._memo[key]
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            self._memo[key] = None
            return None
        if stat.S_ISDIR(st.st_mode):
            result = self._hash_dir(Path(path))
        elif not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            from exptui.errors import PipelineError

            raise PipelineError(f"'{path}' is not a regular file or directory; DVC cannot track it")
        else:
            result = Hashed(self.file_md5(Path(path), st), st.st_size,
                            isexec=bool(st.st_mode & stat.S_IXUSR))
        self._memo[key] = result
        return result

    def _ignores(self) -> DvcIgnore:
        if self._ignore is None:
            self._ignore = DvcIgnore(self.root)
        return self._ignore

    def walk_files(self, top: Path | str) -> list[tuple[str, str, os.stat_result]]:
        """Files under `top` as (relpath, path, stat), skipping what DVC skips, sorted by relpath.

        Plain strings, not Path objects: a tracked directory may hold 100k files.
        """
        ignore = self._ignores()
        try:
            top_rel = Path(top).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            top_rel = None
        matching = top_rel is not None and ignore.applies_under(top_rel)
        out: list[tuple[str, str, os.stat_result]] = []
        stack = [(str(top), "")]
        while stack:
            directory, rel = stack.pop()
            with os.scandir(directory) as it:
                for entry in it:
                    if entry.name in _ALWAYS_IGNORED:
                        continue
                    sub_rel = f"{rel}{entry.name}"
                    # as DVC (os.walk without followlinks): a symlink to a directory is neither walked into nor
                    # data (a link back up would otherwise loop); a symlink to a file is its target's content
                    is_dir = entry.is_dir(follow_symlinks=False)
                    if matching:
                        repo_rel = sub_rel if top_rel == "." else f"{top_rel}/{sub_rel}"
                        if ignore.is_ignored(repo_rel, is_dir):
                            continue
                    if is_dir:
                        stack.append((entry.path, sub_rel + "/"))
                    elif entry.is_file():  # sockets/FIFOs inside an output are not data
                        out.append((sub_rel, entry.path, entry.stat()))
        out.sort(key=lambda t: t[0])
        return out

    def _shown(self, path: Path) -> str:
        """`path` relative to the repo for messages (absolute when outside it)."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _hash_dir(self, path: Path) -> Hashed:
        entries: list[tuple[str, str]] = []
        size = 0
        self._prefetch(str(path))
        for rel, file_path, st in self.walk_files(path):
            if rel == ".dvcignore" or rel.endswith("/.dvcignore"):
                from exptui.errors import PipelineError

                raise PipelineError(
                    f"'{self._shown(path)}' holds a .dvcignore file ({rel}), which DVC refuses inside a tracked "
                    "directory: move it to a directory above, or track a subdirectory instead"
                )
            md5 = self.file_md5(file_path, st)
            self._memo[file_path] = Hashed(md5, st.st_size, isexec=bool(st.st_mode & stat.S_IXUSR))
            entries.append((rel, md5))
            size += st.st_size
        manifest, md5 = dir_manifest(entries)
        return Hashed(md5, size, len(entries), manifest=manifest)
