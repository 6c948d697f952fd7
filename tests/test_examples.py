"""The example pipelines in pipelines/: their stage scripts run as DVC would run them
(`python src/...` from the repo root), give sane and deterministic results, and the real
`dvc repro` accepts each pipeline as written.

Each full pipeline run costs a few seconds (imports of sklearn/lightgbm dominate), so
the runs are shared per module and the checks read their outputs.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import BIN, PIPELINES, git

PY = sys.executable
CHURN_METRICS = {"accuracy", "f1", "precision", "recall", "roc_auc"}
SENTIMENT_METRICS = {"accuracy", "macro_f1", "log_loss"}


def copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(PIPELINES / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([PY, *args], cwd=root, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def set_param(root: Path, section: str, key: str, value: object) -> None:
    path = root / "params.yaml"
    data = yaml.safe_load(path.read_text())
    data[section][key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def run_churn(root: Path, stages: tuple[str, ...] = ("generate", "prepare", "train", "evaluate")) -> dict:
    for stage in stages:
        run(root, f"src/{stage}.py")
    return yaml.safe_load((root / "metrics.yaml").read_text())


def run_sentiment(root: Path, featurize: bool = True) -> dict:
    if featurize:
        for split in ("train", "test"):
            run(root, "src/generate.py", split, f"data/reviews/{split}.csv")
        run(root, "src/featurize.py", "data/reviews", "data/features")
    run(root, "src/train.py", "data/features", "models/model.joblib")
    run(root, "src/evaluate.py", "data/features", "models/model.joblib", "eval")
    return json.loads((root / "eval" / "metrics.json").read_text())


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# --- churn --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn pipeline run once with its default params."""
    root = copy_example("churn", tmp_path_factory.mktemp("churn") / "repo")
    run_churn(root)
    return root


def test_churn_data_has_realistic_marginals(churn: Path) -> None:
    rows = read_csv(churn / "data" / "churn.csv")
    assert len(rows) == 10_000
    assert list(rows[0]) == ["CustomerId", "CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance",
                             "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary", "Exited"]
    churn_rate = sum(int(r["Exited"]) for r in rows) / len(rows)
    assert 0.15 < churn_rate < 0.25

    def rate(rows_: list[dict[str, str]]) -> float:
        return sum(int(r["Exited"]) for r in rows_) / len(rows_)

    by_geo = {g: rate([r for r in rows if r["Geography"] == g]) for g in ("France", "Germany", "Spain")}
    assert by_geo["Germany"] > by_geo["France"] + 0.05 and by_geo["Germany"] > by_geo["Spain"] + 0.05
    assert rate([r for r in rows if r["IsActiveMember"] == "0"]) > rate([r for r in rows if r["IsActiveMember"] == "1"])
    assert rate([r for r in rows if 45 <= int(r["Age"]) <= 60]) > rate([r for r in rows if int(r["Age"]) < 35])
    assert all(350 <= int(r["CreditScore"]) <= 850 and 18 <= int(r["Age"]) <= 92 for r in rows)
    assert len({r["CustomerId"] for r in rows}) == len(rows)


def test_churn_prepare_splits_stratified_and_scaled(churn: Path) -> None:
    train = read_csv(churn / "data" / "prepared" / "train.csv")
    test = read_csv(churn / "data" / "prepared" / "test.csv")
    assert (len(train), len(test)) == (8000, 2000)
    assert {"Geography_Germany", "Gender_Male", "Age", "Exited"} <= set(train[0])
    rates = [sum(int(r["Exited"]) for r in part) / len(part) for part in (train, test)]
    assert abs(rates[0] - rates[1]) < 0.005
    age_mean = sum(float(r["Age"]) for r in train) / len(train)
    assert abs(age_mean) < 1e-3  # standardized with the training rows' statistics
    assert all(r["Geography_France"] in ("0", "1") for r in train[:100])


def test_churn_metrics_and_plots_are_sane(churn: Path) -> None:
    metrics = yaml.safe_load((churn / "metrics.yaml").read_text())
    assert set(metrics) == CHURN_METRICS
    assert all(0.0 < value < 1.0 for value in metrics.values())
    assert metrics["roc_auc"] > 0.8 and metrics["accuracy"] > 0.8
    assert all(len(str(value).split(".")[-1]) <= 5 for value in metrics.values())

    roc = read_csv(churn / "plots" / "roc.csv")
    assert list(roc[0]) == ["fpr", "tpr", "threshold"]
    fpr = [float(r["fpr"]) for r in roc]
    tpr = [float(r["tpr"]) for r in roc]
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert fpr == sorted(fpr) and tpr == sorted(tpr)
    assert all(0.0 <= float(r["threshold"]) <= 1.0 for r in roc)

    curve = read_csv(churn / "plots" / "train_curve.csv")
    assert list(curve[0]) == ["step", "train_logloss", "test_logloss"]
    assert [int(r["step"]) for r in curve] == list(range(1, 101))  # one row per boosting round
    assert float(curve[-1]["test_logloss"]) < float(curve[0]["test_logloss"])
    assert float(curve[-1]["train_logloss"]) < float(curve[-1]["test_logloss"]) + 0.05


def test_churn_logs_every_round_with_dvclive(churn: Path) -> None:
    """The train stage's DVCLive files hold the same per-round losses as its curve, readable by exptui's reader."""
    from exptui.execution.live_metrics import read_live_metrics

    live = read_live_metrics(churn)
    assert live is not None and live.step == 99
    assert set(live.series) == {"train.logloss", "test.logloss"}
    curve = read_csv(churn / "plots" / "train_curve.csv")
    for key in ("train", "test"):
        assert live.series[f"{key}.logloss"] == [(int(r["step"]) - 1, float(r[f"{key}_logloss"])) for r in curve]
        assert live.latest[f"{key}.logloss"] == float(curve[-1][f"{key}_logloss"])


def test_churn_is_deterministic(churn: Path, tmp_path: Path) -> None:
    again = copy_example("churn", tmp_path / "again")
    run_churn(again)
    for rel in ("data/churn.csv", "data/prepared/train.csv", "data/prepared/test.csv", "models/model.joblib",
                "metrics.yaml", "plots/roc.csv", "plots/train_curve.csv", "dvclive/metrics.json",
                "dvclive/plots/metrics/test/logloss.tsv"):
        assert md5(again / rel) == md5(churn / rel), rel


def test_churn_seed_and_size_change_the_data(tmp_path: Path) -> None:
    root = copy_example("churn", tmp_path / "repo")
    set_param(root, "generate", "n_rows", 500)
    run(root, "src/generate.py")
    first = (root / "data" / "churn.csv").read_bytes()
    assert first.count(b"\n") == 501
    set_param(root, "generate", "seed", 43)
    run(root, "src/generate.py")
    assert (root / "data" / "churn.csv").read_bytes() != first


@pytest.mark.parametrize("model", ["random_forest", "logistic_regression"])
def test_churn_models_differ(churn: Path, tmp_path: Path, model: str) -> None:
    root = copy_example("churn", tmp_path / "repo")
    shutil.copytree(churn / "data", root / "data")
    set_param(root, "train", "model", model)
    metrics = run_churn(root, stages=("train", "evaluate"))
    baseline = yaml.safe_load((churn / "metrics.yaml").read_text())
    assert set(metrics) == CHURN_METRICS
    assert all(0.0 < value < 1.0 for value in metrics.values())
    assert metrics != baseline
    assert metrics["roc_auc"] < baseline["roc_auc"]  # the synthetic signal is non-linear: boosting wins
    curve = read_csv(root / "plots" / "train_curve.csv")
    assert len(curve) == (100 if model == "random_forest" else 20)
    assert (root / "dvclive/plots/metrics/test/logloss.tsv").read_text().count("\n") == len(curve) + 1


@pytest.mark.parametrize("key, value, message", [
    ("model", "xgboost",
     "train.model must be one of lightgbm, random_forest, logistic_regression; got 'xgboost'"),
    ("n_estimators", 0, "train.n_estimators must be at least 1, got 0"),
    ("max_depth", "deep", "train.max_depth must be an integer, got 'deep'"),
    ("learning_rate", -0.1, "train.learning_rate must be at least 1e-06, got -0.1"),
])
def test_churn_bad_train_params_are_one_clear_line(churn: Path, tmp_path: Path, key: str, value: object,
                                                   message: str) -> None:
    root = copy_example("churn", tmp_path / "repo")
    shutil.copytree(churn / "data" / "prepared", root / "data" / "prepared")
    set_param(root, "train", key, value)
    proc = run(root, "src/train.py", ok=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [f"error: params.yaml: {message}"]
    assert not (root / "models" / "model.joblib").exists()


@pytest.mark.parametrize("script", ["generate", "prepare"])
def test_churn_light_stages_import_no_ml_library(churn: Path, tmp_path: Path, script: str) -> None:
    """Imports dominate a stage's time: the data stages stay on numpy (generate must run < 0.5 s)."""
    root = copy_example("churn", tmp_path / "repo")
    shutil.copytree(churn / "data", root / "data")
    probe = (f"import runpy, sys; runpy.run_path('src/{script}.py', run_name='__main__'); "
             "print(sorted(m for m in ('pandas', 'sklearn', 'lightgbm', 'scipy') if m in sys.modules))")
    proc = subprocess.run([PY, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_churn_params_have_comments_and_expected_keys() -> None:
    text = (PIPELINES / "churn" / "params.yaml").read_text()
    params = yaml.safe_load(text)
    assert set(params["train"]) == {"model", "n_estimators", "max_depth", "learning_rate", "seed"}
    assert set(params["generate"]) == {"seed", "n_rows"} and set(params["prepare"]) == {"test_size", "seed"}
    assert text.count("#") >= 10  # comments the round-trip editor must keep


# --- sentiment ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sentiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example("sentiment", tmp_path_factory.mktemp("sentiment") / "repo")
    run_sentiment(root)
    return root


def test_sentiment_reviews(sentiment: Path) -> None:
    train = read_csv(sentiment / "data" / "reviews" / "train.csv")
    test = read_csv(sentiment / "data" / "reviews" / "test.csv")
    assert (len(train), len(test)) == (3000, 1000)
    assert {r["label"] for r in train} == {"negative", "neutral", "positive"}
    assert all(r["text"].endswith(".") and r["text"][0].isupper() for r in train)
    assert {r["text"] for r in test[:50]} != {r["text"] for r in train[:50]}  # separate streams
    assert any(" not " in r["text"] for r in train) and any(" but " in r["text"] for r in train)


def test_sentiment_metrics(sentiment: Path) -> None:
    metrics = json.loads((sentiment / "eval" / "metrics.json").read_text())
    assert set(metrics) == SENTIMENT_METRICS
    assert 0.7 < metrics["accuracy"] < 1.0 and 0.7 < metrics["macro_f1"] < 1.0
    assert 0.0 < metrics["log_loss"] < 1.1  # well under chance (ln 3)
    confusion = read_csv(sentiment / "eval" / "confusion.csv")
    assert len(confusion) == 1000 and list(confusion[0]) == ["actual", "predicted"]
    vocabulary = (sentiment / "data" / "features" / "vocabulary.txt").read_text().split("\n")
    assert len([w for w in vocabulary if w]) == 500  # featurize.max_features


def test_sentiment_logs_each_epoch_with_dvclive(sentiment: Path) -> None:
    from exptui.execution.live_metrics import read_live_metrics

    live = read_live_metrics(sentiment)
    assert live is not None and live.step is not None and live.step >= 2
    assert set(live.series) == {"train.log_loss", "train.accuracy"}
    losses = [v for _, v in live.series["train.log_loss"]]
    assert [s for s, _ in live.series["train.log_loss"]] == list(range(live.step + 1))
    assert losses[-1] < losses[0] and live.latest["train.log_loss"] == losses[-1]


def test_sentiment_is_deterministic(sentiment: Path, tmp_path: Path) -> None:
    root = copy_example("sentiment", tmp_path / "repo")
    for split in ("train", "test"):
        run(root, "src/generate.py", split, f"data/reviews/{split}.csv")
    run(root, "src/featurize.py", "data/reviews", "data/features")
    for rel in ("data/reviews/train.csv", "data/reviews/test.csv", "data/features/train.npz",
                "data/features/test.npz", "data/features/vocabulary.txt"):
        assert md5(root / rel) == md5(sentiment / rel), rel


def test_sentiment_bigrams_beat_unigrams(sentiment: Path, tmp_path: Path) -> None:
    root = copy_example("sentiment", tmp_path / "repo")
    shutil.copytree(sentiment / "data" / "reviews", root / "data" / "reviews")
    set_param(root, "featurize", "ngram_max", 1)
    run(root, "src/featurize.py", "data/reviews", "data/features")
    metrics = run_sentiment(root, featurize=False)
    baseline = json.loads((sentiment / "eval" / "metrics.json").read_text())
    assert metrics["accuracy"] < baseline["accuracy"] - 0.05  # "not great" needs word pairs
    assert metrics["log_loss"] > baseline["log_loss"]


# --- DVCLive without its DVC/git integration ----------------------------------------------------------


@pytest.mark.parametrize("name, data, argv", [
    ("churn", "data/prepared", ["src/train.py"]),
    ("sentiment", "data/features", ["src/train.py", "data/features", "models/model.joblib"]),
])
def test_train_logs_with_dvclive_in_a_git_repo_without_a_commit(request: pytest.FixtureRequest, tmp_path: Path,
                                                               name: str, data: str, argv: list[str]) -> None:
    """`git init`, copy the pipeline, repro: DVCLive's own integration asked git for HEAD there and raised
    (`SCMError: Empty git repo`). The stages open DVCLive without it: no `dvc.repo` import (about a second per
    run), no `dvc init` behind the user's back, and the same DVCLive files as in any other directory."""
    ran = request.getfixturevalue(name)
    root = copy_example(name, tmp_path / "repo")
    git(root, "init", "-q", "-b", "main")
    shutil.copytree(ran / data, root / data)
    proc = subprocess.run([PY, "-X", "importtime", *argv], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "dvclive.live" in imported and "dvc.repo" not in imported
    assert not (root / ".dvc").exists()
    for rel in ("dvclive/metrics.json", *(str(p.relative_to(ran)) for p in (ran / "dvclive/plots").rglob("*.tsv"))):
        assert md5(root / rel) == md5(ran / rel), rel


# --- the real dvc ---------------------------------------------------------------------------------


@pytest.mark.dvc
@pytest.mark.parametrize("name, stages", [
    ("churn", {"generate", "prepare", "train", "evaluate"}),
    ("sentiment", {"generate@train", "generate@test", "featurize", "train", "evaluate"}),
])
def test_dvc_repro_accepts_the_pipeline(git_repo: Path, name: str, stages: set[str]) -> None:
    dvc = str(BIN / "dvc")
    shutil.copytree(PIPELINES / name, git_repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([dvc, "init", "-q"], cwd=git_repo, check=True)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", f"add {name}")

    first = subprocess.run([dvc, "repro"], cwd=git_repo, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    lock = yaml.safe_load((git_repo / "dvc.lock").read_text())
    assert set(lock["stages"]) == stages
    lock_bytes = (git_repo / "dvc.lock").read_bytes()

    second = subprocess.run([dvc, "repro"], cwd=git_repo, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Running stage" not in second.stdout
    assert "Data and pipelines are up to date." in second.stdout
    assert (git_repo / "dvc.lock").read_bytes() == lock_bytes

    # Only dvc.lock and the cache: false metrics/plots are new for git; data and models are ignored.
    status = git(git_repo, "status", "--porcelain", "--untracked-files=all").split("\n")
    untracked = sorted(line[3:] for line in status if line)
    assert "dvc.lock" in untracked
    assert not [p for p in untracked if p.startswith(("data/", "models/"))]
