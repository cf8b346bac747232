"""How well a fixed latent space separates resistant from susceptible viruses, per drug:
silhouette of the two label groups, and the cross-validated AUC of a linear probe.

These measure a representation that was already learned (without labels); the leakage-free
comparison, with the representation learned inside each training fold, is ``evaluate``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_score

from .probes import linear_probe


def separation_table(latent: np.ndarray, labels: np.ndarray, drugs: list[str],
                     folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Per drug: resistant count, silhouette (-1..1) and linear-probe AUC (mean and std over folds)."""
    rows = []
    for j, drug in enumerate(drugs):
        known = ~np.isnan(labels[:, j])
        z, y = latent[known], labels[known, j].astype(int)
        if len(np.unique(y)) < 2 or min(np.bincount(y)) < folds:
            rows.append({"drug": drug, "n": int(known.sum()), "resistant": int(y.sum()),
                         "silhouette": np.nan, "probe_auc": np.nan, "probe_auc_std": np.nan})
            continue
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        auc = cross_val_score(linear_probe(), z, y, cv=cv, scoring="roc_auc")
        rows.append({"drug": drug, "n": int(known.sum()), "resistant": int(y.sum()),
                     "silhouette": float(silhouette_score(z, y, random_state=seed)),
                     "probe_auc": float(auc.mean()), "probe_auc_std": float(auc.std())})
    return pd.DataFrame(rows)
