"""sierralocal, the offline HIVdb algorithm (GPL-3, an optional extra), loaded lazily and once.

How it is called (sierralocal 0.4.3 has no entry point for a plain mutation list: ``main.score``
and ``main.sierralocal`` need a FASTA file and its aligner): ``sierralocal.hivdb.HIVdb()`` finds
and reads its bundled ASI2 XML (``sierralocal/data/HIVDB_<version>.xml``),
``HIVdb.parse_definitions`` and ``HIVdb.parse_drugs`` turn it into rules, and
``sierralocal.score_alg.score_single(algorithm, drug, mutations)`` scores one drug. That is what
``score_alg.score_drugs`` calls for each drug of a gene's classes; calling it per drug lets each
drug's call be cached on the positions its rules read. ``mutations`` is the dictionary
sierralocal's aligner produces: position -> (consensus, residues, residues), with ``_`` in the
residues for an insertion and ``-`` for a deletion. The level of a score comes from the drug's
score ranges in the XML (the global range, -INF-9 => 1 ... 60-INF => 5 in 9.4), its text and
S/I/R from the XML's level definitions.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import re
from types import ModuleType

from ..errors import ConfigError
from .drug_calls import HivdbCall, PartialScore
from .drugs import GENE_CLASSES, our_drug_name
from .notation import MutationKey

MISSING = (
    "the HIVdb algorithm needs the optional extra: pip install 'hivlatent[hivdb]' "
    "(sierralocal, GPL-3)"
)
_DRM_RE = re.compile(r"([A-Z]?)([0-9]+)(.+)")
_CACHE_SIZE = 1 << 16


def _modules() -> tuple[ModuleType, ModuleType]:
    """sierralocal's ``hivdb`` and ``score_alg`` modules; ConfigError when it is not installed."""
    try:
        hivdb = importlib.import_module("sierralocal.hivdb")
        score_alg = importlib.import_module("sierralocal.score_alg")
    except ImportError:
        raise ConfigError(MISSING) from None
    return hivdb, score_alg


def available() -> bool:
    """Whether sierralocal can be imported (the ``hivdb`` extra is installed)."""
    try:
        _modules()
    except ConfigError:
        return False
    return True


def require() -> None:
    """Raise ConfigError naming the extra to install when sierralocal is missing."""
    _modules()


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    """The one loaded algorithm (the XML is read once per process)."""
    return Engine()


class Engine:
    """sierralocal's parsed HIVdb algorithm and the drug tables this package reports."""

    def __init__(self) -> None:
        hivdb, self._score_alg = _modules()
        with contextlib.redirect_stdout(io.StringIO()):  # HIVdb() prints the paths it searches
            algorithm = hivdb.HIVdb()
        definitions = algorithm.parse_definitions(algorithm.root)
        algorithm.parse_drugs(algorithm.root)
        self.algorithm = algorithm
        self.xml_path = str(algorithm.xml_filename)
        self.version = f"{algorithm.algname} {algorithm.version}"
        self.date = algorithm.version_date
        # level order -> (text, S/I/R); the XML gives {order: {text: sir}}
        self.levels: dict[int, tuple[str, str]] = {
            int(order): next(iter(text_sir.items()))
            for order, text_sir in definitions["level"].items()
        }
        # per gene: (hivdb drug, our drug, class, [(min score, level)] highest first)
        self.drugs: dict[str, list[tuple[str, str, str, tuple[tuple[float, int], ...]]]] = {}
        for gene, classes in GENE_CLASSES.items():
            listed = definitions["gene"].get(gene, [])
            rows = []
            for drug_class in classes:
                if drug_class not in listed:
                    continue
                for name in definitions["drugclass"][drug_class]:
                    ranges = algorithm.drugs[name][1]
                    cuts = tuple(sorted(
                        ((float(r["min"]), int(order)) for order, r in ranges.items()),
                        reverse=True))
                    rows.append((name, our_drug_name(name), drug_class, cuts))
            self.drugs[gene] = rows
        # the positions each drug's rules read: a drug is scored on the virus's mutations at
        # those positions only (no other position can change its score), and cached on them, so
        # viruses that differ elsewhere share the drug's call
        self.rule_positions: dict[str, frozenset[int]] = {
            name: frozenset(
                position
                for condition in algorithm.drugs[name][0]
                for rule in (condition if isinstance(condition, list) else [condition])
                for position, _ in rule["group"]
            )
            for rows in self.drugs.values()
            for name, *_ in rows
        }
        self._cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._score_drug)

    def score_gene(self, gene: str, key: MutationKey) -> tuple[HivdbCall, ...]:
        """Every drug of ``gene`` for one virus's mutations in that gene (cached per drug)."""
        calls = []
        for row in self.drugs[gene]:
            used = self.rule_positions[row[0]]
            calls.append(self._cached(gene, row, tuple(item for item in key if item[0] in used)))
        return tuple(calls)

    def clear_cache(self) -> None:
        """Forget cached scores (for timing)."""
        self._cached.cache_clear()

    @staticmethod
    def level(cuts: tuple[tuple[float, int], ...], score: float) -> int:
        """The level whose range holds ``score`` (ranges are closed integer intervals)."""
        for low, order in cuts:
            if score >= low:
                return order
        return cuts[-1][1]

    def _score_drug(self, gene: str, row: tuple, key: MutationKey) -> HivdbCall:
        name, ours, drug_class, cuts = row
        total, partials, drms = self._score_alg.score_single(self.algorithm, name, dict(key))
        score = float(total)
        level = self.level(cuts, score)
        text, sir = self.levels[level]
        parts = tuple(
            PartialScore(tuple(_label(gene, drm) for drm in group), float(value))
            for value, group in zip(partials, drms) if value != 0
        )
        raw = (total, tuple(partials), tuple(tuple(group) for group in drms))
        return HivdbCall(ours, drug_class, score, level, text, sir, parts, name, raw)


def _label(gene: str, drm: str) -> str:
    """sierralocal's ``T69i``, ``D67d``, ``T215YS`` -> ``RT:T69ins``, ``RT:D67del``, ``RT:T215SY``.

    Residues are the ones that triggered the rule; sierralocal adds those of lower-scoring rules
    on the same positions that it dropped (a MAX), as Sierra's report does.
    """
    m = _DRM_RE.fullmatch(drm)
    if m is None:  # pragma: no cover - sierralocal always writes <wt><position><residues>
        return f"{gene}:{drm}"
    wt, pos, aas = m.groups()
    aas = {"i": "ins", "d": "del"}.get(aas) or "".join(sorted(aas))
    return f"{gene}:{wt}{pos}{aas}"
