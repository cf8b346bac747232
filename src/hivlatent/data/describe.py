"""Describe a Dataset: size, per-drug phenotype coverage and label prevalence, common mutations."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import censoring
from .dataset import Dataset


def describe_dataset(ds: Dataset, top: int = 15) -> dict[str, Any]:
    """A JSON-ready summary of ``ds``.

    - ``rows``, ``features``, ``drug_class``, ``gene``, ``source``, ``sha256``;
    - ``drugs``: per drug ``tested`` (rows with a label), ``missing_fraction``, ``resistant``
      (count), ``prevalence`` (resistant fraction among tested, 1 = fold >= cutoff), ``cutoff``,
      ``measured`` (rows with a fold change; more than ``tested`` where a censored value leaves
      the label open), ``at_least`` and ``at_most`` (censored values: the table's FoldMatch
      marks, or for tables without them the values at the drug's largest value);
    - ``censoring``: ``"marks"`` (the table's FoldMatch columns) or ``"largest value"``;
    - ``groups``: distinct groups of grouped cross-validation (patients, and lab isolates by
      genotype), or None;
    - ``top_mutations``: the ``top`` most frequent features with ``count`` and ``fraction``
      (ties broken by feature order); for ``nrti-1246`` also the MTPS name.
    """
    n = ds.n_rows
    drugs = []
    codes = censoring.effective(ds.log_fold, ds.censor)
    for j, drug in enumerate(ds.drugs):
        lab = ds.labels[:, j]
        measured = int(np.sum(np.isfinite(ds.log_fold[:, j])))
        tested = int(np.sum(~np.isnan(lab)))
        resistant = int(np.nansum(lab))
        drugs.append({
            "drug": drug,
            "tested": tested,
            "missing_fraction": (n - tested) / n if n else 0.0,
            "resistant": resistant,
            "prevalence": resistant / tested if tested else None,
            "cutoff": ds.cutoffs.for_drug(drug)[0] if drug in ds.cutoffs.lower else None,
            "measured": measured,
            "at_least": int(np.sum(codes[:, j] == censoring.AT_LEAST)),
            "at_most": int(np.sum(codes[:, j] == censoring.AT_MOST)),
        })
    counts = ds.X.sum(axis=0).astype(np.int64) if ds.n_features else np.zeros(0, np.int64)
    order = np.argsort(-counts, kind="stable")[:top]
    mtps: dict[str, str] = {}
    if ds.name == "nrti-1246":
        from .nrti1246 import TO_MTPS

        mtps = TO_MTPS
    mutations = []
    for j in order:
        entry = {"feature": ds.feature_names[j], "count": int(counts[j]),
                 "fraction": float(counts[j]) / n if n else 0.0}
        if mtps:
            entry["mtps_name"] = mtps.get(ds.feature_names[j])
        mutations.append(entry)
    unobserved = float(1.0 - ds.observed.mean()) if ds.observed.size else 0.0
    return {
        "name": ds.name,
        "source": ds.source,
        "sha256": ds.sha256,
        "drug_class": ds.drug_class,
        "gene": ds.gene,
        "rows": n,
        "features": ds.n_features,
        "unobserved_fraction": unobserved,
        "groups": None if ds.groups is None else int(len(set(ds.groups.tolist()))),
        "censoring": "largest value" if ds.censor is None else "marks",
        "drugs": drugs,
        "top_mutations": mutations,
    }


def render_description(desc: dict[str, Any]):
    """The summary of :func:`describe_dataset` as rich renderables (for the CLI to print)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    head = Text()
    head.append(f"{desc['name']}", style="bold")
    head.append(f"  {desc['drug_class']} ({desc['gene']}), {desc['rows']} rows x "
                f"{desc['features']} features")
    if desc.get("groups"):
        head.append(f", {desc['groups']} groups for cross-validation (patients; lab isolates "
                    "by genotype)")
    head.append(f"\nsource: {desc['source']}")
    if desc["unobserved_fraction"]:
        head.append(f"\nunobserved cells ('.' or 'X'): {desc['unobserved_fraction']:.2%}")

    drugs = Table(title="Phenotypes (resistant = fold change >= cutoff)", title_justify="left")
    censored = "at limit" if desc.get("censoring") != "marks" else "> / <"
    for col, just in (("drug", "left"), ("cutoff", "right"), ("tested", "right"),
                      ("missing", "right"), ("resistant", "right"), ("prevalence", "right"),
                      (censored, "right")):
        drugs.add_column(col, justify=just)
    for d in desc["drugs"]:
        bound = (str(d.get("at_least", 0)) if desc.get("censoring") != "marks"
                 else f"{d.get('at_least', 0)} / {d.get('at_most', 0)}")
        drugs.add_row(
            d["drug"], "" if d["cutoff"] is None else f"{d['cutoff']:g}", str(d["tested"]),
            f"{d['missing_fraction']:.1%}", str(d["resistant"]),
            "-" if d["prevalence"] is None else f"{d['prevalence']:.1%}", bound,
        )

    muts = Table(title=f"{len(desc['top_mutations'])} most frequent mutations",
                 title_justify="left")
    muts.add_column("mutation")
    with_mtps = any("mtps_name" in m for m in desc["top_mutations"])
    if with_mtps:
        muts.add_column("MTPS name")
    muts.add_column("count", justify="right")
    muts.add_column("fraction", justify="right")
    for m in desc["top_mutations"]:
        row = [m["feature"]] + ([m.get("mtps_name") or ""] if with_mtps else [])
        muts.add_row(*row, str(m["count"]), f"{m['fraction']:.1%}")
    return Group(head, drugs, muts)
