"""Per-drug metrics: AUC, balanced accuracy and MCC for resistance calls; R^2 and MSE for log10 fold.

Every function takes the values of one drug on one test fold. Rows whose truth is missing (NaN)
are *excluded* (never counted as susceptible). A metric that is undefined on the given rows (AUC
or MCC with a single class present, R^2 with fewer than two rows) is NaN, not an error.

Binary metrics from a regressor: a method that only predicts log10 fold change (ridge, random
forest regression) is scored on the binary task too, by calling a virus resistant when its
*predicted* log10 fold is at or above log10 of the drug's lower cutoff (the same rule that made
the labels: resistant = fold >= cutoff). The AUC then ranks by predicted log10 fold; balanced
accuracy and MCC use the thresholded calls. See :func:`binary_metrics_from_log_fold`.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import (
    balanced_accuracy_score,
    matthews_corrcoef,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from ..data import censoring

#: metric names in display order; binary first, then regression, then calibration
CLASSIFICATION_METRICS: tuple[str, ...] = ("auc", "balanced_accuracy", "mcc")
REGRESSION_METRICS: tuple[str, ...] = ("r2", "mse")
CALIBRATION_METRICS: tuple[str, ...] = ("brier", "ece", "coverage90")
METRICS: tuple[str, ...] = CLASSIFICATION_METRICS + REGRESSION_METRICS + CALIBRATION_METRICS
#: readable names, for tables and figures
LABELS = {"auc": "AUC", "balanced_accuracy": "balanced accuracy", "mcc": "MCC",
          "r2": "R² of log10 fold change", "mse": "MSE of log10 fold change",
          "brier": "Brier score", "ece": "expected calibration error",
          "coverage90": "coverage of the 90% interval",
          "balanced_accuracy_level3": "balanced accuracy, HIVdb level >= 3",
          "balanced_accuracy_level4": "balanced accuracy, HIVdb level >= 4"}
#: bins of the expected calibration error
ECE_BINS = 10


def _known(y_true: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    y_true = np.asarray(y_true, dtype=float).ravel()
    others = tuple(np.asarray(o, dtype=float).ravel() for o in others)
    for o in others:
        if o.shape != y_true.shape:
            raise ValueError(f"shape mismatch: truth has {y_true.shape}, prediction {o.shape}")
    keep = np.isfinite(y_true)
    return (y_true[keep],) + tuple(o[keep] for o in others)


def classification_metrics(y_true: np.ndarray, score: np.ndarray, threshold: float = 0.5,
                           calls: np.ndarray | None = None) -> dict[str, float]:
    """AUC, balanced accuracy and MCC of one drug.

    ``y_true``: 1 = resistant, 0 = not, NaN = missing (those rows are dropped).
    ``score``: predicted probability of resistance (or any score that grows with resistance for
    the AUC); the call is ``score >= threshold`` (0.5 for probabilities), or ``calls`` (0/1) when
    given (a classifier whose threshold was tuned in the training folds).
    AUC and MCC are NaN when only one class is present among the known rows; balanced accuracy
    is then the recall of the present class.
    """
    if calls is None:
        calls = (np.asarray(score, dtype=float) >= threshold).astype(float)
    y, s, c = _known(y_true, score, calls)
    if np.isnan(s).any():
        raise ValueError("predicted scores contain NaN")
    if y.size == 0:
        return {m: math.nan for m in CLASSIFICATION_METRICS}
    y = y.astype(int)
    call = c.astype(int)
    both = np.unique(y).size == 2
    auc = float(roc_auc_score(y, s)) if both else math.nan
    if both:
        bacc = float(balanced_accuracy_score(y, call))
    else:  # recall of the one class present (sklearn would warn and give the same)
        bacc = float(np.mean(call == y[0]))
    mcc = float(matthews_corrcoef(y, call)) if both else math.nan
    return {"auc": auc, "balanced_accuracy": bacc, "mcc": mcc}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray,
                       codes: np.ndarray | None = None) -> dict[str, float]:
    """R^2 and MSE of predicted log10 fold change for one drug (NaN truth = untested, dropped).

    R^2 is relative to the mean of the test rows (sklearn's ``r2_score``); NaN with < 2 rows or
    a constant truth. ``codes``: the data's censoring marks (:mod:`hivlatent.data.censoring`):
    a prediction on the censored side of a bound ("at least" a value and predicted above it)
    is no error. Without marks every value counts as measured.
    """
    if codes is None:
        y, p = _known(y_true, y_pred)
    else:
        y, p, codes = _known(y_true, y_pred, np.asarray(codes, dtype=float))
    if np.isnan(p).any():
        raise ValueError("predicted log10 fold contains NaN")
    if y.size == 0:
        return {"r2": math.nan, "mse": math.nan}
    if codes is not None:
        err = censoring.residual(p, y, codes)
        mse = float(np.mean(err ** 2))
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        r2 = 1.0 - float(np.sum(err ** 2)) / ss_tot if y.size >= 2 and ss_tot > 0 else math.nan
        return {"r2": r2, "mse": mse}
    mse = float(mean_squared_error(y, p))
    r2 = float(r2_score(y, p)) if y.size >= 2 and np.ptp(y) > 0 else math.nan
    return {"r2": r2, "mse": mse}


def binary_metrics_from_log_fold(y_true: np.ndarray, pred_log_fold: np.ndarray,
                                 cutoff: float) -> dict[str, float]:
    """Binary metrics of a regression-only method, derived from its predicted log10 fold.

    A virus is called resistant when ``pred_log_fold >= log10(cutoff)`` (``cutoff`` is the drug's
    lower fold-change cutoff, as in ``Dataset.cutoffs``), which is the rule that defines the
    labels. The AUC ranks by the predicted log10 fold itself. ``y_true`` holds the labels
    (1 = resistant, NaN = missing and dropped).
    """
    if not cutoff > 0:
        raise ValueError(f"fold-change cutoff must be > 0, got {cutoff}")
    return classification_metrics(y_true, pred_log_fold, threshold=math.log10(cutoff))


def calibration_metrics(y_true: np.ndarray, p: np.ndarray, bins: int = ECE_BINS
                        ) -> dict[str, float]:
    """Brier score and expected calibration error (``bins`` equal-width bins of p, weighted by
    their share of rows) of predicted probabilities of resistance for one drug."""
    y, q = _known(y_true, p)
    if y.size == 0:
        return {"brier": math.nan, "ece": math.nan}
    which = np.minimum((q * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(q[sel].mean() - y[sel].mean())
    return {"brier": float(np.mean((q - y) ** 2)), "ece": float(ece)}


def reliability(y_true: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """(bins, 3): mean predicted probability, observed resistant fraction, rows, per bin."""
    y, q = _known(y_true, p)
    which = np.minimum((q * bins).astype(int), bins - 1)
    out = np.full((bins, 3), np.nan)
    for b in range(bins):
        sel = which == b
        out[b] = (q[sel].mean(), y[sel].mean(), sel.sum()) if sel.any() else (np.nan, np.nan, 0)
    return out


def interval_coverage(y_true: np.ndarray, low: np.ndarray, high: np.ndarray, cap: float,
                      codes: np.ndarray | None = None) -> float:
    """The fraction of measured log10 fold changes inside [low, high]. With the data's
    censoring marks (``codes``), a bound counts as covered when the interval reaches past it;
    without marks, a value at the reporting limit ``cap`` (log10; "at least this") counts as
    covered when ``high`` reaches the cap."""
    if codes is not None:
        y, lo, hi, c = _known(y_true, low, high, np.asarray(codes, dtype=float))
        return float(censoring.covered(lo, hi, y, c).mean()) if y.size else math.nan
    y, lo, hi = _known(y_true, low, high)
    if y.size == 0:
        return math.nan
    censored = y >= cap - 1e-6
    inside = np.where(censored, hi >= cap - 1e-6, (y >= lo) & (y <= hi))
    return float(inside.mean())
