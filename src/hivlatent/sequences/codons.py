"""Translation of codons that may hold IUPAC ambiguity codes, as HIVDB does.

A codon with ambiguity codes (a mixture in a population sequence) stands for every concrete codon
it can be read as, and so for the *set* of amino acids those code: ``ATR`` is {I, M}, ``TWC`` is
{F, Y}, ``TRG`` is {W, *} (a stop codon in a mixture). A codon whose possibilities are too many
(more than :data:`MAX_MIXTURE` amino acids, e.g. ``NNN``) or that holds a gap cannot be called:
:func:`translate_codon` returns ``None`` for it and the caller reports it as unknown.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

#: IUPAC nucleotide code -> the bases it stands for.
IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T",
    "R": "AG", "Y": "CT", "K": "GT", "M": "AC", "S": "CG", "W": "AT",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}
NUCLEOTIDE_CODES = frozenset(IUPAC)
_BASES_TO_CODE = {frozenset(v): k for k, v in IUPAC.items()}
_COMPLEMENT = str.maketrans("ACGTRYKMSWBDHVN-", "TGCAYRMKSWVHDBN-")

#: more amino acids than this in one codon: HIVDB reports X, and so do we (uncallable).
from ..config import MAX_MIXTURE  # noqa: E402  the one limit, shared with typed input

GENETIC_CODE = {
    a + b + c: aa
    for (a, b, c), aa in zip(
        product("TCAG", repeat=3),
        "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
    )
}


def reverse_complement(seq: str) -> str:
    """Reverse complement of an upper-case nucleotide string (IUPAC codes complemented too)."""
    return seq.translate(_COMPLEMENT)[::-1]


def bases(code: str) -> str:
    """The concrete bases an IUPAC code stands for (``'-'`` and unknown letters: empty)."""
    return IUPAC.get(code, "")


def iupac_code(base_set: str | frozenset[str]) -> str:
    """The IUPAC code for a set of bases, e.g. ``"AG"`` -> ``"R"``."""
    return _BASES_TO_CODE[frozenset(base_set)]


@lru_cache(maxsize=None)
def codon_amino_acids(codon: str) -> frozenset[str]:
    """Every amino acid (``'*'`` for stop) the possibly ambiguous ``codon`` can code.

    Empty for a codon that is not three nucleotide codes (a gap, a partial codon).
    """
    if len(codon) != 3 or any(c not in IUPAC for c in codon):
        return frozenset()
    return frozenset(GENETIC_CODE["".join(p)] for p in product(*(IUPAC[c] for c in codon)))


def translate_codon(codon: str) -> frozenset[str] | None:
    """The amino-acid set of ``codon``, or None when it cannot be called (gap, > 4 amino acids)."""
    aas = codon_amino_acids(codon)
    if not aas or len(aas) > MAX_MIXTURE:
        return None
    return aas


def translate(seq: str) -> str:
    """Plain translation, one letter per codon: ``X`` for a mixture or an uncallable codon."""
    out = []
    for i in range(0, len(seq) - len(seq) % 3, 3):
        aas = codon_amino_acids(seq[i:i + 3])
        out.append(next(iter(aas)) if len(aas) == 1 else "X")
    return "".join(out)


def order_residues(residues, consensus: str) -> tuple[str, ...]:
    """HIVDB order: the consensus residue first if present, then letters alphabetically, ``*``,
    then ``#`` (insertion) and ``~`` (deletion)."""
    rank = {"*": 1, "#": 2, "~": 3}
    rest = sorted((r for r in set(residues) if r != consensus), key=lambda r: (rank.get(r, 0), r))
    return ((consensus,) if consensus in residues else ()) + tuple(rest)


@lru_cache(maxsize=None)
def codons_for(amino_acids: frozenset[str]) -> tuple[str, ...]:
    """All codons (IUPAC codes allowed) whose amino-acid set is exactly ``amino_acids``.

    Fewest ambiguity codes first, then alphabetically: the synthetic generator picks from these.
    """
    found = [
        "".join(c) for c in product(sorted(IUPAC), repeat=3)
        if codon_amino_acids("".join(c)) == amino_acids
    ]
    return tuple(sorted(found, key=lambda c: (sum(len(IUPAC[x]) > 1 for x in c), c)))
