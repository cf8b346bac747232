"""Baselines on the raw 0/1 mutation columns (and on PCA), tuned inside the training folds only
(:mod:`.tuning`), named by short specs.

==========  ==========================================================================================
``lr``      L2 logistic regression on the raw 0/1 columns; C in 10^-3..10^2 by inner 5-fold CV (log
            loss); the balanced-accuracy threshold from the same out-of-fold probabilities
``lr-std``  the same on standardised columns (standardising 0/1 columns blows up rare mutations: it
            is here to show that it hurts)
``l1``      L1 logistic regression (liblinear), C in 10^-2..10^2, as ``lr``
``enet``    elastic-net logistic regression (saga, l1_ratio 0.5), C in 10^-2..10^1, inner 3-fold,
            raced (every C on the first inner fold, the better half on the other two)
``rf``      random forest, 300 trees, max_features {0.2, 0.4} x min_samples_leaf {1, 3} by
            out-of-bag Brier score, threshold from the out-of-bag probabilities
``hgb``     histogram gradient boosting (learning rate 0.05, early stopping), max_leaf_nodes
            {8, 31} x min_samples_leaf {3, 10} by inner 3-fold log loss, raced as ``enet``,
            threshold as ``lr``
            (scikit-learn's default leaf of 20 rows starves drugs with few phenotypes: RPV's
            AUC 0.58 against 0.90 with 3)
``ridge``   ridge regression of log10 fold change, alpha in 10^-2..10^3 by inner 5-fold MSE
``lasso``   lasso regression of log10 fold change, alpha in 10^-5..10^-1 by inner 5-fold MSE
``rfreg``   random-forest regression, 300 trees, max_features {0.2, 0.5, 1} x min_samples_leaf
            {1, 3} by out-of-bag MSE
``hgbreg``  histogram gradient-boosting regression, grid as ``hgb``, inner 3-fold MSE, raced
``pcaK``    the first K principal components of the 0/1 columns, probed by ``lr`` (e.g. ``pca10``)
==========  ==========================================================================================

Regressors predict log10 fold change (capped at the largest training value, the assay's
reporting limit) and are also scored on the binary task: resistant when the predicted fold
change reaches the drug's lower cutoff (the rule that makes the labels). ``raw-<name>`` is
accepted for ``<name>`` and ``pcaK-lr`` for ``pcaK``.
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import ConfigError
from .probes import ProbeMethod, get_representation
from .tuning import (
    RACE_KEEP,
    OOBForestClassifier,
    OOBForestRegressor,
    TunedClassifier,
    TunedRegressor,
)

#: the baselines reported by default
BASELINES: tuple[str, ...] = ("lr", "l1", "enet", "rf", "hgb", "ridge", "lasso", "rfreg",
                              "hgbreg", "pca10")
CLASSIFIERS = ("lr", "lr-std", "l1", "enet", "rf", "hgb")
REGRESSORS = ("ridge", "lasso", "rfreg", "hgbreg")
ESTIMATORS = CLASSIFIERS + REGRESSORS
_SPEC = re.compile(r"(?:raw-)?(?P<est>" + "|".join(sorted(ESTIMATORS, key=len, reverse=True))
                   + r")|(?P<pca>pca-?\d+)(?:-lr)?")


def _grid(values, name: str) -> list[dict]:
    return [{name: float(v)} for v in values]


_HGB_GRID = [dict(max_leaf_nodes=leaves, min_samples_leaf=leaf) for leaves in (8, 31)
             for leaf in (3, 10)]


def _lr(C, std=False, penalty="l2", seed=0):
    solver = {"l2": "lbfgs", "l1": "liblinear", "enet": "saga"}[penalty]
    kwargs = {"l1_ratio": 1.0 if penalty == "l1" else 0.5} if penalty != "l2" else {}
    # random_state: liblinear and saga shuffle the rows (unseeded, two runs differed)
    lr = LogisticRegression(C=C, solver=solver, random_state=seed,
                            max_iter=5000 if penalty != "enet" else 3000,
                            tol=1e-4 if penalty != "enet" else 1e-3, **kwargs)
    return make_pipeline(StandardScaler(), lr) if std else lr


class _FewBins:
    """Histogram gradient boosting with no more bins than the training columns have distinct
    values (at most ``max_bins``). Below ``max_bins`` distinct values scikit-learn puts one bin
    per value (thresholds at the midpoints) whatever ``max_bins`` is, so the bins, the trees
    and the predictions are the same bit for bit; the histograms of 0/1 mutations shrink from
    256 bins to 3, which makes a fit up to twice as fast."""

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X)
        values = max((np.unique(col).size for col in X.T), default=2)
        asked = self.max_bins
        self.max_bins = int(min(asked, max(values, 2)))
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            self.max_bins = asked


class FewBinsHGBClassifier(_FewBins, HistGradientBoostingClassifier):
    pass


class FewBinsHGBRegressor(_FewBins, HistGradientBoostingRegressor):
    pass


def _hgb(seed, regression=False, **params):
    cls = FewBinsHGBRegressor if regression else FewBinsHGBClassifier
    return cls(learning_rate=0.05, max_iter=1000, early_stopping=True, n_iter_no_change=20,
               random_state=seed, **params)


def estimator(kind: str, seed: int = 0, n_jobs: int = 1):
    """A fresh (unfitted) tuned estimator for one of :data:`ESTIMATORS`."""
    powers = lambda lo, hi: 10 ** np.arange(lo, hi + 0.01, 0.5)  # noqa: E731
    if kind == "lr":
        return TunedClassifier(lambda C: _lr(C), _grid(powers(-3, 2), "C"), 5, seed)
    if kind == "lr-std":
        return TunedClassifier(lambda C: _lr(C, std=True), _grid(powers(-4, 1), "C"), 5, seed)
    if kind == "l1":
        return TunedClassifier(lambda C: _lr(C, penalty="l1", seed=seed), _grid(powers(-2, 2), "C"),
                               5, seed)
    if kind == "enet":
        return TunedClassifier(lambda C: _lr(C, penalty="enet", seed=seed),
                               _grid(powers(-2, 1), "C"), 3, seed, race=RACE_KEEP)
    if kind == "rf":
        return OOBForestClassifier(seed=seed, n_jobs=n_jobs)
    if kind == "hgb":
        return TunedClassifier(lambda **p: _hgb(seed, **p), _HGB_GRID, 3, seed, race=RACE_KEEP)
    if kind == "ridge":
        return TunedRegressor(lambda alpha: Ridge(alpha=alpha), _grid(powers(-2, 3), "alpha"),
                              5, seed)
    if kind == "lasso":
        return TunedRegressor(lambda alpha: Lasso(alpha=alpha, max_iter=20000),
                              _grid(powers(-5, -1), "alpha"), 5, seed)
    if kind == "rfreg":
        return OOBForestRegressor(seed=seed, n_jobs=n_jobs)
    if kind == "hgbreg":
        return TunedRegressor(lambda **p: _hgb(seed, regression=True, **p), _HGB_GRID, 3, seed,
                              race=RACE_KEEP)
    raise ConfigError(f"unknown estimator {kind!r}; expected one of {', '.join(ESTIMATORS)}")


def tuned_probe(seed: int = 0) -> TunedClassifier:
    """The probe of a representation (PCA, a VAE latent): standardise, then L2 logistic
    regression with C by inner 5-fold CV (the threshold stays 0.5: probes are judged by AUC)."""
    return TunedClassifier(lambda C: _lr(C, std=True), _grid(10 ** np.arange(-4, 2.01, 0.5),
                                                             "C"), 5, seed, tune_threshold=False)


def parse_method(spec: str, seed: int = 0, n_jobs: int = 1) -> ProbeMethod:
    """The :class:`ProbeMethod` for a baseline spec (see the module docstring)."""
    text = spec.strip().lower()
    m = _SPEC.fullmatch(text)
    if not m:
        raise ConfigError(f"unknown method {spec!r}; expected one of {', '.join(ESTIMATORS)}, "
                          "pcaK (e.g. pca10), vaeK, semiK or hivdb")
    if m.group("pca"):
        rep = get_representation(m.group("pca"))
        return ProbeMethod(rep.name, rep, classifier=tuned_probe(seed))
    kind = m.group("est")
    est = estimator(kind, seed, n_jobs)
    rep = get_representation("raw")
    if kind in CLASSIFIERS:
        return ProbeMethod(kind, rep, classifier=est)
    return ProbeMethod(kind, rep, regressor=est)
