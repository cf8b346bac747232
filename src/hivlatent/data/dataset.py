"""The Dataset: a design matrix of binary mutation features with per-drug phenotypes, and the
labels and cutoffs that go with it. :func:`hivlatent.data.encoding.build_dataset` makes one from a
parsed HIVDB table; feature names follow :mod:`hivlatent.data.mutations` (``M184V``, ``T69ins``,
``D67del``, ``W88*``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
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
    - ``censor``: optional (n, d) int8, the table's censoring marks per value (1 = the fold change
      is at least the value, -1 at most, 0 exact; :mod:`hivlatent.data.censoring`); None for
      tables without marks, where a value at a drug's largest value is read as "at least".
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
    censor: np.ndarray | None = field(default=None, repr=False, compare=False)

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
            censor=None if self.censor is None else self.censor[rows],
        )

    @classmethod
    def concat(cls, datasets: "Sequence[Dataset]") -> "Dataset":
        """The rows of ``datasets`` one after another (same features and drugs; the first one's
        name, cutoffs and sources; groups and metadata dropped)."""
        first = datasets[0]
        cat = lambda attr: np.concatenate([getattr(d, attr) for d in datasets])  # noqa: E731
        marked = {d.censor is not None for d in datasets}
        if len(marked) > 1:
            raise DataError("cannot join data sets with censoring marks (FoldMatch) and data sets "
                            "without: their fold changes are censored by different rules")
        return replace(first, ids=cat("ids"), X=cat("X"), observed=cat("observed"),
                       log_fold=cat("log_fold"), labels=cat("labels"), groups=None, meta=None,
                       censor=cat("censor") if marked == {True} else None)

    def select_drugs(self, drugs: list[str]) -> "Dataset":
        """Keep the drugs ``drugs`` (in that order); DataError for a drug the data set lacks."""
        drugs = [canonical_drug(d) for d in drugs]
        missing = [d for d in drugs if d not in self.drugs]
        if missing:
            where = f"{self.source}: " if self.source else ""
            raise DataError(f"{where}unknown drug {missing[0]!r} for data set {self.name!r}; "
                            f"expected one of {', '.join(self.drugs)}")
        idx = [self.drugs.index(d) for d in drugs]
        return replace(self, drugs=list(drugs), log_fold=self.log_fold[:, idx],
                       labels=self.labels[:, idx],
                       censor=None if self.censor is None else self.censor[:, idx])


# --------------------------------------------------------------------------------------------
# feature names

#: a fold change written as 0 (HIVDB rounds to one decimal, so it means < 0.05) enters
#: ``log_fold`` as log10(ZERO_FOLD); its label is 0 (below every cutoff).
ZERO_FOLD = 0.05

def canonical_drug(drug: str) -> str:
    from .hivdb_tables import drug_of_column

    return drug_of_column(str(drug)) or str(drug).strip().upper()


# --------------------------------------------------------------------------------------------
# cutoffs


def load_cutoffs(cutoffs: "Cutoffs | str | Path | None") -> Cutoffs:
    """``None`` -> the defaults; a :class:`Cutoffs` as is; a path -> :meth:`Cutoffs.from_csv`."""
    if cutoffs is None:
        return DEFAULT_CUTOFFS
    if isinstance(cutoffs, Cutoffs):
        return cutoffs
    return Cutoffs.from_csv(cutoffs)


def labels_from_folds(folds: np.ndarray, drugs: Sequence[str], cutoffs: Cutoffs,
                      censor: np.ndarray | None = None) -> np.ndarray:
    """1 = resistant (fold >= lower cutoff), 0 = not, NaN where the fold is missing or where a
    censored value leaves the label open (:func:`hivlatent.data.censoring.labels`)."""
    from .censoring import labels

    lower = np.array([cutoffs.for_drug(d)[0] for d in drugs], dtype=float)
    return labels(folds, censor, lower)


#: tolerance in log10 units when labels come from log10 fold (10**log10(3) may be 2.9999999999999996)
LOG_TOLERANCE = 1e-9


def labels_from_log_fold(log_fold: np.ndarray, drugs: Sequence[str], cutoffs: Cutoffs) -> np.ndarray:
    """As :func:`labels_from_folds` for log10 fold changes (a fold at the cutoff is resistant)."""
    log_fold = np.asarray(log_fold, dtype=float)
    lower = np.log10([cutoffs.for_drug(d)[0] for d in drugs])
    with np.errstate(invalid="ignore"):
        lab = (log_fold >= lower[None, :] - LOG_TOLERANCE).astype(float)
    lab[np.isnan(log_fold)] = np.nan
    return lab


def log10_fold(folds: np.ndarray) -> np.ndarray:
    """log10 of fold changes; 0 (below the tables' rounding) counts as :data:`ZERO_FOLD`."""
    folds = np.asarray(folds, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.log10(np.where(folds == 0, ZERO_FOLD, folds))


