"""Predictions as text: a rich table for people, CSV (one row per virus and drug) and JSON
(one object per virus). The same facts in each."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from .predictor import RESEARCH_NOTE, VirusPrediction

#: columns of :func:`to_csv`, in order
CSV_COLUMNS = ["id", "mutations", "unrecognized", "drug", "fold_change", "fold_change_low",
               "fold_change_high", "p_resistant", "call", "rank"]



def to_records(predictions: Sequence[VirusPrediction]) -> list[dict]:
    """The JSON structure: one object per virus with ``id``, ``mutations``, ``unrecognized`` and
    ``drugs`` (objects with ``drug``, ``fold_change``, ``fold_change_low``,
    ``fold_change_high``, ``p_resistant``, ``call``, ``rank``), drugs listed by rank."""
    return [{
        "id": v.id,
        "mutations": list(v.mutations),
        "unrecognized": list(v.unrecognized),
        "drugs": [{
            "drug": d.drug, "fold_change": d.fold_change, "fold_change_low": d.fold_change_low,
            "fold_change_high": d.fold_change_high, "p_resistant": d.p_resistant,
            "call": d.call, "rank": d.rank,
        } for d in v.ranked()],
    } for v in predictions]


def to_json(predictions: Sequence[VirusPrediction], indent: int | None = 2) -> str:
    """JSON text: a list with one object per virus (see :func:`to_records`)."""
    return json.dumps(to_records(predictions), indent=indent, allow_nan=False) + "\n"


def _num(x: float) -> str:
    return f"{x:.6g}"


def to_csv(predictions: Sequence[VirusPrediction]) -> str:
    """CSV text, one row per virus x drug (columns :data:`CSV_COLUMNS`; drugs by rank).

    ``mutations`` and ``unrecognized`` are space-separated, so the file can be read back as
    genotype input (``id`` and ``mutations`` columns).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in predictions:
        for d in v.ranked():
            writer.writerow([v.id, " ".join(v.mutations), " ".join(v.unrecognized), d.drug,
                             _num(d.fold_change), _num(d.fold_change_low),
                             _num(d.fold_change_high), _num(d.p_resistant), d.call, d.rank])
    return buf.getvalue()


def _fold(x: float) -> str:
    return f"{x:.3g}" if x < 1000 else f"{x:.0f}"


def to_table(predictions: Sequence[VirusPrediction], width: int = 100,
             color: bool = False) -> str:
    """Human-readable tables (one per virus, drugs by rank) and the research-use note."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color,
                      color_system="standard" if color else None, highlight=False)
    styles = {"S": "green", "I": "yellow", "R": "red"}
    for v in predictions:
        pct = f"{100 * v.interval:g}%"
        title = escape(f"{v.id}: {' '.join(v.mutations) or 'no recognized mutations'}")
        table = Table(title=title, title_justify="left")
        table.add_column("Rank", justify="right")
        table.add_column("Drug")
        table.add_column("Fold change", justify="right")
        table.add_column(f"{pct} interval", justify="right")
        table.add_column("P(resistant)", justify="right")
        table.add_column("Call", justify="center")
        for d in v.ranked():
            table.add_row(str(d.rank), escape(d.drug), _fold(d.fold_change),
                          f"{_fold(d.fold_change_low)}-{_fold(d.fold_change_high)}",
                          f"{d.p_resistant:.3f}", f"[{styles[d.call]}]{d.call}[/]")
        console.print(table)
        if v.unrecognized:
            console.print(escape(f"  not in the model (ignored): {' '.join(v.unrecognized)}"),
                          soft_wrap=True)
        for note in v.notes:
            console.print(escape(f"  note: {note}"), soft_wrap=True)
        console.print()
    console.print("Call: S fold change < lower cutoff <= I < upper cutoff <= R. "
                  "Rank 1 = most likely to work.", soft_wrap=True)
    console.print(RESEARCH_NOTE, soft_wrap=True)
    return buf.getvalue()


