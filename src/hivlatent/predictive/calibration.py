"""Per drug, P(resistant) recalibrated on the training rows' out-of-fold predictions, when that
makes better calls there.

The output layer (:mod:`.output_layer`) gives each virus a normal predictive distribution of log10
fold change, and P(resistant) = Phi(z) with ``z = (mu - log10 lower cutoff) / sd``. On a drug
where resistance is rare (DRV among the PIs) the fold change is shrunk towards the susceptible
majority and that P is too low near the cutoff. Platt scaling on the probit scale,
``P = expit(intercept + slope * z)``, fitted by an (unpenalised) logistic regression of
"resistant" on ``z`` over the training rows' out-of-fold predictions, corrects it.

It is used for a drug only when it wins there beyond chance: the call ``P > 0.5`` with the
recalibration cross-fitted (fitted on four fifths of the out-of-fold rows, scored on the fifth,
stratified, seeded) must have a higher balanced accuracy than the call as given (``z >= 0``),
and the lower one-sided 95% bound of that gain, by a paired bootstrap of the rows within each
class, must be above 0. (An earlier rule asked for 100 viruses of each class and a gain above
0.005: it kept RPV, 146 training viruses, from a recalibration that lost 0.05 on held-out
viruses, but it also kept DRV from one that gained 0.05.) Otherwise the drug keeps
``P = Phi(z)``. Either way the call is I or R exactly when P > 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, ndtr

#: the parts of the cross-fitted choice; the least rows of each class a fit needs; the
#: bootstrap draws and the one-sided level of the test the gain must pass
PARTS, MIN_EACH, DRAWS, LEVEL = 5, 5, 4000, 0.05
#: a predicted log10 fold this close to the cutoff counts as at the cutoff (resistant)
TOL = 1e-9


@dataclass(frozen=True)
class Recalibration:
    """P(resistant) = expit(intercept + slope * z), z = (mu - log10 lower) / sd."""

    slope: float
    intercept: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.slope) and math.isfinite(self.intercept) and self.slope > 0):
            raise ValueError(f"recalibration: expected a finite slope > 0 and a finite "
                             f"intercept, got slope {self.slope!r}, intercept {self.intercept!r}")

    def p(self, z) -> np.ndarray:
        return expit(self.intercept + self.slope * np.asarray(z, dtype=float))

    @classmethod
    def fit(cls, z: np.ndarray, resistant: np.ndarray) -> "Recalibration | None":
        """The logistic regression of ``resistant`` on ``z``; None when the rows hold fewer than
        :data:`MIN_EACH` of either class or the slope is not positive."""
        from sklearn.linear_model import LogisticRegression

        resistant = np.asarray(resistant, dtype=bool)
        if resistant.sum() < MIN_EACH or (~resistant).sum() < MIN_EACH:
            return None
        fit = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(z)[:, None], resistant)
        slope, intercept = float(fit.coef_[0, 0]), float(fit.intercept_[0])
        if not (slope > 0 and math.isfinite(slope) and math.isfinite(intercept)):
            return None
        return cls(slope, intercept)

    def to_list(self) -> list[float]:
        return [self.slope, self.intercept]


def gain_bound(resistant: np.ndarray, call: np.ndarray, other: np.ndarray, seed: int = 0,
               draws: int = DRAWS, level: float = LEVEL) -> tuple[float, float]:
    """The gain in balanced accuracy of the calls ``other`` over ``call`` on these rows, and the
    ``level`` quantile of that gain over ``draws`` paired bootstrap samples of the rows, drawn
    within each class (so each sample keeps the classes' sizes). Each row's difference is
    -1, 0 or +1 (it lost, kept or gained a correct call), so a sample is drawn as the counts of
    the three (multinomial), without materialising the rows."""
    resistant = np.asarray(resistant, dtype=bool)
    call, other = np.asarray(call, dtype=bool), np.asarray(other, dtype=bool)
    rng = np.random.default_rng(seed)
    gain, samples = 0.0, np.zeros(draws)
    for cls in (True, False):
        rows = resistant == cls
        n = int(rows.sum())
        if n == 0:
            continue
        right_other = other[rows] == cls
        right_call = call[rows] == cls
        d = right_other.astype(int) - right_call.astype(int)
        p = np.array([(d == -1).mean(), (d == 0).mean(), (d == 1).mean()])
        gain += 0.5 * d.mean()
        counts = rng.multinomial(n, p, size=draws)
        samples += 0.5 * (counts[:, 2] - counts[:, 0]) / n
    return float(gain), float(np.quantile(samples, level))


def choose(z: np.ndarray, resistant: np.ndarray, seed: int = 0) -> Recalibration | None:
    """The recalibration fitted on all rows when its cross-fitted call beats ``z >= 0`` in
    balanced accuracy on these rows (the training rows' out-of-fold predictions) with the lower
    one-sided 95% bootstrap bound of the gain above 0 (:func:`gain_bound`), else None."""
    from sklearn.model_selection import StratifiedKFold

    z, resistant = np.asarray(z, dtype=float), np.asarray(resistant, dtype=bool)
    if min(resistant.sum(), (~resistant).sum()) < PARTS * MIN_EACH:
        return None
    call = z >= 0
    recalibrated = call.copy()
    for fit, held in StratifiedKFold(PARTS, shuffle=True, random_state=seed).split(z, resistant):
        r = Recalibration.fit(z[fit], resistant[fit])
        if r is None:
            return None
        recalibrated[held] = r.p(z[held]) > 0.5
    gain, bound = gain_bound(resistant, call, recalibrated, seed)
    if not (gain > 0 and bound > 0):
        return None
    return Recalibration.fit(z, resistant)


def p_resistant(mu, sd, lower: float, recalibration: Recalibration | None = None) -> np.ndarray:
    """P(log10 fold >= log10 ``lower``) from the predictive mean and sd: ``Phi(z)``, or
    ``recalibration`` of ``z``, ``z = (mu - log10 lower) / sd``. Without recalibration it is
    above 0.5 exactly when mu is at or above the cutoff (at the cutoff itself, within
    :data:`TOL`, it counts as resistant)."""
    mu, sd = np.asarray(mu, dtype=float), np.asarray(sd, dtype=float)
    z = (mu - math.log10(lower)) / sd
    if recalibration is not None:
        return recalibration.p(z)
    at = np.abs(mu - math.log10(lower)) <= TOL
    return np.where(at, np.maximum(ndtr(z), 0.5 + 1e-12), ndtr(z))


def called_resistant(mu, lower: float, p=None) -> np.ndarray:
    """The call I or R (True) or S (False): ``p > 0.5`` for a recalibrated drug (``p`` given),
    else the predicted log10 fold ``mu`` at or above the cutoff (within :data:`TOL`), which is
    where :func:`p_resistant` without recalibration passes 0.5."""
    if p is not None:
        return np.asarray(p, dtype=float) > 0.5
    return np.asarray(mu, dtype=float) >= math.log10(lower) - TOL
