"""The Dataset: a design matrix of binary mutation features with per-drug phenotypes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .cutoffs import DEFAULT_CUTOFFS, Cutoffs


@dataclass(frozen=True)
class Dataset:
    """What every model and evaluation consumes.

    Shapes: n rows (viruses), p features (mutations), d drugs.
    - ``X``: (n, p) float32, 1 where the virus carries the mutation (mixtures count for each letter).
    - ``observed``: (n, p) bool, False where the position was not sequenced (``.``) or unknown
      (``X``), so models can mask it out of reconstruction losses instead of reading wild type.
    - ``log_fold``: (n, d) float64 log10 fold change, NaN where the drug was not tested.
    - ``labels``: (n, d) float64, 1 = resistant (fold >= lower cutoff), 0 = not, NaN = missing.
    - ``groups``: optional (n,) ids (for example patient id) for grouped cross-validation.
    """

    name: str
    drug_class: str
    gene: str
    ids: np.ndarray
    X: np.ndarray
    observed: np.ndarray
    feature_names: list[str]
    drugs: list[str]
    log_fold: np.ndarray
    labels: np.ndarray
    cutoffs: Cutoffs = DEFAULT_CUTOFFS
    source: str = ""
    sha256: str = ""
    groups: np.ndarray | None = None
    meta: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def fold(self) -> np.ndarray:
        return np.power(10.0, self.log_fold)

    def subset(self, rows: np.ndarray) -> "Dataset":
        """The rows ``rows`` (indices or boolean mask), everything else unchanged."""
        rows = np.asarray(rows)
        meta = None if self.meta is None else self.meta.iloc[rows].reset_index(drop=True)
        return replace(
            self, ids=self.ids[rows], X=self.X[rows], observed=self.observed[rows],
            log_fold=self.log_fold[rows], labels=self.labels[rows],
            groups=None if self.groups is None else self.groups[rows], meta=meta,
        )

    def select_drugs(self, drugs: list[str]) -> "Dataset":
        idx = [self.drugs.index(d) for d in drugs]
        return replace(self, drugs=list(drugs), log_fold=self.log_fold[:, idx],
                       labels=self.labels[:, idx])
