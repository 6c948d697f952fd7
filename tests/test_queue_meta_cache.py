"""The on-disk cache of queue entry bodies (`.git/exptui/cache/queue-meta.bin`, `exptui.store.queue_meta`): a
torn, truncated, foreign or old-format file is never trusted and is rebuilt, a record that does not decode is read
from git again, a changed entry (a new ref value) is read from git, and writers racing leave a whole file."""
from __future__ import annotations

import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from exptui.execution.queue_manager import QueueManager
from exptui.store.claims import ProcessIdentity
from exptui.store.git import Git
from exptui.store.queue_meta import MetaCache
from test_queue_support import qrepo  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("qrepo")


def _listing(repo: Path) -> list[tuple[str, str, str, dict]]:
    """A fresh process's view (new manager, cache read from disk)."""
    return [(e.id, e.name, e.status.value, e.overrides) for e in QueueManager(repo).entries()]


def _status(repo: Path) -> str:
    """`exptui queue status` as a user runs it (the click-free path), in a fresh process."""
    out = subprocess.run([sys.executable, "-m", "exptui", "-C", str(repo), "queue", "status"], capture_output=True,
                         text=True, encoding="utf-8")
    assert (out.returncode, out.stderr) == (0, "")
    return out.stdout


def _cache_path(repo: Path) -> Path:
    return repo / ".git" / "exptui" / "cache" / "queue-meta.bin"


def _split(path: Path) -> tuple[list, bytes]:
    """(the header as a list, the records) of a cache file in the current format."""
    raw = path.read_bytes()
    assert raw.startswith(MetaCache.MAGIC)
    eol = raw.index(b"\n", len(MetaCache.MAGIC))
    size = int(raw[len(MetaCache.MAGIC):eol])
    return list(marshal.loads(raw[eol + 1:eol + 1 + size])), raw[eol + 1 + size:]


def _join(path: Path, header: list, records: bytes) -> None:
    data = marshal.dumps(tuple(header))
    path.write_bytes(MetaCache.MAGIC + b"%d\n" % len(data) + data + records)


def _trusted(repo: Path) -> bool:
    """Whether a fresh cache takes the file as it is (columns and records), without reading git."""
    cache = MetaCache(Git.discover(repo))
    cache._load()
    return bool(cache._qshas) and all(cache._decoded(i) is not None for i in range(len(cache._qshas)))


def test_cache_is_written_and_a_corrupt_truncated_foreign_or_old_file_is_rebuilt(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2"], name="c")
    q.enqueue(["train.lr=0.3", "train.sleep=0"], name="d")
    expected, status = _listing(qrepo), _status(qrepo)
    assert [(n, s) for _i, n, s, _o in expected] == [("c-1", "queued"), ("c-2", "queued"), ("d", "queued")]
    path = _cache_path(qrepo)
    good = path.read_bytes()
    assert _trusted(qrepo)
    assert _listing(qrepo) == expected and _status(qrepo) == status  # read back from the cache
    header, records = _split(path)
    old_format = b"exptui-queue-meta 1\n" + marshal.dumps({sha: {"name": "stale"} for sha in header[4]})
    flat_format = marshal.dumps(tuple([header[0] + 1, *header[1:]]))
    bad_files = [
        b"", b"garbage", MetaCache.MAGIC, MetaCache.MAGIC + b"12\n\xff\x00torn", MetaCache.MAGIC[:-2],
        b'{"objects": {}}', MetaCache.MAGIC + b"1\n\xe9",  # a marshal int, not the header
        good[:len(good) // 2], good[:-1], good[:-len(records) // 3],  # cut short: in the header, in the records
        old_format,  # the first marshal format: a dict of bodies, here with wrong names
        MetaCache.MAGIC + b"%d\n" % len(flat_format) + flat_format + records,  # another `flat` version
    ]
    for bad in bad_files:
        path.write_bytes(bad)
        assert _status(qrepo) == status, bad
        assert _listing(qrepo) == expected, bad
        assert path.read_bytes().startswith(MetaCache.MAGIC) and _trusted(qrepo)  # rewritten, current format


def test_columns_that_do_not_add_up_are_not_trusted(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=0.1,0.2,0.3"], name="k")
    status = _status(qrepo)
    path = _cache_path(qrepo)
    header, records = _split(path)
    # version, byte order, bodies per record, other bodies, shas, names, labels, texts, ends, offsets
    broken = [(5, header[5][:-1]), (7, header[7][:-1]), (8, header[8][:-1]), (9, header[9][:-4]),
              (1, "middle"), (2, header[2] * 2), (3, {"x": ["not a body"]})]
    for field, value in broken:
        _join(path, [*header[:field], value, *header[field + 1:]], records)
        assert _status(qrepo) == status, field
        assert _trusted(qrepo), field


def test_a_record_that_does_not_decode_is_read_from_git_again(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    a, _b = q.enqueue(["train.lr=0.1,0.2"], name="r")
    _status(qrepo)
    path = _cache_path(qrepo)
    header, records = _split(path)
    assert header[4][0] == a.rev
    first = header[9][4:8]  # the second offset: where the first record ends
    end = int.from_bytes(first, sys.byteorder)
    _join(path, header, b"\xff" * end + records[end:])  # the first record is garbage, the columns fine
    assert [(n, o) for _i, n, _s, o in _listing(qrepo)] == [("r-1", {"params.yaml": {"train.lr": 0.1}}),
                                                          ("r-2", {"params.yaml": {"train.lr": 0.2}})]
    claim = q.store.claim(q.find(a.id), ProcessIdentity.current())  # needs the whole body of r-1
    assert claim is not None
    assert dict((n, s) for _i, n, s, _o in _listing(qrepo)) == {"r-1": "running", "r-2": "queued"}


def test_stale_bodies_are_dropped_and_changed_entries_are_reread(qrepo: Path) -> None:
    q = QueueManager(qrepo)
    a, _b = q.enqueue(["train.lr=0.1,0.2"], name="s")
    _listing(qrepo)
    path = _cache_path(qrepo)
    header, records = _split(path)
    header[3] = {**header[3], "0" * 40: {"name": "ghost"}}  # a body of an object no ref points at
    _join(path, header, records)
    assert [n for _i, n, _s, _o in _listing(qrepo)] == ["s-1", "s-2"]
    # the entry changes state (new claim and done refs): the new objects are read from git, not the cache, and
    # the file is written again with this listing's bodies only
    claim = q.store.claim(q.find(a.id), ProcessIdentity.current())
    assert claim is not None
    assert dict((n, s) for _i, n, s, _o in _listing(qrepo)) == {"s-1": "running", "s-2": "queued"}
    assert "0" * 40 not in _split(path)[0][3]
    q.kill("s-2")
    assert dict((n, s) for _i, n, s, _o in _listing(qrepo)) == {"s-1": "running", "s-2": "cancelled"}


def test_writers_racing_leave_a_whole_cache(qrepo: Path) -> None:
    """Several `queue status` at once, each reading every body from git and writing the file: the last rename
    wins, and the file it leaves is whole and trusted."""
    q = QueueManager(qrepo)
    q.enqueue(["train.lr=range(0,60)"], name="w", yes=True)
    status = _status(qrepo)
    for _round in range(3):
        _cache_path(qrepo).unlink()
        procs = [subprocess.Popen([sys.executable, "-m", "exptui", "-C", str(qrepo), "queue", "status"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(6)]
        outs = [p.communicate() for p in procs]
        assert [(p.returncode, err) for p, (_out, err) in zip(procs, outs)] == [(0, b"")] * 6
        assert {out.decode() for out, _err in outs} == {status}
        assert _trusted(qrepo)
        assert _status(qrepo) == status
    assert not [p.name for p in _cache_path(qrepo).parent.iterdir() if p.name.endswith(".tmp")]


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


def test_records_of_many_bodies_stay_right_as_the_queue_changes(qrepo: Path) -> None:
    """Bodies are kept `CHUNK` to a record: a cancel keeps every record (copied as it was), queueing more and
    removing an entry move bodies between records (dumped anew). After each change a fresh process lists what a
    process without any cache lists."""
    from exptui.store.queue_meta import CHUNK

    q = QueueManager(qrepo)
    q.enqueue([f"train.lr=range(0,{2 * CHUNK + 22})"], name="m", yes=True)
    path = _cache_path(qrepo)

    def check() -> None:
        listed, status = _listing(qrepo), _status(qrepo)
        assert _trusted(qrepo)
        path.unlink()
        assert (_listing(qrepo), _status(qrepo)) == (listed, status)  # as read from git alone

    check()
    before = _split(path)[1]
    assert q.store.cancel_queued(q.entries()[CHUNK + 3])  # a claim and a terminal record, no clock in the table
    _listing(qrepo)  # reads the two new bodies from git and writes the file again
    assert _split(path)[1] == before  # a cancel moves no queue body: the records are copied as they were
    check()
    q.enqueue(["train.lr=0.5,0.6,0.7"], name="n")
    check()
    q.remove("m-2")
    check()
    assert len(_listing(qrepo)) == 2 * CHUNK + 22 + 3 - 1
