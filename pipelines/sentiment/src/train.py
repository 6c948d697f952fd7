"""Stage `train`: multinomial logistic regression on the tf-idf features.

Usage: python src/train.py <features_dir> <model.joblib>
Reads params.yaml:train.C and train.max_iter (declared key by key in dvc.yaml).

The solver runs in epochs of EPOCH_ITERS iterations (warm-started from the previous epoch) until it converges or
reaches train.max_iter; after each epoch DVCLive logs the training log loss and accuracy (dvclive/metrics.json,
dvclive/plots/metrics/train/*.tsv), so the run can be watched while it trains. DVCLive neither saves an experiment
nor edits dvc.yaml here, and its DVC/git integration is skipped (`open_live`): the stage declares its files.
"""
from __future__ import annotations

import os
import sys
import warnings

import joblib
import yaml
from features import load_features
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

#: solver iterations per logged epoch
EPOCH_ITERS = 5


def load_section(name: str) -> dict:
    with open("params.yaml", encoding="utf-8") as fh:
        section = (yaml.load(fh, Loader=yaml.CSafeLoader) or {}).get(name)
    if not isinstance(section, dict):
        raise SystemExit(f"error: params.yaml: missing section '{name}:'")
    return section


def open_live(directory: str):
    """DVCLive's `Live` writing into `directory`, without DVCLive's DVC and git integration.

    A stage of a pipeline needs none of it (dvc.yaml declares the files; `dvc exp run` or exptui records them),
    and it costs: `Live()` opens the enclosing DVC repo (importing `dvc.repo`, about a second per run), asks git
    for HEAD, which raises in a repository without a commit yet, and runs `dvc init` in a git repo without
    `.dvc/`. DVCLive has no option for this, so `_init_dvc`, the one hook that does all of it, is skipped;
    DVCLive still writes its files (metrics.json, plots/metrics/**.tsv) itself.
    """
    from dvclive import Live

    class StageLive(Live):
        def _init_dvc(self) -> None:
            self._dvc_file = self._init_dvc_file()  # what DVCLive's own no-repo path keeps from that hook

    return StageLive(dir=directory, save_dvc_exp=False, dvcyaml=False)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python src/train.py FEATURES_DIR MODEL_OUT")
    features_dir, model_out = argv
    params = load_section("train")
    c, max_iter = float(params.get("C", 1.0)), int(params.get("max_iter", 200))
    if c <= 0 or max_iter < 1:
        raise SystemExit("error: params.yaml: train.C must be > 0 and train.max_iter >= 1")
    x, y = load_features(os.path.join(features_dir, "train.npz"))
    model = LogisticRegression(C=c, max_iter=min(EPOCH_ITERS, max_iter), warm_start=True)
    done = 0
    with warnings.catch_warnings(), open_live("dvclive") as live:
        # A small max_iter is a legitimate experiment: report it in the output, not as a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        while done < max_iter:
            model.max_iter = min(EPOCH_ITERS, max_iter - done)
            model.fit(x, y)
            ran = int(model.n_iter_.max())
            done += ran
            live.log_metric("train/log_loss", round(float(log_loss(y, model.predict_proba(x))), 6))
            live.log_metric("train/accuracy", round(float(model.score(x, y)), 6))
            live.next_step()
            if ran < model.max_iter:  # converged within this epoch
                break
    os.makedirs(os.path.dirname(model_out) or ".", exist_ok=True)
    joblib.dump(model, model_out)
    print(f"train: logistic regression C={c} ({done} of {max_iter} iterations) -> {model_out}")


if __name__ == "__main__":
    main(sys.argv[1:])
