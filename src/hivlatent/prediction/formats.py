"""Predictions as text: JSON (the run's metadata and one object per record), CSV (one row per
record and drug) and a table for people. JSON and CSV carry every fact; the table keeps to what a
reader scans (HIVdb's comments and partial scores are in JSON, CSV and the HTML report).

Every format says which hivlatent answered, which models (:func:`~.predictor.model_identity`)
and which HIVdb algorithm version: JSON in its top-level fields, CSV in the columns
``hivlatent_version``, ``model`` and ``hivdb_version`` of every row, the table in its last lines.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence

from .. import __version__
from .escaping import csv_cell, visible
from .predictor import RESEARCH_NOTE, DrugPrediction, VirusPrediction
from .text_table import render_table

#: columns of :func:`to_csv`, in order
CSV_COLUMNS = ["id", "error", "drug_class", "drug", "fold_change", "fold_change_low",
               "fold_change_high", "p_resistant", "call", "rank", "hivdb_score", "hivdb_level",
               "hivdb_text", "hivdb_partial_scores", "hivdb_version", "agree", "drivers",
               "neighbours", "note", "mutations", "hivdb_mutations", "sdrms", "unrecognized",
               "coverage", "warnings", "not_covered", "subtype", "subtype_distance", "applicability",
               "applicability_percentile", "applicability_note", "model", "hivlatent_version"]
#: the columns holding numbers (written by this module); every other cell is text, written
#: through :func:`~.escaping.csv_cell`
NUMERIC_COLUMNS = frozenset({"fold_change", "fold_change_low", "fold_change_high", "p_resistant",
                             "rank", "hivdb_score", "subtype_distance",
                             "applicability_percentile"})


def models_of(predictions: Sequence[VirusPrediction]) -> dict[str, dict]:
    """Drug class -> identity of the model that answered it, over a batch."""
    out: dict[str, dict] = {}
    for v in predictions:
        for d in v.drugs:
            if d.model is not None:
                out.setdefault(d.drug_class, dict(d.model))
    return out


def model_text(ident) -> str:
    """One line naming a model: ``NRTI model: nrti (sha256 68834a3b7aad), hivlatent 0.3.1``."""
    if not ident:
        return ""
    sha = (ident.get("data_sha256") or "")[:12]
    return (f"{ident.get('class')} model: {ident.get('data')}"
            + (f" (sha256 {sha})" if sha else "") + f", hivlatent {ident.get('hivlatent')}")


def metadata(predictions: Sequence[VirusPrediction]) -> dict:
    """What answered: the hivlatent version, the models per class, the HIVdb algorithm."""
    return {"hivlatent_version": __version__,
            "hivdb_algorithm": next((v.hivdb_version for v in predictions if v.hivdb_version),
                                    None),
            "models": models_of(predictions), "research_note": RESEARCH_NOTE}


def _annotation_text(a) -> str:
    flags = [f for f, on in (("SDRM", a.is_sdrm), ("unusual", a.is_unusual),
                             ("APOBEC", a.is_apobec_mutation or a.is_apobec_drm),
                             ("stop", a.has_stop)) if on]
    return f"{a.name} ({', '.join([a.primary_type] + flags)})"


def partials_text(d: DrugPrediction) -> str:
    """``RT:M184V 60; RT:M41L+RT:T215Y 10``: the HIVdb rules that fired and their scores."""
    return "; ".join(f"{'+'.join(muts)} {score:+g}".replace("+-", "-")
                     for muts, score in d.hivdb_partials)


def _drug(d: DrugPrediction) -> dict:
    return {"drug": d.drug, "class": d.drug_class, "fold_change": d.fold_change,
            "fold_change_low": d.fold_change_low, "fold_change_high": d.fold_change_high,
            "p_resistant": d.p_resistant, "call": d.call, "rank": d.rank,
            "hivdb_score": d.hivdb_score, "hivdb_level": d.hivdb_level,
            "hivdb_text": d.hivdb_text, "agree": d.agree,
            "hivdb_partial_scores": list(d.hivdb_partial_scores),
            "applicability": None if d.applicability is None else d.applicability.to_dict(),
            "drivers": [{"mutation": x.mutation, "delta_log10": x.delta} for x in d.drivers],
            "neighbours": [{"id": n.id, "fold_change": n.fold_change, "distance": n.distance}
                           for n in d.neighbours],
            "note": d.note}


def to_records(predictions: Sequence[VirusPrediction]) -> list[dict]:
    """The records of the JSON output: per record ``id``, ``error`` (null, or why it could not
    be read), ``mutations`` per gene (``{"RT": ["RT:M184V"]}``), ``hivdb_mutations`` (HIVdb's
    annotation of each: sierralocal's fields ``primaryType``, ``isSDRM``, ``isUnusual``,
    ``isApobecMutation``, ``isApobecDRM``, ``hasStop``... and ``comments``), ``sdrms``,
    ``coverage`` (first and last codon per gene, for sequences), ``warnings``,
    ``unrecognized``, ``not_covered`` (drug classes whose gene the input lacks), ``interval``,
    ``hivdb_version`` and ``drugs``, ranked (each with HIVdb's ``hivdb_partial_scores`` in
    sierralocal's form)."""
    return [record_dict(v) for v in predictions]


def record_dict(v: VirusPrediction) -> dict:
    """One record of :func:`to_records`."""
    return {
        "id": v.id, "error": v.error,
        "mutations": {g: list(ms) for g, ms in v.mutations.items()},
        "coverage": {g: {"first": a, "last": b} for g, (a, b) in v.coverage.items()},
        "warnings": list(v.notes), "unrecognized": list(v.unrecognized),
        "not_covered": list(v.not_covered), "interval": v.interval,
        "hivdb_version": v.hivdb_version,
        "hivdb_mutations": [a.to_dict() for a in v.annotations],
        "sdrms": [a.name for a in v.annotations if a.is_sdrm],
        "subtype": None if v.subtype is None else v.subtype.to_dict(),
        "applicability": None if v.applicability is None else v.applicability.to_dict(),
        "drugs": [_drug(d) for d in v.ranked()],
    }


def to_document(predictions: Sequence[VirusPrediction]) -> dict:
    """The JSON output as a dict: :func:`metadata` and ``records`` (:func:`to_records`)."""
    return {**metadata(predictions), "records": to_records(predictions)}


def to_json(predictions: Sequence[VirusPrediction], indent: int | None = 2) -> str:
    """JSON text: an object with ``hivlatent_version``, ``hivdb_algorithm``, ``models`` (drug
    class -> the model's identity), ``research_note`` and ``records`` (one object per record,
    see :func:`to_records`). With ``indent``, the metadata is indented and each record is one
    line: the same JSON value, written by the standard library's C encoder (a fully indented
    document goes through its pure-Python encoder, 5x slower, and is 1.7x larger)."""
    if indent is None:
        return json.dumps(to_document(predictions), allow_nan=False) + "\n"
    return "".join(json_pieces(predictions, indent))


def json_pieces(predictions: Sequence[VirusPrediction], indent: int = 2) -> Iterator[str]:
    """:func:`to_json`'s text in pieces, one record at a time (a batch's text is never whole
    in memory: :func:`write_output`)."""
    head = json.dumps(metadata(predictions), indent=indent, allow_nan=False)
    pad = " " * indent
    yield head[:-1].rstrip() + ",\n" + pad + '"records": ['
    for k, v in enumerate(predictions):
        yield ("\n" if k == 0 else ",\n") + pad * 2 + json.dumps(record_dict(v), allow_nan=False)
    yield ("\n" + pad + "]" if predictions else "]") + "\n}\n"


def _num(x) -> str:
    return "" if x is None else f"{x:.6g}"


def to_csv(predictions: Sequence[VirusPrediction]) -> str:
    """CSV text, one row per record and drug (columns :data:`CSV_COLUMNS`; drugs ranked; a record
    without drugs, or that could not be read, has one row). Lists are ``; ``-separated;
    ``mutations`` is space-separated, so the file reads back as genotype input."""
    return "".join(csv_pieces(predictions))


def csv_pieces(predictions: Sequence[VirusPrediction]) -> Iterator[str]:
    """:func:`to_csv`'s text in pieces, one record at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in predictions:
        common = {"id": v.id, "error": v.error or "", "mutations": " ".join(v.all_mutations),
                  "unrecognized": " ".join(v.unrecognized),
                  "coverage": "; ".join(f"{g} {a}-{b}" for g, (a, b) in v.coverage.items()),
                  "warnings": "; ".join(v.notes), "not_covered": "; ".join(v.not_covered),
                  "hivdb_version": v.hivdb_version or "", "hivlatent_version": __version__,
                  "hivdb_mutations": "; ".join(_annotation_text(a) for a in v.annotations),
                  "sdrms": " ".join(a.name for a in v.annotations if a.is_sdrm),
                  "subtype": "" if v.subtype is None else v.subtype.subtype,
                  "subtype_distance": "" if v.subtype is None else _num(v.subtype.distance)}
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
                    "hivdb_partial_scores": partials_text(d), "model": _model_cell(d.model),
                    **_fit_cells(d.applicability),
                    "agree": "" if d.agree is None else ("yes" if d.agree else "no"),
                    "drivers": "; ".join(f"{x.mutation} {x.delta:+.2f}" for x in d.drivers),
                    "neighbours": "; ".join(f"{n.id} {n.fold_change:.3g}" for n in d.neighbours),
                    "note": d.note or ""})
            writer.writerow([row.get(c, "") if c in NUMERIC_COLUMNS else csv_cell(row.get(c))
                             for c in CSV_COLUMNS])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def _fit_cells(a) -> dict:
    if a is None:
        return {}
    return {"applicability": a.level, "applicability_percentile": _num(a.percentile),
            "applicability_note": a.note}


def _model_cell(ident) -> str:
    if not ident:
        return ""
    return (f"{ident.get('data')} sha256:{(ident.get('data_sha256') or '')[:12]} "
            f"hivlatent {ident.get('hivlatent')}")


def fold_text(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.3g}" if x < 1000 else f"{x:.0f}"


def to_table(predictions: Sequence[VirusPrediction], width: int = 120) -> str:
    """Human-readable tables (one per record, drugs ranked) and the research-use note; user
    text (ids, mutations) with its control characters shown (:func:`.escaping.visible`)."""
    return "".join(table_pieces(predictions, width))


def table_pieces(predictions: Sequence[VirusPrediction], width: int = 120) -> Iterator[str]:
    """:func:`to_table`'s text in pieces, one record at a time."""
    for v in predictions:
        out: list[str] = []
        if v.error:
            yield visible(f"{v.id}: error: {v.error}") + "\n\n"
            continue
        out.append(visible(f"{v.id}: {' '.join(v.all_mutations) or 'no mutations'}"))
        hivdb = v.hivdb_version is not None
        columns = [("Rank", "right"), ("Class", "left"), ("Drug", "left"),
                   ("Fold change", "right"), (f"{100 * v.interval:g}% interval", "right"),
                   ("P(resistant)", "right"), ("Call", "center")]
        if hivdb:
            columns += [(f"HIVdb {v.hivdb_version.split()[-1]}", "left"), ("Agree", "center")]
        flagged = any(d.applicability and d.applicability.rank for d in v.drugs)
        if flagged:
            columns.append(("Fit", "left"))
        columns.append(("Drivers (log10 change)", "left"))
        rows = []
        for d in v.ranked():
            row = [str(d.rank or ""), d.drug_class, visible(d.drug), fold_text(d.fold_change),
                   f"{fold_text(d.fold_change_low)}-{fold_text(d.fold_change_high)}"
                   if d.predicted else "", "" if d.p_resistant is None else f"{d.p_resistant:.3f}",
                   d.call or ("too few data" if d.note else "no model")]
            if hivdb:
                row += ["" if d.hivdb_level is None else f"{d.hivdb_level} ({d.hivdb_score:g})",
                        "" if d.agree is None else ("yes" if d.agree else "no")]
            if flagged:
                row.append(d.applicability.level if d.applicability and d.applicability.rank
                           else "")
            row.append(visible(", ".join(f"{x.mutation} {x.delta:+.2f}" for x in d.drivers)))
            rows.append(row)
        out += render_table([c for c, _ in columns], [a for _, a in columns], rows, width)
        withheld = [f"{d.drug}: {d.note}" for d in v.ranked() if d.note]
        fit = v.applicability
        for label, items in (("coverage", [f"{g} {a}-{b}" for g, (a, b) in v.coverage.items()]),
                             ("subtype", [v.subtype.text()] if v.subtype is not None else []),
                             ("applicability", [f"{fit.level}: {fit.note}"] if fit else []),
                             *annotation_lines(v),
                             ("not in the model (ignored)", v.unrecognized),
                             ("no learned answer", withheld),
                             ("not covered", v.not_covered), ("warning", v.notes)):
            if items:
                out.append(visible(f"  {label}: {'; '.join(items)}"))
        yield "\n".join(out) + "\n\n"
    yield ("Call: S fold change < lower cutoff <= I < upper cutoff <= R; P(resistant) > 0.5 "
               "exactly when the call is I or R. Rank 1 = most likely to work. HIVdb level: "
               "1 susceptible ... 5 high-level resistance. Fit: caution = trust the answer "
               "less, outside = the virus is outside the training data (see applicability).\n"
           f"{RESEARCH_NOTE}\n{visible(footer(predictions))}\n")


def write_output(predictions: Sequence[VirusPrediction], fmt: str, stream) -> None:
    """The predictions as ``fmt`` (table, csv or json) written to ``stream`` one record at a
    time: memory for one record's text, not the batch's."""
    pieces = {"table": table_pieces, "csv": csv_pieces, "json": json_pieces}[fmt]
    for piece in pieces(predictions):
        stream.write(piece)


def footer(predictions: Sequence[VirusPrediction]) -> str:
    """``hivlatent 0.3.1; NRTI model: nrti (sha256 ...), hivlatent 0.3.1; HIVdb: HIVDB 9.4``."""
    meta = metadata(predictions)
    parts = [f"hivlatent {meta['hivlatent_version']}"]
    parts += [model_text(m) for m in meta["models"].values()]
    parts.append(f"HIVdb algorithm: {meta['hivdb_algorithm'] or 'not run'}")
    return "; ".join(parts)


def annotation_lines(v: VirusPrediction) -> list[tuple[str, list[str]]]:
    """Short lines for people: the mutations by HIVdb type, and the SDRM / unusual / APOBEC
    flags (HIVdb's comments and partial scores are in JSON, CSV and the HTML report)."""
    if not v.annotations:
        return []
    types: dict[str, list[str]] = {}
    for a in v.annotations:
        kind = a.primary_type if a.gene != "PR" and a.gene != "IN" or a.primary_type == "Other" \
            else f"{a.gene} {a.primary_type.lower()}"
        types.setdefault(kind, []).append(a.name)
    out = [("HIVdb types", [f"{k} {' '.join(names)}" for k, names in types.items()])]
    for label, test in (("SDRMs", lambda a: a.is_sdrm), ("unusual", lambda a: a.is_unusual),
                        ("APOBEC", lambda a: a.is_apobec_mutation or a.is_apobec_drm)):
        names = [a.name for a in v.annotations if test(a)]
        if names:
            out.append((label, [" ".join(names)]))
    return out
