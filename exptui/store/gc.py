"""Garbage-collect experiments whose baseline is gone (rebased away, branch deleted), like DVC 2's `exp gc`.

Removing an experiment only deletes its ref (compare-and-swap on the sha we saw); the commit stays until git's own
gc prunes it, so a mistaken gc can be undone from the reflog-less object store with `git fsck --lost-found`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from exptui.errors import ExptuiError
from exptui.store.git import Git, RefConflict, RefUpdate
from exptui.store.index import read_refs


@dataclass
class GcPlan:
    keep: list[tuple[str, str]] = field(default_factory=list)      # (ref, sha)
    remove: list[tuple[str, str]] = field(default_factory=list)    # (ref, sha)
    pruned_cache_entries: int = 0

    @property
    def removed_names(self) -> list[str]:
        return [ref.rsplit("/", 1)[-1] for ref, _ in self.remove]


def plan_gc(git: Git, workspace: bool = False, all_branches: bool = False, all_tags: bool = False,
            all_commits: bool = False) -> GcPlan:
    refs = read_refs(git)
    kept_baselines: set[str] = set()
    if not (workspace or all_branches or all_tags or all_commits):
        all_commits = True
    if workspace and refs.head:
        kept_baselines.add(refs.head)
    if all_branches:
        kept_baselines.update(refs.branches.values())
    if all_tags:
        kept_baselines.update(refs.tags.values())
    if all_commits:
        tips = set(refs.branches.values()) | set(refs.tags.values())
        if refs.head:
            tips.add(refs.head)
        baselines = {b for _r, _s, b, _n in refs.exps}
        if tips and baselines:
            kept_baselines.update(_reachable(git, baselines, tips))
    plan = GcPlan()
    for ref, sha, baseline, _name in refs.exps:
        (plan.keep if baseline in kept_baselines else plan.remove).append((ref, sha))
    return plan


def _reachable(git: Git, candidates: set[str], tips: set[str]) -> set[str]:
    """The subset of `candidates` reachable from `tips` (one rev-list over the history of the tips)."""
    out = git.run("rev-list", *sorted(tips))
    history = set(out.split())
    return candidates & history


def run_gc(git: Git, plan: GcPlan, index: object | None = None) -> None:
    if plan.remove:
        try:
            git.update_refs([RefUpdate(ref, None, sha) for ref, sha in plan.remove], message="exptui: gc")
        except RefConflict as exc:
            raise ExptuiError(f"{exc}; nothing was removed, run gc again") from None
    cache = getattr(index, "cache", None)
    if cache is not None:
        refs = read_refs(git)
        keep = {sha for _r, sha, _b, _n in refs.exps} | {b for _r, _s, b, _n in refs.exps}
        keep |= set(refs.branches.values()) | set(refs.tags.values())
        if refs.head:
            keep.add(refs.head)
        plan.pruned_cache_entries = cache.prune(keep)
        cache.save()
