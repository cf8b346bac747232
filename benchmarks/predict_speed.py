"""How fast `hivlatent predict` answers a batch of sequences once the default models exist.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/predict_speed.py [--n 1000] [--workers 1]

Makes ``--n`` synthetic PR+RT records (about 1,150 nt, random ends, synonymous background
changes, 0-8 resistance mutations each; :func:`hivlatent.sequences.make_sequence`), makes sure the
default PI, NRTI and NNRTI models are in the cache (training them if not: not timed), then times
the whole command from the shell, `hivlatent predict --file batch.fasta --format json`: start-up,
reading, alignment, the three models' predictions with drivers and neighbours, HIVdb beside them
(when the extra is installed) and the JSON. Prints the seconds, records per second and the
target (1,000 records in under 60 s on 2 cores), and writes them under the run's header into
docs/results/predict_speed.md (``--results FILE`` elsewhere, ``--no-results`` for none).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results_file import add_results_option, results_for

POOL = ["RT:M41L", "RT:K65R", "RT:D67N", "RT:K70R", "RT:L74V", "RT:K103N", "RT:V106M",
        "RT:Y181C", "RT:M184V", "RT:G190A", "RT:L210W", "RT:T215Y", "RT:T215FY", "RT:K219Q",
        "RT:T69ins", "PR:L10I", "PR:M46I", "PR:I54V", "PR:V82A", "PR:I84V", "PR:L90M",
        "PR:L33F", "RT:Q151M"]


def make_batch(n: int, path: Path, seed: int = 0) -> None:
    from hivlatent.sequences import make_sequence, write_fasta

    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        muts = list(rng.choice(POOL, size=int(rng.integers(0, 9)), replace=False))
        if "RT:T215Y" in muts and "RT:T215FY" in muts:
            muts.remove("RT:T215FY")
        start = f"PR:{int(rng.integers(1, 10))}"
        end = f"RT:{int(rng.integers(240, 320))}"
        records.append((f"seq{i + 1}", make_sequence(muts, genes=("PR", "RT"), start=start, end=end,
                                                    seed=i, divergence=0.04)))
    write_fasta(records, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    add_results_option(ap, "predict_speed")
    args = ap.parse_args(argv)
    results = results_for(args, "predict_speed", "A batch of FASTA records through "
                          "`hivlatent predict`", argv)
    from hivlatent.prediction import defaults

    t0 = time.perf_counter()
    trained = {}                       # class -> (seconds its training took, trained in this run)
    for c in defaults.CLASS_DATA:
        fresh = not defaults.status([c])[0].ready
        model, _ = defaults.get(c)
        trained[c] = (model.manifest.get("default_model", {}).get("seconds", float("nan")), fresh)
    print(f"default models ready ({time.perf_counter() - t0:.0f} s, not timed)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="hivlatent-predict-speed-") as tmp:
        fasta = Path(tmp) / "batch.fasta"
        make_batch(args.n, fasta)
        cmd = [sys.executable, "-m", "hivlatent", "predict", "--file", str(fasta), "--format",
               "json", "--workers", str(args.workers)]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        seconds = time.perf_counter() - t
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        out = json.loads(proc.stdout)["records"]
    answered = sum(1 for r in out if not r["error"])
    hivdb = next((r["hivdb_version"] for r in out if r["hivdb_version"]), "not installed")
    target = 60.0 * args.n / 1000
    lines = ["| records | answered | seconds | records/s | HIVdb | workers |",
             "|---:|---:|---:|---:|---|---:|",
             f"| {args.n} | {answered} | {seconds:.1f} | {args.n / seconds:.0f} | {hivdb} | "
             f"{args.workers} |", "",
             f"target: {args.n} records in under {target:.0f} s: "
             f"{'met' if seconds < target else 'missed'} ({seconds:.1f} s)"]
    print("\n".join(lines))
    if results:
        results.write(f"`hivlatent predict --file batch.fasta --format json --workers "
                      f"{args.workers}` from the shell, start-up included, on {args.n} synthetic "
                      "PR+RT records (the default models already cached; training them is not "
                      "timed).\n\n" + "\n".join(lines) + "\n\n"
                      "Training the default models on first use (`hivlatent models train`), "
                      "as each model's manifest records it:\n\n| class | seconds | trained "
                      "|\n|---|---:|---|\n" + "\n".join(
                          f"| {c} | {secs:.1f} | {'in this run' if fresh else 'before this run'}"
                          " |" for c, (secs, fresh) in trained.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
