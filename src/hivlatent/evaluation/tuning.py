"""Baselines tuned as a careful statistician tunes them: every hyperparameter, and for
classifiers the decision threshold for balanced accuracy, chosen inside the training rows only.

- :class:`TunedClassifier`: out-of-fold probabilities over an inner stratified k-fold for every
  point of a grid; the point with the lowest log loss wins; the threshold that maximises balanced
  accuracy on those out-of-fold probabilities (ties: nearest 0.5) becomes ``predict``'s; then a
  refit on every training row.
- :class:`TunedRegressor`: the same with mean squared error of log10 fold change.
- Either may race its grid (``race``): every point on the first inner fold, the better share
  (by that fold's loss) on the other inner folds (:func:`raced`); the points dropped never
  see the other folds.
- :class:`OOBForestClassifier` / :class:`OOBForestRegressor`: random forests whose grid is
  judged by the out-of-bag predictions (Brier score, MSE), searched by successive halving:
  every grid point grown to :data:`HALVING_TREES` trees, the best :data:`HALVING_KEEP` of them
  grown on to the full forest (the same trees as growing it at once), the best of those at the
  full size.

All are scikit-learn estimators (``clone`` works), deterministic for their ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import KFold, StratifiedKFold

#: successive halving of the forests' grids: every grid point grown to this many trees first
#: (50 chooses what 100 chose on nrti-1246, for less work: docs/results/forest_halving.md) ...
HALVING_TREES = 50
#: ... and this share of the grid points (rounded up: 2 of rf's 4, 2 of rfreg's 6) grown on to
#: the full forest
HALVING_KEEP = 1 / 3
#: the share of a grid a race keeps after the first inner fold (``race`` of the tuned
#: baselines that use it: ``hgb``, ``hgbreg``, ``enet``; docs/results/grid_racing.md)
RACE_KEEP = 0.5
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


def kept_count(n: int, keep: float) -> int:
    """How many of ``n`` grid points a halving grows on: ``keep`` below 1 is a share (rounded
    up, at least 1), from 1 a count (at most ``n``)."""
    return min(n, int(keep)) if keep >= 1 else max(1, int(np.ceil(n * keep - 1e-9)))


def raced(first_losses: Sequence[float], keep: float) -> list[int]:
    """The grid points (indices, in grid order) a race keeps after the first inner fold: the
    ``keep`` share (rounded up, at least 2) with the least loss on that fold's rows; ties go to
    the earlier grid point."""
    n = max(2, int(np.ceil(len(first_losses) * keep - 1e-9)))
    return sorted(np.argsort(np.asarray(first_losses), kind="stable")[:n].tolist())


def _search(grid, splits, race, fit_predict, fold_loss):
    """Out-of-fold predictions of every grid point over the inner ``splits`` (rows the search
    dropped stay 0), and the grid points still in the search. With ``race`` (a share), every
    point runs the first inner fold and only :func:`raced`'s share runs the others."""
    oof = np.zeros((len(grid), sum(len(va) for _, va in splits)))
    alive = list(range(len(grid)))
    for k, (tr, va) in enumerate(splits):
        for i in alive:
            oof[i, va] = fit_predict(i, tr, va)
        if k == 0 and race and len(alive) > 2:
            alive = raced([fold_loss(va, oof[i, va]) for i in alive], race)
    return oof, alive


class TunedClassifier(ClassifierMixin, BaseEstimator):
    """``make(**params)`` for each ``params`` of ``grid``, chosen by inner-CV log loss; the
    balanced-accuracy threshold from the same out-of-fold probabilities."""

    def __init__(self, make: Callable | None = None, grid: Sequence[dict] = (), inner: int = 5,
                 seed: int = 0, tune_threshold: bool = True, race: float | None = None):
        self.make, self.grid, self.inner = make, grid, inner
        self.seed, self.tune_threshold, self.race = seed, tune_threshold, race

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
        oof, alive = _search(grid, self.inner_splits(X, y), self.race,
                             lambda i, tr, va: self.make(**grid[i]).fit(X[tr], y[tr])
                             .predict_proba(X[va])[:, 1],
                             lambda va, p: _log_loss(y[va], p))
        best = alive[int(np.argmin([_log_loss(y, oof[i]) for i in alive]))]
        self.params_ = grid[best]
        self.threshold_ = best_threshold(y, oof[best]) if self.tune_threshold else 0.5
        self.estimator_ = self.make(**self.params_).fit(X, y)
        return self

    def inner_splits(self, X, y) -> list:
        """The inner stratified folds the grid is judged on (as many as the rarer class allows,
        at most ``inner``)."""
        folds = min(self.inner, int(np.bincount(np.asarray(y).astype(int), minlength=2).min()))
        return list(StratifiedKFold(folds, shuffle=True, random_state=self.seed).split(X, y))

    def predict_proba(self, X):
        return self.estimator_.predict_proba(np.asarray(X))

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


class TunedRegressor(RegressorMixin, BaseEstimator):
    """``make(**params)`` for each ``params`` of ``grid``, chosen by inner-CV mean squared
    error; predictions capped at the largest training value (the assay's reporting limit)."""

    def __init__(self, make: Callable | None = None, grid: Sequence[dict] = (), inner: int = 5,
                 seed: int = 0, race: float | None = None):
        self.make, self.grid, self.inner, self.seed, self.race = make, grid, inner, seed, race

    def fit(self, X, y):
        X, y = np.asarray(X), np.asarray(y, dtype=float)
        grid = list(self.grid) or [{}]
        oof, alive = _search(grid, self.inner_splits(X, y), self.race,
                             lambda i, tr, va: self.make(**grid[i]).fit(X[tr], y[tr])
                             .predict(X[va]),
                             lambda va, p: float(np.mean((p - y[va]) ** 2)))
        self.params_ = grid[alive[int(np.argmin([np.mean((oof[i] - y) ** 2) for i in alive]))]]
        self.cap_ = float(y.max())
        self.estimator_ = self.make(**self.params_).fit(X, y)
        return self

    def inner_splits(self, X, y) -> list:
        """The inner folds the grid is judged on."""
        return list(KFold(min(self.inner, len(y)), shuffle=True, random_state=self.seed).split(X))

    def predict(self, X):
        return np.minimum(self.estimator_.predict(np.asarray(X)), self.cap_)


class _OOBForest:
    """The grid search of a forest by out-of-bag loss, by successive halving: every grid point
    grown to ``halving_trees`` trees, the best ``halving_keep`` share (by out-of-bag loss at that
    size, rounded up) grown on
    to ``n_estimators`` with scikit-learn's ``warm_start`` (the same trees, bit for bit, as
    growing them at once), and the best of those by out-of-bag loss at ``n_estimators``.
    ``halving_trees=None`` (or >= ``n_estimators``) grows every grid point to the end. Ties go
    to the earlier grid point."""

    def _search(self, forest, loss, X, y):
        """(fitted forest, its grid point) with the least ``loss(forest)``."""
        first = self.n_estimators
        if self.halving_trees and self.halving_trees < self.n_estimators:
            first = int(self.halving_trees)
        fits = []
        for mf, msl in self.grid:
            m = forest(first, max_features=mf, min_samples_leaf=msl, oob_score=True,
                       random_state=self.seed, n_jobs=self.n_jobs, warm_start=True).fit(X, y)
            fits.append((loss(m), m, (mf, msl)))
        if first < self.n_estimators:
            order = sorted(range(len(fits)), key=lambda i: fits[i][0])   # stable: grid order
            kept = sorted(order[:kept_count(len(fits), self.halving_keep)])
            fits = [fits[i] for i in kept]
            for _, m, _ in fits:
                m.set_params(n_estimators=self.n_estimators).fit(X, y)
            fits = [(loss(m), m, params) for _, m, params in fits]
        _, best, params = min(fits, key=lambda f: f[0])
        best.set_params(warm_start=False, n_jobs=1)   # n_jobs 1: deterministic sums when predicting
        return best, params


class OOBForestClassifier(_OOBForest, ClassifierMixin, BaseEstimator):
    """A random forest whose (max_features, min_samples_leaf) is chosen by out-of-bag Brier
    score (by successive halving, see :class:`_OOBForest`), with the balanced-accuracy
    threshold from the out-of-bag probabilities."""

    def __init__(self, grid: Sequence[tuple] = ((0.2, 1), (0.4, 1), (0.2, 3), (0.4, 3)),
                 n_estimators: int = 300, seed: int = 0, n_jobs: int = 1,
                 halving_trees: int | None = HALVING_TREES, halving_keep: float = HALVING_KEEP):
        self.grid, self.n_estimators, self.seed, self.n_jobs = grid, n_estimators, seed, n_jobs
        self.halving_trees, self.halving_keep = halving_trees, halving_keep

    def fit(self, X, y):
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])

        def oob(m):
            return np.nan_to_num(m.oob_decision_function_[:, -1], nan=float(y.mean()))

        self.estimator_, self.params_ = self._search(
            RandomForestClassifier, lambda m: float(np.mean((oob(m) - y) ** 2)), X, y)
        self.threshold_ = best_threshold(y, oob(self.estimator_))
        return self

    def predict_proba(self, X):
        p = self.estimator_.predict_proba(np.asarray(X))
        if p.shape[1] == 1:                            # one class in training
            return np.column_stack([1 - p[:, 0], p[:, 0]]) if self.estimator_.classes_[0] == 0 \
                else np.column_stack([np.zeros(len(p)), p[:, 0]])
        return p

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


class OOBForestRegressor(_OOBForest, RegressorMixin, BaseEstimator):
    """A random forest regressor whose (max_features, min_samples_leaf) is chosen by out-of-bag
    MSE (by successive halving, see :class:`_OOBForest`); predictions capped at the largest
    training value."""

    def __init__(self, grid: Sequence[tuple] = ((0.2, 1), (0.5, 1), (1.0, 1), (0.2, 3), (0.5, 3),
                                                (1.0, 3)),
                 n_estimators: int = 300, seed: int = 0, n_jobs: int = 1,
                 halving_trees: int | None = HALVING_TREES, halving_keep: float = HALVING_KEEP):
        self.grid, self.n_estimators, self.seed, self.n_jobs = grid, n_estimators, seed, n_jobs
        self.halving_trees, self.halving_keep = halving_trees, halving_keep

    def fit(self, X, y):
        y = np.asarray(y, dtype=float)
        self.estimator_, self.params_ = self._search(
            RandomForestRegressor, lambda m: float(np.mean((m.oob_prediction_ - y) ** 2)), X, y)
        self.cap_ = float(y.max())
        return self

    def predict(self, X):
        return np.minimum(self.estimator_.predict(np.asarray(X)), self.cap_)
