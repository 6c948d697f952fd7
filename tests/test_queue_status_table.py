"""`exptui queue status` with a few hundred entries prints the table it always printed (issue 13 made the table
column-wise and `summarize` flat for 10,000 entries): both the click-free path and the click command print the
bytes of a row-by-row reference built here from the same entries."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

try:  # tests/ may or may not be a package
    from tests.test_query_overrides import summarize_as_first_written
    from tests.test_store_support import exptui, git, make_pipeline
except ImportError:  # pragma: no cover
    from test_query_overrides import summarize_as_first_written
    from test_store_support import exptui, git, make_pipeline

from exptui.project import Project
from exptui.query.cells import aligned_lines
from exptui.query.durations import format_duration
from exptui.query.inert import inert

ORDER = ("running", "queued", "success", "pruned", "failed", "crashed", "cancelled")


def _reference(repo: Path) -> str:
    """What `queue status` prints for this queue (no running entry, so no clock in it), row by row."""
    with Project.open(repo) as project:
        entries = project.queue.entries()
        workers = project.queue.workers(entries)
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.status.value] = counts.get(e.status.value, 0) + 1
    head = " · ".join(f"{counts[s]} {s}" for s in ORDER if counts.get(s)) or "the queue is empty"
    head = f"{head} · {len(workers)} worker{'s' if len(workers) != 1 else ''}"
    entries = sorted(entries, key=lambda e: (ORDER.index(e.status.value), e.id))
    rows = [("NAME", "STATUS", "STAGE", "ELAPSED", "PARAMS", "INFO")]
    for e, params in zip(entries, summarize_as_first_written([e.overrides for e in entries])):
        assert e.status.value != "running"
        elapsed = "" if e.status.value == "queued" else format_duration(
            e.done.duration if e.done else None, tenths=False, missing="")
        info = e.reason or (e.exp_ref.rsplit("/", 1)[-1] if e.exp_ref else "")
        rows.append((inert(e.name), e.status.value, inert(e.stage or ""), elapsed, inert(params), inert(info)))
    return head + "\n" + "\n".join(aligned_lines(rows, 5)) + "\n"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from exptui.store.claims import ProcessIdentity
    from exptui.store.queue import DoneRecord

    repo = tmp_path_factory.mktemp("status") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    make_pipeline(repo)
    exptui(repo, "run", "--queue", "--yes", "-S", "train.lr=range(0,240)", "-S", "seed=7")
    exptui(repo, "run", "--queue", "-S", "train.epochs=1,2,3")
    exptui(repo, "run", "--queue", "-n", "named", "-S", "train.lr=0.5", "-S", "~seed")
    with Project.open(repo) as project:  # finished entries of every kind, with and without durations
        store = project.queue.store
        entries = store.entries()
        for i, (state, reason, duration) in enumerate([("failed", "boom", 3.0), ("success", None, 75.0),
                                                       ("pruned", "pruned by the search", None),
                                                       ("crashed", "worker died", 4000.0)]):
            store.claim(entries[3 * i], ProcessIdentity.current())
            store.finish(entries[3 * i], DoneRecord(state, reason=reason, finished=1.0, duration=duration,
                                                    exp_ref=f"refs/exps/aa/bb/exp-{i}" if state == "success"
                                                    else None))
        store.cancel_queued(entries[1])
        store.cancel_queued(entries[-1])
    return repo


@pytest.mark.parametrize("code", ["from exptui.cli import main; main(sys.argv[1:])",
                                  "from exptui.cli.errors import run_guarded; from exptui.cli.group import cli; "
                                  "sys.exit(run_guarded(cli, sys.argv[1:]))"], ids=["fast", "click"])
def test_the_table_of_a_few_hundred_entries_is_the_reference(repo: Path, code: str) -> None:
    out = subprocess.run([sys.executable, "-c", f"import sys; {code}", "queue", "status"], cwd=repo,
                         capture_output=True, text=True, encoding="utf-8")
    assert (out.returncode, out.stderr) == (0, "")
    expected = _reference(repo)
    assert out.stdout == expected
    lines = out.stdout.splitlines()
    assert lines[0] == "238 queued · 1 success · 1 pruned · 1 failed · 1 crashed · 2 cancelled · 0 workers"
    assert len(lines) == 2 + 244
    assert ["lr5", "queued", "seed=7", "train.lr=5"] in [line.split() for line in lines]
    assert any("1m15s" in line and line.rstrip().endswith("exp-1") for line in lines)


def test_a_status_imports_neither_click_nor_the_records_module(repo: Path) -> None:
    """What a plain status never needs stays unimported: click (its parser), the experiments table's records
    (dataclasses), hashlib (OpenSSL constructors)."""
    code = ("import sys\nfrom exptui.cli import main\ntry:\n    main(['queue', 'status'])\nfinally:\n"
            "    sys.stderr.write(repr(sorted(m for m in ('click', 'exptui.records', 'hashlib') if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, encoding="utf-8")
    # a scratch directory another test's killed process left in the shared /dev/shm is a recovery candidate: telling
    # whose it is hashes this repository's path (hashlib), which no status of a machine without leftovers needs
    allowed = "['hashlib']" if _dead_foreign_scratch() else "[]"
    assert (out.returncode, out.stderr) in {(0, "[]"), (0, allowed)}
    assert out.stdout == _reference(repo)


def _dead_foreign_scratch() -> bool:
    from exptui.store.claims import pid_alive
    from exptui.store.queue import SHM

    try:
        names = os.listdir(SHM)
    except OSError:
        return False
    return any(len(parts := name.split("-")) >= 5 and name.startswith("exptui-") and parts[2].isdigit()
               and not pid_alive(int(parts[2])) for name in names)


def _listed(repo: Path) -> dict[str, dict[str, str]]:
    """{namespace: {id: sha}} of refs/exptui/ from git's own output, ref by ref."""
    out = subprocess.run(["git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/exptui/"], cwd=repo,
                         capture_output=True, check=True).stdout.decode("utf-8", "replace")
    listed: dict[str, dict[str, str]] = {"queue": {}, "claims": {}, "done": {}, "attempts": {}}
    for line in out.splitlines():
        sha, name = line.split(" ", 1)
        ns, _, entry_id = name[len("refs/exptui/"):].partition("/")
        if ns in listed and entry_id:
            listed[ns][entry_id] = sha
    return listed


def test_the_listing_reads_every_namespace_in_order_and_out_of_order(tmp_path: Path) -> None:
    """The refs of each namespace are taken as one run of git's sorted output; names that do not sort the same
    once decoded (bytes that are not UTF-8 next to U+FFFF) are read ref by ref: both give git's listing."""
    from exptui.store.git import Git
    from exptui.store.queue import QueueStore

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    make_pipeline(repo)
    exptui(repo, "run", "--queue", "-S", "train.lr=0.1,0.2,0.3")
    first = QueueStore(Git.discover(repo)).entries()[0]

    def read() -> dict[str, dict[str, str]]:
        refs = QueueStore(Git.discover(repo))._read_refs()
        assert refs["queue"][first.id][1]["name"] == first.name  # bodies come along
        return {ns: {entry_id: sha for entry_id, (sha, _body) in ids.items()} for ns, ids in refs.items()}

    git(repo, "update-ref", "refs/exptui/done/zzz", first.rev)  # a namespace after the others' names
    git(repo, "update-ref", "refs/exptui/queuex/1", first.rev)  # not a namespace: "queue" is a prefix only
    git(repo, "update-ref", "refs/exptui/queue", first.rev, check=False)  # refused (D/F), nothing changes
    assert read() == _listed(repo)
    assert len(read()["queue"]) == 3
    # git sorts bytes: "a\xef\xbf\xbf" (U+FFFF) before "a\xff"; decoded, U+FFFF sorts after U+FFFD
    for raw in (b"refs/exptui/claims/a\xef\xbf\xbf", b"refs/exptui/claims/a\xff"):
        subprocess.run([b"git", b"update-ref", raw, first.rev.encode()], cwd=repo, check=True)
    listed = _listed(repo)
    names = _listed_names(repo)  # in git's order
    assert names != sorted(names, key=lambda n: n.decode("utf-8", "replace"))  # the ref-by-ref path is taken
    assert read() == listed and len(listed["claims"]) == 2 and len(listed["queue"]) == 3


def _listed_names(repo: Path) -> list[bytes]:
    return subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exptui/"], cwd=repo,
                          capture_output=True, check=True).stdout.splitlines()


def _reference_at(entries: list, now: float) -> tuple[str, str]:
    """(counts line, table) as `queue status` printed them row by row before the listing had columns, running
    entries included (their elapsed time taken at `now`)."""
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.status.value] = counts.get(e.status.value, 0) + 1
    head = " · ".join(f"{counts[s]} {s}" for s in ORDER if counts.get(s)) or "the queue is empty"
    entries = sorted(entries, key=lambda e: (ORDER.index(e.status.value), e.id))
    rows = [("NAME", "STATUS", "STAGE", "ELAPSED", "PARAMS", "INFO")]
    for e, params in zip(entries, summarize_as_first_written([e.overrides for e in entries])):
        info = e.reason or (e.exp_ref.rsplit("/", 1)[-1] if e.exp_ref else "")
        elapsed = ""
        if e.status.value == "running":
            elapsed = format_duration(now - e.started, tenths=False, missing="") if e.started else ""
            info = f"attempt {e.attempt}" if e.attempt > 1 else ""
        elif e.status.value != "queued":
            elapsed = format_duration(e.done.duration if e.done else None, tenths=False, missing="")
        rows.append((inert(e.name), e.status.value, inert(e.stage or ""), elapsed, inert(params), inert(info)))
    return f"{head} · 0 workers", "\n".join(aligned_lines(rows, 5)) + "\n"


def test_running_retried_and_finished_entries_among_queued_ones_are_the_reference(tmp_path: Path) -> None:
    """The listing keeps plainly queued entries as columns and the others as entries: running ones (one on its
    second attempt), retried ones back in the queue between queued ones, finished ones. The table is the
    row-by-row one at the same clock, and `listing.entries()` is `entries()`."""
    from exptui.cli.queue_status import plain
    from exptui.execution.queue_manager import QueueManager
    from exptui.store.claims import ProcessIdentity
    from exptui.store.queue import DoneRecord

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    make_pipeline(repo)
    exptui(repo, "run", "--queue", "--yes", "-S", "train.lr=range(0,14)", "-S", "seed=3")
    exptui(repo, "run", "--queue", "-S", "train.epochs=4")  # another parameter: the shared one is not shared
    q = QueueManager(repo)
    store = q.store
    me = ProcessIdentity.current()

    def fail_and_retry(i: int) -> None:
        entry = store.entries()[i]
        store.claim(entry, me)
        store.finish(entry, DoneRecord("failed", reason="boom", finished=1.0, duration=2.0))
        assert store.retry(store.get(entry.id))

    store.claim(store.entries()[2], me)                       # running, first attempt
    fail_and_retry(5)                                         # queued again, shown in full
    fail_and_retry(6)
    store.claim(store.entries()[6], me)                       # running, second attempt
    fail_and_retry(9)
    entry = store.entries()[11]
    store.claim(entry, me)
    store.finish(entry, DoneRecord("success", finished=1.0, duration=61.0, exp_ref="refs/exps/aa/bb/e-11"))
    store.cancel_queued(store.entries()[0])
    store.cancel_queued(store.entries()[-1])

    listing = QueueManager(repo).listing()
    assert len(listing.special) == 7 and len(listing.ids) == 8 and len(listing) == 15
    assert listing.entries() == QueueManager(repo).entries()
    for now in (time.time(), time.time() + 3600):
        head, table = plain(listing, [], now)
        assert (head, table) == _reference_at(QueueManager(repo).entries(), now)
    lines = table.splitlines()
    assert [line.split()[:2] for line in lines[1:4]] == [["lr2", "running"], ["lr6", "running"], ["lr1", "queued"]]
    assert "attempt 2" in lines[2] and lines[6].split()[:2] == ["lr5", "queued"]  # retried, in queue order
