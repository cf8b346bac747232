"""``hivlatent predict``: genotypes or sequences in, per-drug answers out; and ``hivlatent models``,
which lists, trains ahead of time and removes the default models ``predict`` uses."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from .options import QUIET_OPTION, OutFormat, progress_bar

#: the exit code when some records could not be read or aligned (the others are answered)
SOME_RECORDS_FAILED = 3

models_app = typer.Typer(help="The default models predict uses, one per drug class: list, "
                              "train ahead of time, remove.", no_args_is_help=True,
                   rich_markup_mode=None)


def predict_cmd(
    genotypes: Optional[list[str]] = typer.Argument(
        None, metavar="[MODEL_DIR] [GENOTYPE]...", show_default=False,
        help="One virus per argument, e.g. 'M184V K65R' or 'RT:M184V PR:L90M' (no prefix: RT). "
             "A first argument that is a model folder is read as --model."),
    file: Optional[Path] = typer.Option(
        None, "--file", "-f", help="Viruses from a file: FASTA (first line starts with '>'), "
        "mutation lists (one per line, optional id and a tab first), a CSV with id and "
        "mutations columns, or an HIVDB table; '-' reads standard input (the same formats).",
        show_default=False),
    model: Optional[list[Path]] = typer.Option(
        None, "--model", "-m", help="A semi model folder (`hivlatent train --model semi`); "
        "repeat for several drug classes. Default: the cached default model of every class the "
        "input covers (trained on first use).", show_default=False),
    fmt: OutFormat = typer.Option(OutFormat.table, "--format", help="table, csv or json."),
    report: Optional[Path] = typer.Option(
        None, "--report", metavar="OUT.html", help="Also write a self-contained HTML report "
        "of the batch.", show_default=False),
    hivdb: Optional[bool] = typer.Option(
        None, "--hivdb/--no-hivdb", help="The Stanford HIVdb algorithm beside the model "
        "(default: when the hivdb extra is installed).", show_default=False),
    interval: float = typer.Option(0.9, "--interval", min=0.5, max=0.99,
                                   help="Probability of the fold-change interval."),
    neighbours: int = typer.Option(5, "--neighbours", min=0, max=50,
                                   help="Measured viruses shown nearest in the latent space."),
    drug_class: Optional[str] = typer.Option(
        None, "--drug-class", help="Expected class of a single --model (NRTI, NNRTI, PI or "
        "INSTI): an "
        "error when it is another.", show_default=False),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes aligning, subtyping and "
                                 "scoring (HIVdb) the records."),
    quiet: bool = QUIET_OPTION,
) -> None:
    """Predict every drug's fold change, resistance and rank for each virus, with the mutations
    that drive each prediction, the nearest measured viruses and HIVdb beside it.

    Exit status: 0 when every record was answered, 2 when the command could not run (a bad
    option or file, an empty input, no record answered), 3 when some records could not be read,
    aligned or answered (each is in the output with its error; the others are answered)."""
    from ..errors import ConfigError
    from ..files import check_output_file
    from ..prediction import RESEARCH_NOTE, predict_records
    from ..prediction.formats import write_output
    from ..prediction.inputs import from_arguments, from_file
    from ..prediction.prediction_report import is_prediction_report, write_prediction_report

    genotypes = list(genotypes or [])
    models = list(model or [])
    if genotypes and _is_path(genotypes[0]):             # `predict MODEL_DIR GENOTYPE ...`
        models.insert(0, Path(genotypes.pop(0)))
    if bool(genotypes) == (file is not None):
        raise ConfigError("give genotypes as arguments or --file, not both and not neither")
    if report is not None:
        inputs = [file] if file is not None and str(file) != "-" else []
        check_output_file(report, "--report", ours=is_prediction_report,
                          inputs=inputs + models)
    loaded = _load_models(models, drug_class)
    default_gene = next(iter(loaded.values()))[0].gene if len(loaded) == 1 else "RT"
    records = (from_file(file, default_gene, workers) if file is not None
               else from_arguments(genotypes, default_gene))
    unavailable: dict = {}
    classes: tuple = ()
    if not loaded:
        from ..prediction.defaults import CLASS_DATA

        loaded, unavailable = _default_models(records, quiet)
        classes = tuple(CLASS_DATA)
    _nothing_answered(records)
    answers = predict_records(records, loaded, interval, hivdb, neighbours=neighbours,
                              explain=True, unavailable=unavailable, classes=classes,
                              workers=workers)
    _nothing_answered(answers)
    if fmt != OutFormat.table:
        typer.echo(RESEARCH_NOTE, err=True)
    write_output(answers, fmt.value, sys.stdout)          # a record at a time
    if report is not None:
        write_prediction_report(answers, loaded, report)
        typer.echo(f"wrote {report}", err=True)
    failed = [a for a in answers if a.error]
    if failed:
        typer.echo(f"{len(failed)} of {len(answers)} record(s) could not be answered: "
                   + "; ".join(a.error for a in failed[:3]), err=True)
        raise typer.Exit(SOME_RECORDS_FAILED)


def _nothing_answered(items) -> None:
    """No record read, or none answered: a user error (exit 2) naming the first one."""
    from ..errors import DataError

    if items and all(r.error for r in items):
        raise DataError(items[0].error if len(items) == 1 else
                        f"none of the {len(items)} records could be answered; the first: "
                        f"{items[0].error}")


def _is_path(arg: str) -> bool:
    """Whether a first argument names a model folder rather than a genotype: it exists, or it
    is written as a path (a separator, and no mutation notation would read it)."""
    if Path(arg).exists():
        return True
    if os.sep not in arg:
        return False
    from ..data.mutations import parse_genotype
    from ..errors import DataError

    try:
        parse_genotype(arg, "RT")
    except DataError:
        return True
    return False


def _load_models(folders: list[Path], drug_class: str | None) -> dict:
    from ..errors import ConfigError
    from ..model import VAEModel
    from ..prediction import check_bundle
    from ..bundle import load_reference

    out: dict = {}
    for folder in folders:
        m = VAEModel.load(folder)
        check_bundle(m, folder, drug_class if len(folders) == 1 else None)
        if m.drug_class in out:
            raise ConfigError(f"--model {folder}: a second {m.drug_class} model; give one model "
                              "per drug class")
        out[m.drug_class] = (m, load_reference(folder))
    return out


def _default_models(records, quiet: bool) -> tuple[dict, dict]:
    """The cached default model of each class whose gene some record covers (trained on first
    use, with a progress bar and its run time on stderr), and the classes whose model cannot be
    had because their table cannot be found (HIVDB serves only some tables for download), each
    with why: their drugs get HIVdb's answer only. When no class's model can be had, the first
    class's error stops the command."""
    from ..errors import DataError
    from ..prediction import defaults
    from ..prediction.predictor import CLASS_GENES

    genes = {g for r in records if r.ok for g in r.genes}
    out, unavailable = {}, {}
    for c in defaults.CLASS_DATA:
        if CLASS_GENES[c] not in genes:
            continue
        try:
            state = defaults.status([c])[0]
            ready = state.ready
            if not ready:
                defaults.check_cache()          # before any work: the cache can be written
                defaults.folder_for(c)          # the table to train on, found or downloaded
        except DataError as exc:
            unavailable[c] = (f"no {c} model: {exc}", exc)
            continue
        if not ready and not quiet and not state.damaged:
            typer.echo(f"training the default {c} model on first use (once; see `hivlatent "
                       "models`)", err=True)
        t0 = time.perf_counter()
        prog, update = progress_bar(quiet or ready, f"{c} model")
        if prog:
            with prog:
                out[c] = defaults.get(c, update, note=_note)
        else:
            out[c] = defaults.get(c, note=_note)
        if not ready and not quiet:
            typer.echo(f"trained the default {c} model in {time.perf_counter() - t0:.0f} s",
                       err=True)
    if unavailable and not out:
        raise next(iter(unavailable.values()))[1]
    for why, _ in unavailable.values():
        typer.echo(f"note: {why}", err=True)
    return out, {c: why for c, (why, _) in unavailable.items()}


def _note(text: str) -> None:
    typer.echo(f"note: {text}", err=True)


@models_app.command("list")
def models_list() -> None:
    """The default models: where each is cached, and whether it is trained."""
    from ..errors import ConfigError
    from ..prediction import defaults

    try:
        defaults.check_cache()
    except ConfigError as exc:      # listing needs no writable cache, training does: said
        _note(f"{exc}; predict cannot train models there")
    for m in defaults.status():
        typer.echo(f"{m.drug_class:6} {'ready' if m.ready else 'missing':8} {m.folder}  {m.note}")
    for folder in defaults.stale():
        typer.echo(f"stale  {folder} (another table or version; `hivlatent models remove` "
                   "clears it)")


@models_app.command("train")
def models_train(
    drug_class: Optional[list[str]] = typer.Option(
        None, "--class", help="NRTI, NNRTI, PI or INSTI; repeat (default: all).",
        show_default=False),
    quiet: bool = QUIET_OPTION,
) -> None:
    """Train the default models ahead of time (again, if they are there)."""
    from ..prediction import defaults

    classes = defaults.check_classes(drug_class)
    defaults.check_cache()                      # before minutes of training
    for c in classes:
        t0 = time.perf_counter()
        prog, update = progress_bar(quiet, f"{c} model")
        if prog:
            with prog:
                folder = defaults.train(c, update, note=_note)
        else:
            folder = defaults.train(c, note=_note)
        typer.echo(f"trained the default {c} model in {time.perf_counter() - t0:.0f} s: {folder}")


@models_app.command("remove")
def models_remove(
    drug_class: Optional[list[str]] = typer.Option(
        None, "--class", help="NRTI, NNRTI, PI or INSTI; repeat (default: all).",
        show_default=False),
) -> None:
    """Remove cached default models (every version); predict trains them again when needed."""
    from ..prediction import defaults

    gone = defaults.remove(drug_class, note=_note)
    typer.echo("\n".join(f"removed {p}" for p in gone) or "nothing to remove")
