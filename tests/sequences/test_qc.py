"""QC helpers and batch processing (hivlatent.sequences.qc, .pipeline)."""

from __future__ import annotations

from math import comb

from hivlatent.sequences import FastaRecord, align_records, make_sequence, to_mutation_strings
from hivlatent.sequences.qc import fisher_greater, hypermutation


def test_fisher_exact_one_sided_matches_the_hypergeometric_sum():
    # [[8, 2], [1, 5]]: P(X >= 8) with row 10, column 9, total 16
    expected = (comb(10, 8) * comb(6, 1) + comb(10, 9) * comb(6, 0)) / comb(16, 9)
    assert abs(fisher_greater(8, 2, 1, 5) - expected) < 1e-12
    assert fisher_greater(0, 10, 0, 10) == 1.0
    assert fisher_greater(0, 0, 0, 0) == 1.0


def test_hypermutation_counts_contexts_from_the_record():
    ref = "GGA" "GAT" "GCA" "GTT"
    rec = "AGA" "AAT" "GCA" "ATT"  # G->A before G, before A (in context), before T (control)
    h = hypermutation(ref, rec)
    assert (h.mutated_in_context, h.mutated_elsewhere) == (2, 1)
    assert h.sites_in_context == 3 and h.sites_elsewhere == 2  # the G of GCA is a control site
    assert not h.hypermutated


def test_process_pool_gives_the_same_answers_in_order():
    records = [FastaRecord(f"r{i}", make_sequence(["PR:L90M"] if i % 2 else ["PR:V82A"],
                                                  genes=("PR",), divergence=0.05, seed=i),
                           "nucleotide") for i in range(130)]
    one = [to_mutation_strings(r) for r in align_records(records, workers=1)]
    two = align_records(records, workers=2)
    assert [r.id for r in two] == [f"r{i}" for i in range(130)]
    assert [to_mutation_strings(r) for r in two] == one
    assert one[0] == ["PR:V82A"] and one[1] == ["PR:L90M"]
