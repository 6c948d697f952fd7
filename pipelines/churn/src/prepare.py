"""Stage `prepare`: stratified split, one-hot encoding and standardization.

numpy + the csv module only (pandas would double this stage's run time, which
is mostly interpreter start-up and imports). The scaler is fitted on the
training rows only, so nothing about the test customers leaks into training.

Reads params.yaml:prepare (test_size, seed) and data/churn.csv.
Writes data/prepared/{train,test}.csv: standardized features + `Exited` last.
"""
from __future__ import annotations

import csv
import os

import numpy as np
import yaml

SOURCE = "data/churn.csv"
OUT_DIR = "data/prepared"
NUMERIC = ("CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "EstimatedSalary")
BINARY = ("HasCrCard", "IsActiveMember")
CATEGORIES = {"Geography": ("France", "Germany", "Spain"), "Gender": ("Female", "Male")}
TARGET = "Exited"


def load_section(name: str) -> dict:
    with open("params.yaml", encoding="utf-8") as fh:
        section = (yaml.load(fh, Loader=yaml.CSafeLoader) or {}).get(name)
    if not isinstance(section, dict):
        raise SystemExit(f"error: params.yaml: missing section '{name}:'")
    return section


def read_table(path: str) -> dict[str, list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        columns = list(zip(*reader))
    return {name: list(col) for name, col in zip(header, columns)}


def encode(table: dict[str, list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Feature names, feature matrix (numeric, binary, one-hot) and the label vector."""
    names: list[str] = []
    blocks: list[np.ndarray] = []
    for col in NUMERIC + BINARY:
        names.append(col)
        blocks.append(np.asarray(table[col], dtype=float))
    for col, levels in CATEGORIES.items():
        values = np.asarray(table[col])
        unknown = set(np.unique(values)) - set(levels)
        if unknown:
            raise SystemExit(f"error: {SOURCE}: unexpected {col} value(s) {sorted(unknown)}")
        for level in levels:
            names.append(f"{col}_{level}")
            blocks.append((values == level).astype(float))
    return names, np.column_stack(blocks), np.asarray(table[TARGET], dtype=int)


def stratified_split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test), keeping the churn rate equal in both parts."""
    rng = np.random.default_rng(seed)
    test_parts, train_parts = [], []
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(len(idx) * test_size))
        test_parts.append(idx[:n_test])
        train_parts.append(idx[n_test:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))


def write(path: str, names: list[str], x: np.ndarray, y: np.ndarray) -> None:
    data = np.column_stack([x, y])
    fmt = ["%.6g"] * x.shape[1] + ["%d"]
    np.savetxt(path, data, fmt=fmt, delimiter=",", header=",".join([*names, TARGET]), comments="")


def main() -> None:
    params = load_section("prepare")
    test_size = float(params.get("test_size", 0.2))
    if not 0.0 < test_size < 1.0:
        raise SystemExit(f"error: params.yaml: prepare.test_size must be between 0 and 1, got {test_size}")
    names, x, y = encode(read_table(SOURCE))
    train, test = stratified_split(y, test_size, int(params.get("seed", 7)))

    # Standardize the numeric columns with the training rows' statistics only.
    n_numeric = len(NUMERIC)
    mean = x[train, :n_numeric].mean(axis=0)
    std = x[train, :n_numeric].std(axis=0)
    std[std == 0] = 1.0
    x[:, :n_numeric] = (x[:, :n_numeric] - mean) / std

    os.makedirs(OUT_DIR, exist_ok=True)
    write(os.path.join(OUT_DIR, "train.csv"), names, x[train], y[train])
    write(os.path.join(OUT_DIR, "test.csv"), names, x[test], y[test])
    print(f"prepare: {len(train)} train / {len(test)} test rows, {len(names)} features -> {OUT_DIR}/")


if __name__ == "__main__":
    main()
