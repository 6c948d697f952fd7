"""Queue entries as git objects and refs: enqueue, claims, state transitions (real git, no workers)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dvc_compat.errors import FormatError, SweepSyntaxError
from exptui.errors import ExptuiError
from exptui.execution.queue_manager import QueueManager
from exptui.store.claims import ProcessIdentity
from exptui.store.entry_state import IllegalTransition
from exptui.store.queue import CLAIMS_NS, DONE_NS, QUEUE_NS, DoneRecord
from test_queue_support import fingerprint, git, qrepo  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("qrepo")


def refs(repo: Path, prefix: str = "refs/") -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname)", prefix).split()


def test_enqueue_grid_snapshots_params_and_leaves_workspace_alone(qrepo: Path) -> None:
    (qrepo / "stage.py").write_text((qrepo / "stage.py").read_text() + "\n# dirty edit\n")
    before = fingerprint(qrepo)
    q = QueueManager(qrepo)
    entries = q.enqueue(["train.lr=0.1,0.2,0.3", "train.sleep=0,1"], name="grid")
    assert [e.name for e in entries] == [f"grid-{i}" for i in range(1, 7)]
    assert fingerprint(qrepo) == before
    listed = q.entries()
    assert [e.id for e in listed] == [e.id for e in entries]  # queue order = sweep order
    seen = set()
    for e in listed:
        assert e.status == "queued" and e.attempt == 0
        text = git(qrepo, "show", f"{e.rev}:params.yaml")
        assert "# learning rate" in text and "this comment must survive" in text
        train = yaml.safe_load(text)["train"]
        assert train == {"lr": e.overrides["params.yaml"]["train.lr"],
                         "sleep": e.overrides["params.yaml"]["train.sleep"], "spam": 0, "escape": False}
        seen.add((train["lr"], train["sleep"]))
        # the snapshot carries the dirty edit and the untracked file; its parent is the baseline
        assert "# dirty edit" in git(qrepo, "show", f"{e.rev}:stage.py")
        assert git(qrepo, "show", f"{e.rev}:notes.txt") == "untracked, not ignored\n"
        assert git(qrepo, "rev-parse", f"{e.rev}^").strip() == git(qrepo, "rev-parse", "HEAD").strip()
    assert seen == {(lr, s) for lr in (0.1, 0.2, 0.3) for s in (0, 1)}
    assert not [r for r in refs(qrepo) if r.startswith("refs/exps/")]  # DVC's namespace untouched


def test_unknown_key_is_one_error_and_nothing_is_queued(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    with pytest.raises(FormatError) as info:
        q.enqueue(["train.lr=0.1,0.2", "train.lrr=3"])
    assert "train.lrr" in str(info.value) and "params.yaml" in str(info.value)
    with pytest.raises(FormatError, match="other.yaml"):
        q.preview(["other.yaml:x=1"])
    with pytest.raises(SweepSyntaxError):
        q.enqueue(["train.lr=range(1"])
    assert refs(qrepo, "refs/exptui/") == []
    (qrepo / "params.yaml").write_text("train:\n  lr: [unclosed\n")
    with pytest.raises(FormatError, match=r"params.yaml:\d+"):
        q.enqueue(["train.lr=0.3"])
    assert refs(qrepo, "refs/exptui/") == []
    git(qrepo, "checkout", "--", "params.yaml")
    # `+key` adds a new key, and that is allowed
    (entry,) = q.enqueue(["+train.extra=7"], name="extra")
    assert yaml.safe_load(git(qrepo, "show", f"{entry.rev}:params.yaml"))["train"]["extra"] == 7


def test_preview_count_random_and_size_guard(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    assert q.count(["train.lr=0.1,0.2", "train.sleep=range(0,5)"]) == 10
    prev = q.preview(["train.lr=0.1,0.2"])
    assert [p["params"] for p in prev] == [{"params.yaml": {"train.lr": 0.1}}, {"params.yaml": {"train.lr": 0.2}}]
    a = q.preview(["train.lr=loguniform(0.001,1)", "train.sleep=randint(0,3)"], random_n=5, seed=7)
    b = q.preview(["train.lr=loguniform(0.001,1)", "train.sleep=randint(0,3)"], random_n=5, seed=7)
    assert a == b and len(a) == 5
    assert all(0.001 <= p["params"]["params.yaml"]["train.lr"] <= 1 for p in a)
    entries = q.enqueue(["train.lr=uniform(0,1)"], random_n=3, seed=1)
    assert len(entries) == 3 and len({e.name for e in entries}) == 3  # generated adjective-noun names
    with pytest.raises(ExptuiError, match="1001 experiments"):
        q.enqueue(["train.lr=range(0,1001)"], yes=False)
    assert len(q.entries()) == 3


def test_names_are_validated_and_never_reused(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1"], name="once")
    with pytest.raises(ExptuiError, match="already used"):
        q.enqueue(["train.lr=0.2"], name="once")
    with pytest.raises(ExptuiError, match="invalid experiment name"):
        q.enqueue(["train.lr=0.2"], name="bad/name")


def test_repo_without_commits_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "params.yaml").write_text("a: 1\n")
    with pytest.raises(ExptuiError, match="initial commit"):
        QueueManager(repo).enqueue(["a=2"])
    assert refs(repo) == []


def test_claim_is_exclusive_across_processes(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1"], name="race")
    code = (
        "import sys; from exptui.execution.queue_manager import QueueManager\n"
        "from exptui.store.claims import ProcessIdentity\n"
        "q = QueueManager(sys.argv[1]); e = q.entries()[0]\n"
        "sys.stdin.readline()\n"
        "print('won' if q.store.claim(e, ProcessIdentity.current()) else 'lost')\n"
    )
    for _trial in range(5):
        procs = [subprocess.Popen([sys.executable, "-c", code, str(qrepo)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True) for _ in range(3)]
        for p in procs:  # release them together
            p.stdin.write("go\n")
            p.stdin.flush()
        outcomes = sorted(p.communicate()[0].strip() for p in procs)
        assert outcomes == ["lost", "lost", "won"]
        entry = q.entries()[0]
        assert entry.status == "running"
        git(qrepo, "update-ref", "-d", CLAIMS_NS + entry.id, entry.claim.sha)


def test_terminal_state_retry_remove_and_cancel(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    a, b, c = q.enqueue(["train.lr=0.1,0.2,0.3"], name="t")
    me = ProcessIdentity.current()
    claim = q.store.claim(a, me)
    assert claim is not None and claim.attempt == 1
    a = q.find(a.id)
    assert q.store.finish(a, DoneRecord("failed", "boom", attempt=1, finished=1.0))
    assert not q.store.finish(a, DoneRecord("crashed", "late", attempt=1))  # create-only: first decision wins
    a = q.find("t-1")
    assert (a.status, a.reason) == ("failed", "boom")
    # a queued entry is cancelled atomically (claim + done together): no worker can start it afterwards
    q.kill("t-2")
    assert q.find("t-2").status == "cancelled"
    assert b.status == "queued"  # a worker's stale listing: the claim ref already exists, the worker loses
    assert q.store.claim(b, me) is None
    with pytest.raises(IllegalTransition, match="t-2 is cancelled: only queued entries can be started"):
        q.store.claim(q.find("t-2"), me)
    # retry both: back to queued, attempts counted, history kept under attempts/
    again = q.retry(failed=True)
    assert sorted(e.name for e in again) == ["t-1", "t-2"]
    a = q.find("t-1")
    assert a.status == "queued" and a.previous is not None and a.previous.reason == "boom"
    claim = q.store.claim(a, me)
    assert claim is not None and claim.attempt == 2
    assert q.log_path("t-1").name.endswith(".2.log")
    with pytest.raises(ExptuiError, match="running"):
        q.remove(["t-1"])
    with pytest.raises(ExptuiError, match="only failed"):
        q.retry("t-3")
    removed = q.remove(all=True)
    assert sorted(e.name for e in removed) == ["t-2", "t-3"]
    assert [e.name for e in q.entries()] == ["t-1"]
    left = set(refs(qrepo, "refs/exptui/"))
    # t-1 still holds its user-given name; the removed entries released theirs
    assert left == {QUEUE_NS + a.id, CLAIMS_NS + a.id, "refs/exptui/attempts/" + a.id,
                    f"refs/exptui/reserved/{a.baseline}/t-1"}
    assert not any(r.startswith(DONE_NS) for r in left)


def test_rows_feed_the_experiments_table(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2"], name="rows")
    rows = q.store.rows()
    assert [(r.name, r.kind, r.status) for r in rows] == [("rows-1", "queued", "queued"), ("rows-2", "queued", "queued")]
    assert rows[0].params["params.yaml"] == {"train.lr": 0.1, "train.sleep": 0.1, "train.spam": 0,
                                             "train.escape": False}
    assert rows[0].queue_id and rows[0].key == rows[0].queue_id
    assert rows[0].baseline == git(qrepo, "rev-parse", "HEAD").strip()


def test_queue_refs_survive_gc_prune(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    (e,) = q.enqueue(["train.lr=0.9"], name="gc")
    git(qrepo, "gc", "-q", "--prune=now")
    assert yaml.safe_load(git(qrepo, "show", f"{e.rev}:params.yaml"))["train"]["lr"] == 0.9
    assert subprocess.run(["git", "fsck", "--no-progress"], cwd=qrepo, capture_output=True).returncode == 0


def test_large_untracked_file_is_refused_with_what_to_do(qrepo: Path) -> None:
    big = qrepo / "checkpoint.bin"
    with open(big, "wb") as fh:
        fh.truncate(51 * 2**20)  # sparse: cheap to create
    before = fingerprint(qrepo)
    q = QueueManager(qrepo)
    with pytest.raises(ExptuiError, match="checkpoint.bin .51 MiB.*dvc add"):
        q.enqueue(["train.lr=0.1"])
    assert refs(qrepo, "refs/exptui/") == []
    assert fingerprint(qrepo) == before
    (qrepo / ".gitignore").write_text("checkpoint.bin\n")
    (entry,) = q.enqueue(["train.lr=0.1"], name="ignored")
    assert "checkpoint.bin" not in git(qrepo, "ls-tree", "-r", "--name-only", entry.rev).split()


def test_owner_on_another_host_is_judged_by_its_heartbeat(qrepo: Path) -> None:
    import time

    from exptui.store.claims import RunInfo

    q = QueueManager(qrepo)
    a, b = q.enqueue(["train.lr=0.1,0.2"], name="remote")
    elsewhere = ProcessIdentity(4242, "99", "another-host.invalid", "cafe")
    for e in (a, b):
        assert q.store.claim(e, elsewhere) is not None
    now = time.time()
    q.state.write(RunInfo(a.id, a.name, elsewhere, 1, "train", now - 600, now - 1))      # fresh heartbeat
    q.state.write(RunInfo(b.id, b.name, elsewhere, 1, "train", now - 600, now - 3600))   # silent for an hour
    report = q.recover()
    assert [name for name, _ in report.crashed] == ["remote-2"]
    assert q.find("remote-1").status == "running"  # a remote pid is never judged by this host's process table
    crashed = q.find("remote-2")
    assert crashed.status == "crashed" and "no heartbeat from another-host.invalid" in crashed.reason


def test_pid_reuse_does_not_fool_the_liveness_check(qrepo: Path) -> None:
    import os

    q = QueueManager(qrepo)
    (e,) = q.enqueue(["train.lr=0.1"], name="reuse")
    me = ProcessIdentity.current()
    impostor = ProcessIdentity(os.getpid(), "1", me.host, "beef")  # our pid, but another start time
    assert me.alive() is True and impostor.alive() is False
    q.store.claim(e, impostor)
    assert "is gone" in q.find("reuse").dead_reason


def test_detached_head_is_a_baseline_like_any_other(qrepo: Path) -> None:
    head = git(qrepo, "rev-parse", "HEAD").strip()
    git(qrepo, "checkout", "-q", "--detach", "HEAD")
    before = fingerprint(qrepo)
    (entry,) = QueueManager(qrepo).enqueue(["train.lr=0.4"], name="detached")
    assert entry.baseline == head and git(qrepo, "rev-parse", f"{entry.rev}^").strip() == head
    assert fingerprint(qrepo) == before  # still detached, nothing moved
