"""scikit-learn compatible wrappers, usable inside a ``Pipeline``.

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(VAEEncoder(latent=10, epochs=50), LogisticRegression())
    >>> pipe.fit(X, y)
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin

from .config import ModelConfig, TrainConfig
from .model import VAEModel


class VAEEncoder(TransformerMixin, BaseEstimator):
    """Fits a VAE on 0/1 mutation features; ``transform`` returns the latent means."""

    def __init__(self, latent: int = 10, hidden: tuple[int, ...] = (128,), likelihood: str = "bernoulli",
                 epochs: int = 100, batch_size: int = 32, lr: float = 1e-3, beta: float = 1.0,
                 val_fraction: float = 0.0, seed: int = 0, device: str = "cpu"):
        self.latent = latent
        self.hidden = hidden
        self.likelihood = likelihood
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.val_fraction = val_fraction
        self.seed = seed
        self.device = device

    def fit(self, X, y=None):
        model = ModelConfig(latent=self.latent, hidden=tuple(self.hidden), likelihood=self.likelihood)
        train = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                            beta=self.beta, val_fraction=self.val_fraction, seed=self.seed)
        self.model_ = VAEModel(model, train, device=self.device).fit(X)
        self.n_features_in_ = len(self.model_.feature_names)
        return self

    def transform(self, X):
        return self.model_.get_latent_representation(X)

    def get_feature_names_out(self, input_features=None):
        import numpy as np
        return np.array([f"z{i + 1}" for i in range(self.latent)], dtype=object)
