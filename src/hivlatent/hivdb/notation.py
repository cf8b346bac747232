"""Genotypes in this package's one mutation grammar (:mod:`hivlatent.data.mutations`), turned into
the per-position residues sierralocal scores.

A genotype is a :class:`~hivlatent.data.mutations.ParsedGenotype`, a sequence of
:class:`~hivlatent.data.mutations.Mutation`, or text (one string, or a list of tokens) in the
package's notation with gene prefixes: ``RT:M184V``, ``RT:T215FY``, ``RT:T69ins``, ``RT:D67del``,
``RT:W88*``, ``PR:L90M``, ``IN:N155H`` (a token without a prefix is RT).

Two mutations at one position are merged into a mixture, as HIVdb merges them. sierralocal (like
Sierra's ASI format) sees an insertion as ``i`` and a deletion as ``d`` at the position, so it does
not score a residue listed at the same position as an insertion or deletion. A position with more
than :data:`MAX_MIXTURE` amino acids is ambiguous and, as in sierralocal's reports, not scored.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..data.consensus import CONSENSUS
from ..data.mutations import DELETION, INSERTION, Mutation, ParsedGenotype, parse_genotype
from ..errors import DataError
from .drugs import GENES

#: more amino acids than this at one position is an ambiguous call: not scored (sierralocal)
from ..config import MAX_MIXTURE  # noqa: E402  the one limit, shared with typed input

#: one gene's mutations in sierralocal's layout: position -> (consensus, residues, residues)
SierraMutations = dict[int, tuple[str, str, str]]
#: the same, as a sorted tuple of items: hashable, so scores can be cached per gene
MutationKey = tuple[tuple[int, tuple[str, str, str]], ...]


def check_genes(genes: Iterable[str] | None) -> tuple[str, ...]:
    """The genes to score, validated: None means all of PR, RT and IN."""
    if genes is None:
        return GENES
    if isinstance(genes, str):
        genes = (genes,)
    chosen = tuple(dict.fromkeys(str(g).upper() for g in genes))
    for gene in chosen:
        if gene not in GENES:
            raise DataError(f"gene {gene!r} is not scored by HIVdb here; use PR, RT or IN")
    if not chosen:
        raise DataError("genes is empty; give one or more of PR, RT, IN (or None for all)")
    return chosen


def as_mutations(genotype: object, index: int) -> tuple[Mutation, ...]:
    """One genotype (parsed, mutations, or text) as its mutations; DataError names it."""
    where = f"genotype {index}"
    if isinstance(genotype, ParsedGenotype):
        return genotype.mutations
    if isinstance(genotype, bytes) or genotype is None:
        raise DataError(f"{where} is {genotype!r}; expected mutations such as 'RT:M184V' or WT")
    if isinstance(genotype, str):
        return parse_genotype(genotype, "RT", where=where).mutations
    items = list(genotype) if isinstance(genotype, Iterable) else None
    if items is None:
        raise DataError(f"{where} is {genotype!r}; expected a list of mutations such as "
                        "['RT:M184V', 'RT:K103N']")
    if all(isinstance(m, Mutation) for m in items):
        return tuple(items)
    if not all(isinstance(m, str) for m in items):
        raise DataError(f"{where}: {items!r} mixes mutations and other values; expected "
                        "mutation strings such as 'RT:M184V'")
    return parse_genotype(" ".join(items) if items else "WT", "RT", where=where).mutations


def sierra_text(consensus: str, residues: set[str]) -> str | None:
    """The residues string sierralocal expects at a position, or None when nothing is scored.

    ``_`` for an insertion, ``-`` for a deletion (sierralocal reads these as ``i`` and ``d``),
    else the residues with the consensus one first. None when the site is only the consensus
    residue, or an ambiguous mixture of more than :data:`MAX_MIXTURE` amino acids.
    """
    if INSERTION in residues:
        return "_"
    if DELETION in residues:
        return "-"
    if not residues - {consensus} or len(residues) > MAX_MIXTURE:
        return None
    rest = "".join(sorted(residues - {consensus}))
    return (consensus if consensus in residues else "") + rest


def to_keys(mutations: Iterable[Mutation], genes: tuple[str, ...],
            index: int) -> dict[str, MutationKey]:
    """A virus's mutations -> per gene, its hashable, sorted sierralocal mutation key."""
    sites: dict[str, dict[int, set[str]]] = {gene: {} for gene in genes}
    for m in mutations:
        if m.gene not in sites:
            raise DataError(f"genotype {index}: mutation {m.gene}:{m.name} is in {m.gene}, which "
                            f"is not scored here (genes={','.join(genes)}); add {m.gene} to "
                            "genes or drop the mutation")
        site = sites[m.gene].setdefault(m.position, set())
        site |= set(m.residues)
        if INSERTION in site and DELETION in site:
            raise DataError(f"genotype {index}: both an insertion and a deletion at {m.gene} "
                            f"{m.position}")
    keys = {}
    for gene, by_position in sites.items():
        seq = CONSENSUS[gene]
        items = []
        for position in sorted(by_position):
            text = sierra_text(seq[position - 1], by_position[position])
            if text is not None:
                items.append((position, (seq[position - 1], text, text)))
        keys[gene] = tuple(items)
    return keys
