"""Predictions as text: JSON (one object per record), CSV (one row per record and drug) and a
table for people. The three carry the same facts."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from .predictor import RESEARCH_NOTE, DrugPrediction, VirusPrediction

#: columns of :func:`to_csv`, in order
CSV_COLUMNS = ["id", "error", "drug_class", "drug", "fold_change", "fold_change_low",
               "fold_change_high", "p_resistant", "call", "rank", "hivdb_score", "hivdb_level",
               "hivdb_text", "hivdb_version", "agree", "drivers", "neighbours", "note",
               "mutations", "unrecognized", "coverage", "warnings", "not_covered"]


def _drug(d: DrugPrediction) -> dict:
    return {"drug": d.drug, "class": d.drug_class, "fold_change": d.fold_change,
            "fold_change_low": d.fold_change_low, "fold_change_high": d.fold_change_high,
            "p_resistant": d.p_resistant, "call": d.call, "rank": d.rank,
            "hivdb_score": d.hivdb_score, "hivdb_level": d.hivdb_level,
            "hivdb_text": d.hivdb_text, "agree": d.agree,
            "drivers": [{"mutation": x.mutation, "delta_log10": x.delta} for x in d.drivers],
            "neighbours": [{"id": n.id, "fold_change": n.fold_change, "distance": n.distance}
                           for n in d.neighbours],
            "note": d.note}


def to_records(predictions: Sequence[VirusPrediction]) -> list[dict]:
    """The JSON structure: per record ``id``, ``error`` (null, or why it could not be read),
    ``mutations`` per gene (``{"RT": ["RT:M184V"]}``), ``coverage`` (first and last codon per
    gene, for sequences), ``warnings``, ``unrecognized``, ``not_covered`` (drug classes whose
    gene the input lacks), ``interval``, ``hivdb_version`` and ``drugs``, ranked."""
    return [{
        "id": v.id, "error": v.error,
        "mutations": {g: list(ms) for g, ms in v.mutations.items()},
        "coverage": {g: {"first": a, "last": b} for g, (a, b) in v.coverage.items()},
        "warnings": list(v.notes), "unrecognized": list(v.unrecognized),
        "not_covered": list(v.not_covered), "interval": v.interval,
        "hivdb_version": v.hivdb_version,
        "drugs": [_drug(d) for d in v.ranked()],
    } for v in predictions]


def to_json(predictions: Sequence[VirusPrediction], indent: int | None = 2) -> str:
    """JSON text: a list with one object per record (see :func:`to_records`)."""
    return json.dumps(to_records(predictions), indent=indent, allow_nan=False) + "\n"


def _num(x) -> str:
    return "" if x is None else f"{x:.6g}"


def to_csv(predictions: Sequence[VirusPrediction]) -> str:
    """CSV text, one row per record and drug (columns :data:`CSV_COLUMNS`; drugs ranked; a record
    without drugs, or that could not be read, has one row). Lists are ``; ``-separated;
    ``mutations`` is space-separated, so the file reads back as genotype input."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in predictions:
        common = {"id": v.id, "error": v.error or "", "mutations": " ".join(v.all_mutations),
                  "unrecognized": " ".join(v.unrecognized),
                  "coverage": "; ".join(f"{g} {a}-{b}" for g, (a, b) in v.coverage.items()),
                  "warnings": "; ".join(v.notes), "not_covered": "; ".join(v.not_covered),
                  "hivdb_version": v.hivdb_version or ""}
        for d in v.ranked() or [None]:
            row = dict(common)
            if d is not None:
                row.update({
                    "drug_class": d.drug_class, "drug": d.drug, "fold_change": _num(d.fold_change),
                    "fold_change_low": _num(d.fold_change_low),
                    "fold_change_high": _num(d.fold_change_high),
                    "p_resistant": _num(d.p_resistant), "call": d.call or "",
                    "rank": d.rank or "", "hivdb_score": _num(d.hivdb_score),
                    "hivdb_level": d.hivdb_level or "", "hivdb_text": d.hivdb_text or "",
                    "agree": "" if d.agree is None else ("yes" if d.agree else "no"),
                    "drivers": "; ".join(f"{x.mutation} {x.delta:+.2f}" for x in d.drivers),
                    "neighbours": "; ".join(f"{n.id} {n.fold_change:.3g}" for n in d.neighbours),
                    "note": d.note or ""})
            writer.writerow([row.get(c, "") for c in CSV_COLUMNS])
    return buf.getvalue()


def fold_text(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.3g}" if x < 1000 else f"{x:.0f}"


def to_table(predictions: Sequence[VirusPrediction], width: int = 120,
             color: bool = False) -> str:
    """Human-readable tables (one per record, drugs ranked) and the research-use note."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color,
                      color_system="standard" if color else None, highlight=False)
    styles = {"S": "green", "I": "yellow", "R": "red"}
    for v in predictions:
        if v.error:
            console.print(escape(f"{v.id}: error: {v.error}"), soft_wrap=True)
            console.print()
            continue
        title = escape(f"{v.id}: {' '.join(v.all_mutations) or 'no mutations'}")
        hivdb = v.hivdb_version is not None
        table = Table(title=title, title_justify="left")
        for name, just in (("Rank", "right"), ("Class", "left"), ("Drug", "left"),
                           ("Fold change", "right"), (f"{100 * v.interval:g}% interval", "right"),
                           ("P(resistant)", "right"), ("Call", "center")):
            table.add_column(name, justify=just)
        if hivdb:
            table.add_column(f"HIVdb {v.hivdb_version.split()[-1]}", justify="left")
            table.add_column("Agree", justify="center")
        table.add_column("Driven by (change in log10 fold)")
        for d in v.ranked():
            row = [str(d.rank or ""), d.drug_class, escape(d.drug), fold_text(d.fold_change),
                   f"{fold_text(d.fold_change_low)}-{fold_text(d.fold_change_high)}"
                   if d.predicted else "", "" if d.p_resistant is None else f"{d.p_resistant:.3f}",
                   f"[{styles[d.call]}]{d.call}[/]" if d.call
                   else ("too few data" if d.note else "no model")]
            if hivdb:
                row += ["" if d.hivdb_level is None else f"{d.hivdb_level} ({d.hivdb_score:g})",
                        "" if d.agree is None else ("yes" if d.agree else "no")]
            row.append(escape(", ".join(f"{x.mutation} {x.delta:+.2f}" for x in d.drivers)))
            table.add_row(*row)
        console.print(table)
        withheld = [f"{d.drug}: {d.note}" for d in v.ranked() if d.note]
        for label, items in (("coverage", [f"{g} {a}-{b}" for g, (a, b) in v.coverage.items()]),
                             ("not in the model (ignored)", v.unrecognized),
                             ("no learned answer", withheld),
                             ("not covered", v.not_covered), ("warning", v.notes)):
            if items:
                console.print(escape(f"  {label}: {'; '.join(items)}"), soft_wrap=True)
        console.print()
    console.print("Call: S fold change < lower cutoff <= I < upper cutoff <= R; P(resistant) > 0.5 "
                  "exactly when the call is I or R. Rank 1 = most likely to work. HIVdb level: "
                  "1 susceptible ... 5 high-level resistance.", soft_wrap=True)
    console.print(RESEARCH_NOTE, soft_wrap=True)
    return buf.getvalue()
