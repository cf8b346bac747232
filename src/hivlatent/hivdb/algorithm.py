"""Score genotypes with the Stanford HIVdb algorithm (sierralocal, run offline).

    >>> from hivlatent.hivdb import score
    >>> call = score([["RT:M184V"]])[0]["3TC"]
    >>> call.score, call.level, call.level_text
    (60.0, 5, 'High-Level Resistance')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from .drug_calls import HivdbCall
from .notation import as_mutations, check_genes, to_keys
from .sierralocal_runner import engine

#: HIVdb level 3 "Low-Level Resistance" and above: resistant
LOW_LEVEL = 3
#: HIVdb level 4 "Intermediate Resistance" and above: resistant
INTERMEDIATE = 4


def algorithm_version() -> str:
    """The algorithm's name and version as its XML states them, e.g. ``HIVDB 9.4``."""
    return engine().version


def rule_positions(drug: str) -> frozenset[int] | None:
    """The positions HIVdb's rules for ``drug`` (this package's name) read; None for a drug the
    algorithm does not score."""
    eng = engine()
    for rows in eng.drugs.values():
        for name, ours, *_ in rows:
            if ours == drug:
                return eng.rule_positions[name]
    return None


def score(genotypes: Iterable, genes: Iterable[str] | None = None) -> list[dict[str, HivdbCall]]:
    """HIVdb calls for each genotype: one dict per virus, drug name -> :class:`HivdbCall`.

    ``genotypes`` holds one genotype per virus: a parsed genotype, a list of mutations, or
    mutations as text (``["RT:M184V", "RT:T215FY"]``, ``"RT:T69ins PR:L90M"``; see
    :mod:`.notation`). Every drug of the classes of ``genes`` is scored (default PR, RT and IN:
    PI, NRTI, NNRTI and INSTI); a gene left out of ``genes`` is not reported, so give
    ``genes=["RT"]`` for RT-only sequences rather than reading their protease drugs as
    susceptible. DataError names a bad mutation.
    """
    chosen = check_genes(genes)
    eng = engine()
    keys = [to_keys(as_mutations(g, i), chosen, i) for i, g in enumerate(genotypes)]
    results = []
    for per_gene in keys:
        calls: dict[str, HivdbCall] = {}
        for gene in chosen:
            for call in eng.score_gene(gene, per_gene[gene]):
                calls[call.drug] = call
        results.append(calls)
    return results


def level_calls(level, threshold: int):
    """``level >= threshold`` (resistant calls): a bool for one level, a bool array for many.

    ``level`` is a level, a sequence or array of levels, or :class:`HivdbCall` objects.
    Use ``threshold=LOW_LEVEL`` (3) or ``INTERMEDIATE`` (4).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) \
            or not 1 <= threshold <= 5:
        raise ConfigError(f"level threshold {threshold!r} is not an HIVdb level; use 1-5 (3 or 4)")
    if isinstance(level, HivdbCall):
        return level.level >= threshold
    if isinstance(level, Sequence) and level and isinstance(level[0], HivdbCall):
        level = [c.level for c in level]
    arr = np.asarray(level)
    if arr.dtype.kind not in "iuf":
        raise DataError(f"levels {level!r} are not numbers; give HIVdb levels 1-5")
    if arr.ndim == 0:
        return bool(arr >= threshold)
    return arr >= threshold


def drug_values(results: Sequence[dict[str, HivdbCall]], drug: str,
                field: str = "score") -> np.ndarray:
    """One drug's ``score`` (float) or ``level`` (int) across the output of :func:`score`."""
    if field not in ("score", "level"):
        raise ConfigError(f"field {field!r} is not a number of a call; use 'score' or 'level'")
    values = []
    for i, calls in enumerate(results):
        if drug not in calls:
            raise DataError(f"drug {drug!r} is not in result {i} (drugs: {', '.join(calls)}); "
                            "score its gene or check the name")
        values.append(getattr(calls[drug], field))
    return np.asarray(values, dtype=float if field == "score" else int)
