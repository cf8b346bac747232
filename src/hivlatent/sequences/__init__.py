"""HIV-1 pol sequences (FASTA, as sequencing labs send them) -> per-gene HIVDB mutation lists.

    >>> from hivlatent.sequences import analyze_fasta, to_mutation_strings
    >>> for record in analyze_fasta("samples.fasta"):
    ...     print(record.id, record.error or to_mutation_strings(record), record.warnings)

Steps: :mod:`.fasta` reads records (nucleotide or amino acid, one bad record named, the others
kept); :mod:`.align` aligns each to the consensus-B pol template (parasail, local, strand and
window found by 11-mer seeds); :mod:`.codon_align` places indels on codon boundaries and isolates
frameshifts; :mod:`.codons` translates codons with IUPAC mixtures; :mod:`.mutation_calls` names
mutations against consensus B (HIVDB notation, e.g. ``RT:M184V``, ``RT:T215FY``, ``RT:T69ins``,
``RT:D67del``); :mod:`.qc` adds warnings (stop codons, frameshifts, APOBEC hypermutation,
ambiguity, coverage). :mod:`.synthetic` makes test sequences. Reference data and provenance:
``data/PROVENANCE.md``; aligner choice and measurements: ``docs/methods/alignment.md``.
"""

from .codon_align import FrameShift
from .fasta import FastaBatch, FastaRecord, RecordError, parse_fasta, read_fasta
from .mutation_calls import AlignedRecord, GeneCall, Hypermutation, Mutation, to_mutation_strings
from .pipeline import align_record, align_records, align_sequence, analyze_fasta, analyze_text
from .synthetic import make_sequence, write_fasta

__all__ = [
    "AlignedRecord", "FastaBatch", "FastaRecord", "FrameShift", "GeneCall", "Hypermutation",
    "Mutation", "RecordError", "align_record", "align_records", "align_sequence",
    "analyze_fasta", "analyze_text", "make_sequence", "parse_fasta", "read_fasta",
    "to_mutation_strings", "write_fasta",
]
