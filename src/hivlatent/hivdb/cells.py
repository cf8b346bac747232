"""Score rows of the HIVDB genotype-phenotype tables (one cell per position) with HIVdb.

A row maps a position (``69``, ``"69"`` or ``"P69"``) to its cell:

- ``-`` consensus B, ``.`` not sequenced (an empty cell or None too): no mutation;
- amino-acid letters, several for a mixture (``KN``); a letter equal to the consensus residue
  alone is no mutation; lower case is read as upper case (``l`` -> L), except ``d`` and ``i``,
  which are a deletion and an insertion as in HIVdb's ASI notation (``d`` occurs at RT 70 in 3
  rows of the NRTI table: K70 deleted);
- ``#`` insertion, ``~`` deletion, ``*`` stop codon, ``X`` unknown; a ``.`` after letters
  (``K.``) is ignored, and so is ``^``: it occurs once, ``T^`` at RT 69 of the NRTI and NNRTI
  tables (SeqID 259222), and is read as T (no insertion), as the virus's phenotype suggests
  (AZT 0.4-fold, where HIVdb scores a T69 insertion 60 for AZT).

A cell such as ``T#`` (the consensus residue and an insertion) is an insertion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from ..errors import DataError
from .calls import HivdbCall
from .consensus import CONSENSUS
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
        if ch in "#i":
            site.insertion = True
        elif ch in "~d":
            site.deletion = True
        elif ch == "^":
            continue
        elif ch.upper() in AMINO_ACIDS or ch in "*X":
            site.residues.add(ch.upper())
        else:
            raise DataError(f"{where}: cell {cell!r} holds {ch!r}; {_EXPECTED}")
    return site


def _row_key(gene: str, items: Iterable[tuple[object, object]], index: int,
             positions: dict[object, int]):
    """One table row's (column, cell) pairs -> the gene's sierralocal mutation key.

    ``positions`` memoises column -> checked position across the rows of one call.
    """
    sites: dict[int, Site] = {}
    for key, cell in items:
        position = positions.get(key)
        if position is None:
            position = _position(key, f"row {index}")
            check_position(gene, position, f"row {index}, {gene} column {key!r}")
            positions[key] = position
        if cell == "-" or cell == ".":
            continue
        where = f"row {index}, {gene} position {position}"
        site = _site(cell, where)
        if site is not None:
            merge(sites, position, site, where)
    return to_key(gene, sites)


def score_cells(rows: Iterable[Mapping], gene: str) -> list[dict[str, HivdbCall]]:
    """HIVdb calls for rows of a genotype-phenotype table: one dict per row, drug -> call.

    ``rows`` holds one mapping position -> cell per virus; a pandas DataFrame may be given
    instead (its ``P<n>`` columns are read). ``gene`` is ``"RT"`` (NRTI and NNRTI drugs),
    ``"PR"`` (PI) or ``"IN"`` (INSTI). DataError names the row and position of a bad cell.
    """
    (gene,) = check_genes([gene])
    positions: dict[object, int] = {}
    columns = getattr(rows, "columns", None)
    if columns is not None and hasattr(rows, "itertuples"):
        keep = [c for c in columns if re.fullmatch(r"[Pp][0-9]+", str(c))]
        if not keep:
            raise DataError("the table has no P<position> columns (P1, P2, ...); "
                            "pass rows of position -> cell")
        items = (zip(keep, values) for values in rows[keep].itertuples(index=False, name=None))
    else:
        items = (_items(row, i) for i, row in enumerate(rows))
    eng = engine()
    return [
        {call.drug: call for call in eng.score_gene(gene, _row_key(gene, pairs, i, positions))}
        for i, pairs in enumerate(items)
    ]


def cells_to_mutations(row: Mapping, gene: str) -> list[str]:
    """One table row as a mutation list in HIVDB notation (``["RT:M184V", "RT:T69ins"]``).

    Read with the same rules as :func:`score_cells`, so ``score([cells_to_mutations(row, g)],
    genes=[g])`` gives the same calls as ``score_cells([row], g)``.
    """
    (gene,) = check_genes([gene])
    sites: dict[int, Site] = {}
    positions: dict[object, int] = {}
    for key, cell in _items(row, 0):
        position = positions.setdefault(key, _position(key, "row"))
        check_position(gene, position, f"{gene} column {key!r}")
        site = _site(cell, f"{gene} position {position}")
        if site is not None:
            merge(sites, position, site, f"{gene} position {position}")
    out = []
    for position in sorted(sites):
        site, wt = sites[position], CONSENSUS[gene][position - 1]
        if site.insertion:
            tail = "ins" + site.inserted
        elif site.deletion:
            tail = "del"
        elif not site.residues - {wt}:  # the consensus residue, or only '^'
            continue
        else:
            tail = "".join(sorted(site.residues, key=lambda aa: (aa != wt, aa)))
        out.append(f"{gene}:{wt}{position}{tail}")
    return out


def _items(row: object, index: int):
    if not isinstance(row, Mapping):
        raise DataError(f"row {index} is {type(row).__name__}, not a mapping position -> cell")
    return row.items()
