"""Codon-aware reading of an alignment: gaps on codon boundaries, frameshifts isolated.

A nucleotide aligner places an indel anywhere in a run of similar bases. HIVDB places codon
insertions and deletions on codon boundaries, choosing the placement whose codons best match
the consensus-B amino acids, and prefers an insertion right after RT codon 69 (the insertion hot
spot). We do the same: indels closer than :data:`MIN_GAP_DISTANCE` nt are merged into one event;
the event's region is widened to whole codons and every codon-boundary placement is scored with
BLOSUM62 against the consensus (ties go to the 3'-most placement). An event whose net length is
not a multiple of 3 is a frameshift: its whole codons are placed as above and its extra 1-2
bases are put where they spoil the fewest codons. Frameshift insertions are dropped (the codon
reads in frame), frameshift deletions leave one codon unreadable; both are reported
(:class:`FrameShift`), never silently absorbed, and the codons after them read in frame because
codons are read by reference position.

The result, :class:`Reading`, holds one :class:`Site` per gene position covered by the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import parasail

from .align import Alignment
from .codons import GENETIC_CODE, codon_amino_acids, translate, translate_codon
from .reference_sequences import consensus_pol, genes, locate_codon
from .reference_sequences import gene as get_gene

MIN_GAP_DISTANCE = 15
MARGIN_CODONS = 2
RT69_INSERTION_BONUS = 5.0
NT_TIE_BREAK = 0.01
EXTRA_EVENT_PENALTY = 25.0
#: RT 62-72 holds the 69 insertion and 67 deletion complexes, where a codon deletion and a codon
#: insertion really occur together: a pair there costs only this
HOTSPOT_PAIR_PENALTY = 10.0
MAX_PAIRED_REGION = 90
_BLOSUM_ALPHABET = "ARNDCQEGHILKMFPSTWYVBZX*"
_AA_MIXTURE_CODES = {"B": "DN", "Z": "EQ", "J": "IL"}


@dataclass(frozen=True)
class FrameShift:
    """An indel whose length is not a multiple of 3: gene, codon, kind, size and its bases."""

    gene: str
    position: int
    kind: str  # "insertion" or "deletion"
    size: int
    nucleotides: str = ""

    def __str__(self) -> str:
        bases = f" ({self.nucleotides})" if self.nucleotides else ""
        return f"{self.gene} codon {self.position}: frameshift, {self.size}-nt {self.kind}{bases}"


@dataclass(frozen=True)
class Site:
    """What a record holds at one gene position.

    ``residues`` is the amino-acid set (``'*'`` = stop), None when the position cannot be called
    (``unknown`` says why: "ambiguous" codon, "frameshift" codon, "X" in a protein record).
    ``deleted``: the codon is deleted. ``inserted``: amino acids inserted after this position.
    """

    residues: frozenset[str] | None
    codon: str = ""
    deleted: bool = False
    inserted: str = ""
    inserted_codons: str = ""
    unknown: str = ""


@dataclass(frozen=True)
class Reading:
    """Sites per gene (gene -> position -> Site), frameshifts, and the final aligned rows."""

    sites: dict[str, dict[int, Site]]
    frameshifts: tuple[FrameShift, ...]
    ref_row: str
    query_row: str
    ref_start: int


@lru_cache(maxsize=None)
def _blosum() -> dict[str, dict[str, int]]:
    m = parasail.blosum62.matrix
    a = _BLOSUM_ALPHABET
    return {x: {y: int(m[i][j]) for j, y in enumerate(a)} for i, x in enumerate(a)}


@lru_cache(maxsize=65536)
def _codon_score(ref_codon: str, codon: str) -> float:
    if "-" in codon:
        return 0.0
    nt = NT_TIE_BREAK * sum(a == b for a, b in zip(ref_codon, codon))
    aas = codon_amino_acids(codon)
    if not aas or len(aas) > 4:
        return nt
    row = _blosum()[GENETIC_CODE[ref_codon]]
    return max(row[x] for x in aas) + nt


def _rt69_insert_offset() -> int:
    return get_gene("RT").pol_offset(70)  # an insertion before codon 70 = after codon 69


def _score(ref_seg: str, query_seg: str, region_start: int) -> float:
    """Codon score of a candidate placement (rows over a codon-aligned reference region)."""
    total = 0.0
    codon: list[str] = []
    ref_pos = region_start
    bonus_at = _rt69_insert_offset()
    for r, q in zip(ref_seg, query_seg):
        if r == "-":
            if ref_pos == bonus_at and not codon:
                total += RT69_INSERTION_BONUS / 3
            continue
        codon.append(q)
        ref_pos += 1
        if len(codon) == 3:
            total += _codon_score(consensus_pol()[ref_pos - 3:ref_pos], "".join(codon))
            codon = []
    return total


def _candidates(R: str, Q: str, start: int = 0):
    """Every placement of the event in the region: (ref segment, query segment, dropped, j)."""
    net = len(Q) - len(R)
    k, r = divmod(abs(net), 3)
    if net >= 0:
        for j in (range(len(Q) - r + 1) if r else [None]):
            qd = Q if j is None else Q[:j] + Q[j + r:]
            dropped = "" if j is None else Q[j:j + r]
            for p in (range(0, len(R) + 1, 3) if k else [None]):
                ref_seg = R if p is None else R[:p] + "-" * (3 * k) + R[p:]
                yield ref_seg, qd, dropped, j, p, 0.0
    else:
        for j in (range(len(R) - r + 1) if r else [None]):
            for p in (range(0, len(R) - 3 * k + 1, 3) if k else [None]):
                deleted = set()
                if p is not None:
                    deleted.update(range(p, p + 3 * k))
                if j is not None:
                    if deleted & set(range(j, j + r)):
                        continue
                    deleted.update(range(j, j + r))
                it = iter(Q)
                yield R, "".join("-" if i in deleted else next(it) for i in range(len(R))), "", j, p, 0.0
    if r == 0 and len(R) <= MAX_PAIRED_REGION:
        rt = get_gene("RT")
        hot = start < rt.pol_offset(73) and start + len(R) > rt.pol_offset(62)
        yield from _paired(R, Q, net, HOTSPOT_PAIR_PENALTY if hot else EXTRA_EVENT_PENALTY)


def _paired(R: str, Q: str, net: int, penalty: float):
    """A codon deletion plus a codon insertion in one region (e.g. RT 67del with a 69 insertion),
    charged ``penalty`` so a single event wins unless this fits clearly better."""
    d, ins = (3, net + 3) if net >= 0 else (3 - net, 3)
    for p1 in range(0, len(R) - d + 1, 3):
        for p2 in range(0, len(R) + 1, 3):
            if p1 <= p2 <= p1 + d:
                continue
            it = iter(Q)
            ref_seg, query_seg = [], []
            for i in range(len(R) + 1):
                if i == p2:
                    ref_seg.append("-" * ins)
                    query_seg.append("".join(next(it) for _ in range(ins)))
                if i < len(R):
                    ref_seg.append(R[i])
                    query_seg.append("-" if p1 <= i < p1 + d else next(it))
            yield "".join(ref_seg), "".join(query_seg), "", None, p2, penalty


def _place(R: str, Q: str, start: int):
    """Best placement; ties: frameshift bases 5'-most, whole codons 3'-most (as HIVDB reports)."""
    best, best_key = None, None
    for ref_seg, query_seg, dropped, j, p, penalty in _candidates(R, Q, start):
        key = (round(_score(ref_seg, query_seg, start) - penalty, 6), -(j or 0), p or 0)
        if best_key is None or key > best_key:
            best, best_key = (ref_seg, query_seg, dropped, j), key
    return best


def _gap_groups(ref_row: str, query_row: str) -> list[tuple[int, int]]:
    groups: list[list[int]] = []
    col = 0
    n = len(ref_row)
    while col < n:
        if ref_row[col] == "-" or query_row[col] == "-":
            end = col
            while end < n and (ref_row[end] == "-" or query_row[end] == "-"):
                end += 1
            if groups and col - groups[-1][1] < MIN_GAP_DISTANCE:
                groups[-1][1] = end
            else:
                groups.append([col, end])
            col = end
        else:
            col += 1
    return [(a, b) for a, b in groups]


def _clean_span(ref_row: str, query_row: str, lo: int, hi: int) -> bool:
    return 0 <= lo <= hi <= len(ref_row) and "-" not in ref_row[lo:hi] and "-" not in query_row[lo:hi]


def _ref_offset_at(ref_seg: str, query_seg: str, start: int, j: int) -> int:
    """Reference offset aligned with query base ``j - 1`` of a segment (where bases were dropped)."""
    pos, seen = start - 1, 0
    for r, q in zip(ref_seg, query_seg):
        pos += r != "-"
        seen += q != "-"
        if seen >= j:
            break
    return max(start, pos)


def normalize(aln: Alignment) -> tuple[str, str, list[tuple[int, str]]]:
    """Rows with every indel event placed codon-aware; plus the dropped frameshift insertions
    as (pol offset of the codon they were in, bases)."""
    ref_row, query_row = aln.ref_row, aln.query_row
    dropped_fs: list[tuple[int, str]] = []
    for ca, cb in reversed(_gap_groups(ref_row, query_row)):
        a = aln.ref_start + len(ref_row[:ca]) - ref_row[:ca].count("-")
        b = a + (cb - ca) - ref_row[ca:cb].count("-")
        for margin in (MARGIN_CODONS, 1, 0):
            a2 = (a // 3 - margin) * 3
            b2 = (-(-b // 3) + margin) * 3
            lo, hi = ca - (a - a2), cb + (b2 - b)
            if _clean_span(ref_row, query_row, lo, ca) and _clean_span(ref_row, query_row, cb, hi):
                break
        else:
            continue  # at an alignment end: left as the aligner placed it
        R = ref_row[lo:hi].replace("-", "")
        Q = query_row[lo:hi].replace("-", "")
        ref_seg, query_seg, dropped, j = _place(R, Q, a2)
        if dropped:
            dropped_fs.append((_ref_offset_at(ref_seg, query_seg, a2, j), dropped))
        ref_row = ref_row[:lo] + ref_seg + ref_row[hi:]
        query_row = query_row[:lo] + query_seg + query_row[hi:]
    return ref_row, query_row, dropped_fs


def read_nucleotide(aln: Alignment) -> Reading:
    """Sites per gene position from a nucleotide alignment, frameshifts reported."""
    ref_row, query_row, dropped_fs = normalize(aln)
    base_at: dict[int, str] = {}
    inserts: dict[int, str] = {}  # reference offset -> bases inserted before it
    pos = aln.ref_start
    for r, q in zip(ref_row, query_row):
        if r == "-":
            inserts[pos] = inserts.get(pos, "") + q
        else:
            base_at[pos] = q
            pos += 1
    # complete a codon cut by the ends of the local alignment with the record's own bases
    lead = aln.ref_start % 3
    if lead and aln.query_start >= 3 - lead:
        for i in range(3 - lead):
            base_at[aln.ref_start - 1 - i] = aln.query[aln.query_start - 1 - i]
    trail = aln.ref_end % 3
    if trail and len(aln.query) - aln.query_end >= 3 - trail:
        for i in range(3 - trail):
            base_at[aln.ref_end + i] = aln.query[aln.query_end + i]

    frameshifts = [_frameshift(off, "insertion", bases) for off, bases in dropped_fs]
    frameshifts += _frameshift_deletions(ref_row, query_row, aln.ref_start)
    sites: dict[str, dict[int, Site]] = {}
    lo, hi = min(base_at), max(base_at) + 1
    for c in range(lo // 3, -(-hi // 3)):
        where = locate_codon(3 * c)
        if where is None:
            continue
        triplet = "".join(base_at.get(3 * c + i, "") for i in range(3))
        if len(triplet) < 3:
            continue  # the record starts or ends inside this codon
        ins = inserts.get(3 * c + 3, "")
        if ins and len(ins) % 3:
            frameshifts.append(_frameshift(3 * c, "insertion", ins))
            ins = ""
        inserted = translate(ins) if ins else ""
        if triplet == "---":
            site = Site(None, triplet, deleted=True, inserted=inserted, inserted_codons=ins)
        elif "-" in triplet:
            site = Site(None, triplet, unknown="frameshift", inserted=inserted, inserted_codons=ins)
        else:
            aas = translate_codon(triplet)
            site = Site(aas, triplet, inserted=inserted, inserted_codons=ins,
                        unknown="" if aas else "ambiguous")
        sites.setdefault(where[0], {})[where[1]] = site
    unique = {(f.gene, f.position, f.kind): f for f in frameshifts if f is not None}
    return Reading(sites, tuple(sorted(unique.values(), key=_fs_order)), ref_row, query_row,
                   aln.ref_start)


def _fs_order(f: FrameShift):
    return (list(genes()).index(f.gene), f.position)


def _frameshift(offset: int, kind: str, bases: str) -> FrameShift | None:
    where = locate_codon(offset)
    if where is None:
        return None
    return FrameShift(where[0], where[1], kind, len(bases) % 3 or len(bases), bases)


def _frameshift_deletions(ref_row: str, query_row: str, ref_start: int) -> list:
    out = []
    pos = ref_start
    run_start, run = None, 0
    for r, q in zip(ref_row + "X", query_row + "X"):
        if q == "-" and r != "-":
            if run_start is None:
                run_start = pos
            run += 1
        elif r != "-":
            if run_start is not None and run % 3:
                out.append(_frameshift(run_start, "deletion", "-" * (run % 3)))
            run_start, run = None, 0
        if r != "-":
            pos += 1
    return [FrameShift(f.gene, f.position, f.kind, f.size) for f in out if f is not None]


def read_protein(aln: Alignment) -> Reading:
    """Sites per gene position from an amino-acid alignment to consensus PR+RT+IN."""
    bounds = []
    offset = 0
    for g in genes().values():
        bounds.append((g.name, offset, offset + g.length))
        offset += g.length

    def where(i: int):
        for name, lo, hi in bounds:
            if lo <= i < hi:
                return name, i - lo + 1
        return None

    sites: dict[str, dict[int, Site]] = {}
    pos = aln.ref_start
    last: tuple[str, int] | None = None
    for r, q in zip(aln.ref_row, aln.query_row):
        if r == "-":
            if last is not None:
                old = sites[last[0]][last[1]]
                sites[last[0]][last[1]] = Site(old.residues, deleted=old.deleted, unknown=old.unknown,
                                               inserted=old.inserted + q)
            continue
        name, p = where(pos)
        pos += 1
        last = (name, p)
        if q == "-":
            site = Site(None, deleted=True)
        elif q in "XU":
            site = Site(None, unknown="X")
        else:
            site = Site(frozenset(_AA_MIXTURE_CODES.get(q, q)))
        sites.setdefault(name, {})[p] = site
    return Reading(sites, (), aln.ref_row, aln.query_row, aln.ref_start)
