"""The workload: a cross-validation over one dataset, as scikit-learn dispatches it.

Each task is ``(estimator, X, y, train, test)`` like ``sklearn.model_selection``'s
``_fit_and_score`` call: the whole dataset plus the split's own indices.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import RepeatedKFold


def make_dataset(megabytes: int, n_features: int = 2500, seed: int = 0):
    n_samples = megabytes * 2**20 // (8 * n_features)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    y = rng.integers(0, 2, n_samples)
    return X, y


def make_tasks(X, y, n_tasks: int):
    """`n_tasks` CV splits (5 folds, repeated): one task per split."""
    cv = RepeatedKFold(n_splits=5, n_repeats=(n_tasks + 4) // 5, random_state=0)
    estimator = RidgeClassifier()
    for i, (train, test) in enumerate(cv.split(X)):
        if i == n_tasks:
            return
        yield (estimator, X, y, train, test)


def fit_and_score(task) -> float:
    estimator, X, y, train, test = task
    return estimator.fit(X[train], y[train]).score(X[test], y[test])
