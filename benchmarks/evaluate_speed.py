"""How long users wait for `hivlatent evaluate`, measured from the shell, and where the time goes.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/evaluate_speed.py [--data nrti-1246]
        [--n-jobs 0] [--small] [--reference benchmarks/results/nrti-1246/per_fold.csv]
        [--result docs/results/evaluate_speed.md] [--keep DIR] [-- extra evaluate options]

Runs ``python -m hivlatent evaluate --data DATA --out <fresh folder> --quiet`` (every default:
5 folds x 3 repeats, every default method, HIVdb when its extra is installed) as a subprocess of
this interpreter, with this checkout's src/ first on PYTHONPATH, after waiting for the machine to
be idle (the 1-minute load average at most ``result_header.LOAD_THRESHOLD``). It writes
``--result``: the command, date, machine, load before and after, hivlatent version, the wall time
against the target (15 minutes), and the run's own profile (``timings.csv``: wall and CPU seconds
of every task, summed per method). With ``--reference`` (default: the published per-fold table
``benchmarks/results/<data>/per_fold.csv`` when it exists) it adds, per method,
drug and metric, the new mean against the old one in units of the fold-to-fold standard
deviation: the check that the faster evaluation gives the same results within the noise.

A run that started on a loaded machine is marked DISTURBED in the result and the target is not
judged. ``--small`` times a seconds-to-minutes variant (2 folds, 1 repeat, lr, rf, hgb and a semi
model of 20 epochs) to check the script itself. ``--keep DIR`` keeps the timed run's folder as
``DIR`` (replacing a run folder there): ``--keep benchmarks/results/nrti-1246`` makes the timed
run the published per-fold rows that ``benchmarks/trust.py --reuse`` reports, so the default
evaluation is not run twice (the reference is read before it is replaced).
"""

from __future__ import annotations

import argparse
import math
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
import result_header as rh  # noqa: E402  (standard library only)

TARGET_MINUTES = 15.0
SMALL = ["--folds", "2", "--repeats", "1", "--methods", "lr,rf,hgb,semi10", "--epochs", "20",
         "--members", "2"]


def run(data: str, n_jobs: int, extra: list[str], data_dir: str | None,
        keep: Path | None = None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="hivlatent-evaluate-")) / "run"
    cmd = [sys.executable, "-m", "hivlatent", "evaluate", "--data", data, "--out", str(out),
           "--quiet", "--n-jobs", str(n_jobs), *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    if data_dir:
        env["HIVLATENT_DATA_DIR"] = data_dir
    before = rh.load()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = rh.load()
    try:
        if proc.returncode != 0:
            raise SystemExit(f"evaluate_speed: the evaluation failed (exit {proc.returncode}):\n"
                             f"{proc.stderr[-3000:]}")
        import pandas as pd

        timings = pd.read_csv(out / "timings.csv")
        per_fold = pd.read_csv(out / "per_fold.csv")
        if keep is not None:
            _keep(out, keep, shown_command(cmd), per_fold,
                  {"seconds": round(wall), "cores": rh.cores(), "load_before": round(before, 2)})
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    return {"command": shown_command(cmd), "wall": wall, "load": (before, after), "timings": timings,
            "per_fold": per_fold}


def shown_command(cmd: list[str]) -> list[str]:
    shown = ["hivlatent", *cmd[3:]]
    shown[shown.index("--out") + 1] = "<fresh folder>"
    return shown


def _keep(out: Path, keep: Path, command: list[str], per_fold, timing: dict) -> None:
    """Move the run folder ``out`` to ``keep`` (an earlier run folder there is replaced), with the
    provenance entry benchmarks/trust.py reads."""
    import json

    if keep.exists():
        if not (keep / "per_fold.csv").is_file():
            raise SystemExit(f"evaluate_speed: --keep {keep} exists and is not a run folder")
        shutil.rmtree(keep)
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(out), str(keep))
    made = {"hivlatent": rh.version(), "date": time.strftime("%Y-%m-%d"),
            "command": "python benchmarks/evaluate_speed.py --keep " + str(_shown(keep)) +
                       " (timed: " + " ".join(command) + ")",
            "methods": sorted(per_fold["method"].unique()), **timing}
    (keep / "provenance.json").write_text(json.dumps([made], indent=1) + "\n")


def profile(timings) -> list[str]:
    """Per method (or group of methods sharing a fit): tasks, CPU seconds, share."""
    g = timings.groupby("methods", sort=False).agg(tasks=("folds", "size"),
                                                   cpu=("cpu_seconds", "sum"),
                                                   wall=("wall_seconds", "sum"))
    g = g.sort_values("cpu", ascending=False)
    total = g["cpu"].sum()
    lines = ["| method(s) | tasks | CPU seconds | share |", "|---|---:|---:|---:|"]
    for name, r in g.iterrows():
        lines.append(f"| {name} | {int(r.tasks)} | {r.cpu:.0f} | {r.cpu / total:.1%} |")
    lines.append(f"| all | {int(g['tasks'].sum())} | {total:.0f} | 100% |")
    return lines


def against(per_fold, reference) -> tuple[list[str], dict]:
    """New against old per (method, drug, metric): means, fold sd, difference in sd units."""
    key = ["method", "drug", "metric"]
    new = per_fold.groupby(key)["value"].agg(["mean", "std"])
    old = reference.groupby(key)["value"].agg(["mean", "std"])
    both = new.join(old, how="inner", suffixes=("_new", "_old")).dropna()
    both["sd"] = (both["std_new"] ** 2 / 2 + both["std_old"] ** 2 / 2) ** 0.5
    both = both[both["sd"] > 0]
    both["z"] = (both["mean_new"] - both["mean_old"]) / both["sd"]
    shown = both.reset_index()
    shown = shown[shown["metric"].isin(["auc", "balanced_accuracy", "r2", "coverage90"])]
    lines = ["| method | drug | metric | reference | now | difference | fold sd | difference / sd |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in shown.itertuples():
        lines.append(f"| {r.method} | {r.drug} | {r.metric} | {r.mean_old:.4f} | "
                     f"{r.mean_new:.4f} | {r.mean_new - r.mean_old:+.4f} | {r.sd:.4f} | "
                     f"{r.z:+.2f} |")
    pairs = per_fold.merge(reference, on=[*key, "fold"], suffixes=("_new", "_old"))
    same = (pairs["value_new"] - pairs["value_old"]).abs().le(1e-12).groupby(
        [pairs[k] for k in key]).all()
    identical = sorted(m for m, rows in same.groupby(level="method") if rows.all())
    stats = {"compared": len(both), "within_1sd": int((both["z"].abs() <= 1).sum()),
             "identical": identical,
             "largest": float(both["z"].abs().max()) if len(both) else math.nan,
             "methods": sorted(set(shown["method"]))}
    return lines, stats


def _provenance(per_fold: Path) -> str:
    """What the reference run's provenance.json says of it (version, date), if it is there."""
    import json

    try:
        runs = json.loads((per_fold.parent / "provenance.json").read_text())
        return "; ".join(f"hivlatent {r.get('hivlatent', '?')}, {r.get('date', '?')}"
                         for r in runs)
    except (OSError, ValueError, AttributeError, TypeError):
        return "no provenance.json beside it"


def _shown(path: Path) -> Path:
    path = path.resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="nrti-1246")
    ap.add_argument("--n-jobs", type=int, default=0, help="evaluate --n-jobs (0: every core)")
    ap.add_argument("--small", action="store_true",
                    help="a small variant (2 folds, 1 repeat, a few methods) to check the script")
    ap.add_argument("--reference", type=Path, default=None,
                    help="per_fold.csv of an earlier run to compare the numbers with")
    ap.add_argument("--result", type=Path, default=ROOT / "docs" / "results" / "evaluate_speed.md")
    ap.add_argument("--threshold", type=float, default=rh.LOAD_THRESHOLD,
                    help="highest 1-minute load average at which the run may start")
    ap.add_argument("--wait", type=float, default=None,
                    help="seconds to wait for the load to fall to the threshold (default 600; "
                         "0 with --small)")
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR",
                    help="keep the timed run's folder as DIR (e.g. benchmarks/results/nrti-1246)")
    ap.add_argument("extra", nargs="*", help="more `hivlatent evaluate` options (after --)")
    args = ap.parse_args(argv)
    if args.wait is None:
        args.wait = 0.0 if args.small else 600.0
    data_dir = os.environ.get("HIVLATENT_DATA_DIR") or (
        str(ROOT.parent / "shared" / "data" / "hivdb")
        if (ROOT.parent / "shared" / "data" / "hivdb").is_dir() else None)
    extra = (SMALL if args.small else []) + list(args.extra)
    print(f"machine: {rh.cpu_model()}, {rh.cores()} cores; load {rh.load():.2f}", flush=True)
    rh.wait_idle(args.threshold, args.wait)
    reference = args.reference
    default_ref = ROOT / "benchmarks" / "results" / args.data / "per_fold.csv"
    if reference is None and default_ref.is_file() and not args.small:
        reference = default_ref
    if reference is not None:
        import pandas as pd

        reference_rows = pd.read_csv(reference)       # before --keep may replace it
        reference_note = _provenance(reference)        # likewise
    print(f"timing `hivlatent evaluate --data {args.data} {' '.join(extra)}` ...", flush=True)
    res = run(args.data, args.n_jobs, extra, data_dir, args.keep)
    loads = {"at the start of the evaluation": res["load"]}
    bad = rh.disturbed(loads, args.threshold)
    minutes = res["wall"] / 60
    if bad:
        verdict = "not judged: the run was DISTURBED (the load was above the threshold)"
    elif args.small or extra:
        verdict = "not judged: not the default evaluation"
    else:
        verdict = ("met" if minutes <= TARGET_MINUTES else "missed") + \
            f" ({minutes:.1f} min against {TARGET_MINUTES:.0f})"
    body = ["## Wall time", "",
            f"`hivlatent evaluate` took **{res['wall']:.0f} s ({minutes:.1f} min)** of wall "
            f"time on {rh.cores()} cores. Target (the default evaluation of nrti-1246 in at most "
            f"{TARGET_MINUTES:.0f} minutes): {verdict}.", "",
            "## Where the time goes (the run's timings.csv)", "",
            "CPU seconds of the tasks, summed per method (methods that share a fit are one "
            "task: the semi model's latent probe and heads). The sum over all tasks divided by "
            "the wall time is the cores' use.", "", *profile(res["timings"]), "",
            f"Cores kept busy: {res['timings']['cpu_seconds'].sum() / res['wall']:.2f} of "
            f"{rh.cores()} on average."]
    if reference is not None:
        lines, stats = against(res["per_fold"], reference_rows)
        body += ["", "## The numbers against the reference run", "",
                 f"Reference: `{_shown(reference)}` ({reference_note}). Per method, "
                 "drug and metric: the mean over the folds in the reference and now, and their "
                 "difference in units of the fold-to-fold standard deviation (the root mean "
                 "square of the two runs' sds). Where both runs drew the same folds, a method "
                 "whose training did not change gives the same numbers, and one whose search "
                 "changed can agree only within that noise.", "",
                 f"{stats['within_1sd']} of {stats['compared']} (method, drug, metric) means "
                 f"within one fold sd of the reference; the largest difference "
                 f"{stats['largest']:.2f} sd. Methods whose every per-fold number is the "
                 f"reference's: {', '.join(stats['identical']) or 'none'}.", "", *lines]
    header = rh.header(res["command"], loads, args.threshold)
    path = rh.write(args.result, "`hivlatent evaluate`: wall time and where it goes", header,
                    body)
    print("\n".join(header + [""] + body[:4]))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
