"""Result objects and the mutation calls made from a :class:`~.codon_align.Reading`.

Mutations are named as HIVDB names them, against the consensus-B residue, with a gene prefix:
``RT:M184V``; a mixture lists the consensus residue first when present, then the others
alphabetically (``RT:V77VI``, ``RT:T215FY``); ``RT:W88*`` is a stop codon and ``RT:W88W*`` a
mixture with one; ``RT:T69ins`` an insertion after codon 69 (inserted residues in
:attr:`Mutation.inserted`); ``RT:D67del`` a deleted codon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .codon_align import FrameShift, Reading
from .codons import order_residues
from .reference_sequences import GENES
from .reference_sequences import gene as get_gene

#: HIVDB reports a gene only when at least this many of its codons are covered
MIN_CODONS = {"PR": 30, "RT": 50, "IN": 50}
#: the drug-resistance positions of each gene: coverage short of these draws a warning
RESISTANCE_SPAN = {"PR": (10, 90), "RT": (41, 238), "IN": (51, 263)}


@dataclass(frozen=True)
class Mutation:
    """A difference from consensus B at one gene position.

    ``residues`` are the record's residues in HIVDB order: amino acids, ``'*'`` for a stop codon,
    ``'#'`` for an insertion after this position (preceded by the codon's own residues when they
    differ from consensus), ``'~'`` for a deleted codon. ``inserted``: the inserted amino acids.
    """

    gene: str
    position: int
    consensus: str
    residues: tuple[str, ...]
    inserted: str = ""
    codon: str = ""

    @property
    def is_insertion(self) -> bool:
        return "#" in self.residues

    @property
    def is_deletion(self) -> bool:
        return "~" in self.residues

    @property
    def has_stop(self) -> bool:
        return "*" in self.residues

    @property
    def is_mixture(self) -> bool:
        return len([r for r in self.residues if r not in "#~"]) > 1

    @property
    def text(self) -> str:
        """HIVDB short text without the gene: ``M184V``, ``T215FY``, ``T69ins``, ``D67del``."""
        if self.is_deletion:
            return f"{self.consensus}{self.position}del"
        if self.is_insertion:
            return f"{self.consensus}{self.position}ins"
        return f"{self.consensus}{self.position}{''.join(self.residues)}"

    @property
    def name(self) -> str:
        """Gene-prefixed HIVDB text, e.g. ``RT:M184V``."""
        return f"{self.gene}:{self.text}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class GeneCall:
    """One gene of one record: the codons covered and the mutations found.

    ``unknown``: positions within ``first_codon``-``last_codon`` that could not be called (too
    ambiguous, broken by a frameshift, X in a protein). ``not_covered``: every position of the
    gene that is not called (outside the covered span, or unknown).
    """

    gene: str
    first_codon: int
    last_codon: int
    mutations: tuple[Mutation, ...]
    unknown: tuple[int, ...] = ()
    not_covered: tuple[int, ...] = ()

    @property
    def stop_codons(self) -> tuple[Mutation, ...]:
        return tuple(m for m in self.mutations if m.has_stop)


@dataclass(frozen=True)
class Hypermutation:
    """APOBEC3G/F G-to-A hypermutation test (Hypermut 2.0 style) on the nucleotide alignment."""

    mutated_in_context: int  # G->A where the record reads GG or GA next (GRD context)
    sites_in_context: int
    mutated_elsewhere: int
    sites_elsewhere: int
    p_value: float

    @property
    def hypermutated(self) -> bool:
        return self.p_value < 0.05 and self.mutated_in_context > 0


@dataclass(frozen=True)
class AlignedRecord:
    """Everything read from one record. ``error`` is set (and ``genes`` empty) when the record
    could not be read or does not align to HIV-1 pol."""

    id: str
    kind: str  # "nucleotide", "amino acid" ("unknown" for a record that could not be parsed)
    genes: Mapping[str, GeneCall] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str | None = None
    reverse_complemented: bool = False
    frameshifts: tuple[FrameShift, ...] = ()
    hypermutation: Hypermutation | None = None
    score: int = 0
    identity: float = 0.0
    #: a nucleotide record's base at each offset of the pol template (HXB2 2085-5096): ``.``
    #: where it does not reach, ``-`` where it has a gap; bases it inserts are left out
    pol_bases: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def mutations(self) -> tuple[Mutation, ...]:
        return tuple(m for g in GENES if g in self.genes for m in self.genes[g].mutations)

    @property
    def stop_codons(self) -> tuple[Mutation, ...]:
        return tuple(m for m in self.mutations if m.has_stop)

    @property
    def not_covered(self) -> dict[str, tuple[int, ...]]:
        """Per reported gene, the positions not called."""
        return {g: c.not_covered for g, c in self.genes.items()}


def to_mutation_strings(record: AlignedRecord) -> list[str]:
    """The record's mutations in HIVDB notation with gene prefix, PR then RT then IN, by position."""
    return [m.name for m in record.mutations]


def call_genes(reading: Reading) -> tuple[dict[str, GeneCall], list[str]]:
    """GeneCalls for the genes covered well enough, and warnings for the genes left out."""
    calls: dict[str, GeneCall] = {}
    notes: list[str] = []
    for name in GENES:
        sites = reading.sites.get(name)
        if not sites:
            continue
        g = get_gene(name)
        callable_ = [p for p, s in sites.items() if s.residues is not None or s.deleted]
        if len(callable_) < MIN_CODONS[name]:
            notes.append(f"{name}: only {len(callable_)} codons covered (fewer than "
                         f"{MIN_CODONS[name]}); gene not analysed")
            continue
        mutations = []
        unknown = []
        for p in sorted(sites):
            s = sites[p]
            cons = g.consensus[p - 1]
            if s.deleted:
                mutations.append(Mutation(name, p, cons, ("~",), s.inserted, s.codon))
            elif s.inserted:
                own = s.residues or frozenset()
                res = order_residues(own, cons) if own and own != {cons} else ()
                mutations.append(Mutation(name, p, cons, res + ("#",), s.inserted, s.codon))
                if s.residues is None:
                    unknown.append(p)
            elif s.residues is None:
                unknown.append(p)
            elif s.residues != {cons}:
                mutations.append(Mutation(name, p, cons, order_residues(s.residues, cons),
                                          codon=s.codon))
        first, last = min(sites), max(sites)
        not_covered = tuple(p for p in range(1, g.length + 1)
                            if p not in sites or (sites[p].residues is None and not sites[p].deleted))
        calls[name] = GeneCall(name, first, last, tuple(mutations), tuple(unknown), not_covered)
    return calls, notes
