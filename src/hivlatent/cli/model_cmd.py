"""``hivlatent summary``, ``hivlatent train`` and ``hivlatent encode``."""

from __future__ import annotations

from pathlib import Path

import typer

from .options import (
    DEVICE_OPTION,
    HIDDEN_OPTION,
    LATENT_OPTION,
    LIKELIHOOD_OPTION,
    MODEL_OPTION,
    QUIET_OPTION,
    DataOptions,
    Likelihood,
    ModelKind,
    data_options,
    model_config,
    progress_bar,
)


def summary_cmd(
    model: ModelKind = MODEL_OPTION, latent: int = LATENT_OPTION, hidden: str = HIDDEN_OPTION,
    likelihood: Likelihood = LIKELIHOOD_OPTION,
    features: int = typer.Option(228, "--features", min=1, help="Input mutation features."),
    drugs: int = typer.Option(5, "--drugs", min=1, help="Drugs (heads of the semi model)."),
) -> None:
    """Print a Keras-style table of the encoder and decoder layers with parameter counts."""
    from ..nn.summary import summary

    cfg = model_config(model, latent, hidden, likelihood, 0.0)
    typer.echo(summary(cfg, features, drugs if cfg.supervised else 0))


@data_options()
def train_cmd(
    data_opts: DataOptions,
    save: Path = typer.Option(..., "--save", help="Folder to write the model bundle to."),
    model: ModelKind = MODEL_OPTION, latent: int = LATENT_OPTION, hidden: str = HIDDEN_OPTION,
    likelihood: Likelihood = LIKELIHOOD_OPTION,
    dropout: float = typer.Option(0.0, "--dropout", help="Dropout on hidden layers."),
    epochs: int = typer.Option(100, "--epochs", min=1),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate."),
    beta: float = typer.Option(1.0, "--beta", help="Weight of the KL term."),
    warmup: int = typer.Option(0, "--warmup", min=0, help="KL warm-up epochs (beta rises linearly)."),
    sup_weight: float = typer.Option(20.0, "--sup-weight", help="Weight of the supervised terms (semi)."),
    patience: int = typer.Option(0, "--patience", min=0, help="Early stopping patience in epochs (0 = off)."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Held-out validation fraction."),
    members: int = typer.Option(1, "--members", min=1, help="Ensemble size (trained together)."),
    seed: int = typer.Option(0, "--seed"),
    device: str = DEVICE_OPTION, quiet: bool = QUIET_OPTION,
) -> None:
    """Train one model (or an ensemble trained as one) and save it as a bundle."""
    from ..config import TrainConfig
    from ..model import VAEModel

    ds = data_opts.load()
    cfg = model_config(model, latent, hidden, likelihood, dropout)
    tc = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, beta=beta, warmup_epochs=warmup,
                     sup_weight=sup_weight if cfg.supervised else 0.0, patience=patience,
                     val_fraction=val_fraction, seed=seed)
    vae = VAEModel(cfg, tc, n_members=members, device=device)
    prog, update = progress_bar(quiet, f"training {cfg.label} on {ds.name}")
    if prog:
        with prog:
            vae.fit(ds, on_epoch=update)
    else:
        vae.fit(ds)
    vae.save(save)
    h = vae.history.iloc[-1]
    for status in set(vae.statuses) - {"ok"}:
        typer.echo(f"warning: {status}", err=True)
    typer.echo(f"saved {save} ({cfg.label}, {members} member(s)); last epoch {int(h['epoch'])}: "
               f"train loss {h['train_loss']:.3f}, validation loss {h['val_loss']:.3f}")


@data_options()
def encode_cmd(
    data_opts: DataOptions,
    model_dir: Path = typer.Argument(..., help="A model folder written by `hivlatent train --save`."),
    out: Path = typer.Option(..., "--out", help="CSV to write: id, then z1..zk (latent means)."),
    member: int = typer.Option(0, "--member", min=0, help="Ensemble member to use."),
) -> None:
    """Write the latent means of every row of the data, with the row's id."""
    from ..model import VAEModel

    vae = VAEModel.load(model_dir)
    ds = data_opts.load()
    frame, notes = vae.encode_frame(ds, member)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    from ..files import write_csv

    write_csv(frame, out)
    typer.echo(f"wrote {out}: {len(frame)} rows x {frame.shape[1] - 1} latent dimensions")
