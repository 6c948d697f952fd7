"""`exptui ui`'s `git for-each-ref` of every ref, started first thing in the process (issue 13, first paint).

At 100,000 experiments the dashboard's early start (`Project.start_first_screen`) waits 0.3-0.5 s of wall time
for git's `for-each-ref` over a 10 MB `packed-refs` (git's own CPU, on the other core). Started from the early
thread it began only after `import exptui.project` and `Project.open` (0.07-0.14 s wall). `start` runs it from
`exptui.cli.main` before click or the project are imported; the early thread takes its output (`StartedRefs`).

Why the refs it prints are safe to paint: the change token and the state token are read (stat calls only) BEFORE
the process is started, and the early thread hands that token on with the refs (`Early.token`). The app uses the
refs only when its own token, read later, is that same token; a ref added, deleted or moved at any time after the
token was read (before, during or after git's read) changes the later token, and then the refs are not used (the
app reads the listing itself, as for any change after the early start). So the refs are never older than what
the token vouches for; this is the order `first_screen` keeps when it reads the refs itself (token, state, refs).

Nothing is started when the saved first screen was saved under the token (`first_rows.saved_under`: the
common start with nothing changed, which reads no refs before the paint; git running then only took CPU from the
UI's start-up). Anything unusual gives no head start and the usual path: not a git repo (the usual one-line error comes from
`Project.open`), a bare repo, git failing or printing nothing, another repository than the project's. The
process is stopped (`discard`) when not used, so it never outlives the command.
"""
from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field


@dataclass(eq=False)
class StartedRefs:
    """A running `git for-each-ref` (`git_args.refs_args()`) of the repository at `root`/`git_dir`, started after
    `token` and `state` (`exptui.store.token.changed_token` with and without the experiment refs) were read."""

    root: str
    git_dir: str
    token: str
    state: str
    proc: subprocess.Popen[bytes]
    out: int                     # the file git writes to (a memfd): see `start`
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _taken: bool = False

    def output(self) -> bytes | None:
        """for-each-ref's output once git exits, or None if it failed (the caller reads the refs itself then).
        Handed out once; later calls give None."""
        with self._lock:
            if self._taken:
                return None
            self._taken = True
        try:
            code = self.proc.wait()
            out = _read_all(self.out)   # one read of the whole file, ~11 MB at 100,000 refs
        except BaseException:
            self._stop(close=False)
            raise
        finally:
            os.close(self.out)
        return out if code == 0 and out else None

    def discard(self) -> None:
        """Not used: git is stopped (SIGTERM; it only reads) and waited for."""
        with self._lock:
            if self._taken:
                return
            self._taken = True
        self._stop()

    def _stop(self, close: bool = True) -> None:
        from exptui.store.signals import stop_process

        stop_process(self.proc)
        if close:
            os.close(self.out)


def _read_all(fd: int) -> bytes:
    """The whole file behind `fd`, from its start."""
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    while size > 0:
        chunk = os.pread(fd, size, sum(map(len, chunks)))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_started: StartedRefs | None = None


def start(repo: str = ".") -> StartedRefs | None:
    """Find the repository containing `repo` (`_find_repo`), read its tokens, then start its for-each-ref; kept
    for `take`. None (nothing started) when anything is unusual: the usual path reports it."""
    global _started
    discard()
    try:
        path = os.path.realpath(repo)
        if not os.path.isdir(path):
            return None
        from exptui.store.git_args import git_env, refs_args

        found = _find_repo(path)
        if found is None:
            return None
        root, git_dir = found
        from pathlib import Path

        from exptui.store.signals import OWN_GROUP
        from exptui.store.token import changed_token

        # the tokens first: see the module's docstring
        token = changed_token(Path(git_dir), Path(root))
        from exptui.store.first_rows import saved_under

        if saved_under(Path(git_dir), token):
            return None   # nothing changed since the saved screen: no refs are read before the paint
        state = changed_token(Path(git_dir), Path(root), refs=False)
        # into a file, not a pipe: nobody reads git's output until the early thread is up (~0.1 s later), and
        # a pipe's 64 KiB would stop git after its first 600 refs
        out = _scratch_fd()
        try:
            proc = subprocess.Popen(["git", f"--git-dir={git_dir}", f"--work-tree={root}", *refs_args()],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL,
                                    env=git_env(), cwd=root, **OWN_GROUP)
        except BaseException:
            os.close(out)
            raise
    except Exception:  # noqa: BLE001 - only a head start
        return None
    _started = StartedRefs(root, git_dir, token, state, proc, out)
    return _started


#: environment variables that change where git finds the repository: with any of them, no guess (`_find_repo`)
_DISCOVERY_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
                  "GIT_DISCOVERY_ACROSS_FILESYSTEM")


def _find_repo(path: str) -> tuple[str, str] | None:
    """(top level, git dir) of the work tree containing `path`, found as git does in the usual cases: the first
    directory upwards holding a `.git` directory, or a `.git` file naming the git dir (a linked worktree, a
    submodule). No `git rev-parse` process: under load its spawn and wait cost tens of ms before for-each-ref can
    start. Only a guess: `Project.start_first_screen` uses the refs only if the project (found by git itself)
    has this same git dir and top level, and stops git otherwise. None: nothing found, or the environment
    steers git's discovery."""
    if any(name in os.environ for name in _DISCOVERY_ENV):
        return None
    here = path
    while True:
        dotgit = os.path.join(here, ".git")
        if os.path.isdir(dotgit):
            return here, dotgit
        if os.path.isfile(dotgit):
            with open(dotgit, encoding="utf-8", errors="replace") as file:
                text = file.read(4096)
            if not text.startswith("gitdir: "):
                return None
            return here, os.path.realpath(os.path.join(here, text[len("gitdir: "):].strip()))
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _scratch_fd() -> int:
    """An anonymous file to read back: a memfd (Linux), else an unlinked temporary file."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("exptui-refs", os.MFD_CLOEXEC)
    import tempfile

    fd, path = tempfile.mkstemp(prefix="exptui-refs-")
    os.unlink(path)
    return fd


def take() -> StartedRefs | None:
    """The refs `start` started (once), for the dashboard's early start."""
    global _started
    started, _started = _started, None
    return started


def discard() -> None:
    """Stop what `start` started if nobody took it (a command that failed before the dashboard started)."""
    started = take()
    if started is not None:
        started.discard()

