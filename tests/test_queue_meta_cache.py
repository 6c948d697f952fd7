"""The on-disk cache of queue entry bodies (`.git/exptui/cache/queue-meta.bin`): a torn, foreign or stale file
is never trusted, and a changed entry (a new ref value) is read from git again."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from exptui.execution.queue_manager import QueueManager
from exptui.store.claims import ProcessIdentity
from exptui.store.queue import _MetaCache
from test_queue_support import qrepo  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("qrepo")


def _listing(repo: Path) -> list[tuple[str, str, str, dict]]:
    """A fresh process's view (new manager, cache read from disk)."""
    return [(e.id, e.name, e.status.value, e.overrides) for e in QueueManager(repo).entries()]


def _cache_path(repo: Path) -> Path:
    return repo / ".git" / "exptui" / "cache" / "queue-meta.bin"


def test_cache_is_written_and_a_corrupt_or_foreign_file_is_rebuilt(qrepo: Path) -> None:
    QueueManager(qrepo).enqueue(["train.lr=0.1,0.2"], name="c")
    expected = _listing(qrepo)
    assert [(n, s) for _i, n, s, _o in expected] == [("c-1", "queued"), ("c-2", "queued")]
    path = _cache_path(qrepo)
    assert path.read_bytes().startswith(_MetaCache.MAGIC)
    assert _listing(qrepo) == expected  # read back from the cache
    for bad in (b"", b"garbage", _MetaCache.MAGIC + b"\xff\x00torn", _MetaCache.MAGIC[:-2],
                b'{"objects": {}}', _MetaCache.MAGIC + b"\xe9"):  # last: a marshal int, not a dict
        path.write_bytes(bad)
        assert _listing(qrepo) == expected, bad
        assert path.read_bytes().startswith(_MetaCache.MAGIC)  # rewritten in the current format


def test_cache_holding_wrong_bodies_for_other_shas_does_not_leak_and_changed_entries_are_reread(
        qrepo: Path) -> None:
    import marshal

    q = QueueManager(qrepo)
    a, _b = q.enqueue(["train.lr=0.1,0.2"], name="s")
    _listing(qrepo)
    path = _cache_path(qrepo)
    # a stale cache: bodies of objects that no longer exist, and a non-dict value for a live sha
    raw = marshal.loads(path.read_bytes()[len(_MetaCache.MAGIC):])
    raw["0" * 40] = {"name": "ghost"}
    raw[a.rev] = ["not", "a", "body"]
    path.write_bytes(_MetaCache.MAGIC + marshal.dumps(raw))
    listed = _listing(qrepo)
    assert [n for _i, n, _s, _o in listed] == ["s-1", "s-2"]
    assert "0" * 40 not in marshal.loads(path.read_bytes()[len(_MetaCache.MAGIC):])
    # the entry changes state (new claim and done refs): the new objects are read from git, not the cache
    claim = q.store.claim(q.find(a.id), ProcessIdentity.current())
    assert claim is not None
    assert dict((n, s) for _i, n, s, _o in _listing(qrepo)) == {"s-1": "running", "s-2": "queued"}
    q.kill("s-2")
    assert dict((n, s) for _i, n, s, _o in _listing(qrepo)) == {"s-1": "running", "s-2": "cancelled"}


def test_unwritable_cache_directory_still_lists(qrepo: Path) -> None:
    QueueManager(qrepo).enqueue(["train.lr=0.1"], name="u")
    cache_dir = _cache_path(qrepo).parent
    cache_dir.mkdir(parents=True, exist_ok=True)
    for p in cache_dir.iterdir():
        p.unlink()
    cache_dir.rmdir()
    cache_dir.write_text("a file where the cache directory should be")  # every write fails
    try:
        assert [n for _i, n, _s, _o in _listing(qrepo)] == ["u"]
    finally:
        cache_dir.unlink()
    out = subprocess.run(["git", "for-each-ref", "refs/exptui/queue/"], cwd=qrepo, capture_output=True,
                         text=True, check=True).stdout
    assert out.count("\n") == 1


def test_big_queueing_leaves_the_refs_packed(qrepo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import exptui.store.queue as queue_store

    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2"], name="loose")
    loose_dir = qrepo / ".git" / "refs" / "exptui" / "queue"
    assert len(list(loose_dir.iterdir())) == 2  # below the threshold: as git leaves them
    monkeypatch.setattr(queue_store, "PACK_REFS_AFTER", 3)
    q.enqueue(["train.lr=0.3,0.4,0.5"], name="packed")
    assert not loose_dir.exists() or not list(loose_dir.iterdir())
    packed = (qrepo / ".git" / "packed-refs").read_text()
    assert packed.count("refs/exptui/queue/") == 5
    assert [n for _i, n, _s, _o in _listing(qrepo)] == ["loose-1", "loose-2", "packed-1", "packed-2", "packed-3"]
    # a worker's claim after the packing is an ordinary loose ref again; the listing sees both kinds
    first = QueueManager(qrepo).find("packed-1")
    assert q.store.claim(first, ProcessIdentity.current()) is not None
    assert dict((n, s) for _i, n, s, _o in _listing(qrepo))["packed-1"] == "running"


def test_queue_status_stays_light(qrepo: Path) -> None:
    """`queue status` (10,000 entries in ~0.2 s) must not pay for imports only writers or other commands need."""
    import sys

    QueueManager(qrepo).enqueue(["train.lr=0.1,0.2"], name="light")
    code = (
        "import sys\n"
        "from exptui.cli import cli\n"
        f"cli.main(args=['-C', {str(qrepo)!r}, 'queue', 'status'], standalone_mode=False)\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    # the first listing writes the body cache (a write needs tempfile); the second only reads
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "light-1" in out and "light-2" in out
    mods = set(out.split("MODULES", 1)[1].split())
    for heavy in ("pandas", "numpy", "textual", "yaml", "ruamel", "rich", "git", "tempfile", "socket",
                  "dvc_compat.config"):
        assert heavy not in mods, f"{heavy} imported by queue status"
