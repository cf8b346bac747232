"""Baselines tuned as a careful statistician tunes them: every hyperparameter, and for
classifiers the decision threshold for balanced accuracy, chosen inside the training rows only.

- :class:`TunedClassifier`: out-of-fold probabilities over an inner stratified k-fold for every
  point of a grid; the point with the lowest log loss wins; the threshold that maximises balanced
  accuracy on those out-of-fold probabilities (ties: nearest 0.5) becomes ``predict``'s; then a
  refit on every training row.
- :class:`TunedRegressor`: the same with mean squared error of log10 fold change.
- :class:`OOBForestClassifier` / :class:`OOBForestRegressor`: random forests whose grid is
  judged by the out-of-bag predictions (Brier score, MSE) of one fit per grid point.

All are scikit-learn estimators (``clone`` works), deterministic for their ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import KFold, StratifiedKFold

#: candidate thresholds for balanced accuracy
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.01), 2)


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold of ``p`` that maximises balanced accuracy on ``y`` (ties: nearest 0.5)."""
    pos, neg = y == 1, y == 0
    if not pos.any() or not neg.any():
        return 0.5
    ba = np.array([0.5 * ((p[pos] >= t).mean() + (p[neg] < t).mean()) for t in THRESHOLDS])
    best = np.flatnonzero(ba >= ba.max() - 1e-12)
    return float(THRESHOLDS[best[np.argmin(np.abs(THRESHOLDS[best] - 0.5))]])


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


class TunedClassifier(ClassifierMixin, BaseEstimator):
    """``make(**params)`` for each ``params`` of ``grid``, chosen by inner-CV log loss; the
    balanced-accuracy threshold from the same out-of-fold probabilities."""

    def __init__(self, make: Callable | None = None, grid: Sequence[dict] = (), inner: int = 5,
                 seed: int = 0, tune_threshold: bool = True):
        self.make, self.grid, self.inner = make, grid, inner
        self.seed, self.tune_threshold = seed, tune_threshold

    def fit(self, X, y):
        X, y = np.asarray(X), np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        grid = list(self.grid) or [{}]
        counts = np.bincount(y, minlength=2)
        folds = min(self.inner, int(counts.min()))
        if folds < 2:                                  # too few of one class to tune anything
            self.params_, self.threshold_ = grid[0], 0.5
            self.estimator_ = self.make(**self.params_).fit(X, y)
            return self
        oof = np.zeros((len(grid), len(y)))
        split = StratifiedKFold(folds, shuffle=True, random_state=self.seed).split(X, y)
        for tr, va in split:
            for i, params in enumerate(grid):
                model = self.make(**params).fit(X[tr], y[tr])
                oof[i, va] = model.predict_proba(X[va])[:, 1]
        losses = [_log_loss(y, o) for o in oof]
        best = int(np.argmin(losses))
        self.params_ = grid[best]
        self.threshold_ = best_threshold(y, oof[best]) if self.tune_threshold else 0.5
        self.estimator_ = self.make(**self.params_).fit(X, y)
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(np.asarray(X))

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


class TunedRegressor(RegressorMixin, BaseEstimator):
    """``make(**params)`` for each ``params`` of ``grid``, chosen by inner-CV mean squared
    error; predictions capped at the largest training value (the assay's reporting limit)."""

    def __init__(self, make: Callable | None = None, grid: Sequence[dict] = (), inner: int = 5,
                 seed: int = 0):
        self.make, self.grid, self.inner, self.seed = make, grid, inner, seed

    def fit(self, X, y):
        X, y = np.asarray(X), np.asarray(y, dtype=float)
        grid = list(self.grid) or [{}]
        oof = np.zeros((len(grid), len(y)))
        for tr, va in KFold(min(self.inner, len(y)), shuffle=True,
                            random_state=self.seed).split(X):
            for i, params in enumerate(grid):
                oof[i, va] = self.make(**params).fit(X[tr], y[tr]).predict(X[va])
        self.params_ = grid[int(np.argmin([np.mean((o - y) ** 2) for o in oof]))]
        self.cap_ = float(y.max())
        self.estimator_ = self.make(**self.params_).fit(X, y)
        return self

    def predict(self, X):
        return np.minimum(self.estimator_.predict(np.asarray(X)), self.cap_)


class OOBForestClassifier(ClassifierMixin, BaseEstimator):
    """A random forest whose (max_features, min_samples_leaf) is chosen by out-of-bag Brier
    score, with the balanced-accuracy threshold from the out-of-bag probabilities."""

    def __init__(self, grid: Sequence[tuple] = ((0.2, 1), (0.4, 1), (0.2, 3), (0.4, 3)),
                 n_estimators: int = 300, seed: int = 0, n_jobs: int = 1):
        self.grid, self.n_estimators, self.seed, self.n_jobs = grid, n_estimators, seed, n_jobs

    def fit(self, X, y):
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        best = None
        for mf, msl in self.grid:
            m = RandomForestClassifier(self.n_estimators, max_features=mf, min_samples_leaf=msl,
                                       oob_score=True, random_state=self.seed,
                                       n_jobs=self.n_jobs).fit(X, y)
            oob = np.nan_to_num(m.oob_decision_function_[:, -1], nan=float(y.mean()))
            loss = float(np.mean((oob - y) ** 2))
            if best is None or loss < best[0]:
                best = (loss, m, (mf, msl), oob)
        _, self.estimator_, self.params_, oob = best
        self.estimator_.set_params(n_jobs=1)         # deterministic sums when predicting
        self.threshold_ = best_threshold(y, oob)
        return self

    def predict_proba(self, X):
        p = self.estimator_.predict_proba(np.asarray(X))
        if p.shape[1] == 1:                            # one class in training
            return np.column_stack([1 - p[:, 0], p[:, 0]]) if self.estimator_.classes_[0] == 0 \
                else np.column_stack([np.zeros(len(p)), p[:, 0]])
        return p

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


class OOBForestRegressor(RegressorMixin, BaseEstimator):
    """A random forest regressor whose (max_features, min_samples_leaf) is chosen by out-of-bag
    MSE; predictions capped at the largest training value."""

    def __init__(self, grid: Sequence[tuple] = ((0.2, 1), (0.5, 1), (1.0, 1), (0.2, 3), (0.5, 3),
                                                (1.0, 3)),
                 n_estimators: int = 300, seed: int = 0, n_jobs: int = 1):
        self.grid, self.n_estimators, self.seed, self.n_jobs = grid, n_estimators, seed, n_jobs

    def fit(self, X, y):
        y = np.asarray(y, dtype=float)
        best = None
        for mf, msl in self.grid:
            m = RandomForestRegressor(self.n_estimators, max_features=mf, min_samples_leaf=msl,
                                      oob_score=True, random_state=self.seed,
                                      n_jobs=self.n_jobs).fit(X, y)
            loss = float(np.mean((m.oob_prediction_ - y) ** 2))
            if best is None or loss < best[0]:
                best = (loss, m, (mf, msl))
        _, self.estimator_, self.params_ = best
        self.estimator_.set_params(n_jobs=1)
        self.cap_ = float(y.max())
        return self

    def predict(self, X):
        return np.minimum(self.estimator_.predict(np.asarray(X)), self.cap_)
