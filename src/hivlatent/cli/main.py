"""The ``hivlatent`` command: the typer app, its commands (one module per command group, each
importing only :mod:`.options`), and the entry point that turns user errors into one line and exit
code 2. Heavy imports (torch, pandas) happen inside the commands, so ``--version`` and ``--help``
stay fast."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from .. import __version__
from ..errors import HivLatentError
from ..training.quick_exit import skip_final_collection
from . import data_cmd, evaluate_cmd, model_cmd, predict_cmd, study_cmd, sweep_cmd

app = typer.Typer(
    help="Latent representations of HIV-1 drug-resistance genotypes (Stanford HIVDB) with VAEs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,        # plain help: fast (no rich import), as readable
    add_completion=False,
)


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


app.add_typer(data_cmd.app, name="data")
app.command("summary")(model_cmd.summary_cmd)
app.command("train")(model_cmd.train_cmd)
app.command("encode")(model_cmd.encode_cmd)
app.command("study")(study_cmd.study_cmd)
app.command("evaluate")(evaluate_cmd.evaluate_cmd)
app.command("predict")(predict_cmd.predict_cmd)
app.add_typer(predict_cmd.models_app, name="models")
app.command("sweep")(sweep_cmd.sweep_cmd)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    skip_final_collection()
    try:
        app()
    except HivLatentError as exc:
        message = " ".join(str(exc).splitlines())
        typer.echo(f"error: {message}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
