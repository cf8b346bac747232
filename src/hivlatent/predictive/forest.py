"""Per-drug random forests on the raw mutations, kept as plain arrays (no pickle) and evaluated
with numpy.

The semi-supervised model blends its VAE heads with one random-forest regressor of log10 fold
change per drug: the forest catches what a linear head on a 10-d latent cannot (3TC is nearly a
step function of M184V/I). The forests are fitted with scikit-learn, then every tree is flattened
into five arrays (left child, right child, feature, threshold, leaf value) so that a model bundle
stores them in safetensors, like its weights, and prediction needs no scikit-learn object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: trees per drug, and their settings (the values the tuned rfreg baseline chooses most often)
N_TREES = 150
MAX_FEATURES = 0.5
MIN_SAMPLES_LEAF = 3


@dataclass(frozen=True)
class Forest:
    """One drug's trees, flattened: node arrays of all trees end to end, ``roots`` the index of
    each tree's first node. A leaf has ``left == -1``."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple["Forest", np.ndarray]:
        """Fit on rows ``X`` (n, p) and log10 fold changes ``y`` (n,); returns the forest and its
        out-of-bag predictions (n,) (a row no tree left out gets the mean of ``y``)."""
        from sklearn.ensemble import RandomForestRegressor

        rf = RandomForestRegressor(N_TREES, max_features=MAX_FEATURES,
                                   min_samples_leaf=MIN_SAMPLES_LEAF, oob_score=True,
                                   random_state=seed, n_jobs=1).fit(X, y)
        parts = [est.tree_ for est in rf.estimators_]
        sizes = np.array([t.node_count for t in parts])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        shift = lambda a, o: np.where(a >= 0, a + o, -1)  # noqa: E731
        forest = cls(
            np.concatenate([shift(t.children_left, o) for t, o in zip(parts, offsets)]).astype(np.int32),
            np.concatenate([shift(t.children_right, o) for t, o in zip(parts, offsets)]).astype(np.int32),
            np.concatenate([np.maximum(t.feature, 0) for t in parts]).astype(np.int32),
            np.concatenate([t.threshold for t in parts]).astype(np.float32),
            np.concatenate([t.value[:, 0, 0] for t in parts]).astype(np.float32),
            offsets.astype(np.int32))
        oob = np.asarray(rf.oob_prediction_, dtype=np.float64)
        return forest, np.where(np.isfinite(oob), oob, float(np.mean(y)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The mean over trees of each row's leaf value (n,)."""
        X = np.asarray(X, dtype=np.float32)
        n, trees = X.shape[0], len(self.roots)
        node = np.tile(self.roots, n)                  # (row, tree) pairs, row-major
        row = np.repeat(np.arange(n), trees)
        active = np.arange(n * trees)
        while active.size:                             # only pairs still at an inner node
            at = node[active]
            left = self.left[at]
            inner = left >= 0
            active, at, left = active[inner], at[inner], left[inner]
            go_left = X[row[active], self.feature[at]] <= self.threshold[at]
            node[active] = np.where(go_left, left, self.right[at])
        return self.value[node].astype(np.float64).reshape(n, trees).mean(1)

    def check(self, n_features: int, where: str) -> None:
        """Refuse arrays that cannot be a forest over ``n_features`` features."""
        n = len(self.left)
        same = {len(a) for a in (self.right, self.feature, self.threshold, self.value)}
        if same != {n} or self.roots.ndim != 1 or not len(self.roots):
            raise ValueError(f"{where}: its arrays disagree in length")
        inner = self.left >= 0
        index = np.arange(n)
        # a child always follows its node (as scikit-learn numbers them): a damaged array can
        # then never send predict round a cycle
        if (self.left[inner] >= n).any() or (self.right[inner] >= n).any() \
                or (self.left[inner] <= index[inner]).any() \
                or (self.right[inner] <= index[inner]).any() \
                or (self.roots < 0).any() or (self.roots >= n).any() \
                or (self.feature[inner] < 0).any() or (self.feature[inner] >= n_features).any():
            raise ValueError(f"{where}: node indices or features out of range")
        if not (np.isfinite(self.value).all() and np.isfinite(self.threshold[inner]).all()):
            raise ValueError(f"{where}: NaN or infinite thresholds or leaf values")
