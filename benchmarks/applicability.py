"""Does the applicability note track how wrong the model is on viruses far from its training data?

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/applicability.py [--data nrti]
        [--folds 5] [--members 5] [--epochs 150] [--seed 0] [--results FILE | --no-results]
    python benchmarks/applicability.py --quick      # 2 members, 60 epochs (minutes)
    python benchmarks/applicability.py --smoke      # seconds, for the test suite

K-fold cross-validation on a class's data set (rows shuffled with ``--seed``): per fold the
semi-supervised model (the package's defaults, or fewer members and epochs) is trained on the
other folds, the measured viruses of those folds are kept as its reference
(:class:`hivlatent.prediction.reference.Reference`), and every held-out virus is placed as
``predict`` places a new one (:mod:`hivlatent.prediction.applicability`): the percentile of its
latent distance to its K nearest training viruses measured for the drug among the training
viruses' own distances, and whether it carries a mutation at one of the drug's resistance
positions (HIVdb's rule positions, with the ``hivdb`` extra) that no training virus carries.
For each held-out virus and measured drug it records the absolute error of the predicted log10
fold change, the width of the 90% interval (log10) and whether the interval covers the measured
value, and reports them by percentile bin, by unseen mutation and by the note's level (with the
thresholds of :mod:`hivlatent.config`). Subtype is not evaluated here: the tables hold amino
acids, not the nucleotide sequences the subtyper reads.

Writes a Markdown report (command, date, machine, load before and after, hivlatent version).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import add_results_option, publish, results_for  # noqa: E402

Z90 = 1.6448536269514722
BINS = [0, 50, 80, 90, 95, 99, 99.5, 100.01]


def evaluate(data: str, folds: int, members: int, epochs: int, seed: int,
             rows: int | None = None, log=print) -> pd.DataFrame:
    """One row per held-out virus and measured drug: fold, drug, percentile, unseen, level,
    abs_error, width, covered."""
    from sklearn.model_selection import KFold

    from hivlatent import load_dataset
    from hivlatent.config import ModelConfig, default_train_config
    from hivlatent.data.mutations import feature_index, parse_feature
    from hivlatent.model import VAEModel
    from hivlatent.prediction.applicability import (
        TrainingDistances,
        level_of,
        resistance_positions,
        unseen_mutations,
    )
    from hivlatent.prediction.reference import Reference

    ds = load_dataset(data)
    if rows is not None:
        ds = ds.subset(np.arange(min(rows, ds.n_rows if hasattr(ds, "n_rows") else len(ds.ids))))
    n = len(ds.ids)
    out = []
    for k, (train, test) in enumerate(KFold(folds, shuffle=True, random_state=seed)
                                      .split(np.arange(n))):
        t0 = time.perf_counter()
        cfg = ModelConfig(supervised=True)
        model = VAEModel(cfg, default_train_config(cfg, epochs=epochs, seed=seed + k),
                         n_members=members)
        model.fit(ds, rows=train)
        reference = Reference.build(model, ds.subset(train))
        dist = TrainingDistances(reference)
        X, _ = model.aligned_input(ds.subset(test))
        mu, sd = model.predict_distribution(X)
        z = model.get_latent_representation(X)
        gene = model.gene
        features = {(p, r) for p, r in feature_index(list(model.feature_names), gene)}
        muts = [[parse_feature(model.feature_names[j], gene) for j in np.flatnonzero(x)]
                for x in X]
        y = np.asarray(ds.log_fold, dtype=float)[test]
        for j, drug in enumerate(model.drugs):
            placed = dist.place(drug, z)
            if placed is None:
                continue
            d, pct = placed
            yj = y[:, list(ds.drugs).index(drug)]
            positions = resistance_positions(drug)
            for r in np.flatnonzero(np.isfinite(yj)):
                unseen = bool(unseen_mutations(muts[r], reference, positions, features))
                err = abs(float(mu[r, j]) - float(yj[r]))
                out.append({"fold": k, "drug": drug, "percentile": float(pct[r]),
                            "distance": float(d[r]), "unseen": unseen,
                            "level": level_of(float(pct[r]), unseen, False), "abs_error": err,
                            "width": 2 * Z90 * float(sd[r, j]),
                            "covered": err <= Z90 * float(sd[r, j])})
        log(f"fold {k + 1}/{folds}: {len(train)} training viruses, "
            f"{time.perf_counter() - t0:.0f} s")
    return pd.DataFrame(out)


def summarize(df: pd.DataFrame, by: pd.Series, name: str) -> pd.DataFrame:
    g = df.groupby(by, observed=True)
    out = pd.DataFrame({
        "predictions": g.size(),
        "share": (g.size() / len(df)).map(lambda x: f"{100 * x:.1f}%"),
        "mean abs error (log10)": g["abs_error"].mean().round(3),
        "median abs error": g["abs_error"].median().round(3),
        "mean 90% width (log10)": g["width"].mean().round(3),
        "90% coverage": g["covered"].mean().map(lambda x: f"{100 * x:.1f}%"),
    })
    out.index.name = name
    return out


def report(df: pd.DataFrame, args) -> str:
    from hivlatent.evaluation.harness import to_markdown
    from hivlatent.config import APPLICABILITY_CAUTION, APPLICABILITY_K, APPLICABILITY_OUTSIDE
    from scipy.stats import spearmanr

    bins = pd.cut(df["percentile"], BINS, right=False,
                  labels=[f"{a:g}-{b:g}" if b <= 100 else f"{a:g}-100" for a, b in
                          zip(BINS[:-1], BINS[1:])])
    rho_e = spearmanr(df["percentile"], df["abs_error"]).statistic
    rho_w = spearmanr(df["percentile"], df["width"]).statistic
    typical = df[df["level"] == "typical"]["abs_error"].mean()
    lines = [
        f"Data `{args.data}`, {args.folds}-fold CV (seed {args.seed}); semi model with "
        f"{args.members} members, {args.epochs} epochs; K = {APPLICABILITY_K}; thresholds: "
        f"caution at percentile >= {APPLICABILITY_CAUTION:g} or an unseen mutation at a "
        f"resistance position, outside above {APPLICABILITY_OUTSIDE:g}. "
        f"{len(df)} held-out (virus, drug) predictions.",
        "",
        f"Spearman correlation of the percentile with the absolute error: {rho_e:.3f}; with the "
        f"interval width: {rho_w:.3f}.",
        "",
        "## By latent-distance percentile",
        "",
        to_markdown(summarize(df, bins, "percentile")),
        "",
        "## By an unseen mutation at a resistance position",
        "",
        to_markdown(summarize(df, df["unseen"].map({False: "none", True: "yes"}), "unseen")),
        "",
        "## By the note's level",
        "",
        to_markdown(summarize(df, pd.Categorical(df["level"], ["typical", "caution", "outside"]),
                              "level")),
        "",
        "Ratio of the mean absolute error to the typical level's: "
        + ", ".join(f"{lv} {df[df['level'] == lv]['abs_error'].mean() / typical:.2f}"
                    for lv in ("caution", "outside") if (df["level"] == lv).any()) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="nrti")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--members", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="2 members, 60 epochs")
    ap.add_argument("--smoke", action="store_true", help="seconds: 2 folds, 1 member, 3 epochs")
    add_results_option(ap, "applicability")
    args = ap.parse_args(argv)
    from hivlatent.config import SEMI_EPOCHS, SEMI_MEMBERS

    rows = None
    if args.smoke:
        args.folds, args.members, args.epochs, rows = 2, 1, 3, 300
    args.members = args.members or (2 if args.quick else SEMI_MEMBERS)
    args.epochs = args.epochs or (60 if args.quick else SEMI_EPOCHS)
    results = results_for(args, "applicability", "Applicability note: held-out error and "
                          "interval width by note", argv, smoke=args.smoke, timed=False)
    df = evaluate(args.data, args.folds, args.members, args.epochs, args.seed, rows,
                  log=lambda m: print(m, file=sys.stderr))
    text = report(df, args)
    publish(results, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
