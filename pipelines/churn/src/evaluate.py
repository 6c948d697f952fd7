"""Stage `evaluate`: score the held-out customers.

Imports sklearn.metrics only (plus what unpickling the model pulls in).
Metrics are rounded to 5 decimals so noise in the last bits of a float never
shows as a change in `exptui diff`.

Reads models/model.joblib and data/prepared/test.csv.
Writes metrics.yaml (f1, roc_auc, accuracy, precision, recall) and plots/roc.csv.
"""
from __future__ import annotations

import os

import joblib
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score, roc_curve

MODEL = "models/model.joblib"
TEST = "data/prepared/test.csv"
METRICS_OUT = "metrics.yaml"
ROC_OUT = "plots/roc.csv"
THRESHOLD = 0.5


def main() -> None:
    data = np.loadtxt(TEST, delimiter=",", skiprows=1, ndmin=2)
    x, y = data[:, :-1], data[:, -1].astype(int)
    model = joblib.load(MODEL)
    proba = model.predict_proba(x)[:, 1]
    pred = (proba >= THRESHOLD).astype(int)
    metrics = {
        "accuracy": accuracy_score(y, pred),
        "f1": f1_score(y, pred, zero_division=0),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "roc_auc": roc_auc_score(y, proba),
    }
    with open(METRICS_OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("".join(f"{key}: {round(float(value), 5)}\n" for key, value in metrics.items()))

    fpr, tpr, thresholds = roc_curve(y, proba)
    thresholds = np.minimum(thresholds, 1.0)  # sklearn's first threshold is +inf: not portable CSV
    os.makedirs(os.path.dirname(ROC_OUT), exist_ok=True)
    with open(ROC_OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("fpr,tpr,threshold\n")
        fh.writelines(f"{f:.5f},{t:.5f},{th:.5f}\n" for f, t, th in zip(fpr, tpr, thresholds))
    print("evaluate: " + ", ".join(f"{k}={round(float(v), 4)}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
