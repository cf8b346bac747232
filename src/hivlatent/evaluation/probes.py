"""Representations, probes and predictors: what the evaluation harness scores.

A **representation** turns a Dataset into a feature matrix and is learned inside each training
fold only. It follows this protocol (duck typed; subclass :class:`BaseRepresentation` to get
``fit_many`` and a name for free)::

    class Representation(Protocol):
        name: str                                              # used in method names
        def fit(self, train: Dataset) -> "Representation": ... # learn on training rows; return self
        def transform(self, ds: Dataset) -> np.ndarray: ...    # (ds.n_rows, k) float features
        def fit_many(self, trains: list[Dataset]) -> list["Representation"]: ...

``fit_many`` receives the distinct training sets of all folds (and drugs) at once and returns one
*independent fitted* representation per training set, in the same order. The default
(:class:`BaseRepresentation`) deep-copies the unfitted object and calls ``fit`` on each; a VAE
overrides it to train all folds together on a batched engine. ``transform`` must be row-wise (the
features of a row depend only on that row and the fitted state): the harness transforms the whole
dataset once per fitted representation and indexes the train and test rows out of it.

Two optional attributes tell the evaluation's tasks (:mod:`.tasks`) how to split the work: a
representation or predictor with its own ``fit_many`` gets all its training sets in one task,
or ``fit_chunk`` of them per task when it sets that (the VAE and the semi model: 5); one that
reads another object's models names that object in ``fit_source`` (the semi model's latent
probe, :class:`~hivlatent.evaluation.vae_methods.SharedLatent`), and both go into one task.

A **probe** is a scikit-learn estimator fit per drug on a representation (cloned for every
fold): the linear probe is :func:`linear_probe` (standardise, then L2 logistic regression).

A **predictor** predicts phenotypes directly, for all drugs at once (a multi-task model)::

    class Predictor(Protocol):
        name: str
        def fit(self, train: Dataset) -> "Predictor": ...
        def predict_proba(self, ds: Dataset) -> np.ndarray | None: ...     # (n, d) P(resistant)
        def predict_log_fold(self, ds: Dataset) -> np.ndarray | None: ...  # (n, d) log10 fold
        def fit_many(self, trains: list[Dataset]) -> list["Predictor"]: ...
        def predict_resistant(self, ds: Dataset) -> np.ndarray: ...     # optional: the call

Columns follow ``ds.drugs``. Either prediction may return None (or be absent) when the model
does not make it; metrics needing it are then not reported. Without ``predict_resistant`` the
call is P(resistant) >= 0.5 for balanced accuracy, and the predicted fold change at the cutoff
for coherence. ``fit_many`` is optional (default:
deep copy + ``fit`` per training set, see :class:`BasePredictor`). The training Dataset contains
every row outside the test fold, so label columns may hold NaN (drug untested): a predictor must
ignore NaN targets.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.dataset import Dataset
from ..errors import ConfigError

#: fixed inverse L2 strength of the linear probe (features standardised first). Chosen a priori
#: as moderate shrinkage for a few hundred standardised sparse 0/1 features and ~10^3 rows; it
#: is never tuned on the test folds.
PROBE_C = 0.1
PROBE_MAX_ITER = 10_000


@runtime_checkable
class Representation(Protocol):
    name: str

    def fit(self, train: Dataset) -> "Representation": ...

    def transform(self, ds: Dataset) -> np.ndarray: ...

    def fit_many(self, trains: list[Dataset]) -> list["Representation"]: ...


@runtime_checkable
class Predictor(Protocol):
    name: str

    def fit(self, train: Dataset) -> "Predictor": ...

    def predict_proba(self, ds: Dataset) -> np.ndarray | None: ...

    def predict_log_fold(self, ds: Dataset) -> np.ndarray | None: ...


def _features(ds: "Dataset | np.ndarray") -> np.ndarray:
    """X of a Dataset, or an array as is (so representations also work in sklearn Pipelines)."""
    return np.asarray(ds.X if isinstance(ds, Dataset) else ds, dtype=np.float64)


class BaseRepresentation:
    """Default ``fit_many``: an independent deep copy of this (unfitted) object per training set."""

    name: str = "representation"

    def fit(self, train: Dataset) -> "BaseRepresentation":  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, ds: Dataset) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit_many(self, trains: list[Dataset]) -> list["BaseRepresentation"]:
        return [copy.deepcopy(self).fit(t) for t in trains]

    def fit_transform(self, ds: Dataset) -> np.ndarray:
        return self.fit(ds).transform(ds)


class RawRepresentation(BaseRepresentation):
    """The mutation indicators themselves (identity on ``X``); nothing to learn."""

    name = "raw"
    fit_chunk = 1

    def fit(self, train: Dataset) -> "RawRepresentation":
        return self

    def transform(self, ds: "Dataset | np.ndarray") -> np.ndarray:
        return _features(ds)

    def fit_many(self, trains: list[Dataset]) -> list["RawRepresentation"]:
        return [self for _ in trains]

    def __repr__(self) -> str:
        return "RawRepresentation()"


class PCARepresentation(BaseRepresentation):
    """The first ``k`` principal components of ``X`` (centred, not scaled), fit on training rows.

    Uses the exact (full) SVD, so it is deterministic without a seed.
    """

    def __init__(self, n_components: int = 10) -> None:
        self.n_components = int(n_components)
        self.name = f"pca{self.n_components}"

    def fit(self, train: "Dataset | np.ndarray") -> "PCARepresentation":
        X = _features(train)
        if not 1 <= self.n_components <= min(X.shape):
            raise ConfigError(f"pca{self.n_components}: need 1 <= k <= min(rows, features) = "
                              f"{min(X.shape)}")
        self.pca_ = PCA(n_components=self.n_components, svd_solver="full").fit(X)
        return self

    def transform(self, ds: "Dataset | np.ndarray") -> np.ndarray:
        return self.pca_.transform(_features(ds))

    def __repr__(self) -> str:
        return f"PCARepresentation(n_components={self.n_components})"


class SklearnRepresentation(BaseRepresentation):
    """Adapter for any scikit-learn transformer on arrays (``fit(X)`` / ``transform(X)``), such as
    a PCA, a Pipeline or ``hivlatent``'s ``VAEEncoder``: fit on the training rows' ``X``.

    ``fit_many`` clones the estimator (``sklearn.base.clone``) for each training set and fits them
    one after another.
    """

    fit_chunk = 1

    def __init__(self, estimator: Any, name: str | None = None) -> None:
        self.estimator = estimator
        self.name = name or type(estimator).__name__.lower()

    def fit(self, train: "Dataset | np.ndarray") -> "SklearnRepresentation":
        self.estimator_ = clone(self.estimator).fit(_features(train))
        return self

    def transform(self, ds: "Dataset | np.ndarray") -> np.ndarray:
        return np.asarray(self.estimator_.transform(_features(ds)))

    def fit_many(self, trains: list[Dataset]) -> list["SklearnRepresentation"]:
        return [SklearnRepresentation(self.estimator, self.name).fit(t) for t in trains]

    def __repr__(self) -> str:
        return f"SklearnRepresentation({self.estimator!r}, name={self.name!r})"


def as_representation(obj: Any) -> Any:
    """``obj`` as a Representation: a :class:`BaseRepresentation` or any object with Dataset-aware
    ``fit``/``transform`` as is; a scikit-learn estimator (it has ``get_params`` and is not a
    BaseRepresentation) wrapped in :class:`SklearnRepresentation`; a name via
    :func:`get_representation`."""
    if isinstance(obj, str):
        return get_representation(obj)
    if isinstance(obj, BaseRepresentation):
        return obj
    if callable(getattr(obj, "get_params", None)) and callable(getattr(obj, "transform", None)):
        return SklearnRepresentation(obj)
    return obj


def get_representation(name: str) -> BaseRepresentation:
    """A built-in representation by name: ``raw``, ``pca-K`` / ``pcaK`` (K components)."""
    if name == "raw":
        return RawRepresentation()
    m = re.fullmatch(r"pca-?(\d+)", name)
    if m:
        return PCARepresentation(int(m.group(1)))
    raise ConfigError(f"unknown representation {name!r}; expected 'raw' or 'pca-K' (e.g. pca-10)")


def linear_probe(C: float = PROBE_C, max_iter: int = PROBE_MAX_ITER) -> Pipeline:
    """The linear probe: standardise each feature, then L2 logistic regression.

    ``C`` is fixed (default :data:`PROBE_C`), no class weighting, lbfgs with a large
    ``max_iter`` so it converges. Deterministic.
    """
    return make_pipeline(StandardScaler(),
                         LogisticRegression(C=C, max_iter=max_iter, class_weight=None))


class BasePredictor:
    """Default ``fit_many`` for predictors: a deep copy of this unfitted object per training set."""

    name: str = "predictor"

    def fit(self, train: Dataset) -> "BasePredictor":  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, ds: Dataset) -> np.ndarray | None:
        return None

    def predict_log_fold(self, ds: Dataset) -> np.ndarray | None:
        return None

    def fit_many(self, trains: list[Dataset]) -> list["BasePredictor"]:
        return [copy.deepcopy(self).fit(t) for t in trains]


def fit_many(obj: Any, trains: list[Dataset]) -> list[Any]:
    """``obj.fit_many(trains)`` if it has one, else deep copy + ``fit`` per training set."""
    method = getattr(obj, "fit_many", None)
    fitted = method(trains) if callable(method) else [copy.deepcopy(obj).fit(t) for t in trains]
    fitted = list(fitted)
    if len(fitted) != len(trains):
        raise ConfigError(f"{name_of(obj)}.fit_many returned {len(fitted)} models for "
                          f"{len(trains)} training sets")
    return fitted


def name_of(obj: Any) -> str:
    """``obj.name`` if set, else its class name in lower case."""
    name = getattr(obj, "name", None)
    return str(name) if name else type(obj).__name__.lower()


@dataclass
class ProbeMethod:
    """A representation scored by per-drug estimators (cloned for every drug and fold).

    ``classifier`` predicts labels (needs ``predict_proba``) and gives AUC, balanced accuracy,
    MCC; ``regressor`` predicts log10 fold and gives R^2, MSE, and, when there is no classifier,
    the binary metrics derived from the predicted fold and the drug's cutoff.
    """

    name: str
    representation: Any = field(default_factory=RawRepresentation)
    classifier: Any = None
    regressor: Any = None

    def __post_init__(self) -> None:
        self.representation = as_representation(self.representation)
        if self.classifier is None and self.regressor is None:
            raise ConfigError(f"method {self.name!r}: give a classifier, a regressor or both")


@dataclass
class PredictorMethod:
    """A model that predicts phenotypes itself (see the :class:`Predictor` protocol)."""

    name: str
    predictor: Any


#: what the harness evaluates
Method = Union[ProbeMethod, PredictorMethod]
