"""``hivlatent predict``: per-drug predictions for genotypes."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import OutFormat


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
    from ..data.genotype_files import read_genotypes
    from ..data.mutations import parse_arguments
    from ..errors import ConfigError
    from ..model import VAEModel
    from ..prediction import RESEARCH_NOTE, check_bundle, predict, to_csv, to_json, to_table

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
