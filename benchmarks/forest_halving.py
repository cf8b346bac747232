"""Does successive halving find the random forests' grid optimum? Checked on the real folds.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/forest_halving.py [--data nrti-1246]
        [--repeats 3] [--folds 5] [--result docs/results/forest_halving.md] [--smoke]

The ``rf`` and ``rfreg`` baselines choose (max_features, min_samples_leaf) by out-of-bag loss
(Brier score, MSE). Since 0.4 they search their grid by successive halving: every grid point
grown to ``HALVING_TREES`` trees, the best ``HALVING_KEEP`` of them grown on to 300
(scikit-learn's warm start grows the same trees as a 300-tree fit), the best of those at 300.
This script grows, on every (drug, fold) of the evaluation's folds (the shared scheme,
``--repeats`` repeats), every grid point to 300 trees, as the exhaustive search did, and reads
each forest's out-of-bag loss after each schedule's first stage (the trees the halving sees) and
after all 300. It reports in how many
folds the halving chooses the exhaustive search's grid point, the relative excess out-of-bag loss
where it does not, and the trees it grows (weighted by each grid point's measured time per tree)
as a fraction of the exhaustive search's. No timing of the machine is involved: the fraction is
of the work. Writes ``--result``.
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
import result_header as rh


def oob_path(forest, X, y, classify: bool, at) -> dict[int, float]:
    """The forest's out-of-bag loss after its first ``t`` trees for each ``t`` of ``at`` and
    after all of them, by tree count (a row that no tree left out counts with the mean of ``y``,
    as the baselines count it)."""
    from sklearn.ensemble._forest import _generate_unsampled_indices, _get_n_samples_bootstrap

    n = len(y)
    n_boot = _get_n_samples_bootstrap(n, forest.max_samples, None)
    total, count = np.zeros(n), np.zeros(n)
    X32 = np.asarray(X, dtype=np.float32)
    at = {int(a) for a in np.atleast_1d(at)} | {len(forest.estimators_)}
    losses = {}
    for t, tree in enumerate(forest.estimators_, 1):
        rows = _generate_unsampled_indices(tree.random_state, n, n_boot, None)
        if classify:
            p = tree.predict_proba(X32[rows])
            p = p[:, -1] if tree.n_classes_ > 1 else np.full(len(rows), float(tree.classes_[0]))
        else:
            p = tree.predict(X32[rows])
        total[rows] += p
        count[rows] += 1
        if t in at:
            with np.errstate(invalid="ignore", divide="ignore"):
                pred = np.where(count > 0, total / np.maximum(count, 1), y.mean())
            losses[t] = float(np.mean((pred - y) ** 2))
    return losses


def keep_label(keep: float) -> str:
    return {0.5: "half", 1 / 3: "a third", 1: "the best one"}.get(keep, f"{keep:g}")


def schedule(losses: list[dict[int, float]], first: int, keep: float) -> list[int]:
    """The grid points (indices) a halving at ``first`` trees keeping the best ``keep`` (a
    share rounded up, or a count: :func:`kept_count`) grows on to the end."""
    from hivlatent.evaluation.tuning import kept_count

    n = kept_count(len(losses), keep)
    return sorted(np.argsort([loss[first] for loss in losses], kind="stable")[:n])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["nrti-1246"])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--result", type=Path, default=ROOT / "docs" / "results" / "forest_halving.md")
    ap.add_argument("--smoke", action="store_true", help="2 folds, 1 repeat, ABC only, 30 trees")
    args = ap.parse_args(argv)
    if "HIVLATENT_DATA_DIR" not in os.environ and (ROOT.parent / "shared/data/hivdb").is_dir():
        os.environ["HIVLATENT_DATA_DIR"] = str(ROOT.parent / "shared/data/hivdb")
    warnings.filterwarnings("ignore", message=".*OOB.*")
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from threadpoolctl import threadpool_limits

    from hivlatent import load_dataset
    from hivlatent.evaluation.cv import repeated_folds
    from hivlatent.evaluation.tuning import (
        HALVING_KEEP,
        HALVING_TREES,
        OOBForestClassifier,
        OOBForestRegressor,
    )

    trees = 30 if args.smoke else OOBForestClassifier().n_estimators
    # (first stage's trees, share kept): the configured schedule first, then the alternatives
    schedules = [(10, 0.5), (10, 1), (5, 0.5)] if args.smoke else \
        list(dict.fromkeys([(HALVING_TREES, HALVING_KEEP), (100, 1 / 3), (50, 1 / 3), (100, 1),
                            (50, 1), (25, 1 / 3), (25, 1)]))
    folds_n, repeats = (2, 1) if args.smoke else (args.folds, args.repeats)
    kinds = {"rf": (RandomForestClassifier, OOBForestClassifier().grid, True),
             "rfreg": (RandomForestRegressor, OOBForestRegressor().grid, False)}
    stats = {(k, s): {"folds": 0, "same": 0, "regret": [], "work": [0.0, 0.0]}
             for k in kinds for s in schedules}
    before = rh.load()
    for name in args.data:
        ds = load_dataset(name)
        folds = repeated_folds(ds, folds_n, repeats, args.seed, groups=False)
        if args.smoke:
            folds = [f for f in folds if f.drug == ds.drugs[0]]
        for f in folds:
            j = f.drug_index
            for kind, (cls, grid, classify) in kinds.items():
                y = ds.labels[:, j] if classify else ds.log_fold[:, j]
                rows = f.train[np.isfinite(y[f.train])]
                X, yy = ds.X[rows], y[rows].astype(int) if classify else y[rows]
                losses, seconds = [], []
                for mf, msl in grid:
                    t0 = time.process_time()
                    with threadpool_limits(1):
                        m = cls(trees, max_features=mf, min_samples_leaf=msl, oob_score=True,
                                random_state=args.seed, n_jobs=1).fit(X, yy)
                    seconds.append(time.process_time() - t0)
                    losses.append(oob_path(m, X, yy.astype(float), classify,
                                           [first for first, _ in schedules]))
                full = [loss[trees] for loss in losses]
                best = int(np.argmin(full))
                per_tree = np.array(seconds) / trees
                picks = []
                for first, keep in schedules:
                    kept = schedule(losses, first, keep)
                    pick = kept[int(np.argmin([full[i] for i in kept]))]
                    s = stats[kind, (first, keep)]
                    s["folds"] += 1
                    s["same"] += pick == best
                    s["regret"].append((full[pick] - full[best]) / full[best])
                    s["work"][0] += per_tree.sum() * trees
                    s["work"][1] += per_tree.sum() * first + per_tree[kept].sum() * (trees - first)
                    picks.append(grid[pick])
                print(f"{name} {f.drug} fold {f.fold} {kind}: exhaustive {grid[best]}, "
                      f"schedules {picks}", flush=True)
    after = rh.load()
    body = [("| baseline | first stage (trees) | grid points kept | folds | same grid point as "
             "the exhaustive search | largest excess out-of-bag loss where not | work (tree-time) "
             "against the exhaustive search |"),
            "|---|---:|---|---:|---:|---:|---:|"]
    for (kind, (first, keep)), s in stats.items():
        used = " (in use when this ran)" if (first, keep) == (HALVING_TREES, HALVING_KEEP) else ""
        body.append(f"| {kind} | {first}{used} | {keep_label(keep)} | "
                    + rh.agreement_cells(s))
    body += ["", (f"Data: {', '.join(args.data)}; {folds_n} folds x {repeats} repeat(s), fold "
             f"seeds from {args.seed} (the evaluation's shared folds); every grid point grown "
             f"to {trees} trees, its out-of-bag loss read after each schedule's first stage. "
             "Kept shares are rounded up (a third of 4 grid points keeps 2, of 6 keeps 2); "
             "\"the best one\" grows only the first stage's best point to the end. "
             "\"(in use when this ran)\" marks the schedule the baselines used "
             "(`hivlatent.evaluation.tuning.HALVING_TREES` and `HALVING_KEEP`).")]
    rh.publish_check("forest_halving.py", argv, "Successive halving of the forests' grids against the "
                     "exhaustive search", body, (before, after), args.result,
                     args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
