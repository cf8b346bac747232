"""``hivlatent sweep``: parses options and calls :func:`hivlatent.sweep.run_sweep`; no logic of
its own."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import DEVICE_OPTION, QUIET_OPTION, DataOptions, data_options, progress_bar


@data_options(default="nrti-1246")
def sweep_cmd(
    data_opts: DataOptions,
    storage: Optional[str] = typer.Option(
        None, "--storage", metavar="URL", help="Optuna storage: any SQLAlchemy database URL, e.g. "
        "postgresql://user@host/db (several machines can share one study). Default: "
        "sqlite:///OUT/sweep.db.", show_default=False),
    study: Optional[str] = typer.Option(
        None, "--study", metavar="NAME", help="Study name (default: sweep-DATA-OBJECTIVES). "
        "The same name on the same storage resumes or joins the study.", show_default=False),
    trials: int = typer.Option(20, "--trials", min=1, help="Trials in the study in total "
                               "(over all workers and machines; a rerun resumes)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local worker processes."),
    space: Optional[Path] = typer.Option(
        None, "--space", metavar="FILE", help="YAML or TOML file overriding the default "
        "search space: {name: {type: int|float|categorical, low, high, log, step, choices}}.",
        show_default=False),
    objective: Optional[list[str]] = typer.Option(
        None, "--objective", help="elbo (default), probe_auc or heads_bacc; repeat for a "
        "multi-objective search.", show_default=False),
    folds: int = typer.Option(3, "--folds", min=2, help="Cross-validation folds per trial."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds, the models and the sampler."),
    prune: Optional[bool] = typer.Option(
        None, "--prune/--no-prune", help="Median pruning on the per-epoch validation loss "
        "(default: on for the single elbo objective).", show_default=False),
    batch_trials: int = typer.Option(1, "--batch-trials", min=1, help="Trials asked at once "
                                     "and trained together on the batched engine."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads per worker (small "
                                "models run fastest on one; use --workers to use more cores)."),
    out: Path = typer.Option(Path("runs/sweep"), "--out", help="Run folder: sweep.db, "
                             "trials.csv, figures/, sweep_report.html, best-model/."),
    best: bool = typer.Option(False, "--best", help="Then retrain the best configuration on "
                              "all rows and save it to OUT/best-model (usable by predict "
                              "when it is semi-supervised)."),
    device: str = DEVICE_OPTION, quiet: bool = QUIET_OPTION,
) -> None:
    """Search the VAE / semi-supervised VAE's hyperparameters with Optuna (cross-validated)."""
    from ..sweep import SweepConfig, format_summary, run_sweep
    from ..sweep.run import check_sweep

    ds = data_opts.load()
    cfg = SweepConfig(n_trials=trials, objectives=tuple(objective or ("elbo",)), folds=folds,
                      seed=seed, space=space, storage=storage, study_name=study,
                      workers=workers, batch_trials=batch_trials, prune=prune, device=device,
                      threads=threads)
    check_sweep(ds, out, cfg)               # a bad space, objective, storage or --out: error
                                            # before the bar
    prog, update = progress_bar(quiet, "sweep trials")
    if prog:
        with prog:
            result = run_sweep(ds, out, cfg, progress=update, best=best)
    else:
        result = run_sweep(ds, out, cfg, best=best)
    typer.echo(format_summary(result))
