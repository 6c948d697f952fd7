"""Stage `train`: multinomial logistic regression on the tf-idf features.

Usage: python src/train.py <features_dir> <model.joblib>
Reads params.yaml:train.C and train.max_iter (declared key by key in dvc.yaml).
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


def load_section(name: str) -> dict:
    with open("params.yaml", encoding="utf-8") as fh:
        section = (yaml.load(fh, Loader=yaml.CSafeLoader) or {}).get(name)
    if not isinstance(section, dict):
        raise SystemExit(f"error: params.yaml: missing section '{name}:'")
    return section


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python src/train.py FEATURES_DIR MODEL_OUT")
    features_dir, model_out = argv
    params = load_section("train")
    c, max_iter = float(params.get("C", 1.0)), int(params.get("max_iter", 200))
    if c <= 0 or max_iter < 1:
        raise SystemExit("error: params.yaml: train.C must be > 0 and train.max_iter >= 1")
    x, y = load_features(os.path.join(features_dir, "train.npz"))
    with warnings.catch_warnings():
        # A small max_iter is a legitimate experiment: report it in the output, not as a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=c, max_iter=max_iter).fit(x, y)
    os.makedirs(os.path.dirname(model_out) or ".", exist_ok=True)
    joblib.dump(model, model_out)
    print(f"train: logistic regression C={c} ({int(model.n_iter_.max())} of {max_iter} iterations) -> {model_out}")


if __name__ == "__main__":
    main(sys.argv[1:])
