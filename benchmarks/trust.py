"""The trust targets (issue 11), per drug class, on repeated cross-validation.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/trust.py [--data nrti-1246 nrti nnrti pi pi-full]
        [--folds 5] [--repeats 3] [--out runs/trust] [--n-jobs 0] [--scheduler tcp://host:8786]
        [--reuse] [--smoke]
    python benchmarks/trust.py --data nnrti --first-repeat 1 --repeats 2 --out runs/trust

For every data set it runs ``hivlatent.evaluation.run_evaluation`` with the default methods of
``hivlatent evaluate`` (every tuned baseline, PCA and VAE probes, the semi-supervised model, and
HIVdb when the ``hivdb`` extra is installed; ``pi-full`` grouped by patient), or with ``--reuse``
reads a finished run folder's ``per_fold.csv``. It prints, per drug, the model against the
strongest comparison (paired differences over the same folds, mean ± sd, folds ahead) and a
line per target saying met or missed by how much:

- balanced accuracy >= the best tuned baseline's and HIVdb's (better of level >= 3 and >= 4);
- R² of log10 fold >= the best tuned regressor's;
- the semi latent's linear-probe AUC >= the tuned L2 logistic regression's - 0.005;
- P(resistant) and the S/I/R call never disagree;
- the 90% interval covers 85-95% of held-out fold changes.

It writes each evaluation into a subfolder of ``--out`` (with ``provenance.json``: the version,
date, command and methods that made its per-fold rows) and the tables, under the run's header
(command, date, machine, load, version), into ``OUT/trust.md``; with ``--out
benchmarks/results``, the published per-fold rows, into ``docs/results/trust.md`` instead,
always with every data set found there (``--results FILE`` chooses another file). So

    python benchmarks/trust.py --reuse --out benchmarks/results

rebuilds the published tables from the per-fold rows without training. ``--smoke`` is the
seconds-long version for the test suite (2 folds, 1 repeat, a few methods).

Each evaluation runs its tasks on every core (``--n-jobs``, default 0: one process per core) or
on a Dask cluster (``--scheduler tcp://host:8786``, the ``distributed`` extra: see
docs/scaling.md), with the same numbers either way; that replaces the splitting by hand below
for anyone with a cluster. Since 0.4 the folds are shared by every drug; ``--fold-scheme
per-drug`` draws the folds of the runs before 0.4 (to add repeats to them with
``--first-repeat``, or to merge with them).

``--first-repeat R`` adds repeats to an earlier run: it evaluates repeats R .. R + repeats - 1
only (fold seeds ``seed + R`` ...; folds numbered from ``R * folds``) into
``OUT/<data>/repeats-R-<last>/`` and, when ``OUT/<data>/per_fold.csv`` holds exactly the repeats
0 .. R - 1 of the same methods, appends the new folds to it and reports the whole. Each fold's
numbers depend only on its split and the seed, so the result is what one run of
``--repeats R + repeats`` gives, in less time.

``--merge DIR [DIR ...]`` joins runs that evaluated different methods on the same folds (for
example the baselines in one process and ``semi10`` in another, on two cores) into
``OUT/<data>/per_fold.csv`` and reports the whole, as ``--reuse`` does. Every run must hold the
same folds, and a method in more than one run (HIVdb is added to each) must have identical rows
in each: a check that the runs split the data alike.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import pandas as pd

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "hivdb"
GROUPED = {"pi-full": "PtID"}
ALL_DATA = ["nrti-1246", "nrti", "nnrti", "pi", "pi-full", "insti"]
ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "benchmarks" / "results"      # the per-fold rows behind the published tables
RESULTS = ROOT / "docs" / "results" / "trust.md"
TARGETS = [("met_ba", "BA >= best baseline and HIVdb"), ("met_r2", "R² >= best regressor"),
           ("met_probe", "probe AUC >= lr AUC - 0.005"), ("met_coherent", "P and call agree"),
           ("met_coverage", "90% interval covers 85-95%")]


def _methods(smoke: bool, chosen: str | None = None) -> list[str]:
    from hivlatent.cli.evaluate_cmd import DEFAULT_METHODS
    from hivlatent.hivdb import available

    names = chosen or ("lr,ridge,semi4" if smoke else DEFAULT_METHODS)
    out = [n for n in names.split(",") if n]
    return out + (["hivdb"] if available() and "hivdb" not in out else [])


def _absent(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _unchecked(row: dict, key: str) -> bool:
    """Whether ``row`` lacks the comparison that target ``key`` needs (a run of the model
    alone): such a target is counted as missed, and says why."""
    if key == "met_ba":
        return _absent(row.get("best_ba_method")) and _absent(row.get("hivdb_diff"))
    if key == "met_r2":
        return _absent(row.get("best_r2_method"))
    if key == "met_probe":
        return _absent(row.get("probe_diff"))
    return False


def missed_targets(table: pd.DataFrame) -> list[str]:
    """One line per target a summary row misses or could not check, as the run prints them."""
    lines = []
    for r in table.to_dict("records"):
        for key, what in TARGETS:
            if r.get(key):
                continue
            if _unchecked(r, key):
                how = "not checked: no comparison method in these rows (merge a baseline run)"
            elif key == "met_ba":
                parts = []
                if r.get("ba_diff", 0) < 0:
                    parts.append(f"{r['ba_diff']:+.3f} to {r['best_ba_method']}")
                if r.get("hivdb_diff", 0) < 0:
                    parts.append(f"{r['hivdb_diff']:+.3f} to hivdb")
                if _absent(r.get("best_ba_method")):
                    parts.append("no tuned baseline in these rows to compare with")
                how = ", ".join(parts)
            elif key == "met_r2":
                how = f"{r.get('r2_diff', math.nan):+.3f} to {r.get('best_r2_method')}"
            elif key == "met_probe":
                how = f"probe - lr {r.get('probe_diff', math.nan):+.4f}"
            elif key == "met_coherent":
                how = f"{r['incoherent']:.3%} of held-out viruses"
            else:
                how = f"coverage {r['coverage90']:.3f}"
            lines.append(f"- MISSED {r['drug']}: {what}: {how}")
    return lines


def _earlier_folds_fit(earlier: Path, first: int, folds: int, say: bool = True) -> bool:
    """Whether ``earlier`` (a per_fold.csv) exists; exits with one line when it holds other
    folds than the repeats 0 .. first - 1 (checked before any work)."""
    if not earlier.is_file():
        if say:
            print(f"{earlier}: no earlier run; reporting repeats {first}.. alone",
                  file=sys.stderr)
        return False
    have = sorted(pd.read_csv(earlier, usecols=["fold"])["fold"].unique())
    if have != list(range(first * folds)):
        raise SystemExit(f"{earlier}: holds folds {have}, expected the {first} repeat(s) before "
                         f"repeat {first} (folds 0-{first * folds - 1})")
    return True


def add_repeats(earlier: Path, new: pd.DataFrame, first: int, folds: int
                ) -> tuple[pd.DataFrame, int]:
    """The earlier run's per-fold rows (repeats 0 .. first - 1, the same methods) with the new
    repeats' appended, written back to ``earlier``; or the new rows alone when there is no such
    earlier run (a line on stderr says why)."""
    if not _earlier_folds_fit(earlier, first, folds):
        return new, new["fold"].nunique() // folds
    old = pd.read_csv(earlier)
    if set(old["method"]) != set(new["method"]):
        raise SystemExit(f"{earlier}: methods {sorted(set(old['method']))} differ from this "
                         f"run's {sorted(set(new['method']))}")
    both = pd.concat([old, new[old.columns]], ignore_index=True)
    both.to_csv(earlier, index=False)
    return both, both["fold"].nunique() // folds


def merge_per_fold(sources: list[Path], target: Path) -> pd.DataFrame:
    """The per-fold rows of ``sources`` (per_fold.csv files of runs of different methods on the
    same folds) as one table, written to ``target``. Exits with one line naming the file when a
    source is missing, holds other folds than the first, or gives a shared method other rows."""
    runs = []
    for src in sources:
        if not src.is_file():
            raise SystemExit(f"{src}: no such per-fold table to merge")
        runs.append((src, pd.read_csv(src)))
    key = ["method", "drug", "metric", "fold"]
    first_src, first = runs[0]
    merged = first
    for src, rows in runs[1:]:
        if set(rows["fold"]) != set(first["fold"]):
            raise SystemExit(f"{src}: holds folds {sorted(set(rows['fold']))}, but {first_src} "
                             f"holds {sorted(set(first['fold']))}; merge runs of the same folds")
        if set(rows.columns) != set(first.columns):
            raise SystemExit(f"{src}: columns {sorted(rows.columns)}, but {first_src} has "
                             f"{sorted(first.columns)}; merge per-fold tables of trust.py runs")
        rows = rows[merged.columns]
        shared = set(rows["method"]) & set(merged["method"])
        for method in sorted(shared):
            a, b = (x[x["method"] == method].sort_values(key).reset_index(drop=True)
                    for x in (merged, rows))
            same = a[key].equals(b[key]) and ((a["value"] - b["value"]).abs().fillna(0) == 0).all()
            if not same or a["value"].isna().ne(b["value"].isna()).any():
                raise SystemExit(f"{src}: method {method} has other rows than in an earlier run; "
                                 f"the runs did not split the data alike")
        merged = pd.concat([merged, rows[~rows["method"].isin(shared)]], ignore_index=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    merged.to_csv(target, index=False)
    return merged


def _provenance(folder: Path) -> list[dict]:
    """What made the per-fold rows in ``folder`` (one entry per run: version, date, command,
    methods), as this script recorded it; [] when not recorded."""
    path = folder / "provenance.json"
    return json.loads(path.read_text()) if path.is_file() else []


def _record(folder: Path, entries: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "provenance.json").write_text(json.dumps(entries, indent=1) + "\n")


def _made_by(entries: list[dict]) -> str:
    if not entries:
        return "rows made by: not recorded (rows older than the provenance file)"
    return "rows made by: " + "; ".join(
        f"hivlatent {e['hivlatent']} on {e['date']} ({', '.join(e['methods'])})" for e in entries)


def _run_time(entries: list[dict]) -> str:
    """The wall time of the one run that made the rows, as its provenance recorded it (the
    same text whether the rows were made now or are reused); '' when not recorded."""
    if len(entries) != 1 or entries[0].get("seconds") is None:
        return ""
    e = entries[0]
    load = e.get("load_before")
    return (f"; run time {e['seconds']} s on {e.get('cores', '?')} cores"
            + (f" (1-minute load {load:.2f} at its start)" if load is not None else ""))


def command_of(name: str, per_fold: pd.DataFrame, folds: int, reps: int, out: Path,
               scheme: str = "shared") -> str:
    """The command that gives ``per_fold``'s repeats: ``hivlatent evaluate`` when they start at
    the first repeat, else this script with ``--first-repeat`` (added repeats with no earlier
    run to join)."""
    first = int(per_fold["fold"].min()) // folds
    how = "" if scheme == "shared" else f" --fold-scheme {scheme}"
    if first:
        return (f"python benchmarks/trust.py --data {name} --folds {folds} --first-repeat "
                f"{first} --repeats {reps}{how} --out {out}")
    group = f" --group-by {GROUPED[name]}" if name in GROUPED else ""
    return (f"hivlatent evaluate --data {name}{group} --folds {folds} --repeats {reps}{how} "
            f"--out {out / name}")


def _progress_log(name: str, t0: float):
    def log(done: int, total: int, description: str) -> None:
        print(f"[{name}] {done}/{total} {description} ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    return log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["nrti-1246", "nrti", "nnrti", "pi", "pi-full",
                                                  "insti"])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first-repeat", type=int, default=0,
                    help="evaluate repeats FIRST_REPEAT.. only and add them to "
                         "OUT/<data>/per_fold.csv")
    ap.add_argument("--out", type=Path, default=Path("runs/trust"))
    ap.add_argument("--n-jobs", type=int, default=0,
                    help="processes on this machine (0: one per core); the numbers do not "
                         "depend on it")
    ap.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="run every evaluation's tasks on a Dask cluster (tcp://host:8786; the "
                         "distributed extra), with the numbers of a local run: instead of "
                         "splitting repeats or methods by hand (--first-repeat, --merge)")
    ap.add_argument("--fold-scheme", choices=("shared", "per-drug"), default="shared",
                    help="shared: one fold assignment for every drug (0.4); per-drug: each drug "
                         "split on its own label (the folds of runs before 0.4, to add repeats "
                         "to them)")
    ap.add_argument("--reuse", action="store_true",
                    help="read OUT/<data>/per_fold.csv where it exists instead of rerunning")
    ap.add_argument("--merge", nargs="+", type=Path, default=None, metavar="DIR",
                    help="join DIR/<data>/per_fold.csv of runs of different methods on the same "
                         "folds into OUT/<data>/per_fold.csv and report it")
    ap.add_argument("--smoke", action="store_true", help="seconds-long check of the script")
    ap.add_argument("--methods", default=None,
                    help="comma-separated methods instead of evaluate's defaults (hivdb is added "
                         "when the extra is installed)")
    ap.add_argument("--results", type=Path, default=None, metavar="FILE",
                    help="where to write the tables (default: docs/results/trust.md when --out "
                         "is benchmarks/results, the published rows; else OUT/trust.md)")
    ap.add_argument("--progress", action="store_true",
                    help="one line per finished step on stderr (data set, step, elapsed seconds)")
    args = ap.parse_args(argv)
    if "HIVLATENT_DATA_DIR" not in os.environ and DEFAULT_DATA_DIR.is_dir():
        os.environ["HIVLATENT_DATA_DIR"] = str(DEFAULT_DATA_DIR)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results_file import ResultsFile, command_line, load1

    published = args.out.resolve() == PUBLISHED and not args.smoke
    names = list(args.data)
    if published:       # the published file holds every data set with rows there, never a part
        names = [d for d in ALL_DATA if d in names or (PUBLISHED / d / "per_fold.csv").is_file()] \
            + [d for d in names if d not in ALL_DATA]
    reused_only = args.reuse and not args.merge
    results = ResultsFile("trust", "Trust targets per drug class (repeated cross-validation)",
                          argv, args.results or (RESULTS if published else args.out / "trust.md"),
                          timed=not reused_only)

    from hivlatent import __version__, load_dataset
    from hivlatent.evaluation.compare import compare, comparison_markdown
    from hivlatent.evaluation.run import run_evaluation

    methods = _methods(args.smoke, args.methods)
    folds, repeats = (2, 1) if args.smoke else (args.folds, args.repeats)
    report = [f"{folds}-fold CV, seed {args.seed}; the repeats and methods of each data set, and "
              "what made its rows, are under its heading. Differences are the model minus the "
              "comparison over the same folds (mean ± sd over folds; folds where the model is "
              "ahead); `*` HIVdb is not independent of these data (its rules were partly derived "
              "from them).", "", "Targets per drug: " + "; ".join(w for _, w in TARGETS) + ".", ""]
    missed_total = met_total = all_total = 0
    for name in names:
        out = args.out / name
        t0 = time.perf_counter()
        if name not in args.data:
            per_fold = pd.read_csv(out / "per_fold.csv")
            seconds, how = math.nan, "reused"
            reps = max(1, per_fold["fold"].nunique() // folds)
        elif args.merge:
            per_fold = merge_per_fold([d / name / "per_fold.csv" for d in args.merge],
                              out / "per_fold.csv")
            _record(out, [e for d in args.merge for e in _provenance(d / name)])
            seconds, how = math.nan, "merged from " + ", ".join(map(str, args.merge))
            reps = max(1, per_fold["fold"].nunique() // folds)
        elif args.reuse and (out / "per_fold.csv").is_file():
            per_fold = pd.read_csv(out / "per_fold.csv")
            seconds, how = math.nan, "reused"
            reps = max(1, per_fold["fold"].nunique() // folds)   # as that run was made
        else:
            load_before = load1()
            ds = load_dataset(name)
            log = _progress_log(name, t0) if args.progress else None
            first = args.first_repeat
            if first:
                _earlier_folds_fit(out / "per_fold.csv", first, folds, say=False)  # before work
            where = out / f"repeats-{first}-{first + repeats - 1}" if first else out
            res = run_evaluation(ds, where, methods, folds=folds, repeats=repeats, seed=args.seed,
                                 group_by=GROUPED.get(name), epochs=5 if args.smoke else None,
                                 members=2 if args.smoke else None, n_jobs=args.n_jobs,
                                 latent_figures=not args.smoke, progress=log, first_repeat=first,
                                 scheduler=args.scheduler, scheme=args.fold_scheme)
            per_fold, seconds, how = res.per_fold, time.perf_counter() - t0, "run"
            reps = repeats
            made = {"hivlatent": __version__, "date": time.strftime("%Y-%m-%d"),
                    "command": command_line("trust", argv),
                    "methods": sorted(per_fold["method"].unique()),
                    "seconds": round(seconds), "cores": os.cpu_count(),
                    "load_before": round(load_before, 2)}
            if first:
                earlier = _provenance(out) if (out / "per_fold.csv").is_file() else []
                per_fold, reps = add_repeats(out / "per_fold.csv", per_fold, first, folds)
                _record(out, earlier + [made])
            else:
                _record(out, [made])
        command = command_of(name, per_fold, folds, reps, args.out)
        made_by = _made_by(_provenance(out))
        # without a semi method there is no model to compare: the per-fold rows are still
        # written (a baseline run, to be merged with a semiK run's rows by --merge)
        latent = next((m.removesuffix("-heads") for m in per_fold["method"].unique()
                       if m.startswith("semi") and m.endswith("-heads")), None)
        if latent is None:
            block = [f"## {name}", f"command: `{command}`", "", made_by, "",
                     f"no semi method among {', '.join(sorted(per_fold['method'].unique()))}: "
                     f"no targets to check; the "
                     f"per-fold rows are in {out / 'per_fold.csv'}", ""]
            print("\n".join(block), flush=True)
            report += block
            continue
        table = compare(per_fold, f"{latent}-heads", f"{latent}-latent")
        misses = missed_targets(table)
        missed_total += len(misses)
        met = sum(bool(v) for k, _ in TARGETS for v in table[k])
        met_total, all_total = met_total + met, all_total + len(TARGETS) * len(table)
        block = [f"## {name}", "", f"command: `{command}`" + (
                     _run_time(_provenance(out)) or f" ({how})"), "",
                 f"methods: {', '.join(sorted(per_fold['method'].unique()))}", "", made_by,
                 "", comparison_markdown(table), "",
                 f"targets met: {met} of {len(TARGETS) * len(table)}", "", *misses, ""]
        print("\n".join(block), flush=True)
        report += block
    report += [f"In all: {met_total} of {all_total} targets met, {missed_total} missed.", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    path = results.write("\n".join(report))
    print(f"{missed_total} target(s) missed; tables in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
