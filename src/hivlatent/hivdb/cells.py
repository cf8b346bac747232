"""Score rows of the HIVDB genotype-phenotype tables with HIVdb, read by the package's one
table-cell reader (:func:`hivlatent.data.genotype_files.cells_to_genotype`): ``-`` consensus B,
``.`` not sequenced, letters (several = a mixture), ``#`` insertion, ``~`` deletion, ``*`` stop,
``X`` unknown (skipped), a lower-case ``d`` or ``i`` a deletion or an insertion (HIVdb's ASI
notation: ``d`` at RT 70 in 3 rows of the NRTI table), ``^`` an insertion (``T^`` at RT 69, once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..data.genotype_files import cells_to_genotype, table_genotypes
from ..errors import DataError
from .algorithm import score
from .drug_calls import HivdbCall
from .notation import check_genes


def score_table(table, rows=None) -> list[dict[str, HivdbCall]]:
    """HIVdb calls for the rows of a :class:`~hivlatent.data.hivdb_tables.GenoPhenoTable` (all, or the
    0-based ``rows``): one dict per row, drug -> call, for the drugs of the table's gene."""
    return score(table_genotypes(table, rows), genes=[table.gene])


def score_cells(rows: Iterable[Mapping], gene: str) -> list[dict[str, HivdbCall]]:
    """HIVdb calls for table rows given as mappings position -> cell (``69``, ``"69"`` or
    ``"P69"``), one dict per row; DataError names a bad row or column."""
    (gene,) = check_genes([gene])
    genotypes = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DataError(f"row {i} is {type(row).__name__}, not a mapping position -> cell")
        cells = {}
        for key, cell in row.items():
            text = str(key).strip().upper().removeprefix("P")
            if not text.isdigit():
                raise DataError(f"row {i}: column {key!r} is not a position; use 69, '69' or 'P69'")
            cells[int(text)] = "" if cell is None else str(cell)
        genotypes.append(cells_to_genotype(cells, gene, where=f"row {i}"))
    return score(genotypes, genes=[gene])
