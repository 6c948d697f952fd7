"""Sweep ids: the trials of one `run --queue` sweep carry one id and a short label, from the queue entry to the
recorded experiment's run facts, and the table can filter and sort (group) by it."""
from __future__ import annotations

import json
from pathlib import Path

from dvc_compat.sweep import sweep_label
from exptui.execution.queue_manager import QueueManager
from exptui.project import Project
from exptui.query.table import TableModel
from exptui.records import ExperimentRow, RunFacts
from exptui.store.facts import parse_trailers, to_trailers
from test_queue_support import git, qrepo  # noqa: F401


def test_sweep_label_names_the_varied_params_and_is_made_unique() -> None:
    combos = [{(None, "train.max_depth"): d, (None, "train.learning_rate"): lr, (None, "train.seed"): 1}
              for d in (3, 5) for lr in (0.1, 0.2)]
    assert sweep_label(combos, lambda _label: False) == "md-lr"
    assert sweep_label(combos, {"md-lr", "md-lr-2"}.__contains__) == "md-lr-3"
    assert sweep_label([{(None, "a"): 1}, {(None, "a"): 1}], lambda _label: False) == "sweep"


def test_sweep_facts_round_trip_through_trailers() -> None:
    facts = RunFacts(command="x", sweep="1733000000000-abcdef", sweep_label="md-lr")
    text = to_trailers(facts, "success")
    assert "Exptui-Sweep: 1733000000000-abcdef" in text and "Exptui-Sweep-Label: md-lr" in text
    parsed, status = parse_trailers("dvc: commit experiment 0123\n\n" + text)
    assert status == "success" and parsed == facts


def test_trials_of_one_sweep_share_an_id_and_label_from_queue_to_experiment(qrepo: Path) -> None:  # noqa: F811
    q = QueueManager(qrepo)
    first = q.enqueue(["train.lr=0.1,0.2"])
    assert {e.sweep for e in first} == {first[0].id} and {e.sweep_label for e in first} == {"lr"}
    listed = {e.name: e for e in q.entries()}                # read back from the refs, not the create() result
    assert listed[first[1].name].sweep == first[0].id and listed[first[1].name].sweep_label == "lr"
    assert {r.name: r.sweep for r in q.rows()} == {e.name: "lr" for e in first}
    q.start(jobs=1, detach=False)
    single = q.enqueue(["train.lr=0.3"])                     # one experiment is no sweep
    second = q.enqueue(["train.lr=0.4,0.5"])                 # the same params again: a label of its own
    assert single[0].sweep is None and single[0].sweep_label is None
    assert {e.sweep_label for e in second} == {"lr-2"} and second[0].sweep != first[0].sweep
    with Project.open(qrepo) as project:
        rows = {r.name: r for r in project.experiments()}
    for e in first:
        assert rows[e.name].kind == "experiment" and rows[e.name].sweep == "lr"
        assert rows[e.name].sweep_id == first[0].id
    assert rows[single[0].name].kind == "queued" and rows[single[0].name].sweep is None
    exp_rev = q.find(first[0].name).exp_rev
    assert exp_rev is not None
    message = git(qrepo, "log", "-1", "--format=%B", exp_rev)
    assert message.startswith("dvc: commit experiment ") and "Exptui-Sweep-Label: lr" in message

    model = TableModel(list(rows.values()))
    model.set_filter("sweep == 'lr'")
    assert sorted(r.name for r in model.view().experiment_rows if r.kind == "experiment") == \
        sorted(e.name for e in first)
    model.set_filter("sweep == 'lr-2'")
    assert sorted(r.name for r in model.view().experiment_rows if r.kind == "queued") == \
        sorted(e.name for e in second)


def test_show_json_carries_the_sweep_in_the_facts(qrepo: Path) -> None:  # noqa: F811
    from exptui.query.show_json import rows_to_json

    q = QueueManager(qrepo)
    entries = q.enqueue(["train.lr=0.1,0.2"])
    records = [r for r in json.loads(rows_to_json(q.rows())) if r["kind"] == "queued"]
    assert {(r["facts"]["sweep"], r["facts"]["sweep_label"]) for r in records} == {(entries[0].id, "lr")}


def test_run_queue_names_the_sweep_and_its_filter(qrepo: Path) -> None:  # noqa: F811
    from test_queue_cli import cli

    proc = cli(qrepo, "run", "--queue", "-S", "train.lr=0.1,0.2")
    assert "2 experiments queued as sweep lr (filter: sweep == 'lr')." in proc.stderr
    assert "sweep" not in cli(qrepo, "run", "--queue", "-S", "train.lr=0.3").stderr


def _row(name: str, f1: float | None, *, sweep: str | None = "s1", status: str = "success",
         duration: float | None = 10.0, started: float | None = None) -> ExperimentRow:
    metrics = {} if f1 is None else {"metrics.yaml": {"f1": f1, "loss": 1 - f1, "n_rows": 5}}
    kind = "experiment" if status == "success" else "queued"
    return ExperimentRow(name, name.ljust(40, "0"), "b" * 40, kind=kind, status=status,  # type: ignore[arg-type]
                         metrics=metrics, started=started,
                         facts=RunFacts(duration=duration, sweep=sweep, sweep_label=sweep and "md-lr"))


def test_progress_counts_and_eta_from_finished_durations_and_workers() -> None:
    from exptui.query.sweeps import all_progress, format_eta

    rows = [_row("a", 0.5), _row("b", 0.6, duration=30.0), _row("c", None, status="running", started=1000.0),
            _row("d", None, status="queued"), _row("e", None, status="failed", duration=None),
            _row("x", 0.9, sweep=None)]
    (sweep,) = all_progress(rows, workers=2, now=1005.0)
    # mean 20 s; left: the running one 15 s, the queued one 20 s; over 2 workers
    assert (sweep.total, sweep.done, sweep.running, sweep.queued, sweep.failed) == (5, 3, 1, 1, 1)
    assert sweep.eta == 17.5
    assert sweep.text() == "sweep md-lr: 3/5 done, 1 running, 1 failed, ETA 0:18"
    assert format_eta(3723) == "1:02:03"
    assert all_progress(rows[:2], workers=1, now=0)[0].text() == "sweep md-lr: 2/2 done"


def test_best_cells_only_for_known_directions_and_never_when_all_are_equal() -> None:
    from exptui.query.columns import collect_columns
    from exptui.query.sweeps import best_cells, ranking_metric

    rows = [_row("a", 0.5), _row("b", 0.7), _row("c", 0.7), _row("d", 0.2, sweep=None)]
    columns = collect_columns(rows)
    best = best_cells(rows, columns)
    by_key = {c.key: best.get(c.id, set()) for c in columns}
    assert by_key["f1"] == {rows[1].key, rows[2].key}          # ties share the highlight
    assert by_key["loss"] == {rows[1].key, rows[2].key}        # lower is better
    assert by_key["n_rows"] == set()                           # no known direction: not guessed (and all equal)
    ranking = ranking_metric(columns)
    assert ranking is not None and ranking[0].key == "f1" and ranking[1] == "higher"


def test_best_cells_over_the_frame_are_the_same_cells() -> None:
    """The dashboard's vectorised path (the frame's typed columns, numpy per group) marks exactly the cells the
    row-by-row path marks, over values of every kind: ties, missing, NaN, infinities, bools, text, big ints."""
    import random

    from exptui.query.columns import collect_columns
    from exptui.query.frame import TableFrame
    from exptui.query.sweeps import best_cells

    odd: list[object] = [float("nan"), float("inf"), -float("inf"), True, "n/a", 3, 0.25, None]
    for seed in range(12):
        rng = random.Random(seed)
        rows = []
        for i in range(60):
            f1 = rng.choice([*odd, rng.random(), rng.random(), 0.5, 0.5]) if rng.random() < 0.4 else \
                round(rng.random(), 2)
            sweep = rng.choice(["s1", "s2", None])
            row = _row(f"r{i}", None, sweep=sweep)
            row.baseline = rng.choice(["b" * 40, "c" * 40])
            if f1 is not None or rng.random() < 0.8:
                row.metrics = {"metrics.yaml": {"f1": f1, "loss": rng.choice([0.1, 0.2, 0.3, float("nan")])}}
            rows.append(row)
        if seed == 11:
            rows[0].metrics = {"metrics.yaml": {"f1": 2 ** 60 + 1, "loss": 0.1}}   # beyond float64: Python path
        columns = collect_columns(rows)
        assert best_cells(rows, columns, frame=TableFrame(rows)) == best_cells(rows, columns), seed
