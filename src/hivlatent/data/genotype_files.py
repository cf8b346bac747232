"""Genotype files for ``predict``, recognized by their first line:

- an HIVDB table: an id column (``SeqID``, ``sequenceid`` or ``id``) and ``P1``, ``P2``, ...
  columns (tab or comma separated, any case): cells other than ``-`` (consensus) and ``.`` (not
  sequenced) become mutations at that position: letters (a mixture if several; every letter
  counts, unlike the MTPS matrix, which keeps the first two), ``#`` insertion (also ``^``, as
  :mod:`hivlatent.data.hivdb_tables` reads it), ``~`` deletion, ``*`` stop. A cell holding the
  consensus letter is kept (it sets a column for that letter if the model has one, else it is
  wild type); ``X`` (unknown) and other symbols are skipped with a note, as are unsequenced
  positions (read as consensus by the model);
- a CSV (or tab-separated file) with an id column (``id`` or ``SeqID``) and a mutation column
  (``mutations`` or HIVDB's ``CompMutList``);
- otherwise a text file with one virus per line: if the line contains a tab, the text before
  the first tab is the id, else the id is ``line<N>``. Blank lines and lines starting with ``#``
  are skipped.

Mutations are written as in :mod:`hivlatent.data.mutations`. Every malformed value raises
:class:`~hivlatent.errors.DataError` in one line naming the file, the line and the value.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .cutoffs import TABLE_LENGTHS
from .input_text import normalise_text, read_input
from .mutations import (
    GENE_LENGTHS,
    INSERTION,
    RESIDUES,
    Mutation,
    ParsedGenotype,
    parse_genotype,
    resolve_gene,
)

_P_COLUMN = re.compile(r"^[Pp](\d+)$")
_ID_COLUMNS = ("seqid", "sequenceid", "id")




def _ranges(positions: list[int]) -> str:
    out: list[str] = []
    start = prev = positions[0]
    for p in positions[1:] + [None]:  # type: ignore[list-item]
        if p is not None and p == prev + 1:
            prev = p
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    return ",".join(out)


def cells_to_genotype(cells: dict[int, str], gene: str, *, id: str = "",
                      where: str = "") -> ParsedGenotype:
    """One row of an HIVDB table (position -> cell) as a genotype (rules in the module doc)."""
    gene = resolve_gene(gene)
    mutations: list[Mutation] = []
    notes: list[str] = []
    unsequenced: list[int] = []
    length = GENE_LENGTHS[gene]
    for pos in sorted(cells):
        if not 1 <= pos <= length:
            raise DataError(f"{where}: position {pos} is outside {gene} 1-{length}")
        cell = (cells[pos] or "").strip()
        if cell in ("", "-"):
            continue
        if cell == ".":
            unsequenced.append(pos)
            continue
        residues: set[str] = set()
        skipped: list[str] = []
        cell = {"d": "~", "i": "#"}.get(cell, cell)   # HIVdb: lower-case d deletion, i insertion
        for ch in cell.upper():
            if ch in RESIDUES:
                residues.add(ch)
            elif ch == "^":  # once in the NRTI/NNRTI tables (T^ at RT 69): an insertion
                residues.add(INSERTION)
            elif ch == "X":
                skipped.append(ch)                 # unknown residue
            elif ch == "." and cell.endswith("."):
                continue                           # a trailing '.' (K. once at RT 102): noise
            else:
                raise DataError(f"{where}: P{pos} {cell!r}: {ch!r} is not a cell character; "
                                "expected '-', '.', amino-acid letters, '#', '~', '*' or 'X'")
        if skipped:
            notes.append(f"P{pos} {cell!r}: unknown residue X skipped")
        if not residues:
            continue
        mutations.append(Mutation(gene, pos, frozenset(residues), None, f"P{pos}={cell}"))
    if unsequenced:
        notes.append(f"not sequenced at {gene} {_ranges(unsequenced)} (read as consensus)")
    return ParsedGenotype(tuple(mutations), tuple(notes), id)


def _header(text: str) -> tuple[str, list[str]] | None:
    """(delimiter, column names) if the first line is a table header we know, else None."""
    first = text.split("\n", 1)[0].rstrip("\r")
    for delim in ("\t", ","):
        cols = [c.strip().strip('"') for c in first.split(delim)]
        lower = {c.lower() for c in cols}
        has_id = bool(lower & set(_ID_COLUMNS))
        has_p = any(_P_COLUMN.match(c) for c in cols)
        has_mut = bool(lower & {"mutations", "compmutlist"})
        if len(cols) > 1 and has_id and (has_p or has_mut):
            return delim, cols
    return None


@dataclass(frozen=True)
class GenotypeRecord:
    """One record of a genotype file: its id, where it is (file and line), and its genotype or,
    when it could not be read, the one-line error."""

    id: str
    where: str
    genotype: ParsedGenotype | None = None
    error: str | None = None
    #: the genes the record covers when the file says so (an HIVDB table: its gene), else ()
    genes: tuple[str, ...] = ()


def read_genotypes(path: str | Path, gene: str) -> list[ParsedGenotype]:
    """Genotypes from a file: HIVDB table, CSV with id and mutations, or text (see module doc).
    The first record that cannot be read raises its DataError."""
    out = []
    for r in genotype_records(path, gene):
        if r.error is not None:
            raise DataError(r.error)
        out.append(r.genotype)
    return out


def genotype_records(path: str | Path, gene: str, text: str | None = None) -> list[GenotypeRecord]:
    """Every record of a genotype file, each read or with its error (a bad line does not stop
    the others). A file that cannot be read at all (missing, not text, a broken header) raises;
    a gzip file is read (:mod:`.input_text`).
    With ``text`` (e.g. standard input), that text is read and ``path`` only names it."""
    path = Path(path)
    gene = resolve_gene(gene)
    text = read_input(path) if text is None else normalise_text(text)
    header = _header(text)
    if header is None:
        return _read_lines(path, text, gene)
    delim, cols = header
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    next(reader)
    p_cols = {int(m.group(1)): j for j, c in enumerate(cols) if (m := _P_COLUMN.match(c))}
    lower = [c.lower() for c in cols]
    id_col = next(lower.index(name) for name in _ID_COLUMNS if name in lower)
    if p_cols:
        gene = _table_gene(path, p_cols)
        mut_col = None
    else:
        mut_col = lower.index("mutations") if "mutations" in lower else lower.index("compmutlist")
    out: list[GenotypeRecord] = []
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            where = f"{path}: line {line}"
            gid = row[id_col].strip() if id_col < len(row) else ""
            if len(row) != len(cols):
                out.append(GenotypeRecord(gid or f"line{line}", where, error=(
                    f"{where}: expected {len(cols)} fields like the header, got {len(row)}")))
                continue
            if not gid:
                out.append(GenotypeRecord(f"line{line}", where,
                                          error=f"{where}, column {cols[id_col]!r}: empty id"))
                continue
            try:
                if mut_col is None:
                    g = cells_to_genotype({p: row[j] for p, j in p_cols.items()}, gene,
                                          id=gid, where=where)
                else:
                    g = parse_genotype(row[mut_col], gene, id=gid,
                                       where=f"{where}, column {cols[mut_col]!r}")
            except DataError as exc:
                out.append(GenotypeRecord(gid, where, error=str(exc)))
                continue
            out.append(GenotypeRecord(gid, where, g, genes=(gene,) if mut_col is None else ()))
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: {exc}") from None
    return out


def _table_gene(path: Path, p_cols: dict[int, int]) -> str:
    """The gene of an HIVDB table, told by its position columns (P1-P99 PR, P1-P240 RT,
    P1-P288 IN), whatever gene mutations without a prefix default to."""
    n = len(p_cols)
    for gene, length in TABLE_LENGTHS.items():
        if n == length == max(p_cols):
            return gene
    expected = ", ".join(f"P1-P{length} ({gene})" for gene, length in
                         sorted(TABLE_LENGTHS.items(), key=lambda item: item[1]))
    raise DataError(f"{path}: line 1: the table has {n} position columns "
                    f"P{min(p_cols)}-P{max(p_cols)}; expected {expected}")


def _read_lines(path: Path, text: str, gene: str) -> list[GenotypeRecord]:
    out: list[GenotypeRecord] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}: line {lineno}"
        if "\t" in line:
            gid, rest = line.split("\t", 1)
            gid = gid.strip()
            if not gid:
                out.append(GenotypeRecord(f"line{lineno}", where,
                                          error=f"{where}: empty id before the tab"))
                continue
        else:
            gid, rest = f"line{lineno}", line
        try:
            out.append(GenotypeRecord(gid, where, parse_genotype(rest, gene, id=gid, where=where)))
        except DataError as exc:
            out.append(GenotypeRecord(gid, where, error=str(exc)))
    return out


def table_genotypes(table, rows=None) -> list[ParsedGenotype]:
    """The rows of a :class:`~hivlatent.data.hivdb_tables.GenoPhenoTable` (all, or the 0-based
    ``rows``) as genotypes, read as :func:`cells_to_genotype` reads cells (a lower-case ``d`` or
    ``i`` is a deletion or an insertion)."""
    idx = range(table.n_rows) if rows is None else [int(r) for r in rows]
    cells = table.cells.to_numpy(dtype=object)
    lower = table.lowercase.to_numpy()
    positions = table.positions
    out = []
    for i in idx:
        row = {}
        for k, q in enumerate(positions):
            cell = cells[i, k]
            if cell == "-":
                continue
            row[q] = cell.lower() if lower[i, k] and cell in ("D", "I") else cell
        out.append(cells_to_genotype(row, table.gene, id=str(table.ids[i]),
                                     where=f"{table.path}: line {table.lines[i]}"))
    return out


__all__ = ["GenotypeRecord", "cells_to_genotype", "genotype_records", "read_genotypes",
           "table_genotypes"]
