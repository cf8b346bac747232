"""FASTA reading (hivlatent.sequences.fasta): formats accepted and bad input named precisely."""

from __future__ import annotations

import pytest

from hivlatent.errors import DataError, HivLatentError
from hivlatent.sequences import analyze_text, parse_fasta, read_fasta


def test_many_records_any_wrapping_case_crlf_blank_lines():
    text = ">a first\r\nacgt\r\nACGTN\r\n\r\n>b\r\n\r\nAC-GT.RY\r\n>c\nPQITLWQRPLVTIK\n"
    batch = parse_fasta(text, source="in.fasta")
    assert [r.id for r in batch.records] == ["a", "b", "c"]
    assert batch.records[0].sequence == "ACGTACGTN" and batch.records[0].header == "a first"
    assert batch.records[1].sequence == "ACGTRY"  # gaps removed
    assert [r.kind for r in batch.records] == ["nucleotide", "nucleotide", "amino acid"]
    assert batch.records[2].line == 8 and batch.errors == []


def test_rna_is_read_as_dna():
    assert parse_fasta(">r\nACGUU\n").records[0].sequence == "ACGTT"


def test_not_fasta_raises_with_file_and_line(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("\n\nsample,value\n1,2\n")
    with pytest.raises(DataError, match=r"x\.txt, line 3: not FASTA.*'>'") as exc:
        read_fasta(path)
    assert isinstance(exc.value, HivLatentError)
    with pytest.raises(DataError, match="no FASTA record"):
        parse_fasta("\n \n", source="empty.fasta")


def test_unreadable_and_not_utf8(tmp_path):
    with pytest.raises(DataError, match="missing.fasta: file not found"):
        read_fasta(tmp_path / "missing.fasta")
    path = tmp_path / "bin.fasta"
    path.write_bytes(b">a\nACGT\n\xff\xfe\n")
    with pytest.raises(DataError, match=r"bin\.fasta, line 3: not UTF-8"):
        read_fasta(path)


def test_one_bad_record_is_named_and_the_others_kept():
    text = ">good1\nACGTACGT\n>bad\nACGTAC\nACGT1ACG\n>good2\nACGT\n"
    batch = parse_fasta(text, source="s.fasta")
    assert [r.id for r in batch.records] == ["good1", "good2"]
    assert len(batch.errors) == 1
    err = batch.errors[0]
    assert err.id == "bad" and err.line == 5
    assert err.message == ("s.fasta, line 5, record 'bad': unexpected character '1'; expected a "
                           "nucleotide code (ACGTU or IUPAC RYKMSWBDHVN)")
    with pytest.raises(DataError, match=r"line 5, record 'bad'"):
        parse_fasta(text, source="s.fasta", strict=True)


def test_neither_nucleotide_nor_amino_acid():
    batch = parse_fasta(">p\nPQIT!LWQ\n", source="f")
    assert "record 'p'" in batch.errors[0].message and "'!'" in batch.errors[0].message
    assert "nucleotide or amino-acid code" in batch.errors[0].message
    batch = parse_fasta(">n\nACGTACGTACGTEACGT\n", source="f")  # mostly DNA with a stray E
    assert "unexpected character 'E'" in batch.errors[0].message


def test_empty_record_and_duplicate_ids():
    batch = parse_fasta(">a\nACGT\n>empty\n>a\nGGGG\n>\nACGT\n", source="d.fasta")
    assert [r.id for r in batch.records] == ["a"]
    messages = [e.message for e in batch.errors]
    assert messages[0] == ("d.fasta, line 3, record 'empty': empty record; expected a sequence "
                           "after the header")
    assert messages[1].startswith("d.fasta, line 4, record 'a': duplicate id (first seen at line 1)")
    assert "line 6: header without an id" in messages[2]


def test_batch_results_keep_file_order_with_errors():
    text = ">x\nNNNN\n>bad\nAC@GT\n>y\nACGT\n"
    results = analyze_text(text, source="b.fasta")
    assert [r.id for r in results] == ["x", "bad", "y"]
    assert "unexpected character '@'" in results[1].error and results[1].kind == "unknown"
    assert all("does not align to HIV-1 pol" in r.error for r in (results[0], results[2]))
