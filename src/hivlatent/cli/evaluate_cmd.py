"""``hivlatent evaluate``: cross-validated comparison of methods."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..config import EVALUATE_JOBS, FOLD_SCHEME
from .options import (
    DEVICE_OPTION,
    QUIET_OPTION,
    SVG_OPTION,
    DataOptions,
    data_options,
    figure_formats,
    progress_bar,
)

#: what `evaluate` compares by default (hivdb only when the extra is installed)
DEFAULT_METHODS = "lr,l1,enet,rf,hgb,ridge,lasso,rfreg,hgbreg,pca10,vae10,semi10"


@data_options(default="nrti-1246")
def evaluate_cmd(
    data_opts: DataOptions,
    out: Path = typer.Option(Path("runs/evaluate"), "--out",
                             help="Folder for metrics.csv, per_fold.csv, comparison.csv, the "
                                  "figures and report.html."),
    methods: Optional[str] = typer.Option(
        None, "--methods", show_default=False,
        help="Comma-separated, from: lr, lr-std, l1, enet, rf, hgb, ridge, lasso, rfreg, hgbreg "
             "(tuned baselines on the raw mutations), pcaK, vaeK (probes of a PCA or VAE "
             "latent), semiK (the semi-supervised model and its latent), hivdb (the Stanford "
             f"algorithm, with the hivdb extra). Default: {DEFAULT_METHODS}, and hivdb when the "
             "extra is installed."),
    folds: int = typer.Option(5, "--folds", min=2),
    repeats: int = typer.Option(3, "--repeats", min=1,
                                help="Repetitions of the cross-validation (fold seeds seed, "
                                     "seed+1, ...)."),
    seed: int = typer.Option(0, "--seed"),
    group_by: Optional[str] = typer.Option(
        None, "--group-by", show_default=False,
        help="Column (e.g. PtID) whose values never straddle folds; 'none' for ungrouped folds. "
             "Default: the data set's patients when it has them (pi-full, insti; the INSTI "
             "table's lab isolates by genotype)."),
    epochs: Optional[int] = typer.Option(
        None, "--epochs", min=1, show_default=False,
        help="Epochs of the VAE and semi models (default: each model's own, 100 and 150)."),
    members: Optional[int] = typer.Option(
        None, "--members", min=1, show_default=False,
        help="Ensemble size of the semi model (default: 5)."),
    extra: Optional[str] = typer.Option("auto", "--extra", help="Data set whose other rows also train the semi model "
                                        "(auto: nrti for nrti-1246; none to disable)."),
    n_jobs: int = typer.Option(
        EVALUATE_JOBS, "--n-jobs", min=0,
        help="Processes on this machine (0: one per core). Every task runs on one thread "
             "wherever it runs, so the numbers do not depend on this."),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", show_default=False,
        help="Run the tasks on a Dask cluster: its scheduler's address (tcp://host:8786; the "
             "distributed extra; the workers need hivlatent installed). Same numbers as here."),
    fold_scheme: str = typer.Option(
        FOLD_SCHEME, "--fold-scheme",
        help="shared: one fold assignment for every drug, stratified on the joint label "
             "pattern (each model trained once per fold); per-drug: each drug split on its own "
             "label (before 0.4)."),
    svg: bool = SVG_OPTION,
    device: str = DEVICE_OPTION, quiet: bool = QUIET_OPTION,
) -> None:
    """Cross-validated per-drug metrics of tuned baselines, latents, the model and HIVdb, and
    the model against the strongest comparison per drug."""
    from .. import hivdb
    from ..config import FOLD_SCHEMES
    from ..errors import ConfigError
    from ..evaluation.run import evaluation_folder, run_evaluation, supported_only
    from ..model import check_device

    text = DEFAULT_METHODS + (",hivdb" if hivdb.available() else "") if methods is None \
        else methods
    chosen = [m.strip() for m in text.split(",") if m.strip()]
    if not chosen:
        raise ConfigError(f"--methods {methods!r}: expected at least one method, e.g. lr,rf,semi10")
    _check_methods(chosen)
    check_device(device)
    if fold_scheme not in FOLD_SCHEMES:
        raise ConfigError(f"--fold-scheme {fold_scheme!r}: expected one of "
                          f"{', '.join(FOLD_SCHEMES)}")
    ds, skipped = supported_only(data_opts.load())
    for drug, why in skipped.items():
        typer.echo(f"note: {drug} is not evaluated: {why}", err=True)
    evaluation_folder(ds, out, chosen, folds, repeats, seed, scheme=fold_scheme).check()
    prog, update = progress_bar(quiet, "evaluate")
    kwargs = dict(methods=chosen, folds=folds, repeats=repeats, seed=seed, group_by=group_by,
                  epochs=epochs, members=members, extra=extra, n_jobs=n_jobs, device=device,
                  scheduler=scheduler, scheme=fold_scheme,
                  formats=figure_formats(svg))
    if prog:
        with prog:
            result = run_evaluation(ds, out, progress=update, **kwargs)
    else:
        result = run_evaluation(ds, out, **kwargs)
    typer.echo(result.table_text)
    typer.echo(f"wrote {out / 'metrics.csv'}, {out / 'comparison.csv'} and "
               f"{out / 'report.html'} in {result.seconds:.0f} s")


def _check_methods(methods: list[str]) -> None:
    """Every method name is known (and hivdb's extra installed) before any work starts."""
    import re

    from .. import hivdb
    from ..evaluation.baselines import parse_method

    for m in methods:
        if m.lower() == "hivdb":
            hivdb.require()
        elif not re.fullmatch(r"(vae|semi)\d+", m):
            parse_method(m)
