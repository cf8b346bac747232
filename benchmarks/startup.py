"""Start-up of the command line: how long each command takes before it does its work.

    python benchmarks/startup.py [--runs 7] [--json out.json]

Runs every command below as a fresh process ``--runs`` times and prints the median and the best
wall time, the 1-minute load average before and after, and the issue 14 target (``--version``
and ``--help`` under 0.5 s, without importing torch). Rows:

- ``hivlatent --version`` / ``--help`` and every subcommand's ``--help``: the command line only;
- ``hivlatent data list`` and ``hivlatent summary``: small commands doing real work;
- ``import hivlatent.model``: what every training or prediction command imports before it
  starts (torch, the model, the engine), against ``import torch`` alone as the floor.

The table and the targets are written under the run's header into docs/results/startup.md
(``--results FILE`` elsewhere, ``--no-results`` for none).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results_file import add_results_option, results_for

TARGET = 0.5
COMMANDS = ["summary", "train", "encode", "study", "evaluate", "predict", "sweep", "data",
            "models"]


def _time(cmd: list[str], runs: int) -> dict:
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}): "
                               f"{proc.stderr.strip()[-500:]}")
    return {"median": statistics.median(walls), "best": min(walls)}


def _torch_free(python: str, argv: list[str]) -> bool:
    """Whether running the CLI with ``argv`` leaves torch unimported."""
    code = ("import sys\nfrom hivlatent.cli.main import main\n"
            f"sys.argv = ['hivlatent', *{argv!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)")
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return "NO-TORCH" in proc.stderr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", type=Path, default=None)
    add_results_option(ap, "startup")
    args = ap.parse_args(argv)
    results = results_for(args, "startup", "Command-line start-up", argv)
    py = sys.executable
    cli = [py, "-m", "hivlatent"]
    rows = [("hivlatent --version", cli + ["--version"], True),
            ("hivlatent --help", cli + ["--help"], True)]
    rows += [(f"hivlatent {c} --help", cli + [c, "--help"], False) for c in COMMANDS]
    rows += [("hivlatent data list", cli + ["data", "list"], False),
             ("hivlatent summary", cli + ["summary"], False),
             ("python -c 'import torch' (floor)", [py, "-c", "import torch"], False),
             ("python -c 'import hivlatent.model'", [py, "-c", "import hivlatent.model"], False)]
    load0 = os.getloadavg()[0]
    out = []
    for label, cmd, target in rows:
        r = _time(cmd, args.runs)
        out.append({"command": label, **r, "target": target})
    load1 = os.getloadavg()[0]
    free = {a: _torch_free(py, [a]) for a in ("--version", "--help")}
    lines = [f"{os.cpu_count()} cores; load average (1 min) {load0:.2f} before, {load1:.2f} "
             f"after; {args.runs} runs per command", "",
             "| command | median (s) | best (s) |", "|---|---:|---:|"]
    lines += [f"| `{r['command']}` | {r['median']:.3f} | {r['best']:.3f} |" for r in out]
    targets = [f"{r['command']} under {TARGET} s: {'met' if r['median'] < TARGET else 'MISSED'}"
               f" ({r['median']:.3f} s median)" for r in out if r["target"]]
    targets += [f"hivlatent {a} without importing torch: {'met' if ok else 'MISSED'}"
                for a, ok in free.items()]
    print("\n".join(lines + [""] + [f"target: {t}" for t in targets]))
    if results:
        results.write("\n".join(lines + ["", "Targets:", ""] + [f"- {t}" for t in targets]))
    if args.json:
        args.json.write_text(json.dumps({"rows": out, "torch_free": free,
                                         "loadavg": [load0, load1]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
