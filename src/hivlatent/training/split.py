"""Seeded train/validation splits."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def train_val_split(n_rows: int, val_fraction: float, seed: int,
                    stratify: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row indices for training and validation. Stratified by ``stratify`` (for example the
    number of drugs a virus is resistant to) when given and every class has two rows or more."""
    rows = np.arange(n_rows)
    if val_fraction <= 0:
        return rows, rows[:0]
    if stratify is not None:
        _, counts = np.unique(stratify, return_counts=True)
        if counts.min() < 2:
            stratify = None
    train, val = train_test_split(rows, test_size=val_fraction, random_state=seed,
                                  shuffle=True, stratify=stratify)
    return np.sort(train), np.sort(val)


def resistance_strata(labels: np.ndarray) -> np.ndarray:
    """Number of drugs each virus is resistant to (missing labels count as not resistant):
    a stratum that keeps the resistance mix of the validation split close to the training one."""
    return np.nan_to_num(labels, nan=0.0).sum(axis=1).astype(int)
