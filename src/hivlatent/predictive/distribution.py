"""The predictive distribution: what the semi model says about each virus and drug, in one object.

:meth:`hivlatent.model.VAEModel.predict_distribution` returns a :class:`PredictiveDistribution`:
per virus (rows) and drug (columns) a normal distribution of log10 fold change, ``mean`` and
``sd``, made by the output layer (:mod:`.output_layer`). Everything a prediction reports is read
off it, by one rule each:

- ``log_fold`` / ``fold_change``: the mean, capped at the drug's reporting limit (the assay's
  maximum in the training data; a value there means "at least this");
- ``interval(level)``: the central ``level`` interval of the normal, capped the same way;
- ``p_resistant``: P(log10 fold >= log10 lower cutoff) = Phi(z), z = (mean - log10 lower) / sd,
  or for a drug recalibrated at fit time expit(a + b z) (:mod:`.calibration`);
- ``resistant``: the call I or R (True) or S (False): the mean at or above the lower cutoff, or
  for a recalibrated drug P(resistant) > 0.5; so P(resistant) > 0.5 exactly when it is True;
- ``calls``: S, I or R: I or R as ``resistant`` says, R when the mean is at or above the upper
  cutoff (:func:`call_sir`).

It unpacks as ``mean, sd = distribution``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from .calibration import TOL, Recalibration, called_resistant, p_resistant


def log_caps(fold_cap, drugs) -> np.ndarray:
    """Each drug's reporting limit, log10, from ``fold_cap`` (drug -> fold; inf where a drug
    has none)."""
    return np.array([math.log10(fold_cap.get(d, math.inf)) for d in drugs])


def capped_interval(mu, sd, cap, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The central ``level`` interval (low, high) of normal(mu, sd), capped at ``cap`` (the
    reporting limit, log10; broadcast against mu)."""
    zq = ndtri(0.5 + level / 2)
    return np.minimum(mu - zq * sd, cap), np.minimum(mu + zq * sd, cap)


def call_sir(log10_fold: float, lower: float, upper: float, p: float | None = None) -> str:
    """S if fold < lower, I if lower <= fold < upper, R if fold >= upper (log10 fold given).
    With ``p`` (a recalibrated P(resistant)): S when p <= 0.5, else R if fold >= upper, else I,
    so the call is I or R exactly when p > 0.5."""
    if not called_resistant(log10_fold, lower, p):
        return "S"
    return "R" if log10_fold >= math.log10(upper) - TOL else "I"


@dataclass(frozen=True)
class PredictiveDistribution:
    """normal(``mean``, ``sd``) of log10 fold change, (n, drugs) each, with what reading it needs:
    per drug the lower and upper cutoffs (fold), the reporting limit (log10, inf: none) and the
    recalibration of P(resistant) (None: Phi(z))."""

    mean: np.ndarray
    sd: np.ndarray
    drugs: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    caps: np.ndarray
    recalibration: tuple[Recalibration | None, ...]

    @classmethod
    def for_model(cls, model, mean: np.ndarray, sd: np.ndarray) -> "PredictiveDistribution":
        """The distribution ``mean``, ``sd`` read with ``model``'s drugs, cutoffs, reporting
        limits and recalibrations (any object with ``drugs``, ``cutoffs``, ``fold_cap`` and
        ``recalibration(drug)``)."""
        drugs = tuple(model.drugs)
        bounds = [model.cutoffs.for_drug(d) for d in drugs]
        return cls(mean, sd, drugs, tuple(b[0] for b in bounds), tuple(b[1] for b in bounds),
                   log_caps(model.fold_cap, drugs),
                   tuple(model.recalibration(d) for d in drugs))

    def __iter__(self):
        return iter((self.mean, self.sd))

    def rows(self, index) -> "PredictiveDistribution":
        """The distribution of some rows (an index, slice or mask)."""
        return _with(self, self.mean[index], self.sd[index])

    @classmethod
    def concat(cls, parts: Sequence["PredictiveDistribution"]) -> "PredictiveDistribution":
        """Parts of one model's distribution (the same drugs), their rows stacked in order."""
        return _with(parts[0], np.concatenate([p.mean for p in parts]),
                     np.concatenate([p.sd for p in parts]))

    @property
    def log_fold(self) -> np.ndarray:
        """Predicted log10 fold change (n, drugs): the mean, no higher than the reporting limit
        (the data cannot tell values above it apart, nor can the model)."""
        if not np.isfinite(self.caps).any():
            return self.mean
        return np.minimum(self.mean, self.caps)

    @property
    def fold_change(self) -> np.ndarray:
        return 10.0 ** self.log_fold

    def interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """The central ``level`` interval (low, high) of log10 fold change, each (n, drugs),
        capped at the reporting limit."""
        return capped_interval(self.mean, self.sd, self.caps, level)

    @property
    def p_resistant(self) -> np.ndarray:
        """P(resistant) (n, drugs), recalibrated for the drugs where the fit chose so."""
        out = np.empty_like(self.mean)
        for j, recal in enumerate(self.recalibration):
            out[:, j] = p_resistant(self.mean[:, j], self.sd[:, j], self.lower[j], recal)
        return out

    @property
    def resistant(self) -> np.ndarray:
        """The call I or R (True) or S (False) (n, drugs)."""
        p = self.p_resistant
        out = np.empty(self.mean.shape, dtype=bool)
        for j, recal in enumerate(self.recalibration):
            out[:, j] = called_resistant(self.mean[:, j], self.lower[j],
                                         p[:, j] if recal is not None else None)
        return out

    @property
    def calls(self) -> np.ndarray:
        """S, I or R (n, drugs) (:func:`call_sir`)."""
        p = self.p_resistant
        out = np.empty(self.mean.shape, dtype=object)
        for (i, j), m in np.ndenumerate(self.mean):
            recal = self.recalibration[j] is not None
            out[i, j] = call_sir(float(m), self.lower[j], self.upper[j],
                                 float(p[i, j]) if recal else None)
        return out


def _with(dist: PredictiveDistribution, mean, sd) -> PredictiveDistribution:
    return PredictiveDistribution(mean, sd, dist.drugs, dist.lower, dist.upper, dist.caps,
                                  dist.recalibration)
