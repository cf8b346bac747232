"""``hivlatent data list`` and ``hivlatent data describe``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .options import DataOptions, data_options

app = typer.Typer(help="Known data sets: list and describe them.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command("list")
def data_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", metavar="DIR", help="Also look in this folder.", show_default=False),
) -> None:
    """List the known data sets and where each file is found (nothing is downloaded)."""
    from ..data import list_datasets

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


@app.command("describe")
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
    from ..data import describe_dataset
    from ..data.describe import render_description

    desc = describe_dataset(data_opts.load(), top=top)
    if as_json:
        typer.echo(json.dumps(desc, indent=2))
        return
    from rich.console import Console

    Console().print(render_description(desc))
