"""Seeded train/validation splits."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def train_val_split(n_rows: int, val_fraction: float, seed: int,
                    stratify: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row indices for training and validation. Stratified by ``stratify`` (for example the
    number of drugs a virus is resistant to) when given and every class has two rows or more."""
    rows = np.arange(n_rows)
    if val_fraction <= 0:
        return rows, rows[:0]
    n_val = int(np.ceil(val_fraction * n_rows))
    if stratify is not None:
        _, counts = np.unique(stratify, return_counts=True)
        if counts.min() < 2 or len(counts) > min(n_val, n_rows - n_val):
            stratify = None
    if n_rows - n_val < 1 or n_val < 1:
        raise ConfigError(f"validation fraction {val_fraction:g} of {n_rows} rows leaves "
                          f"{n_rows - n_val} for training and {n_val} for validation; expected "
                          "at least one of each")
    from sklearn.model_selection import train_test_split  # ~1 s of imports: only here

    train, val = train_test_split(rows, test_size=val_fraction, random_state=seed,
                                  shuffle=True, stratify=stratify)
    return np.sort(train), np.sort(val)


def resistance_strata(labels: np.ndarray) -> np.ndarray:
    """Number of drugs each virus is resistant to (missing labels count as not resistant):
    a stratum that keeps the resistance mix of the validation split close to the training one."""
    return np.nan_to_num(labels, nan=0.0).sum(axis=1).astype(int)


def member_folds(n_rows: int, k: int, seed: int,
                 stratify: np.ndarray | None = None) -> list[np.ndarray]:
    """``k`` folds of ``range(n_rows)`` (stratified by ``stratify`` when every class has ``k``
    rows or more), seeded: ensemble member i validates on fold i."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if n_rows < 2 * k:
        raise ConfigError(f"{k} ensemble members validating on their own folds need at least "
                          f"{2 * k} rows; got {n_rows}")
    rows = np.arange(n_rows)
    if stratify is not None and np.unique(stratify, return_counts=True)[1].min() >= k:
        split = StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, stratify)
    else:
        split = KFold(k, shuffle=True, random_state=seed).split(rows)
    return [np.sort(te) for _, te in split]
