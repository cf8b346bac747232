"""Accuracy of hivlatent.subtyping: each LANL 2023 reference left out in turn.

    python benchmarks/subtyping.py [--window 168 1500] [--results FILE | --no-results]

Each of the 518 reference sequences is cut to a pol window (default: pol offsets 168-1500, PR and
RT 1-344, the usual genotyping amplicon), left out of the reference set, and subtyped against the
other 517. Reported: how often the call equals its own subtype (pure subtypes and CRFs apart),
and how often the nearest pure subtype is right for the pure-subtype references (A1-A8 counted as
A1...A8, no grouping). A CRF whose own other references are the nearest is called right; one
whose pol region is a parent subtype's is counted wrong, though its pol lineage may be right.
Seconds; writes a Markdown report with the command, date, machine and hivlatent version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import add_results_option, publish, results_for  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=int, nargs=2, default=[168, 1500])
    add_results_option(ap, "subtyping")
    args = ap.parse_args(argv)
    from hivlatent.subtyping import call_subtype, references

    results = results_for(args, "subtyping", "Subtyping: LANL 2023 references, each left out in "
                          "turn", argv, timed=False)

    refs = references()
    lo, hi = args.window
    n = refs.codes.shape[1]
    rows = []
    for k in range(len(refs.names)):
        bases = "".join("ACGT-"[c] if c < 4 else "N" for c in refs.codes[k])
        call = call_subtype("." * lo + bases[lo:hi] + "." * (n - hi), exclude=k)
        truth = refs.subtypes[k]
        rows.append((truth, truth.startswith("CRF"), call.subtype == truth, call.pure == truth,
                     call.distance or 0.0))
    pure = [r for r in rows if not r[1]]
    crf = [r for r in rows if r[1]]

    def pct(xs):
        return f"{100 * sum(xs) / max(1, len(xs)):.1f}% ({sum(xs)}/{len(xs)})"

    text = "\n".join([
        f"Window: pol offsets {lo}-{hi} (HXB2 {2085 + lo}-{2084 + hi}).", "",
        "| references | n | call = own subtype | nearest pure subtype = own |",
        "|---|---:|---:|---:|",
        f"| pure subtypes | {len(pure)} | {pct([r[2] for r in pure])} | "
        f"{pct([r[3] for r in pure])} |",
        f"| CRFs | {len(crf)} | {pct([r[2] for r in crf])} | n/a |",
        f"| all | {len(rows)} | {pct([r[2] for r in rows])} | |", "",
        "Pure-subtype references whose call is a CRF: "
        + (", ".join(sorted({r[0] for r in pure if not r[2]})) or "none") + ".", ""])
    publish(results, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
