"""Single-object reads through GitPython's object database (`git.Repo.odb`, a `GitCmdObjectDB`).

Why: GitPython keeps one `git cat-file --batch` (and one `--batch-check`) process per repository and answers each
request with one write and one read on its pipes, about 30 µs an object. exptui's own reader (`_BatchReader` in
`exptui.store.git`) is built for batches (a writer thread per request, `--buffer`), which costs about 160 µs per
request however small: 200 single reads took 33 ms there and 10 ms here (`benchmarks/bench_git_layer.py`). For
batches it is the other way round (1,000 blobs: 18 ms there, 30 ms here), so only one-name requests come here.

GitPython itself is imported on first use (it adds ~70 ms of CPU, 100-200 ms of wall time, to a fresh process), never
at module import: `exptui show --json` and every other short command must not pay for it unless they use it.

Its processes are ours to end: `close()` runs `Repo.close()`, which terminates and reaps both cat-file processes;
GitPython's own answers are not thread-safe, so every request holds a lock. Errors never leave as GitPython's:
a missing object is `None`, a dead or unstartable process becomes `GitError` in one line.
"""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exptui.store.git import GitError

if TYPE_CHECKING:  # pragma: no cover
    import git

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_MISSING = re.compile(r" (missing|ambiguous)['\"]$")  # the end of GitPython's "git returned: b'<name> missing'"


class GitPythonOdb:
    """One repository's GitPython `Repo`, made on the first request and closed by `close()`."""

    def __init__(self, git_dir: Path, env: dict[str, str]):
        self._git_dir = git_dir
        self._env = env
        self._repo: git.Repo | None = None
        self._lock = threading.Lock()

    def _open(self) -> git.Repo:
        if self._repo is None:
            import git

            try:
                repo = git.Repo(self._git_dir)
            except (git.exc.GitError, OSError) as exc:
                raise GitError(f"cannot open {self._git_dir} with GitPython: {_one_line(exc)}") from None
            # exptui's environment for git (LC_ALL=C, no prompts), and this repository even when the caller's
            # environment names another one in GIT_DIR (a hook)
            changed = {k: v for k, v in self._env.items() if os.environ.get(k) != v}
            repo.git.update_environment(**changed, GIT_DIR=str(self._git_dir))
            self._repo = repo
        return self._repo

    def read(self, name: str) -> tuple[str, str, bytes] | None:
        """(sha, type, contents) of one object (a sha or any `rev:path`), None if it does not exist."""
        return self._ask(name, contents=True)

    def info(self, name: str) -> tuple[str, str] | None:
        """(sha, type) of one object without reading it, None if it does not exist."""
        return self._ask(name, contents=False)

    def _ask(self, name: str, contents: bool) -> tuple[Any, ...] | None:
        with self._lock:
            for attempt in (0, 1):
                repo = self._open()
                try:
                    return _request(repo, name, contents)
                except _Missing:
                    return None
                except Exception as exc:  # noqa: BLE001 - anything from a dead process: restart once
                    _end_processes(repo)
                    if attempt:
                        raise GitError(f"git cat-file stopped answering ({_one_line(exc)}); "
                                       "is the repository still there?") from None
                except BaseException:  # Ctrl-C between a header and its data: never answer the next request with it
                    _end_processes(repo)
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            repo, self._repo = self._repo, None
        if repo is not None:
            _end_processes(repo)
            repo.close()


def _end_processes(repo: git.Repo) -> None:
    """End and reap GitPython's persistent cat-file processes, whatever state they are in.

    `Repo.close()` alone is not enough: GitPython 3.1.40 raises BrokenPipeError from its own clean-up when a
    process died with a request still in its pipe, and then never waits for it (a zombie in a long-lived process).
    """
    for attr in ("cat_file_all", "cat_file_header"):
        proc = getattr(getattr(repo.git, attr, None), "proc", None)
        if proc is None:
            continue
        for pipe in (proc.stdin, proc.stdout, proc.stderr):  # EOF on stdin: cat-file exits by itself
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with contextlib.suppress(Exception):  # forget the (now ended) processes; the next request starts new ones
        repo.git.clear_cache()


class _Missing(Exception):
    pass


def _request(repo: git.Repo, name: str, contents: bool) -> tuple[Any, ...]:
    if _HEX40.match(name):  # a full sha: the object database proper
        binsha = bytes.fromhex(name)
        if contents:
            stream = _checked(lambda: repo.odb.stream(binsha))
            return stream.binsha.hex(), _text(stream.type), stream.read()
        info = _checked(lambda: repo.odb.info(binsha))
        return info.binsha.hex(), _text(info.type)
    if contents:  # `rev:path`, `HEAD`...: the same persistent process, by name
        sha, typ, _size, data = _checked(lambda: repo.git.get_object_data(name))
        return _text(sha), _text(typ), data
    sha, typ, _size = _checked(lambda: repo.git.get_object_header(name))
    return _text(sha), _text(typ)


def _checked(ask: Any) -> Any:
    """GitPython raises ValueError both for git's "<name> missing" / "<name> ambiguous" answer and (before 3.2, with
    the same words) for the empty answer of a dead process; only the first is a missing object."""
    try:
        return ask()
    except ValueError as exc:
        if _MISSING.search(str(exc)):
            raise _Missing from None
        raise


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
