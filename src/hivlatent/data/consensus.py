"""HIV-1 subtype B consensus amino-acid sequences: the residue a ``-`` cell of the HIVDB tables
stands for, and the wild-type letter of every mutation name (``M`` in ``RT:M184V``).

Protease 1-99, reverse transcriptase 1-560 and integrase 1-288, as HIVDB names mutations: the
``CONSENSUS`` of ``hivdb/sgsdb`` (``scripts/calc_prevalence.py``, commit 04060ee4), identical to the
translation of HIVDB's consensus-B pol nucleotide template (``hivlatent/sequences/data``) and to
the ``Cons`` column of the HIVDB prevalence tables. Checked against the genotype-phenotype
tables: at every position a single-letter cell equals this residue in at most 4 of the ~1500
sequences, except where noted (RT 122: consensus K, polymorphism E is common). The tables cover
RT 1-240 and PR 1-99 (:data:`hivlatent.data.cutoffs.GENES`).
"""

from __future__ import annotations

PROTEASE = (
    "PQITLWQRPLVTIKIGGQLKEALLDTGADDTVLEEMNLPGRWKPKMIGGIGGFIKVRQYD"
    "QILIEICGHKAIGTVLVGPTPVNIIGRNLLTQIGCTLNF"
)
RT = (
    "PISPIETVPVKLKPGMDGPKVKQWPLTEEKIKALVEICTEMEKEGKISKIGPENPYNTPV"
    "FAIKKKDSTKWRKLVDFRELNKRTQDFWEVQLGIPHPAGLKKKKSVTVLDVGDAYFSVPL"
    "DKDFRKYTAFTIPSINNETPGIRYQYNVLPQGWKGSPAIFQSSMTKILEPFRKQNPDIVI"
    "YQYMDDLYVGSDLEIGQHRTKIEELRQHLLRWGFTTPDKKHQKEPPFLWMGYELHPDKWT"
    "VQPIVLPEKDSWTVNDIQKLVGKLNWASQIYAGIKVKQLCKLLRGTKALTEVIPLTEEAE"
    "LELAENREILKEPVHGVYYDPSKDLIAEIQKQGQGQWTYQIYQEPFKNLKTGKYARMRGA"
    "HTNDVKQLTEAVQKIATESIVIWGKTPKFKLPIQKETWEAWWTEYWQATWIPEWEFVNTP"
    "PLVKLWYQLEKEPIVGAETFYVDGAANRETKLGKAGYVTDRGRQKVVSLTDTTNQKTELQ"
    "AIHLALQDSGLEVNIVTDSQYALGIIQAQPDKSESELVSQIIEQLIKKEKVYLAWVPAHK"
    "GIGGNEQVDKLVSAGIRKVL"
)
INTEGRASE = (
    "FLDGIDKAQEEHEKYHSNWRAMASDFNLPPVVAKEIVASCDKCQLKGEAMHGQVDCSPGI"
    "WQLDCTHLEGKIILVAVHVASGYIEAEVIPAETGQETAYFLLKLAGRWPVKTIHTDNGSN"
    "FTSTTVKAACWWAGIKQEFGIPYNPQSQGVVESMNKELKKIIGQVRDQAEHLKTAVQMAV"
    "FIHNFKRKGGIGGYSAGERIVDIIATDIQTKELQKQITKIQNFRVYYRDSRDPLWKGPAK"
    "LLWKGEGAVVIQDNSDIKVVPRRKAKIIRDYGKQMAGDDCVASRQDED"
)

#: consensus B per gene: PR, RT and IN; drug classes map to genes in :mod:`hivlatent.data.cutoffs`
CONSENSUS = {"PR": PROTEASE, "RT": RT, "IN": INTEGRASE}


def consensus_residue(gene: str, position: int) -> str | None:
    """The consensus-B residue at a 1-based ``position`` of ``gene`` (PR, RT or IN), or None."""
    seq = CONSENSUS.get(gene.upper())
    if seq is None or not 1 <= position <= len(seq):
        return None
    return seq[position - 1]
