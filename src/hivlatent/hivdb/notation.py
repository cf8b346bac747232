"""Mutation lists in HIVDB notation, turned into the per-position residues sierralocal scores.

A genotype is a list of mutation strings with a gene prefix:

- ``RT:M184V`` substitution; the wild-type letter is optional (``RT:184V``) and, when given, must
  be the consensus-B residue at that position;
- ``RT:T215FY`` mixture (several residues at one position; the consensus residue may be one of
  them, ``RT:M184MV``);
- ``RT:T69ins`` insertion after the position, optionally with the inserted residues
  (``RT:T69insSS``);
- ``RT:D67del`` deletion; ``RT:W88*`` stop codon; ``X`` an unknown residue.

Two mutations at one position are merged into a mixture, as HIVdb merges them. sierralocal (like
Sierra's ASI format) sees an insertion as ``i`` and a deletion as ``d`` at the position, so it does
not score a residue listed at the same position as an insertion or deletion. A position with more
than :data:`MAX_MIXTURE` amino acids is ambiguous and, as in sierralocal's reports, not scored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import DataError
from .consensus import CONSENSUS
from .drugs import GENES

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: residue codes a substitution may hold besides the amino acids: stop and unknown
OTHER_RESIDUES = "*X"
#: more amino acids than this at one position is an ambiguous call: not scored (sierralocal)
MAX_MIXTURE = 4

_TOKEN_RE = re.compile(
    r"(?P<gene>[A-Z]+):(?P<wt>[A-Z])?(?P<pos>[0-9]+)"
    r"(?P<tail>ins(?P<inserted>[A-Z]*)|del|[A-Z*]+)"
)
_EXPECTED = (
    "expected GENE:<wild type><position><residues> with GENE PR, RT or IN, "
    "e.g. RT:M184V, RT:T215FY, RT:T69ins, RT:D67del, RT:W88*"
)

#: one gene's mutations in sierralocal's layout: position -> (consensus, residues, residues)
SierraMutations = dict[int, tuple[str, str, str]]
#: the same, as a sorted tuple of items: hashable, so scores can be cached per gene
MutationKey = tuple[tuple[int, tuple[str, str, str]], ...]


@dataclass
class Site:
    """What a genotype holds at one position of one gene."""

    residues: set[str] = field(default_factory=set)
    insertion: bool = False
    inserted: str = ""
    deletion: bool = False


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


def check_position(gene: str, position: int, where: str) -> str:
    """The consensus residue at ``position`` of ``gene``; DataError naming ``where`` if outside."""
    seq = CONSENSUS[gene]
    if not 1 <= position <= len(seq):
        raise DataError(f"{where}: position {position} is outside {gene} 1-{len(seq)}")
    return seq[position - 1]


def parse_mutation(token: object, genes: tuple[str, ...], where: str) -> tuple[str, int, Site]:
    """One mutation string -> (gene, position, site); DataError naming the token otherwise."""
    if not isinstance(token, str):
        raise DataError(f"{where}: mutation {token!r} is not a string; {_EXPECTED}")
    m = _TOKEN_RE.fullmatch(token.strip())
    if m is None:
        raise DataError(f"{where}: mutation {token!r} is not HIVDB notation; {_EXPECTED}")
    gene, wt, pos, tail = m["gene"], m["wt"], int(m["pos"]), m["tail"]
    if gene not in GENES:
        raise DataError(f"{where}: mutation {token!r} names gene {gene!r}; use PR, RT or IN")
    if gene not in genes:
        raise DataError(
            f"{where}: mutation {token!r} is in {gene}, which is not scored here "
            f"(genes={','.join(genes)}); add {gene} to genes or drop the mutation"
        )
    consensus = check_position(gene, pos, f"{where}: mutation {token!r}")
    if wt is not None and wt != consensus:
        raise DataError(
            f"{where}: mutation {token!r}: consensus B at {gene} {pos} is {consensus}, not {wt}; "
            f"write {gene}:{consensus}{pos}{tail}"
        )
    site = Site()
    if m["inserted"] is not None:
        site.insertion, site.inserted = True, m["inserted"]
    elif tail == "del":
        site.deletion = True
    else:
        site.residues = set(tail)
    return gene, pos, site


def merge(sites: dict[int, Site], position: int, new: Site, where: str) -> None:
    """Add ``new`` to what ``sites`` holds at ``position`` (two calls make a mixture)."""
    old = sites.setdefault(position, Site())
    old.residues |= new.residues
    old.insertion |= new.insertion
    old.inserted = old.inserted or new.inserted
    old.deletion |= new.deletion
    if old.insertion and old.deletion:
        raise DataError(f"{where}: both an insertion and a deletion at position {position}")


def sierra_text(consensus: str, site: Site) -> str | None:
    """The residues string sierralocal expects at a position, or None when nothing is scored.

    ``_`` + inserted residues for an insertion, ``-`` for a deletion (sierralocal reads these
    as ``i`` and ``d``), else the residues with the consensus one first. None when the site is
    only the consensus residue, only unknown, or an ambiguous mixture of more than
    :data:`MAX_MIXTURE` amino acids.
    """
    if site.insertion:
        return "_" + site.inserted
    if site.deletion:
        return "-"
    residues = site.residues - {"X"}
    if not residues - {consensus} or len(residues) > MAX_MIXTURE:
        return None
    rest = "".join(sorted(residues - {consensus}))
    return (consensus if consensus in residues else "") + rest


def to_key(gene: str, sites: dict[int, Site]) -> MutationKey:
    """One gene's sites -> the hashable, sorted sierralocal mutations (unscored sites left out)."""
    seq = CONSENSUS[gene]
    items = []
    for position in sorted(sites):
        text = sierra_text(seq[position - 1], sites[position])
        if text is not None:
            items.append((position, (seq[position - 1], text, text)))
    return tuple(items)


def parse_genotype(tokens: object, genes: tuple[str, ...], index: int) -> dict[str, MutationKey]:
    """One genotype (a list of mutation strings) -> per gene, its sierralocal mutation key."""
    where = f"genotype {index}"
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
        raise DataError(
            f"{where} is {tokens!r}, not a list of mutation strings; "
            "give one list per virus, e.g. [['RT:M184V', 'RT:K103N'], []]"
        )
    per_gene: dict[str, dict[int, Site]] = {gene: {} for gene in genes}
    for token in tokens:
        gene, position, site = parse_mutation(token, genes, where)
        merge(per_gene[gene], position, site, f"{where}: mutation {token!r} ({gene})")
    return {gene: to_key(gene, sites) for gene, sites in per_gene.items()}
