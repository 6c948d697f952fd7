"""Record a finished experiment exactly as DVC 3 does: one commit on the baseline + a create-only ref.

`record_experiment` is a plain function of (repo, work tree, baseline, name, lock entries, facts) so that the
workspace runner (`Project.run`) and the queue's isolated workers record results the same way. It never touches the
work tree, the user's index or HEAD: the tree comes from a temporary index (`git add -A` of the work tree on top
of the baseline), the objects go straight into the main repository's object store, and the ref is created with a
zero old value, so two processes recording at the same moment both land (a generated name that collides is
redrawn; a user-given name that exists is an error unless forced).
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from exptui.errors import ExptuiError
from exptui.records import RunFacts
from exptui.store.facts import to_trailers
from exptui.store.git import ZERO_OID, Git, RefConflict, RefUpdate


class ExperimentExists(ExptuiError):
    """A user-given experiment name is already taken under that baseline."""


@dataclass(frozen=True)
class ExperimentRecord:
    name: str
    ref: str
    rev: str            # the experiment commit
    baseline: str
    exp_hash: str
    tree: str
    reused: bool = False  # an identical experiment already existed under that name
    large_files: tuple[str, ...] = ()  # files new to git in this experiment that are bigger than LARGE_FILE


LARGE_FILE = 20 * 1024 * 1024


def _large_new_files(git: Git, worktree: Path, baseline: str, tree: str) -> tuple[str, ...]:
    """Files the experiment adds to git (absent from the baseline) bigger than LARGE_FILE: probably data that
    should be ignored or tracked by DVC rather than committed with every experiment."""
    out = git.run_bytes("diff-tree", "-r", "-z", "--no-renames", "--diff-filter=A", "--name-only", baseline, tree)
    big = []
    for raw in out.split(b"\0"):
        if not raw:
            continue
        path = raw.decode("utf-8", "surrogateescape")
        try:
            if (worktree / path).stat().st_size > LARGE_FILE:
                big.append(path)
        except OSError:
            continue
    return tuple(big)


def lock_entries(stages_lock: Mapping[str, Any]) -> dict[str, Any]:
    """{stage name: dvc.lock entry as plain dicts} from LockStage records or dicts."""
    out: dict[str, Any] = {}
    for address, entry in stages_lock.items():
        name = address.rsplit(":", 1)[-1]  # "sub/dvc.yaml:train" -> "train", as DVC's lock keys
        if isinstance(entry, Mapping):
            out[name] = dict(entry)
        else:
            from dvc_compat.lockfile import lock_stage_to_dict

            out[name] = lock_stage_to_dict(entry)
    return out


def experiment_message(exp_hash: str, facts: RunFacts | None, status: str = "success", message: str | None = None) -> str:
    """DVC's first line (or the user's message) + run-fact trailers; no trailing newline, like DVC."""
    from dvc_compat.exp_refs import commit_message

    head = message.strip() if message else commit_message(exp_hash)
    trailers = to_trailers(facts, status) if facts is not None else ""
    return f"{head}\n\n{trailers}" if trailers else head


def baseline_display(git: Git, baseline: str) -> str:
    """A branch pointing at `baseline`, else its short sha (for messages)."""
    rows = git.for_each_ref(["refs/heads"], ("refname:short", "objectname"))
    for name, sha in rows:
        if sha == baseline:
            return name
    return baseline[:7]


def validate_name(name: str) -> None:
    """Format rules only (git's ref-name rules, DVC's, length): what any experiment name must satisfy."""
    from dvc_compat.exp_refs import validate_exp_name

    try:
        validate_exp_name(name)
    except ValueError as exc:
        raise ExptuiError(str(exc)) from None


#: names git resolves by themselves (files in .git), whatever branches exist
GIT_PSEUDO_REFS = ("HEAD", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD",
                   "BISECT_HEAD", "REBASE_HEAD", "AUTO_MERGE")
_HEX_NAME = re.compile(r"[0-9a-fA-F]{4,}")


def name_problem(git: Git | None, name: str) -> str | None:
    """Why `name` must not name something new (an experiment, a branch), or None when it may.

    Besides the format: a name must not shadow what commands resolve names to, or read as an option. `exptui
    apply main` must mean one thing, and `-rf` must not be taken for flags by the next command that is given
    it. So: no leading ``-``; not ``workspace`` (the workspace row); not HEAD or another of git's pseudo-refs;
    not hex digits only (4 or more: a commit sha, full or abbreviated, now or later); not an existing branch,
    tag, remote or any other revision git resolves (`git` None skips the repository lookups).
    """
    if name.startswith("-"):
        return "it starts with '-', so commands would read it as an option"
    if name.casefold() == "workspace":
        return "'workspace' is the name of the workspace row"
    if name.upper() in GIT_PSEUDO_REFS or name.upper().endswith("_HEAD"):
        return f"'{name}' is a git revision (like HEAD)"
    if _HEX_NAME.fullmatch(name):
        return "it looks like a commit sha (hex digits only) and would be read as one"
    if git is None:
        return None
    rows = git.for_each_ref([f"refs/heads/{name}", f"refs/tags/{name}", f"refs/remotes/{name}"], ("refname",))
    for (ref,) in rows:
        kind = "branch" if ref.startswith("refs/heads/") else "tag" if ref.startswith("refs/tags/") else "remote"
        return f"there is a {kind} named '{name}', which the name would shadow"
    if git.rev_parse(name) is not None:
        return f"'{name}' already names a git revision, which the name would shadow"
    return None


def validate_new_name(git: Git | None, name: str) -> None:
    """The one check of a name for a new experiment, before any work: `run`, `run --temp`, `run --queue` (each
    name of a sweep) and the dashboard's sweep dialog all come here. ExptuiError with one line saying why."""
    validate_name(name)
    problem = name_problem(git, name)
    if problem is not None:
        raise ExptuiError(f"invalid experiment name '{name}': {problem}; choose another name")


def name_taken(git: Git, baseline: str, name: str) -> str | None:
    """Sha of the existing experiment `name` under `baseline`, or None."""
    from dvc_compat.exp_refs import exp_ref

    return git.rev_parse(exp_ref(baseline, name)) if _ref_exists(git, exp_ref(baseline, name)) else None


def _ref_exists(git: Git, ref: str) -> bool:
    return bool(git.for_each_ref([ref], ("refname",)))


def _taken_names(git: Git, baseline: str) -> set[str]:
    from dvc_compat.exp_refs import baseline_prefix

    prefix = baseline_prefix(baseline)
    return {r[0][len(prefix):] for r in git.for_each_ref([prefix], ("refname",))}


def record_experiment(
    git: Git,
    worktree: Path,
    baseline: str,
    name: str | None,
    stages_lock: Mapping[str, Any],
    facts: RunFacts | None,
    message: str | None = None,
    *,
    force: bool = False,
    on_conflict: str = "error",
    rng: random.Random | None = None,
    status: str = "success",
) -> ExperimentRecord:
    """Commit the state of `worktree` as an experiment of `baseline` and create its ref.

    The tree is the baseline's tree with every non-ignored file of the work tree staged (`git add -A` on a
    temporary index): params edits, dvc.lock, `cache: false` metrics and plots; DVC-cached outs are ignored
    by the .gitignore DVC writes and stay out, as in DVC. The commit has the single parent `baseline`, the message
    ``dvc: commit experiment <exp_hash>`` (+ run-fact trailers), dates in +0000.

    `name=None` draws ``<adjective>-<noun>`` until a free one is found (a lost race redraws). A given name that
    exists raises ExperimentExists unless the existing experiment has the same tree (then it is reused, like DVC)
    or `force` (then it is replaced with a compare-and-swap on its old value). `on_conflict="suffix"` (for queued
    runs, whose name was checked when queued) records as ``NAME-2``, ``NAME-3``... instead of failing.
    `status` goes into the ``Exptui-Status`` trailer: ``pruned`` for a trial an adaptive search stopped early.
    """
    from dvc_compat.exp_refs import exp_hash as compute_hash
    from dvc_compat.exp_refs import exp_ref, generate_name

    worktree = Path(worktree)
    if name is not None:
        validate_name(name)
    entries = lock_entries(stages_lock)
    h = compute_hash(entries)
    base = baseline
    if worktree.resolve() == git.root.resolve() and git.rev_parse("HEAD") == baseline:
        base = "HEAD"  # lets the snapshot reuse the user's index stat cache
    tree = git.snapshot_workspace(worktree, base=base)
    if facts is None:  # callers that do not time the run still record where and with what it ran
        from dataclasses import replace as _replace

        from exptui.store.facts import environment_facts, now

        facts = _replace(environment_facts(), created=now())
    large = _large_new_files(git, worktree, baseline, tree)
    msg = experiment_message(h, facts, status, message)
    date = f"{int(time.time())} +0000"
    rev = git.commit_tree(tree, [baseline], msg, date=date)

    rng = rng or random.Random()
    generated = name is None
    taken = _taken_names(git, baseline) if generated else set()
    asked = name or ""
    suffix = 1
    for _attempt in range(1000):
        if generated:
            name = generate_name(rng, lambda n: n in taken)
        assert name is not None
        ref = exp_ref(baseline, name)
        try:
            git.update_refs([RefUpdate(ref, rev, ZERO_OID)], message=f"exptui: record experiment {name}")
            return ExperimentRecord(name, ref, rev, baseline, h, tree, large_files=large)
        except RefConflict:
            if generated:
                taken.add(name)
                continue
            existing = git.rev_parse(ref)
            if existing is None:
                continue  # removed meanwhile: try creating again
            if git.run("rev-parse", f"{existing}^{{tree}}").strip() == tree and not force:
                return ExperimentRecord(name, ref, existing, baseline, h, tree, reused=True, large_files=large)
            if on_conflict == "suffix" and not force:
                suffix += 1
                name = _suffixed(asked, suffix)
                continue
            if not force:
                raise ExperimentExists(
                    f"experiment '{name}' already exists for baseline {baseline_display(git, baseline)}; "
                    "use -f to replace it or choose another name"
                ) from None
            try:
                git.update_refs([RefUpdate(ref, rev, existing)], message=f"exptui: replace experiment {name}")
                return ExperimentRecord(name, ref, rev, baseline, h, tree, large_files=large)
            except RefConflict:
                continue
    raise ExptuiError(f"could not record experiment under {baseline[:7]}: refs kept changing; try again")


def _suffixed(name: str, n: int) -> str:
    """``NAME-n``, the base shortened (by whole characters) so the result stays within the byte limit."""
    from dvc_compat.exp_refs import MAX_NAME_BYTES

    tail = f"-{n}"
    base = name
    while len(base.encode("utf-8")) + len(tail) > MAX_NAME_BYTES:
        base = base[:-1]
    return (base.rstrip(".") or "exp") + tail


def check_name_free(git: Git, baseline: str, name: str, force: bool) -> None:
    """Fail early (before running anything) when `-n NAME` is invalid, shadows a revision, or is taken and not
    forced."""
    from dvc_compat.exp_refs import exp_ref

    validate_new_name(git, name)
    if not force and _ref_exists(git, exp_ref(baseline, name)):
        raise ExperimentExists(
            f"experiment '{name}' already exists for baseline {baseline_display(git, baseline)}; "
            "use -f to replace it or choose another name"
        )


def git_is_clean_for(git: Git, paths: list[str]) -> list[str]:
    """The subset of `paths` with uncommitted changes (modified, staged, untracked) in the work tree."""
    if not paths:
        return []
    from exptui.store.signals import run_process

    # `git status` may write .git/index (index.lock meanwhile): interrupted, it gets SIGTERM and removes the lock
    out = run_process([*git.base_cmd(), "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths],
                      env=git.env, cwd=git.root).stdout
    dirty = []
    recs = out.split(b"\0")
    i = 0
    while i < len(recs):
        rec = recs[i]
        i += 1
        if len(rec) < 4:
            continue
        status, path = rec[:2], rec[3:].decode("utf-8", "surrogateescape")
        if status[0:1] in (b"R", b"C"):
            i += 1  # the source path follows
        dirty.append(path)
    return dirty
