"""HIVdb's annotations of a virus's mutations and the breakdown of each drug's score, as
sierralocal reports them in its JSON (``alignedGeneSequences[].mutations`` and
``drugResistance[].drugScores[].partialScores``).

Both come from sierralocal's own code, called on this package's mutation calls, so they are
sierralocal's answers rather than a re-implementation:

- per mutation, ``JSONWriter.format_aligned_gene_sequences`` gives ``primaryType`` (PI: Major,
  Accessory, Other; RT: NRTI, NNRTI, Other; IN: Major, Accessory, Other), ``isSDRM`` (a
  surveillance drug-resistance mutation), ``isUnusual``, ``isApobecMutation``, ``isApobecDRM``,
  ``hasStop``, ``isInsertion``, ``isDeletion``; to these, ``comments`` adds HIVdb's comments on
  the mutation's residues from the algorithm's ``MUTATION_COMMENTS`` (matched exactly on position
  and residue);
- per drug, ``JSONWriter.format_drug_resistance`` turns the rules that fired
  (:attr:`~.calls.HivdbCall.raw`) into partial scores: each with its ``score`` and its mutations
  (``text``, ``primaryType``, ``triggeredAAs``, ``comments``).

The residues of a mutation are written as sierralocal's aligner writes them (``AAs``): the
amino acids sorted (``R57RH`` -> ``HR``), ``-`` for a deletion, ``_`` and the codon's own residues
for an insertion (``T69ins`` in a ``T`` codon -> ``_T``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..data.consensus import CONSENSUS
from ..data.mutations import DELETION, INSERTION, Mutation
from .drug_calls import HivdbCall
from .sierralocal_runner import _modules

_CONDITION = re.compile(r"(\d+)([A-Za-z*]+)")
#: the per-mutation fields, in sierralocal's names
FLAGS = ("primaryType", "isSDRM", "isUnusual", "isApobecMutation", "isApobecDRM", "hasStop",
         "isInsertion", "isDeletion")


@dataclass(frozen=True)
class MutationAnnotation:
    """HIVdb's annotation of one mutation (one gene position) of a virus."""

    gene: str
    position: int
    consensus: str
    aas: str                       #: sierralocal's ``AAs``
    primary_type: str              #: Major / Accessory / NRTI / NNRTI / Other
    is_sdrm: bool
    is_unusual: bool
    is_apobec_mutation: bool
    is_apobec_drm: bool
    has_stop: bool
    is_insertion: bool
    is_deletion: bool
    comments: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``RT:M184V``: the gene, consensus, position and residues (HIVDB notation)."""
        if self.is_deletion:
            return f"{self.gene}:{self.consensus}{self.position}del"
        if self.is_insertion:
            return f"{self.gene}:{self.consensus}{self.position}ins"
        rest = sorted(set(self.aas) - {self.consensus})
        own = self.consensus if self.consensus in self.aas else ""
        return f"{self.gene}:{self.consensus}{self.position}{own}{''.join(rest)}"

    def to_dict(self) -> dict:
        """sierralocal's mutation object (its field names), with ``mutation`` (our name),
        ``gene`` and ``comments`` added."""
        return {"mutation": self.name, "gene": self.gene, "consensus": self.consensus,
                "position": self.position, "AAs": self.aas, "primaryType": self.primary_type,
                "isSDRM": self.is_sdrm, "isUnusual": self.is_unusual,
                "isApobecMutation": self.is_apobec_mutation, "isApobecDRM": self.is_apobec_drm,
                "hasStop": self.has_stop, "isInsertion": self.is_insertion,
                "isDeletion": self.is_deletion, "comments": list(self.comments)}


@dataclass(frozen=True)
class Annotations:
    """A virus's mutations annotated, and each drug's partial scores (drug -> sierralocal's
    ``partialScores`` list), for the genes scored."""

    mutations: tuple[MutationAnnotation, ...]
    partial_scores: Mapping[str, list]

    @property
    def sdrms(self) -> list[str]:
        return [m.name for m in self.mutations if m.is_sdrm]


class _Writer:
    """sierralocal's JSONWriter (it reads its bundled tables once) and the comments by position."""

    def __init__(self) -> None:
        hivdb, _ = _modules()
        jsonwriter = importlib.import_module("sierralocal.jsonwriter")
        with contextlib.redirect_stdout(io.StringIO()):   # both print the files they read
            self.writer = jsonwriter.JSONWriter(hivdb.HIVdb(), None, None, None, None)
        texts = self.writer.definitions["comment"]
        # gene -> position -> [(residues, text)]
        self.comments: dict[str, dict[int, list[tuple[str, str]]]] = {}
        for gene, rules in self.writer.comments.items():
            for condition, ref in rules.items():
                if ref not in texts:
                    continue
                for part in condition.split(" OR "):     # e.g. "67d OR 68d OR 69d OR 70d"
                    m = _CONDITION.fullmatch(part.strip())
                    if m is not None:
                        self.comments.setdefault(gene, {}).setdefault(int(m.group(1)), []).append(
                            (m.group(2), texts[ref]["1"]))

    def comments_on(self, gene: str, position: int, residues: Iterable[str]) -> tuple[str, ...]:
        out: list[str] = []
        for aa in residues:
            for condition, text in self.comments.get(gene, {}).get(position, []):
                if aa in condition and text not in out:
                    out.append(text)
        return tuple(out)


@functools.lru_cache(maxsize=1)
def writer() -> _Writer:
    """The one loaded JSONWriter (per process)."""
    return _Writer()


def sierra_aas(consensus: str, residues: Iterable[str]) -> str:
    """A position's residues as sierralocal's aligner writes them (its ``AAs``)."""
    res = set(residues)
    if DELETION in res:
        return "-"
    if INSERTION in res:
        own = sorted(res - {INSERTION})
        return "_" + ("".join(own) or consensus)
    return "".join(sorted(res))


def _sites(mutations: Iterable[Mutation], genes: Iterable[str]) -> dict[str, dict[int, set[str]]]:
    sites: dict[str, dict[int, set[str]]] = {g: {} for g in genes}
    for m in mutations:
        if m.gene in sites:
            sites[m.gene].setdefault(m.position, set()).update(m.residues)
    return sites


def annotate(mutations: Iterable[Mutation], genes: Iterable[str],
             calls: Mapping[str, HivdbCall] | None = None) -> Annotations:
    """HIVdb's annotations of ``mutations`` in ``genes`` and, for the drugs of ``calls`` (this
    package's drug name -> :class:`~.calls.HivdbCall` of :func:`~.algorithm.score` for the same
    mutations), their partial scores in sierralocal's form."""
    w = writer()
    out: list[MutationAnnotation] = []
    partial: dict[str, list] = {}
    by_gene = {}
    for c in (calls or {}).values():
        by_gene.setdefault(gene_of_class(c.drug_class), {})[c.hivdb_drug] = c
    for gene, sites in _sites(mutations, genes).items():
        cons = CONSENSUS[gene]
        ordered = []
        for pos in sorted(sites):
            aas = sierra_aas(cons[pos - 1], sites[pos])
            ordered.append((pos, aas, cons[pos - 1], aas.lstrip("_") or aas))
        formatted, texts = w.writer.format_aligned_gene_sequences(ordered, gene,
                                                                  (1, len(cons)))
        for pos, m in zip(sorted(sites), formatted["mutations"]):
            letters = ("d",) if m["isDeletion"] else ("i",) if m["isInsertion"] else \
                tuple(sorted(sites[pos] - {cons[pos - 1]}))
            out.append(MutationAnnotation(
                gene, pos, m["consensus"], m["AAs"], m["primaryType"], bool(m["isSDRM"]),
                bool(m["isUnusual"]), bool(m["isApobecMutation"]), bool(m["isApobecDRM"]),
                bool(m["hasStop"]), bool(m["isInsertion"]), bool(m["isDeletion"]),
                w.comments_on(gene, pos, letters)))
        gene_calls = by_gene.get(gene)
        if gene_calls and all(c.raw for c in gene_calls.values()):
            scores = {name: (c.raw[0], list(c.raw[1]), [list(g) for g in c.raw[2]])
                      for name, c in gene_calls.items()}
            result = w.writer.format_drug_resistance(scores, "virus", gene, {"virus": {gene: set()}},
                                                     texts)
            ours = {name: c.drug for name, c in gene_calls.items()}
            for drug_score in result["drugScores"]:
                name = ours.get(drug_score["drug"]["displayAbbr"])
                if name is not None:
                    partial[name] = drug_score["partialScores"]
    return Annotations(tuple(out), partial)


def gene_of_class(drug_class: str) -> str:
    from .drugs import GENE_CLASSES

    return next(g for g, classes in GENE_CLASSES.items() if drug_class in classes)
