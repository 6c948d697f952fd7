"""Adaptive search on the queue: Optuna proposes trials, the trials are experiments, the study lives in the repo.

Real git repositories, real worker and feeder processes, the real `optuna`. The pipeline's metric is a known
function of its params (tests/search_support.py), so the tests can say where the search should end up.
"""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from exptui.execution.live_metrics import read_live_metrics
from exptui.execution.queue_manager import QueueManager
from exptui.execution.search import list_searches, metric_value, search_space, trials_of
from exptui.store.entry_state import EntryState
from search_support import loss, make_search_repo
from test_queue_support import wait_for

optuna = pytest.importorskip("optuna")

XY = ["-S", "train.x=uniform(-5,5)", "-S", "train.y=uniform(-5,5)"]


def exptui(repo: Path, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "exptui", *args], cwd=repo, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exptui {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def trial_results(repo: Path) -> list[tuple[int, dict, str, float | None]]:
    """[(trial number, params, status, loss)] of the one search in `repo`, by trial number."""
    mgr = QueueManager(repo)
    (spec,) = list_searches(mgr.git)
    from exptui.store.index import ExperimentIndex

    index = ExperimentIndex(mgr.git)
    out = []
    for e in trials_of(spec, mgr.store.entries()):
        value = None
        if e.exp_rev:
            value = metric_value(index.commit_data([e.exp_rev])[e.exp_rev]["metrics"], "loss")
        assert e.search is not None
        out.append((int(e.search["trial"]), e.search["params"], e.status.value, value))
    return out


# --- the search space and bad input ----------------------------------------------------------------------------


def test_the_sweep_syntax_maps_onto_optuna_distributions() -> None:
    space = search_space(["train.learning_rate=loguniform(0.01,0.3)", "train.max_depth=range(2,9)",
                          "train.model=choice(lightgbm,random_forest)", "train.seed=7", "data:split=0.1,0.2"])
    d = space.distributions
    assert d["train.learning_rate"] == optuna.distributions.FloatDistribution(0.01, 0.3, log=True)
    assert d["train.max_depth"] == optuna.distributions.IntDistribution(2, 8, step=1)
    assert d["train.model"] == optuna.distributions.CategoricalDistribution(["lightgbm", "random_forest"])
    assert d["data:split"] == optuna.distributions.CategoricalDistribution([0.1, 0.2])
    assert space.fixed == {(None, "train.seed"): 7}
    assert space.combination({"train.max_depth": 3})[(None, "train.max_depth")] == 3


def test_samplers_and_pruners_are_optuna_s_with_exptui_s_settings() -> None:
    from exptui.execution.search import SearchSpec, make_pruner, make_sampler

    spec = SearchSpec("1-a", "s", ("train.x=uniform(0,1)",), "tpe", 12, "f1", "maximize", "0" * 40, "0" * 40, seed=5)
    tpe = make_sampler(spec, jobs=2)
    assert isinstance(tpe, optuna.samplers.TPESampler) and tpe._n_startup_trials == 3
    assert isinstance(make_sampler(spec.__class__(**{**spec.to_json(), "sampler": "random"}), 1),
                      optuna.samplers.RandomSampler)
    pytest.importorskip("cmaes")
    assert isinstance(make_sampler(spec.__class__(**{**spec.to_json(), "sampler": "cmaes"}), 1),
                      optuna.samplers.CmaEsSampler)
    kinds = {"median": optuna.pruners.MedianPruner, "asha": optuna.pruners.SuccessiveHalvingPruner,
             "hyperband": optuna.pruners.HyperbandPruner, None: optuna.pruners.NopPruner}
    for prune, kind in kinds.items():
        assert isinstance(make_pruner(spec.__class__(**{**spec.to_json(), "prune": prune})), kind)


def test_bad_search_input_is_one_line_and_stores_nothing(tmp_path: Path) -> None:
    repo = make_search_repo(tmp_path)
    cases = [
        (["--search", "tpe", "--trials", "3", "--metric", "loss", "-S", "train.x=1"], "nothing to search"),
        (["--search", "tpe", "--trials", "3", "-S", "train.x=uniform(0,1)"], "--search needs --metric"),
        (["--search", "tpe", "--trials", "3", "--metric", "loss", "-S", "train.z=uniform(0,1)"],
         "params.yaml: unknown key 'train.z'"),
        (["--trials", "3", "-S", "train.x=uniform(0,1)"], "add --search"),
        (["--search", "tpe", "--metric", "loss", "--dry", "-S", "train.x=uniform(0,1)"], "nothing to list"),
        (["--search", "tpe", "--metric", "loss", "-S", "train.x=choice([1],[2])"], "not list values"),
    ]
    for args, message in cases:
        proc = exptui(repo, "run", "--queue", *args, check=False)
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert list_searches(QueueManager(repo).git) == []


# --- the must-show: TPE concentrates near the optimum, and a SIGKILLed runner resumes ---------------------------


def test_tpe_search_concentrates_near_the_optimum(tmp_path: Path) -> None:
    """12 TPE trials, one at a time, seed 1: the best of the last 6 beats the best of 12 random trials drawn with
    the same seed (it holds for 32 of seeds 0-49: benchmarks/bench_search.py, docs/search.md). One at a time the
    search is deterministic: the same trials as Optuna's own loop with exptui's sampler settings."""
    repo = make_search_repo(tmp_path)
    out = exptui(repo, "run", "--queue", "--search", "tpe", "--trials", "12", "--metric", "loss", "--minimize",
                 "--seed", "1", *XY)
    assert "search tpe-" in out.stderr and "12 trials, minimize loss" in out.stderr
    done = exptui(repo, "queue", "start", "-j", "1", "--wait")
    assert "12 success" in done.stdout, done.stdout + done.stderr
    assert "best loss =" in done.stderr
    results = trial_results(repo)
    assert [t for t, _p, _s, _v in results] == list(range(12))
    assert all(s == "success" for _t, _p, s, _v in results)
    # each trial's metric is the known function of the params Optuna proposed, and was told back
    for _t, params, _s, value in results:
        assert value == pytest.approx(loss(params["train.x"], params["train.y"]))
    random_study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(seed=1))
    random_study.optimize(lambda t: loss(t.suggest_float("x", -5, 5), t.suggest_float("y", -5, 5)), n_trials=12)
    last6 = min(v for _t, _p, _s, v in results[6:] if v is not None)
    assert last6 < random_study.best_value
    # the trials are DVC experiments: their names carry the search, the queue shows them as successes
    status = json.loads(exptui(repo, "queue", "status", "--json").stdout)
    assert sum(1 for e in status["entries"] if e["status"] == "success") == 12


def test_a_sigkilled_runner_resumes_the_search_with_no_trial_lost_or_repeated(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Two trials run through, the next wait at a gate (search_support); the `queue start --wait` that drives the
    search is SIGKILLed then, with trials queued or running. A second `queue start` finishes the search."""
    repo = make_search_repo(tmp_path)
    gate = tmp_path / "gate"
    monkeypatch.setenv("SEARCH_TEST_RUNS", str(tmp_path / "runs.txt"))
    monkeypatch.setenv("SEARCH_TEST_GATE", str(gate))
    monkeypatch.setenv("SEARCH_TEST_FREE", "2")
    exptui(repo, "run", "--queue", "--search", "tpe", "--trials", "6", "--metric", "loss", "--minimize",
           "--seed", "1", *XY)
    runner = subprocess.Popen([sys.executable, "-m", "exptui", "queue", "start", "-j", "2", "--wait"], cwd=repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    mgr = QueueManager(repo)
    try:
        def stuck() -> bool:  # two told, two more proposed (running at the gate, or queued)
            mine = [e for e in mgr.store.entries(with_run_info=False) if e.search]
            return sum(e.terminal for e in mine) == 2 and len(mine) == 4

        assert wait_for(stuck, timeout=300, interval=0.1)
        os.kill(runner.pid, signal.SIGKILL)  # the feeder dies mid-search; its workers run on in their sessions
    finally:
        runner.wait()
    before = trial_results(repo)
    assert [s for _t, _p, s, _v in before].count("success") == 2 and len(before) == 4
    # an open search's trials stay: removed, they would be proposed again
    first = next(e for e in mgr.store.entries() if e.search and e.status == EntryState.SUCCESS)
    refused = exptui(repo, "queue", "remove", first.name, check=False)
    assert refused.returncode == 1 and "trial of the adaptive search" in refused.stderr
    exptui(repo, "queue", "remove", "--success")
    assert [r[:2] for r in trial_results(repo)] == [r[:2] for r in before]   # (a queued one may start meanwhile)
    gate.write_text("")
    exptui(repo, "queue", "start", "-j", "2", "--wait")
    results = trial_results(repo)
    assert [t for t, _p, _s, _v in results] == list(range(6))              # nothing lost, nothing run twice
    assert all(s == "success" for _t, _p, s, _v in results)
    assert len({json.dumps(p, sort_keys=True) for _t, p, _s, _v in results}) == 6
    assert [r[:2] for r in results[:4]] == [r[:2] for r in before]          # the trials proposed before the kill
    assert len((tmp_path / "runs.txt").read_text().split()) == 6            # each trial's stage ran once
    refs = mgr.git.run("for-each-ref", "--format=%(refname)", "refs/exps/").split()
    assert len(refs) == 6


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "SIGTERM", "SIGHUP"])
def test_a_trial_interrupted_by_ctrl_c_runs_again_when_the_search_resumes(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          sig: int) -> None:
    """Ctrl-C, SIGTERM or SIGHUP to the `queue start --wait` that drives the search: the running trial is
    cancelled, the exit is 128+signal, and the next `queue start` runs that trial again."""
    repo = make_search_repo(tmp_path)
    gate = tmp_path / "gate"
    monkeypatch.setenv("SEARCH_TEST_RUNS", str(tmp_path / "runs.txt"))
    monkeypatch.setenv("SEARCH_TEST_GATE", str(gate))
    monkeypatch.setenv("SEARCH_TEST_FREE", "0")           # the first trial waits at the gate
    exptui(repo, "run", "--queue", "--search", "tpe", "--trials", "2", "--metric", "loss", "--minimize", *XY)
    runner = subprocess.Popen([sys.executable, "-m", "exptui", "queue", "start", "--wait"], cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert wait_for(lambda: (tmp_path / "runs.txt").exists(), timeout=300, interval=0.1)
    runner.send_signal(sig)
    out, _ = runner.communicate(timeout=300)
    assert runner.returncode == 128 + sig and "1 cancelled" in out, out
    assert "Traceback" not in out and "Aborted" not in out, out
    assert [s for _t, _p, s, _v in trial_results(repo)] == ["cancelled"]
    gate.write_text("")
    resumed = exptui(repo, "queue", "start", "--wait")
    assert "it was interrupted; running the trial again" in resumed.stderr
    results = trial_results(repo)
    assert [(t, s) for t, _p, s, _v in results] == [(0, "success"), (1, "success")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signalled_detached_feeder_stops_proposing_and_the_next_start_resumes(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch,
                                                                               sig: int) -> None:
    """`queue start` (no --wait) leaves a detached feeder; SIGTERM/SIGHUP to it while a trial runs: it stops
    proposing with one line in its log (no traceback), the running trial finishes in its worker and is recorded,
    and the next `queue start --wait` resumes the search: no trial lost or run twice."""
    import re

    import psutil

    repo = make_search_repo(tmp_path)
    gate, runs = tmp_path / "gate", tmp_path / "runs.txt"
    monkeypatch.setenv("SEARCH_TEST_RUNS", str(runs))
    monkeypatch.setenv("SEARCH_TEST_GATE", str(gate))
    monkeypatch.setenv("SEARCH_TEST_FREE", "0")           # the first trial waits at the gate
    exptui(repo, "run", "--queue", "--search", "tpe", "--trials", "2", "--metric", "loss", "--minimize", *XY)
    started = exptui(repo, "queue", "start")
    found = re.search(r"search feeder \(pid (\d+)\)", started.stdout + started.stderr)
    assert found, started.stdout + started.stderr
    feeder = psutil.Process(int(found.group(1)))
    assert wait_for(runs.exists, timeout=300, interval=0.1)  # trial 0 is running (at the gate)
    feeder.send_signal(sig)
    assert wait_for(lambda: not feeder.is_running() or feeder.status() == psutil.STATUS_ZOMBIE, timeout=120)
    mgr = QueueManager(repo)
    log = "".join(p.read_text() for p in mgr.state.workers_dir.glob("search-feeder-*.out"))
    assert f"stopped by {signal.Signals(sig).name}" in log and "Traceback" not in log, log
    gate.write_text("")
    assert wait_for(lambda: [s for _t, _p, s, _v in trial_results(repo)] == ["success"], timeout=300, interval=0.2)
    exptui(repo, "queue", "start", "--wait")
    results = trial_results(repo)
    assert [(t, s) for t, _p, s, _v in results] == [(0, "success"), (1, "success")]
    assert len(runs.read_text().split()) == 2                    # trial 0 ran once


# --- pruning ---------------------------------------------------------------------------------------------------


@pytest.mark.dvc
def test_the_median_pruner_stops_a_clearly_bad_trial_and_records_its_partial_metrics(tmp_path: Path) -> None:
    """x in {1, 9}: loss ~4 (good) or ~68 (bad). A bad trial stops after step 2 and waits (search_support), so
    only the pruner ends it before its 6 epochs; it is then recorded with status pruned and the steps it
    reached. Random sampling with seed 2 draws x = 1, 1, 1, 9, 1: the pruner has two finished trials to compare
    the bad one with (MedianPruner: 2 start-up trials)."""
    repo = make_search_repo(tmp_path, epochs=6, hang_above=20.0)
    exptui(repo, "run", "--queue", "--search", "random", "--trials", "5", "--metric", "loss", "--minimize",
           "--seed", "2", "--prune", "median", "-S", "train.x=choice(1,9)", "-S", "train.y=0")
    done = exptui(repo, "queue", "start", "-j", "1", "--wait")
    results = trial_results(repo)
    pruned = [r for r in results if r[2] == "pruned"]
    complete = [r for r in results if r[2] == "success"]
    assert pruned and all(p["train.x"] == 9 for _t, p, _s, _v in pruned), done.stderr
    assert all(p["train.x"] == 1 for _t, p, _s, _v in complete) and len(complete) >= 2
    assert "pruned at step" in done.stderr and "pruned" in done.stdout
    mgr = QueueManager(repo)
    entry = next(e for e in mgr.store.entries() if e.status == EntryState.PRUNED)
    log = Path(entry.log_path or "").read_text()
    assert 1 <= log.count("\nstep ") + log.startswith("step ") < 6         # fewer steps than epochs
    # recorded as an experiment: status pruned, with the metrics the run reached
    recorded = json.loads(mgr.git.run("show", f"{entry.exp_rev}:dvclive/metrics.json"))
    assert recorded["step"] < 5
    message = mgr.git.run("log", "-1", "--format=%B", entry.exp_rev or "")
    assert message.count("Exptui-Status: pruned") == 1
    assert f"[search {(entry.search or {}).get('id')} trial 3]" in message          # the experiment names its study
    # ... and carries it as trailers: show --json and the filter see every trial of the search
    (spec,) = list_searches(mgr.git)
    assert message.count(f"\nExptui-Search: {spec.id}\n") == 1 and f"\nExptui-Search-Name: {spec.name}" in message
    rows = json.loads(exptui(repo, "show", "--json").stdout)
    trials = [r for r in rows if r["kind"] == "experiment"]
    assert len(trials) == 5 and {(r["facts"]["search"], r["facts"]["search_name"]) for r in trials} == {
        (spec.id, spec.name)}
    by_search = exptui(repo, "show", "--filter", f"search == '{spec.name}'", "--csv").stdout
    assert sorted(r["name"] for r in csv.DictReader(io.StringIO(by_search)) if r["kind"] == "experiment") == sorted(
        r["name"] for r in trials)
    listed = exptui(repo, "show", "--filter", "is pruned", "--csv").stdout
    experiments = [r for r in csv.DictReader(io.StringIO(listed)) if r["kind"] == "experiment"]
    assert [(r["name"], r["status"]) for r in experiments] == [(entry.name, "pruned")]
    assert float(experiments[0]["step"]) == recorded["step"]               # the partial DVCLive metrics
    # `dvc exp show` reads it, partial metrics included
    dvc = subprocess.run([str(Path(sys.executable).parent / "dvc"), "exp", "show", "--json"], cwd=repo,
                         capture_output=True, text=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"}, timeout=600)
    assert dvc.returncode == 0, dvc.stderr
    revs = {rev.get("name"): rev for b in json.loads(dvc.stdout) for exp in b.get("experiments") or []
            for rev in exp.get("revs") or []}
    name = (entry.exp_ref or "").rsplit("/", 1)[-1]
    assert revs[name]["data"]["metrics"]["dvclive/metrics.json"]["data"]["step"] == recorded["step"]


@pytest.mark.parametrize("prune, name", [("asha", "asha-test"), ("hyperband", "hb-test")])
def test_asha_and_hyperband_stop_a_clearly_bad_trial_early(tmp_path: Path, prune: str, name: str) -> None:
    """The median test's setup (x = 1, 1, 1, 9: loss ~4 or ~68; the bad trial waits after step 2 until pruned),
    with successive halving: rung 0 is step 1, where the bad trial is far behind the finished ones. Hyperband
    splits trials into two brackets here (6 steps, reduction factor 3) and ranks a trial only within its own;
    Optuna picks the bracket from the study name (the search's name) and the trial number, and with the name
    `hb-test` trial 3 shares bracket 0 (rung 0 at step 1) with trials 1 and 2, so the run is deterministic."""
    repo = make_search_repo(tmp_path, epochs=6, hang_above=20.0)
    exptui(repo, "run", "--queue", "--search", "random", "--trials", "4", "--metric", "loss", "--minimize",
           "--seed", "2", "--prune", prune, "-n", name, "-S", "train.x=choice(1,9)", "-S", "train.y=0")
    done = exptui(repo, "queue", "start", "-j", "1", "--wait")
    results = trial_results(repo)
    assert [(t, p["train.x"], s) for t, p, s, _v in results] == [
        (0, 1, "success"), (1, 1, "success"), (2, 1, "success"), (3, 9, "pruned")], done.stderr
    assert f"{name}-4: pruned at step 1" in done.stderr
    mgr = QueueManager(repo)
    entry = next(e for e in mgr.store.entries() if e.status == EntryState.PRUNED)
    log = Path(entry.log_path or "").read_text()
    assert 1 <= log.count("\nstep ") + log.startswith("step ") < 6          # fewer steps than epochs
    recorded = json.loads(mgr.git.run("show", f"{entry.exp_rev}:dvclive/metrics.json"))   # partial metrics kept
    assert 1 <= recorded["step"] < 5 and recorded["loss"] > 20


def test_a_pipeline_without_dvclive_still_searches_on_final_metrics_and_says_so_once(tmp_path: Path) -> None:
    repo = make_search_repo(tmp_path, epochs=3, live=False)
    exptui(repo, "run", "--queue", "--search", "tpe", "--trials", "3", "--metric", "loss", "--minimize",
           "--prune", "median", "-S", "train.x=uniform(-5,5)")
    done = exptui(repo, "queue", "start", "--wait")
    assert "3 success" in done.stdout
    assert done.stderr.count("write no DVCLive step metric 'loss'") == 1, done.stderr
    assert "final metrics only, no pruning" in done.stderr
    assert all(v is not None for _t, _p, _s, v in trial_results(repo))
    # finished is recorded on the search's ref: removing its entries does not reopen it
    (spec,) = list_searches(QueueManager(repo).git)
    assert spec.finished
    exptui(repo, "queue", "remove", "--success")
    assert "nothing queued" in exptui(repo, "queue", "start", "--wait").stdout
    assert QueueManager(repo).store.entries() == []
    assert "no problems found" in exptui(repo, "doctor").stdout      # the feeder's flock file is no stale lock


def test_a_metric_only_dvclive_logs_counts_with_its_last_step(tmp_path: Path) -> None:
    """As in the churn example: DVCLive's metrics.json is an output, not a declared metrics file, so `loss` is in
    no metrics file exptui reads; the trial's value is the last step of its DVCLive series (what DVCLive's
    metrics.json holds), not a failure."""
    repo = make_search_repo(tmp_path, epochs=3)
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python stage.py\n    deps:\n      - stage.py\n"
                                   "    params:\n      - train\n    outs:\n      - dvclive/metrics.json:\n"
                                   "          cache: false\n    plots:\n      - dvclive/plots/metrics:\n"
                                   "          cache: false\n")
    (repo / ".gitignore").write_text("metrics.yaml\n")     # written by the stage, declared nowhere here
    exptui(repo, "run", "--queue", "--search", "random", "--trials", "2", "--metric", "loss", "--minimize",
           "--seed", "0", "-S", "train.x=uniform(-5,5)", "-S", "train.y=0")
    done = exptui(repo, "queue", "start", "--wait")
    assert "2 success" in done.stdout and "counts as failed" not in done.stderr, done.stderr
    for _t, params, _s, value in trial_results(repo):
        assert value is None                                             # not in any declared metrics file
        assert f"loss = {loss(params['train.x'], 0):g} " in done.stderr  # told its last DVCLive step


def test_a_trial_entry_names_its_search_for_the_trailers() -> None:
    """(id, name) recorded as Exptui-Search/-Search-Name; trials queued before the name was stored in the entry
    take it from their own name (NAME-<n>), so a resumed older search still groups."""
    from exptui.store.queue import QueueEntry

    def entry(name: str, search: dict | None) -> QueueEntry:
        return QueueEntry(id="1-a", name=name, rev="0" * 40, baseline="0" * 40, search=search)

    assert entry("tpe-3f9a1c-4", {"id": "17-x", "name": "tpe-3f9a1c", "trial": 3}).search_tag == ("17-x", "tpe-3f9a1c")
    assert entry("my-run-12", {"id": "17-x", "trial": 11}).search_tag == ("17-x", "my-run")
    assert entry("plain", None).search_tag is None and entry("odd", {"trial": 1}).search_tag is None


def test_read_live_metrics_tolerates_half_written_files(tmp_path: Path) -> None:
    assert read_live_metrics(tmp_path) is None
    plots = tmp_path / "dvclive" / "plots" / "metrics" / "train"
    plots.mkdir(parents=True)
    (plots / "logloss.tsv").write_text("step\tlogloss\n0\t0.9\n1\t0.7\n2\t0.")
    (tmp_path / "dvclive" / "metrics.json").write_text('{"train": {"logloss": 0.7}, "st')
    live = read_live_metrics(tmp_path)
    assert live is not None and live.step is None and live.latest == {}
    assert live.series == {"train.logloss": [(0, 0.9), (1, 0.7)]}
    (tmp_path / "dvclive" / "metrics.json").write_text('{"train": {"logloss": 0.7}, "f1": 0.5, "step": 1}')
    live = read_live_metrics(tmp_path)
    assert live is not None and live.step == 1 and live.latest == {"train.logloss": 0.7, "f1": 0.5}


def test_without_optuna_the_error_names_the_extra(tmp_path: Path) -> None:
    repo = make_search_repo(tmp_path)
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "optuna.py").write_text("raise ImportError('optuna is not installed here')\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-m", "exptui", "run", "--queue", "--search", "tpe", "--metric", "loss",
                           *XY], cwd=repo, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1 and "pip install 'exptui[search]'" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
