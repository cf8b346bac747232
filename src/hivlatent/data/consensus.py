"""HIV-1 subtype B consensus amino-acid sequences (the residue a `-` cell stands for).

RT positions 1-240 and protease positions 1-99. Checked against the HIVDB tables: at every
position a single-letter cell equals this residue in at most 4 of the ~1500 sequences, except
where noted (RT 122: consensus K, polymorphism E is common).
"""

from __future__ import annotations

RT = (
    "PISPIETVPVKLKPGMDGPKVKQWPLTEEKIKALVEICTEMEKEGKISKIGPENPYNTPV"
    "FAIKKKDSTKWRKLVDFRELNKRTQDFWEVQLGIPHPAGLKKKKSVTVLDVGDAYFSVPL"
    "DKDFRKYTAFTIPSINNETPGIRYQYNVLPQGWKGSPAIFQSSMTKILEPFRKQNPDIVI"
    "YQYMDDLYVGSDLEIGQHRTKIEELRQHLLRWGFTTPDKKHQKEPPFLWMGYELHPDKWT"
)
PROTEASE = (
    "PQITLWQRPLVTIKIGGQLKEALLDTGADDTVLEEMNLPGRWKPKMIGGIGGFIKVRQYD"
    "QILIEICGHKAIGTVLVGPTPVNIIGRNLLTQIGCTLNF"
)

#: consensus sequence per gene; drug classes map to genes in :mod:`hivlatent.data.cutoffs`.
CONSENSUS = {"RT": RT, "PR": PROTEASE}


def consensus_residue(gene: str, position: int) -> str | None:
    """The consensus-B residue at a 1-based ``position`` of ``gene`` ("RT" or "PR"), or None."""
    seq = CONSENSUS.get(gene.upper())
    if seq is None or not 1 <= position <= len(seq):
        return None
    return seq[position - 1]
