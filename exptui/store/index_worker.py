"""A second process for a cold index build: reads, parses and encodes half of the chunks on the other core.

A cold listing of 100,000 experiments reads 200,000 params/metrics blobs and parses, flattens and encodes them:
~15 s of CPU, almost all of it in this process while `git cat-file` waits, or the other way round. With two cores,
`ExperimentIndex._ensure` hands the second half of its chunks to one helper process (`python -m
exptui.store.index_worker`, its own `git cat-file`) and reads the first half itself. The helper writes each
chunk's finished segment file (`index.segment_payload`, the same bytes `IndexCache.save` writes for those
entries) as a temp file in the index directory and names it on stdout; the parent renames them into place in
chunk order after its own, so the index on disk holds what a serial build writes, in the same order.

It is a plain subprocess speaking pickles over stdin/stdout, not `multiprocessing`: that would import the parent's
``__main__`` again in the child (``python -m exptui`` runs the CLI at import). Nothing depends on it: a helper that
cannot start, dies or is killed leaves its chunks undelivered and the parent reads them itself. SIGINT kills it
quietly (no traceback from the helper when Ctrl-C reaches the whole process group).

It never outlives its parent by more than a moment: the parent keeps the helper's stdin open for as long as it
wants answers, and a thread of the helper waits for that pipe's end-of-file, which the kernel delivers as soon as
the parent is gone however it ended (SIGKILL included; portable, and unlike Linux's PR_SET_PDEATHSIG not tied to
the thread that started it). It then exits at once, in the middle of a chunk: a helper killed so used to read on
to the end of its chunk (seconds of CPU at 5,000 commits) and only stopped on writing its answer. What it leaves
(temp files named with its pid, never listed as segments) is removed by the next write of the index, which
removes the temp files of dead writers.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from exptui.store.git import Git
    from exptui.store.index import IndexCache


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


class SegmentWorker:
    """The parent's end: the helper process and the thread draining its answers (so it never blocks on a full
    pipe while the parent reads its own chunks)."""

    def __init__(self, proc: subprocess.Popen[bytes], directory: Path):
        self.proc = proc
        self.directory = directory
        self._raw = b""
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        try:
            assert self.proc.stdout is not None
            self._raw = self.proc.stdout.read()
        except (OSError, ValueError):
            self._raw = b""

    @classmethod
    def start(cls, git: Git, dvc_cache_dir: Path | None, cache: IndexCache, chunks: list[list[str]],
              hints: dict[str, tuple[str, ...]] | None) -> SegmentWorker | None:
        """The helper working on `chunks`, or None when a second process would not help or cannot run (one
        core, no interpreter to start, an index directory that cannot be written)."""
        if not chunks or _cores() < 2 or not sys.executable:
            return None
        cache.load()
        try:
            cache.dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        if not os.access(cache.dir, os.W_OK):
            return None
        wanted = {sha for chunk in chunks for sha in chunk}
        job = {
            "root": str(git.root), "git_dir": str(git.git_dir), "dvc_cache_dir": dvc_cache_dir,
            "version": cache._version, "chunks": chunks, "directory": str(cache.dir),
            "hints": None if hints is None else {s: p for s, p in hints.items() if s in wanted},
        }
        try:
            proc = subprocess.Popen([sys.executable, "-m", "exptui.store.index_worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            return None
        worker = cls(proc, cache.dir)
        try:
            assert proc.stdin is not None
            payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.write(len(payload).to_bytes(8, "little") + payload)
            proc.stdin.flush()   # and kept open: its end-of-file tells the helper that this process is gone
        except OSError:
            worker.close()
            return None
        return worker

    def results(self) -> dict[int, tuple[list[str], Path]]:
        """{chunk number: (shas, its segment's temp file)} of every chunk the helper finished; waits for it."""
        self._drain.join()
        self.proc.wait()
        out: dict[int, tuple[list[str], Path]] = {}
        raw, pos = self._raw, 0
        try:
            while pos < len(raw):
                size = int.from_bytes(raw[pos:pos + 8], "little")
                if size <= 0 or pos + 8 + size > len(raw):
                    break  # torn (the helper died mid-write): that chunk is read by the parent
                i, shas, name = pickle.loads(raw[pos + 8:pos + 8 + size])
                out[i] = (shas, self.directory / name)
                pos += 8 + size
        except Exception:  # noqa: BLE001 - never trust a broken answer: undelivered chunks are read by the parent
            pass
        return out

    def close(self) -> None:
        """Stop the helper if it still runs (the parent failed or was interrupted) and remove what it wrote that
        was not taken (renamed into the index)."""
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()   # the helper's watcher sees end-of-file and exits
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        self.proc.wait()
        self._drain.join()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        for pattern in (f"{_TEMP_PREFIX}{self.proc.pid}-*.tmp", f".{_TEMP_PREFIX}{self.proc.pid}-*.tmp"):
            for left in self.directory.glob(pattern):   # its segments, and `atomic_write`'s temp of one
                left.unlink(missing_ok=True)


#: the helper's segment files before the parent renames them: a dot file ending in .tmp, which `list_segments`
#: never lists and `IndexCache` removes when its writer is dead (`helper_temp_pid`) or it is an hour old
_TEMP_PREFIX = ".helper-"


def helper_temp_pid(name: str) -> int | None:
    """The helper's pid in the name of one of its segment files (``.helper-<pid>-<chunk>.tmp``), else None."""
    if not (name.startswith(_TEMP_PREFIX) and name.endswith(".tmp")):
        return None
    pid, _sep, _rest = name[len(_TEMP_PREFIX):].partition("-")
    return int(pid) if pid.isdigit() else None


def _exit_with_parent(fd: int) -> None:
    """Exit as soon as the parent's end of stdin is closed: it closes it when it no longer wants answers, and the
    kernel closes it when the parent dies (SIGKILL too). Nothing is cleaned up here: a segment half written is a
    temp file named with this pid, which the next index write removes (its writer is dead). The raw fd, not
    `sys.stdin.buffer`: a daemon thread blocked inside a buffered reader holds its lock, which the interpreter's
    shutdown would then wait for."""
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass
    os._exit(1)


def main() -> int:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches the whole group: die without a traceback
    from dvc_compat.fsutil import atomic_write
    from exptui.store.commit_data import CommitReader
    from exptui.store.git import Git
    from exptui.store.index import _commit_fragments, read_chunk, segment_payload

    stdin = sys.stdin.buffer
    size = int.from_bytes(stdin.read(8), "little")
    job: dict[str, Any] = pickle.loads(stdin.read(size))
    threading.Thread(target=_exit_with_parent, args=(stdin.fileno(),), daemon=True).start()
    git = Git(job["root"], job["git_dir"])
    reader = CommitReader(git, job["dvc_cache_dir"])
    directory = Path(job["directory"])
    out = sys.stdout.buffer
    for i, chunk in enumerate(job["chunks"]):
        new = read_chunk(reader, chunk, job["hints"])
        shas = list(new)
        payload = segment_payload(job["version"], _commit_fragments, shas, [new[s] for s in shas])
        del new
        name = f"{_TEMP_PREFIX}{os.getpid()}-{i}.tmp"
        atomic_write(directory / name, payload, durable=False)
        del payload
        answer = pickle.dumps((i, shas, name), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(answer).to_bytes(8, "little") + answer)
        out.flush()
        reader.forget_parsed()
    git.close()  # its `git cat-file`, waited for (its CPU time counted with this process's)
    return 0


if __name__ == "__main__":
    sys.exit(main())
