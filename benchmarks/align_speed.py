"""Speed and accuracy of hivlatent.sequences on synthetic PR+RT records (~1,300 nt).

    PYTHONPATH=src python benchmarks/align_speed.py [--n 1000] [--workers 1 2] [--compare]
        [--sierralocal /path/to/venv/bin/sierralocal] [--fasta out.fasta]

Prints seconds per 1,000 records and records/s for each worker count, and the accuracy of the
mutation calls against the truth the generator put in (a record is right when its mutation list
is exactly the truth). ``--compare`` also runs the same codon pipeline on alignments from
Biopython's PairwiseAligner and mappy (minimap2), when installed; ``--sierralocal`` runs the
Stanford HIVDB program's local port (GPL-3, a separate install, never imported) on the same
records. The records: PR 1-99 + RT 1-335 cut at random ends (mid-codon allowed), 8% of codons
with a random synonymous change, 1-12 random amino-acid substitutions (one in five a two-residue
mixture), and in one record in five an RT 67 deletion, an RT 69 insertion or a codon deletion.
The table is written under the run's header into docs/results/align_speed.md (``--results
FILE`` elsewhere, ``--no-results`` for none).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

from hivlatent.sequences import FastaRecord, align_records, make_sequence, to_mutation_strings
from hivlatent.sequences import align as align_module
from hivlatent.sequences.codons import codons_for
from hivlatent.sequences.reference_sequences import gene
from results_file import add_results_option, dist_version, results_for

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
SITES = [("PR", p) for p in range(1, 100)] + [("RT", p) for p in range(1, 336)]


def synthetic_set(n: int, seed: int = 0) -> list[tuple[str, str, list[str]]]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        last = rng.randint(240, 335)  # the record ends at RT codon `last`
        chosen = rng.sample(range(5, 99 + last), rng.randint(1, 12))
        muts = []
        for i in sorted(chosen):
            g, p = SITES[i]
            cons = gene(g).consensus[p - 1]
            if g == "RT" and 64 <= p <= 71:
                continue
            if rng.random() < 0.2:
                pair = rng.sample([a for a in AMINO_ACIDS if a != cons], 1) + [cons]
                if not codons_for(frozenset(pair)):
                    continue
                muts.append(f"{g}:{cons}{p}{''.join(sorted(pair, key=lambda a: (a != cons, a)))}")
            else:
                muts.append(f"{g}:{cons}{p}{rng.choice([a for a in AMINO_ACIDS if a != cons])}")
        if rng.random() < 0.2:
            indel = rng.choice(["RT:D67del", "RT:T69insSS", "RT:T69insSG", "PR:I50del", "RT:V179del"])
            site = indel.split(":")[0] + ":" + "".join(c for c in indel.split(":")[1] if c.isdigit())
            near = {f"{m.split(':')[0]}:{p}" for m in muts for p in range(_order(m)[1] - 1, _order(m)[1] + 2)}
            if site not in near:  # no substitution at or next to the indel: the truth stays defined
                muts.append(indel)
        start, end = rng.randint(0, 12), f"RT:{last}"
        seq = make_sequence(muts, start=start, end=end, divergence=0.08, seed=k)
        truth = [m if "ins" not in m else m[:m.index("ins") + 3] for m in muts]
        out.append((f"syn{k}", seq, truth))
    return out


def _order(name: str):
    g, rest = name.split(":")
    return ("PR", "RT", "IN").index(g), int("".join(c for c in rest[1:] if c.isdigit()))


def accuracy(calls: dict[str, list[str]], truth: dict[str, list[str]]) -> dict:
    exact = sum(sorted(calls.get(k, []), key=_order) == sorted(t, key=_order) for k, t in truth.items())
    tp = sum(len(set(calls.get(k, [])) & set(t)) for k, t in truth.items())
    called = sum(len(calls.get(k, [])) for k in truth)
    total = sum(len(t) for t in truth.values())
    return {"records_exact": exact / len(truth), "recall": tp / total, "precision": tp / max(called, 1)}


def run_ours(data, workers: int) -> tuple[float, dict[str, list[str]]]:
    records = [FastaRecord(i, s, "nucleotide") for i, s, _ in data]
    t = time.perf_counter()
    results = align_records(records, workers=workers)
    return time.perf_counter() - t, {r.id: to_mutation_strings(r) for r in results}


def _swap_aligner(kind: str):
    """Replace parasail's Smith-Waterman by another aligner (same rows, same codon pipeline)."""
    from hivlatent.sequences.align import Alignment

    if kind == "biopython":
        from Bio import Align
        aligner = Align.PairwiseAligner(mode="local", match_score=2, mismatch_score=-3,
                                        open_gap_score=-10, extend_gap_score=-1)

        def sw(query, ref, ref_offset, matrix, go, ge, reverse, full_query):
            if matrix is not align_module._nucleotide_matrix():
                return original(query, ref, ref_offset, matrix, go, ge, reverse, full_query)
            aln = aligner.align(ref, query)[0]
            (r0, r1), (q0, q1) = aln.coordinates[0][[0, -1]], aln.coordinates[1][[0, -1]]
            return Alignment(aln[0], aln[1], int(r0) + ref_offset, int(r1) + ref_offset,
                             int(q0), int(q1), full_query, int(aln.score), reverse)
    else:
        import mappy

        from hivlatent.sequences.reference_sequences import consensus_pol
        index = mappy.Aligner(seq=consensus_pol(), k=11, w=5, best_n=1, scoring=[2, 3, 10, 1])

        def sw(query, ref, ref_offset, matrix, go, ge, reverse, full_query):
            if matrix is not align_module._nucleotide_matrix():
                return original(query, ref, ref_offset, matrix, go, ge, reverse, full_query)
            hit = next((h for h in index.map(query) if h.strand == 1), None)
            if hit is None:
                return None
            rows_r, rows_q, ri, qi = [], [], hit.r_st, hit.q_st
            pol = consensus_pol()
            for length, op in hit.cigar:
                if op == 0:
                    rows_r.append(pol[ri:ri + length]); rows_q.append(query[qi:qi + length])
                    ri += length; qi += length
                elif op == 1:
                    rows_r.append("-" * length); rows_q.append(query[qi:qi + length]); qi += length
                elif op == 2:
                    rows_r.append(pol[ri:ri + length]); rows_q.append("-" * length); ri += length
            return Alignment("".join(rows_r), "".join(rows_q), hit.r_st, ri, hit.q_st, qi,
                             full_query, hit.mlen, reverse)
    original = align_module._sw
    align_module._sw = sw
    return lambda: setattr(align_module, "_sw", original)


def run_sierralocal(exe: str, data) -> tuple[float, dict[str, list[str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        fasta, out = os.path.join(tmp, "in.fasta"), os.path.join(tmp, "out.json")
        with open(fasta, "w") as fh:
            fh.writelines(f">{i}\n{s}\n" for i, s, _ in data)
        t = time.perf_counter()
        subprocess.run([exe, fasta, "-o", out], check=True, capture_output=True, cwd=tmp)
        seconds = time.perf_counter() - t
        results = json.load(open(out))
    calls = {}
    for r in results:
        names = []
        for g in r["alignedGeneSequences"]:
            for m in g["mutations"]:
                c, pos, aas = m["consensus"], m["position"], m["AAs"]
                if m["isInsertion"]:
                    text = "ins"
                elif m["isDeletion"]:
                    text = "del"
                else:
                    text = (c if c in aas else "") + "".join(sorted(set(aas) - {c, "*"})) + ("*" if "*" in aas else "")
                names.append(f"{g['gene']['name']}:{c}{pos}{text}")
        calls[r["inputSequence"]["header"]] = names
    return seconds, calls


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--sierralocal", default=None)
    ap.add_argument("--fasta", default=None, help="also write the records to this FASTA file")
    add_results_option(ap, "align_speed")
    args = ap.parse_args(argv)
    results = results_for(args, "align_speed", "Sequence alignment: speed and accuracy of the "
                          "calls", argv)
    data = synthetic_set(args.n)
    truth = {i: t for i, _, t in data}
    mean_len = sum(len(s) for _, s, _ in data) / len(data)
    print(f"{len(data)} synthetic PR+RT records, mean length {mean_len:.0f} nt")
    if args.fasta:
        with open(args.fasta, "w") as fh:
            fh.writelines(f">{i}\n{s}\n" for i, s, _ in data)
    rows = []
    for w in args.workers:
        seconds, calls = run_ours(data, w)
        rows.append((f"parasail {dist_version('parasail')} (hivlatent), {w} worker(s)", seconds,
                     accuracy(calls, truth)))
    if args.compare:
        for kind in ("biopython", "mappy"):
            try:
                restore = _swap_aligner(kind)
            except ImportError:
                print(f"{kind}: not installed, skipped")
                continue
            try:
                subset = data if kind == "mappy" else data[: max(50, args.n // 10)]
                seconds, calls = run_ours(subset, 1)
                timed = "" if len(subset) == len(data) else f", timed on {len(subset)}, scaled"
                rows.append((f"{kind} {dist_version(kind)} + same codon pipeline, 1 worker"
                             f"{timed}", seconds * len(data) / len(subset),
                             accuracy(calls, {i: t for i, _, t in subset})))
            finally:
                restore()
    if args.sierralocal:
        seconds, calls = run_sierralocal(args.sierralocal, data)
        rows.append(("sierralocal (postalign + minimap2; HIVDB's pipeline, oracle only)", seconds,
                     accuracy(calls, truth)))
    print(f"{'aligner':48} {'s/1000':>8} {'rec/s':>8} {'exact':>7} {'recall':>7} {'precision':>9}")
    table = ["| aligner (+ the same codon pipeline) | s per 1,000 records | records/s | exact "
             "records | recall | precision |", "|---|---:|---:|---:|---:|---:|"]
    for name, seconds, acc in rows:
        per1000 = seconds * 1000 / len(data)
        print(f"{name:48} {per1000:8.2f} {1000 / per1000:8.0f} {acc['records_exact']:7.1%} "
              f"{acc['recall']:7.1%} {acc['precision']:9.1%}")
        table.append(f"| {name} | {per1000:.2f} | {1000 / per1000:.0f} | "
                     f"{acc['records_exact']:.1%} | {acc['recall']:.1%} | {acc['precision']:.1%} |")
    if results:
        results.write(f"{len(data)} synthetic PR+RT records, mean length {mean_len:.0f} nt "
                      "(how they are made: the script's docstring). A record is exact when its "
                      "mutation list equals the truth the generator put in; recall and "
                      "precision are over all mutations.\n\n" + "\n".join(table))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
