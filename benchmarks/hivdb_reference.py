"""How well the Stanford HIVdb algorithm (9.4, sierralocal) calls the HIVDB phenotypes.

    PYTHONPATH=src python benchmarks/hivdb_reference.py [--data-dir DIR] [--json out.json]

Needs the ``hivdb`` extra (sierralocal). Reads the HIVDB genotype-phenotype tables from
``--data-dir`` (default $HIVLATENT_DATA_DIR, else ../shared/data/hivdb beside the checkout):
``NRTI_DataSet.txt``, ``NNRTI_stanford.csv``, ``PI_DataSet.txt`` and ``PI_DataSet.Full.txt``.
The tables are read here with pandas only, so the script depends on nothing of hivlatent but
``hivlatent.hivdb``.

Every row is scored with :func:`hivlatent.hivdb.score_cells` (its gene's drugs). For each drug,
over the rows where its fold change is measured: a virus is resistant when the fold change is at
or above the drug's lower cutoff (NRTI 3TC 3, ABC 2, AZT 3, D4T 1.5, DDI 1.5, TDF 1.5; NNRTI 3;
PI 3 except LPV 9, TPV 2, DRV 10). Printed per drug: n, the number resistant, the AUC of the
HIVdb score, the balanced accuracy of ``level >= 3`` and of ``level >= 4``, and Spearman's rho of
score against log10 fold change (rank-based, so fold changes of 0.0 in the PI tables are kept).

``nrti-1246`` is the MTPS subset of ``NRTI_DataSet.txt``: rows with all of ABC, 3TC, AZT, D4T
and DDI measured and no ``.`` in P1-P240, in file order. Its numbers are compared with the ones a
colleague reported with sierralocal 9.4. Timing: loading the XML, and scoring 1,000 genotypes
with an empty cache, both as table rows and as mutation lists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from hivlatent import hivdb

LOWER_CUTOFF = {
    "3TC": 3.0, "ABC": 2.0, "AZT": 3.0, "D4T": 1.5, "DDI": 1.5, "TDF": 1.5,
    "EFV": 3.0, "NVP": 3.0, "ETR": 3.0, "RPV": 3.0,
    "FPV": 3.0, "ATV": 3.0, "IDV": 3.0, "LPV": 9.0, "NFV": 3.0, "SQV": 3.0, "TPV": 2.0,
    "DRV": 10.0,
}
#: file, separator, gene, drugs
DATASETS = {
    "NRTI": ("NRTI_DataSet.txt", "\t", "RT", ("3TC", "ABC", "AZT", "D4T", "DDI", "TDF")),
    "NNRTI": ("NNRTI_stanford.csv", ",", "RT", ("EFV", "NVP", "ETR", "RPV")),
    "PI": ("PI_DataSet.txt", "\t", "PR", ("FPV", "ATV", "IDV", "LPV", "NFV", "SQV", "TPV", "DRV")),
    "PI.Full": ("PI_DataSet.Full.txt", "\t", "PR",
                ("FPV", "ATV", "IDV", "LPV", "NFV", "SQV", "TPV", "DRV")),
}
#: a colleague's numbers on nrti-1246 with sierralocal 9.4 (BA = best of level >= 3, >= 4)
COLLEAGUE = {
    "AUC": {"3TC": 0.975, "ABC": 0.980, "AZT": 0.974, "D4T": 0.958, "DDI": 0.896},
    "BA": {"3TC": 0.944, "ABC": 0.936, "AZT": 0.917, "D4T": 0.874, "DDI": 0.800},
}
NRTI_1246_DRUGS = ("ABC", "3TC", "AZT", "D4T", "DDI")


def default_data_dir() -> Path:
    env = os.environ.get("HIVLATENT_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hivdb"


def read_table(path: Path, sep: str, drugs: tuple[str, ...]) -> tuple[pd.DataFrame, list[str]]:
    """The table as text, drug columns as float fold changes (NA -> NaN), and its P columns."""
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for drug in drugs:
        df[drug] = pd.to_numeric(df[drug].replace({"NA": "", "N/A": ""}), errors="coerce")
    positions = [c for c in df.columns if re.fullmatch(r"P[0-9]+", c)]
    return df, positions


def metrics(calls: list[dict], fold: pd.Series, drug: str) -> dict:
    """n, resistant, AUC, BA of level >= 3 and >= 4, Spearman of score vs log10 fold."""
    keep = fold.notna().to_numpy()
    sel = [c for c, k in zip(calls, keep) if k]
    scores = hivdb.drug_values(sel, drug, "score")
    levels = hivdb.drug_values(sel, drug, "level")
    f = fold.to_numpy()[keep]
    y = (f >= LOWER_CUTOFF[drug]).astype(int)
    out = {"n": int(keep.sum()), "resistant": int(y.sum())}
    both = 0 < y.sum() < len(y)
    out["auc"] = float(roc_auc_score(y, scores)) if both else float("nan")
    for t in (hivdb.LOW_LEVEL, hivdb.INTERMEDIATE):
        pred = hivdb.level_calls(levels, t).astype(int)
        out[f"ba{t}"] = float(balanced_accuracy_score(y, pred)) if both else float("nan")
    with np.errstate(divide="ignore"):
        out["spearman"] = float(spearmanr(scores, np.log10(f)).statistic)
    return out


def table(title: str, rows: dict[str, dict]) -> str:
    lines = [f"### {title}", "",
             "| drug | n | resistant | AUC | BA level>=3 | BA level>=4 | Spearman |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for drug, m in rows.items():
        lines.append(f"| {drug} | {m['n']} | {m['resistant']} | {m['auc']:.3f} | {m['ba3']:.3f} "
                     f"| {m['ba4']:.3f} | {m['spearman']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=default_data_dir())
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    hivdb.require()
    if not (args.data_dir / "NRTI_DataSet.txt").is_file():
        print(f"HIVDB tables not found in {args.data_dir}: set HIVLATENT_DATA_DIR or --data-dir",
              file=sys.stderr)
        return 2

    version = hivdb.algorithm_version()
    load_s = time.perf_counter() - t0
    print(f"# HIVdb reference: {version} (sierralocal), data {args.data_dir}\n")
    report: dict = {"algorithm": version, "xml_load_s": load_s, "datasets": {}, "timing": {}}
    eng = hivdb.engine.engine()

    for name, (file, sep, gene, drugs) in DATASETS.items():
        df, positions = read_table(args.data_dir / file, sep, drugs)
        eng.clear_cache()
        t = time.perf_counter()
        calls = hivdb.score_cells(df[positions], gene)
        elapsed = time.perf_counter() - t
        report["timing"][name] = {"rows": len(df), "seconds": elapsed}
        rows = {d: metrics(calls, df[d], d) for d in drugs}
        report["datasets"][name] = rows
        print(table(f"{name}: {file}, {len(df)} rows, scored in {elapsed:.2f} s", rows) + "\n")

        if name == "NRTI":
            measured = df[list(NRTI_1246_DRUGS)].notna().all(axis=1)
            sequenced = ~(df[positions] == ".").any(axis=1)
            sub = (measured & sequenced).to_numpy()
            sub_calls = [c for c, k in zip(calls, sub) if k]
            sub_df = df[sub].reset_index(drop=True)
            rows = {d: metrics(sub_calls, sub_df[d], d) for d in NRTI_1246_DRUGS}
            report["datasets"]["nrti-1246"] = rows
            print(table(f"nrti-1246: the MTPS subset, {int(sub.sum())} rows", rows) + "\n")
            print("nrti-1246 against the colleague's numbers (BA = best of level>=3, level>=4):\n")
            print("| drug | AUC | colleague | BA | colleague |")
            print("|---|---:|---:|---:|---:|")
            for d in NRTI_1246_DRUGS:
                m = rows[d]
                ba = max(m["ba3"], m["ba4"])
                print(f"| {d} | {m['auc']:.3f} | {COLLEAGUE['AUC'][d]:.3f} | {ba:.3f} "
                      f"| {COLLEAGUE['BA'][d]:.3f} |")
            print()
            print("The same with other readings of the two odd cells of nrti-1246 "
                  "(score_cells reads 'd' as a deletion and ignores '^'):\n")
            print("| reading | " + " | ".join(f"{d} AUC / BA" for d in NRTI_1246_DRUGS) + " |")
            print("|---|" + "---:|" * len(NRTI_1246_DRUGS))
            for label, fix in (("'d' at RT 70 as D (aspartate)", {"d": "D"}),
                               ("'T^' at RT 69 as an insertion", {"T^": "T#"}),
                               ("both", {"d": "D", "T^": "T#"})):
                alt = hivdb.score_cells(sub_df[positions].replace(fix), gene)
                cells = []
                for d in NRTI_1246_DRUGS:
                    m = metrics(alt, sub_df[d], d)
                    cells.append(f"{m['auc']:.3f} / {max(m['ba3'], m['ba4']):.3f}")
                print(f"| {label} | " + " | ".join(cells) + " |")
            print()
            lists = [hivdb.cells_to_mutations(dict(zip(positions, values)), gene)
                     for values in sub_df[positions].itertuples(index=False, name=None)][:1000]
            eng.clear_cache()
            t = time.perf_counter()
            again = hivdb.score(lists, genes=["RT"])
            elapsed = time.perf_counter() - t
            same = all(a == b for a, b in zip(again, sub_calls))
            report["timing"]["score_1000_mutation_lists"] = {"seconds": elapsed, "same": same}
            print(f"score(): 1,000 nrti-1246 genotypes as mutation lists in {elapsed:.2f} s "
                  f"(empty cache; same calls as score_cells: {same})\n")
    print(f"importing sierralocal and reading its XML (once per process): {load_s:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
