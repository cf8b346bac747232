"""Does racing the inner cross-validation find the grid optimum? Checked on the real folds.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/grid_racing.py [--data nrti-1246]
        [--repeats 1] [--folds 5] [--kinds hgb hgbreg enet] [--result docs/results/grid_racing.md]
        [--smoke]

The tuned baselines choose a grid point by the loss of its out-of-fold predictions over an inner
k-fold (log loss for classifiers, MSE for regressors). A race runs every grid point on the first
inner fold, keeps the share with the least loss on that fold's rows (:func:`hivlatent.evaluation.
tuning.raced`) and runs only those on the other inner folds. This script runs, on every (drug,
fold) of the evaluation's folds, every grid point on every inner fold, as the exhaustive search
does, and reports in how many folds the race chooses the exhaustive search's grid point, the
relative excess inner-CV loss where it does not, and the fits' CPU time of the race (plus the
refit on all training rows, which both do) against the exhaustive search's. No timing of the
machine is involved: the fraction is of the work. Writes ``--result``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import result_header as rh  # noqa: E402


def inner_runs(est, X, y, classify: bool):
    """Per grid point and inner fold: the fold's rows, the out-of-fold predictions and the
    fit's CPU seconds; and the CPU seconds of the refit on every row (of the first grid point:
    a stand-in, the refit is the same in both searches)."""
    splits = est.inner_splits(X, y)
    grid = list(est.grid)
    oof = np.zeros((len(grid), len(y)))
    seconds = np.zeros((len(grid), len(splits)))
    for k, (tr, va) in enumerate(splits):
        for i, params in enumerate(grid):
            t0 = time.process_time()
            m = est.make(**params).fit(X[tr], y[tr])
            seconds[i, k] = time.process_time() - t0
            oof[i, va] = m.predict_proba(X[va])[:, 1] if classify else m.predict(X[va])
    t0 = time.process_time()
    est.make(**grid[0]).fit(X, y)
    return splits, oof, seconds, time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["nrti-1246"])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", nargs="+", default=["hgb", "hgbreg", "enet"])
    ap.add_argument("--keep", nargs="+", type=float, default=[0.5])
    ap.add_argument("--result", type=Path, default=ROOT / "docs" / "results" / "grid_racing.md")
    ap.add_argument("--smoke", action="store_true", help="2 folds, 1 repeat, ABC only")
    args = ap.parse_args(argv)
    if "HIVLATENT_DATA_DIR" not in os.environ and (ROOT.parent / "shared/data/hivdb").is_dir():
        os.environ["HIVLATENT_DATA_DIR"] = str(ROOT.parent / "shared/data/hivdb")
    warnings.filterwarnings("ignore")
    from threadpoolctl import threadpool_limits

    from hivlatent import load_dataset
    from hivlatent.evaluation.baselines import REGRESSORS, estimator
    from hivlatent.evaluation.cv import repeated_folds
    from hivlatent.evaluation.tuning import raced

    folds_n, repeats = (2, 1) if args.smoke else (args.folds, args.repeats)
    stats = {(k, keep): {"folds": 0, "same": 0, "regret": [], "work": [0.0, 0.0]}
             for k in args.kinds for keep in args.keep}
    before = rh.load()
    for name in args.data:
        ds = load_dataset(name)
        folds = repeated_folds(ds, folds_n, repeats, args.seed, groups=False)
        if args.smoke:
            folds = [f for f in folds if f.drug == ds.drugs[0]]
        for f in folds:
            j = f.drug_index
            for kind in args.kinds:
                classify = kind not in REGRESSORS
                y = ds.labels[:, j] if classify else ds.log_fold[:, j]
                rows = f.train[np.isfinite(y[f.train])]
                X, yy = ds.X[rows], y[rows].astype(int) if classify else y[rows]
                est = estimator(kind, seed=0)
                with threadpool_limits(1):
                    splits, oof, seconds, refit = inner_runs(est, X, yy, classify)

                def loss(p, rows_=slice(None)):
                    t = yy[rows_]
                    if classify:
                        p = np.clip(p, 1e-6, 1 - 1e-6)
                        return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))
                    return float(np.mean((p - t) ** 2))

                full = [loss(o) for o in oof]
                best = int(np.argmin(full))
                va0 = splits[0][1]
                picks = []
                for keep in args.keep:
                    kept = raced([loss(o[va0], va0) for o in oof], keep) \
                        if len(full) > 2 else list(range(len(full)))
                    pick = kept[int(np.argmin([full[i] for i in kept]))]
                    s = stats[kind, keep]
                    s["folds"] += 1
                    s["same"] += pick == best
                    s["regret"].append((full[pick] - full[best]) / full[best])
                    s["work"][0] += seconds.sum() + refit
                    s["work"][1] += seconds[:, 0].sum() + seconds[kept, 1:].sum() + refit
                    picks.append(est.grid[pick])
                print(f"{name} {f.drug} fold {f.fold} {kind}: exhaustive {est.grid[best]}, "
                      f"raced {picks}", flush=True)
    after = rh.load()
    body = [("| baseline | grid points | kept after the first inner fold | folds | same grid "
             "point as the exhaustive search | largest excess inner-CV loss where not | work "
             "(fit CPU time, with the refit) against the exhaustive search |"),
            "|---|---:|---|---:|---:|---:|---:|"]
    for (kind, keep), s in stats.items():
        body.append(f"| {kind} | {len(estimator(kind).grid)} | {keep:.0%} (at least 2) | "
                    + rh.agreement_cells(s))
    body += ["", (f"Data: {', '.join(args.data)}; {folds_n} folds x {repeats} repeat(s), fold "
                  f"seeds from {args.seed} (the evaluation's shared folds); every grid point "
                  "run on every inner fold, the race simulated on the same fits.")]
    rh.publish_check("grid_racing.py", argv, "Racing the tuned baselines' inner cross-validation "
                     "against the exhaustive search", body, (before, after), args.result,
                     args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
