"""The DVCLive reader (exptui.execution.live_metrics) on files written by the real `dvclive` package."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from exptui.execution.live_metrics import LiveMetrics, LiveMetricsReader, parse_series_tsv, read_live_metrics

dvclive = pytest.importorskip("dvclive")


def write_with_dvclive(where: Path, steps: int, timestamp: bool = False) -> None:
    """What a training script does: log nested and flat metrics per step (run outside any repo: no DVC side)."""
    old = os.getcwd()
    os.chdir(where)
    try:
        with dvclive.Live(dir="dvclive", save_dvc_exp=False, dvcyaml=False) as live:
            for i in range(steps):
                live.log_metric("train/logloss", 1.0 / (i + 1), timestamp=timestamp)
                live.log_metric("test/logloss", 2.0 / (i + 1), timestamp=timestamp)
                live.log_metric("f1", 0.5 + i / 10, timestamp=timestamp)
                live.next_step()
    finally:
        os.chdir(old)


def test_reads_what_dvclive_writes(tmp_path: Path) -> None:
    write_with_dvclive(tmp_path, 3)
    live = read_live_metrics(tmp_path)
    assert isinstance(live, LiveMetrics)
    assert live.step == 2
    assert live.latest == {"train.logloss": pytest.approx(1 / 3), "test.logloss": pytest.approx(2 / 3),
                           "f1": pytest.approx(0.7)}
    assert set(live.series) == {"train.logloss", "test.logloss", "f1"}
    assert live.series["train.logloss"] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert [s for s, _ in live.series["f1"]] == [0, 1, 2]


def test_timestamp_column_is_skipped(tmp_path: Path) -> None:
    write_with_dvclive(tmp_path, 2, timestamp=True)
    header = (tmp_path / "dvclive/plots/metrics/f1.tsv").read_text().splitlines()[0].split("\t")
    assert "timestamp" in header  # what dvclive writes with timestamp=True
    live = read_live_metrics(tmp_path)
    assert live is not None and live.series["f1"] == [(0, 0.5), (1, 0.6)]


def test_no_output_yet_is_none(tmp_path: Path) -> None:
    assert read_live_metrics(tmp_path) is None
    (tmp_path / "dvclive").mkdir()
    assert read_live_metrics(tmp_path) is None


def test_half_written_files(tmp_path: Path) -> None:
    """A TSV whose last row is being appended and a metrics.json being rewritten: the complete part counts."""
    write_with_dvclive(tmp_path, 3)
    tsv = tmp_path / "dvclive/plots/metrics/train/logloss.tsv"
    with open(tsv, "a", encoding="utf-8") as fh:
        fh.write("3\t0.2")                     # no newline yet
    metrics = tmp_path / "dvclive/metrics.json"
    metrics.write_text(metrics.read_text()[:20])  # cut mid-object
    live = read_live_metrics(tmp_path)
    assert live is not None
    assert live.step is None and live.latest == {}
    assert [s for s, _ in live.series["train.logloss"]] == [0, 1, 2]
    metrics.write_text("")                     # truncated to zero before the rewrite
    live = read_live_metrics(tmp_path)
    assert live is not None and live.latest == {} and len(live.series) == 3


def test_only_a_metrics_json(tmp_path: Path) -> None:
    """DVCLive without steps (log_metric then end) writes metrics.json without "step"; text values are dropped."""
    (tmp_path / "dvclive").mkdir()
    (tmp_path / "dvclive/metrics.json").write_text(json.dumps(
        {"acc": 0.9, "nested": {"deep": {"x": 1}}, "name": "text", "flag": True, "bad": float("nan")}))
    live = read_live_metrics(tmp_path)
    assert live == LiveMetrics(None, {"acc": 0.9, "nested.deep.x": 1.0}, {})


@pytest.mark.parametrize("raw, rows", [
    (b"", []),
    (b"step\tloss", []),                                  # header still being written
    (b"step\tloss\n0\t1.5\n1\tnan\n2\tx\n3\t0.5\n", [(0, 1.5), (3, 0.5)]),
    (b"loss\n1.0\n", []),                                 # no step column: not DVCLive's
    (b"step\tloss\n0\t1\t9\n1\t2\n", [(1, 2.0)]),          # a row with a stray cell
])
def test_parse_series_edge_cases(raw: bytes, rows: list[tuple[int, float]]) -> None:
    assert parse_series_tsv(raw) == rows


def test_reader_caches_unchanged_files(tmp_path: Path) -> None:
    """Polling an unchanged run reads nothing; a grown file is read again."""
    write_with_dvclive(tmp_path, 2)
    reader = LiveMetricsReader()
    first = reader.read(tmp_path)
    tsv = tmp_path / "dvclive/plots/metrics/f1.tsv"
    cached = dict(reader._files)
    assert reader.read(tmp_path) == first
    assert {p: c.value for p, c in reader._files.items()} == {p: c.value for p, c in cached.items()}
    with open(tsv, "a", encoding="utf-8") as fh:
        fh.write("2\t0.9\n")
    again = reader.read(tmp_path)
    assert again is not None and again.series["f1"][-1] == (2, 0.9)
    reader.retain([])
    assert reader._files == {}


# --- a running queue entry, end to end: the facade and `show --json` read its run dir live ----------------------


def test_running_entry_live_metrics_through_the_facade_and_show_json(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    from exptui.project import Project
    from tests.live_support import git, make_live_repo, open_gate
    from tests.test_queue_support import wait_for

    repo = make_live_repo(tmp_path)
    gate = tmp_path / "gate"
    gate.mkdir()
    monkeypatch.setenv("EXPTUI_TEST_LIVE_GATE", str(gate))
    project = Project.open(repo)
    (entry,) = project.queue.enqueue(["train.lr=2.0"], name="live-one")
    project.queue.start(1)
    try:
        open_gate(gate, 2.0, 0)
        assert wait_for(lambda: project.live_metrics().get(entry.id, LiveMetrics(None, {}, {})).step == 0, 120)
        live = project.live_metrics()[entry.id]
        assert live.latest == {"train.loss": 2.0, "acc": 0.5}
        assert live.series == {"train.loss": [(0, 2.0)], "acc": [(0, 0.5)]}
        assert set(project.live_metrics()) == {entry.id}  # the workspace runs nothing: no key for it

        shown = subprocess.run([sys.executable, "-m", "exptui", "show", "--json"], cwd=repo, capture_output=True,
                               text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr
        rows = {r["name"]: r for r in json.loads(shown.stdout)}
        assert rows["live-one"]["status"] == "running"
        assert rows["live-one"]["live"] == {"step": 0, "latest": {"train.loss": 2.0, "acc": 0.5}}
        assert "live" not in rows["main"]

        open_gate(gate, 2.0, 1)
        assert wait_for(lambda: project.live_metrics()[entry.id].step == 1, 60)
        assert project.live_metrics()[entry.id].series["train.loss"] == [(0, 2.0), (1, 1.0)]
        open_gate(gate, 2.0, 2)
        assert wait_for(lambda: not project.queue.workers_running(), 120)
    finally:
        for step in range(3):
            open_gate(gate, 2.0, step)
        project.queue.stop()
    assert project.live_metrics() == {}
    # recorded with DVCLive's files; DVCLive itself made no experiment or ref of its own
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split()
    assert [r.rsplit("/", 1)[-1] for r in refs] == ["live-one"]
    (row,) = [r for r in project.experiments() if r.name == "live-one"]
    assert row.status == "success"
    assert row.metrics["dvclive/metrics.json"] == {"train.loss": pytest.approx(2 / 3), "acc": 0.7, "step": 2}


def test_dvclive_in_a_workspace_run_makes_no_git_changes_of_its_own(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`exptui run` sets DVC_EXP_BASELINE_REV as `dvc exp run` does, which makes DVCLive act as inside a DVC
    experiment (at its end it may `git add` its untracked files): the user's index and refs stay exptui's alone."""
    import subprocess
    import sys

    from tests.live_support import git, make_live_repo, open_gate

    repo = make_live_repo(tmp_path)
    gate = tmp_path / "gate"
    gate.mkdir()
    for step in range(3):
        open_gate(gate, 1.0, step)
    monkeypatch.setenv("EXPTUI_TEST_LIVE_GATE", str(gate))
    index_before = (repo / ".git" / "index").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "exptui", "run", "-n", "ws"], cwd=repo, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(repo, "diff", "--cached", "--name-only") == ""          # nothing staged by DVCLive
    assert (repo / ".git" / "index").read_bytes() == index_before
    refs = git(repo, "for-each-ref", "--format=%(refname)").split()
    assert [r for r in refs if not r.startswith("refs/heads/")] == [r for r in refs if r.endswith("/ws")]
    assert len([r for r in refs if r.endswith("/ws")]) == 1
    assert "?? dvclive/" in git(repo, "status", "--porcelain")          # its files are the workspace's results
    head = git(repo, "rev-parse", "HEAD").strip()
    files = git(repo, "ls-tree", "-r", "--name-only", f"refs/exps/{head[:2]}/{head[2:]}/ws", "dvclive").split()
    assert files == ["dvclive/metrics.json", "dvclive/plots/metrics/acc.tsv", "dvclive/plots/metrics/train/loss.tsv"]
