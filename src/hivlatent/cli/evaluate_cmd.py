"""``hivlatent evaluate``: cross-validated comparison of methods."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import DEVICE_OPTION, QUIET_OPTION, DataOptions, data_options, progress_bar


@data_options(default="nrti-1246")
def evaluate_cmd(
    data_opts: DataOptions,
    out: Path = typer.Option(Path("runs/evaluate"), "--out", help="Folder for metrics.csv, the figure and report."),
    methods: str = typer.Option("raw-lr,raw-rf,raw-ridge,raw-rfreg,pca10-lr,vae10,semi10", "--methods",
                                help="Comma-separated: raw-lr, raw-rf, raw-ridge, raw-rfreg, pcaK-lr, vaeK, semiK."),
    folds: int = typer.Option(5, "--folds", min=2),
    seed: int = typer.Option(0, "--seed"),
    group_by: Optional[str] = typer.Option(None, "--group-by", help="Column (e.g. PtID) whose values never straddle folds."),
    epochs: Optional[int] = typer.Option(
        None, "--epochs", min=1, show_default=False,
        help="Epochs of the VAE and semi models (default: each model's own, 100 and 150)."),
    members: Optional[int] = typer.Option(
        None, "--members", min=1, show_default=False,
        help="Ensemble size of the semi model (default: 5)."),
    extra: Optional[str] = typer.Option("auto", "--extra", help="Data set whose other rows also train the semi model "
                                        "(auto: nrti for nrti-1246; none to disable)."),
    n_jobs: int = typer.Option(2, "--n-jobs", min=1, help="Threads for the random forests."),
    device: str = DEVICE_OPTION, quiet: bool = QUIET_OPTION,
) -> None:
    """Cross-validated per-drug metrics of representations, baselines and models."""
    from ..evaluation.run import run_evaluation

    ds = data_opts.load()
    prog, update = progress_bar(quiet, "evaluate")
    kwargs = dict(methods=[m.strip() for m in methods.split(",") if m.strip()], folds=folds, seed=seed,
                  group_by=group_by, epochs=epochs, members=members, extra=extra, n_jobs=n_jobs,
                  device=device)
    if prog:
        with prog:
            result = run_evaluation(ds, out, progress=update, **kwargs)
    else:
        result = run_evaluation(ds, out, **kwargs)
    typer.echo(result.table_text)
    typer.echo(f"wrote {out / 'metrics.csv'} and {out / 'report.html'}")
