"""``hivlatent summary``, ``hivlatent train`` and ``hivlatent encode``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..config import (
    SEMI_DROPOUT,
    SEMI_MEMBERS,
    SUP_WEIGHT,
    ModelConfig,
    TrainConfig,
    default_train_config,
)
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
    features: Optional[int] = typer.Option(
        None, "--features", min=1, show_default=False,
        help="Input mutation features (default: those of the study's data, nrti-1246)."),
    drugs: Optional[int] = typer.Option(
        None, "--drugs", min=1, show_default=False,
        help="Drugs, heads of the semi model (default: those of nrti-1246)."),
) -> None:
    """Print a Keras-style table of the encoder and decoder layers with parameter counts."""
    from ..nn.summary import summary

    cfg = model_config(model, latent, hidden, likelihood, None)
    from ..data import nrti1246

    features = len(nrti1246.FEATURES) if features is None else features
    drugs = len(nrti1246.DRUGS) if drugs is None else drugs
    typer.echo(summary(cfg, features, drugs if cfg.supervised else 0))


def _by_kind(vae, semi) -> str:
    return f"default: {vae} (vae), {semi} (semi)" if vae != semi else f"default: {vae}"


_VAE_T, _SEMI_T = TrainConfig(), default_train_config(ModelConfig(supervised=True))


@data_options()
def train_cmd(
    data_opts: DataOptions,
    save: Path = typer.Option(..., "--save", help="Folder to write the model bundle to."),
    model: ModelKind = MODEL_OPTION, latent: int = LATENT_OPTION, hidden: str = HIDDEN_OPTION,
    likelihood: Likelihood = LIKELIHOOD_OPTION,
    dropout: Optional[float] = typer.Option(
        None, "--dropout", show_default=False,
        help=f"Dropout on hidden layers ({_by_kind(0.0, SEMI_DROPOUT)})."),
    epochs: Optional[int] = typer.Option(
        None, "--epochs", min=1, show_default=False, help=_by_kind(_VAE_T.epochs, _SEMI_T.epochs) + "."),
    batch_size: int = typer.Option(_VAE_T.batch_size, "--batch-size", min=1),
    lr: float = typer.Option(_VAE_T.lr, "--lr", help="Adam learning rate."),
    beta: float = typer.Option(_VAE_T.beta, "--beta", help="Weight of the KL term."),
    warmup: int = typer.Option(0, "--warmup", min=0, help="KL warm-up epochs (beta rises linearly)."),
    sup_weight: float = typer.Option(SUP_WEIGHT, "--sup-weight",
                                     help="Weight of the supervised terms (semi)."),
    patience: Optional[int] = typer.Option(
        None, "--patience", min=0, show_default=False,
        help=f"Early stopping patience in epochs, 0 = off ({_by_kind(_VAE_T.patience, _SEMI_T.patience)})."),
    val_fraction: Optional[float] = typer.Option(
        None, "--val-fraction", show_default=False,
        help=f"Held-out validation fraction ({_by_kind(_VAE_T.val_fraction, _SEMI_T.val_fraction)})."),
    members: Optional[int] = typer.Option(
        None, "--members", min=1, show_default=False,
        help=f"Ensemble size, trained together ({_by_kind(1, SEMI_MEMBERS)})."),
    seed: int = typer.Option(0, "--seed"),
    device: str = DEVICE_OPTION, quiet: bool = QUIET_OPTION,
) -> None:
    """Train one model (or an ensemble trained as one) and save it as a bundle.

    With no options, --model semi is the evaluated configuration (docs/results/trust.md)."""
    from ..bundle import check_bundle_target, reference_files
    from ..model import VAEModel, check_device

    cfg = model_config(model, latent, hidden, likelihood, dropout)
    given = dict(epochs=epochs, batch_size=batch_size, lr=lr, beta=beta, warmup_epochs=warmup,
                 sup_weight=sup_weight, patience=patience, val_fraction=val_fraction, seed=seed)
    tc = default_train_config(cfg, **{k: v for k, v in given.items() if v is not None})
    check_device(device)
    replaces = check_bundle_target(save)          # before any work: the model is never lost
    ds = data_opts.load()
    vae = VAEModel(cfg, tc, n_members=members, device=device)
    prog, update = progress_bar(quiet, f"training {cfg.label} on {ds.name}")
    if prog:
        with prog:
            vae.fit(ds, progress=update)
    else:
        vae.fit(ds)
    failed = [s for s in vae.statuses if s.startswith("failed")]
    extra = None
    if cfg.supervised and vae.working_members_or_none():   # the measured viruses, for predict's
        from ..prediction.reference import Reference  # neighbours and latent maps

        extra = reference_files(Reference.build(vae, ds))
    vae.save(save, extra_files=extra)   # refuses (a one-line error) when every member failed
    h = vae.history.iloc[-1]
    for k, status in enumerate(vae.statuses):
        if status.startswith("failed"):
            typer.echo(f"warning: member {k}: {status}; predictions use the other "
                       f"{vae.n_members - len(failed)} member(s)", err=True)
        elif status != "ok" and vae.n_members == 1:
            typer.echo(f"note: {status}", err=True)
    typer.echo(f"{'replaced the bundle at' if replaces else 'saved'} {save} ({cfg.label}, "
               f"{vae.n_members} member(s)); last epoch {int(h['epoch'])}: train loss "
               f"{h['train_loss']:.3f}, validation loss {h['val_loss']:.3f}")


@data_options()
def encode_cmd(
    data_opts: DataOptions,
    model_dir: Path = typer.Argument(..., help="A model folder written by `hivlatent train --save`."),
    out: Path = typer.Option(..., "--out", help="CSV to write: id, then z1..zk (latent means)."),
    member: Optional[int] = typer.Option(
        None, "--member", min=0, show_default=False,
        help="Ensemble member to use (default: the first that trained without failing)."),
) -> None:
    """Write the latent means of every row of the data, with the row's id."""
    from ..files import check_output_file
    from ..model import VAEModel

    check_output_file(out, "--out", ours=_is_latent_csv)
    vae = VAEModel.load(model_dir)
    ds = data_opts.load()
    frame, notes = vae.encode_frame(ds, member)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    from ..files import write_csv

    write_csv(frame, out)
    typer.echo(f"wrote {out}: {len(frame)} rows x {frame.shape[1] - 1} latent dimensions")


def _is_latent_csv(path: Path) -> bool:
    """Whether ``path`` is a latent CSV that ``encode`` wrote (header id,z1,...)."""
    try:
        with path.open(encoding="utf-8") as fh:
            return fh.readline().startswith("id,z1")
    except (OSError, UnicodeDecodeError):
        return False
