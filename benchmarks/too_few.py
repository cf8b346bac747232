"""How many measured phenotypes a drug needs before the model's answer for it can be trusted:
the evaluation behind ``config.MIN_MEASURED`` and ``config.MIN_RESISTANT``.

    HIVLATENT_DATA_DIR=../shared/data/hivdb python benchmarks/too_few.py [--data insti]
        [--drugs RAL,EVG,DTG] [--sizes 10,20,40,80,160] [--folds 3] [--repeats 2] [--smoke]

A drug with few phenotypes (cabotegravir: 17 in HIVDB's INSTI table) is learned inside one model
with the class's other drugs: its answer borrows the latent space they shape. This script
simulates exactly that situation on drugs with many phenotypes. For each drug D and each of
``--folds`` grouped, stratified folds of D's measured viruses (as ``evaluate`` makes them), the
default semi model is trained on the fold's training rows with D's phenotypes kept for only
``n`` of them (a stratified random subset, D's resistant share kept; every other drug keeps all
its phenotypes), and D is scored on the fold's held-out viruses: balanced accuracy of the call,
AUC, and the coverage of the 90% interval (censoring marks honoured). ``n`` = all is the
reference.

The rule, fixed before the run: a learned answer is supported at size ``n`` when, for every drug
measured, the mean held-out balanced accuracy is within :data:`BA_MARGIN` of the same drug's
reference and the mean coverage of the 90% interval is at least :data:`MIN_COVERAGE`. The
smallest supported ``n`` is the minimum of measured viruses; the minimum of resistant viruses is
the smallest resistant count among the training subsets at that ``n`` (the drug with the rarest
resistance sets it). Prints a table per drug and size and the rule's result, and writes them to
``docs/results/too_few.md`` with the command, date, machine and load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import add_results_option, publish, results_for  # noqa: E402

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "hivdb"
#: the rule (see the module doc): balanced accuracy within this of the reference, and coverage
BA_MARGIN = 0.05
MIN_COVERAGE = 0.80


def masked(ds, j: int, keep: np.ndarray):
    """``ds`` with drug ``j``'s phenotypes removed except in rows ``keep``."""
    lf, lab = ds.log_fold.copy(), ds.labels.copy()
    drop = np.ones(ds.n_rows, dtype=bool)
    drop[keep] = False
    lf[drop, j] = np.nan
    lab[drop, j] = np.nan
    censor = None
    if ds.censor is not None:
        censor = ds.censor.copy()
        censor[drop, j] = 0
    return replace(ds, log_fold=lf, labels=lab, censor=censor)


def subset(rows: np.ndarray, labels: np.ndarray, n: int, rng) -> np.ndarray:
    """``n`` of ``rows``, stratified by ``labels`` (0/1), at least one of each class."""
    res, sus = rows[labels == 1], rows[labels == 0]
    k = int(round(n * len(res) / len(rows)))
    k = min(max(k, 1), len(res), n - 1)
    return np.sort(np.concatenate([rng.choice(res, k, replace=False),
                                   rng.choice(sus, n - k, replace=False)]))


def run(args) -> list[dict]:
    from hivlatent import ModelConfig, VAEModel, load_dataset
    from hivlatent.config import default_train_config
    from hivlatent.evaluation.cv import make_folds
    from hivlatent.evaluation.metrics import classification_metrics, interval_coverage
    from hivlatent.model import FitTask, fit_many

    ds = load_dataset(args.data)
    cfg = ModelConfig(supervised=True)
    train = default_train_config(cfg)
    members = None
    if args.smoke:
        train, members = replace(train, epochs=4, patience=0), 2
    out = []
    for drug in args.drugs:
        j = ds.drugs.index(drug)
        folds = make_folds(ds, args.folds, seed=0, drugs=[drug])
        tasks, meta = [], []
        for fold in folds:
            pool = fold.fit_rows[np.isfinite(ds.labels[fold.fit_rows, j])]
            lab = ds.labels[pool, j]
            for n in args.sizes + [None]:
                for r in range(args.repeats if n is not None else 1):
                    if n is not None and n >= len(pool):
                        continue
                    rng = np.random.default_rng([fold.fold, n or 0, r])
                    keep = pool if n is None else subset(pool, lab, n, rng)
                    data = masked(ds, j, keep)
                    model = VAEModel(cfg, train, members)
                    tasks.append(FitTask(model, data, fold.fit_rows, name=f"{drug}-{fold.fold}-{n}-{r}"))
                    meta.append((fold, n, r, len(keep), int(np.nansum(ds.labels[keep, j])), data))
        t0 = time.perf_counter()
        models = fit_many(tasks)
        print(f"{drug}: {len(models)} models in {time.perf_counter() - t0:.0f} s", flush=True)
        for model, (fold, n, r, measured, resistant, data) in zip(models, meta):
            test = fold.test
            dist = model.predict_distribution(ds.X[test])
            p = dist.p_resistant[:, j]
            calls = dist.resistant[:, j].astype(float)
            m = classification_metrics(ds.labels[test, j], p, calls=calls)
            lo, hi = dist.interval(0.9)
            codes = None if ds.censor is None else ds.censor[test, j]
            cover = interval_coverage(ds.log_fold[test, j], lo[:, j], hi[:, j],
                                      model.log_caps()[j], codes)
            out.append({"drug": drug, "fold": fold.fold, "size": "all" if n is None else n,
                        "repeat": r, "measured": measured, "resistant": resistant,
                        "balanced_accuracy": m["balanced_accuracy"], "auc": m["auc"],
                        "coverage90": cover})
    return out


def summarise(rows: list[dict], drugs: list[str], sizes: list[int]) -> tuple[str, dict]:
    import pandas as pd

    df = pd.DataFrame(rows)
    lines = ["| drug | training phenotypes | resistant among them | balanced accuracy | AUC | "
             "90% coverage | supported |", "|---|---:|---:|---:|---:|---:|---|"]
    supported: dict[int, bool] = {n: True for n in sizes}
    resistant_at: dict[int, list[int]] = {n: [] for n in sizes}
    for drug in drugs:
        d = df[df.drug == drug]
        ref = d[d["size"] == "all"]
        ref_ba = ref.balanced_accuracy.mean()
        for size in sizes + ["all"]:
            s = d[d["size"] == size]
            if s.empty:
                continue
            ba, cov = s.balanced_accuracy.mean(), s.coverage90.mean()
            ok = (size == "all") or (ba >= ref_ba - BA_MARGIN and cov >= MIN_COVERAGE)
            if size != "all":
                supported[size] &= bool(ok)
                resistant_at[size].append(int(s.resistant.min()))
            lines.append(
                f"| {drug} | {s.measured.mean():.0f} | {s.resistant.mean():.1f} "
                f"(min {s.resistant.min()}) | {ba:.3f} ± {s.balanced_accuracy.std(ddof=0):.3f} | "
                f"{s.auc.mean():.3f} | {cov:.3f} | {'reference' if size == 'all' else ('yes' if ok else 'no')} |")
    smallest = next((n for n in sizes if supported[n]), None)
    rule = {"min_measured": smallest,
            "min_resistant": None if smallest is None else min(resistant_at[smallest])}
    return "\n".join(lines), rule


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="insti")
    ap.add_argument("--drugs", default="RAL,EVG,DTG")
    ap.add_argument("--sizes", default="10,20,40,80,160")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--smoke", action="store_true", help="4 epochs, 2 members, for the tests")
    add_results_option(ap, "too_few")
    args = ap.parse_args(argv)
    args.drugs = [d.strip().upper() for d in args.drugs.split(",") if d.strip()]
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    if "HIVLATENT_DATA_DIR" not in os.environ and DEFAULT_DATA_DIR.is_dir():
        os.environ["HIVLATENT_DATA_DIR"] = str(DEFAULT_DATA_DIR)
    results = results_for(args, "too_few", "Too few phenotypes to learn from", argv,
                          smoke=args.smoke, timed=False)
    rows = run(args)
    table, rule = summarise(rows, args.drugs, args.sizes)
    verdict = ("no size on the grid is supported for every drug" if rule["min_measured"] is None
               else f"a learned answer needs at least {rule['min_measured']} measured and "
                    f"{rule['min_resistant']} resistant viruses in the training rows")
    text = (f"Rule (fixed before the run): supported at a size when, for every drug, the mean "
            f"held-out balanced accuracy is within {BA_MARGIN} of its reference (all phenotypes) "
            f"and the 90% interval covers at least {MIN_COVERAGE:.0%} of held-out values.\n\n"
            f"{table}\n\nResult: {verdict}.\n")
    publish(results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
