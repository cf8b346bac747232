"""Figures, findings and the HTML report of a study run (see :mod:`hivlatent.study`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..nn.summary import summary as keras_summary
from ..reporting.html_report import Report


def converged(history: pd.DataFrame, window: float = 0.1, tol: float = 0.01) -> bool:
    """Validation loss changed by less than ``tol`` (relative) over the last ``window`` of epochs."""
    v = history["val_loss"].to_numpy(dtype=float)
    if len(v) < 5 or not np.isfinite(v).all():
        return False
    k = max(2, int(round(len(v) * window)))
    return abs(v[-1] - v[-k]) / abs(v[-k]) < tol


def findings(study, result, s1, s2) -> list[str]:
    summ = result.summary
    best = result.best
    out = []
    ok = summ[~summ["status"].str.startswith("failed")]
    failed = summ[summ["status"].str.startswith("failed")]
    stage1 = ok[ok["configuration"].isin([p.slug for p in s1])]
    row = stage1.groupby("configuration")["final_val_loss"].mean().sort_values()
    out.append(f"Best configuration by final validation loss (mean over {study.cfg.seeds} seed(s)): "
               f"{best.title} with {row.iloc[0]:.2f}; the worst was {row.index[-1]} with "
               f"{row.iloc[-1]:.2f}. Latent sizes were then compared at that configuration.")
    lat = ok[ok["configuration"].isin([p.slug for p in s2])].groupby("latent")["final_val_loss"].mean()
    if len(lat):
        out.append("Final validation loss by latent size: "
                   + ", ".join(f"{z}: {v:.2f}" for z, v in lat.items()) + ".")
    slugs = list(dict.fromkeys(p.slug for p in s1 + s2))   # the best one is in both stages
    conv = [s for s in slugs if converged(study.models[s].history)]
    n = len(slugs)
    out.append(f"{len(conv)} of {n} configurations converged (validation loss changed by less "
               "than 1% over the last 10% of epochs).")
    gap = (ok["final_val_loss"] - ok["final_train_loss"])
    out.append(f"Generalisation gap (final validation minus training loss): median {gap.median():.2f}, "
               f"largest {gap.max():.2f} ({ok.loc[gap.idxmax(), 'configuration']}).")
    if len(failed):
        out.append(f"{len(failed)} model(s) failed and were left out: "
                   + "; ".join(f"{r.configuration}: {r.status}" for r in failed.itertuples()))
    for slug, sep in result.separation.items():
        z = slug.split("-")[1]
        out.append(f"Separation in the latent means ({z}): linear-probe AUC "
                   + ", ".join(f"{r.drug} {r.probe_auc:.2f}" for r in sep.itertuples())
                   + "; silhouette " + ", ".join(f"{r.drug} {r.silhouette:+.2f}" for r in sep.itertuples())
                   + ".")
    return out


def write_study_report(study, result, s1, s2, figures) -> None:
    """report.html, with the figures ``figures`` (a StudyFigures) has drawn or is drawing."""
    ds, cfg = study.ds, study.cfg
    unit = figures.unit
    points = {p.slug: p for p in s1 + s2}

    rep = Report(f"VAE study on {ds.name} ({ds.n_rows} x {ds.n_features})",
                 f"Reproduction of the STAT 469/563 report; likelihood {cfg.likelihood}; "
                 f"{cfg.seeds} seed(s) per configuration; trained and analysed in {result.seconds:.0f} s")
    rep.add_section("Findings")
    rep.add_findings(findings(study, result, s1, s2))
    rep.add_section("Method")
    rep.add_text(
        f"Data: {ds.name}, {ds.n_rows} viruses x {ds.n_features} mutation indicators, drugs "
        f"{', '.join(ds.drugs)} (resistant = fold change at or above the drug's cutoff). "
        f"Each model holds out {cfg.val_fraction:.0%} of the rows for validation (seed {cfg.seed}, "
        f"stratified by the number of drugs a virus resists). Losses are per sequence: the "
        f"reconstruction is {unit} and the KL term is summed over "
        "the latent dimensions. The study's Keras losses were averaged over features instead: "
        "divide the reconstruction by the number of features to compare (column "
        "final_val_recon_per_feature of summary.csv). Grid: epochs x batch size at 128 hidden units "
        "and latent 10; 64 and 256 hidden units at 100 epochs and batch 32; then the latent sizes at "
        "the configuration with the lowest final validation loss.")
    best = result.best
    rep.add_pre(keras_summary(study.models[best.slug].model_config, ds.n_features), "Model summary (best configuration)")
    rep.add_section("Summary table")
    cols = ["configuration", "stage", "seed", "status", "final_train_loss", "final_val_loss",
            "best_val_loss", "best_epoch", "train_seconds", "encoder_params", "decoder_params"]
    rep.add_table(result.summary[cols].round(3),
                  "One row per trained model (summary.csv). Models that train side by side share "
                  "one engine run: train_seconds is the wall time of that run, the same for each "
                  "model in it.", index=False)

    paths = figures.pool.paths()
    captions = figures.captions
    layout: list = [("section", "Loss curves"), ("figure", "loss_grid")]
    layout += [("figure", f"loss_{slug}") for slug in points]
    layout.append(("section", "Latent space and resistance"))
    for p in s2:
        if p.slug not in result.separation:      # every seed of it failed: nothing to show
            layout.append(("text", f"Latent {p.latent}: every model of {p.title} failed in "
                                   "training."))
            continue
        layout += [("figure", f"heatmap_{p.slug}"), ("figure", f"latent_top2_{p.slug}"),
                   ("figure", f"latent_pca_{p.slug}")]
        layout.append(("table", (result.separation[p.slug].round(3),
                                 f"Separation per drug in the latent {p.latent} space: silhouette "
                                 "of the resistant/non-resistant groups and 5-fold linear-probe "
                                 "AUC (mean, std).")))
    for kind, item in layout:
        if kind == "section":
            rep.add_section(item)
        elif kind == "figure":
            rep.add_figure(str(paths[item]), captions[item])
        elif kind == "text":
            rep.add_text(item)
        else:
            rep.add_table(item[0], item[1], index=False)
    rep.write(study.out / "report.html")
