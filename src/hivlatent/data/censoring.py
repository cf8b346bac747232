"""Censored fold changes: where a measured value is a bound, not the value.

An assay reports fold changes within limits. A value marked ``>`` (HIVDB's ``<drug>FoldMatch``
columns, the INSTI table) means "at least this" (right-censored), ``<`` "at most this"
(left-censored). Censoring is coded per value as ``1`` (at least), ``-1`` (at most) and ``0``
(exact); :attr:`hivlatent.data.dataset.Dataset.censor` holds the codes where the table carries
them.

Tables without marks (the NRTI, NNRTI and PI tables here) cap values at the assay's limit without
saying so (511 of the 1246 study viruses read exactly 200 for 3TC): there a value at a drug's
largest value is read as right-censored (:func:`from_caps`), the only sign of the limit those
tables hold.

Every part that compares a prediction with a measured value uses :func:`effective` and
:func:`residual`: the model's training loss, its output layer (blend, residual sd, interval
scale), and the evaluation's errors and interval coverage, so that a prediction on the censored
side of a bound counts as no error.
"""

from __future__ import annotations

import numpy as np

#: codes of one value: exact, at least (right-censored), at most (left-censored)
EXACT, AT_LEAST, AT_MOST = 0, 1, -1
#: log10 tolerance for a value to count as at a drug's largest value
CAP_TOL = 1e-6


def from_caps(log_fold: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """The codes of the tables without marks: :data:`AT_LEAST` where a value reaches its drug's
    reporting limit ``caps`` (log10, (d,)), else :data:`EXACT` (missing values too)."""
    y = np.asarray(log_fold, dtype=float)
    with np.errstate(invalid="ignore"):
        at_cap = y >= np.asarray(caps, dtype=float)[None, :] - CAP_TOL
    return np.where(at_cap & np.isfinite(y), AT_LEAST, EXACT).astype(np.int8)


def effective(log_fold: np.ndarray, censor: np.ndarray | None,
              caps: np.ndarray | None = None) -> np.ndarray:
    """The censoring codes to use: the data's own marks when it has them (``censor``), else
    :func:`from_caps` with ``caps`` (default: each drug's largest value in ``log_fold``)."""
    if censor is not None:
        return np.asarray(censor, dtype=np.int8)
    y = np.asarray(log_fold, dtype=float)
    if caps is None:
        caps = largest(y)
    return from_caps(y, caps)


def largest(log_fold: np.ndarray) -> np.ndarray:
    """Each drug's largest log10 value (+inf for a drug without values)."""
    y = np.asarray(log_fold, dtype=float)
    if y.size == 0:
        return np.full(y.shape[-1], np.inf)
    with np.errstate(invalid="ignore"):
        top = np.where(np.isfinite(y), y, -np.inf).max(0)
    return np.where(np.isfinite(top), top, np.inf)


def residual(pred: np.ndarray, y: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``pred - y`` where it is an error: 0 where the prediction lies on the censored side of a
    bound (above an "at least" value, below an "at most" one)."""
    d = np.asarray(pred, dtype=float) - np.asarray(y, dtype=float)
    codes = np.asarray(codes)
    d = np.where(codes == AT_LEAST, np.minimum(d, 0.0), d)
    return np.where(codes == AT_MOST, np.maximum(d, 0.0), d)


def covered(low: np.ndarray, high: np.ndarray, y: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Whether the interval [low, high] is consistent with each measured value: it holds an exact
    value, reaches above an "at least" value, reaches below an "at most" one."""
    low, high, y = (np.asarray(a, dtype=float) for a in (low, high, y))
    codes = np.asarray(codes)
    inside = (y >= low) & (y <= high)
    return np.where(codes == AT_LEAST, high >= y - CAP_TOL,
                    np.where(codes == AT_MOST, low <= y + CAP_TOL, inside))


def labels(fold: np.ndarray, codes: np.ndarray | None, lower: np.ndarray) -> np.ndarray:
    """1 = resistant (fold >= the drug's lower cutoff), 0 = not, NaN where the fold is missing or
    a bound leaves the label open (at least a value below the cutoff, at most one at or above
    it). ``fold`` (n, d) fold changes, ``lower`` (d,) cutoffs."""
    fold = np.asarray(fold, dtype=float)
    with np.errstate(invalid="ignore"):
        resistant = fold >= np.asarray(lower, dtype=float)[None, :]
    lab = resistant.astype(float)
    lab[np.isnan(fold)] = np.nan
    if codes is not None:
        codes = np.asarray(codes)
        lab[(codes == AT_LEAST) & ~resistant] = np.nan
        lab[(codes == AT_MOST) & resistant] = np.nan
    return lab
