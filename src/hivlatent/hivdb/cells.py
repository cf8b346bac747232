"""Score rows of the HIVDB genotype-phenotype tables (one cell per position) with HIVdb.

A row maps a position (``69``, ``"69"`` or ``"P69"``) to its cell:

- ``-`` consensus B, ``.`` not sequenced (an empty cell or None too): no mutation;
- amino-acid letters, several for a mixture (``KN``); a letter equal to the consensus residue
  alone is no mutation; lower case is read as upper case (``l`` -> L);
- ``#`` insertion (``^``, written once at RT 69 in the NRTI and NNRTI tables, too), ``~``
  deletion, ``*`` stop codon, ``X`` unknown; a ``.`` after letters (``K.``) is ignored.

A cell such as ``T#`` (the consensus residue and an insertion) is an insertion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from ..errors import DataError
from .calls import HivdbCall
from .engine import engine
from .notation import AMINO_ACIDS, Site, check_genes, check_position, merge, to_key

_POSITION_RE = re.compile(r"[Pp]?([0-9]+)")
_CELL_RE = re.compile(r"[A-Za-z*#^~]+\.?")
_EXPECTED = ("expected '-', '.', amino-acid letters (several = mixture), '#' (insertion), "
             "'~' (deletion), '*' (stop) or 'X' (unknown)")


def _position(key: object, where: str) -> int:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    m = _POSITION_RE.fullmatch(str(key).strip())
    if m is None:
        raise DataError(f"{where}: column {key!r} is not a position; use 69, '69' or 'P69'")
    return int(m.group(1))


def _site(cell: object, where: str) -> Site | None:
    """One cell -> its site, or None for consensus / not sequenced."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return None
    if not isinstance(cell, str):
        raise DataError(f"{where}: cell {cell!r} is not text; {_EXPECTED}")
    text = cell.strip()
    if text in ("", "-", "."):
        return None
    if _CELL_RE.fullmatch(text) is None:
        raise DataError(f"{where}: cell {cell!r} is not a genotype cell; {_EXPECTED}")
    text = text.rstrip(".")
    site = Site()
    for ch in text:
        if ch in "#^":
            site.insertion = True
        elif ch == "~":
            site.deletion = True
        elif ch.upper() in AMINO_ACIDS or ch in "*X":
            site.residues.add(ch.upper())
        else:
            raise DataError(f"{where}: cell {cell!r} holds {ch!r}; {_EXPECTED}")
    return site


def row_key(row: Mapping, gene: str, index: int):
    """One table row -> the gene's sierralocal mutation key (see :mod:`.notation`)."""
    if not isinstance(row, Mapping):
        raise DataError(f"row {index} is {type(row).__name__}, not a mapping position -> cell")
    sites: dict[int, Site] = {}
    for key, cell in row.items():
        where = f"row {index}, {gene} position {key}"
        position = _position(key, f"row {index}")
        check_position(gene, position, where)
        site = _site(cell, where)
        if site is not None:
            merge(sites, position, site, where)
    return to_key(gene, sites)


def score_cells(rows: Iterable[Mapping], gene: str) -> list[dict[str, HivdbCall]]:
    """HIVdb calls for rows of a genotype-phenotype table: one dict per row, drug -> call.

    ``gene`` is ``"RT"`` (NRTI and NNRTI drugs), ``"PR"`` (PI) or ``"IN"`` (INSTI). A pandas
    DataFrame may be given: its ``P<n>`` columns are used.
    """
    (gene,) = check_genes([gene])
    columns = getattr(rows, "columns", None)
    if columns is not None and hasattr(rows, "to_dict"):
        keep = [c for c in columns if _POSITION_RE.fullmatch(str(c)) and str(c)[:1] in "Pp"]
        if not keep:
            raise DataError("the table has no P<position> columns (P1, P2, ...); "
                            "pass rows of position -> cell")
        rows = rows[keep].to_dict("records")
    eng = engine()
    return [
        {call.drug: call for call in eng.score_gene(gene, row_key(row, gene, i))}
        for i, row in enumerate(rows)
    ]

