"""The evaluation harness: per-drug cross-validated metrics of many methods, in long form.

``evaluate(dataset, ["raw-lr", "pca10-lr", my_vae_representation, my_predictor])`` splits the
data into folds (:mod:`.cv`), learns every representation and predictor inside each training
fold only (each distinct training set once, through ``fit_many``), fits the per-drug probes, and
scores the test folds (:mod:`.scoring`, :mod:`.metrics`), in independent tasks that run here, on
local worker processes or on a Dask cluster with the same result (:mod:`.tasks`). The result has
one row per (method, drug, metric) with the mean and standard deviation over folds;
``per_fold=True`` gives the values of every fold.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from ..config import FOLD_SCHEME
from ..data.dataset import Dataset
from ..errors import ConfigError
from ..files import write_csv
from .baselines import BASELINES, parse_method, tuned_probe
from .cv import Fold, GroupsSpec, distinct_fit_sets, make_folds
from .hivdb_method import HivdbMethod
from .metrics import METRICS
from .probes import Method, PredictorMethod, ProbeMethod, as_representation, name_of
from .tasks import execute, plan

SUMMARY_COLUMNS = ["method", "drug", "metric", "mean", "std"]
PER_FOLD_COLUMNS = ["method", "drug", "metric", "fold", "value"]
#: metrics shown by default in the per-drug table
TABLE_METRICS: tuple[str, ...] = ("auc", "balanced_accuracy", "mcc", "r2")

#: None/False (silent), True (progress bar) or fn(done, total, description)
ProgressArg = Union[None, bool, Callable[[int, int, str], None]]


def resolve_method(spec: "str | Method | Any", seed: int = 0, n_jobs: int = 1) -> Method:
    """A method from a spec string (see :mod:`.baselines`), a :class:`ProbeMethod` or
    :class:`PredictorMethod`, a bare representation (scored by the linear probe, named
    ``<name>-lr``; a scikit-learn transformer on arrays is wrapped in
    :class:`SklearnRepresentation`) or a bare predictor (anything with ``fit`` and
    ``predict_proba`` or ``predict_log_fold``; its ``predict_resistant``, when it has one, is
    its call)."""
    if isinstance(spec, str) and spec.strip().lower() == "hivdb":
        return HivdbMethod()
    if isinstance(spec, HivdbMethod):
        return spec
    if isinstance(spec, str):
        return parse_method(spec, seed=seed, n_jobs=n_jobs)
    if isinstance(spec, (ProbeMethod, PredictorMethod)):
        return spec
    if callable(getattr(spec, "transform", None)) and callable(getattr(spec, "fit", None)):
        rep = as_representation(spec)
        return ProbeMethod(name_of(rep), rep, classifier=tuned_probe(seed))
    if callable(getattr(spec, "fit", None)) and (
            hasattr(spec, "predict_proba") or hasattr(spec, "predict_log_fold")):
        return PredictorMethod(name_of(spec), spec)
    raise ConfigError(f"cannot evaluate {spec!r}: expected a method name such as "
                      f"{', '.join(BASELINES)}, a Representation, a Predictor or a ProbeMethod")


class _Progress:
    def __init__(self, progress: Any, total: int) -> None:
        self.total, self.done, self.bar, self.fn = total, 0, None, None
        if progress is True:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc="evaluate", leave=False)
        elif callable(progress):
            self.fn = progress
        elif progress not in (None, False):
            raise ConfigError(f"progress must be None, a bool or a callable, got {progress!r}")

    def step(self, desc: str, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.set_description(desc)
            self.bar.update(n)
        if self.fn is not None:
            self.fn(self.done, self.total, desc)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def evaluate(dataset: Dataset, methods: Sequence["str | Method | Any"] = BASELINES,
             folds: "int | list[Fold]" = 5, seed: int = 0, groups: GroupsSpec = None,
             n_jobs: int = 1, progress: ProgressArg = None, per_fold: bool = False,
             drugs: list[str] | None = None, collect: dict | None = None,
             scheduler: Any = None, scheme: str = FOLD_SCHEME,
             timings: list | None = None) -> pd.DataFrame:
    """Cross-validated per-drug metrics of ``methods`` on ``dataset``.

    - ``methods``: spec strings (``raw-lr``, ``raw-rf``, ``raw-ridge``, ``raw-rfreg``,
      ``pcaK-lr``; see :mod:`.baselines`), :class:`ProbeMethod`, :class:`PredictorMethod`, a
      bare Representation (linear probe) or a bare Predictor.
    - ``folds``: number of folds, or folds from :func:`make_folds` (then ``seed``, ``groups``,
      ``drugs`` and ``scheme`` are not used for splitting).
    - ``seed``: seeds the folds and the random forests; the result is deterministic for a seed.
    - ``groups``: see :func:`hivlatent.evaluation.cv.resolve_groups` (None = ``dataset.groups``
      when present, False = ungrouped, a meta column name, or an array of ids).
    - ``n_jobs``: processes: 1 = every task in this process, one after another; N = N local
      worker processes (joblib); 0 or -1 = one per core. The tasks (:mod:`.tasks`) run on one
      thread each wherever they run, so the result does not depend on ``n_jobs``.
    - ``scheduler``: the address of a Dask scheduler (``tcp://host:8786``) or a
      ``distributed.Client``: the tasks run on that cluster's workers (the ``distributed``
      extra; the workers need hivlatent installed), with the same result as here.
    - ``progress``: None/False silent, True for a progress bar, or ``fn(done, total, desc)``
      (one step per task).
    - ``collect``: a dict that receives, per predictor method and drug, the test folds' labels
      and predicted probabilities (``{method: {drug: [(labels, p), ...]}}``, in fold order), for
      reliability figures.
    - ``per_fold``: return one row per fold (columns ``method, drug, metric, fold, value``)
      instead of the summary (``method, drug, metric, mean, std``; std is the sample standard
      deviation over folds, NaN-valued folds skipped). :func:`summarize` turns the first into
      the second.
    - ``scheme``: how ``folds`` folds are drawn: "shared" or "per-drug" (see :mod:`.cv`).
    - ``timings``: a list that receives one dict per task (its methods, training sets, folds,
      wall and CPU seconds, and the process that ran it): where the time went.
    """
    if isinstance(folds, int):
        fold_list = make_folds(dataset, n_splits=folds, seed=seed, groups=groups, drugs=drugs,
                               scheme=scheme)
    else:
        fold_list = list(folds)
    if not fold_list:
        raise ConfigError(f"no folds to evaluate on data set {dataset.name!r}")
    resolved = [resolve_method(m, seed=seed) for m in methods]
    names = [m.name for m in resolved]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"method names must be unique; repeated: {', '.join(dup)}")
    fit_sets, which = distinct_fit_sets(fold_list)
    hivdb = [m for m in resolved if isinstance(m, HivdbMethod)]
    tasks = plan([m for m in resolved if not isinstance(m, HivdbMethod)], fold_list, fit_sets,
                 which)
    prog = _Progress(progress, total=len(tasks) + len(hivdb))
    rows: list[dict] = []
    try:
        for method in hivdb:               # reads the data set's table: here, not on a worker
            wall, cpu = time.perf_counter(), time.process_time()
            rows += method.evaluate(dataset, fold_list)
            if timings is not None:
                timings.append({"methods": method.name, "training_sets": 0,
                                "folds": len(fold_list),
                                "wall_seconds": round(time.perf_counter() - wall, 3),
                                "cpu_seconds": round(time.process_time() - cpu, 3),
                                "process": "main"})
            prog.step("hivdb")
        done = execute(dataset, tasks, n_jobs, scheduler,
                       lambda t: prog.step(f"{'+'.join(m.name for m in t.methods)}: "
                                           f"{len(t.folds)} fold(s)"))
    finally:
        prog.close()
    for task, result in zip(tasks, done):
        rows += result.rows
        if timings is not None:
            timings.append(result.timing(task))
        for name, per_drug in result.collect.items():
            for drug, items in per_drug.items():
                if collect is not None:
                    collect.setdefault(name, {}).setdefault(drug, []).extend(items)
    for per_drug in (collect or {}).values():
        for drug, items in per_drug.items():     # (fold, labels, p) -> (labels, p), fold order
            per_drug[drug] = [x[1:] for x in sorted(items, key=lambda x: x[0])]
    df = pd.DataFrame(rows, columns=PER_FOLD_COLUMNS)
    df = _ordered(df, names, list(dataset.drugs), ["fold"])
    return df if per_fold else summarize(df)


def _ordered(df: pd.DataFrame, methods: list[str], drugs: list[str],
             extra: list[str]) -> pd.DataFrame:
    metrics = list(METRICS) + sorted(set(df["metric"]) - set(METRICS))
    drugs = drugs + sorted(set(df["drug"]) - set(drugs))
    methods = list(dict.fromkeys(methods + list(df["method"].unique())))
    keys = {"method": methods, "drug": drugs, "metric": metrics}
    order = [df[c].map({v: i for i, v in enumerate(keys[c])}) for c in keys]
    sort = pd.DataFrame({"m": order[0], "d": order[1], "t": order[2]}, index=df.index)
    for c in extra:
        sort[c] = df[c]
    idx = sort.sort_values(list(sort.columns), kind="stable").index
    return df.loc[idx].reset_index(drop=True)


def summarize(per_fold: pd.DataFrame) -> pd.DataFrame:
    """Per-fold long form -> ``method, drug, metric, mean, std`` (NaN folds skipped; std ddof=1)."""
    def _std(v: pd.Series) -> float:
        v = v.dropna()
        return float(v.std(ddof=1)) if v.size >= 2 else math.nan

    g = per_fold.groupby(["method", "drug", "metric"], sort=False)["value"]
    out = g.agg(mean="mean", std=_std).reset_index()
    methods = list(dict.fromkeys(per_fold["method"]))
    drugs = list(dict.fromkeys(per_fold["drug"]))
    return _ordered(out, methods, drugs, [])[SUMMARY_COLUMNS]


def write_metrics(df: pd.DataFrame, path: "str | os.PathLike[str]") -> Path:
    """Write the long-form metrics as CSV atomically (temporary file in the same folder, fsync,
    ``os.replace``): a reader sees the old file or the complete new one, never a partial one."""
    return write_csv(df, path)


def per_drug_table(df: pd.DataFrame, metrics: Sequence[str] | None = TABLE_METRICS,
                   methods: Sequence[str] | None = None, std: bool = False,
                   digits: int = 3) -> pd.DataFrame:
    """Pivot the summary into rows = drug, columns = (method, metric).

    Numbers (the fold means) when ``std`` is False; strings ``"mean ± std"`` rounded to
    ``digits`` when True. Metrics a method does not report are left out (no empty columns).
    """
    if "mean" not in df.columns:
        df = summarize(df)
    methods = list(dict.fromkeys(df["method"])) if methods is None else list(methods)
    metrics = list(dict.fromkeys(df["metric"])) if metrics is None else list(metrics)
    drugs = list(dict.fromkeys(df["drug"]))
    sub = df[df["method"].isin(methods) & df["metric"].isin(metrics)].copy()
    if std:
        sub["cell"] = [f"{m:.{digits}f} ± {s:.{digits}f}" if np.isfinite(s) else f"{m:.{digits}f}"
                       for m, s in zip(sub["mean"], sub["std"])]
        value = "cell"
    else:
        value = "mean"
    table = sub.pivot(index="drug", columns=["method", "metric"], values=value)
    cols = [(m, t) for m in methods for t in metrics if (m, t) in table.columns]
    columns = pd.MultiIndex.from_tuples(cols, names=["method", "metric"])
    table = table.reindex(index=drugs, columns=columns)
    return table


_SHORT = {"auc": "AUC", "balanced_accuracy": "BA", "mcc": "MCC", "r2": "R²", "mse": "MSE"}


def to_markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """A per-drug table (from :func:`per_drug_table`) as a GitHub markdown table."""
    def head(c: Any) -> str:
        if isinstance(c, tuple):
            return f"{c[0]} {_SHORT.get(c[1], c[1])}"
        return str(c)

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if not np.isfinite(v) else f"{v:.{digits}f}"
        return "" if v is None else str(v)

    header = [str(table.index.name or "")] + [head(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|"]
    for idx, row in table.iterrows():
        lines.append("| " + " | ".join([str(idx)] + [cell(v) for v in row]) + " |")
    return "\n".join(lines)

