"""What ``predict`` reads: genotypes on the command line, or a file of mutation lists, an HIVDB
table, a CSV with id and mutations, or FASTA sequences (a file whose first non-blank line starts
with ``>``), each turned into :class:`Record` objects.

A record that cannot be read (a malformed mutation, a sequence that does not align to HIV-1 pol)
keeps its id and gets a one-line ``error``; the other records are still answered. A record knows
which genes it covers: the genes a FASTA sequence was aligned over (with the first and last codon
of each), or, for mutation lists, the genes its mutations name (mutations without a gene prefix
are RT's; ``WT`` is a wild-type RT). Drugs of a gene the record does not cover are said to be
not covered, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..data.genotype_files import genotype_records
from ..data.input_text import EXPECTED, decode_input, normalise_text, read_input
from ..data.mutations import Mutation, ParsedGenotype, parse_genotype
from ..errors import DataError

#: the gene of mutations written without a gene prefix (``M184V``)
DEFAULT_GENE = "RT"


@dataclass(frozen=True)
class Record:
    """One virus to answer: its id, its mutations, the genes it covers, warnings or an error."""

    id: str
    genotype: ParsedGenotype | None
    genes: tuple[str, ...] = ()
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str | None = None
    source: str = ""
    #: the aligned sequence (:class:`hivlatent.sequences.AlignedRecord`) of a FASTA record
    sequence: object = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def mutations_of(self, gene: str) -> tuple[Mutation, ...]:
        return tuple(m for m in self.genotype.mutations if m.gene == gene) if self.genotype else ()


def _genes_named(genotype: ParsedGenotype, default: str) -> tuple[str, ...]:
    genes = {m.gene for m in genotype.mutations} or {default}
    return tuple(g for g in ("PR", "RT", "IN") if g in genes)


def from_genotype(genotype: ParsedGenotype, source: str, default_gene: str,
                  genes: tuple[str, ...] = ()) -> Record:
    """``genes``: the genes the record covers when its file says so (an HIVDB table's gene);
    else those its mutations name."""
    return Record(genotype.id, genotype, genes or _genes_named(genotype, default_gene),
                  warnings=tuple(genotype.notes), source=source)


def from_arguments(args: Sequence[str], default_gene: str = DEFAULT_GENE) -> list[Record]:
    """One record per argument (ids ``arg1``, ``arg2``...); a malformed one is named, not fatal."""
    out = []
    for i, text in enumerate(args, start=1):
        where = f"argument {i}"
        try:
            g = parse_genotype(text, default_gene, id=f"arg{i}", where=where)
        except DataError as exc:
            out.append(Record(f"arg{i}", None, error=str(exc), source=where))
            continue
        out.append(from_genotype(g, where, default_gene))
    return out


#: the ``--file`` name that means standard input
STDIN = "-"


def is_fasta(path: Path) -> bool:
    """Whether the file (plain or gzip) is FASTA: its first line that is neither blank nor a
    ``;`` comment starts with ``>`` (a byte-order mark is ignored)."""
    try:
        return _text_is_fasta(read_input(path))
    except DataError:
        return False


def _text_is_fasta(text: str) -> bool:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(";"):
            return line.startswith(">")
    return False


def from_file(path: str | Path, default_gene: str = DEFAULT_GENE, workers: int = 1,
              stdin=None) -> list[Record]:
    """Records from a genotype file or a FASTA file, plain or gzip (see the module docstring);
    ``-`` reads standard input (``stdin``, default ``sys.stdin``), recognized the same way."""
    if str(path) == STDIN:
        import sys

        stream = stdin or sys.stdin
        data = getattr(stream, "buffer", stream).read()
        text = (decode_input(data, "<stdin>") if isinstance(data, bytes)
                else normalise_text(data))
        return from_text(text, "<stdin>", default_gene, workers)
    return from_text(read_input(path), str(path), default_gene, workers)


def from_text(text: str, source: str = "<text>", default_gene: str = DEFAULT_GENE,
              workers: int = 1) -> list[Record]:
    """Records from text in any of the file formats (FASTA when its first line that is neither
    blank nor a ``;`` comment starts with ``>``); ``source`` names it in messages. An input
    holding no record is an error."""
    text = normalise_text(text)
    if _text_is_fasta(text):
        from ..sequences import analyze_text

        out = _aligned(analyze_text(text, source=source, workers=workers), source)
    else:
        out = _genotypes(genotype_records(source, default_gene, text=text), source,
                         default_gene)
    if not out:
        raise DataError(f"{source}: no records (empty, or only blank and comment lines); "
                        f"{EXPECTED}")
    return out


def _genotypes(items, source: str, default_gene: str) -> list[Record]:
    out = []
    for item in items:
        if isinstance(item.genotype, ParsedGenotype):
            out.append(from_genotype(item.genotype, item.where, default_gene, item.genes))
        else:
            out.append(Record(item.id, None, error=item.error, source=item.where))
    return _check_unique_ids(out, source)


def from_fasta(path: Path, workers: int = 1) -> list[Record]:
    """Align every FASTA record (plain or gzip file) to HIV-1 pol and call its mutations
    (:mod:`hivlatent.sequences`)."""
    from ..sequences import analyze_fasta

    return _aligned(analyze_fasta(path, workers=workers), str(path))


def _aligned(aligned, source: str) -> list[Record]:
    out = []
    for rec in aligned:
        where = f"{source}: record {rec.id!r}"
        if not rec.ok:
            out.append(Record(rec.id, None, error=rec.error, source=where))
            continue
        mutations = tuple(Mutation(m.gene, m.position, frozenset(m.residues), None, m.name)
                          for m in rec.mutations)
        genotype = ParsedGenotype(mutations, (), rec.id)
        coverage = {g: (c.first_codon, c.last_codon) for g, c in rec.genes.items()}
        out.append(Record(rec.id, genotype, tuple(coverage), coverage, tuple(rec.warnings),
                          source=where, sequence=rec))
    return out


def _check_unique_ids(records: list[Record], source: str) -> list[Record]:
    """A repeated id: that record (not the first) gets an error naming both places."""
    seen: dict[str, str] = {}
    out = []
    for r in records:
        if r.id in seen:
            r = Record(r.id, None, error=f"{r.source}: id {r.id!r} again (first at {seen[r.id]}); "
                                         "expected one record per id", source=r.source)
        else:
            seen[r.id] = r.source
        out.append(r)
    return out
