"""``hivlatent study``: the reproduction of the study."""

from __future__ import annotations

from pathlib import Path

import typer

from .options import (
    DEVICE_OPTION,
    QUIET_OPTION,
    DataOptions,
    Likelihood,
    data_options,
    parse_ints,
    progress_bar,
)


@data_options(default="nrti-1246")
def study_cmd(
    data_opts: DataOptions,
    out: Path = typer.Option(Path("runs/study"), "--out", help="Run folder (a rerun resumes it)."),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Seeds per configuration."),
    likelihood: Likelihood = typer.Option(Likelihood.mse, "--likelihood",
                                          help="mse reproduces the study; bernoulli is right for 0/1 data."),
    epochs: str = typer.Option("50,100,150", "--epochs", help="Epoch grid."),
    batch_sizes: str = typer.Option("16,32,128", "--batch-sizes", help="Batch size grid."),
    hidden_sizes: str = typer.Option("64,256", "--hidden-sizes", help="Other hidden widths (100 epochs, batch 32)."),
    latent_sizes: str = typer.Option("2,5,10,20", "--latent-sizes", help="Latent sizes at the best configuration."),
    seed: int = typer.Option(0, "--seed"),
    quick: bool = typer.Option(False, "--quick", help="A few epochs on a small grid (smoke test)."),
    workers: int = typer.Option(0, "--workers", min=0,
                                help="Processes training independent groups of models side by side "
                                     "(0 = one per core when the grid is big enough; 1 = none)."),
    device: str = DEVICE_OPTION, quiet: bool = QUIET_OPTION,
) -> None:
    """Reproduce the study: the grid, loss curves, heatmaps, latent plots, summary and report."""
    from ..study import StudyConfig, run_study

    ds = data_opts.load()
    grid = dict(likelihood=likelihood.value, seeds=seeds, seed=seed)
    if quick:
        cfg = StudyConfig.quick(**grid)
    else:
        cfg = StudyConfig(epochs=parse_ints(epochs, "--epochs"), batch_sizes=parse_ints(batch_sizes, "--batch-sizes"),
                          hidden_sizes=parse_ints(hidden_sizes, "--hidden-sizes"),
                          latent_sizes=parse_ints(latent_sizes, "--latent-sizes"), **grid)
    prog, update = progress_bar(quiet, "study")
    if prog:
        with prog:
            result = run_study(ds, out, cfg, device, update, workers)
    else:
        result = run_study(ds, out, cfg, device, workers=workers)
    failed = result.summary[result.summary["status"].str.startswith("failed")]
    for row in failed.itertuples():
        typer.echo(f"warning: {row.configuration} seed {row.seed}: {row.status}", err=True)
    typer.echo(f"best configuration (lowest final validation loss): {result.best.title}")
    typer.echo(f"wrote {out / 'summary.csv'}, {out / 'report.html'} and {out / 'figures'} "
               f"in {result.seconds:.0f} s")
