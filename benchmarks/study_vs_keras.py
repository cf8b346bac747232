"""The study's grid as the student ran it (Keras, one process per model) against
``hivlatent study``, both measured in one run on this machine.

    python benchmarks/study_vs_keras.py [--keras-python PATH] [--hivlatent-python PATH]
        [--likelihood mse|bernoulli] [--seed 0] [--quick] [--json out.json]
    python benchmarks/study_vs_keras.py --skip-keras --keras-json keras.json   # reuse a Keras run

1. The Keras reference (benchmarks/keras_reference.py, ``run_grid``): 14 models, each trained by
   a fresh ``--keras-python`` process (start-up, TensorFlow import, data, model, fit); no figures.
2. ``python -m hivlatent study --out <fresh folder> --quiet`` as a subprocess of
   ``--hivlatent-python`` with HIVLATENT_DATA_DIR set and this checkout's src/ first on
   PYTHONPATH: the same 14 configurations (one seed each) plus start-up, figures, summary and
   report.html.

Before each part it waits (at most ``--wait`` seconds) for the 1-minute load average to fall to
``result_header.LOAD_THRESHOLD`` (0.5): the machine idle, and the tail of the first part gone
from the average. A part that still starts above it makes the run DISTURBED: the times are
printed and written, marked so, and the target is not judged.

Prints a markdown table (program, wall seconds, ratio Keras / hivlatent), whether the target
(hivlatent at least 10x faster) is met, and the 1-minute load average before and after each part,
and writes the same (with the command, date, machine and hivlatent version) to ``--result``
(default docs/results/study_vs_keras.md; not written for ``--quick``). TensorFlow is optional:
without it (for --keras-python) one line says so and only hivlatent is measured. Neither
TensorFlow nor hivlatent is imported here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import keras_reference  # noqa: E402  stdlib only at import time; no TensorFlow, no hivlatent
import result_header as rh  # noqa: E402  stdlib only

TARGET = 10.0
load = rh.load


def hivlatent_env(data_dir: Path) -> dict:
    env = dict(os.environ, HIVLATENT_DATA_DIR=str(data_dir))
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def run_hivlatent(python: str, out: Path, data_dir: Path, likelihood: str, seed: int,
                  quick: bool) -> dict:
    """Time ``python -m hivlatent study`` into the fresh folder ``out``."""
    env = hivlatent_env(data_dir)
    # which package answers `python -m hivlatent` (not timed)
    where = subprocess.run([python, "-c", "import hivlatent; print(hivlatent.__file__)"],
                           capture_output=True, text=True, env=env, check=False)
    if where.returncode != 0:
        raise RuntimeError(f"{python} cannot import hivlatent:\n{where.stderr[-2000:]}")
    module = where.stdout.strip()
    cmd = [python, "-m", "hivlatent", "study", "--out", str(out), "--quiet",
           "--likelihood", likelihood, "--seed", str(seed), *(["--quick"] if quick else [])]
    before = load()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = load()
    if proc.returncode != 0:
        raise RuntimeError(f"hivlatent study failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    for name in ("summary.csv", "report.html"):
        if not (out / name).is_file():
            raise RuntimeError(f"hivlatent study wrote no {name} in {out}")
    with open(out / "summary.csv") as f:
        models = sum(1 for _ in f) - 1
    return {"program": "hivlatent study", "command": " ".join(cmd[1:]), "python": python,
            "module": module, "wall_seconds": round(wall, 3), "models": models,
            "loadavg_before": before, "loadavg_after": after,
            "stdout": proc.stdout.strip().splitlines()}


def fresh_folder(out: Path | None) -> tuple[Path, bool]:
    """The study's run folder: ``out`` if new or empty (a rerun would resume and skip models),
    else a temporary one; returns (folder, remove afterwards)."""
    if out is None:
        return Path(tempfile.mkdtemp(prefix="hivlatent-study-")) / "study", True
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"study_vs_keras: --out {out} is not empty (the study would resume "
                         "from it); give a new folder")
    return out, False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="The Keras reference grid (one process per model) against `hivlatent "
                    "study`, measured in one run; target: hivlatent at least 10x faster.")
    ap.add_argument("--keras-python", default=sys.executable,
                    help="interpreter with tensorflow-cpu that runs each Keras model "
                         "(default: this one)")
    ap.add_argument("--hivlatent-python", default=sys.executable,
                    help="interpreter with hivlatent's dependencies (torch, ...) that runs "
                         "`python -m hivlatent study`; this checkout's src/ is put first on "
                         "PYTHONPATH (default: this one)")
    ap.add_argument("--likelihood", choices=("mse", "bernoulli"), default="mse")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: keras_reference --quick and hivlatent study --quick "
                         "(the ratio means nothing)")
    ap.add_argument("--skip-keras", action="store_true",
                    help="do not run the Keras grid; reuse --keras-json from an earlier run")
    ap.add_argument("--keras-json", type=Path,
                    help="JSON of an earlier keras_reference.py / study_vs_keras.py run")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="HIVDB data folder (default $HIVLATENT_DATA_DIR, else "
                         "../shared/data/hivdb beside the checkout)")
    ap.add_argument("--out", type=Path, default=None,
                    help="run folder for hivlatent study (new or empty; default: a temporary "
                         "folder, removed afterwards)")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    ap.add_argument("--result", type=Path, default=ROOT / "docs" / "results" / "study_vs_keras.md",
                    help="markdown result file (not written with --quick)")
    ap.add_argument("--threshold", type=float, default=rh.LOAD_THRESHOLD,
                    help="highest 1-minute load average at which a part may start")
    ap.add_argument("--wait", type=float, default=None,
                    help="seconds to wait, before each part, for the load to fall to the "
                         "threshold (default 600; 0 with --quick)")
    args = ap.parse_args(argv)
    if args.wait is None:
        args.wait = 0.0 if args.quick else 600.0
    if args.skip_keras and args.keras_json is None:
        ap.error("--skip-keras needs --keras-json (the JSON of an earlier Keras run)")
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when redirected to a file
    data_dir = (args.data_dir or keras_reference.data_dir_default()).resolve()
    cores = os.cpu_count()
    print(f"machine: {cores} cores; load average (1 min) at start {load():.2f}")

    # 1. the Keras reference
    keras = None
    if args.skip_keras:
        keras = json.loads(args.keras_json.read_text())
        if isinstance(keras.get("keras"), dict):  # a study_vs_keras JSON holds it under "keras"
            keras = keras["keras"]
        if "grid_seconds" not in keras:
            print(f"study_vs_keras: {args.keras_json} holds no Keras grid run", file=sys.stderr)
            return 1
        keras["reused_from"] = str(args.keras_json)
        print(f"Keras reference: reusing {args.keras_json} ({keras['models']} models, "
              f"{keras['grid_seconds']:.1f} s)")
        for key, want in (("likelihood", args.likelihood), ("quick", args.quick),
                          ("seed", args.seed)):
            if keras.get(key) != want:
                print(f"note: the reused Keras run has {key} = {keras.get(key)!r}, this run "
                      f"{want!r}")
    else:
        rh.wait_idle(args.threshold, args.wait)
        try:
            keras = keras_reference.run_grid(args.keras_python, data_dir, args.likelihood,
                                             args.seed, args.quick)
        except (FileNotFoundError, RuntimeError) as exc:
            print(f"study_vs_keras: {exc}", file=sys.stderr)
            return 1
        # None: no TensorFlow; keras_reference printed its one line

    # 2. hivlatent study, once the first part's processes have left the load average
    out, remove = fresh_folder(args.out)
    rh.wait_idle(args.threshold, args.wait)
    print(f"hivlatent study: `{Path(args.hivlatent_python).name} -m hivlatent study --out {out} "
          f"--quiet{' --quick' if args.quick else ''}` ...", flush=True)
    try:
        hiv = run_hivlatent(args.hivlatent_python, out, data_dir, args.likelihood, args.seed,
                            args.quick)
    except RuntimeError as exc:
        print(f"study_vs_keras: {exc}", file=sys.stderr)
        return 1
    finally:
        if remove:
            shutil.rmtree(out.parent, ignore_errors=True)
    print(f"  hivlatent from {hiv['module']}: {hiv['models']} models in "
          f"{hiv['wall_seconds']:.1f} s")

    # the table
    ratio = keras["grid_seconds"] / hiv["wall_seconds"] if keras else None
    print()
    print("| program | wall seconds | ratio (Keras / hivlatent) |")
    print("|---|---:|---:|")
    if keras:
        tag = ", earlier run" if keras.get("reused_from") else ""
        print(f"| Keras reference (TensorFlow {keras['tensorflow']}, {keras['models']} models, "
              f"one process each{tag}) | {keras['grid_seconds']:.1f} | 1.0 |")
    print(f"| `hivlatent study` ({hiv['models']} models, start-up, figures, report) | "
          f"{hiv['wall_seconds']:.1f} | {f'**{ratio:.1f}x**' if ratio else 'n/a'} |")
    print()
    loads = {"hivlatent study": (hiv["loadavg_before"], hiv["loadavg_after"])}
    if keras and not keras.get("reused_from"):
        loads = {"Keras reference": (keras["loadavg_before"][0], keras["loadavg_after"][0]),
                 **loads}
    bad = rh.disturbed(loads, args.threshold)
    if ratio is None:
        verdict = "not measured (no Keras run)"
    elif bad:
        verdict = f"not judged: DISTURBED run ({ratio:.1f}x)"
    else:
        verdict = f"{'met' if ratio >= TARGET else 'missed'} ({ratio:.1f}x)"
    print(f"Target: hivlatent study at least {TARGET:.0f}x faster than the Keras reference: "
          f"{verdict}{' [--quick: a smoke test, the ratio means nothing]' if args.quick else ''}")
    parts = []
    if keras:
        parts.append(f"Keras {keras['loadavg_before'][0]:.2f} -> {keras['loadavg_after'][0]:.2f}"
                     f"{' (earlier run)' if keras.get('reused_from') else ''}")
    parts.append(f"hivlatent {hiv['loadavg_before']:.2f} -> {hiv['loadavg_after']:.2f}")
    print(f"Machine load (1-min load average before -> after, {cores} cores): {'; '.join(parts)}")
    if bad:
        print(f"  DISTURBED: a part started with the load above {args.threshold}: other processes "
              "competed for the cores; these times are not results and the target is not "
              "judged")
    if not args.quick and ratio is not None:
        table = ["| program | wall seconds | ratio (Keras / hivlatent) |", "|---|---:|---:|",
                 f"| Keras reference (TensorFlow {keras['tensorflow']}, {keras['models']} "
                 f"models, one process each{', earlier run' if keras.get('reused_from') else ''})"
                 f" | {keras['grid_seconds']:.1f} | 1.0 |",
                 f"| `hivlatent study` ({hiv['models']} models, start-up, figures, report) | "
                 f"{hiv['wall_seconds']:.1f} | **{ratio:.1f}x** |", "",
                 f"Target: `hivlatent study` at least {TARGET:.0f}x faster than the Keras "
                 f"reference: {verdict}."]
        command = ["python", "benchmarks/study_vs_keras.py", *(argv if argv is not None
                                                                else sys.argv[1:])]
        path = rh.write(args.result, "`hivlatent study` against the seed's Keras program",
                        rh.header(command, loads, args.threshold, args.hivlatent_python), table)
        print(f"wrote {path}")

    if args.json:
        res = {"keras": keras, "hivlatent": hiv, "ratio": None if ratio is None else round(ratio, 2),
               "target": TARGET, "met": None if ratio is None or bad else ratio >= TARGET,
               "disturbed": bad, "threshold": args.threshold,
               "quick": args.quick, "likelihood": args.likelihood, "seed": args.seed,
               "cpu_count": cores}
        args.json.write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
