"""Synthetic HIV-1 pol sequences with chosen mutations, for tests, benchmarks and examples.

    >>> seq = make_sequence(["RT:M184V", "RT:T215FY", "PR:L90M"], genes=("PR", "RT"))
    >>> write_fasta({"patient-1": seq}, "sample.fasta")

Codons are chosen deterministically: for a substitution the codon for the new amino acid that
differs least from the template codon; for a mixture (``RT:T215FY``) the IUPAC codon coding
exactly those amino acids (``TWC``); ``seed`` only drives the optional background
``divergence`` (random synonymous codon changes, which keep every amino acid).
"""

from __future__ import annotations

import os
import random
import re
import textwrap
from typing import Iterable, Mapping

from .codons import GENETIC_CODE, IUPAC, codons_for
from .codons import reverse_complement as _rc
from .reference_sequences import GENES, consensus_pol, hxb2_pol
from .reference_sequences import gene as get_gene

_MUTATION = re.compile(r"^(PR|RT|IN):([A-Z*])(\d+)(INS[A-Z]*|DEL|[A-Z*]+)$")
_SITE = re.compile(r"^(PR|RT|IN):(\d+)$")
DEFAULT_INSERTION = "SS"


def _distance(codon: str, template: str) -> int:
    return sum(t not in IUPAC[c] for c, t in zip(codon, template))


def _codon_for(amino_acids: str, template: str) -> str:
    wanted = frozenset(amino_acids)
    if len(wanted) == 1:
        options = sorted(c for c, aa in GENETIC_CODE.items() if aa == amino_acids[0])
    else:
        options = list(codons_for(wanted))
    if not options:
        raise ValueError(f"no codon codes exactly the amino acids {''.join(sorted(wanted))}")
    return min(options, key=lambda c: (_distance(c, template), sum(len(IUPAC[x]) > 1 for x in c)))


def _site(text: str) -> tuple[str, int]:
    m = _SITE.match(text.upper())
    if not m:
        raise ValueError(f"expected a site like 'RT:88', got {text!r}")
    return m.group(1), int(m.group(2))


def make_sequence(mutations: Iterable[str] = (), genes: Iterable[str] = ("PR", "RT"),
                  start: int | str | None = None, end: int | str | None = None,
                  frameshift_at: str | tuple[str, int] | None = None, stop_at: str | None = None,
                  reverse_complement: bool = False, seed: int = 0, template: str = "consensus",
                  divergence: float = 0.0) -> str:
    """A nucleotide sequence of ``genes`` (consecutive in pol) carrying ``mutations``.

    mutations: HIVDB names with gene prefix: ``RT:M184V``, ``RT:T215FY`` (mixture, IUPAC
    codon), ``RT:W88*`` (stop), ``RT:T69ins`` (inserts ``SS`` after codon 69; ``RT:T69insSG``
    inserts SG), ``RT:D67del``. The consensus letter must be right.
    start, end: where the sequence starts and ends: a nucleotide offset into the generated
    region (mid-codon allowed; ``end`` exclusive) or a codon (``"RT:41"``: from its first base /
    through its last base).
    frameshift_at: ``"RT:100"`` deletes the codon's first base; ``("RT:100", 2)`` inserts 2 bases
    after it, ``("RT:100", -2)`` deletes two.
    stop_at: ``"RT:88"`` puts the nearest stop codon there.
    template: ``"consensus"`` (consensus-B pol, no background mutation) or ``"hxb2"``.
    divergence: share of codons given a random synonymous change (seeded by ``seed``).
    """
    names = [g.upper() for g in genes]
    bad = [g for g in names if g not in GENES]
    if bad or not names:
        raise ValueError(f"genes must be among {GENES}, got {tuple(genes)}")
    pol = {"consensus": consensus_pol, "hxb2": hxb2_pol}[template]()
    first, last = get_gene(min(names, key=GENES.index)), get_gene(max(names, key=GENES.index))
    keys: list[tuple[str, int]] = []
    codons: list[str] = []
    for g in GENES[GENES.index(first.name):GENES.index(last.name) + 1]:
        gene = get_gene(g)
        for p in range(1, gene.length + 1):
            keys.append((g, p))
            codons.append(pol[gene.pol_offset(p):gene.pol_offset(p) + 3])
    index = {k: i for i, k in enumerate(keys)}
    rng = random.Random(seed)
    if divergence:
        for i, c in enumerate(codons):
            if rng.random() < divergence:
                synonyms = sorted(s for s, aa in GENETIC_CODE.items() if aa == GENETIC_CODE[c] and s != c)
                if synonyms:
                    codons[i] = rng.choice(synonyms)
    inserted = [""] * len(codons)
    for text in mutations:
        m = _MUTATION.match(text.strip().upper())
        if not m:
            raise ValueError(f"expected a mutation like 'RT:M184V', 'RT:T69ins' or 'RT:D67del', got {text!r}")
        g, cons, pos, what = m.group(1), m.group(2), int(m.group(3)), m.group(4)
        if (g, pos) not in index:
            raise ValueError(f"{text}: {g} {pos} is not in the generated genes {tuple(names)}")
        actual = get_gene(g).consensus[pos - 1]
        if cons != actual:
            raise ValueError(f"{text}: consensus-B residue at {g} {pos} is {actual}, not {cons}")
        i = index[(g, pos)]
        if what == "DEL":
            codons[i] = ""
        elif what.startswith("INS"):
            inserted[i] = "".join(_codon_for(aa, codons[i] or "NNN") for aa in what[3:] or DEFAULT_INSERTION)
        else:
            codons[i] = _codon_for(what, codons[i])
    if stop_at:
        i = index[_site(stop_at)]
        codons[i] = min(("TAA", "TAG", "TGA"), key=lambda s: (_distance(s, codons[i]), s))
    offsets = []
    pos = 0
    for c, ins in zip(codons, inserted):
        offsets.append(pos)
        pos += len(c) + len(ins)
    seq = "".join(c + ins for c, ins in zip(codons, inserted))

    def bound(value, is_end: bool) -> int:
        if isinstance(value, int):
            return value
        k = index[_site(value)]
        return offsets[k] + (len(codons[k]) + len(inserted[k]) if is_end else 0)

    lo = bound(start, False) if start is not None else 0
    hi = bound(end, True) if end is not None else len(seq)
    if frameshift_at:
        site, n = (frameshift_at, -1) if isinstance(frameshift_at, str) else frameshift_at
        at = offsets[index[_site(site)]] + 1 if n > 0 else offsets[index[_site(site)]]
        seq = seq[:at] + "A" * n + seq[at:] if n > 0 else seq[:at] + seq[at - n:]
        hi += n if at < hi else 0
    seq = seq[lo:hi]
    if not seq:
        raise ValueError(f"start {start!r} and end {end!r} leave an empty sequence")
    return _rc(seq) if reverse_complement else seq


def write_fasta(records: Mapping[str, str] | Iterable[tuple[str, str]], path: str | os.PathLike,
                width: int = 60) -> None:
    """Write ``{id: sequence}`` or ``(id, sequence)`` pairs as FASTA, lines of ``width``."""
    items = records.items() if isinstance(records, Mapping) else records
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        for rid, seq in items:
            fh.write(f">{rid}\n")
            fh.write("\n".join(textwrap.wrap(seq, width)) + "\n")
