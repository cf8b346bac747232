"""Per-epoch loss history: per sample, reconstruction summed over features, KL over latent dims."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["epoch", "beta", "train_loss", "train_recon", "train_kl", "train_sup",
           "val_loss", "val_recon", "val_kl", "val_sup"]


def history_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype({"epoch": int})


def best_epoch(history: pd.DataFrame) -> int:
    """1-based epoch of the lowest validation loss (training loss when there is no validation)."""
    col = "val_loss" if history["val_loss"].notna().any() else "train_loss"
    values = history[col].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return 0
    return int(history["epoch"].iloc[int(np.nanargmin(np.where(np.isfinite(values), values, np.nan)))])
