"""Genes, drug classes and drug names of the HIVdb algorithm, in this package's spelling.

The HIVdb XML names boosted protease inhibitors with ``/r`` (``LPV/r``); the HIVDB
genotype-phenotype tables and the rest of hivlatent call them ``LPV``. Every other name is kept
as HIVdb writes it (``3TC``, ``AZT``, ``FTC``, ``DOR``, ``BIC``...). Older spellings that another
XML version might use are mapped too (``ZDV`` -> ``AZT``, ``LMV`` -> ``3TC``).
"""

from __future__ import annotations

#: genes scored, in HIVdb's names, with the drug classes this package reports for each
GENE_CLASSES: dict[str, tuple[str, ...]] = {
    "PR": ("PI",),
    "RT": ("NRTI", "NNRTI"),
    "IN": ("INSTI",),
}
GENES: tuple[str, ...] = tuple(GENE_CLASSES)
DRUG_CLASSES: tuple[str, ...] = tuple(c for cs in GENE_CLASSES.values() for c in cs)

_ALIASES = {"ZDV": "AZT", "LMV": "3TC"}


def our_drug_name(hivdb_name: str) -> str:
    """This package's name for a drug of the HIVdb XML: ``LPV/r`` -> ``LPV``, ``ZDV`` -> ``AZT``."""
    name = hivdb_name.split("/", 1)[0].strip().upper()
    return _ALIASES.get(name, name)
