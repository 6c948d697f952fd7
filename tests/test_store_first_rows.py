"""`exptui.store.first_rows._changed`: the refs added and removed between two sorted listings, found by halving,
are exactly those two dicts would give (random listings with a few changes, and many)."""
from __future__ import annotations

import random

from exptui.store import first_rows


def pairs_diff(old: dict[str, str], new: dict[str, str]) -> tuple[set, set]:
    return set(new.items()) - set(old.items()), set(old.items()) - set(new.items())


def columns(refs: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names = tuple(sorted(refs))
    return names, tuple(refs[n] for n in names)


def test_changed_refs_match_a_dict_comparison() -> None:
    rng = random.Random(7)
    for changes in (0, 1, 3, 50, 400):
        old = {f"refs/exps/{rng.randrange(99):02}/b/exp-{i:05}": f"{rng.getrandbits(160):040x}" for i in range(5000)}
        new = dict(old)
        keys = sorted(old)
        for _ in range(changes):
            kind = rng.choice(("add", "delete", "move"))
            if kind == "add":
                new[f"refs/exps/{rng.randrange(99):02}/b/new-{rng.getrandbits(32):08x}"] = f"{rng.getrandbits(160):040x}"
            elif kind == "delete":
                new.pop(rng.choice(keys), None)
            else:
                new[rng.choice(keys)] = f"{rng.getrandbits(160):040x}"
        added, removed = first_rows._changed(*columns(old), *columns(new))
        assert added is not None
        assert (set(added), set(removed)) == pairs_diff(old, new)
        assert len(added) == len(set(added))


def test_everything_new_or_nothing_before() -> None:
    old = {f"refs/exps/aa/b/e{i}": "1" * 40 for i in range(300)}
    added, removed = first_rows._changed((), (), *columns(old))
    assert added is not None and set(added) == set(old.items()) and removed == []
    added, removed = first_rows._changed(*columns(old), (), ())
    assert added == [] and set(removed) == set(old.items())


def test_too_many_added_is_none() -> None:
    new = {f"refs/exps/aa/b/e{i:05}": "2" * 40 for i in range(first_rows.AMEND_LIMIT + 200)}
    added, _removed = first_rows._changed((), (), *columns(new))
    assert added is None
