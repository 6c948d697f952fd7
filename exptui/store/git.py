"""Git access for the store: the git CLI, one long-lived object reader, ref transactions, GitPython for single reads.

Each operation goes to whichever of the git CLI and GitPython was faster, measured with
`benchmarks/bench_git_layer.py` (1,000 experiment refs in DVC's layout, packed; fastest of 7 runs, wall time, with
the median CPU time of the Python process; 2-core machine under load from other jobs, 2026-12-06):

| operation | git CLI (here) | GitPython | kept |
|---|---:|---:|---|
| 1,000 blobs, one request | 18 ms, 7 ms CPU (`cat-file --batch-command`) | 30 ms, 22 ms CPU (`odb.stream` each) | CLI |
| 200 blobs, one request each | 33 ms, 26 ms CPU | 10 ms, 5 ms CPU | GitPython |
| 1,000 blob infos | 18 ms, 4 ms CPU | 17 ms, 15 ms CPU (`odb.info`) | CLI (a quarter of the CPU) |
| 1,000 commits read and parsed | 24 ms, 10 ms CPU | 183 ms, 64 ms CPU (`repo.commit`) | CLI |
| list 1,000 refs with their shas | 8 ms, 3 ms CPU (`for-each-ref`) | 2,621 ms (`repo.references` + `.commit`) | CLI |
| 200 commands (`rev-parse HEAD`) | 857 ms, 107 ms CPU (`subprocess.run`) | 1,137 ms, 145 ms CPU (`repo.git`) | CLI |
| import | `exptui.store.git` 97 ms | GitPython on top: +180 ms, 68 ms CPU | lazy |

So: batches (every listing, `exptui show`) use our own `git cat-file --batch-command --buffer -z` process, which
pipelines any number of requests in one round trip; a request for one object (a detail pane, a note, a templated
dvc.yaml's params per commit) goes to GitPython's object database (`Repo.odb`, its persistent `cat-file --batch`),
whose per-request cost is a fifth of ours — in long-lived processes (the TUI, queue workers: `long_lived=True`) from
the first read, in short commands only after SINGLE_READS_BEFORE_GITPYTHON reads, when the saving has paid for
importing GitPython (a short command that reads a few objects, as `exptui show --json` usually does, never
imports it). Commands stay on
`subprocess.run` (GitPython's `Git.execute` costs more per call and its import on top). Ref listing stays on one
`git for-each-ref`: GitPython resolves each ref's sha by scanning packed-refs again, quadratic in the number of
refs (2.6 s at 1,000). Ref transactions stay on `update-ref --stdin` (atomic, old-value-checked, all or nothing):
GitPython's `SymbolicReference.set_reference`/`set_object` write one ref at a time and read the old value only for
the reflog, never comparing it; pygit2's multi-ref transactions are not atomic either (docs/reliability.md).
Every failure leaves as one-line `GitError`/`RefConflict`/`RefLocked`, never a GitPython exception; `close()` ends
and reaps both readers' processes.
"""
from __future__ import annotations

import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from exptui.errors import ExptuiError, NotAGitRepo
from exptui.store.git_args import git_env
from exptui.store.signals import OWN_GROUP, run_process

if TYPE_CHECKING:  # pragma: no cover
    from exptui.store.gitpython_odb import GitPythonOdb

ZERO_OID = "0" * 40
# Never snapshot DVC's cache, scratch space or machine-local config, even in a repo whose `.dvc/.gitignore` is
# missing (DVC itself never commits them).
#: with DVC's cache dir (`dvc_compat.config.DEFAULT_CACHE_DIR`, imported where used: reading refs never needs
#: the config parser)
SNAPSHOT_EXCLUDED_PATHS = (".dvc/tmp", ".dvc/config.local")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
# One-name object requests of a short-lived process go to GitPython after this many: the batch reader answers one
# in ~160 µs, GitPython in ~30 µs, and importing GitPython costs ~70 ms of CPU (100-200 ms wall), which ~1,000 reads
# win back (the ski-rental rule: a short command that reads a few objects never pays for the import, a long one
# pays at most about twice the best choice). benchmarks/bench_git_layer.py measures both.
SINGLE_READS_BEFORE_GITPYTHON = 1000


class GitError(ExptuiError):
    """A git command failed for a reason we did not expect; the message carries git's own words."""


class RefConflict(ExptuiError):
    """A ref transaction's old-value check failed: somebody else changed (or created) `ref` first."""

    def __init__(self, ref: str, message: str):
        self.ref = ref
        super().__init__(message)


class RefLocked(GitError):
    """A ref's `.lock` file exists (a concurrent or crashed git process); retrying will not help until it goes."""

    def __init__(self, ref: str, message: str):
        self.ref = ref
        super().__init__(message)


@dataclass(frozen=True)
class RefUpdate:
    """One line of a ref transaction.

    `new=None` deletes the ref. `old=None` means "no check" (avoid it: concurrent writers then lose updates
    silently), `old=ZERO_OID` means create-only, any other sha is compare-and-swap.
    """

    ref: str
    new: str | None
    old: str | None = ZERO_OID


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    path: str


@dataclass(frozen=True)
class CommitInfo:
    """The parts of a commit object the store uses."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author_time: int
    commit_time: int
    message: str


def parse_commit(sha: str, raw: bytes) -> CommitInfo:
    """Parse a raw commit object (headers, blank line, message)."""
    head, _, msg = raw.partition(b"\n\n")
    tree = ""
    parents: list[str] = []
    author_time = commit_time = 0
    for line in head.split(b"\n"):
        if line.startswith(b"tree "):
            tree = line[5:].decode()
        elif line.startswith(b"parent "):
            parents.append(line[7:].decode())
        elif line.startswith(b"author "):
            author_time = _ident_time(line)
        elif line.startswith(b"committer "):
            commit_time = _ident_time(line)
    return CommitInfo(sha, tree, tuple(parents), author_time, commit_time, msg.decode("utf-8", "replace"))


def _ident_time(line: bytes) -> int:
    try:
        return int(line.rsplit(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


class _BatchReader:
    """A `git cat-file --batch-command --buffer -z` process shared by all threads.

    Requests are written by a helper thread while the caller reads the answers, so a large batch can never
    deadlock on full pipes. If the process dies (killed, repo moved) it is restarted once per request.
    """

    def __init__(self, git: Git):
        self._git = git
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            proc = subprocess.Popen(
                [*self._git.base_cmd(), "cat-file", "--batch-command", "--buffer", "-z"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self._git.env,
                **OWN_GROUP,  # not killed by a terminal's Ctrl-C under a held record (see store/signals.py)
            )
            self._proc = proc
        return proc

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]

    def request(self, commands: Sequence[tuple[str, str]]) -> list[tuple[str, str, bytes | None] | None]:
        """Run (`contents`|`info`, object-name) commands; answers are (sha, type, data-or-None) or None if missing."""
        if not commands:
            return []
        with self._lock:
            for attempt in (0, 1):
                proc = self._start()
                try:
                    return self._exchange(proc, commands)
                except (BrokenPipeError, EOFError, OSError, ValueError):
                    try:
                        proc.kill()
                        proc.wait()
                    except OSError:
                        pass
                    self._proc = None
                    if attempt:
                        raise GitError("git cat-file stopped answering; is the repository still there?") from None
        raise AssertionError("unreachable")

    @staticmethod
    def _exchange(proc: subprocess.Popen[bytes], commands: Sequence[tuple[str, str]]):
        payload = b"".join(
            f"{cmd} {name}".encode("utf-8", "surrogateescape") + b"\0" for cmd, name in commands
        ) + b"flush\0"
        errors: list[BaseException] = []

        def write() -> None:
            try:
                proc.stdin.write(payload)  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
            except BaseException as exc:  # noqa: BLE001 - reported by the reader
                errors.append(exc)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        out = proc.stdout
        assert out is not None
        answers: list[tuple[str, str, bytes | None] | None] = []
        try:
            for cmd, _name in commands:
                header = out.readline()
                if not header:
                    raise EOFError
                parts = header.rstrip(b"\n").split(b" ")
                if parts[-1] in (b"missing", b"ambiguous") or len(parts) != 3:
                    answers.append(None)
                    continue
                sha, typ, size = parts[0].decode(), parts[1].decode(), int(parts[2])
                if cmd == "contents":
                    data = out.read(size + 1)
                    if len(data) != size + 1:
                        raise EOFError
                    answers.append((sha, typ, data[:-1]))
                else:
                    answers.append((sha, typ, None))
        finally:
            writer.join()
        if errors:
            raise errors[0]
        return answers


class Git:
    """One repository, driven through the git CLI."""

    def __init__(self, root: str | os.PathLike[str], git_dir: str | os.PathLike[str] | None = None,
                 long_lived: bool = False):
        """`long_lived`: this process will live for a while (the TUI, a queue worker), so single-object reads go
        to GitPython from the first one; otherwise only after SINGLE_READS_BEFORE_GITPYTHON of them."""
        self.root = Path(root)
        self.git_dir = Path(git_dir) if git_dir is not None else self._find_git_dir(self.root)
        self.env = git_env()  # error messages we parse are English (LC_ALL=C)
        self._reader = _BatchReader(self)
        self._single_reads = 0
        self._gitpython_after = 0 if long_lived else SINGLE_READS_BEFORE_GITPYTHON
        self._odb: GitPythonOdb | None = None
        self._batch_only = threading.local()   # `batch_only`: per thread
        #: when a list: every object name asked of the object database (`batch`) is appended to it, so tests and
        #: benchmarks can tell what a listing read (the index reads only commits it has not seen)
        self.objects_requested: list[str] | None = None

    # --- discovery ----------------------------------------------------------------------------------------------

    @classmethod
    def discover(cls, path: str | os.PathLike[str] = ".", long_lived: bool = False) -> Git:
        """The repository containing `path` (its top level). Raises NotAGitRepo with what to do."""
        p = Path(path).resolve()
        if not p.exists():
            raise NotAGitRepo(f"{p} does not exist")
        proc = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir"],
            cwd=p, capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise NotAGitRepo(f"{p} is not inside a git repository; run 'git init' there (and commit) first")
        lines = proc.stdout.splitlines()
        if len(lines) < 2 or not lines[0]:
            raise NotAGitRepo(f"{p} is inside a bare git repository; exptui needs a work tree")
        return cls(lines[0], lines[1], long_lived=long_lived)

    def _find_git_dir(self, root: Path) -> Path:
        out = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir"], cwd=root, capture_output=True, text=True
        )
        if out.returncode != 0:
            raise NotAGitRepo(f"{root} is not a git repository; run 'git init' there first")
        return Path(out.stdout.strip())

    def base_cmd(self) -> list[str]:
        return ["git", f"--git-dir={self.git_dir}", f"--work-tree={self.root}"]

    # --- plain commands -----------------------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        input: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        cwd: str | os.PathLike[str] | None = None,
        work_tree: str | os.PathLike[str] | None = None,
    ) -> str:
        """Run a git command in this repo and return stdout as text; GitError (git's message) on failure."""
        return self.run_bytes(*args, input=input, env=env, check=check, cwd=cwd, work_tree=work_tree).decode(
            "utf-8", "replace"
        )

    def run_bytes(
        self,
        *args: str,
        input: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        cwd: str | os.PathLike[str] | None = None,
        work_tree: str | os.PathLike[str] | None = None,
    ) -> bytes:
        full_env = self.env if env is None else {**self.env, **env}
        if isinstance(input, str):
            input = input.encode()
        cmd = ["git", f"--git-dir={self.git_dir}", f"--work-tree={work_tree or self.root}", *args]
        # interrupted: git gets SIGTERM (it removes its lock files), not subprocess.run's SIGKILL
        proc = run_process(cmd, input=input, env=full_env, cwd=cwd or work_tree or self.root)
        if check and proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = msg[-1] if msg else f"exit code {proc.returncode}"
            raise GitError(f"git {args[0]} failed: {detail}")
        return proc.stdout

    def rev_parse(self, rev: str) -> str | None:
        """Full sha of `rev` (peeled to a commit when it names one), or None if it does not resolve."""
        out = self.run_bytes("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
        sha = out.decode().strip()
        return sha if _HEX40.match(sha) else None

    def head(self) -> str:
        """HEAD's sha; ExptuiError if the repository has no commits yet."""
        sha = self.rev_parse("HEAD")
        if sha is None:
            raise ExptuiError(
                f"{self.root} has no commits yet; make an initial commit (git add -A && git commit -m init) first"
            )
        return sha

    def head_branch(self) -> str | None:
        """Short name of the checked-out branch, None on a detached HEAD."""
        try:
            text = (self.git_dir / "HEAD").read_text().strip()
        except OSError:
            return None
        if text.startswith("ref: refs/heads/"):
            return text[len("ref: refs/heads/"):]
        return None

    def for_each_ref(self, patterns: Iterable[str], fields: Sequence[str] = ("refname", "objectname")) -> list[tuple[str, ...]]:
        """One `git for-each-ref` over `patterns`; each row holds the requested `%(field)` values."""
        fmt = "%00".join(f"%({f})" for f in fields)
        out = self.run_bytes("for-each-ref", f"--format={fmt}", *patterns)
        # one decode of the whole output, then splits: 100,000 refs are 300,000 fields
        return [tuple(line.split("\0")) for line in out.decode("utf-8", "replace").split("\n") if line]

    # --- objects ------------------------------------------------------------------------------------------------

    def read_objects(self, names: Sequence[str]) -> list[tuple[str, str, bytes] | None]:
        """Contents of many objects (shas or `rev:path`) in one round trip: (sha, type, data) or None if missing."""
        return self.batch([("contents", n) for n in names])  # type: ignore[return-value]

    def object_info(self, names: Sequence[str]) -> list[tuple[str, str] | None]:
        """(sha, type) of many objects in one round trip, without reading their contents; None if missing."""
        return [None if a is None else (a[0], a[1]) for a in self.batch([("info", n) for n in names])]

    def batch(self, commands: Sequence[tuple[str, str]]) -> list[tuple[str, str, bytes | None] | None]:
        """Mixed `contents`/`info` commands in one round trip (one name: see `_single_odb`)."""
        if self.objects_requested is not None:
            self.objects_requested.extend(name for _cmd, name in commands)
        if len(commands) == 1:
            odb = self._single_odb(commands[0][1])
            if odb is not None:
                cmd, name = commands[0]
                if cmd == "contents":
                    return [odb.read(name)]
                info = odb.info(name)
                return [None if info is None else (info[0], info[1], None)]
        return self._reader.request(commands)

    def _single_odb(self, name: str) -> GitPythonOdb | None:
        """GitPython's object database for a one-name request once it pays for its import (see the module
        docstring); None: use the batch reader (also for names GitPython's line protocol cannot carry)."""
        if "\n" in name or "\0" in name or getattr(self._batch_only, "on", False):
            return None
        self._single_reads += 1
        if self._single_reads <= self._gitpython_after:
            return None
        if self._odb is None:
            from exptui.store.gitpython_odb import GitPythonOdb

            self._odb = GitPythonOdb(self.git_dir, self.env)
        return self._odb

    @contextmanager
    def batch_only(self) -> Iterator[None]:
        """Meanwhile, this thread's one-name reads go to the batch reader, never to GitPython: the dashboard's
        early start reads a few new commits before the first paint while the UI thread imports Textual, and
        importing GitPython there (+68 ms CPU, 180 ms wall) would compete with it for the GIL."""
        before = getattr(self._batch_only, "on", False)
        self._batch_only.on = True
        try:
            yield
        finally:
            self._batch_only.on = before

    def read_blob(self, name: str) -> bytes | None:
        answer = self.read_objects([name])[0]
        return None if answer is None else answer[2]

    def read_commit(self, rev: str) -> CommitInfo:
        answer = self.read_objects([rev])[0]
        if answer is None or answer[1] != "commit":
            raise GitError(f"{rev} is not a commit")
        return parse_commit(answer[0], answer[2])

    def hash_object(self, data: bytes, obj_type: str = "blob") -> str:
        return self.run("hash-object", "-w", "-t", obj_type, "--stdin", input=data).strip()

    def ls_tree(self, tree: str, recursive: bool = True, paths: Sequence[str] = ()) -> list[TreeEntry]:
        """Entries of a tree-ish (NUL-safe)."""
        args = ["ls-tree", "-z", "--full-tree"]
        if recursive:
            args.append("-r")
        out = self.run_bytes(*args, tree, "--", *paths)
        entries = []
        for rec in out.split(b"\0"):
            if not rec:
                continue
            meta, _, path = rec.partition(b"\t")
            mode, typ, sha = meta.decode().split(" ")
            entries.append(TreeEntry(mode, typ, sha, path.decode("utf-8", "surrogateescape")))
        return entries

    def commit_tree(
        self,
        tree: str,
        parents: Sequence[str],
        message: str,
        date: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Create a commit object; the message is stored byte for byte (DVC's has no trailing newline).

        `date` (e.g. ``"1700000000 +0000"``) sets both author and committer dates; DVC dates its commits +0000.
        """
        extra: dict[str, str] = dict(env or {})
        if date is not None:
            extra.setdefault("GIT_AUTHOR_DATE", date)
            extra.setdefault("GIT_COMMITTER_DATE", date)
        args = ["commit-tree", "--no-gpg-sign", tree]  # commit.gpgSign would prompt once per experiment
        for p in parents:
            args += ["-p", p]
        try:
            return self.run(*args, "-F", "-", input=message.encode(), env=extra).strip()
        except GitError as exc:
            if "identity" in str(exc) or "user.email" in str(exc) or "Author identity" in str(exc):
                raise ExptuiError(
                    "git does not know who you are: run git config user.name 'Your Name' and "
                    "git config user.email you@example.com"
                ) from None
            raise

    # --- refs ---------------------------------------------------------------------------------------------------

    def update_refs(self, updates: Sequence[RefUpdate], message: str = "exptui") -> None:
        """Apply all updates atomically (`git update-ref --stdin -z`, start/prepare/commit).

        Raises RefConflict naming the ref when an old-value check fails; then none of the updates is applied.
        """
        if not updates:
            return
        parts = [b"start\0"]
        for u in updates:
            refname = u.ref.encode()
            if u.new is None:
                old = b"" if u.old is None else u.old.encode()
                parts.append(b"delete " + refname + b"\0" + old + b"\0")
            else:
                old = b"" if u.old is None else u.old.encode()
                parts.append(b"update " + refname + b"\0" + u.new.encode() + b"\0" + old + b"\0")
        parts += [b"prepare\0", b"commit\0"]
        proc = run_process([*self.base_cmd(), "update-ref", "-m", message, "--stdin", "-z"],
                           input=b"".join(parts), env=self.env, cwd=self.root)
        if proc.returncode == 0:
            return
        err = proc.stderr.decode("utf-8", "replace").strip()
        first = next((line for line in err.splitlines() if line.strip()), "")
        lock = re.search(r"Unable to create '([^']+\.lock)': File exists", err)
        m = re.search(r"cannot lock ref '([^']+)'", err)
        if lock:
            raise RefLocked(
                m.group(1) if m else lock.group(1),
                f"{lock.group(1)} exists: another git process is writing that ref, or one crashed; if no git "
                "process is running, remove that file (exptui doctor removes its own stale locks)",
            )
        if m:
            ref = m.group(1)
            lower = first.lower()
            if "reference already exists" in lower or "already exists" in lower:
                why = "it already exists"
            elif "is at" in lower and "but expected" in lower:
                why = "it was changed by someone else"
            elif "unable to resolve" in lower or "does not exist" in lower or "expected" in lower:
                why = "it was removed or changed by someone else"
            else:
                why = first.split(": ", 2)[-1] if first else "rejected"
            raise RefConflict(ref, f"cannot update {ref}: {why}")
        raise GitError(f"git update-ref failed: {err.splitlines()[-1] if err else proc.returncode}")

    def check_writable(self) -> None:
        """Fail now, in one line, when an experiment could not be recorded: the object store or the refs are not
        writable (a read-only mount, wrong owner). Checked before a run or a queue start so the user does not
        wait for a whole pipeline (or see "1 queued" and exit 0) to learn it. Creating a file is the only
        reliable test: `os.access` says yes to root on a read-only bind mount's permission bits."""
        for where in (self.git_dir / "objects", self.git_dir / "refs"):
            try:
                import tempfile  # imported where used: reading the queue never needs it

                fd, tmp = tempfile.mkstemp(prefix=".exptui-write-check-", dir=where)
            except OSError as exc:
                raise ExptuiError(f"cannot write to {where}: {exc.strerror or exc}; experiments could not be "
                                  "recorded (make the repository writable); nothing was run") from None
            os.close(fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass

    # --- snapshots ----------------------------------------------------------------------------------------------

    def snapshot_workspace(
        self,
        worktree: str | os.PathLike[str] | None = None,
        paths: Sequence[str] | None = None,
        base: str | None = "HEAD",
    ) -> str:
        """Tree sha of a work tree as `git add -A` would stage it, through a temporary index.

        The user's index, HEAD and files are never touched. Untracked non-ignored files are included (`git stash
        create` would miss them). `paths` limits what is re-staged (other files keep `base`'s version). For the
        repo's own work tree the user's index is copied first (with its mtime, which git's racily-clean check
        needs) so git's stat cache avoids re-hashing files.
        Blobs are written into this repository's object store even when `worktree` is another checkout.
        """
        wt = Path(worktree) if worktree is not None else self.root
        tmpdir = self.git_dir / "exptui" / "tmp"
        tmpdir.mkdir(parents=True, exist_ok=True)
        import uuid  # only here: uuid imports platform, which readers of refs never need

        index = tmpdir / f"index-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            own_index = self.git_dir / "index"
            if wt.resolve() == self.root.resolve() and base == "HEAD" and own_index.exists() and paths is None:
                # copy2 keeps the index file's mtime: git trusts an entry's stat only when the entry is older
                # than the index file ("racily clean" otherwise), and a copy stamped "now" made git trust a
                # same-size rewrite from the second the index was written in, recording the old contents
                import shutil  # imported where used: reading the queue never needs it

                shutil.copy2(own_index, index)
            elif base is not None:
                self.run("read-tree", base, env=env, work_tree=wt)
            args = ["add", "-A", "--", *(paths or ["."]), *self._snapshot_excludes(wt)]
            self.run(*args, env=env, work_tree=wt)
            return self.run("write-tree", env=env, work_tree=wt).strip()
        finally:
            for p in (index, Path(str(index) + ".lock")):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass

    def _snapshot_excludes(self, wt: Path) -> list[str]:
        """Exclude pathspecs for DVC's private paths that exist and are not already git-ignored.

        (git add exits 1 when an exclude pathspec names an ignored path, so only the unignored ones are passed.)
        """
        from dvc_compat.config import DEFAULT_CACHE_DIR

        present = [p for p in (DEFAULT_CACHE_DIR, *SNAPSHOT_EXCLUDED_PATHS) if os.path.lexists(wt / p)]
        if not present:
            return []
        out = self.run_bytes("check-ignore", "--no-index", "--", *present, check=False, work_tree=wt)
        ignored = {line.decode("utf-8", "surrogateescape").rstrip("/") for line in out.splitlines()}
        return [f":(exclude){p}" for p in present if p not in ignored]

    def close(self) -> None:
        """End this repository's cat-file processes (ours and GitPython's) and reap them; the object stays usable
        (the next read starts a process again)."""
        self._reader.close()
        odb, self._odb = self._odb, None
        if odb is not None:
            odb.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def temp_dir(git: Git) -> Path:
    """Scratch space inside .git (same filesystem, so renames are atomic)."""
    d = git.git_dir / "exptui" / "tmp"
    d.mkdir(parents=True, exist_ok=True)
    import tempfile  # imported where used: reading the queue never needs it

    return Path(tempfile.mkdtemp(dir=d))
