"""Cross-validation folds: seeded, stratified, optionally grouped, in one of two schemes.

- ``shared`` (the default since 0.4): one assignment of the viruses to folds for every drug,
  stratified on the drugs' joint label pattern (``StratifiedKFold`` on the pattern of resistant,
  susceptible and untested over the drugs, or ``StratifiedGroupKFold`` when groups are given, so
  related sequences never straddle train and test). Fold k of drug j tests the fold's viruses
  with label j known. Every drug's fold k then has the same training set for a representation or
  a multi-task model (``fit_rows``: the viruses outside fold k), which is trained once per fold
  instead of once per drug and fold.
- ``per-drug``: for drug j the folds split the rows whose label j is known (stratified on label
  j alone). Different drugs get different folds, and a multi-task model is trained once per
  (drug, fold).

Regression targets (log10 fold) use the same folds, restricted to the rows where drug j was
tested.

Each :class:`Fold` carries three row sets (indices into the dataset):

- ``test``: the held-out rows with label j known;
- ``train``: the other rows with label j known (what a per-drug probe is fit on);
- ``fit_rows``: every row a representation or multi-task predictor may learn from for this
  fold: all rows outside the fold (per-drug: outside ``test``, so also rows where drug j was
  not tested; shared: outside every drug's test rows of fold k), minus, in grouped mode, every
  row that shares a group with a test row. Test rows of drug j never appear in it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Union

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from ..config import FOLD_SCHEME, FOLD_SCHEMES
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
               drugs: list[str] | None = None, scheme: str = FOLD_SCHEME) -> list[Fold]:
    """Stratified (optionally grouped) k-fold splits, deterministic for a given seed.

    Returns up to ``len(drugs) * n_splits`` folds, drug-major in ``dataset.drugs`` order. A drug
    with fewer than ``n_splits`` known labels is skipped with a warning. ``groups``: see
    :func:`resolve_groups` (None = use ``dataset.groups`` when present). ``scheme``: "shared"
    (one fold assignment for every drug, stratified on the joint label pattern over every drug
    of the data set, whatever ``drugs`` asks for) or "per-drug" (see the module docstring).
    """
    if int(n_splits) < 2:
        raise ConfigError(f"folds must be >= 2, got {n_splits}")
    if scheme not in FOLD_SCHEMES:
        raise ConfigError(f"fold scheme {scheme!r}: expected one of {', '.join(FOLD_SCHEMES)}")
    n_splits = int(n_splits)
    group_ids = resolve_groups(dataset, groups)
    drugs = list(dataset.drugs) if drugs is None else list(drugs)
    for drug in drugs:
        if drug not in dataset.drugs:
            raise ConfigError(f"unknown drug {drug!r}; data set has {', '.join(dataset.drugs)}")
    usable = [d for d in drugs if _enough(dataset, d, n_splits, group_ids)]
    if scheme == "shared":
        return [f for f in _shared_folds(dataset, n_splits, seed, group_ids) if f.drug in usable]
    all_rows = np.arange(dataset.n_rows)
    out: list[Fold] = []
    for drug in usable:
        j = dataset.drugs.index(drug)
        known = np.flatnonzero(np.isfinite(dataset.labels[:, j]))
        y = dataset.labels[known, j].astype(int)
        splits = _split(n_splits, seed, known, y, group_ids)
        for k, (tr, te) in enumerate(splits):
            train, test = np.sort(known[tr]), np.sort(known[te])
            out.append(Fold(drug=drug, drug_index=j, fold=k, train=train, test=test,
                            fit_rows=all_rows[~_excluded(dataset.n_rows, test, group_ids)]))
    return out


def _enough(dataset: Dataset, drug: str, n_splits: int, group_ids: np.ndarray | None) -> bool:
    """Whether ``drug`` has at least ``n_splits`` labelled rows (groups); warns when not."""
    known = np.isfinite(dataset.labels[:, dataset.drugs.index(drug)])
    n_units = known.sum() if group_ids is None else np.unique(group_ids[known]).size
    if n_units < n_splits:
        unit = "rows" if group_ids is None else "groups"
        warnings.warn(f"{drug}: only {n_units} labelled {unit} for {n_splits} folds; "
                      "drug skipped", stacklevel=3)
        return False
    return True


def _split(n_splits: int, seed: int, rows: np.ndarray, y: np.ndarray,
           group_ids: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) positions into ``rows``: stratified on ``y``, grouped when ids are given."""
    with warnings.catch_warnings():
        # a rare class (fewer members than folds) is allowed; sklearn warns about it
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        if group_ids is None:
            splitter = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
            return list(splitter.split(rows, y))
        splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
        return list(splitter.split(rows, y, group_ids[rows]))


def _excluded(n_rows: int, test: np.ndarray, group_ids: np.ndarray | None) -> np.ndarray:
    """Rows a model of this fold may not learn from: the test rows and their groups' rows."""
    excluded = np.zeros(n_rows, dtype=bool)
    excluded[test] = True
    if group_ids is not None:
        excluded |= np.isin(group_ids, np.unique(group_ids[test]))
    return excluded


def label_patterns(labels: np.ndarray) -> np.ndarray:
    """One integer per row for its joint label pattern (resistant, susceptible or untested for
    each drug column of ``labels``), numbered in the patterns' sorted order."""
    states = np.where(np.isnan(labels), 2, labels).astype(np.int64)
    _, codes = np.unique(states, axis=0, return_inverse=True)
    return codes.ravel()


def _shared_folds(dataset: Dataset, n_splits: int, seed: int,
                  group_ids: np.ndarray | None) -> list[Fold]:
    """One split of the rows with any label known, stratified on their joint label pattern over
    every drug of the data set (so the folds do not depend on the drugs asked for); fold k of
    drug j tests the fold's rows with label j known."""
    labels = dataset.labels
    rows = np.flatnonzero(np.isfinite(labels).any(axis=1))
    splits = _split(n_splits, seed, rows, label_patterns(labels[rows]), group_ids)
    all_rows = np.arange(dataset.n_rows)
    per_fold = []
    for _, te in splits:
        fold_rows = np.sort(rows[te])
        per_fold.append((fold_rows, all_rows[~_excluded(dataset.n_rows, fold_rows, group_ids)]))
    out: list[Fold] = []
    for j, drug in enumerate(dataset.drugs):
        known = np.isfinite(labels[:, j])
        for k, (fold_rows, fit_rows) in enumerate(per_fold):
            test = fold_rows[known[fold_rows]]
            if test.size == 0:                    # a drug tested on very few viruses
                continue
            out.append(Fold(drug=drug, drug_index=j, fold=k, train=fit_rows[known[fit_rows]],
                            test=test, fit_rows=fit_rows))
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
                   first_repeat: int = 0, scheme: str = FOLD_SCHEME) -> list[Fold]:
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
        for f in make_folds(dataset, n_splits, seed + r, groups, drugs, scheme):
            out.append(Fold(f.drug, f.drug_index, r * int(n_splits) + f.fold, f.train, f.test,
                            f.fit_rows))
    return out
