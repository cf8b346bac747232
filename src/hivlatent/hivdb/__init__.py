"""The Stanford HIVdb algorithm, run offline through sierralocal (an optional, GPL-3 extra).

Install with ``pip install 'hivlatent[hivdb]'``. Importing this package does not import
sierralocal; the first call that scores (or :func:`algorithm_version`) loads it and reads its
bundled ASI2 XML once.

- :func:`available`, :func:`require`: is sierralocal there (require raises ConfigError if not);
- :func:`algorithm_version`: ``"HIVDB 9.4"``, as the XML states it;
- :func:`score`: mutation lists in HIVDB notation (``RT:M184V``) -> per virus, drug -> HivdbCall;
- :func:`score_table`, :func:`score_cells`: rows of the HIVDB genotype-phenotype tables -> the
  same;
- :func:`level_calls`: ``level >= 3`` / ``>= 4`` resistant calls; :func:`drug_values`: a column;
- :func:`rule_positions`: the positions a drug's rules read;
- :mod:`.annotations`: HIVdb's per-mutation annotations and partial scores, as sierralocal's JSON.
"""

from __future__ import annotations

from .algorithm import (
    INTERMEDIATE,
    LOW_LEVEL,
    algorithm_version,
    drug_values,
    level_calls,
    rule_positions,
    score,
)
from .cells import score_cells, score_table
from .drug_calls import HivdbCall, PartialScore
from .drugs import DRUG_CLASSES, GENE_CLASSES, GENES, our_drug_name
from .sierralocal_runner import available, require

__all__ = [
    "DRUG_CLASSES", "GENES", "GENE_CLASSES", "INTERMEDIATE", "LOW_LEVEL", "HivdbCall",
    "PartialScore", "algorithm_version", "available", "drug_values",
    "level_calls", "our_drug_name", "require", "rule_positions", "score", "score_cells",
    "score_table",
]
