"""Genotype -> per-drug fold change, S/I/R call and drug ranking.

Works with any model that follows :class:`ResistanceModel` (an ensemble or a model with MC
sampling). For every virus and drug:

- ``fold_change``: 10 ** (median of the log10 fold-change samples);
- ``fold_change_low`` / ``fold_change_high``: 10 ** the ``(1 - interval) / 2`` and
  ``(1 + interval) / 2`` quantiles of the samples;
- ``p_resistant``: mean of the sampled resistance probabilities;
- ``call``: S if fold change < the drug's lower cutoff, I if lower <= fold change < upper,
  R if fold change >= upper. The comparison is made on log10 values with a tolerance of 1e-9,
  so a fold change equal to a cutoff (up to rounding in 10 ** log10) reaches it;
- ``rank``: 1 = most likely to work. Drugs are sorted by ``p_resistant`` ascending (values equal
  to 6 decimals are ties), then by fold change divided by the drug's lower cutoff, then in the
  model's drug order.

Output (:mod:`.output`): ``to_table`` (rich, plain text), ``to_csv`` (one row per virus x drug)
and ``to_json`` (one object per virus). Predictions are for research use, not for clinical
decisions (:data:`RESEARCH_NOTE`; printed under the table; the CLI prints it to stderr for CSV
and JSON so those stay machine-readable).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..data.cutoffs import Cutoffs
from ..data.mutations import ParsedGenotype, encode, parse_genotype, resolve_gene
from ..errors import ConfigError, ModelError

RESEARCH_NOTE = ("For research use only: predictions of a statistical model trained on HIVDB "
                 "genotype-phenotype data, not for clinical decisions.")

_TOL = 1e-9  # log10 tolerance at the cutoffs
_P_DECIMALS = 6  # p_resistant equal to this many decimals is a tie in the ranking


@runtime_checkable
class ResistanceModel(Protocol):
    """What :func:`predict` needs from a trained model."""

    drug_class: str
    gene: str
    drugs: list[str]
    feature_names: list[str]
    cutoffs: Cutoffs

    def predict_samples(self, X: np.ndarray, n_samples: int,
                        seed: int) -> tuple[np.ndarray, np.ndarray]:
        """log10 fold-change samples (S, n, d) and resistance probabilities (S, n, d) from an
        ensemble or MC sampling."""
        ...


@dataclass(frozen=True)
class DrugPrediction:
    drug: str
    fold_change: float
    fold_change_low: float
    fold_change_high: float
    p_resistant: float
    call: str
    rank: int


@dataclass(frozen=True)
class VirusPrediction:
    """Predictions for one virus; ``drugs`` in the model's drug order (see ``rank``)."""

    id: str
    mutations: list[str]
    unrecognized: list[str]
    drugs: list[DrugPrediction]
    notes: list[str]
    interval: float = 0.9

    def ranked(self) -> list[DrugPrediction]:
        """The drugs from most (rank 1) to least likely to work."""
        return sorted(self.drugs, key=lambda d: d.rank)


def call_sir(log10_fold: float, lower: float, upper: float) -> str:
    """S if fold < lower, I if lower <= fold < upper, R if fold >= upper (log10 fold given)."""
    if log10_fold >= math.log10(upper) - _TOL:
        return "R"
    if log10_fold >= math.log10(lower) - _TOL:
        return "I"
    return "S"


def rank_drugs(p_resistant: Sequence[float], fold_change: Sequence[float],
               lower: Sequence[float]) -> list[int]:
    """Rank (1 = most likely to work) of each drug: p_resistant ascending, then fold/lower."""
    order = sorted(range(len(p_resistant)),
                   key=lambda k: (round(float(p_resistant[k]), _P_DECIMALS),
                                  float(fold_change[k]) / float(lower[k]), k))
    ranks = [0] * len(order)
    for r, k in enumerate(order, start=1):
        ranks[k] = r
    return ranks


def _check_samples(name: str, arr: np.ndarray, n: int, d: int) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (n, d) or arr.shape[0] < 1:
        raise ModelError(f"model.predict_samples returned {name} of shape {arr.shape}, "
                         f"expected (S, {n}, {d}) with S >= 1")
    if not np.all(np.isfinite(arr)):
        raise ModelError(f"model.predict_samples returned non-finite {name}")
    return arr


def predict(model: ResistanceModel, genotypes: Sequence[ParsedGenotype | str],
            n_samples: int = 100, seed: int = 0, interval: float = 0.9,
            cutoffs: Cutoffs | None = None) -> list[VirusPrediction]:
    """Per virus and drug: fold change with an interval, P(resistant), S/I/R call and rank.

    ``genotypes``: parsed genotypes (:mod:`hivlatent.data.mutations`) or mutation strings
    (``"M184V K65R"``, ids ``virus1``, ``virus2`` ...). ``cutoffs`` overrides ``model.cutoffs``.
    """
    if int(n_samples) < 1:
        raise ConfigError(f"n_samples must be >= 1, got {n_samples}")
    if not 0.0 < float(interval) < 1.0:
        raise ConfigError(f"interval must lie strictly between 0 and 1, got {interval}")
    cutoffs = cutoffs if cutoffs is not None else model.cutoffs
    drugs = list(model.drugs)
    bounds = [cutoffs.for_drug(drug) for drug in drugs]
    gene = resolve_gene(model.gene)
    parsed = [parse_genotype(g, gene, id=f"virus{i}") if isinstance(g, str) else g
              for i, g in enumerate(genotypes, start=1)]
    if not parsed:
        return []
    X, recognized, unrecognized = encode(parsed, list(model.feature_names), gene)
    statuses = list(getattr(model, "statuses", []))
    failed = sum(str(s).startswith("failed") for s in statuses)
    model_notes = ([f"{failed} of {len(statuses)} ensemble members failed in training and are "
                    "left out"] if failed else [])
    n, d = X.shape[0], len(drugs)
    log_fold, prob = model.predict_samples(X, int(n_samples), int(seed))
    log_fold = _check_samples("log10 fold changes", log_fold, n, d)
    prob = _check_samples("probabilities", prob, n, d)
    if np.abs(log_fold).max() > 300:
        raise ModelError("model.predict_samples returned log10 fold changes beyond +-300")
    if prob.min() < 0 or prob.max() > 1:
        raise ModelError("model.predict_samples returned probabilities outside [0, 1]")

    q = [(1 - interval) / 2, 0.5, (1 + interval) / 2]
    lo, med, hi = np.quantile(log_fold, q, axis=0)  # each (n, d)
    p_res = prob.mean(axis=0)
    lower = [b[0] for b in bounds]
    out: list[VirusPrediction] = []
    for i, g in enumerate(parsed):
        fold = [float(10.0 ** med[i, k]) for k in range(d)]
        ranks = rank_drugs(p_res[i], fold, lower)
        preds = [DrugPrediction(
            drug=drugs[k], fold_change=fold[k], fold_change_low=float(10.0 ** lo[i, k]),
            fold_change_high=float(10.0 ** hi[i, k]), p_resistant=float(p_res[i, k]),
            call=call_sir(float(med[i, k]), *bounds[k]), rank=ranks[k]) for k in range(d)]
        gid = g.id or f"virus{i + 1}"
        out.append(VirusPrediction(gid, list(recognized[i]), list(unrecognized[i]), preds,
                                   list(g.notes) + model_notes, float(interval)))
    return out


def check_bundle(model, where, drug_class: str | None = None) -> None:
    """A clear ModelError when a loaded bundle cannot predict, or is of another drug class."""
    from ..errors import ModelError

    if not getattr(model.model_config, "supervised", False):
        raise ModelError(f"{where}: an unsupervised VAE cannot predict resistance; "
                         "train one with `hivlatent train --model semi`")
    if drug_class and drug_class.upper() != str(model.drug_class).upper():
        raise ModelError(f"{where}: the bundle is a {model.drug_class} model ({', '.join(model.drugs)}), "
                         f"not {drug_class.upper()}")
