"""Mutation notation: parse genotypes as users write them and encode them as model features.

Notation (one token = one mutation; tokens are separated by spaces, commas, semicolons or ``+``):

==========================  ===========================================================
``M184V``                   consensus residue (optional, checked), position, residue(s)
``184V``                    the consensus residue may be left out
``T215FY``, ``T215Y/F``     a mixture: every listed residue is present
``K14K*``, ``W88*``         ``*`` is a stop codon
``T69ins``, ``69#``         an insertion after the position (``#``); ``T69insSS`` and the
``T69insSS``, ``T69_SS``    HIVDB form ``T69T_SS`` / ``T69S_SS`` too: the letters after
``T69S_SS``                 ``ins`` or ``_`` are the inserted residues (not features); letters
                            before ``_`` are residues at the position (a mixture with ``#``)
``67del``, ``67~``,         a deletion (``~``)
``D67del``
``T69S/ins``                slashes combine any of the above at one position
``RT:M184V``, ``pr:L90M``   gene prefix on one token (case-insensitive)
``RT: M184V K65R``          a prefix standing alone applies to every following token, until the
                            next one
``WT`` or ``-``             no mutation (a wild-type virus)
==========================  ===========================================================

Letters may be lower case. ``ins`` and ``del`` are keywords in any case, so a mixture of the
residues I, N and S must be written ``T69I/N/S`` (or ``T69NIS``), not ``T69INS``.
Genes are PR (protease, 1-99), RT (1-560) and IN (integrase, 1-288); a position outside its
gene is rejected with a message saying so (the models know the positions of the HIVDB tables, RT
1-240 and PR 1-99: a mutation beyond them is reported as unrecognized, never dropped). Residues
must be one of the 20 amino acids or ``#``, ``~``,
``*`` (``X``, unknown, is rejected in typed input). A consensus letter that disagrees with
consensus B (:mod:`hivlatent.data.consensus`) is not an error: the mutation is read by position
and a note says so. A token with a prefix for another gene (``PR:L90M`` for an RT model) is kept
and reported as unrecognized by :func:`encode`.

Canonical form (:attr:`Mutation.name`): consensus-B residue, position, residues with the
consensus residue first and the rest in alphabetical order (``V77VI``, ``T215FY``), ``ins`` /
``del`` for ``#`` / ``~`` (``T69ins``, ``D67del``, ``T69S/ins`` when mixed with letters).
Other-gene mutations carry their prefix (``PR:L90M``). The canonical form parses back to the
same mutation.

Encoding (:func:`encode`): a mutation sets every feature column whose (position, residue) matches
one of its residues, whatever consensus letter the feature name starts with (feature names are
parsed with the same rules, plus the MTPS form ``X.184V``). A residue with no column is reported
as unrecognized unless it is the consensus residue (``M184M`` is simply wild type).

Genotype files are read by :mod:`hivlatent.data.genotype_files`.

Every malformed value raises :class:`~hivlatent.errors.DataError` in one line naming the file,
the line and the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..config import MAX_MIXTURE
from ..errors import DataError
from .consensus import CONSENSUS, consensus_residue
from .cutoffs import GENES

#: the 20 amino acids, one-letter codes
AMINO_ACIDS = frozenset("ACDEFGHIKLMNPQRSTVWY")
INSERTION, DELETION, STOP = "#", "~", "*"
#: every residue code a :class:`Mutation` may hold
RESIDUES = AMINO_ACIDS | {INSERTION, DELETION, STOP}
#: length of each gene in the HIVDB tables
GENE_LENGTHS: dict[str, int] = {gene: len(seq) for gene, seq in CONSENSUS.items()}
_GENE_ALIASES = {"RT": "RT", "PR": "PR", "PROTEASE": "PR", "IN": "IN", "INT": "IN",
                 "INTEGRASE": "IN"}

EXAMPLES = "e.g. M184V, 184V, RT:M184V, T215FY, T215Y/F, T69ins, 69#, 67del, 67~"

_SEPARATORS = re.compile(r"[\s,;+]+")
_PREFIX = re.compile(r"^([A-Za-z]+):(.*)$")
_TOKEN = re.compile(r"^(?P<ref>[A-Za-z])?(?P<pos>\d+)(?P<res>.*)$")
_UNDERSCORE = re.compile(r"^(?P<letters>[A-Za-z*]*)_(?P<inserted>[A-Za-z]*)$")
_INS = re.compile(r"^(?:ins|#)(?P<inserted>[A-Za-z]*)$", re.IGNORECASE)
_DEL = re.compile(r"^(?:del|~)$", re.IGNORECASE)


def resolve_gene(gene: str) -> str:
    """``"PR"``, ``"RT"`` or ``"IN"`` from a gene (``protease``, ``integrase`` too) or a drug
    class name (NRTI, NNRTI, PI, INSTI)."""
    key = str(gene).strip().upper()
    if key in _GENE_ALIASES:
        return _GENE_ALIASES[key]
    if key in GENES:
        return GENES[key][0]
    raise DataError(f"unknown gene {gene!r}; expected PR, RT or IN (or a drug class NRTI, NNRTI, "
                    "PI, INSTI)")


def _residue_sort_key(consensus: str | None):
    order = {STOP: 1, INSERTION: 2, DELETION: 3}

    def key(r: str) -> tuple[int, str]:
        if r == consensus:
            return (-1, r)
        return (order.get(r, 0), r)

    return key


@dataclass(frozen=True)
class Mutation:
    """One position of a genotype as written by the user.

    ``residues``: one-letter codes present at ``position`` (several = a mixture; ``#`` insertion,
    ``~`` deletion, ``*`` stop). ``reference``: the consensus letter as written (None if left
    out); it may disagree with consensus B. ``token``: the original text.
    """

    gene: str
    position: int
    residues: frozenset[str]
    reference: str | None = None
    token: str = ""

    @property
    def consensus(self) -> str | None:
        """The consensus-B residue at this position."""
        return consensus_residue(self.gene, self.position)

    @property
    def key(self) -> tuple[str, int, frozenset[str]]:
        """(gene, position, residues): equal for every notation of the same mutation."""
        return (self.gene, self.position, self.residues)

    @property
    def is_wild_type(self) -> bool:
        return self.residues == frozenset({self.consensus})

    def name_for(self, residues: Iterable[str]) -> str:
        """Canonical name of this position with ``residues`` (see the module docstring)."""
        cons = self.consensus or ""
        rs = sorted(set(residues), key=_residue_sort_key(self.consensus))
        indels = [r for r in rs if r in (INSERTION, DELETION)]
        word = {INSERTION: "ins", DELETION: "del"}
        if not indels:
            body = "".join(rs)
        elif len(rs) == 1:
            body = word[rs[0]]
        else:
            letters = "".join(r for r in rs if r not in (INSERTION, DELETION))
            body = "/".join(([letters] if letters else []) + [word[r] for r in indels])
        return f"{cons}{self.position}{body}"

    @property
    def name(self) -> str:
        """Canonical form, e.g. ``M184V``, ``V77VI``, ``T69ins``, ``D67del``."""
        return self.name_for(self.residues)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ParsedGenotype:
    """A virus: its mutations (in input order, exact duplicates removed), notes, and an id."""

    mutations: tuple[Mutation, ...]
    notes: tuple[str, ...] = ()
    id: str = ""


class Encoded(NamedTuple):
    """Output of :func:`encode`; unpacks as ``X, recognized, unrecognized``."""

    X: np.ndarray
    recognized: list[list[str]]
    unrecognized: list[list[str]]


def _err(where: str, message: str) -> DataError:
    return DataError(f"{where}: {message}" if where else message)


def _parse_residues(res: str, token: str, where: str) -> frozenset[str]:
    """Residue set of the text after the position."""
    if not res:
        raise _err(where, f"cannot parse mutation {token!r}: no residue after the position "
                          f"({EXAMPLES})")
    m = _UNDERSCORE.match(res)
    if m:  # HIVDB insertion form T69T_SS / T69S_SS / T69_SS
        parts = [m.group("letters")] if m.group("letters") else []
        out: set[str] = {INSERTION}
    else:
        parts = res.split("/")
        out = set()
    for part in parts:
        if not part:
            raise _err(where, f"cannot parse mutation {token!r}: empty residue around '/' "
                              f"({EXAMPLES})")
        if _INS.match(part):
            out.add(INSERTION)
        elif _DEL.match(part):
            out.add(DELETION)
        elif part.lower().endswith(("ins", "del")) and len(part) > 3:
            raise _err(where, f"mutation {token!r}: {part!r} mixes residues with "
                              f"{part[-3:].lower()}; write {part[:-3]}/{part[-3:].lower()} "
                              f"({EXAMPLES})")
        else:
            for ch in part.upper():
                if ch not in RESIDUES:
                    raise _err(where, f"mutation {token!r}: {ch!r} is not a residue; expected "
                                      f"one of the 20 amino acids "
                                      f"({''.join(sorted(AMINO_ACIDS))}), # insertion, "
                                      f"~ deletion or * stop ({EXAMPLES})")
                out.add(ch)
    return frozenset(out)


def parse_mutation(token: str, gene: str, *, where: str = "") -> Mutation:
    """One token (``M184V``, ``RT:M184V``, ``T215Y/F``, ``T69ins``, ``67~`` ...) as a Mutation.

    ``gene`` is used when the token has no prefix. ``where`` (for example ``"f.txt: line 3"``)
    starts the error message. Raises DataError for anything it cannot read.
    """
    token = token.strip()
    gene = resolve_gene(gene)
    body = token
    m = _PREFIX.match(token)
    if m:
        prefix = m.group(1).upper()
        if prefix not in _GENE_ALIASES:
            raise _err(where, f"mutation {token!r}: unknown gene prefix {m.group(1)!r}; "
                              f"expected PR:, RT: or IN:")
        gene = _GENE_ALIASES[prefix]
        body = m.group(2)
    m = _TOKEN.match(body)
    if not m:
        raise _err(where, f"cannot parse mutation {token!r} ({EXAMPLES})")
    ref = m.group("ref").upper() if m.group("ref") else None
    if ref is not None and ref not in AMINO_ACIDS:
        raise _err(where, f"mutation {token!r}: consensus residue {ref!r} is not one of the 20 "
                          f"amino acids")
    position = int(m.group("pos"))
    length = GENE_LENGTHS[gene]
    if not 1 <= position <= length:
        raise _err(where, f"mutation {token!r}: position {position} is outside {gene} "
                          f"1-{length}")
    residues = _parse_residues(m.group("res"), token, where)
    if len(residues) > MAX_MIXTURE:
        raise _err(where, f"mutation {token!r}: a mixture of {len(residues)} residues at "
                          f"{gene} {position}; expected at most {MAX_MIXTURE} (HIVdb reads a "
                          "codon standing for more as unknown)")
    return Mutation(gene=gene, position=position, residues=residues, reference=ref, token=token)


def parse_genotype(text: str, gene: str, *, id: str = "", where: str = "") -> ParsedGenotype:
    """All mutations of one virus written as text (see the module docstring for the notation).

    Notes (not errors) are made for a consensus letter that disagrees with consensus B and for a
    mutation listed twice. ``where`` prefixes error messages (file and line).
    """
    gene = resolve_gene(gene)
    if not text.strip():
        raise _err(where, "no mutations; expected mutations such as M184V, or WT (or -) for a "
                          "virus without mutations")
    current = gene
    mutations: list[Mutation] = []
    notes: list[str] = []
    seen: set[tuple] = set()
    wild_type = False
    for token in _SEPARATORS.split(text.strip()):
        if not token:
            continue
        if token == "-" or token.upper() == "WT":
            wild_type = True
            continue
        m = _PREFIX.match(token)
        if m and not m.group(2):  # a standalone "RT:" header
            prefix = m.group(1).upper()
            if prefix not in _GENE_ALIASES:
                raise _err(where, f"unknown gene prefix {token!r}; expected PR:, RT: or IN:")
            current = _GENE_ALIASES[prefix]
            continue
        mut = parse_mutation(token, current, where=where)
        if mut.key in seen:
            notes.append(f"{token}: listed twice")
            continue
        seen.add(mut.key)
        cons = mut.consensus
        if mut.reference is not None and mut.reference != cons:
            notes.append(f"{token}: consensus B has {cons} at {mut.gene} {mut.position}, "
                         f"not {mut.reference}; read as {mut.name}")
        mutations.append(mut)
    if not mutations and not wild_type:
        raise _err(where, f"no mutations in {text!r}; expected mutations such as M184V, or WT "
                          "(or -) for a virus without mutations")
    if wild_type and mutations:
        raise _err(where, f"WT (or -) names a virus without mutations but stands with "
                          f"{mutations[0].token!r}; expected either WT or the mutations")
    _check_indels(mutations, where)
    return ParsedGenotype(tuple(mutations), tuple(notes), id)


def _check_indels(mutations: Sequence[Mutation], where: str) -> None:
    """An insertion and a deletion at one position of one virus contradict each other."""
    at: dict[tuple[str, int], list[Mutation]] = {}
    for m in mutations:
        at.setdefault((m.gene, m.position), []).append(m)
    for (gene, pos), ms in at.items():
        codes = set().union(*(m.residues for m in ms))
        if INSERTION in codes and DELETION in codes:
            raise _err(where, f"an insertion and a deletion at {gene} {pos} "
                              f"({', '.join(repr(m.token) for m in ms)}); expected one of them")


def parse_arguments(args: Sequence[str], gene: str) -> list[ParsedGenotype]:
    """Genotypes given on the command line: one argument per virus, ids ``arg1``, ``arg2`` ..."""
    return [parse_genotype(a, gene, id=f"arg{i}", where=f"argument {i}")
            for i, a in enumerate(args, start=1)]


# ---------------------------------------------------------------------------------------------
# features


#: order of residues within a position: amino acids alphabetically, then stop, insertion, deletion
RESIDUE_ORDER: dict[str, int] = {**{a: i for i, a in enumerate(sorted(AMINO_ACIDS))},
                                 STOP: 20, INSERTION: 21, DELETION: 22}
_R_PREFIX = re.compile(r"^X\.?(?=\d)")  # R's make.names prefix: X.184V, X184V


def parse_feature(name: str, gene: str) -> Mutation:
    """A feature column name as a Mutation with exactly one residue.

    The same grammar as typed mutations (:func:`parse_mutation`), plus MTPS/R's column names
    (``X.184V``, ``X184V``, ``X.69#``): ``M184V``, ``184V``, ``T69ins``, ``69#``, ``D67del``,
    ``67~``, ``W88*``. Raises DataError when the name is not one mutation, is a mixture, or
    names a consensus letter that is not consensus B's at that position.
    """
    text = str(name).strip()
    body = _R_PREFIX.sub("", text)
    try:
        mut = parse_mutation(body, gene)
    except DataError as exc:
        raise DataError(f"feature name {name!r} is not a mutation: {exc}") from None
    if len(mut.residues) != 1:
        raise DataError(f"feature name {name!r}: expected one residue per feature column, got "
                        f"the mixture {mut.name}")
    if mut.reference is not None and mut.consensus is not None and mut.reference != mut.consensus:
        raise DataError(f"feature name {name!r}: consensus B has {mut.consensus} at {mut.gene} "
                        f"{mut.position}, not {mut.reference}")
    return mut


def feature_name(gene: str, position: int, residue: str) -> str:
    """The canonical feature name of one residue code (an amino acid, ``*``, ``#`` insertion,
    ``~`` deletion) at ``position``: ``M184V``, ``W88*``, ``T69ins``, ``D67del``."""
    return Mutation(resolve_gene(gene), int(position), frozenset({residue})).name


def normalise_feature(name: str, gene: str) -> str:
    """Our name for a feature column name (``X.184V`` -> ``M184V``); DataError if it is none."""
    return parse_feature(name, gene).name


def feature_index(feature_names: Sequence[str], gene: str) -> dict[tuple[int, str], list[int]]:
    """Map (position, residue) to the feature columns that hold it."""
    gene = resolve_gene(gene)
    index: dict[tuple[int, str], list[int]] = {}
    for j, name in enumerate(feature_names):
        mut = parse_feature(name, gene)
        if mut.gene != gene:
            raise DataError(f"feature name {name!r} is a {mut.gene} mutation, expected {gene}")
        for r in mut.residues:
            index.setdefault((mut.position, r), []).append(j)
    return index


def encode(genotypes: Sequence[ParsedGenotype | str], feature_names: Sequence[str],
           gene: str) -> Encoded:
    """Indicator matrix X (n, p) float32 for ``feature_names``, and per virus the canonical names
    of the mutations that were recognized and those that were not.

    A mixture sets every listed residue. A residue without a column is reported in
    ``unrecognized`` (as the canonical name of that position with the missing residues), unless
    it is the consensus residue. ``recognized`` lists the mutations with at least one column set
    (a partly recognized mixture appears in both lists); a consensus residue without a column is
    in neither (it is wild type). Mutations of the other gene are unrecognized with their prefix.
    """
    gene = resolve_gene(gene)
    index = feature_index(feature_names, gene)
    X = np.zeros((len(genotypes), len(feature_names)), dtype=np.float32)
    recognized: list[list[str]] = []
    unrecognized: list[list[str]] = []
    for i, g in enumerate(genotypes):
        if isinstance(g, str):
            g = parse_genotype(g, gene)
        rec: list[str] = []
        unrec: list[str] = []
        for mut in g.mutations:
            if mut.gene != gene:
                unrec.append(f"{mut.gene}:{mut.name}")
                continue
            missing = []
            for r in mut.residues:
                cols = index.get((mut.position, r))
                if cols:
                    X[i, cols] = 1.0
                elif r != mut.consensus:
                    missing.append(r)
            if missing:
                unrec.append(mut.name_for(missing))
            if any((mut.position, r) in index for r in mut.residues):
                rec.append(mut.name)
        recognized.append(rec)
        unrecognized.append(unrec)
    return Encoded(X, recognized, unrecognized)


__all__ = [
    "AMINO_ACIDS", "RESIDUES", "GENE_LENGTHS", "Mutation", "ParsedGenotype", "Encoded",
    "RESIDUE_ORDER", "resolve_gene", "parse_mutation", "parse_genotype", "parse_arguments",
    "parse_feature", "feature_name", "normalise_feature", "feature_index", "encode",
]
