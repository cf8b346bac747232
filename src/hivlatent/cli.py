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
        message = " ".join(str(exc).split())
        typer.echo(f"error: {message}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
