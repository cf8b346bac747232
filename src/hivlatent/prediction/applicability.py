"""Where a model is on thin ice: for each virus and drug, how far the virus is from the measured
viruses the model learned from, computed from the model itself.

Three signs, each stated in the note when present:

- **latent distance**: the mean Euclidean distance from the virus's latent mean to its
  :data:`~hivlatent.config.APPLICABILITY_K` nearest training viruses measured for the drug,
  placed among the same distances of the training viruses themselves (each to its K nearest
  *other* measured training viruses): ``percentile`` 97 means the virus is farther from the
  measured viruses than 97% of them are from each other. At or beyond
  :data:`~hivlatent.config.APPLICABILITY_CAUTION` the note says "caution", beyond
  :data:`~hivlatent.config.APPLICABILITY_OUTSIDE` "outside";
- **unseen mutations**: the virus's mutations at the drug's resistance positions (the positions
  HIVdb's rules for the drug read, with the ``hivdb`` extra; else any position) whose residue no
  training virus carries: the model cannot know their effect (it ignores residues it has no
  feature for). Any such mutation makes the note "caution";
- **subtype**: a sequence whose pol region is nearest a pure subtype other than B
  (:mod:`hivlatent.subtyping`), since HIVDB's phenotypes are mostly of subtype B: "caution".

Levels: ``typical`` (none of these), ``caution`` (trust the answer less) and ``outside`` (the
virus lies outside the training data: treat the answer as unreliable). The thresholds and how
they were chosen: ``docs/methods/applicability.md``; their evaluation on held-out viruses:
``benchmarks/applicability.py``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ..config import APPLICABILITY_CAUTION, APPLICABILITY_K, APPLICABILITY_OUTSIDE

LEVELS = ("typical", "caution", "outside")


@dataclass(frozen=True)
class Applicability:
    """How far one prediction is from the model's training data (see the module docstring)."""

    level: str = "typical"
    distance: float | None = None       # mean latent distance to the K nearest measured viruses
    percentile: float | None = None     # among the training viruses' own such distances
    unseen: tuple[str, ...] = ()        # mutations at resistance positions never seen in training
    subtype: str = ""                   # a non-B subtype, when the sequence has one
    note: str = ""

    @property
    def rank(self) -> int:
        return LEVELS.index(self.level)

    def to_dict(self) -> dict:
        return {"level": self.level, "distance": self.distance, "percentile": self.percentile,
                "unseen_mutations": list(self.unseen), "subtype": self.subtype or None,
                "note": self.note}


def level_of(percentile: float | None, unseen: bool, non_b: bool) -> str:
    """The level from the three signs (thresholds in :mod:`hivlatent.config`)."""
    if percentile is not None and percentile > APPLICABILITY_OUTSIDE:
        return "outside"
    if (percentile is not None and percentile >= APPLICABILITY_CAUTION) or unseen or non_b:
        return "caution"
    return "typical"


def note_for(level: str, percentile: float | None, unseen, subtype: str) -> str:
    """One plain sentence: how much to trust the answer, and why."""
    reasons = []
    if percentile is not None and percentile >= APPLICABILITY_CAUTION:
        reasons.append(f"farther from the measured viruses than {_pct(percentile)}% of the training "
                       "viruses are from each other")
    if unseen:
        reasons.append(f"{', '.join(unseen)} at a resistance position never seen in training "
                       "(its effect is not in the model)")
    if subtype:
        reasons.append(f"subtype {subtype}, while the measured viruses are mostly subtype B")
    if level == "outside":
        return "outside the training data, treat as unreliable: " + "; ".join(reasons)
    if level == "caution":
        return "trust less: " + "; ".join(reasons)
    if percentile is None:
        return "no reference viruses kept with the model to compare with"
    return (f"within the training data (latent distance at percentile {_pct(percentile)} of the "
            "training viruses' own)")


def _pct(p: float) -> str:
    return f"{p:.0f}" if p < 99 else f"{p:.1f}"


class TrainingDistances:
    """Per drug of a reference: the latent means of the training viruses measured for it and
    their sorted distances to their K nearest other ones."""

    def __init__(self, reference, k: int = APPLICABILITY_K) -> None:
        self.k = k
        self.latent: dict[str, np.ndarray] = {}
        self.own: dict[str, np.ndarray] = {}
        lat = reference.latent.astype(np.float64)
        for j, drug in enumerate(reference.drugs):
            known = np.isfinite(reference.log_fold[:, j])
            if known.sum() <= k:
                continue
            z = lat[known]
            self.latent[drug] = z
            self.own[drug] = np.sort(knn_mean_distance(z, z, k, self_excluded=True))

    def place(self, drug: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(distance, percentile) of each latent point of ``z`` for ``drug``; None when the
        drug has too few measured training viruses."""
        if drug not in self.latent:
            return None
        d = knn_mean_distance(np.atleast_2d(z), self.latent[drug], self.k)
        pct = 100.0 * np.searchsorted(self.own[drug], d, side="right") / len(self.own[drug])
        return d, pct


def knn_mean_distance(z: np.ndarray, ref: np.ndarray, k: int,
                      self_excluded: bool = False) -> np.ndarray:
    """Mean Euclidean distance of each row of ``z`` to its ``k`` nearest rows of ``ref``
    (``self_excluded``: ``z`` is ``ref`` and a row is not its own neighbour)."""
    out = np.empty(len(z))
    for lo in range(0, len(z), 1024):
        part = z[lo:lo + 1024]
        d2 = (part ** 2).sum(1)[:, None] - 2 * part @ ref.T + (ref ** 2).sum(1)[None, :]
        d2 = np.maximum(d2, 0.0)
        if self_excluded:
            d2[np.arange(len(part)), np.arange(lo, lo + len(part))] = np.inf
        kk = min(k, d2.shape[1] - (1 if self_excluded else 0))
        near = np.partition(d2, kk - 1, axis=1)[:, :kk]
        out[lo:lo + len(part)] = np.sqrt(near).mean(1)
    return out


_CACHE: dict[int, tuple[weakref.ref, TrainingDistances]] = {}


def training_distances(reference) -> TrainingDistances:
    """:class:`TrainingDistances` of ``reference``, computed once per reference object."""
    hit = _CACHE.get(id(reference))
    if hit is not None and hit[0]() is reference:
        return hit[1]
    out = TrainingDistances(reference)
    _CACHE[id(reference)] = (weakref.ref(reference), out)
    return out


def unseen_mutations(mutations, reference, positions, features=None) -> tuple[str, ...]:
    """The ``mutations`` (data.mutations.Mutation) at ``positions`` (None: any) with a residue
    other than consensus B that no training virus of ``reference`` carries, or that the model
    has no feature for (``features``: the set of (position, residue) it reads; it ignores
    the others)."""
    out = []
    for m in mutations:
        if positions is not None and m.position not in positions:
            continue
        new = [r for r in m.residues if r != m.consensus]
        if any((reference is not None and reference.counts
                and reference.count(m.position, r) == 0)
               or (features is not None and (m.position, r) not in features) for r in new):
            out.append(f"{m.gene}:{m.name}")
    return tuple(out)


def resistance_positions(drug: str) -> frozenset[int] | None:
    """The positions HIVdb's rules for ``drug`` read (None without the hivdb extra)."""
    from .. import hivdb

    if not hivdb.available():
        return None
    return hivdb.rule_positions(drug)


def assess(percentile: float | None, distance: float | None, unseen, subtype_call) -> Applicability:
    """The :class:`Applicability` of one prediction from its signs."""
    non_b = ""
    if subtype_call is not None and subtype_call.determined and subtype_call.pure \
            and subtype_call.pure != "B":
        non_b = subtype_call.subtype if subtype_call.subtype == subtype_call.pure \
            else f"{subtype_call.subtype} (pol nearest {subtype_call.pure})"
    level = level_of(percentile, bool(unseen), bool(non_b))
    return Applicability(level, None if distance is None else round(float(distance), 4),
                         None if percentile is None else round(float(percentile), 1),
                         tuple(unseen), non_b, note_for(level, percentile, unseen, non_b))


def worst(items) -> Applicability | None:
    """The least trustworthy of several (a record's summary over its drugs)."""
    items = [a for a in items if a is not None]
    return max(items, key=lambda a: (a.rank, a.percentile or 0.0)) if items else None
