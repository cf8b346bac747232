"""Cross-validation folds: per drug, seeded, stratified, optionally grouped.

For drug j the folds split the rows whose label j is known (``StratifiedKFold`` on label j, or
``StratifiedGroupKFold`` when groups are given, so related sequences never straddle train and
test). Different drugs therefore get different folds. Regression targets (log10 fold) use the
same folds, restricted to the rows where drug j was tested.

Each :class:`Fold` carries three row sets (indices into the dataset):

- ``test``: the held-out rows with label j known;
- ``train``: the other rows with label j known (what a per-drug probe is fit on);
- ``fit_rows``: every row a representation or multi-task predictor may learn from for this
  fold: all rows outside ``test`` (also rows where drug j was not tested, which carry NaN
  labels), minus, in grouped mode, every row that shares a group with a test row. Test rows of
  drug j never appear in it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Union

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from ..data.dataset import Dataset
from ..errors import ConfigError

#: how to group rows: None (dataset.groups if any), False, True, a meta column name, or ids
GroupsSpec = Union[None, bool, str, np.ndarray]


@dataclass(frozen=True, eq=False)
class Fold:
    """One train/test split for one drug (row indices into the full dataset, sorted)."""

    drug: str
    drug_index: int
    fold: int
    train: np.ndarray
    test: np.ndarray
    fit_rows: np.ndarray

    def key(self) -> bytes:
        """Identity of the training set of representations/predictors (for deduplication)."""
        return self.fit_rows.astype(np.int64).tobytes()

    def __repr__(self) -> str:
        return (f"Fold(drug={self.drug!r}, fold={self.fold}, train={self.train.size}, "
                f"test={self.test.size}, fit_rows={self.fit_rows.size})")


def resolve_groups(dataset: Dataset, groups: GroupsSpec) -> np.ndarray | None:
    """The (n,) group ids to split by, or None for ungrouped folds.

    ``None``: ``dataset.groups`` when the dataset has them, else ungrouped. ``False``: ungrouped
    even if the dataset has groups. ``True``: ``dataset.groups`` (error if absent). A string: that
    column of ``dataset.meta``. An array: one id per row. Rows whose id is missing (None/NaN)
    each form their own group.
    """
    if groups is None:
        values = dataset.groups
        if values is None:
            return None
    elif groups is False:
        return None
    elif groups is True:
        if dataset.groups is None:
            raise ConfigError(f"grouped folds asked for, but data set {dataset.name!r} has no groups")
        values = dataset.groups
    elif isinstance(groups, str):
        if dataset.meta is None or groups not in dataset.meta.columns:
            have = [] if dataset.meta is None else list(dataset.meta.columns)
            raise ConfigError(f"group column {groups!r} not in the metadata of data set "
                              f"{dataset.name!r}; available: {', '.join(map(str, have)) or 'none'}")
        values = dataset.meta[groups].to_numpy()
    else:
        values = np.asarray(groups)
    values = np.asarray(values, dtype=object).ravel()
    if values.shape[0] != dataset.n_rows:
        raise ConfigError(f"groups have {values.shape[0]} entries, data set has {dataset.n_rows} rows")
    ids = np.empty(values.shape[0], dtype=np.int64)
    codes: dict[object, int] = {}
    for i, v in enumerate(values):
        missing = v is None or (isinstance(v, float) and np.isnan(v))
        key = ("__row__", i) if missing else v
        ids[i] = codes.setdefault(key, len(codes))
    return ids


def make_folds(dataset: Dataset, n_splits: int = 5, seed: int = 0,
               groups: GroupsSpec = None,
               drugs: list[str] | None = None) -> list[Fold]:
    """Per-drug stratified (optionally grouped) k-fold splits, deterministic for a given seed.

    Returns ``len(drugs) * n_splits`` folds, drug-major in ``dataset.drugs`` order. A drug with
    fewer than ``n_splits`` known labels is skipped with a warning. ``groups``: see
    :func:`resolve_groups` (None = use ``dataset.groups`` when present).
    """
    if int(n_splits) < 2:
        raise ConfigError(f"folds must be >= 2, got {n_splits}")
    n_splits = int(n_splits)
    group_ids = resolve_groups(dataset, groups)
    drugs = list(dataset.drugs) if drugs is None else list(drugs)
    all_rows = np.arange(dataset.n_rows)
    out: list[Fold] = []
    for drug in drugs:
        if drug not in dataset.drugs:
            raise ConfigError(f"unknown drug {drug!r}; data set has {', '.join(dataset.drugs)}")
        j = dataset.drugs.index(drug)
        known = np.flatnonzero(np.isfinite(dataset.labels[:, j]))
        y = dataset.labels[known, j].astype(int)
        n_units = known.size if group_ids is None else np.unique(group_ids[known]).size
        if n_units < n_splits:
            unit = "rows" if group_ids is None else "groups"
            warnings.warn(f"{drug}: only {n_units} labelled {unit} for {n_splits} folds; "
                          "drug skipped", stacklevel=2)
            continue
        with warnings.catch_warnings():
            # a rare class (fewer members than folds) is allowed; sklearn warns about it
            warnings.filterwarnings("ignore", message=".*least populated class.*")
            if group_ids is None:
                splitter = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
                splits = list(splitter.split(known, y))
            else:
                splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
                splits = list(splitter.split(known, y, group_ids[known]))
        for k, (tr, te) in enumerate(splits):
            train, test = np.sort(known[tr]), np.sort(known[te])
            excluded = np.zeros(dataset.n_rows, dtype=bool)
            excluded[test] = True
            if group_ids is not None:
                excluded |= np.isin(group_ids, np.unique(group_ids[test]))
            out.append(Fold(drug=drug, drug_index=j, fold=k, train=train, test=test,
                            fit_rows=all_rows[~excluded]))
    return out


def distinct_fit_sets(folds: list[Fold]) -> tuple[list[np.ndarray], list[int]]:
    """Deduplicate the folds' ``fit_rows``: (distinct row sets, index of each fold's set)."""
    index: dict[bytes, int] = {}
    sets: list[np.ndarray] = []
    which: list[int] = []
    for f in folds:
        k = f.key()
        if k not in index:
            index[k] = len(sets)
            sets.append(f.fit_rows)
        which.append(index[k])
    return sets, which


def repeated_folds(dataset: Dataset, n_splits: int = 5, repeats: int = 3, seed: int = 0,
                   groups: GroupsSpec = None, drugs: list[str] | None = None,
                   first_repeat: int = 0) -> list[Fold]:
    """:func:`make_folds` ``repeats`` times with seeds ``seed``, ``seed + 1``, ...; the folds of
    repeat r are numbered ``r * n_splits + k``, so every (drug, fold) is one split.
    ``first_repeat``: start at repeat r = first_repeat (seed ``seed + first_repeat``), to add
    repeats to an earlier run: its folds are exactly those repeats of a run from repeat 0."""
    if int(repeats) < 1:
        raise ConfigError(f"repeats must be >= 1, got {repeats}")
    if int(first_repeat) < 0:
        raise ConfigError(f"the first repeat must be >= 0, got {first_repeat}")
    out: list[Fold] = []
    for r in range(int(first_repeat), int(first_repeat) + int(repeats)):
        for f in make_folds(dataset, n_splits, seed + r, groups, drugs):
            out.append(Fold(f.drug, f.drug_index, r * int(n_splits) + f.fold, f.train, f.test,
                            f.fit_rows))
    return out
