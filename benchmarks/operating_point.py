"""The semi model's balanced accuracy at its call (the drug's cutoff) and at a threshold tuned
for balanced accuracy inside the training rows, as the classifier baselines tune theirs.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/operating_point.py --data pi [--drugs DRV,TPV]
        [--folds 5] [--seed 0] [--smoke]

The model's call is S below the lower cutoff: P(resistant) > 0.5 exactly when the call is I or R,
which maximises accuracy for a calibrated P. The classifier baselines (``lr``, ``rf``, ...)
instead pick the threshold with the best balanced accuracy on their out-of-fold training
predictions, which favours the minority class. This script measures, on the same folds as
``trust.py`` (per-drug stratified, seed 0, the model fitted on each fold's ``fit_rows``), the
model's balanced accuracy at its cutoff and at the threshold on its predicted log10 fold change
that maximises balanced accuracy on its own out-of-fold predictions inside the training rows
(never the test rows), with the AUC (threshold-free) beside. It changes no answer of the model;
it says how much of a balanced-accuracy gap is the operating point.

A third column asks whether P(resistant) itself is off: P recalibrated per drug by a logistic
regression of "resistant" on the predicted log10 fold change (Platt scaling), fitted on the same
out-of-fold training predictions, with the call P > 0.5 (so still coherent); the Brier scores of
P as the model gives it and recalibrated are beside. The last column is the balanced accuracy of
a per-drug choice between the two calls, made on the training rows only: the recalibrated call
when its balanced accuracy there, cross-fitted (Platt fitted on four fifths of the out-of-fold
rows, scored on the fifth), beats the call as given.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

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


def platt(mu: np.ndarray, resistant: np.ndarray):
    """P(resistant | mu) as a logistic regression on ``mu`` (unpenalised; a constant when the
    rows hold one class only)."""
    from sklearn.linear_model import LogisticRegression

    if resistant.all() or not resistant.any():
        return lambda m: np.full(len(m), float(resistant.mean()))
    fit = LogisticRegression(C=1e6).fit(mu[:, None], resistant)
    return lambda m: fit.predict_proba(np.asarray(m)[:, None])[:, 1]


def platt_wins_inside(mu: np.ndarray, resistant: np.ndarray, seed: int = 0) -> bool:
    """Whether the recalibrated call (P > 0.5 under :func:`platt`) has a higher balanced
    accuracy than ``mu >= 0`` (the call as given; ``mu`` relative to the cutoff) on these rows,
    the recalibration cross-fitted over 5 stratified parts."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold

    if resistant.sum() < 5 or (~resistant).sum() < 5:
        return False
    call = np.zeros(len(mu), dtype=bool)
    for fit, held in StratifiedKFold(5, shuffle=True, random_state=seed).split(mu, resistant):
        call[held] = platt(mu[fit], resistant[fit])(mu[held]) > 0.5
    return balanced_accuracy_score(resistant, call) > balanced_accuracy_score(resistant, mu >= 0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="pi")
    ap.add_argument("--drugs", default=None, help="comma-separated (default: every drug)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="2 folds, 5 epochs, 2 members")
    args = ap.parse_args(argv)
    if "HIVLATENT_DATA_DIR" not in os.environ and DEFAULT_DATA_DIR.is_dir():
        os.environ["HIVLATENT_DATA_DIR"] = str(DEFAULT_DATA_DIR)

    from dataclasses import replace

    from scipy.special import ndtr
    from sklearn.metrics import balanced_accuracy_score, brier_score_loss, roc_auc_score

    from hivlatent import load_dataset
    from hivlatent.config import ModelConfig, default_train_config
    from hivlatent.evaluation.cv import distinct_fit_sets, make_folds
    from hivlatent.evaluation.vae_methods import SemiSupervisedPredictor

    ds = load_dataset(args.data)
    drugs = args.drugs.split(",") if args.drugs else list(ds.drugs)
    folds = make_folds(ds, 2 if args.smoke else args.folds, args.seed,
                       GROUPED.get(args.data), drugs)
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
        recalibrate = platt(mu_in, y_in >= cut)
        use_platt = platt_wins_inside(mu_in - cut, y_in >= cut, args.seed)
        test = ds.subset(f.test)
        mu, sd = (a[:, j] for a in m.predict_distribution(test))
        y = np.asarray(test.log_fold)[:, j]
        ok = np.isfinite(y)
        truth = y[ok] >= cut
        p_model, p_platt = ndtr((mu[ok] - cut) / sd[ok]), recalibrate(mu[ok])
        per.setdefault(f.drug, []).append(dict(
            at_cutoff=balanced_accuracy_score(truth, mu[ok] >= cut),
            tuned=balanced_accuracy_score(truth, mu[ok] >= t),
            platt=balanced_accuracy_score(truth, p_platt > 0.5),
            brier=brier_score_loss(truth, p_model), brier_platt=brier_score_loss(truth, p_platt),
            chosen=balanced_accuracy_score(truth, p_platt > 0.5 if use_platt else mu[ok] >= cut),
            n_platt=int(use_platt),
            auc=roc_auc_score(truth, mu[ok]) if 0 < truth.sum() < truth.size else math.nan,
            shift=t - cut, prevalence=float(np.mean(y_in >= cut))))
    print(f"# Operating point of the semi model: {args.data}, {len(folds) // len(drugs)}-fold CV, "
          f"seed {args.seed}")
    print("| drug | resistant in training | BA at the cutoff (the call) | BA at a BA-tuned threshold "
          "| tuned threshold − cutoff (log10) | AUC | BA at recalibrated P > 0.5 "
          "| Brier of P | Brier of recalibrated P | BA, the better call on the training rows "
          "(folds recalibrated) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for drug in drugs:
        rows = per.get(drug, [])
        if not rows:
            continue
        ms = lambda k: (np.nanmean([r[k] for r in rows]), np.nanstd([r[k] for r in rows]))  # noqa: E731
        print(f"| {drug} | {ms('prevalence')[0]:.0%} | {ms('at_cutoff')[0]:.3f} ± "
              f"{ms('at_cutoff')[1]:.3f} | {ms('tuned')[0]:.3f} ± {ms('tuned')[1]:.3f} | "
              f"{ms('shift')[0]:+.2f} | {ms('auc')[0]:.3f} | {ms('platt')[0]:.3f} ± "
              f"{ms('platt')[1]:.3f} | {ms('brier')[0]:.4f} | {ms('brier_platt')[0]:.4f} | "
              f"{ms('chosen')[0]:.3f} ± {ms('chosen')[1]:.3f} "
              f"({sum(r['n_platt'] for r in rows)}/{len(rows)}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
