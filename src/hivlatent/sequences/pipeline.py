"""From FASTA records to :class:`AlignedRecord` results: align, read codons, call, warn.

One bad record never stops a batch: a record that cannot be parsed, or that does not align to
HIV-1 pol, comes back as an AlignedRecord with ``error`` set, in the file's order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from .align import Alignment, align_nucleotides, align_protein
from .batch_pool import map_chunks
from .codon_align import read_nucleotide, read_protein
from .fasta import FastaRecord, parse_fasta, read_fasta
from .mutation_calls import AlignedRecord, call_genes
from .qc import frameshift_warnings, gene_warnings, hypermutation, hypermutation_warning

#: below these, a record "does not align to HIV-1 pol (PR/RT/IN)"
MIN_NUCLEOTIDE_IDENTITY = 0.70
MIN_PROTEIN_IDENTITY = 0.60


def _not_pol(rid: str, kind: str, aln: Alignment | None, codons: int, why: str) -> AlignedRecord:
    if aln is None:
        detail = "no local alignment at all"
    else:
        unit = "nt" if kind == "nucleotide" else "aa"
        detail = (f"best local alignment score {aln.score}, {aln.identity:.0%} identity over "
                  f"{aln.ref_length} {unit}, {codons} PR/RT/IN codons")
    return AlignedRecord(rid, kind, error=f"record {rid!r} does not align to HIV-1 pol (PR/RT/IN): "
                         f"{detail}; {why}", score=aln.score if aln else 0,
                         identity=aln.identity if aln else 0.0,
                         reverse_complemented=bool(aln and aln.reverse))


def align_sequence(sequence: str, id: str = "query", kind: str | None = None) -> AlignedRecord:
    """Align one sequence (nucleotide or amino acid; detected when ``kind`` is None)."""
    if kind is None:
        batch = parse_fasta(f">{id}\n{sequence}\n")
        if batch.errors:
            return AlignedRecord(id, "unknown", error=batch.errors[0].message)
        return align_record(batch.records[0])
    return align_record(FastaRecord(id, sequence.upper(), kind))


def align_record(record: FastaRecord) -> AlignedRecord:
    """Align one parsed record to HIV-1 pol and call its mutations."""
    nucleotide = record.kind == "nucleotide"
    aln = align_nucleotides(record.sequence) if nucleotide else align_protein(record.sequence)
    min_identity = MIN_NUCLEOTIDE_IDENTITY if nucleotide else MIN_PROTEIN_IDENTITY
    if aln is None:
        return _not_pol(record.id, record.kind, None, 0, "expected an HIV-1 PR, RT or IN sequence")
    reading = read_nucleotide(aln) if nucleotide else read_protein(aln)
    codons = sum(len(s) for s in reading.sites.values())
    if aln.identity < min_identity:
        return _not_pol(record.id, record.kind, aln, codons,
                        f"expected at least {min_identity:.0%} identity")
    genes, notes = call_genes(reading)
    if not genes:
        return _not_pol(record.id, record.kind, aln, codons,
                        "expected enough codons of PR (30), RT (50) or IN (50)")
    warnings: list[str] = []
    if aln.reverse:
        warnings.append("record aligned as its reverse complement (reverse-complemented)")
    warnings += frameshift_warnings(reading.frameshifts)
    for name, call in genes.items():
        reasons = {p: s.unknown for p, s in reading.sites[name].items() if s.unknown}
        warnings += gene_warnings(call, reasons)
    warnings += notes
    hyper = None
    if nucleotide:
        hyper = hypermutation(reading.ref_row, reading.query_row)
        note = hypermutation_warning(hyper)
        if note:
            warnings.append(note)
    return AlignedRecord(record.id, record.kind, genes, tuple(warnings), None,
                         aln.reverse, reading.frameshifts, hyper, aln.score, aln.identity,
                         pol_bases(reading) if nucleotide else "")


def pol_bases(reading) -> str:
    """The record's base at each pol-template offset (``.`` not reached; insertions dropped)."""
    from .reference_sequences import consensus_pol

    out = ["."] * len(consensus_pol())
    pos = reading.ref_start
    for r, q in zip(reading.ref_row, reading.query_row):
        if r != "-":
            if 0 <= pos < len(out):
                out[pos] = q
            pos += 1
    return "".join(out)


def _align_chunk(records: Sequence[FastaRecord]) -> list[AlignedRecord]:
    return [align_record(r) for r in records]


def align_records(records: Iterable[FastaRecord], workers: int | None = 1) -> list[AlignedRecord]:
    """Align many records, in order. ``workers`` > 1 (None: all cores) uses a process pool
    (:func:`.batch_pool.map_chunks`), which pays off from a few hundred records on (see
    ``benchmarks/align_speed.py``)."""
    return map_chunks(_align_chunk, records, workers)


def analyze_fasta(path: str | os.PathLike, workers: int | None = 1) -> list[AlignedRecord]:
    """Read a FASTA file and align every record; records that could not be parsed come back
    with ``error`` set, in file order. Whole-file problems raise DataError."""
    return _analyze(read_fasta(path), workers)


def analyze_text(text: str, source: str = "<string>", workers: int | None = 1) -> list[AlignedRecord]:
    """:func:`analyze_fasta` for FASTA text already in memory."""
    return _analyze(parse_fasta(text, source=source), workers)


def _analyze(batch, workers) -> list[AlignedRecord]:
    aligned = iter(align_records(batch.records, workers))
    entries = [(r.line, None) for r in batch.records] + [(e.line, e) for e in batch.errors]
    out = []
    for _, err in sorted(entries, key=lambda e: e[0]):
        out.append(next(aligned) if err is None else AlignedRecord(err.id, "unknown", error=err.message))
    return out
