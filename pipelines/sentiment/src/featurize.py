"""Stage `featurize`: tf-idf features for both splits, fitted on the training reviews only.

The matrices are written as zip archives of .npy arrays (the CSR parts plus the
labels) with a fixed timestamp: numpy's savez stamps the current time into the
zip, which would give a new hash on every run and defeat skip-if-unchanged.

Usage: python src/featurize.py <reviews_dir> <features_dir>
Reads params.yaml:featurize (max_features, ngram_max).
Writes <features_dir>/{train,test}.npz and vocabulary.txt.
"""
from __future__ import annotations

import csv
import io
import os
import sys
import zipfile

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

LABELS = ("negative", "neutral", "positive")


def load_section(name: str) -> dict:
    with open("params.yaml", encoding="utf-8") as fh:
        section = (yaml.load(fh, Loader=yaml.CSafeLoader) or {}).get(name)
    if not isinstance(section, dict):
        raise SystemExit(f"error: params.yaml: missing section '{name}:'")
    return section


def read_reviews(path: str) -> tuple[list[str], np.ndarray]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    index = {label: i for i, label in enumerate(LABELS)}
    return [row["text"] for row in rows], np.array([index[row["label"]] for row in rows], dtype=np.int64)


def save_features(path: str, matrix, labels: np.ndarray) -> None:
    """A deterministic .npz: same arrays, same bytes."""
    arrays = {"data": matrix.data.astype(np.float32), "indices": matrix.indices, "indptr": matrix.indptr,
              "shape": np.array(matrix.shape, dtype=np.int64), "labels": labels}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue(),
                        compress_type=zipfile.ZIP_DEFLATED)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python src/featurize.py REVIEWS_DIR FEATURES_DIR")
    reviews_dir, out_dir = argv
    params = load_section("featurize")
    ngram_max = int(params.get("ngram_max", 2))
    if ngram_max < 1:
        raise SystemExit("error: params.yaml: featurize.ngram_max must be >= 1")
    vectorizer = TfidfVectorizer(max_features=int(params.get("max_features", 2000)),
                                 ngram_range=(1, ngram_max), sublinear_tf=True, dtype=np.float32)
    train_text, train_y = read_reviews(os.path.join(reviews_dir, "train.csv"))
    test_text, test_y = read_reviews(os.path.join(reviews_dir, "test.csv"))
    train_x = vectorizer.fit_transform(train_text)
    test_x = vectorizer.transform(test_text)

    os.makedirs(out_dir, exist_ok=True)
    save_features(os.path.join(out_dir, "train.npz"), train_x, train_y)
    save_features(os.path.join(out_dir, "test.npz"), test_x, test_y)
    with open(os.path.join(out_dir, "vocabulary.txt"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(vectorizer.get_feature_names_out()) + "\n")
    print(f"featurize: {train_x.shape[1]} features (1..{ngram_max}-grams) -> {out_dir}/")


if __name__ == "__main__":
    main(sys.argv[1:])
