"""``predict --report OUT.html``: one self-contained page for a batch of predictions.

Per record: its subtype and how far it is from the training data (the applicability note), the
drug table (fold change with its interval, P(resistant), the call, the note's level, HIVdb beside
it with the partial scores that make its score and whether they agree, the mutations that drive
each prediction), the mutation list with HIVdb's annotations (type, SDRM, unusual, APOBEC,
comments), the nearest measured viruses for the drugs it resists, warnings and what the input
does not cover. The title block names the hivlatent version, the models and the HIVdb version. Per drug class: a
latent map that places every new virus among the measured ones of the model's training data,
coloured by measured resistance, one panel per drug.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.lines import Line2D

from ..reporting import plots as F
from ..reporting.html_report import Report, written_report
from .escaping import figure_text
from .formats import fold_text, footer, partials_text
from .predictor import RESEARCH_NOTE, VirusPrediction

#: records shown one by one (every record is in the overview table)
MAX_DETAILED = 100
#: new viruses labelled by id on the latent map (beyond this, points only)
MAX_LABELLED = 12
#: the report's kind, in its ``<meta name="hivlatent-report">`` tag (:func:`is_prediction_report`)
KIND = "prediction"


def is_prediction_report(path: Path) -> bool:
    """Whether ``path`` is a report this command wrote, so that it may be replaced: the page's
    head is the one hivlatent writes, with the prediction kind tag, and the page is whole
    (:func:`hivlatent.reporting.html_report.written_report`)."""
    return written_report(path, KIND)


def _overview(answers: list[VirusPrediction]) -> pd.DataFrame:
    rows = []
    for v in answers:
        resistant = [d.drug for d in v.ranked() if d.call in ("I", "R")]
        fit = v.applicability
        rows.append({"id": v.id, "mutations": " ".join(v.all_mutations) or "none",
                     "subtype": v.subtype.subtype if v.subtype and v.subtype.determined else "",
                     "resistant (I or R)": ", ".join(resistant) or "none",
                     "applicability": fit.level if fit else "",
                     "warnings": len(v.notes), "error": v.error or ""})
    return pd.DataFrame(rows)


def _drug_table(v: VirusPrediction) -> pd.DataFrame:
    rows = []
    for d in v.ranked():
        row = {"rank": d.rank or "", "class": d.drug_class, "drug": d.drug,
               "fold change": fold_text(d.fold_change),
               f"{100 * v.interval:g}% interval":
                   f"{fold_text(d.fold_change_low)}-{fold_text(d.fold_change_high)}"
                   if d.predicted else "",
               "P(resistant)": "" if d.p_resistant is None else f"{d.p_resistant:.3f}",
               "call": d.call or ("too few data" if d.note else "no model"),
               "fit": "" if d.applicability is None else d.applicability.level}
        if v.hivdb_version:
            row["HIVdb level (score)"] = ("" if d.hivdb_level is None
                                          else f"{d.hivdb_level} ({d.hivdb_score:g})")
            row["agree"] = "" if d.agree is None else ("yes" if d.agree else "no")
            row["HIVdb partial scores"] = partials_text(d)
        row["driven by (change in log10 fold)"] = ", ".join(
            f"{x.mutation} {x.delta:+.2f}" for x in d.drivers)
        rows.append(row)
    return pd.DataFrame(rows)


def _mutation_table(v: VirusPrediction) -> pd.DataFrame:
    """HIVdb's annotation of each mutation: type, flags and comments."""
    rows = []
    for a in v.annotations:
        flags = [f for f, on in (("SDRM", a.is_sdrm), ("unusual", a.is_unusual),
                                 ("APOBEC", a.is_apobec_mutation),
                                 ("APOBEC DRM", a.is_apobec_drm), ("stop", a.has_stop)) if on]
        rows.append({"mutation": a.name, "HIVdb type": a.primary_type,
                     "flags": ", ".join(flags), "HIVdb comment": " ".join(a.comments)})
    return pd.DataFrame(rows)


def _fit_lines(v: VirusPrediction) -> list[str]:
    """The applicability note of each drug that is not typical (or the record's, if none)."""
    out = [f"{d.drug}: {d.applicability.level}: {d.applicability.note}" for d in v.ranked()
           if d.applicability is not None and d.applicability.rank]
    if not out and v.applicability is not None:
        out = [f"every drug: {v.applicability.note}"]
    return out


def _neighbour_lines(v: VirusPrediction) -> list[str]:
    out = []
    for d in v.ranked():
        if d.call in ("I", "R") and d.neighbours:
            out.append(f"{d.drug}: " + ", ".join(f"{n.id} ({n.fold_change:.3g}-fold)"
                                                 for n in d.neighbours))
    return out


def plot_latent_map(model, reference, new_z: np.ndarray, new_ids: list[str], drug_class: str):
    """Measured viruses (reference) on the first two principal components of their latent means,
    coloured by measured resistance per drug, with the new viruses as black diamonds."""
    ref = reference.latent.astype(np.float64)
    centre = ref.mean(0)
    _, s, vt = np.linalg.svd(ref - centre, full_matrices=False)
    ratio = s ** 2 / (s ** 2).sum()
    pts, new = (ref - centre) @ vt[:2].T, (np.atleast_2d(new_z) - centre) @ vt[:2].T
    drugs = [d for d in model.drugs if d in reference.drugs]
    ncols = min(3, len(drugs))
    nrows = math.ceil(len(drugs) / ncols)
    with rc_context(F._STYLE):
        fig = F._figure(4.2 * ncols + 0.4, 3.8 * nrows + 1.0)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, drug in zip(axes.flat, drugs):
            y = reference.log_fold[:, reference.drugs.index(drug)]
            lower = math.log10(model.cutoffs.for_drug(drug)[0])
            known = np.isfinite(y)
            res = known & (y >= lower - 1e-9)
            ax.scatter(pts[known & ~res, 0], pts[known & ~res, 1], s=7, alpha=0.35, linewidths=0,
                       c=F.NOT_RESISTANT_COLOR)
            ax.scatter(pts[res, 0], pts[res, 1], s=7, alpha=0.35, linewidths=0,
                       c=F.RESISTANT_COLOR)
            ax.scatter(new[:, 0], new[:, 1], s=46, marker="D", c="black", edgecolors="white",
                       linewidths=0.8, zorder=3)
            if len(new_ids) <= MAX_LABELLED:
                for (x, yv), label in zip(new, new_ids):
                    ax.annotate(figure_text(label), (x, yv), xytext=(4, 4),
                                textcoords="offset points", fontsize=8)
            ax.set_title(f"{drug}: measured {int(known.sum())} viruses")
            ax.set_xlabel(f"PC1 of the latent means ({100 * ratio[0]:.0f}% var)")
            ax.set_ylabel(f"PC2 ({100 * ratio[1]:.0f}% var)")
            ax.grid(True, alpha=0.25, linewidth=0.5)
        for ax in list(axes.flat)[len(drugs):]:
            ax.set_visible(False)
        handles = [Line2D([], [], ls="", marker="o", color=F.NOT_RESISTANT_COLOR,
                          label="measured, not resistant"),
                   Line2D([], [], ls="", marker="o", color=F.RESISTANT_COLOR,
                          label="measured, resistant"),
                   Line2D([], [], ls="", marker="D", color="black", label="new virus")]
        fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
        fig.suptitle(f"{drug_class} model: where the new viruses fall among the measured ones")
    return fig


def write_prediction_report(answers: list[VirusPrediction], models: dict, path: Path) -> Path:
    """The report of ``answers`` (``models``: drug class -> (model, reference)) at ``path``."""
    from matplotlib import pyplot as plt

    from ..data.mutations import encode

    rep = Report(f"Drug resistance predictions for {len(answers)} record(s)",
                 f"hivlatent prediction report; {footer(answers)}",
                 research_note=RESEARCH_NOTE, kind=KIND)
    rep.add_section("Overview")
    rep.add_text("P(resistant) and the S/I/R call come from one predictive distribution of the "
                 "log10 fold change, so P(resistant) > 0.5 exactly when the call is I or R. "
                 "Drivers: the change in the predicted log10 fold change when that mutation "
                 "alone is removed. HIVdb (the Stanford algorithm) is shown beside the model as "
                 "a reference; its rules were partly derived from the same data. Fit: typical, "
                 "caution (trust the answer less) or outside (the virus lies outside the "
                 "training data), from the virus's latent distance to the measured viruses, "
                 "mutations at resistance positions never seen in training and a non-B "
                 "subtype.")
    detailed = min(len(answers), MAX_DETAILED)
    rep.add_table(_overview(answers), f"Every record, one row each ({len(answers)} rows)"
                  + ("." if detailed == len(answers) else
                     f"; the first {detailed} are shown one by one under Records."),
                  index=False, max_rows=None)
    rep.add_section("Latent maps")
    for c, (model, reference) in models.items():
        if reference is None:
            rep.add_text(f"{c}: the model holds no reference viruses, so no map.")
            continue
        shown = [v for v in answers if not v.error and any(d.drug_class == c and d.predicted
                                                          for d in v.drugs)]
        if not shown:
            continue
        genotypes = []
        for v in shown:
            muts = [m.split(":", 1)[1] for m in v.mutations.get(model.gene, [])]
            genotypes.append(" ".join(muts) or "WT")
        X, _, _ = encode(genotypes, model.feature_names, model.gene)
        fig = plot_latent_map(model, reference, model.get_latent_representation(X),
                              [v.id for v in shown], c)
        rep.add_figure(fig, f"{c}: each panel colours the measured viruses by their measured "
                            "resistance to one drug (fold change at or above its lower cutoff); "
                            "black diamonds are the new viruses.")
        plt.close(fig)
    rep.add_section("Records")
    if detailed < len(answers):
        rep.add_text(f"Records 1-{detailed} of {len(answers)}, in input order; the other "
                     f"{len(answers) - detailed} are in the overview table above, and the JSON "
                     "and CSV outputs hold every detail of every record.")
    for v in answers[:MAX_DETAILED]:
        # record-derived text is the user's: plain text only (markup=False), never markup
        sec = rep.add_section(v.id, level=3)
        if v.error:
            sec.add_text(f"Could not be answered: {v.error}", markup=False)
            continue
        sec.add_text("Mutations: " + (" ".join(v.all_mutations) or "none"), markup=False)
        if v.subtype is not None:
            sec.add_text("Subtype: " + v.subtype.text(), markup=False)
        sec.add_table(_drug_table(v), "Drugs, most likely to work first.", index=False)
        if v.annotations:
            sec.add_table(_mutation_table(v), "Mutations as HIVdb annotates them.", index=False)
        for label, items in (("Applicability", _fit_lines(v)),
                             ("Nearest measured viruses (drugs called I or R)",
                              _neighbour_lines(v)),
                             ("No learned answer", [f"{d.drug}: {d.note}" for d in v.ranked()
                                                    if d.note]),
                             ("Not in the model (ignored)", v.unrecognized),
                             ("Not covered", v.not_covered), ("Warnings", v.notes)):
            if items:
                sec.add_list(items, label, markup=False)
    return rep.write(path)
