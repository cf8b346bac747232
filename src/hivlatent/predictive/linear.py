"""Per-drug ridge regressions on the raw mutations, kept as plain arrays (no pickle).

The semi-supervised model's output layer blends its VAE heads with a random forest (what is
non-linear, such as 3TC's step at M184V/I) and with a ridge regression of log10 fold change on
the raw 0/1 mutations (many small additive effects, where the tuned lasso and ridge baselines
were best: TPV, TDF). The ridge strength is chosen by leave-one-out error on the training rows
(scikit-learn's ``RidgeCV``); its out-of-fold predictions, for the blend weights, come from a
seeded 5-fold split of the same rows. A bundle stores ``linear.<drug>.coef`` (p,) and
``linear.<drug>.intercept`` (1,).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: ridge strengths searched (the tuned ridge baseline's range), and the out-of-fold split
ALPHAS = np.logspace(-2, 3, 16)
OOF_FOLDS = 5


@dataclass(frozen=True)
class Linear:
    """One drug's ridge regression: ``X @ coef + intercept``."""

    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple["Linear", np.ndarray]:
        """Fit on rows ``X`` (n, p) and log10 fold changes ``y`` (n,); returns the model and
        out-of-fold predictions (n,) with the chosen strength."""
        from sklearn.linear_model import Ridge, RidgeCV
        from sklearn.model_selection import KFold, cross_val_predict

        X = np.asarray(X, dtype=np.float64)
        alpha = float(RidgeCV(alphas=ALPHAS).fit(X, y).alpha_)
        ridge = Ridge(alpha=alpha).fit(X, y)
        folds = KFold(min(OOF_FOLDS, len(y)), shuffle=True, random_state=seed)
        oof = cross_val_predict(Ridge(alpha=alpha), X, y, cv=folds)
        return cls(ridge.coef_.astype(np.float64), np.array([ridge.intercept_], dtype=np.float64)), oof

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef + float(self.intercept[0])

    def check(self, n_features: int, where: str) -> None:
        """Refuse arrays that cannot be a ridge over ``n_features`` features."""
        if self.coef.shape != (n_features,) or self.intercept.shape != (1,) \
                or not np.isfinite(self.coef).all() or not np.isfinite(self.intercept).all():
            raise ValueError(f"{where}: expected {n_features} finite coefficients and one "
                             f"intercept, got shapes {self.coef.shape} and {self.intercept.shape}")
