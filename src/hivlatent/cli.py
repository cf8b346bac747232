"""Command-line interface: parse arguments, call the Python API, print. No logic of its own."""

from __future__ import annotations

import sys
from typing import Optional

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


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except HivLatentError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
