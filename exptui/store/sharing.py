"""Share experiments through a git remote: experiment refs (as `dvc exp push/pull` do) and annotations notes.

Experiment refs are pushed one `ref:ref` refspec each (never a `refs/exps/*` glob, which would also move DVC's
internal `exec`/`celery` refs). Nothing is forced: a ref that diverged on the remote is reported, not overwritten.
Annotations are merged, not overwritten: before pushing `refs/notes/exptui`, the remote's notes are fetched into a
scratch ref and folded into ours (see annotations.merge_remote), so the push is a fast-forward.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Sequence

from exptui.errors import ExptuiError
from exptui.store.annotations import NOTES_REF, merge_remote
from exptui.store.git import Git, RefConflict, RefUpdate
from exptui.store.index import EXPS_PREFIX, parse_exp_ref
from exptui.store.signals import run_process

_CHUNK = 500


def _git(git: Git, *args: str) -> subprocess.CompletedProcess[str]:
    """A git command as text; interrupted (a push/fetch killed with SIGTERM), git gets SIGTERM and removes its
    ref and shallow locks, never subprocess.run's SIGKILL. It stays in the terminal's process group: a push or
    fetch may ask for a password there (ssh, a credential helper)."""
    proc = run_process([*git.base_cmd(), *args], env=git.env, cwd=git.root, own_group=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace"))


def _check_remote(git: Git, remote: str) -> None:
    if "/" in remote or remote.startswith(".") or ":" in remote:
        return  # a path or URL
    proc = _git(git, "remote", "get-url", remote)
    if proc.returncode != 0:
        raise ExptuiError(f"no git remote named '{remote}'; add it with git remote add {remote} <url>")


#: where the remote's notes are fetched to before they are merged (then deleted); `doctor` removes leftovers
SCRATCH_PREFIX = "refs/notes/exptui-scratch-fetch-"


def scratch_pid(ref: str) -> int | None:
    """The pid of the process that made a scratch ref (``<prefix><pid>-<random>``), if the name has one."""
    head = ref[len(SCRATCH_PREFIX):].split("-", 1)[0] if ref.startswith(SCRATCH_PREFIX) else ""
    return int(head) if head.isdigit() else None


def _fetch_notes(git: Git, remote: str) -> int:
    scratch = f"{SCRATCH_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    proc = _git(git, "fetch", "-q", "--no-write-fetch-head", remote, f"+{NOTES_REF}:{scratch}")
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            return 0
        raise ExptuiError(f"git fetch {remote} failed: {_last(proc.stderr)}")
    # the raw value, not peeled to a commit: a remote notes ref pointing at a blob or tree must be deleted too
    rows = git.for_each_ref([scratch], fields=("objectname", "objecttype"))
    if not rows:
        return 0
    sha, kind = rows[0]
    try:
        if kind != "commit":
            raise ExptuiError(f"{remote}'s {NOTES_REF} points at a {kind}, not a notes commit: its stars, labels "
                              "and notes were not merged (fix or delete that ref on the remote)")
        return merge_remote(git, sha)
    finally:
        try:
            git.update_refs([RefUpdate(scratch, None, sha)], message="exptui: notes scratch done")
        except RefConflict:
            pass


def _last(text: str) -> str:
    """The line of git's stderr that says what went wrong: its first `fatal:`/`error:` line (the lines after it
    are generic advice such as "Please make sure you have the correct access rights"), else the last line."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith(("fatal: ", "error: ")):
            return ln.split(": ", 1)[1]
    return lines[-1] if lines else "unknown error"


def push(git: Git, remote: str, refs: Sequence[str]) -> list[str]:
    _check_remote(git, remote)
    pushed: list[str] = []
    rejected: list[str] = []
    for i in range(0, len(refs), _CHUNK):
        chunk = refs[i:i + _CHUNK]
        proc = _git(git, "push", "--porcelain", remote, *[f"{r}:{r}" for r in chunk])
        for line in proc.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and ":" in parts[1]:
                flag, ref = parts[0], parts[1].split(":", 1)[1]
                (rejected if flag == "!" else pushed).append(ref)
        if proc.returncode != 0 and not rejected:
            raise ExptuiError(f"git push {remote} failed: {_last(proc.stderr)}")
    if git.rev_parse(NOTES_REF) is not None:
        _fetch_notes(git, remote)
        proc = _git(git, "push", "-q", remote, f"{NOTES_REF}:{NOTES_REF}")
        if proc.returncode != 0:
            raise ExptuiError(f"pushing annotations to {remote} failed: {_last(proc.stderr)}")
    if rejected:
        raise ExptuiError(
            f"{len(rejected)} experiment ref(s) differ on {remote} and were not overwritten: "
            + ", ".join(r.rsplit("/", 1)[-1] for r in rejected[:5])
        )
    return pushed


def remote_experiments(git: Git, remote: str) -> list[tuple[str, str]]:
    """(ref, sha) of every experiment ref on the remote."""
    proc = _git(git, "ls-remote", "--refs", remote, EXPS_PREFIX + "*")
    if proc.returncode != 0:
        raise ExptuiError(f"git ls-remote {remote} failed: {_last(proc.stderr)}")
    out = []
    for line in proc.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if parse_exp_ref(ref) is not None:
            out.append((ref, sha))
    return out


def pull(git: Git, remote: str, names: Sequence[str] | None = None) -> list[str]:
    _check_remote(git, remote)
    available = remote_experiments(git, remote)
    if names:
        wanted = []
        for n in names:
            hits = [ref for ref, _ in available if ref == n or ref.rsplit("/", 1)[-1] == n]
            if not hits:
                raise ExptuiError(f"no experiment '{n}' on {remote}")
            wanted.extend(hits)
    else:
        wanted = [ref for ref, _ in available]
    fetched: list[str] = []
    failed: list[str] = []
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i:i + _CHUNK]
        proc = _git(git, "fetch", "-q", "--no-write-fetch-head", remote, *[f"{r}:{r}" for r in chunk])
        if proc.returncode == 0:
            fetched.extend(chunk)
            continue
        for ref in chunk:  # one bad ref fails the whole fetch: find which
            one = _git(git, "fetch", "-q", "--no-write-fetch-head", remote, f"{ref}:{ref}")
            (fetched if one.returncode == 0 else failed).append(ref)
    not_commits = _drop_non_commits(git, fetched)
    fetched = [r for r in fetched if r not in not_commits]
    _fetch_notes(git, remote)
    if not_commits:
        raise ExptuiError(
            f"{len(not_commits)} experiment ref(s) on {remote} point at something other than a commit and were not "
            "kept: " + ", ".join(r.rsplit("/", 1)[-1] for r in not_commits[:5])
        )
    if failed:
        raise ExptuiError(
            f"{len(failed)} experiment ref(s) could not be fetched from {remote} (diverged locally?): "
            + ", ".join(r.rsplit("/", 1)[-1] for r in failed[:5])
        )
    return fetched


def _drop_non_commits(git: Git, refs: Sequence[str]) -> list[str]:
    """Delete (compare-and-swap) fetched experiment refs that point at a blob or a tree: no experiment can be
    there, and `dvc exp show` crashes on them. Returns the refs dropped."""
    if not refs:
        return []
    wanted = set(refs)
    from dvc_compat.exp_refs import EXPS_NAMESPACE

    rows = git.for_each_ref([EXPS_NAMESPACE + "/"], ("refname", "objectname", "objecttype"))
    bad = [(ref, sha) for ref, sha, kind in rows if ref in wanted and kind != "commit"]
    if bad:
        git.update_refs([RefUpdate(ref, None, sha) for ref, sha in bad], message="exptui: pull: not a commit")
    return [ref for ref, _ in bad]
