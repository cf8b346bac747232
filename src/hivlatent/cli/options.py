"""What the commands share: the data options (``--data``/``--x``/``--y`` ...), the model options,
the progress bar, and small parsers. Imported by every command module; it imports none of them."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from ..config import HIDDEN, LATENT

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
        from ..data import resolve_data

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


class ModelKind(str, Enum):
    vae = "vae"
    semi = "semi"


class Likelihood(str, Enum):
    bernoulli = "bernoulli"
    mse = "mse"


def parse_ints(text: str, what: str) -> tuple[int, ...]:
    from ..errors import ConfigError

    try:
        values = tuple(int(t) for t in text.replace(";", ",").split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"{what}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise ConfigError(f"{what}: expected at least one integer, got {text!r}")
    return values


def progress_bar(quiet: bool, description: str):
    """A rich progress bar and its callback ``fn(done, total, description="")`` (the
    :data:`hivlatent.config.Progress` signature; a no-op when quiet)."""
    if quiet:
        return None, (lambda *a: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=False, console=Console(stderr=True))
    task = prog.add_task(description, total=None)

    def update(done, total, description: str = "") -> None:
        if description:
            prog.update(task, description=str(description))
        prog.update(task, completed=done, total=total)

    return prog, update


def model_config(model: ModelKind, latent: int, hidden: str, likelihood: Likelihood,
                 dropout: float | None):
    from ..config import ModelConfig

    return ModelConfig(latent=latent, hidden=parse_ints(hidden, "--hidden"), likelihood=likelihood.value,
                       supervised=model == ModelKind.semi, dropout=dropout)


LATENT_OPTION = typer.Option(LATENT, "--latent", min=1, help="Latent dimensions.")
HIDDEN_OPTION = typer.Option(",".join(map(str, HIDDEN)), "--hidden",
                             help="Hidden layer widths, e.g. 128 or 256,64 (decoder mirrors).")
LIKELIHOOD_OPTION = typer.Option(Likelihood.bernoulli, "--likelihood",
                           help="Reconstruction likelihood: bernoulli (0/1 data) or mse (as the study).")
MODEL_OPTION = typer.Option(ModelKind.vae, "--model", help="vae (unsupervised) or semi (latent also predicts each drug).")
DEVICE_OPTION = typer.Option("cpu", "--device", help="cpu or cuda.")
QUIET_OPTION = typer.Option(False, "--quiet", "-q", help="No progress output.")
SVG_OPTION = typer.Option(False, "--svg", help="Also write every figure as SVG.")


def figure_formats(svg: bool) -> tuple[str, ...]:
    """The figure formats of ``--svg``: PNG always, SVG copies when asked."""
    return ("png", "svg") if svg else ("png",)


class OutFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
