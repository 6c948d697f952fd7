"""The dashboard's state files (`.git/exptui/view.json`, the saved first screen `first-rows.pickle`) when the
dashboard is SIGKILLed while it writes them, when they are damaged, and when two dashboards write them at once.

Both are written by `dvc_compat.fsutil.atomic_write`: a temp file of a unique name (`mkstemp`, with the writer's
pid) in the same directory, then a rename over the real file. The kill lands at the one moment that could leave
something: the temp file written and closed, the rename not done (`state_write_driver.py` runs the real dashboard
and stops there until the test has killed it). The next start must read the whole old file, paint no wrong row,
print no traceback, and remove the dead dashboard's temp file (11 MB at 100,000 experiments for the first screen).
Real repos (1,500 experiments, `test_tui_streaming.big_template`), real processes, nothing timed.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rel_support import env, wait_for
from tests.test_store_support import import_experiments
from tests.test_tui_first_screen import saving, second_start
from tests.test_tui_streaming import SIZE, big_repo, big_template  # noqa: F401 - fixtures
from tests.tui_support import async_test
from tests.tui_support import wait_for as wait_until

from exptui.project import Project

from exptui.store import first_rows
from exptui.tui.app import ExptuiApp
from exptui.tui.view_state import ViewState, load_view, save_view, view_file

DRIVER = str(Path(__file__).with_name("state_write_driver.py"))
F1 = "metrics:metrics.json:f1"


def _driver(repo: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, DRIVER, str(repo), *args], cwd=repo, env=env(**extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out.strip() == "done" and "Traceback" not in err, err


def _kill_at_rename(repo: Path, tmp_path: Path, name: str, *args: str) -> Path:
    """Run the dashboard until it is about to rename its new `name` into place, SIGKILL it there; its temp file."""
    mark, release = tmp_path / "mark", tmp_path / "release"
    proc = _driver(repo, *args, REL_PAUSE_ON=name, REL_MARK=str(mark), REL_RELEASE=str(release))
    try:
        assert wait_for(lambda: mark.exists() or proc.poll() is not None, timeout=300)
        assert mark.exists(), proc.communicate()[1]
        pid, temp = mark.read_text().split(" ", 1)
        assert int(pid) == proc.pid
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        release.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Path(temp)


def _temp_files(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / ".git" / "exptui").glob(".*.tmp"))


@async_test
async def test_killed_while_replacing_its_first_screen_the_next_start_paints_the_old_one_amended(
        big_repo: Path, tmp_path: Path) -> None:  # noqa: F811 - fixture
    _finish(_driver(big_repo))   # a first start saves the first screen
    path = first_rows.path_of(big_repo / ".git")
    old = path.read_bytes()
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=big_repo, capture_output=True, text=True).stdout.strip()
    import_experiments(big_repo, base, [("newest", b"train:\n  lr: 0.5\n", b'{"f1": 0.5}')], 1_900_000_000)
    # the next start amends it for the new experiment and saves the result: killed just before the rename
    temp = _kill_at_rename(big_repo, tmp_path, first_rows.FILE)
    assert temp.exists() and temp.parent == path.parent and path.read_bytes() == old   # the old file, whole
    saved = first_rows.load(big_repo / ".git")
    assert saved is not None and len(saved.rows) > 0
    # the start after it: the old screen amended (the new experiment in it) or the listing's own top, never a
    # wrong row; the dead dashboard's temp file is gone once this one saved its own screen
    app, seen, final_top, rows = await second_start(big_repo, ViewState())
    newest = next(row for row in rows if row.name == "newest")
    assert seen[0][1] == final_top and newest.key in final_top
    assert not temp.exists() and _temp_files(big_repo) == []


@async_test
async def test_killed_while_replacing_its_view_the_next_start_has_the_old_view(big_repo: Path,  # noqa: F811
                                                                             tmp_path: Path) -> None:
    old_view = ViewState(filter="f1 >= 0", hidden=["params:params.yaml:train.lr"])
    save_view(big_repo, old_view)
    path = view_file(big_repo)
    assert path is not None
    old = path.read_bytes()
    temp = _kill_at_rename(big_repo, tmp_path, "view.json", "sort")   # its first view save, killed
    assert temp.exists() and isinstance(json.loads(temp.read_bytes()), dict)   # a new file, never renamed
    assert path.read_bytes() == old and load_view(big_repo) == old_view
    # the next start (its view read from disk, as `exptui` does) has the old view and, once it saved its first
    # screen, no temp file of the dead one
    app = ExptuiApp(Project.open(big_repo), big_repo, poll_interval=60)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.reloads > 0 and not saving(app) and not temp.exists(), timeout=120)
        assert app.main.view == old_view
    assert _temp_files(big_repo) == []


@pytest.mark.parametrize("content", [b"", b"{", b'{"filter": "f1 > 0", "sort": [["m', b"\xff\xfe{}", b"[" * 100_000,
                                     b'{"sort": 5, "hidden": [1, 2], "filter": ["x"], "directions": {"a": "up"}}'],
                         ids=["empty", "brace", "cut", "not-utf8", "nested", "wrong-types"])
def test_a_damaged_view_file_is_the_default_view(tmp_path: Path, content: bytes) -> None:
    """What no kill can leave (the rename is whole) but a disk, an editor or another version can: the default
    view, never an exception (before 2026-12-07 the nested one raised RecursionError at the dashboard's start)."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    path = view_file(tmp_path)
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    assert load_view(tmp_path) == ViewState()


def test_two_dashboards_saving_at_once_never_leave_a_torn_file(big_repo: Path) -> None:  # noqa: F811
    """Two dashboards on one repo, each saving its view and first screen (after its first listing and after a
    sort) while a reader reads both files as often as it can: every read is a whole file."""
    _finish(_driver(big_repo))
    view, saved = view_file(big_repo), first_rows.path_of(big_repo / ".git")
    assert view is not None
    save_view(big_repo, ViewState(filter="f1 >= 0"))
    procs = [_driver(big_repo, "sort") for _ in range(2)]
    reads = 0
    try:
        while any(p.poll() is None for p in procs):
            data = view.read_bytes()
            assert isinstance(json.loads(data), dict)
            assert first_rows.load(big_repo / ".git") is not None   # None: unreadable (and removed)
            reads += 1
    finally:
        for p in procs:
            _finish(p)
    assert reads > 0 and saved.exists()
    assert load_view(big_repo).sort == [(F1, False)]
    assert _temp_files(big_repo) == []
