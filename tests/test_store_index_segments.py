"""The on-disk index is incremental and self-checking: a warm listing reads only new commits, removed refs
disappear, damaged files are rebuilt with one notice, and `show --json` from the stored pieces equals the records."""
from __future__ import annotations

import hashlib
import json
import math
import subprocess
from pathlib import Path

import pytest

from exptui.project import Project
from exptui.records import Annotations, ExperimentRow, RunFacts
try:  # tests/ may or may not be a package
    from tests.test_store_support import exptui, git, project  # noqa: F401 (fixture)
except ImportError:  # pragma: no cover
    from test_store_support import exptui, git, project  # noqa: F401 (fixture)


def _add_experiments(root: Path, base: str, names: list[str], start: int = 0) -> None:
    """Experiments in DVC's layout, written with one git fast-import (no pipeline run: fast)."""
    stream = []
    for k, name in enumerate(names, start):
        p = f"train:\n  lr: {k / 1000}\n  epochs: 3\nseed: {k}\n".encode()
        m = json.dumps({"acc": k / 100}).encode()
        msg = f"dvc: commit experiment {hashlib.sha256(p + m).hexdigest()}".encode()
        stream.append(f"commit refs/exps/{base[:2]}/{base[2:]}/{name}\n"
                      f"committer t <t@e.invalid> {1700000000 + k} +0000\n".encode())
        stream += [f"data {len(msg)}\n".encode() + msg + b"\n", f"from {base}\n".encode()]
        stream.append(f"M 100644 inline params.yaml\ndata {len(p)}\n".encode() + p + b"\n")
        stream.append(f"M 100644 inline metrics.json\ndata {len(m)}\n".encode() + m + b"\n\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream), check=True)


def _segments(p: Project) -> list[Path]:
    return sorted((p.git.git_dir / "exptui" / "index").glob("seg-*.bin"))


def test_a_warm_listing_reads_only_the_new_commit_and_drops_a_removed_ref(project: Project) -> None:
    base = project.git.head()
    _add_experiments(project.root, base, [f"e{i}" for i in range(20)])
    assert len([r for r in project.experiments() if r.kind == "experiment"]) == 20
    # nothing new: a fresh process reads no object at all
    warm = Project.open(project.root)
    warm.git.objects_requested = []
    assert len([r for r in warm.experiments() if r.kind == "experiment"]) == 20
    assert warm.git.objects_requested == []
    # one new experiment: only that commit and its blobs are read
    _add_experiments(project.root, base, ["new"], start=20)
    new_sha = git(project.root, "rev-parse", f"refs/exps/{base[:2]}/{base[2:]}/new").strip()
    again = Project.open(project.root)
    again.git.objects_requested = []
    rows = {r.name: r for r in again.experiments() if r.kind == "experiment"}
    assert len(rows) == 21 and rows["new"].metrics["metrics.json"] == {"acc": 0.2}
    assert again.git.objects_requested
    # that commit, its files, and its dvc.yaml blob (parsed once per process): nothing of the 20 others
    dvc_yaml = git(project.root, "rev-parse", f"{new_sha}:dvc.yaml").strip()
    assert {name.split(":")[0] for name in again.git.objects_requested} == {new_sha, dvc_yaml}
    assert len(_segments(project)) == 2  # appended, not rewritten
    # the JSON path reads nothing either, and lists the same rows
    again.git.objects_requested = []
    records = [json.loads(line) for line in Project.open(project.root).experiments_json()]
    assert again.git.objects_requested == [] and len(records) == 23  # workspace, baseline, 21 experiments
    # a removed ref disappears from both paths
    git(project.root, "update-ref", "-d", f"refs/exps/{base[:2]}/{base[2:]}/e3")
    fresh = Project.open(project.root)
    assert "e3" not in {r.name for r in fresh.experiments()}
    assert "e3" not in {json.loads(line)["name"] for line in fresh.experiments_json()}


def test_show_json_from_stored_pieces_is_byte_identical_to_the_records(project: Project) -> None:
    base = project.git.head()
    _add_experiments(project.root, base, ["a", "b", "c\u202eodd"])
    project.star("a")
    project.label("b", ["x", "y"])
    project.note("b", "a note\x7f\u202e")
    cold = exptui(project.root, "show", "--json").stdout
    warm = exptui(project.root, "show", "--json").stdout
    from exptui.query.show_json import rows_to_json

    expected = rows_to_json(Project.open(project.root).experiments()) + "\n"
    from exptui.query.inert import json_for_terminal

    assert cold == warm == json_for_terminal(expected)
    assert {r["name"] for r in json.loads(warm)} >= {"a", "b", "c\u202eodd"}


def test_experiment_json_pieces_match_record_for_odd_rows() -> None:
    from datetime import datetime, timezone

    from exptui.query.show_json import experiment_json, record_json

    facts = RunFacts(created=datetime(2026, 1, 2, tzinfo=timezone.utc))
    rows = [
        ExperimentRow(name="e\"1", rev="a" * 40, baseline="b" * 40, baseline_name="main", kind="experiment",
                      params={"p.yaml": {"lr": 0.1, "n": {"k": 1}}}, metrics={"m.json": {"acc": math.nan}},
                      errors={"bad.yaml": "bad"}, annotations=Annotations(True, ("x",), "n\u00e9"), facts=facts),
        ExperimentRow(name="plain", rev="c" * 40, baseline="b" * 40, baseline_name="v1.0", kind="experiment",
                      status="failed", created=datetime(2025, 5, 5, tzinfo=timezone.utc)),
    ]
    for row in rows:
        frags = experiment_json.fragments(row)
        line = experiment_json.assemble(row.name, row.rev, experiment_json.base_part(row.baseline,
                                        row.baseline_name), frags, row.annotations)
        assert line == record_json(row)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_damaged_index_is_rebuilt_with_one_notice(project: Project, damage: str) -> None:
    base = project.git.head()
    _add_experiments(project.root, base, [f"e{i}" for i in range(10)])
    first = exptui(project.root, "show", "--json").stdout
    _add_experiments(project.root, base, ["late"], start=10)
    second = exptui(project.root, "show", "--json").stdout  # two segments now
    for seg in _segments(project):
        data = seg.read_bytes()
        if damage == "truncate":
            seg.write_bytes(data[: len(data) * 2 // 3])
        elif damage == "flip":  # one byte in the middle: a column's CRC no longer matches
            pos = len(data) // 2
            seg.write_bytes(data[:pos] + bytes([data[pos] ^ 0x55]) + data[pos + 1:])
        else:
            seg.write_bytes(b"\0garbage")
    proc = exptui(project.root, "show", "--json")
    assert proc.stdout == second and json.loads(first) != json.loads(second)
    notice = proc.stderr.strip().splitlines()
    assert len(notice) == 1 and "index" in notice[0] and "rebuilding" in notice[0] and "Traceback" not in proc.stderr
    # the rows too (they unpickle the data column, which the JSON path does not read)
    for seg in _segments(project):
        data = seg.read_bytes()
        pos = len(data) - 40
        seg.write_bytes(data[:pos] + bytes([data[pos] ^ 0x55]) + data[pos + 1:])
    rows = Project.open(project.root).experiments()
    assert [r.metrics for r in rows if r.name == "e9"] == [{"metrics.json": {"acc": 0.09}}]
    again = exptui(project.root, "show", "--json")
    assert again.stdout == second and again.stderr == ""
    assert (project.git.git_dir / "exptui" / "index" / "notes.bin").exists()  # the rebuilt caches are all kept


def test_appended_segments_are_merged_and_gc_prunes_the_index(project: Project) -> None:
    from exptui.store.index import IndexCache

    base = project.git.head()
    for k in range(IndexCache.MAX_SEGMENTS + 1):
        _add_experiments(project.root, base, [f"e{k}"], start=k)
        Project.open(project.root).experiments()
    assert len(_segments(project)) <= 2  # merged once there were more than MAX_SEGMENTS
    listed = {r.name: r.metrics for r in Project.open(project.root).experiments() if r.kind == "experiment"}
    assert listed == {f"e{k}": {"metrics.json": {"acc": k / 100}} for k in range(IndexCache.MAX_SEGMENTS + 1)}
    git(project.root, "update-ref", "-d", f"refs/exps/{base[:2]}/{base[2:]}/e0")
    p = Project.open(project.root)
    assert len(p.index.cache) == IndexCache.MAX_SEGMENTS + 2  # the baseline and every experiment
    p.gc()
    after = Project.open(project.root)
    assert len(after.index.cache) == IndexCache.MAX_SEGMENTS + 1 and len(_segments(project)) == 1
    assert {r.name for r in after.experiments() if r.kind == "experiment"} == set(listed) - {"e0"}


def test_two_writers_appending_at_once_keep_both_segments(project: Project) -> None:
    """Two processes that loaded the same index append with the same next number: both files stay, each entry
    is read back from its own file."""
    from exptui.store.index import IndexCache

    base = project.git.head()
    _add_experiments(project.root, base, ["a", "b"])
    project.experiments()
    sha_a = git(project.root, "rev-parse", f"refs/exps/{base[:2]}/{base[2:]}/a").strip()
    sha_b = git(project.root, "rev-parse", f"refs/exps/{base[:2]}/{base[2:]}/b").strip()
    first, second = IndexCache(project.git), IndexCache(project.git)
    first.load()
    second.load()
    data_a, data_b = first.get(sha_a), second.get(sha_b)
    assert data_a is not None and data_b is not None
    first.put("1" * 40, {**data_a, "time": 1})
    second.put("2" * 40, {**data_b, "time": 2})
    first.save()
    second.save()
    fresh = IndexCache(project.git)
    got1, got2 = fresh.get("1" * 40), fresh.get("2" * 40)
    assert got1 is not None and got2 is not None
    assert (got1["params"], got1["time"]) == (data_a["params"], 1)
    assert (got2["params"], got2["time"]) == (data_b["params"], 2)


@pytest.mark.parametrize("column", ["vals", "schemas", "schema_ids", "status", "errors", "facts", "vals_dir"])
def test_a_damaged_per_column_store_is_rebuilt_with_one_notice(project: Project, column: str) -> None:
    """`show --filter/--limit` reads the per-column store (a value part, the schemas, the sparse status/errors,
    the facts a fact filter needs): a flipped byte in any of them is one notice and the right output, never a
    wrong row (the plain listing never reads them, so it is the filtered command that must notice)."""
    from exptui.store.index_segments import read_header

    base = project.git.head()
    _add_experiments(project.root, base, [f"e{i}" for i in range(12)])
    args = ["show", "--json", "--filter", "acc > 0.03 or duration < 5 or seed == 2", "--sort-by", "acc:desc",
            "--limit", "6"]
    want = exptui(project.root, *args).stdout
    assert [r["name"] for r in json.loads(want) if r["kind"] == "experiment"] == ["e11", "e10", "e9", "e8", "e7"]
    for seg_path in _segments(project):
        seg = read_header(seg_path, 0)
        assert seg is not None
        offset, length, _crc = seg.columns[column]
        if column == "vals":  # the part holding `acc`, which the filter reads (other parts are never read)
            import pickle

            from exptui.store.index_segments import read_column

            part = pickle.loads(read_column(seg, "vals_dir"))[("metrics", "metrics.json", "acc")]
            offset, length = offset + part[0], part[1]
        seg.close()
        data = seg_path.read_bytes()
        pos = offset + length // 2
        seg_path.write_bytes(data[:pos] + bytes([data[pos] ^ 0x55]) + data[pos + 1:])
    proc = exptui(project.root, *args)
    assert proc.stdout == want
    notice = proc.stderr.strip().splitlines()
    assert len(notice) == 1 and "rebuilding" in notice[0] and "Traceback" not in proc.stderr
    again = exptui(project.root, *args)
    assert again.stdout == want and again.stderr == ""


def test_stored_sha_stays_the_index_own_commit_id_across_appends_merges_and_prunes(project: Project) -> None:
    """`IndexCache.stored_sha` (what a shared row's rev is) gives the same commit id, as the index's own object,
    after segments were appended and merged in the same process, and after a prune rewrote them."""
    from exptui.store.index import IndexCache

    base = project.git.head()
    p = Project.open(project.root)
    cache = p.index.cache
    for k in range(IndexCache.MAX_SEGMENTS + 2):
        _add_experiments(project.root, base, [f"s{k}"], start=k)
        rows = p.experiments(shared=True)
        assert all(cache.stored_sha(r.rev) == r.rev for r in rows)
        assert all(cache.stored_sha(sha.encode().decode()) is sha for sha in cache._loc)
    assert len(_segments(project)) <= 2  # merged in this process
    cache.prune({r.rev for r in rows if r.name != "s0"})
    assert all(cache.stored_sha(sha.encode().decode()) is sha for sha in cache._loc)
    again = [r.rev for r in p.experiments(shared=True) if r.kind == "experiment"]
    assert again and all(cache.stored_sha(sha) is sha for sha in again)



def test_a_few_lookups_and_a_write_before_the_id_map_agree_with_it(project: Project) -> None:
    """After `open` only (the dashboard's early start), a few commits are looked up in the segments' id lists
    and a new one is written; the lookups are what the id map built afterwards gives, across many segments, and
    a save (which merges small segments) keeps every entry."""
    from exptui.store.index import IndexCache

    base = project.git.head()
    p = Project.open(project.root)
    for k in range(IndexCache.MAX_SEGMENTS):
        _add_experiments(project.root, base, [f"s{k}"], start=k)
        p.experiments(shared=True)
    before = {r.rev for r in p.experiments(shared=True) if r.kind == "experiment"}
    _add_experiments(project.root, base, ["late"], start=99)
    late = project.git.rev_parse(f"refs/exps/{base[:2]}/{base[2:]}/late")
    assert late is not None and len(before) == IndexCache.MAX_SEGMENTS

    cache = Project.open(project.root).index.cache
    cache.open()
    assert len(cache._segments) > 1 and not cache._indexed
    assert cache.missing_few([*before, late]) == [late]
    found = {sha: cache._at(sha) for sha in before}
    cache.load()
    assert found == {sha: cache._loc[sha] for sha in before}

    cache = Project.open(project.root).index.cache
    assert cache.missing_few([late]) == [late] and not cache._indexed
    cache.put(late, {**cache.get(next(iter(before))), "time": 99})
    assert not cache._indexed
    cache.save()
    again = Project.open(project.root).index.cache
    assert again.missing([*before, late]) == [] and again.get(late)["time"] == 99
