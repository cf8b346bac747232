"""scikit-learn compatible wrappers, usable inside a ``Pipeline``.

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(VAEEncoder(latent=10, epochs=50), LogisticRegression())
    >>> pipe.fit(X, y)

:class:`VAEEncoder` follows scikit-learn's conventions: ``random_state`` seeds it, input is
checked as scikit-learn checks it (a 2-D array of finite numbers, dense; the same number of
columns in ``transform`` as in ``fit``), ``transform`` before ``fit`` is a ``NotFittedError``.
``tests/test_estimators.py`` runs scikit-learn's ``check_estimator`` on it.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .config import ModelConfig, TrainConfig


class VAEEncoder(TransformerMixin, BaseEstimator):
    """Fits a VAE on 0/1 mutation features; ``transform`` returns the latent means (float32).

    ``random_state``: an int seeds the model exactly as ``TrainConfig(seed=...)`` does (the same
    int, the same model); None or a ``RandomState`` draws that int from it. ``seed``: the former
    name of ``random_state``, still accepted with a DeprecationWarning.
    """

    def __init__(self, latent: int = 10, hidden: tuple[int, ...] = (128,), likelihood: str = "bernoulli",
                 epochs: int = 100, batch_size: int = 32, lr: float = 1e-3, beta: float = 1.0,
                 val_fraction: float = 0.0, random_state=0, device: str = "cpu",
                 seed: int | None = None):
        self.latent = latent
        self.hidden = hidden
        self.likelihood = likelihood
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.device = device
        self.seed = seed

    def _seed(self) -> int:
        if self.seed is not None:
            warnings.warn("VAEEncoder(seed=...) is deprecated; use random_state=...",
                          DeprecationWarning, stacklevel=3)
            return int(self.seed)
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def fit(self, X, y=None):
        from .model import VAEModel

        seed = self._seed()
        X = validate_data(self, X, dtype=[np.float32, np.float64], accept_sparse=False)
        model = ModelConfig(latent=self.latent, hidden=tuple(self.hidden), likelihood=self.likelihood)
        train = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                            beta=self.beta, val_fraction=self.val_fraction, seed=seed)
        self.model_ = VAEModel(model, train, device=self.device).fit(X)
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float32, np.float64], accept_sparse=False,
                          reset=False)
        return self.model_.get_latent_representation(X)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.array([f"z{i + 1}" for i in range(self.latent)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]   # latent means are float32
        return tags
