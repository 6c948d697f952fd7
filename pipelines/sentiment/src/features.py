"""Load the feature archives written by featurize.py (shared by train.py and evaluate.py)."""
from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix


def load_features(path: str) -> tuple[csr_matrix, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        matrix = csr_matrix((npz["data"], npz["indices"], npz["indptr"]), shape=tuple(npz["shape"]))
        return matrix, npz["labels"]
