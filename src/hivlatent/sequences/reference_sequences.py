"""Reference sequences: HXB2 (K03455), the consensus-B pol template, consensus-B proteins.

Coordinates: ``pol`` offsets are 0-based nucleotide offsets into the pol template, which spans
HXB2 2085-5096 in the pol reading frame (offset 0 is the first base of a pol codon). The
consensus-B template has no indels relative to HXB2, so HXB2 position = 2085 + pol offset.
Provenance of every file: ``data/PROVENANCE.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..data.consensus import CONSENSUS

GENES = ("PR", "RT", "IN")
POL_HXB2_START = 2085  # first base of pol in HXB2 numbering (1-based)
POL_HXB2_END = 5096  # last base of pol (the IN stop codon), inclusive


@dataclass(frozen=True)
class Gene:
    """A gene of pol: its name, its consensus-B protein and its place in the pol template."""

    name: str
    hxb2_start: int  # 1-based HXB2 position of the gene's first base
    consensus: str  # consensus-B amino acids, position 1 first

    @property
    def length(self) -> int:
        return len(self.consensus)

    @property
    def pol_start(self) -> int:
        """0-based offset of the gene's first base in the pol template."""
        return self.hxb2_start - POL_HXB2_START

    @property
    def pol_end(self) -> int:
        """0-based offset one past the gene's last base in the pol template."""
        return self.pol_start + 3 * self.length

    def pol_offset(self, position: int) -> int:
        """Offset in the pol template of the first base of codon ``position`` (1-based)."""
        return self.pol_start + 3 * (position - 1)


def _read_fasta_resource(name: str) -> dict[str, str]:
    text = resources.files(__package__).joinpath("data").joinpath(name).read_text(encoding="ascii")
    out: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith(">"):
            key = line[1:].split()[0]
            out[key] = ""
        elif key is not None:
            out[key] += line.strip().upper()
    return out


@lru_cache(maxsize=None)
def hxb2_genome() -> str:
    """The complete HXB2 genome (GenBank K03455.1), 9,719 nt."""
    return _read_fasta_resource("hxb2_k03455.fasta")["K03455.1"]


def hxb2_region(start: int, end: int) -> str:
    """HXB2 bases ``start``..``end`` (1-based, inclusive), e.g. ``hxb2_region(2253, 2549)`` = PR."""
    return hxb2_genome()[start - 1:end]


@lru_cache(maxsize=None)
def hxb2_pol() -> str:
    """HXB2 pol, 2085-5096 (3,012 nt)."""
    return hxb2_region(POL_HXB2_START, POL_HXB2_END)


@lru_cache(maxsize=None)
def consensus_pol() -> str:
    """The consensus-B pol nucleotide template (HXB2 2085-5096 with consensus-B codons)."""
    return _read_fasta_resource("consensus_b_pol_nt.fasta")["consensus_b_pol"]


@lru_cache(maxsize=None)
def genes() -> dict[str, Gene]:
    """PR, RT and IN: HXB2 starts 2253, 2550, 4230; consensus-B proteins of 99, 560, 288 aa."""
    proteins = CONSENSUS
    starts = {"PR": 2253, "RT": 2550, "IN": 4230}
    return {name: Gene(name, starts[name], proteins[name]) for name in GENES}


def gene(name: str) -> Gene:
    """One gene by name ("PR", "RT" or "IN", any case)."""
    try:
        return genes()[name.upper()]
    except KeyError:
        raise ValueError(f"unknown gene {name!r}: expected one of {', '.join(GENES)}") from None


def consensus_residue(gene_name: str, position: int) -> str:
    """The consensus-B residue at 1-based ``position`` of a gene."""
    g = gene(gene_name)
    if not 1 <= position <= g.length:
        raise ValueError(f"{g.name} has positions 1-{g.length}, not {position}")
    return g.consensus[position - 1]


def locate_codon(pol_offset: int) -> tuple[str, int] | None:
    """(gene, position) of the codon holding pol offset ``pol_offset``, or None outside PR/RT/IN."""
    for g in genes().values():
        if g.pol_start <= pol_offset < g.pol_end:
            return g.name, (pol_offset - g.pol_start) // 3 + 1
    return None


@lru_cache(maxsize=None)
def pol_protein() -> str:
    """Consensus-B PR + RT + IN concatenated (947 aa): the target amino-acid records align to."""
    return "".join(g.consensus for g in genes().values())
