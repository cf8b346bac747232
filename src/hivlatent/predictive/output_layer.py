"""The semi-supervised model's answer per drug: one predictive distribution of log10 fold change.

Fitted after the VAE ensemble, on out-of-fold predictions only (each training row predicted by
the ensemble member that held it out for validation, by the out-of-bag trees of the forest and
by a 5-fold split for the ridge):

1. per drug, a random forest (:mod:`.forest`) and a ridge regression (:mod:`.linear`) on the raw
   mutations, and the weights ``w_h, w_f, w_r`` (non-negative, summing to 1, steps of 0.05) of
   the blend ``w_h * heads + w_f * forest + w_r * ridge`` with the least (censored) squared
   error;
2. per drug, the residual sd ``s`` of the blend: the maximum-likelihood sd of a normal with
   censored values (Tobit): a value marked "at least" contributes P(fold >= it), one marked "at
   most" P(fold <= it) (the table's marks, or for tables without marks a value at the drug's
   largest value read as "at least"; :mod:`hivlatent.data.censoring`);
3. per drug, a scale ``k`` that makes the central 90% interval cover 90% of the out-of-fold
   values (a censored value is covered when the interval reaches past its bound);
4. per drug, P(resistant) recalibrated on the same out-of-fold predictions when that makes
   better calls there (:mod:`.calibration`; kept only where it wins, cross-fitted).

The predictive distribution of a virus is then normal with mean ``w_h * mean(heads) + w_f *
forest + w_r * ridge`` and sd ``k * sqrt(w_h² * var(heads over members) + s²)``; P(resistant) is
``Phi(z)`` or, for a recalibrated drug, ``expit(a + b z)``, with ``z = (mean - log10 lower
cutoff) / sd``; the call is I or R exactly when P(resistant) > 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import log_ndtr

from ..data import censoring
from .calibration import Recalibration, choose
from .distribution import capped_interval
from .forest import Forest
from .linear import Linear

#: the step of the blend weights
BLEND_STEP = 0.05
#: the interval whose coverage the scale targets, and the range of the scale
TARGET_COVERAGE = 0.90
SCALES = np.round(np.arange(0.2, 2.001, 0.01), 2)
#: the least residual sd (log10), and the sd of a drug with too few rows to measure one
MIN_SD, FALLBACK_SD = 0.05, 0.3
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def censored_sd(resid: np.ndarray, codes: np.ndarray, between: np.ndarray) -> float:
    """The maximum-likelihood residual sd ``s`` (log10) of residuals ``y - mu``, with variance
    ``between + s²`` per row; a row coded "at least" (:data:`~hivlatent.data.censoring.AT_LEAST`)
    contributes P(Y >= y) = Phi(-z), one coded "at most" P(Y <= y) = Phi(z), an exact one the
    normal density."""
    best, ll_best = FALLBACK_SD, -np.inf
    for s in np.exp(np.linspace(np.log(MIN_SD), np.log(3.0), 120)):
        sd = np.sqrt(between + s * s)
        z = resid / sd
        ll = np.where(codes == censoring.AT_LEAST, log_ndtr(-z),
                      np.where(codes == censoring.AT_MOST, log_ndtr(z),
                               -0.5 * z * z - _LOG_SQRT_2PI - np.log(sd))).sum()
        if ll > ll_best:
            best, ll_best = float(s), ll
    return best


def coverage(mu, sd, y, cap, level: float = TARGET_COVERAGE, codes=None) -> float:
    """Coverage of the central ``level`` interval of normal(mu, sd) capped at ``cap``; a censored
    value (``codes``, default: a value at the cap is "at least") counts as covered when the
    interval reaches past its bound."""
    lo, hi = capped_interval(mu, sd, cap, level)
    if codes is None:
        codes = censoring.from_caps(np.reshape(y, (-1, 1)), np.reshape(cap, (1,))).ravel()
    return float(np.mean(censoring.covered(lo, hi, y, codes)))


def blend_weights(parts: list[np.ndarray], y: np.ndarray, cap: float,
                  codes: np.ndarray | None = None) -> tuple[float, ...]:
    """The weights (non-negative, summing to 1, in steps of ``BLEND_STEP``) of the predictions
    ``parts`` (each (n,)) whose blend has the least squared error to ``y``, a censored value
    (``codes``, default: a value at the reporting limit ``cap`` is "at least") costing nothing
    on its censored side. Ties go to the earlier parts (the heads first)."""
    steps = int(round(1 / BLEND_STEP))
    P = np.stack(parts)                                         # (m, n)
    if codes is None:
        codes = censoring.from_caps(y[:, None], np.array([cap])).ravel()
    best, err = (1.0,) + (0.0,) * (len(parts) - 1), np.inf
    for combo in _simplex(len(parts), steps):
        w = np.array(combo) / steps
        e = float(np.mean(censoring.residual(np.minimum(w @ P, cap), y, codes) ** 2))
        if e < err - 1e-12:
            best, err = tuple(float(v) for v in w), e
    return best


def _simplex(m: int, total: int):
    """All m-tuples of non-negative integers summing to ``total``, the first part largest first."""
    if m == 1:
        yield (total,)
        return
    for first in range(total, -1, -1):
        for rest in _simplex(m - 1, total - first):
            yield (first, *rest)


@dataclass
class OutputLayer:
    """Per drug: the forest and the ridge (or None), the blend weights of the heads
    (``weight``) and of the ridge (``linear_weight``; the forest has the rest), the residual sd
    and the scale."""

    forests: dict[str, Forest | None] = field(default_factory=dict)
    linears: dict[str, Linear | None] = field(default_factory=dict)
    weight: dict[str, float] = field(default_factory=dict)
    linear_weight: dict[str, float] = field(default_factory=dict)
    sd: dict[str, float] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    #: drugs whose P(resistant) is recalibrated (:mod:`.calibration`); the others use Phi(z)
    recalibration: dict[str, Recalibration] = field(default_factory=dict)
    #: after ``fit`` only (not saved): per drug the out-of-fold mean and the measured log10 fold
    #: of the training rows it was measured on, for diagnostics (benchmarks/operating_point.py)
    out_of_fold: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict,
                                                                  repr=False)

    @classmethod
    def fit(cls, drugs, X: np.ndarray, y: np.ndarray, oof: np.ndarray, between: np.ndarray,
            caps: np.ndarray, forest: bool, seed: int = 0, lower: np.ndarray | None = None,
            censor: np.ndarray | None = None) -> "OutputLayer":
        """``X`` (n, p) training rows, ``y`` (n, d) their log10 fold changes (NaN = untested),
        ``oof`` (n, d) the heads' out-of-fold predictions (NaN where none), ``between`` (n, d)
        the members' variance, ``caps`` (d,) the reporting limits (log10), ``lower`` (d,) the
        lower cutoffs (log10; None: no recalibration of P(resistant)), ``censor`` (n, d) the
        censoring codes of ``y`` (None: a value at its cap is "at least";
        :mod:`hivlatent.data.censoring`)."""
        out = cls()
        codes_all = censoring.effective(y, censor, caps)
        for j, drug in enumerate(drugs):
            rows = np.isfinite(y[:, j])
            out.forests[drug], out.linears[drug] = None, None
            out.weight[drug], out.linear_weight[drug] = 1.0, 0.0
            if rows.sum() < 10:
                out.sd[drug], out.scale[drug] = FALLBACK_SD, 1.0
                continue
            yj, cap, cj = y[rows, j], float(caps[j]), codes_all[rows, j]
            heads, var = oof[rows, j], between[rows, j]
            have = np.isfinite(heads)
            mu = heads
            if forest and have.sum() >= 10:
                f, f_oof = Forest.fit(X[rows], yj, seed)
                r, r_oof = Linear.fit(X[rows], yj, seed)
                w_h, w_f, w_r = blend_weights([heads[have], f_oof[have], r_oof[have]],
                                              yj[have], cap, cj[have])
                out.forests[drug] = f if w_f > 0 else None
                out.linears[drug] = r if w_r > 0 else None
                out.weight[drug], out.linear_weight[drug] = w_h, w_r
                mu = w_h * heads + w_f * f_oof + w_r * r_oof
            w = out.weight[drug]
            ok = np.isfinite(mu)
            if ok.sum() < 10:        # no held-out predictions (e.g. trained without validation
                out.sd[drug], out.scale[drug] = FALLBACK_SD, 1.0   # rows): nothing to measure
                continue
            mu, yk, vk, ck = np.minimum(mu[ok], cap), yj[ok], (w * w) * var[ok], cj[ok]
            s = censored_sd(yk - mu, ck, vk)
            sd = np.sqrt(vk + s * s)
            covers = [coverage(mu, k * sd, yk, cap, codes=ck) for k in SCALES]
            k = next((float(k) for k, c in zip(SCALES, covers) if c >= TARGET_COVERAGE),
                     float(SCALES[-1]))
            out.sd[drug], out.scale[drug] = s, k
            out.out_of_fold[drug] = (mu, yk)
            if lower is not None:
                cut = float(lower[j])
                resistant = yk >= cut - 1e-9
                known = ~(((ck == censoring.AT_LEAST) & ~resistant)     # a bound that leaves
                          | ((ck == censoring.AT_MOST) & resistant))    # the label open
                r = choose(((mu - cut) / (k * sd))[known], resistant[known], seed)
                if r is not None:
                    out.recalibration[drug] = r
        return out

    def predict(self, drugs, member_folds: np.ndarray, X: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd (n, d) from the members' head predictions (K, n, d) and the rows X."""
        mean = member_folds.mean(0)
        var = member_folds.var(0) if member_folds.shape[0] > 1 else np.zeros_like(mean)
        mu, sd = np.empty_like(mean), np.empty_like(mean)
        for j, drug in enumerate(drugs):
            w = self.weight.get(drug, 1.0)
            f = self.forests.get(drug)
            r, w_r = self.linears.get(drug), self.linear_weight.get(drug, 0.0)
            mu[:, j] = w * mean[:, j]
            if f is not None:
                mu[:, j] += (1 - w - w_r) * f.predict(X)
            if r is not None:
                mu[:, j] += w_r * r.predict(X)
            s = self.sd.get(drug, FALLBACK_SD)
            sd[:, j] = self.scale.get(drug, 1.0) * np.sqrt((w * w) * var[:, j] + s * s)
        return mu, sd
