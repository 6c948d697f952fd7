"""`exptui.store.first_rows._changed`: the refs added and removed between two sorted listings, found by halving,
are exactly those two dicts would give (random listings with a few changes, and many). `amend` over a real repo:
a new experiment whose commit is not indexed yet is read for it, beside a deleted and a moved ref."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_tui_app import demo_template, record_experiment, repo  # noqa: F401 - fixtures

from exptui.project import Project, RefSnapshot
from exptui.records import ExperimentRow
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


def raw_of(refs: dict[str, str]) -> bytes:
    """for-each-ref's output (`read_refs`' format) of `refs`, sorted by name as git sorts them."""
    return b"".join(f"{name}\0{refs[name]}\n".encode() for name in sorted(refs, key=str.encode))


def test_raw_changed_refs_match_a_dict_comparison() -> None:
    """The bytewise compare of two for-each-ref outputs finds exactly the changed refs, wherever they are (the
    first or last line, beside each other, one ref's name a prefix of another's, shas that share a head or a
    tail, a 64 KiB boundary, one side empty), decoding only the lines between the common head and tail."""
    rng = random.Random(11)

    def sha() -> str:
        return f"{rng.getrandbits(160):040x}"

    for changes in (0, 1, 2, 3, 50, 400):
        for _ in range(6):
            old = {f"refs/exps/{rng.randrange(99):02}/b/exp-{rng.randrange(9000):04}": f"{rng.getrandbits(160):040x}"
                   for _ in range(rng.choice((0, 1, 5, 3000)))}
            new = dict(old)
            keys = sorted(old)
            for _ in range(changes):
                kind = rng.choice(("add", "delete", "move", "prefix", "tail"))
                if kind == "add" or not keys:
                    new[f"refs/exps/{rng.randrange(99):02}/b/new-{rng.getrandbits(16):04x}"] = sha()
                elif kind == "delete":
                    new.pop(rng.choice(keys), None)
                elif kind == "prefix":   # a name that extends another's
                    new[rng.choice(keys) + "0"] = sha()
                elif kind == "tail":     # a sha that differs in one character: same head and tail bytes
                    ref = rng.choice(keys)
                    was = new.get(ref, "0" * 40)
                    new[ref] = was[:20] + ("1" if was[20] != "1" else "2") + was[21:]
                else:
                    new[rng.choice(keys)] = sha()
            added, removed = first_rows._raw_changed(raw_of(old), raw_of(new))
            assert added is not None
            assert (set(added), set(removed)) == pairs_diff(old, new)


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


def top_of(repo: Path) -> tuple[list[ExperimentRow], RefSnapshot, str]:
    """The listing (shared rows, as the dashboard reads it), its refs and the state token read before it."""
    project = Project.open(repo)
    state = project.state_token()
    read: list[RefSnapshot] = []
    rows = project.experiments(shared=True, on_refs=read.append)
    return rows, read[0], state


def test_an_unindexed_new_commit_is_amended_beside_a_deleted_and_a_moved_ref(repo: Path) -> None:
    """A sweep ran while no dashboard was open: its commit is read for the amendment (only it) and put where the
    listing puts it; the deleted and the moved experiments are not on the amended screen, which is the top of
    the new listing."""
    rows, refs, state = top_of(repo)
    exps = [row for row in rows if row.kind == "experiment"]
    assert len(exps) >= 3
    project = Project.open(repo)
    project.save_first_rows("old-token", rows, len(rows), project.first_rows_since(state, refs))
    deleted, moved, oldest = exps[0], exps[1], exps[-1]
    git(repo, "update-ref", "-d", deleted.ref)
    git(repo, "update-ref", moved.ref, oldest.rev)
    new_ref = record_experiment(repo, "sweep-new", {"train.lr": 0.7}, {"f1": 0.9})
    new_sha = git(repo, "rev-parse", new_ref).strip()

    project = Project.open(repo)
    saved = project.saved_first_rows()
    assert saved is not None and saved.since is not None
    assert project.index.cache.missing_few([new_sha]) == [new_sha]   # not indexed yet
    now = project.index.read_snapshot()
    amended = project.amend_first_rows(saved, now, project.state_token())
    assert amended is not None
    assert not project.index.cache._indexed   # read and placed without building the index's id map
    assert project.index.cache.missing([new_sha]) == []          # read for it
    listing = Project.open(repo).experiments()
    keys = [row.key for row in amended.rows]
    assert keys == [row.key for row in listing[:len(keys)]]     # the top of the new listing
    assert new_ref in keys and deleted.key not in keys
    assert moved.key not in keys or next(r for r in amended.rows if r.key == moved.key).rev == oldest.rev
    assert amended.total == len(listing)


def test_the_early_start_reads_a_new_commit_without_gitpython(repo: Path) -> None:
    """In the dashboard (a long-lived project: one-object reads go to GitPython) the early start reads a new
    commit for its amendment through the batch reader: GitPython's import would compete with the UI's before
    the paint. The same read outside it still uses GitPython."""
    rows, refs, state = top_of(repo)
    project = Project.open(repo)
    project.save_first_rows("old-token", rows, len(rows), project.first_rows_since(state, refs, rows))
    new_ref = record_experiment(repo, "sweep-new", {"train.lr": 0.7}, {"f1": 0.9})

    project = Project.open(repo, long_lived=True)
    early = project.start_first_screen().result()
    assert early is not None and early.rows is not None and new_ref in [row.key for row in early.rows.rows]
    assert project.git._odb is None   # GitPython never asked
    head = project.git.head()
    assert project.git.read_objects([head])[0] is not None and project.git._odb is not None
    project.close()


def test_too_many_unindexed_new_commits_are_left_to_the_listing(repo: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rows, refs, state = top_of(repo)
    project = Project.open(repo)
    project.save_first_rows("old-token", rows, len(rows), project.first_rows_since(state, refs))
    for i in range(3):
        record_experiment(repo, f"sweep-{i}", {"train.lr": 0.1 * i}, {"f1": 0.5})
    project = Project.open(repo)
    monkeypatch.setattr(project.index, "INDEX_NEW_LIMIT", 2)
    saved = project.saved_first_rows()
    assert saved is not None
    assert project.amend_first_rows(saved, project.index.read_snapshot(), project.state_token()) is None


def test_the_saved_keys_spare_the_index_when_no_new_experiment_is_on_screen(repo: Path) -> None:
    """The saved top keeps its experiments' listing keys: a start where experiments were only deleted (none
    added to a group on screen; a moved ref is one) amends it without loading the index's ids, and gets the new
    listing's top."""
    rows, refs, state = top_of(repo)
    project = Project.open(repo)
    since = project.first_rows_since(state, refs, rows)
    exps = [row for row in rows if row.kind == "experiment"]
    assert len(since.keys) == len(exps) and since.keys == tuple(project.index.listing_keys(
        [(row.ref or "", row.rev, row.name) for row in exps]))
    project.save_first_rows("old-token", rows, len(rows), since)
    deleted = exps[1]
    git(repo, "update-ref", "-d", deleted.ref)

    project = Project.open(repo)
    saved = project.saved_first_rows()
    assert saved is not None and saved.since is not None and saved.since.keys == since.keys
    amended = project.amend_first_rows(saved, project.index.read_snapshot(), project.state_token())
    assert amended is not None
    assert not project.index.cache._loaded   # the saved keys were enough
    listing = Project.open(repo).experiments()
    keys = [row.key for row in amended.rows]
    assert keys == [row.key for row in listing[:len(keys)]] and deleted.key not in keys


def test_a_new_indexed_experiment_on_screen_is_amended_without_the_indexs_id_map(repo: Path) -> None:
    """An experiment added to a group on screen at a commit the index has: its listing key is found by looking
    its commit up in the segments' id lists (`SegmentCache.open`, `_at`), the id map is not built before the
    paint, and the amended screen is the new listing's top; every lookup agrees with the map built later."""
    rows, refs, state = top_of(repo)
    project = Project.open(repo)
    project.save_first_rows("old-token", rows, len(rows), project.first_rows_since(state, refs, rows))
    newest = next(row for row in rows if row.kind == "experiment")
    added = (newest.ref or "").rsplit("/", 1)[0] + "/zzz-added"   # same commit and time, first of its group
    git(repo, "update-ref", added, newest.rev)

    project = Project.open(repo)
    saved = project.saved_first_rows()
    assert saved is not None
    amended = project.amend_first_rows(saved, project.index.read_snapshot(parse=False), project.state_token())
    assert amended is not None
    cache = project.index.cache
    assert cache._loaded and not cache._indexed   # the segments' ids read, no map built
    looked_up = {sha: cache._at(sha) for shas in cache._shas for sha in shas}
    assert cache._at("0" * 40) is None
    cache.load()
    assert looked_up == cache._loc and len(looked_up) > 0
    listing = Project.open(repo).experiments()
    keys = [row.key for row in amended.rows]
    assert keys == [row.key for row in listing[:len(keys)]] and added in keys


def test_a_saved_screen_of_the_previous_format_is_not_used(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file written by the previous version (another format, no keys): ignored, never amended."""
    rows, refs, state = top_of(repo)
    project = Project.open(repo)
    monkeypatch.setattr(first_rows, "FORMAT", first_rows.FORMAT - 1)
    project.save_first_rows("old-token", rows, len(rows), project.first_rows_since(state, refs))
    monkeypatch.undo()
    assert first_rows.path_of(project.git.git_dir).exists()
    assert Project.open(repo).saved_first_rows() is None
