"""Baselines on the raw mutation indicators (and on PCA), named by short method specs.

Method specs (strings accepted by :func:`hivlatent.evaluation.evaluate`)::

    <representation>-<estimator>
    representation: raw | pcaK (K principal components, e.g. pca10; pca-10 also accepted)
    estimator:      lr     standardise + L2 logistic regression (the linear probe, C fixed)
                    rf     random forest classifier (200 trees)
                    ridge  ridge regression of log10 fold (features as they are, alpha fixed)
                    rfreg  random forest regressor of log10 fold (200 trees)

``raw-lr``, ``raw-rf``, ``raw-ridge``, ``raw-rfreg`` and ``pca10-lr`` are the standard set
(:data:`BASELINES`). Regressors (``ridge``, ``rfreg``) are scored on R^2 and MSE and also on the
binary metrics derived from their predicted fold and the drug's cutoff (see ``metrics``).
"""

from __future__ import annotations

import re

from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge

from ..errors import ConfigError
from .probes import ProbeMethod, get_representation, linear_probe

#: the baseline methods reported by default
BASELINES: tuple[str, ...] = ("raw-lr", "raw-rf", "raw-ridge", "raw-rfreg", "pca10-lr")
#: trees per random forest
N_ESTIMATORS = 200
#: fixed L2 strength of the ridge regression (on unscaled 0/1 features)
RIDGE_ALPHA = 1.0

ESTIMATORS = ("lr", "rf", "ridge", "rfreg")
_SPEC = re.compile(r"(raw|pca-?\d+)-(lr|rf|ridge|rfreg)")


def random_forest_classifier(seed: int = 0, n_jobs: int = 1) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=N_ESTIMATORS, random_state=seed, n_jobs=n_jobs)


def random_forest_regressor(seed: int = 0, n_jobs: int = 1) -> RandomForestRegressor:
    return RandomForestRegressor(n_estimators=N_ESTIMATORS, random_state=seed, n_jobs=n_jobs)


def ridge_regression(alpha: float = RIDGE_ALPHA) -> Ridge:
    return Ridge(alpha=alpha)


def estimator(kind: str, seed: int = 0, n_jobs: int = 1):
    """A fresh (unfitted) estimator for ``lr``, ``rf``, ``ridge`` or ``rfreg``."""
    if kind == "lr":
        return linear_probe()
    if kind == "rf":
        return random_forest_classifier(seed, n_jobs)
    if kind == "ridge":
        return ridge_regression()
    if kind == "rfreg":
        return random_forest_regressor(seed, n_jobs)
    raise ConfigError(f"unknown estimator {kind!r}; expected one of {', '.join(ESTIMATORS)}")


def parse_method(spec: str, seed: int = 0, n_jobs: int = 1) -> ProbeMethod:
    """The :class:`ProbeMethod` for a spec such as ``raw-lr`` or ``pca10-lr``.

    ``seed`` seeds the random forests, ``n_jobs`` is their thread count.
    """
    m = _SPEC.fullmatch(spec.strip().lower())
    if not m:
        raise ConfigError(
            f"unknown method {spec!r}; expected <raw|pcaK>-<{'|'.join(ESTIMATORS)}>, "
            f"for example {', '.join(BASELINES)}"
        )
    rep_name, kind = m.groups()
    rep = get_representation(rep_name)
    est = estimator(kind, seed, n_jobs)
    name = f"{rep.name}-{kind}"
    if kind in ("lr", "rf"):
        return ProbeMethod(name, rep, classifier=est)
    return ProbeMethod(name, rep, regressor=est)
