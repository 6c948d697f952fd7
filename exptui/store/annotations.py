"""Stars, labels and notes on experiments, kept in git notes (`refs/notes/exptui`).

One JSON note per experiment commit: ``{"starred": true, "labels": ["best"], "note": "text"}``. Notes are git
objects, so they are pushed and pulled with the experiments (`exptui push/pull` move `refs/notes/exptui` too) and
survive any cache deletion. They are annotations *about* a commit, not part of it, which is why they are not in
the (immutable) experiment commit like run facts are.

Every update is read-modify-write with compare-and-swap: the new notes commit is built on the current notes tip
(through `git notes` on a private scratch ref, so git keeps its fan-out layout) and `refs/notes/exptui` is moved
only if it still points at that tip; otherwise the change is re-applied on the new tip. Two writers therefore
never lose each other's updates.
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace
from collections.abc import Callable

from exptui.errors import ExptuiError
from exptui.records import Annotations
from exptui.store.git import ZERO_OID, Git, GitError, RefConflict, RefUpdate

NOTES_REF = "refs/notes/exptui"
_SCRATCH_PREFIX = "refs/notes/exptui-scratch-"


def encode(ann: Annotations) -> bytes:
    return (json.dumps(
        {"starred": ann.starred, "labels": list(ann.labels), "note": ann.note}, ensure_ascii=False, sort_keys=True
    ) + "\n").encode()


def decode(data: bytes) -> Annotations:
    """Parse a note; unreadable notes (hand-edited...) count as empty rather than breaking the listing."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: a pulled note nested 1,000 deep
        text = data.decode("utf-8", "replace").strip()
        return Annotations(note=text)
    if not isinstance(raw, dict):
        return Annotations()
    labels = raw.get("labels") or []
    if not isinstance(labels, list):
        labels = []
    return Annotations(
        starred=bool(raw.get("starred", False)),
        labels=tuple(str(x) for x in labels if isinstance(x, (str, int, float))),  # no nested values
        note=str(raw.get("note") or ""),
    )


def read_all(git: Git, notes_commit: str) -> dict[str, Annotations]:
    """Every annotation under a notes commit: annotated object sha -> Annotations (one ls-tree + one batch read)."""
    entries = [e for e in git.ls_tree(notes_commit, recursive=True) if e.type == "blob"]
    out: dict[str, Annotations] = {}
    answers = git.read_objects([e.sha for e in entries])
    for e, ans in zip(entries, answers):
        obj = e.path.replace("/", "")
        if len(obj) != 40 or ans is None:
            continue
        out[obj] = decode(ans[2])
    return out


def read_changes(git: Git, old_tip: str, new_tip: str, old: dict[str, Annotations]) -> dict[str, Annotations]:
    """`new_tip`'s annotations computed from `old_tip`'s by reading only the notes that changed (one diff-tree,
    one batch read): starring one experiment among 10,000 annotated ones stays cheap. Falls back to `read_all`
    when the old tip is gone."""
    try:
        out = git.run_bytes("diff-tree", "-r", "-z", "--no-renames", old_tip, new_tip)
    except GitError:
        return read_all(git, new_tip)
    recs = out.split(b"\0")
    changed: list[tuple[str, str | None]] = []   # (object sha, new note blob or None if deleted)
    i = 0
    while i + 1 < len(recs):
        meta, path = recs[i].decode(), recs[i + 1].decode("utf-8", "replace")
        i += 2
        if not meta.startswith(":"):
            continue
        _om, _nm, _os, new_blob, status = meta[1:].split(" ")
        changed.append((path.replace("/", ""), None if status.startswith("D") else new_blob))
    result = dict(old)
    blobs = [b for _o, b in changed if b is not None]
    contents = {b: a[2] for b, a in zip(blobs, git.read_objects(blobs)) if a is not None}
    for obj, blob in changed:
        if len(obj) != 40:
            continue
        if blob is None or blob not in contents:
            result.pop(obj, None)
        else:
            result[obj] = decode(contents[blob])
    return result


def read_one(git: Git, commit: str) -> Annotations:
    data = git.read_blob(f"{NOTES_REF}:{commit}")
    if data is None:
        # fan-out layout (ab/cdef...): ask git notes itself
        out = git.run_bytes("notes", f"--ref={NOTES_REF}", "show", commit, check=False)
        return decode(out) if out.strip() else Annotations()
    return decode(data)


def update(git: Git, commit: str, change: Callable[[Annotations], Annotations], attempts: int = 20) -> Annotations:
    """Apply `change` to `commit`'s annotations with compare-and-swap; returns the stored result."""
    for _ in range(attempts):
        tip = git.rev_parse(NOTES_REF)
        current = _read_at(git, tip, commit)
        new = change(current)
        if new == current:
            return new
        new_tip = _build(git, tip, {commit: new})
        try:
            git.update_refs([RefUpdate(NOTES_REF, new_tip, tip or ZERO_OID)], message="exptui: annotate")
        except RefConflict:
            continue  # someone else annotated meanwhile: re-read and re-apply
        return new
    raise ExptuiError(f"could not update {NOTES_REF}: it kept changing under us; try again")


def _read_at(git: Git, tip: str | None, commit: str) -> Annotations:
    if tip is None:
        return Annotations()
    data = git.read_blob(f"{tip}:{commit}")
    if data is None:
        data = git.read_blob(f"{tip}:{commit[:2]}/{commit[2:]}")
    if data is None:
        data = git.read_blob(f"{tip}:{commit[:2]}/{commit[2:4]}/{commit[4:]}")
    return Annotations() if data is None else decode(data)


def _build(git: Git, tip: str | None, changes: dict[str, Annotations]) -> str:
    """A new notes commit on top of `tip` with `changes` applied (empty annotations remove the note)."""
    scratch = f"{_SCRATCH_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:10]}"
    try:
        if tip is not None:
            git.update_refs([RefUpdate(scratch, tip, ZERO_OID)], message="exptui: notes scratch")
        for obj, ann in changes.items():
            if ann == Annotations():
                git.run("notes", f"--ref={scratch}", "remove", "--ignore-missing", obj)
            else:
                git.run("notes", f"--ref={scratch}", "add", "-f", "-F", "-", obj, input=encode(ann))
        new_tip = git.rev_parse(scratch)
        if new_tip is None:  # removing the only note from nothing: keep an empty notes history
            raise ExptuiError("nothing to annotate")
        return new_tip
    finally:
        sha = git.rev_parse(scratch)
        if sha is not None:
            try:
                git.update_refs([RefUpdate(scratch, None, sha)], message="exptui: notes scratch done")
            except RefConflict:
                pass


def set_star(git: Git, commit: str, on: bool) -> Annotations:
    return update(git, commit, lambda a: replace(a, starred=on))


def set_labels(git: Git, commit: str, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> Annotations:
    for label in add:
        if not label or any(c.isspace() for c in label) or "," in label:
            raise ExptuiError(f"invalid label {label!r}: labels are single words without commas")

    def change(a: Annotations) -> Annotations:
        labels = [x for x in a.labels if x not in remove]
        labels += [x for x in add if x not in labels]
        return replace(a, labels=tuple(labels))

    return update(git, commit, change)


def set_note(git: Git, commit: str, text: str) -> Annotations:
    return update(git, commit, lambda a: replace(a, note=text.strip()))


def merge_remote(git: Git, remote_tip: str) -> int:
    """Fold a fetched notes commit into ours: labels are united, a star on either side wins, our non-empty
    note wins over theirs. The result has both tips as parents, so a following push fast-forwards."""
    theirs = read_all(git, remote_tip)
    for _ in range(20):
        tip = git.rev_parse(NOTES_REF)
        if tip == remote_tip:
            return 0
        if tip is None:
            git.update_refs([RefUpdate(NOTES_REF, remote_tip, ZERO_OID)], message="exptui: pull notes")
            return len(theirs)
        if _is_ancestor(git, remote_tip, tip):
            return 0
        if _is_ancestor(git, tip, remote_tip):
            try:
                git.update_refs([RefUpdate(NOTES_REF, remote_tip, tip)], message="exptui: pull notes")
            except RefConflict:
                continue
            return len(theirs)
        ours = read_all(git, tip)
        changes: dict[str, Annotations] = {}
        for obj, their in theirs.items():
            mine = ours.get(obj)
            if mine is None:
                changes[obj] = their
                continue
            merged = Annotations(
                starred=mine.starred or their.starred,
                labels=tuple(dict.fromkeys((*mine.labels, *their.labels))),
                note=mine.note or their.note,
            )
            if merged != mine:
                changes[obj] = merged
        built = _build(git, tip, changes) if changes else tip
        tree = git.run("rev-parse", f"{built}^{{tree}}").strip()
        merge = git.commit_tree(tree, [tip, remote_tip], "Notes merged by 'exptui pull'\n")
        try:
            git.update_refs([RefUpdate(NOTES_REF, merge, tip)], message="exptui: merge notes")
        except RefConflict:
            continue
        return len(changes)
    raise ExptuiError(f"could not merge {NOTES_REF}: it kept changing under us; try again")


def _is_ancestor(git: Git, a: str, b: str) -> bool:
    from exptui.store.signals import run_process

    return run_process([*git.base_cmd(), "merge-base", "--is-ancestor", a, b], env=git.env).returncode == 0
