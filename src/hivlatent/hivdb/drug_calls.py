"""The result of scoring one drug for one virus."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PartialScore:
    """One rule of the drug that fired: its mutations (``RT:M41L``, ``RT:T215Y``) and its score.

    A rule is a single mutation (``184V => 60``) or a combination (``41L AND 215FY => 10``).
    A mutation shows the residues of the virus that triggered the rule: for the mixture
    ``T215SY`` under AZT's ``MAX(..., 215S => 10, ..., 215Y => 60)`` it is ``RT:T215SY`` with
    score 60 (the highest residue counts; the lower one is listed, as in Sierra's reports).
    """

    mutations: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class HivdbCall:
    """The HIVdb call for one drug: total score, level 1-5 and the rules that contributed."""

    drug: str  #: this package's name (``LPV``)
    drug_class: str  #: NRTI, NNRTI, PI or INSTI
    score: float  #: sum of the partial scores
    level: int  #: 1 Susceptible ... 5 High-Level Resistance, from the drug's score ranges
    level_text: str  #: the XML's text of the level, e.g. ``High-Level Resistance``
    sir: str  #: the XML's S/I/R for the level
    partial_scores: tuple[PartialScore, ...] = ()
    hivdb_drug: str = ""  #: the name in the HIVdb XML (``LPV/r``)
    #: sierralocal's own result for the drug, ``(total, partial scores, rule mutations)`` as
    #: ``score_alg.score_single`` returns it (read by :mod:`.annotations`)
    raw: tuple = field(default=(), compare=False, repr=False)
