"""Command-line interface: parse arguments, call the Python API, print. No logic of its own."""

from __future__ import annotations

import functools
import inspect
import json
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from . import __version__
from .errors import HivLatentError

app = typer.Typer(
    help="Latent representations of HIV-1 drug-resistance genotypes (Stanford HIVDB) with VAEs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Known data sets: list and describe them.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hivlatent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """hivlatent: VAEs, honest evaluation and drug ranking for HIVDB genotype-phenotype data."""


# ---------------------------------------------------------------------------------------------
# The data options, shared by every command that reads data (data describe, train, encode,
# study, evaluate, sweep). Decorate a command with @data_options(...) and give it a parameter
# `data_opts: DataOptions`; call `data_opts.load()` to get the Dataset.

_DATA_HELP = ("A data set name (nrti-1246, nrti, nnrti, pi, pi-full), a path to an HIVDB table "
              "(tab or CSV) or to MTPS's HIV.rda. Or give --x and --y instead.")


class YScale(str, Enum):
    """What the --y file holds."""

    fold = "fold"
    log10 = "log10"


@dataclass(frozen=True)
class DataOptions:
    """The data options of one command line, resolved by :func:`hivlatent.data.resolve_data`."""

    data: Optional[str] = None
    x: Optional[Path] = None
    y: Optional[Path] = None
    y_scale: str = "log10"
    id_column: Optional[str] = None
    cutoffs: Optional[Path] = None
    drugs: Optional[str] = None
    data_dir: Optional[Path] = None
    default: Optional[str] = None

    @property
    def drug_list(self) -> Optional[list[str]]:
        if not self.drugs:
            return None
        return [d.strip() for d in self.drugs.replace(";", ",").split(",") if d.strip()]

    def load(self):
        """The Dataset these options describe."""
        from .data import resolve_data

        return resolve_data(self.data, self.x, self.y, self.y_scale, id_column=self.id_column,
                            cutoffs=self.cutoffs, drugs=self.drug_list, data_dir=self.data_dir,
                            default=self.default)


def _data_parameters(positional: bool, default: Optional[str]) -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    data_help = _DATA_HELP + (f" Default: {default}." if default else "")
    if positional:
        data_default: Any = typer.Argument(None, metavar="DATA", help=data_help,
                                           show_default=False)
    else:
        data_default = typer.Option(None, "--data", "-d", metavar="DATA", help=data_help,
                                    show_default=False)
    specs: list[tuple[str, Any, Any]] = [
        ("_data", Optional[str], data_default),
        ("_x", Optional[Path], typer.Option(
            None, "--x", metavar="X.csv", help="Design matrix: one 0/1 column per mutation "
            "(optional id column such as row or SeqID).", show_default=False)),
        ("_y", Optional[Path], typer.Option(
            None, "--y", metavar="Y.csv", help="Phenotypes for --x: one column per drug.",
            show_default=False)),
        ("_y_scale", YScale, typer.Option(
            YScale.log10, "--y-scale", help="What --y holds: fold change or log10 fold change.")),
        ("_id_column", Optional[str], typer.Option(
            None, "--id-column", metavar="NAME", help="Id column shared by --x and --y "
            "(default: row, SeqID or id when both have it; else rows match by order).",
            show_default=False)),
        ("_cutoffs", Optional[Path], typer.Option(
            None, "--cutoffs", metavar="FILE", help="CSV drug,lower[,upper] overriding the "
            "fold-change cutoffs (resistant = fold >= lower).", show_default=False)),
        ("_drugs", Optional[str], typer.Option(
            None, "--drugs", metavar="D1,D2", help="Keep only these drugs, in this order "
            "(e.g. ABC,3TC).", show_default=False)),
        ("_data_dir", Optional[Path], typer.Option(
            None, "--data-dir", metavar="DIR", help="Folder holding the named data sets' files "
            "(default: $HIVLATENT_DATA_DIR, then the cache, then a download from HIVDB).",
            show_default=False)),
    ]
    return [inspect.Parameter(name, kw, annotation=ann, default=dflt)
            for name, ann, dflt in specs]


def data_options(positional: bool = False, default: Optional[str] = None) -> Callable:
    """Add the shared data options to a typer command.

    The command gets ``DATA`` as a positional argument (``positional=True``, as in
    ``data describe DATA``) or as ``--data DATA``, plus ``--x``, ``--y``, ``--y-scale``,
    ``--id-column``, ``--cutoffs``, ``--drugs`` and ``--data-dir``, and receives them as one
    keyword argument ``data_opts: DataOptions``. ``default``: the data set used when none is given
    (None = the user must give one).
    """

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func, eval_str=True)
        if "data_opts" not in sig.parameters:
            raise TypeError(f"{func.__name__} must take a parameter 'data_opts'")
        own = [p for name, p in sig.parameters.items() if name != "data_opts"]
        added = _data_parameters(positional, default)
        names = [p.name for p in added]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names}
            opts = DataOptions(
                data=values["_data"], x=values["_x"], y=values["_y"], y_scale=YScale(values["_y_scale"]).value,
                id_column=values["_id_column"], cutoffs=values["_cutoffs"],
                drugs=values["_drugs"], data_dir=values["_data_dir"], default=default,
            )
            return func(*args, data_opts=opts, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=own + added)  # type: ignore[attr-defined]
        return wrapper

    return decorate


# ---------------------------------------------------------------------------------------------
# hivlatent data ...


@data_app.command("list")
def data_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", metavar="DIR", help="Also look in this folder.", show_default=False),
) -> None:
    """List the known data sets and where each file is found (nothing is downloaded)."""
    from .data import list_datasets

    listing = list_datasets(data_dir)
    if as_json:
        typer.echo(json.dumps([
            {"name": d.name, "description": d.description, "file": d.filename,
             "found": None if d.found is None else str(d.found), "downloadable": d.downloadable}
            for d in listing], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Known data sets")
    for col in ("name", "description", "file", "where"):
        table.add_column(col, overflow="fold")
    for d in listing:
        table.add_row(d.name, d.description, d.filename, d.where)
    Console().print(table)


@data_app.command("describe")
@data_options(positional=True)
def data_describe(
    data_opts: DataOptions,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    top: int = typer.Option(15, "--top", min=0, help="How many of the most frequent mutations."),
) -> None:
    """Describe a data set: rows, features, per-drug phenotypes and frequent mutations.

    Per drug: how many rows were tested, the missing fraction, and the resistant fraction among
    the tested (resistant = fold change >= the drug's cutoff).
    """
    from .data import describe_dataset
    from .data.describe import render_description

    desc = describe_dataset(data_opts.load(), top=top)
    if as_json:
        typer.echo(json.dumps(desc, indent=2))
        return
    from rich.console import Console

    Console().print(render_description(desc))


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except HivLatentError as exc:
        message = " ".join(str(exc).splitlines())
        typer.echo(f"error: {message}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()


# ---------------------------------------------------------------------------------------------
# Models: summary, train, encode, study, evaluate, predict.


class ModelKind(str, Enum):
    vae = "vae"
    semi = "semi"


class Likelihood(str, Enum):
    bernoulli = "bernoulli"
    mse = "mse"


def _ints(text: str, what: str) -> tuple[int, ...]:
    from .errors import ConfigError

    try:
        values = tuple(int(t) for t in text.replace(";", ",").split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"{what}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise ConfigError(f"{what}: expected at least one integer, got {text!r}")
    return values


def _progress(quiet: bool, description: str):
    """A rich progress bar as a callback ``fn(done, total)`` (a no-op when quiet)."""
    if quiet:
        return None, (lambda *a: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=False)
    task = prog.add_task(description, total=None)

    def update(*args):
        *label, done, total = args
        if label:
            prog.update(task, description=str(label[0]))
        prog.update(task, completed=done, total=total)

    return prog, update


def _model_config(model: ModelKind, latent: int, hidden: str, likelihood: Likelihood, dropout: float):
    from .config import ModelConfig

    return ModelConfig(latent=latent, hidden=_ints(hidden, "--hidden"), likelihood=likelihood.value,
                       supervised=model == ModelKind.semi, dropout=dropout)


_LATENT = typer.Option(10, "--latent", min=1, help="Latent dimensions.")
_HIDDEN = typer.Option("128", "--hidden", help="Hidden layer widths, e.g. 128 or 256,64 (decoder mirrors).")
_LIKELIHOOD = typer.Option(Likelihood.bernoulli, "--likelihood",
                           help="Reconstruction likelihood: bernoulli (0/1 data) or mse (as the study).")
_MODEL = typer.Option(ModelKind.vae, "--model", help="vae (unsupervised) or semi (latent also predicts each drug).")
_DEVICE = typer.Option("cpu", "--device", help="cpu or cuda.")
_QUIET = typer.Option(False, "--quiet", "-q", help="No progress output.")


@app.command("summary")
def summary_cmd(
    model: ModelKind = _MODEL, latent: int = _LATENT, hidden: str = _HIDDEN,
    likelihood: Likelihood = _LIKELIHOOD,
    features: int = typer.Option(228, "--features", min=1, help="Input mutation features."),
    drugs: int = typer.Option(5, "--drugs", min=1, help="Drugs (heads of the semi model)."),
) -> None:
    """Print a Keras-style table of the encoder and decoder layers with parameter counts."""
    from .models.summary import summary

    cfg = _model_config(model, latent, hidden, likelihood, 0.0)
    typer.echo(summary(cfg, features, drugs if cfg.supervised else 0))


@app.command("train")
@data_options()
def train_cmd(
    data_opts: DataOptions,
    save: Path = typer.Option(..., "--save", help="Folder to write the model bundle to."),
    model: ModelKind = _MODEL, latent: int = _LATENT, hidden: str = _HIDDEN,
    likelihood: Likelihood = _LIKELIHOOD,
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
    device: str = _DEVICE, quiet: bool = _QUIET,
) -> None:
    """Train one model (or an ensemble trained as one) and save it as a bundle."""
    from .config import TrainConfig
    from .model import VAEModel

    ds = data_opts.load()
    cfg = _model_config(model, latent, hidden, likelihood, dropout)
    tc = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, beta=beta, warmup_epochs=warmup,
                     sup_weight=sup_weight if cfg.supervised else 0.0, patience=patience,
                     val_fraction=val_fraction, seed=seed)
    vae = VAEModel(cfg, tc, n_members=members, device=device)
    prog, update = _progress(quiet, f"training {cfg.label} on {ds.name}")
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


@app.command("encode")
@data_options()
def encode_cmd(
    data_opts: DataOptions,
    model_dir: Path = typer.Argument(..., help="A model folder written by `hivlatent train --save`."),
    out: Path = typer.Option(..., "--out", help="CSV to write: id, then z1..zk (latent means)."),
    member: int = typer.Option(0, "--member", min=0, help="Ensemble member to use."),
) -> None:
    """Write the latent means of every row of the data, with the row's id."""
    from .model import VAEModel

    vae = VAEModel.load(model_dir)
    ds = data_opts.load()
    frame, notes = vae.encode_frame(ds, member)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    from .atomic import write_csv

    write_csv(frame, out)
    typer.echo(f"wrote {out}: {len(frame)} rows x {frame.shape[1] - 1} latent dimensions")


@app.command("study")
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
    device: str = _DEVICE, quiet: bool = _QUIET,
) -> None:
    """Reproduce the study: the grid, loss curves, heatmaps, latent plots, summary and report."""
    from .study import StudyConfig, run_study

    ds = data_opts.load()
    grid = dict(likelihood=likelihood.value, seeds=seeds, seed=seed)
    if quick:
        cfg = StudyConfig.quick(**grid)
    else:
        cfg = StudyConfig(epochs=_ints(epochs, "--epochs"), batch_sizes=_ints(batch_sizes, "--batch-sizes"),
                          hidden_sizes=_ints(hidden_sizes, "--hidden-sizes"),
                          latent_sizes=_ints(latent_sizes, "--latent-sizes"), **grid)
    prog, update = _progress(quiet, "study")
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


@app.command("evaluate")
@data_options(default="nrti-1246")
def evaluate_cmd(
    data_opts: DataOptions,
    out: Path = typer.Option(Path("runs/evaluate"), "--out", help="Folder for metrics.csv, the figure and report."),
    methods: str = typer.Option("raw-lr,raw-rf,raw-ridge,raw-rfreg,pca10-lr,vae10,semi10", "--methods",
                                help="Comma-separated: raw-lr, raw-rf, raw-ridge, raw-rfreg, pcaK-lr, vaeK, semiK."),
    folds: int = typer.Option(5, "--folds", min=2),
    seed: int = typer.Option(0, "--seed"),
    group_by: Optional[str] = typer.Option(None, "--group-by", help="Column (e.g. PtID) whose values never straddle folds."),
    epochs: int = typer.Option(100, "--epochs", min=1, help="Epochs of the VAE / semi models."),
    members: int = typer.Option(3, "--members", min=1, help="Ensemble size of the semi model."),
    extra: Optional[str] = typer.Option("auto", "--extra", help="Data set whose other rows also train the semi model "
                                        "(auto: nrti for nrti-1246; none to disable)."),
    n_jobs: int = typer.Option(2, "--n-jobs", min=1, help="Threads for the random forests."),
    device: str = _DEVICE, quiet: bool = _QUIET,
) -> None:
    """Cross-validated per-drug metrics of representations, baselines and models."""
    from .evaluation.run import run_evaluation

    ds = data_opts.load()
    prog, update = _progress(quiet, "evaluate")
    kwargs = dict(methods=[m.strip() for m in methods.split(",") if m.strip()], folds=folds, seed=seed,
                  group_by=group_by, epochs=epochs, members=members, extra=extra, n_jobs=n_jobs,
                  device=device)
    if prog:
        with prog:
            result = run_evaluation(ds, out, progress=lambda d, t, desc="": update(desc, d, t), **kwargs)
    else:
        result = run_evaluation(ds, out, **kwargs)
    typer.echo(result.table_text)
    typer.echo(f"wrote {out / 'metrics.csv'} and {out / 'report.html'}")


class OutFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command("predict")
def predict_cmd(
    model_dir: Path = typer.Argument(..., help="A semi model folder (`hivlatent train --model semi --save DIR`)."),
    genotypes: Optional[list[str]] = typer.Argument(None, help="One virus per argument, e.g. 'M184V K65R'."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Genotypes: one per line, CSV with id and "
                                        "mutations columns, or an HIVDB table."),
    fmt: OutFormat = typer.Option(OutFormat.table, "--format", help="table, csv or json."),
    samples: int = typer.Option(100, "--samples", min=1, help="Posterior/ensemble samples for the interval."),
    seed: int = typer.Option(0, "--seed"),
    drug_class: Optional[str] = typer.Option(None, "--drug-class", help="Expected class of the bundle "
                                             "(NRTI, NNRTI or PI): an error when it is another."),
) -> None:
    """Predict per-drug fold change, resistance and a drug ranking for each virus."""
    from .data.mutations import parse_arguments, read_genotypes
    from .errors import ConfigError
    from .model import VAEModel
    from .predict import RESEARCH_NOTE, predict, to_csv, to_json, to_table

    from .predict import check_bundle

    vae = VAEModel.load(model_dir)
    if bool(genotypes) == (file is not None):
        raise ConfigError("give genotypes as arguments or --file, not both and not neither")
    check_bundle(vae, model_dir, drug_class)
    viruses = read_genotypes(file, vae.gene) if file is not None else parse_arguments(genotypes, vae.gene)
    preds = predict(vae, viruses, n_samples=samples, seed=seed)
    if fmt == OutFormat.table:
        typer.echo(to_table(preds))
    else:
        typer.echo(RESEARCH_NOTE, err=True)
        for p in preds:
            for note in p.notes:
                typer.echo(f"note: {p.id}: {note}", err=True)
        typer.echo(to_csv(preds) if fmt == OutFormat.csv else to_json(preds), nl=False)


# hivlatent sweep (Optuna), defined beside its API
from .sweep_cli import register as _register_sweep  # noqa: E402

_register_sweep(app)
