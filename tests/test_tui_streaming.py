"""The dashboard over a real repo with a few thousand experiments: the first load paints the top of the listing
before the rest is built, and saving the view state never makes the poller reload.

The experiments are written with `git fast-import` in DVC's layout (as `benchmarks/bench_show.py` does at 100k),
then read back through the real Project and on-disk index.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_tui_app import async_test, wait_for

from exptui.project import Project
from exptui.tui.app import ExptuiApp
from exptui.tui.view_state import ViewState, view_file

SIZE = (120, 36)
N = 1500

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    params: [train]
    metrics:
      - metrics.json:
          cache: false
"""


@pytest.fixture(scope="module")
def big_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo with `N` experiments under HEAD (exp-0000 oldest), built once per module."""
    repo = tmp_path_factory.mktemp("big") / "repo"
    repo.mkdir()
    env_git = ["-c", "user.name=t", "-c", "user.email=t@e.invalid"]
    git(repo, "init", "-q", "-b", "main")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "params.yaml").write_text("train:\n  lr: 0.1\n")
    git(repo, "add", "-A")
    git(repo, *env_git, "commit", "-q", "-m", "baseline")
    base = git(repo, "rev-parse", "HEAD").strip()
    stream = []
    for i in range(N):
        p = f"train:\n  lr: {i / N}\n".encode()
        m = json.dumps({"f1": (i * 7919 % N) / N}).encode()
        msg = f"dvc: commit experiment {hashlib.sha256(p + m).hexdigest()}".encode()
        stream.append(f"commit refs/exps/{base[:2]}/{base[2:]}/exp-{i:04d}\n"
                      f"committer t <t@e.invalid> {1700000000 + i} +0000\n".encode())
        stream += [f"data {len(msg)}\n".encode() + msg + b"\n", f"from {base}\n".encode()]
        stream.append(f"M 100644 inline params.yaml\ndata {len(p)}\n".encode() + p + b"\n")
        stream.append(f"M 100644 inline metrics.json\ndata {len(m)}\n".encode() + m + b"\n\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)
    return repo


@pytest.fixture
def big_repo(big_template: Path, tmp_path: Path) -> Path:
    import shutil

    dest = tmp_path / "repo"
    shutil.copytree(big_template, dest, symlinks=True)
    return dest


@async_test
async def test_first_load_paints_the_top_rows_before_the_whole_listing(big_repo: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExptuiApp, "FIRST_ROWS", 40)
    app = ExptuiApp(Project.open(big_repo), big_repo, poll_interval=60, view=ViewState())
    seen: list[tuple[int, str, str]] = []     # per set_rows: rows handed over, header text, first table line

    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        real_set_rows = main.set_rows

        def recording(rows, loading_total=None):  # the real method runs; the test only looks afterwards
            real_set_rows(rows, loading_total)
            header = str(main.query_one("#status-header").render())
            seen.append((len(rows), header, main.table.render_line(2).text))

        main.set_rows = recording  # type: ignore[method-assign]
        await wait_for(pilot, lambda: app.reloads > 0, timeout=120)
        await pilot.pause()
        assert app.partial_loads == 1 and len(seen) == 2
        (first_n, first_header, first_line), (all_n, all_header, _line) = seen
        assert first_n == 40 and "loading 40 of 1,502…" in first_header   # workspace + baseline + 1500
        assert all_n == N + 2 and f"{N} experiments" in all_header and "loading" not in all_header
        # the top of the table was right from the first paint: the newest experiment under its baseline
        assert f"exp-{N - 1:04d}" in main.table.render_line(4).text
        assert [r.key for r in main.table.rows[:40]] == [r.key for r in main.all_rows[:40]]
        assert first_line.split()[0] == "workspace"      # painted from the first rows, not after all


@async_test
async def test_saving_the_view_state_never_triggers_a_reload(big_repo: Path) -> None:
    """Filter changes and Escape write `.git/exptui/view.json`; the poller must not take that for new data."""
    project = Project.open(big_repo)
    listings: list[int] = []
    polls: list[int] = []
    real_experiments, real_token = project.experiments, project.changed_token

    def counting_experiments(*args, **kwargs):
        if kwargs.get("refresh", True):   # `refresh=False` hands back the last listing (the plots read-ahead asks)
            listings.append(1)
        return real_experiments(*args, **kwargs)

    def counting_token():
        polls.append(1)
        return real_token()

    project.experiments = counting_experiments  # type: ignore[method-assign]
    project.changed_token = counting_token  # type: ignore[method-assign]
    app = ExptuiApp(project, big_repo, poll_interval=0.05, view=ViewState())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0, timeout=120)
        assert len(listings) == 1
        main = app.main
        for expression in ("f1 > 0.5", "f1 > 0.9", ""):
            main._apply_filter(expression)
            main.save_view_now()
            assert json.loads(view_file(big_repo).read_text())["filter"] == expression  # type: ignore[union-attr]
            after = len(polls)
            await wait_for(pilot, lambda after=after: len(polls) >= after + 3, timeout=60)   # three more polls
        await pilot.press("slash", *"f1 > 0.2", "escape")
        main.save_view_now()
        after = len(polls)
        await wait_for(pilot, lambda: len(polls) >= after + 3, timeout=60)
        assert len(listings) == 1 and app.reloads == 1


@async_test
async def test_a_reload_keeps_the_unchanged_rows_as_the_same_objects(big_repo: Path) -> None:
    """One new experiment: the table gets it, and every other row is the object it already had (the comparison
    with the last listing happened once, in the loading thread)."""
    from tests.test_tui_app import record_experiment

    app = ExptuiApp(Project.open(big_repo), big_repo, poll_interval=0.05, view=ViewState())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0, timeout=120)
        before = {row.key: row for row in app.main.all_rows}
        record_experiment(big_repo, "late-one", {"train.lr": 0.5}, {"f1": 0.99})
        await wait_for(pilot, lambda: app.reloads > 1, timeout=120)
        after = app.main.all_rows
        new = [row for row in after if row.key not in before]
        assert [row.name for row in new] == ["late-one"]
        kept = [row for row in after if row.key in before]
        assert len(kept) == N + 2 and all(row is before[row.key] for row in kept)
        assert any(row.name == "late-one" for row in app.main.table.rows)
