"""``hivlatent evaluate``: baselines, VAE latents and the semi-supervised model in one
cross-validated run, written as metrics.csv (long form), a comparison figure and a report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from ..config import (
    EVALUATE_JOBS,
    FOLD_SCHEME,
    SEMI_EPOCHS,
    ModelConfig,
    TrainConfig,
    default_train_config,
)
from ..data.dataset import Dataset
from ..errors import ConfigError
from ..files import RunFolder, write_csv
from ..reporting import plots as F
from ..reporting.drawing import with_png
from ..reporting.html_report import Report
from .harness import evaluate, per_drug_table, summarize, to_markdown, write_metrics
from .hivdb_method import HivdbMethod
from .vae_methods import SemiSupervisedPredictor, VAERepresentation

#: published balanced accuracies (same cutoffs) quoted in issue 4 for comparison
PUBLISHED_BALANCED_ACCURACY = {"3TC": 0.953, "ABC": 0.962, "AZT": 0.929, "D4T": 0.898, "DDI": 0.842}


def extra_rows(ds: Dataset, spec: str | None) -> Dataset | None:
    """Rows that may join every training set without leaking: for ``nrti-1246`` (``auto``) the
    NRTI table's other viruses with any phenotype, encoded with the same 228 features and rule.
    ``none`` or None: no extra rows. Any other value: a data set name or HIVDB table path."""
    if spec is None or spec.lower() == "none":
        return None
    from ..data.encoding import build_dataset
    from ..data.hivdb_tables import read_table
    from ..data.registry import DATASETS
    from ..data.sources import find_file

    if spec.lower() == "auto":
        if ds.name != "nrti-1246":
            return None
        spec = "nrti"
    info = DATASETS.get(spec.lower())
    table = read_table(find_file(info.filename) if info else Path(spec))
    missing = [d for d in ds.drugs if d not in table.drugs]
    if missing:
        raise ConfigError(f"--extra {spec}: its table lacks drugs {', '.join(missing)} of the data")
    # never a virus of the evaluated set: those are test rows in some fold
    rows = (table.folds[ds.drugs].notna().any(axis=1).to_numpy()
            & ~np.isin(np.asarray(table.ids, dtype=str), np.asarray(ds.ids, dtype=str)))
    return build_dataset(table, drugs=ds.drugs, cutoffs=ds.cutoffs, feature_list=ds.feature_names,
                         mixture="first2" if ds.name == "nrti-1246" else "all", rows=rows,
                         name=f"{spec} (extra rows)")


def build_methods(names: list[str], epochs: int | None, members: int | None, seed: int,
                  extra: Dataset | None, device: str) -> list:
    out = []
    for name in names:
        if name.strip().lower() == "hivdb":
            out.append(HivdbMethod())
            continue
        m = re.fullmatch(r"(vae|semi)(\d+)", name)
        if not m:
            out.append(name)             # a baseline spec, resolved by the harness
            continue
        kind, latent = m.group(1), int(m.group(2))
        if kind == "vae":
            out.append(VAERepresentation(ModelConfig(latent=latent),
                                         TrainConfig(epochs=epochs or TrainConfig().epochs,
                                                     val_fraction=0.1, seed=seed),
                                         name=f"vae{latent}", device=device))
            continue
        mc = ModelConfig(latent=latent, supervised=True)
        tc = default_train_config(mc, seed=seed, **({"epochs": epochs} if epochs else {}))
        heads = SemiSupervisedPredictor(mc, tc, n_members=members, name=f"semi{latent}-heads",
                                        extra=extra, device=device)
        out += [heads.latent(), heads]
    return out


def figure_models(ds: Dataset, extra: Dataset | None, latent: int, epochs: int | None,
                  seed: int, device: str) -> dict:
    """The plain VAE and the semi-supervised VAE (one member) of :func:`latent_comparison`,
    each trained on all rows."""
    from ..model import VAEModel
    from .vae_methods import align_extra

    plain = VAEModel(ModelConfig(latent=latent), TrainConfig(epochs=epochs or TrainConfig().epochs, seed=seed),
                     device=device).fit(ds)
    train = ds if extra is None else Dataset.concat([ds, align_extra(extra, ds)])
    semi = VAEModel(ModelConfig(latent=latent, supervised=True),
                    TrainConfig(epochs=epochs or SEMI_EPOCHS, seed=seed), n_members=1, device=device).fit(train)
    return {"vae": plain, "semi": semi}


def latent_comparison(ds: Dataset, models: dict, latent: int, fig_dir: Path, rep: Report,
                      formats: tuple[str, ...] = ("png",)) -> None:
    """The study's figures (heatmap, latent scatter) and the decoder's mutation loadings for the
    plain VAE and the semi-supervised VAE (:func:`figure_models`), side by side, written in
    ``formats`` (PNG always)."""
    rep.add_section("Latent spaces: unsupervised VAE and semi-supervised VAE")
    rep.add_text(f"Both with latent size {latent}, trained on all rows (these figures describe the "
                 "representations; the cross-validated numbers above are the honest comparison).")
    heat, scat, load = [], [], []
    for key, model in models.items():
        label = "unsupervised VAE" if key == "vae" else "semi-supervised VAE"
        z = model.get_latent_representation(ds)
        corr = F.latent_label_correlation(z, ds.labels, ds.drugs)
        heat.append(_save(F.plot_correlation_heatmap(corr, label), fig_dir, f"heatmap_{key}",
                          formats))
        scat.append(_save(F.plot_latent_scatter(z, ds.labels, ds.drugs, method="top2", model_name=label),
                          fig_dir, f"latent_top2_{key}", formats))
        sens = model.decoder_sensitivity(ds)
        sens.to_csv(fig_dir / f"loadings_{key}.csv")
        load.append(_save(F.plot_top_loadings(sens, top_n=8, title=f"Mutations driving each latent dimension: {label}",
                                              value_label="dP/dz"), fig_dir, f"loadings_{key}", formats))
    rep.add_figure_row(heat, ["Unsupervised VAE: correlation of latent means with resistance.",
                              "Semi-supervised VAE: the same."])
    rep.add_figure_row(scat, ["Unsupervised VAE: two most resistance-correlated dimensions (red not resistant, blue resistant).",
                              "Semi-supervised VAE: the same."])
    rep.add_figure_row(load, ["Unsupervised VAE: mutations whose decoded probability moves most with each dimension.",
                              "Semi-supervised VAE: the same."])


def _workers(n_jobs: int) -> int:
    from .tasks import _workers as workers

    return workers(n_jobs)


def _one_thread_call(fn, *args):
    """``fn(*args)`` on one torch thread (a side thread of this process, beside the workers)."""
    from ..training.workers import torch_threads

    with torch_threads(1):
        return fn(*args)


def _save(fig, folder: Path, name: str, formats: tuple[str, ...] = ("png",)) -> str:
    path = F.save_figure(fig, folder / name, formats)["png"]
    plt.close(fig)
    return str(path)


@dataclass
class EvaluationResult:
    metrics: pd.DataFrame
    table: pd.DataFrame
    table_text: str
    out: Path
    per_fold: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    seconds: float = 0.0


def run_evaluation(ds: Dataset, out: str | Path, methods: list[str], folds: int = 5,
                   repeats: int = 3, seed: int = 0, group_by: str | None = None,
                   epochs: int | None = None, members: int | None = None,
                   extra: str | None = "auto", n_jobs: int = EVALUATE_JOBS, device: str = "cpu",
                   progress=None, latent_figures: bool = True,
                   first_repeat: int = 0, scheduler=None,
                   scheme: str = FOLD_SCHEME,
                   formats: tuple[str, ...] = ("png",)) -> EvaluationResult:
    """Evaluate ``methods`` on ``ds`` by ``folds``-fold cross-validation repeated ``repeats``
    times (fold seeds ``seed``, ``seed + 1``, ...) and write metrics.csv, per_fold.csv,
    comparison.csv, the figures and report.html to the run folder ``out`` (locked while written;
    a failed run leaves no folder behind; a rerun replaces an earlier evaluation's outputs).
    ``first_repeat``: run repeats ``first_repeat`` .. ``first_repeat + repeats - 1`` only, to add
    repeats to an earlier run (:func:`.cv.repeated_folds`). ``n_jobs`` (0 = one process per
    core) and ``scheduler`` (a Dask scheduler's address): where the tasks run (see
    :func:`.harness.evaluate`; the result is the same). ``scheme``: how the folds are drawn
    (:mod:`.cv`). ``formats``: of the figures (PNG always; add "svg" for vector copies)."""
    out = Path(out)
    if not list(methods):
        raise ConfigError("methods: expected at least one method to evaluate, got none")
    ds, skipped = supported_only(ds)
    with evaluation_folder(ds, out, methods, folds, repeats, seed, first_repeat, scheme):
        return _run_evaluation(ds, out, methods, folds, repeats, seed, group_by, epochs,
                               members, extra, n_jobs, device, progress, latent_figures,
                               first_repeat, scheduler, scheme, skipped, with_png(formats))


def evaluation_folder(ds: Dataset, out: str | Path, methods, folds: int, repeats: int,
                      seed: int, first_repeat: int = 0, scheme: str = FOLD_SCHEME) -> RunFolder:
    """The run folder of an evaluation (``.check()`` checks it without writing)."""
    what = {"data": ds.name, "data_sha256": ds.sha256, "methods": list(methods), "folds": folds,
            "repeats": repeats, "seed": seed, "fold_scheme": scheme}
    if first_repeat:
        what["first_repeat"] = first_repeat
    return RunFolder(out, "evaluate", what, replace=True)


def _grouping(ds: Dataset, group_by: str | None):
    """What the folds are grouped by: ``group_by`` (a metadata column), none (``"none"``), or by
    default the data set's own groups when it has them (patients, for ``pi-full`` and ``insti``;
    the INSTI table's lab isolates by genotype)."""
    if group_by is None:
        return None
    if str(group_by).strip().lower() == "none":
        return False
    return group_by


def supported_only(ds: Dataset) -> tuple[Dataset, dict[str, str]]:
    """``ds`` without the drugs that have too few phenotypes for a learned answer while others
    of the data set have enough (:func:`hivlatent.config.phenotype_support`: CAB and BIC of the
    INSTI table; no method is evaluated on them, since ``predict`` never answers them from the
    model), and those drugs with the reason. A data set whose every drug is below the threshold
    (a small table of one's own) is evaluated whole."""
    from ..config import withheld_drugs

    skipped = withheld_drugs(ds.drugs, ds.log_fold, ds.labels)
    keep = [d for d in ds.drugs if d not in skipped]
    if not skipped or not keep:
        return ds, {}
    return ds.select_drugs(keep), skipped


def _run_evaluation(ds, out, methods, folds, repeats, seed, group_by, epochs, members, extra,
                    n_jobs, device, progress, latent_figures, first_repeat=0, scheduler=None,
                    scheme=FOLD_SCHEME, skipped=None, formats=("png",)) -> EvaluationResult:
    import time
    from concurrent.futures import ThreadPoolExecutor

    from .compare import compare, comparison_markdown
    from .cv import repeated_folds
    from .evaluation_plots import (difference_panels, plot_differences, plot_metrics,
                                   plot_reliability)
    from .hivdb_method import NOT_INDEPENDENT

    t0 = time.perf_counter()
    extra_ds = extra_rows(ds, extra) if any(m.startswith("semi") for m in methods) else None
    objs = build_methods(methods, epochs, members, seed, extra_ds, device)
    grouping = _grouping(ds, group_by)
    fold_list = repeated_folds(ds, folds, repeats, seed, groups=grouping,
                               first_repeat=first_repeat, scheme=scheme)
    collected: dict = {}
    latents = [int(m[4:]) for m in methods if re.fullmatch(r"semi\d+", m)]
    figures = None
    with ThreadPoolExecutor(1) as side:
        if latent_figures and latents and (scheduler is not None or _workers(n_jobs) > 1):
            # the figures' two models train here while the workers evaluate (their numbers
            # are not the evaluation's: they describe the representations)
            figures = side.submit(_one_thread_call, figure_models, ds, extra_ds, latents[0],
                                  epochs, seed, device)
        timings: list = []
        per_fold = evaluate(ds, objs, folds=fold_list, seed=seed, n_jobs=n_jobs,
                            progress=progress, per_fold=True, collect=collected,
                            scheduler=scheduler, timings=timings)
        if latent_figures and latents:
            figures = figures.result() if figures is not None else \
                figure_models(ds, extra_ds, latents[0], epochs, seed, device)
    metrics = summarize(per_fold)
    write_metrics(metrics, out / "metrics.csv")
    write_csv(per_fold, out / "per_fold.csv")
    write_csv(pd.DataFrame(timings), out / "timings.csv")
    table = per_drug_table(metrics)
    text = to_markdown(table)
    model = f"semi{latents[0]}-heads" if latents else None
    comparison = compare(per_fold, model, f"semi{latents[0]}-latent") if model else None
    what = (f"{folds}-fold cross-validation x {repeats} repeat(s)"
            + (f", grouped by {group_by}" if isinstance(grouping, str)
               else ", grouped by patient (lab isolates by genotype)" if grouping is None
               and ds.groups is not None else "") + f" on {ds.name}")
    fig_dir = out / "figures"
    rep = Report(f"Cross-validated evaluation on {ds.name}",
                 f"{ds.n_rows} viruses x {ds.n_features} features; {what}; fold seeds "
                 f"{seed + first_repeat}-{seed + first_repeat + repeats - 1}")
    rep.add_section("Method")
    rep.add_text(
        (f"{what[0].upper()}{what[1:]}: one assignment of the viruses to folds for every drug, "
         "stratified on the joint pattern of their labels (a drug's fold tests the fold's "
         "viruses with a phenotype for it; every model of a fold trains on the viruses outside "
         "it)" if scheme == "shared" else
         f"Per drug, {what}, stratified on the drug's label (rows without a phenotype for the "
         "drug are never test rows for it)") + "; every method sees the same folds. Every "
        "representation (PCA, VAE) and model is learned inside the training folds only, and so "
        "is every baseline's tuning (inner cross-validation or out-of-bag: see "
        "docs/methods/evaluation.md). "
        "Classifiers' balanced accuracy uses a threshold tuned in the training folds; "
        "regressors call resistant when the predicted fold change reaches the drug's lower "
        "cutoff. The semi-supervised model answers every drug from one predictive distribution "
        "of log10 fold change. " + (f"Its training sets also hold {extra_ds.n_rows} viruses "
                                     "outside the evaluated set (never in a test fold)."
                                     if extra_ds is not None else ""))
    hivdb = next((o for o in objs if isinstance(o, HivdbMethod)), None)
    if hivdb is not None:
        rep.add_text(f"HIVdb: the Stanford algorithm, {hivdb.version} ({NOT_INDEPENDENT}). Its "
                     "balanced accuracy is the better of level >= 3 and level >= 4.")
    for drug, why in (skipped or {}).items():
        rep.add_text(f"{drug} is not evaluated: {why}.")
    rep.add_section("Results")
    if comparison is not None:
        write_csv(comparison, out / "comparison.csv")
        rep.add_pre(comparison_markdown(comparison), "The model against the strongest "
                    "comparison per drug: differences are model minus comparison over the same "
                    "folds (mean ± sd; folds ahead / folds).")
        if difference_panels(comparison):
            fig = plot_differences(comparison, f"{model} against the comparisons ({what})")
            rep.add_figure(_save(fig, fig_dir, "differences", formats), "Paired differences per "
                           "drug, mean ± sd over the folds; above 0 the model is ahead.")
        else:
            rep.add_text("No comparison method ran with the model (no tuned baseline, HIVdb or "
                         "lr probe), so there are no paired differences to show.")
        fig = plot_reliability(collected, model)
        rep.add_figure(_save(fig, fig_dir, "reliability", formats), "Reliability of the model's "
                       "P(resistant) on the pooled held-out folds.")
    fig = plot_metrics(metrics, title=f"{what}")
    rep.add_figure(_save(fig, out, "metrics", formats), "Mean over folds, error bars one standard deviation; each axis "
                   "starts near its lowest value.")
    rep.add_table(per_drug_table(metrics, std=True), "Per drug: mean ± std over folds.")
    if set(PUBLISHED_BALANCED_ACCURACY) & set(ds.drugs):
        rep.add_table(pd.Series(PUBLISHED_BALANCED_ACCURACY, name="published balanced accuracy"),
                      "Published balanced accuracies with the same cutoffs, for reference.")
    if figures is not None:
        latent_comparison(ds, figures, latents[0], fig_dir, rep, formats)
    seconds = time.perf_counter() - t0
    rep.add_text(f"Run time: {seconds:.0f} s.")
    rep.write(out / "report.html")
    return EvaluationResult(metrics, table, text, out, per_fold, comparison, seconds)
