"""The semi model's balanced accuracy at its call and at a threshold tuned
for balanced accuracy inside the training rows, as the classifier baselines tune theirs.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/operating_point.py --data pi [nrti nnrti]
        [--drugs DRV,TPV] [--folds 5] [--seed 0] [--smoke]

The model's call is I or R exactly when P(resistant) > 0.5, which maximises accuracy for a
calibrated P. The classifier baselines (``lr``, ``rf``, ...) instead pick the threshold with the
best balanced accuracy on their out-of-fold training predictions, which favours the minority
class. This script measures, on the same folds as ``trust.py`` (the evaluation's folds, seed 0, the
model fitted on each fold's ``fit_rows``), the model's balanced accuracy at its call and at the
threshold on its predicted log10 fold change that maximises balanced accuracy on its own
out-of-fold predictions inside the training rows (never the test rows), with the AUC
(threshold-free) beside. It changes no answer of the model; it says how much of a
balanced-accuracy gap is the operating point.

The model's call is the one it makes: for each drug the fit (inside the training rows) chose
between P(resistant) = Phi(z) as given and P recalibrated by Platt scaling on the training rows'
out-of-fold predictions (:mod:`hivlatent.predictive.calibration`), by their cross-fitted balanced
accuracy there. The script shows the call as given (P = Phi(z) > 0.5, i.e. the predicted fold at
the cutoff), the model's call (P > 0.5, recalibrated in the folds shown), and the Brier scores
of both P. One table per data set, printed and written under the run's header into
docs/results/operating_point.md (``--results FILE`` elsewhere; a ``--smoke`` run writes none
unless given one).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
from results_file import add_results_option, results_for

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "hivdb"
GROUPED = {"pi-full": "PtID"}


def tuned_threshold(mu: np.ndarray, resistant: np.ndarray) -> float:
    """The threshold on ``mu`` with the best balanced accuracy (ties: the one nearest the middle
    of the candidates)."""
    from sklearn.metrics import balanced_accuracy_score

    cands = np.unique(np.round(mu, 3))
    scores = np.array([balanced_accuracy_score(resistant, mu >= t) for t in cands])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(cands[best[len(best) // 2]])


def measure(name: str, args) -> list[str]:
    """The table of one data set (Markdown lines)."""
    from dataclasses import replace

    from sklearn.metrics import balanced_accuracy_score, brier_score_loss, roc_auc_score

    from hivlatent import load_dataset
    from hivlatent.config import ModelConfig, default_train_config
    from hivlatent.evaluation.cv import distinct_fit_sets, make_folds
    from hivlatent.evaluation.vae_methods import SemiSupervisedPredictor
    from hivlatent.predictive.calibration import p_resistant

    ds = load_dataset(name)
    drugs = args.drugs.split(",") if args.drugs else list(ds.drugs)
    folds = make_folds(ds, 2 if args.smoke else args.folds, args.seed, GROUPED.get(name), drugs)
    model = ModelConfig(latent=10, supervised=True)
    train = default_train_config(model)
    if args.smoke:
        train = replace(train, epochs=5, patience=0)
    sets, which = distinct_fit_sets(folds)
    fitted = SemiSupervisedPredictor(model, train, 2 if args.smoke else None).fit_many(
        [ds.subset(rows) for rows in sets])
    per: dict[str, list[dict]] = {}
    for f, w in zip(folds, which):
        m = fitted[w].fitted
        j = list(m.drugs).index(f.drug)
        cut = math.log10(ds.cutoffs.for_drug(f.drug)[0])
        mu_in, y_in = m.output.out_of_fold[f.drug]
        t = tuned_threshold(mu_in, y_in >= cut)
        test = ds.subset(f.test)
        dist = m.predict_distribution(test)
        mu, sd = dist.mean[:, j], dist.sd[:, j]
        y = np.asarray(test.log_fold)[:, j]
        ok = np.isfinite(y)
        truth = y[ok] >= cut
        lower = ds.cutoffs.for_drug(f.drug)[0]
        p_plain = p_resistant(mu[ok], sd[ok], lower)
        p_model = dist.p_resistant[:, j]   # recalibrated where the fit chose so
        per.setdefault(f.drug, []).append(dict(
            at_cutoff=balanced_accuracy_score(truth, p_plain > 0.5),
            model=balanced_accuracy_score(truth, p_model[ok] > 0.5),
            tuned=balanced_accuracy_score(truth, mu[ok] >= t),
            brier=brier_score_loss(truth, p_plain), brier_model=brier_score_loss(truth, p_model[ok]),
            n_recal=int(m.recalibration(f.drug) is not None),
            auc=roc_auc_score(truth, mu[ok]) if 0 < truth.sum() < truth.size else math.nan,
            shift=t - cut, prevalence=float(np.mean(y_in >= cut))))
    lines = [f"## {name}: {len(folds) // len(drugs)}-fold CV, seed {args.seed}", "",
             "| drug | resistant in training | BA, call as given (P = Phi(z) > 0.5) "
             "| BA, the model's call (folds recalibrated) | BA at a BA-tuned threshold "
             "| tuned threshold − cutoff (log10) | AUC | Brier of Phi(z) | Brier of the model's P |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for drug in drugs:
        rows = per.get(drug, [])
        if not rows:
            continue
        ms = lambda k: (np.nanmean([r[k] for r in rows]), np.nanstd([r[k] for r in rows]))  # noqa: E731
        lines.append(
            f"| {drug} | {ms('prevalence')[0]:.0%} | {ms('at_cutoff')[0]:.3f} ± "
            f"{ms('at_cutoff')[1]:.3f} | {ms('model')[0]:.3f} ± {ms('model')[1]:.3f} "
            f"({sum(r['n_recal'] for r in rows)}/{len(rows)}) | {ms('tuned')[0]:.3f} ± "
            f"{ms('tuned')[1]:.3f} | {ms('shift')[0]:+.2f} | {ms('auc')[0]:.3f} | "
            f"{ms('brier')[0]:.4f} | {ms('brier_model')[0]:.4f} |")
    return lines + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", nargs="+", default=["pi"], help="one or more data sets")
    ap.add_argument("--drugs", default=None, help="comma-separated (default: every drug)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="2 folds, 5 epochs, 2 members")
    add_results_option(ap, "operating_point", default_on=False)
    args = ap.parse_args(argv)
    if "HIVLATENT_DATA_DIR" not in os.environ and DEFAULT_DATA_DIR.is_dir():
        os.environ["HIVLATENT_DATA_DIR"] = str(DEFAULT_DATA_DIR)
    results = results_for(args, "operating_point", "Operating point of the semi model: "
                          "balanced accuracy at its call and at a tuned threshold", argv,
                          smoke=args.smoke)
    lines = []
    for name in args.data:
        block = measure(name, args)
        print("\n".join(block), flush=True)
        lines += block
    if results:
        results.write("\n".join(lines))
    return 0

if __name__ == "__main__":
    sys.exit(main())
