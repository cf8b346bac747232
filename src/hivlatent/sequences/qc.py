"""Quality warnings: stop codons, frameshifts, APOBEC hypermutation, ambiguity, low coverage.

Every warning is one line naming the gene and codon it is about.

APOBEC3G/F hypermutation follows Hypermut 2.0 (Rose & Korber 2000; LANL Hypermut tool): over
the nucleotide alignment, every reference G whose following two bases *in the record* are R then
D (A/G, then A/G/T; the GG and GA contexts APOBEC3G/F edit) is a site "in context"; every other
reference G is a control site. A record is hypermutated when G->A changes are significantly more
frequent in context than at control sites: one-sided Fisher exact test on the 2x2 table, p < 0.05.
The counts are reported. The reference is the consensus-B template, so natural subtype variation
adds G->A changes in both contexts alike; the test compares the two rates, which that leaves fair.
"""

from __future__ import annotations

from math import exp, lgamma

from .codon_align import FrameShift
from .mutation_calls import RESISTANCE_SPAN, GeneCall, Hypermutation

_CONCRETE = frozenset("ACGT")


def _log_comb(n: int, k: int) -> float:
    return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)


def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact p-value that row 1 of [[a, b], [c, d]] has the higher rate of
    column 1: P(X >= a) for X hypergeometric with the table's margins."""
    row1, col1, n = a + b, a + c, a + b + c + d
    if n == 0:
        return 1.0
    log_total = _log_comb(n, col1)
    p = 0.0
    for x in range(a, min(row1, col1) + 1):
        p += exp(_log_comb(row1, x) + _log_comb(n - row1, col1 - x) - log_total)
    return min(1.0, p)


def hypermutation(ref_row: str, query_row: str) -> Hypermutation:
    """Hypermut 2.0 counts and p-value for a gapped reference/record alignment."""
    pairs = [(r, q) for r, q in zip(ref_row, query_row) if q != "-"]  # record bases in order
    mut_ctx = ctx = mut_ctrl = ctrl = 0
    for i, (r, q) in enumerate(pairs):
        if r != "G" or q not in _CONCRETE:
            continue
        nxt = [pairs[j][1] for j in range(i + 1, min(i + 3, len(pairs)))]
        if len(nxt) < 2 or any(b not in _CONCRETE for b in nxt):
            continue
        in_context = nxt[0] in "AG" and nxt[1] in "AGT"
        if in_context:
            ctx += 1
            mut_ctx += q == "A"
        else:
            ctrl += 1
            mut_ctrl += q == "A"
    p = fisher_greater(mut_ctx, ctx - mut_ctx, mut_ctrl, ctrl - mut_ctrl)
    return Hypermutation(mut_ctx, ctx, mut_ctrl, ctrl, p)


def hypermutation_warning(h: Hypermutation) -> str | None:
    if not h.hypermutated:
        return None
    return (f"APOBEC3G/F hypermutation: G->A at {h.mutated_in_context} of {h.sites_in_context} "
            f"G sites in GG/GA context vs {h.mutated_elsewhere} of {h.sites_elsewhere} elsewhere "
            f"(Fisher exact p = {h.p_value:.2g})")


def gene_warnings(call: GeneCall, unknown_reasons: dict[int, str]) -> list[str]:
    """Stop codons, uncallable codons and low coverage of one gene."""
    out = [f"{call.gene} codon {m.position}: stop codon ({m.text})" for m in call.stop_codons]
    ambiguous = [p for p in call.unknown if unknown_reasons.get(p) in ("ambiguous", "X")]
    if ambiguous:
        shown = ", ".join(map(str, ambiguous[:10])) + (", ..." if len(ambiguous) > 10 else "")
        out.append(f"{call.gene} codon(s) {shown}: too ambiguous to call (more than 4 amino acids "
                   f"or unknown), skipped")
    lo, hi = RESISTANCE_SPAN[call.gene]
    if call.first_codon > lo or call.last_codon < hi:
        out.append(f"{call.gene}: low coverage, codons {call.first_codon}-{call.last_codon} only "
                   f"(drug-resistance positions {lo}-{hi} not all covered)")
    return out


def frameshift_warnings(frameshifts: tuple[FrameShift, ...]) -> list[str]:
    return [str(f) + "; codons after it are read in frame" for f in frameshifts]
