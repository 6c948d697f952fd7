"""Stage `train`: fit the model named by `train.model` and log its loss per step.

One script for three model families so a sweep over `train.model` is a one-liner.
Only the chosen family's library is imported (imports dominate a stage's time).
Every model is single-threaded and seeded, so the same params give the same
model bytes: experiments compare models, not thread scheduling.

Reads params.yaml:train and data/prepared/. Writes models/model.joblib,
plots/train_curve.csv (step, train_logloss, test_logloss) for the
"metrics over steps" view, and logs the same losses with DVCLive while it
trains (dvclive/metrics.json and dvclive/plots/metrics/{train,test}/logloss.tsv):
LightGBM through a callback after every boosting round, so a dashboard or a
pruner can watch the run live. DVCLive is told not to save an experiment and
not to edit dvc.yaml, and its DVC/git integration is skipped (`open_live`):
the stage declares its files, and exptui (or `dvc exp run`) records them.
"""
from __future__ import annotations

import contextlib
import inspect
import os
import warnings

import joblib
import numpy as np
import yaml

PREPARED = "data/prepared"
MODEL_OUT = "models/model.joblib"
CURVE_OUT = "plots/train_curve.csv"
LIVE_DIR = "dvclive"
MODELS = ("lightgbm", "random_forest", "logistic_regression")
#: logistic regression iterations recorded in the curve (each point is a refit: cheap on 8k rows)
LOGREG_CURVE_STEPS = 20


def load_section(name: str) -> dict:
    with open("params.yaml", encoding="utf-8") as fh:
        section = (yaml.load(fh, Loader=yaml.CSafeLoader) or {}).get(name)
    if not isinstance(section, dict):
        raise SystemExit(f"error: params.yaml: missing section '{name}:'")
    return section


def number(cfg: dict, key: str, default: float, cast: type = float, minimum: float | None = None):
    """`train.<key>` as `cast`, or exit with one line naming the key (sweeps make typos easy)."""
    value = cfg.get(key, default)
    try:
        if isinstance(value, bool) or (cast is int and isinstance(value, float) and not value.is_integer()):
            raise ValueError
        result = cast(value)
    except (TypeError, ValueError):
        raise SystemExit(f"error: params.yaml: train.{key} must be {'an integer' if cast is int else 'a number'}, "
                         f"got {value!r}") from None
    if minimum is not None and result < minimum:
        raise SystemExit(f"error: params.yaml: train.{key} must be at least {minimum}, got {value!r}")
    return result


def load_split(name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    path = os.path.join(PREPARED, f"{name}.csv")
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return header[:-1], data[:, :-1], data[:, -1].astype(int)


def logloss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def open_live(directory: str):
    """DVCLive's `Live` writing into `directory`, without DVCLive's DVC and git integration.

    A stage of a pipeline needs none of it (the pipeline declares the files; `dvc exp run` or exptui records
    them), and it costs: `Live()` opens the enclosing DVC repo (importing `dvc.repo`, about a second per run) and
    asks git for HEAD, which raises in a repository without a commit yet (`git init`, copy, `repro`), and
    runs `dvc init` in a git repo without `.dvc/`. DVCLive has no option for this, so `_init_dvc`, the one
    hook that does all of it, is skipped; everything DVCLive writes (metrics.json, plots/metrics/**.tsv) is
    written by DVCLive as usual.
    """
    from dvclive import Live

    class StageLive(Live):
        def _init_dvc(self) -> None:
            self._dvc_file = self._init_dvc_file()  # what DVCLive's own no-repo path keeps from that hook

    return StageLive(dir=directory, save_dvc_exp=False, dvcyaml=False)


class LiveLogloss:
    """LightGBM callback: one DVCLive step per boosting round with the train and test logloss."""

    def __init__(self, log_step):
        self.log_step = log_step

    def __call__(self, env) -> None:
        losses = {data: value for data, metric, value, *_ in env.evaluation_result_list if metric == "binary_logloss"}
        self.log_step(losses["train"], losses["test"])


def train_lightgbm(cfg: dict, names, x, y, x_test, y_test, log_step):
    from lightgbm import LGBMClassifier

    depth = number(cfg, "max_depth", -1, int)
    model = LGBMClassifier(
        n_estimators=number(cfg, "n_estimators", 100, int, minimum=1),
        max_depth=depth,
        num_leaves=min(31, 2 ** depth) if depth > 0 else 31,  # more leaves than 2^depth is pointless
        learning_rate=number(cfg, "learning_rate", 0.1, minimum=1e-6),
        random_state=number(cfg, "seed", 0, int),
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    if "eval_X" in inspect.signature(model.fit).parameters:  # lightgbm >= 4.7 deprecates eval_set
        evals = {"eval_X": (x, x_test), "eval_y": (y, y_test)}
    else:
        evals = {"eval_set": [(x, y), (x_test, y_test)]}
    model.fit(x, y, eval_names=["train", "test"], eval_metric="binary_logloss", callbacks=[LiveLogloss(log_step)],
              **evals)
    history = model.evals_result_
    curve = list(zip(history["train"]["binary_logloss"], history["test"]["binary_logloss"]))
    return model, curve


def train_random_forest(cfg: dict, names, x, y, x_test, y_test, log_step):
    from sklearn.ensemble import RandomForestClassifier

    depth = number(cfg, "max_depth", -1, int)
    model = RandomForestClassifier(
        n_estimators=number(cfg, "n_estimators", 100, int, minimum=1),
        max_depth=depth if depth > 0 else None,
        min_samples_leaf=2,
        random_state=number(cfg, "seed", 0, int),
        n_jobs=1,
    )
    model.fit(x, y)
    # The forest's prediction after k trees is the mean of the first k trees' probabilities.
    curve = []
    sums = [np.zeros(len(y)), np.zeros(len(y_test))]
    for k, tree in enumerate(model.estimators_, start=1):
        sums[0] += tree.predict_proba(x)[:, 1]
        sums[1] += tree.predict_proba(x_test)[:, 1]
        curve.append((logloss(y, sums[0] / k), logloss(y_test, sums[1] / k)))
        log_step(*curve[-1])
    return model, curve


def train_logistic_regression(cfg: dict, names, x, y, x_test, y_test, log_step):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    # Logistic regression has no learning rate and no trees: `learning_rate` is
    # mapped to the inverse regularization strength (C = 10 * lr, so the default
    # lr 0.1 is sklearn's default C=1.0); n_estimators and max_depth are unused.
    c = 10.0 * number(cfg, "learning_rate", 0.1, minimum=1e-6)
    seed = number(cfg, "seed", 0, int)
    curve = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for steps in range(1, LOGREG_CURVE_STEPS + 1):
            partial = LogisticRegression(C=c, max_iter=steps, random_state=seed).fit(x, y)
            curve.append((logloss(y, partial.predict_proba(x)[:, 1]),
                          logloss(y_test, partial.predict_proba(x_test)[:, 1])))
            log_step(*curve[-1])
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed).fit(x, y)
    return model, curve


TRAINERS = {
    "lightgbm": train_lightgbm,
    "random_forest": train_random_forest,
    "logistic_regression": train_logistic_regression,
}


def write_curve(path: str, curve: list[tuple[float, float]]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("step,train_logloss,test_logloss\n")
        for step, (train_loss, test_loss) in enumerate(curve, start=1):
            fh.write(f"{step},{train_loss:.6f},{test_loss:.6f}\n")


def main() -> None:
    cfg = load_section("train")
    kind = str(cfg.get("model", "lightgbm"))
    if kind not in TRAINERS:
        raise SystemExit(f"error: params.yaml: train.model must be one of {', '.join(MODELS)}; got '{kind}'")
    names, x, y = load_split("train")
    _, x_test, y_test = load_split("test")
    with contextlib.ExitStack() as stack:
        live = None

        def log_step(train_loss: float, test_loss: float) -> None:
            nonlocal live
            if live is None:  # opened at the first step: a bad param fails fast, before DVCLive's imports
                live = stack.enter_context(open_live(LIVE_DIR))
            live.log_metric("train/logloss", round(train_loss, 6))
            live.log_metric("test/logloss", round(test_loss, 6))
            live.next_step()

        model, curve = TRAINERS[kind](cfg, names, x, y, x_test, y_test, log_step)
    os.makedirs(os.path.dirname(MODEL_OUT), exist_ok=True)
    joblib.dump(model, MODEL_OUT)
    write_curve(CURVE_OUT, curve)
    print(f"train: {kind} on {len(y)} rows, final test logloss {curve[-1][1]:.4f} -> {MODEL_OUT}")


if __name__ == "__main__":
    main()
