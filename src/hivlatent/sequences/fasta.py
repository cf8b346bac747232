"""Reading FASTA files of nucleotide or amino-acid records, naming every problem precisely.

Whole-file problems (unreadable, not UTF-8, not FASTA at all) raise :class:`DataError`. A problem
with one record (no sequence, a character that is neither a nucleotide nor an amino-acid code,
an id seen before) becomes a :class:`RecordError` in the returned :class:`FastaBatch`, so one bad
record in a batch is named and the others are still answered. ``strict=True`` raises instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from ..config import MAX_RECORD_LENGTH
from ..errors import DataError

Kind = Literal["nucleotide", "amino acid"]

GAPS = frozenset("-.")
NUCLEOTIDE_CHARS = frozenset("ACGTURYKMSWBDHVN")
PLAIN_NUCLEOTIDES = frozenset("ACGTUN")
#: 20 amino acids, X (unknown), * (stop), B (D/N), Z (E/Q), J (I/L), U (selenocysteine)
AMINO_ACID_CHARS = frozenset("ACDEFGHIKLMNPQRSTVWYXBZJU*")
#: a record at least this share A/C/G/T/U/N is nucleotides (a stray other letter is an error);
#: one written only in nucleotide codes needs half
NUCLEOTIDE_SHARE = 0.75


@dataclass(frozen=True)
class FastaRecord:
    """One record: its id (first word of the header), full header, kind, upper-case sequence
    (gaps removed, U read as T) and the line its header is on."""

    id: str
    sequence: str
    kind: Kind
    header: str = ""
    line: int = 0
    source: str = "<string>"


@dataclass(frozen=True)
class RecordError:
    """A record that could not be read: its id, the line of the problem and what was expected."""

    id: str
    line: int
    message: str  # one line, naming file, line and record

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class FastaBatch:
    """The records read from one file and, in file order, the records that could not be read."""

    records: list[FastaRecord] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    source: str = "<string>"

    def __iter__(self):
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


def read_fasta(path: str | os.PathLike, *, strict: bool = False) -> FastaBatch:
    """Read a FASTA file, plain or gzip (:func:`hivlatent.data.input_text.read_input`); see
    :func:`parse_fasta`. Unreadable or non-UTF-8 files raise DataError."""
    from ..data.input_text import read_input

    return parse_fasta(read_input(path), source=os.fspath(path), strict=strict)


def parse_fasta(text: str, source: str = "<string>", *, strict: bool = False) -> FastaBatch:
    """Parse FASTA text: one or many records, any wrapping, any case, CRLF, blank lines.

    Nucleotide records may hold IUPAC ambiguity codes; amino-acid records are detected by their
    alphabet. Gaps ``-`` and ``.`` and white space inside lines are removed.
    Raises DataError when the text is not FASTA (its first non-blank line does not start with
    ``>``) or holds no record; with ``strict=True`` also for the first bad record.
    """
    raw_records: list[tuple[str, int, list[tuple[int, str]]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            raw_records.append((line[1:].strip(), number, []))
        elif not raw_records:
            shown = line if len(line) <= 30 else line[:27] + "..."
            raise DataError(
                f"{source}, line {number}: not FASTA: expected a header line starting with '>', "
                f"found {shown!r}"
            )
        else:
            raw_records[-1][2].append((number, "".join(line.split())))
    if not raw_records:
        raise DataError(f"{source}: no FASTA record found (expected lines starting with '>')")

    batch = FastaBatch(source=source)
    first_seen: dict[str, tuple[int, str]] = {}
    for header, number, lines in raw_records:
        result = _build_record(header, number, lines, source)
        if isinstance(result, FastaRecord):
            if result.id in first_seen:
                line, first = first_seen[result.id]
                why = ("" if header == first else f": the id is a header's first word, so "
                       f"{first!r} and {header!r} share it")
                result = RecordError(result.id, number, (
                    f"{source}, line {number}, record {result.id!r}: duplicate id (first seen "
                    f"at line {line}){why}; expected unique ids"
                    + (" (e.g. Sample_1, not Sample 1)" if why else "")))
            else:
                first_seen[result.id] = (number, header)
        if isinstance(result, RecordError):
            if strict:
                raise DataError(result.message)
            batch.errors.append(result)
        else:
            batch.records.append(result)
    return batch


def _build_record(header: str, number: int, lines: list[tuple[int, str]], source: str):
    rid = header.split()[0] if header else ""
    where = f"{source}, line {number}, record {rid!r}"
    if not rid:
        return RecordError(f"<line {number}>", number,
                           f"{source}, line {number}: header without an id; expected '>id'")
    chunks = [(n, "".join(c for c in s.upper() if c not in GAPS)) for n, s in lines]
    seq = "".join(s for _, s in chunks)
    if len(seq) > MAX_RECORD_LENGTH:
        return RecordError(rid, number, (
            f"{where}: {len(seq)} letters; expected at most {MAX_RECORD_LENGTH} (HIV-1 pol is "
            "about 3,000 nt, a whole genome about 9,700: cut the record to pol)"))
    if not seq:
        return RecordError(rid, number, f"{where}: empty record; expected a sequence after the header")
    letters = sum(1 for c in seq if c.isalpha())
    plain = sum(1 for c in seq if c in PLAIN_NUCLEOTIDES)
    share = plain / len(seq) if letters else 0.0
    looks_nucleotide = share >= NUCLEOTIDE_SHARE or (
        share >= 0.5 and all(c in NUCLEOTIDE_CHARS for c in seq))
    if looks_nucleotide:
        kind: Kind = "nucleotide"
        allowed = NUCLEOTIDE_CHARS
    elif all(c in AMINO_ACID_CHARS for c in seq):
        kind, allowed = "amino acid", AMINO_ACID_CHARS
    else:
        kind, allowed = "amino acid", AMINO_ACID_CHARS | NUCLEOTIDE_CHARS
    for n, chunk in chunks:
        for c in chunk:
            if c not in allowed:
                what = "a nucleotide code (ACGTU or IUPAC RYKMSWBDHVN)" if kind == "nucleotide" \
                    else "a nucleotide or amino-acid code"
                return RecordError(rid, n, (
                    f"{source}, line {n}, record {rid!r}: unexpected character {c!r}; "
                    f"expected {what}"))
    if kind == "nucleotide":
        seq = seq.replace("U", "T")
    return FastaRecord(rid, seq, kind, header=header, line=number, source=source)
