"""Peak memory and time of `hivlatent predict` on a large batch, and on one very long record.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/predict_batch_memory.py [--n 20000]

Makes ``--n`` synthetic PR+RT records (as ``benchmarks/predict_speed.py`` does), then runs the
command from the shell, each run in a process of its own, and reads its peak resident memory
(the kernel's ``ru_maxrss`` of the finished child) and its wall time:

1. ``predict --file batch.fasta --format json``;
2. the same with ``--workers 2`` (the ratio of the two wall times is printed);
3. the first with ``--report report.html``;
4. ``predict --file long.fasta`` on one record of 1,000,000 letters (refused before alignment,
   above ``MAX_RECORD_LENGTH``) beside one ordinary record.

The default models are made ready first (trained if missing: not measured); ``--model DIR``
(repeatable) uses those model folders instead. Writes the table under the run's header into
docs/results/predict_batch_memory.md (``--results FILE`` elsewhere, ``--no-results`` for none;
``--smoke`` runs 20 records and writes nothing unless ``--results`` is given).
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

from predict_speed import make_batch
from results_file import add_results_option, results_for

#: runs the command given in argv and prints its peak resident memory (kB) on the last line
_WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
            "file=sys.stderr)")


def measure(args: list[str]) -> tuple[int, float, float, str]:
    """(exit code, peak memory MiB, seconds, stdout) of ``hivlatent predict ARGS``."""
    cmd = [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "hivlatent", "predict", *args]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    seconds = time.perf_counter() - t
    code, kb = proc.stderr.strip().splitlines()[-1].split()
    return int(code), int(kb) / 1024, seconds, proc.stdout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--model", type=Path, action="append", default=[])
    ap.add_argument("--smoke", action="store_true", help="20 records, no results file")
    add_results_option(ap, "predict_batch_memory", default_on=False)
    args = ap.parse_args(argv)
    n = 20 if args.smoke else args.n
    results = results_for(args, "predict_batch_memory", "Peak memory of `hivlatent predict` "
                          "on a large batch and a very long record", argv, smoke=args.smoke)
    models = [a for m in args.model for a in ("--model", str(m))]
    if not models:
        from hivlatent.prediction import defaults

        for c in defaults.CLASS_DATA:
            defaults.get(c)
    from hivlatent.config import MAX_RECORD_LENGTH
    from hivlatent.sequences import make_sequence, write_fasta

    rows, wall = [], []
    with tempfile.TemporaryDirectory(prefix="hivlatent-batch-memory-") as tmp:
        fasta, long_fa = Path(tmp) / "batch.fasta", Path(tmp) / "long.fasta"
        make_batch(n, fasta)
        seq = make_sequence(["RT:M184V"], genes=("RT",))
        write_fasta({"long": (seq * (1_000_000 // len(seq) + 1))[:1_000_000], "ordinary": seq},
                    long_fa)
        for label, extra, size in (
                (f"{n} PR+RT records, JSON", ["--file", str(fasta), "--format", "json"], n),
                (f"{n} PR+RT records, JSON, `--workers 2`",
                 ["--file", str(fasta), "--format", "json", "--workers", "2"], n),
                (f"{n} PR+RT records, JSON and the report",
                 ["--file", str(fasta), "--format", "json", "--report",
                  str(Path(tmp) / "report.html")], n),
                ("one 1,000,000-letter record and one ordinary", ["--file", str(long_fa),
                                                                   "--format", "json"], 2)):
            code, mib, seconds, out = measure(models + extra)
            answered = (sum(1 for r in json.loads(out)["records"] if not r["error"])
                        if out.strip() else "-")
            rows.append(f"| {label} | {code} | {answered} of {size} | {mib:.0f} | "
                        f"{seconds:.1f} |")
            wall.append(seconds)
            print(rows[-1], file=sys.stderr)
    lines = ["| input | exit code | answered | peak memory (MiB) | seconds |",
             "|---|---:|---:|---:|---:|", *rows, "",
             f"Two workers against one, in this run: {wall[0] / wall[1]:.2f}x as fast "
             "(alignment, subtyping and HIVdb's scoring run in the pool; the models' "
             "predictions, drivers, neighbours and the output in the main process)."]
    print("\n".join(lines))
    if results:
        which = ("the model folders " + ", ".join(map(str, args.model)) if args.model
                 else "the default models (already cached; training them is not measured)")
        results.write(f"`hivlatent predict` from the shell, each run in a process of its own; "
                      f"peak memory is the process's maximum resident set. Models: {which}. "
                      f"A record longer than {MAX_RECORD_LENGTH} letters is refused before "
                      "alignment (exit 3: the other record is answered).\n\n"
                      + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
