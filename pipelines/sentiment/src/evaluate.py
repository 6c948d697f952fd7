"""Stage `evaluate`: accuracy, macro F1 and log loss on the test reviews.

Usage: python src/evaluate.py <features_dir> <model.joblib> <eval_dir>
Writes <eval_dir>/metrics.json and <eval_dir>/confusion.csv (one row per review,
`actual,predicted`, the shape DVC's confusion template reads).
"""
from __future__ import annotations

import json
import os
import sys

import joblib
from features import load_features
from sklearn.metrics import accuracy_score, f1_score, log_loss

LABELS = ("negative", "neutral", "positive")


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit("usage: python src/evaluate.py FEATURES_DIR MODEL EVAL_DIR")
    features_dir, model_path, eval_dir = argv
    x, y = load_features(os.path.join(features_dir, "test.npz"))
    model = joblib.load(model_path)
    proba = model.predict_proba(x)
    pred = proba.argmax(axis=1)
    metrics = {
        "accuracy": round(float(accuracy_score(y, pred)), 5),
        "macro_f1": round(float(f1_score(y, pred, average="macro")), 5),
        "log_loss": round(float(log_loss(y, proba, labels=[0, 1, 2])), 5),
    }
    os.makedirs(eval_dir, exist_ok=True)
    with open(os.path.join(eval_dir, "metrics.json"), "w", encoding="utf-8", newline="\n") as fh:
        json.dump(metrics, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(eval_dir, "confusion.csv"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("actual,predicted\n")
        fh.writelines(f"{LABELS[a]},{LABELS[p]}\n" for a, p in zip(y, pred))
    print("evaluate: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
