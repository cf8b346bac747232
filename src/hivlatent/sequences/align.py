"""Local alignment of a record to the HIV-1 pol reference, with parasail (BSD-licensed SIMD
Smith-Waterman with traceback).

Why parasail: measured on 1,000 synthetic PR+RT records (``benchmarks/align_speed.py``), it
made 100% exact mutation lists in 5.8 s per 1,000 records on one core; Biopython's
PairwiseAligner made the same calls in 48.6 s (its raw alignment is 40x slower); mappy
(minimap2) took 4.3 s but got one record in 1,000 wrong and returns no alignment at all for a
record it cannot seed (so no score or identity to report for non-HIV records); the HIVDB
pipeline itself (sierralocal, oracle only) took 89 s with 98.9% exact records. parasail always
returns a scored local alignment, takes a custom matrix (IUPAC ambiguity codes score as partial
matches) and aligns amino-acid records with BLOSUM62 too. Table and reasons:
``docs/methods/alignment.md``. The nucleotide alignment is made codon-aware afterwards by
:mod:`.codon_align` (gaps moved to codon boundaries, frameshifts isolated and reported).

Before aligning, a k-mer index of the template picks the strand (forward or reverse complement)
and the window of pol the record lies in, so only that window is aligned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import parasail

from .codons import IUPAC, reverse_complement
from .reference_sequences import consensus_pol, pol_protein

MATCH, MISMATCH, AMBIGUOUS_MATCH = 2, -3, 1
GAP_OPEN, GAP_EXTEND = 10, 1  # nucleotides: indels are rare in pol and mostly whole codons
PROTEIN_GAP_OPEN, PROTEIN_GAP_EXTEND = 10, 1
KMER = 11
MIN_SEED_HITS = 3  # fewer shared 11-mers than this on a strand: that strand is not HIV-like
WINDOW_MARGIN = 60
#: a local alignment that stops this close to an end of the record is extended to it without
#: gaps: a mutated first or last codon is then still read (as HIVDB reads it), not clipped
END_EXTENSION = 9
_NUC_ALPHABET = "ACGTRYKMSWBDHVN"


@dataclass(frozen=True)
class Alignment:
    """A local alignment as two gapped rows over the reference window ``ref_start:ref_end``.

    ``ref_row`` holds reference letters (``-`` where the query has an insertion), ``query_row``
    the query letters (``-`` where the query lacks reference positions). ``query`` is the record
    as aligned (reverse-complemented when ``reverse`` is set); ``query_start:query_end`` is the
    part of it in the alignment. ``ref_start`` is a pol offset (nucleotides) or a position in
    the concatenated PR+RT+IN protein (amino acids), 0-based.
    """

    ref_row: str
    query_row: str
    ref_start: int
    ref_end: int
    query_start: int
    query_end: int
    query: str
    score: int
    reverse: bool = False

    @property
    def identity(self) -> float:
        """Share of alignment columns where query and reference agree (ambiguity codes that
        include the reference base count as agreeing)."""
        cols = len(self.ref_row)
        same = sum(1 for r, q in zip(self.ref_row, self.query_row) if r == q or r in IUPAC.get(q, ""))
        return same / cols if cols else 0.0

    @property
    def ref_length(self) -> int:
        return self.ref_end - self.ref_start


@lru_cache(maxsize=None)
def _nucleotide_matrix():
    matrix = parasail.matrix_create(_NUC_ALPHABET, MATCH, MISMATCH)
    for i, a in enumerate(_NUC_ALPHABET):
        for j, b in enumerate(_NUC_ALPHABET):
            sa, sb = set(IUPAC[a]), set(IUPAC[b])
            if sa == sb and len(sa) == 1:
                value = MATCH
            elif sa & sb:
                value = 0 if "N" in (a, b) else AMBIGUOUS_MATCH
            else:
                value = MISMATCH
            matrix.set_value(i, j, value)
    return matrix


@lru_cache(maxsize=None)
def _kmer_index() -> dict[str, list[int]]:
    ref = consensus_pol()
    index: dict[str, list[int]] = {}
    for i in range(len(ref) - KMER + 1):
        index.setdefault(ref[i:i + KMER], []).append(i)
    return index


def seed_hits(seq: str) -> list[int]:
    """Diagonals (reference offset minus query offset) of the query's 11-mers found in pol."""
    index = _kmer_index()
    diagonals = []
    for i in range(len(seq) - KMER + 1):
        hits = index.get(seq[i:i + KMER])
        if hits:
            diagonals.extend(h - i for h in hits)
    return diagonals


def _window(diagonals: list[int], qlen: int, rlen: int) -> tuple[int, int]:
    if len(diagonals) < MIN_SEED_HITS:
        return 0, rlen
    ordered = sorted(diagonals)
    low, high = ordered[len(ordered) // 20], ordered[-1 - len(ordered) // 20]
    margin = WINDOW_MARGIN + qlen // 10
    return max(0, low - margin), min(rlen, high + qlen + margin)


def _rows_from_cigar(result, query: str, ref: str, ref_offset: int) -> tuple[str, str, int, int, int, int]:
    cigar = result.cigar
    qi, ri = cigar.beg_query, cigar.beg_ref
    ref_row: list[str] = []
    query_row: list[str] = []
    ops = [(op.decode(), int(n)) for n, op in re.findall(rb"(\d+)([=XIDM])", cigar.decode)]
    # parasail may open a local traceback with a gap: drop leading and trailing gaps
    while ops and ops[0][0] in "ID":
        op, n = ops.pop(0)
        if op == "I":
            qi += n
        else:
            ri += n
    while ops and ops[-1][0] in "ID":
        ops.pop()
    q_start, r_start = qi, ri
    for op, n in ops:
        if op in "=XM":
            ref_row.append(ref[ri:ri + n])
            query_row.append(query[qi:qi + n])
            qi += n
            ri += n
        elif op == "I":
            ref_row.append("-" * n)
            query_row.append(query[qi:qi + n])
            qi += n
        elif op == "D":
            ref_row.append(ref[ri:ri + n])
            query_row.append("-" * n)
            ri += n
    return "".join(ref_row), "".join(query_row), r_start + ref_offset, ri + ref_offset, q_start, qi


def _sw(query: str, ref: str, ref_offset: int, matrix, gap_open: int, gap_extend: int, reverse: bool,
        full_query: str) -> Alignment | None:
    if not query or not ref:
        return None
    result = parasail.sw_trace_scan_16(query, ref, gap_open, gap_extend, matrix)
    if result.score <= 0:
        return None
    ref_row, query_row, rs, re_, qs, qe = _rows_from_cigar(result, query, ref, ref_offset)
    if not ref_row:
        return None
    return Alignment(ref_row, query_row, rs, re_, qs, qe, full_query, result.score, reverse)


def extend_ends(aln: Alignment, ref: str) -> Alignment:
    """Extend the alignment without gaps to the record's ends when they are close (see
    :data:`END_EXTENSION`)."""
    head = min(aln.query_start, aln.ref_start)
    if aln.query_start > END_EXTENSION or head < aln.query_start:
        head = 0
    tail = min(len(aln.query) - aln.query_end, len(ref) - aln.ref_end)
    if len(aln.query) - aln.query_end > END_EXTENSION or tail < len(aln.query) - aln.query_end:
        tail = 0
    if not head and not tail:
        return aln
    qs, qe = aln.query_start - head, aln.query_end + tail
    rs, re_ = aln.ref_start - head, aln.ref_end + tail
    return Alignment(ref[rs:aln.ref_start] + aln.ref_row + ref[aln.ref_end:re_],
                     aln.query[qs:aln.query_start] + aln.query_row + aln.query[aln.query_end:qe],
                     rs, re_, qs, qe, aln.query, aln.score, aln.reverse)


def align_nucleotides(seq: str, *, window: bool = True) -> Alignment | None:
    """Align a nucleotide record (upper case, IUPAC allowed) to the consensus-B pol template.

    The strand with more shared 11-mers is aligned; when neither strand has
    :data:`MIN_SEED_HITS` of them both are aligned in full and the reverse complement is kept
    only when it scores at least 20% better. Returns None when nothing aligns at all.
    """
    ref = consensus_pol()
    matrix = _nucleotide_matrix()
    rc = reverse_complement(seq)
    fwd_hits, rc_hits = seed_hits(seq), seed_hits(rc)
    candidates: list[tuple[str, bool, list[int]]]
    if len(fwd_hits) >= MIN_SEED_HITS and len(fwd_hits) >= len(rc_hits):
        candidates = [(seq, False, fwd_hits)]
    elif len(rc_hits) >= MIN_SEED_HITS and len(rc_hits) > len(fwd_hits):
        candidates = [(rc, True, rc_hits)]
    else:
        candidates = [(seq, False, []), (rc, True, [])]
    best: Alignment | None = None
    for query, reverse, hits in candidates:
        lo, hi = _window(hits, len(query), len(ref)) if window else (0, len(ref))
        aln = _sw(query, ref[lo:hi], lo, matrix, GAP_OPEN, GAP_EXTEND, reverse, query)
        if window and aln is not None and (lo, hi) != (0, len(ref)) and (
                aln.ref_start - lo < 10 or hi - aln.ref_end < 10):
            aln = _sw(query, ref, 0, matrix, GAP_OPEN, GAP_EXTEND, reverse, query)  # window too tight
        if aln is None:
            continue
        aln = extend_ends(aln, ref)
        if best is None or (aln.reverse and aln.score > 1.2 * best.score) or (
                not aln.reverse and aln.score >= best.score):
            best = aln
    return best


def align_protein(seq: str) -> Alignment | None:
    """Align an amino-acid record to consensus-B PR+RT+IN (BLOSUM62, local)."""
    return _sw(seq, pol_protein(), 0, parasail.blosum62, PROTEIN_GAP_OPEN, PROTEIN_GAP_EXTEND,
               False, seq)
