"""``hivlatent study``: the reproduction of the study."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import (
    DEVICE_OPTION,
    QUIET_OPTION,
    SVG_OPTION,
    DataOptions,
    Likelihood,
    data_options,
    figure_formats,
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
    epochs: Optional[str] = typer.Option(None, "--epochs", show_default=False,
                                         help="Epoch grid (default: 50,100,150)."),
    batch_sizes: Optional[str] = typer.Option(None, "--batch-sizes", show_default=False,
                                              help="Batch size grid (default: 16,32,128)."),
    hidden_sizes: Optional[str] = typer.Option(
        None, "--hidden-sizes", show_default=False,
        help="Other hidden widths at 100 epochs, batch 32 (default: 64,256)."),
    latent_sizes: Optional[str] = typer.Option(
        None, "--latent-sizes", show_default=False,
        help="Latent sizes at the best configuration (default: 2,5,10,20)."),
    seed: int = typer.Option(0, "--seed"),
    quick: bool = typer.Option(False, "--quick", help="A few epochs on a small grid (smoke test)."),
    svg: bool = SVG_OPTION,
    workers: int = typer.Option(0, "--workers", min=0,
                                help="Processes training independent groups of models side by side "
                                     "(0 = one per core when the grid is big enough; 1 = none)."),
    device: str = DEVICE_OPTION, quiet: bool = QUIET_OPTION,
) -> None:
    """Reproduce the study: the grid, loss curves, heatmaps, latent plots, summary and report."""
    from ..training.workers import cores, kept_pool

    with kept_pool() as kept:
        if not quick and workers != 1 and device == "cpu":
            # the training workers import torch while this process starts up
            kept.prestart(cores() if workers == 0 else workers)
        _study(data_opts, out, seeds, likelihood, epochs, batch_sizes, hidden_sizes,
               latent_sizes, seed, quick, svg, workers, device, quiet)


def _study(data_opts, out, seeds, likelihood, epochs, batch_sizes, hidden_sizes, latent_sizes,
           seed, quick, svg, workers, device, quiet) -> None:
    from ..errors import ConfigError
    from ..model import check_device
    from ..study import StudyConfig, run_study
    from ..study.run import check_study_folder

    grid = dict(likelihood=likelihood.value, seeds=seeds, seed=seed)
    given = {"--epochs": ("epochs", epochs), "--batch-sizes": ("batch_sizes", batch_sizes),
             "--hidden-sizes": ("hidden_sizes", hidden_sizes),
             "--latent-sizes": ("latent_sizes", latent_sizes)}
    given = {opt: (field, parse_ints(text, opt)) for opt, (field, text) in given.items()
             if text is not None}
    if quick and given:
        raise ConfigError(f"--quick runs its own small grid, so {', '.join(given)} would have no "
                          "effect; give either --quick or the grid")
    cfg = (StudyConfig.quick(**grid) if quick
           else StudyConfig(**grid, **{field: values for field, values in given.values()}))
    check_device(device)
    ds = data_opts.load()
    check_study_folder(ds, out, cfg)
    formats = figure_formats(svg)
    prog, update = progress_bar(quiet, "study")
    if prog:
        with prog:
            result = run_study(ds, out, cfg, device, update, workers, formats)
    else:
        result = run_study(ds, out, cfg, device, workers=workers, formats=formats)
    failed = result.summary[result.summary["status"].str.startswith("failed")]
    for row in failed.itertuples():
        typer.echo(f"warning: {row.configuration} seed {row.seed}: {row.status}", err=True)
    typer.echo(f"best configuration (lowest final validation loss): {result.best.title}")
    typer.echo(f"wrote {out / 'summary.csv'}, {out / 'report.html'} and {out / 'figures'} "
               f"in {result.seconds:.0f} s")
