"""The model against the strongest comparison, per drug, with the noise visible.

From the per-fold metrics of a repeated cross-validation: for every drug, the model's balanced
accuracy against the best tuned baseline (by mean over folds) and against HIVdb, its R² against
the best regressor, the semi latent's probe AUC against the tuned L2 logistic regression, the
coverage of its 90% interval, and whether P(resistant) and the call ever disagree. Differences
are paired (the same folds): their mean, their standard deviation over the folds and in how many
folds the model was ahead, so a 0.005 difference is not read as a win or a loss.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .baselines import CLASSIFIERS, REGRESSORS

#: the coverage the 90% interval should reach, and the probe's allowance against ``lr``
COVERAGE_RANGE = (0.85, 0.95)
PROBE_ALLOWANCE = 0.005


def _values(per_fold: pd.DataFrame, method: str, drug: str, metric: str) -> pd.Series:
    sel = per_fold[(per_fold.method == method) & (per_fold.drug == drug) &
                   (per_fold.metric == metric)]
    return sel.set_index("fold")["value"].astype(float)


def _best(per_fold: pd.DataFrame, methods, drug: str, metric: str) -> tuple[str | None, float]:
    """The best of ``methods`` by mean ``metric`` and that mean; (None, NaN) when none has it."""
    best, value = None, -math.inf
    for m in methods:
        v = _values(per_fold, m, drug, metric).mean()
        if np.isfinite(v) and v > value:
            best, value = m, v
    return best, (value if best else math.nan)


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float, int, int]:
    d = (a - b).dropna()
    return (float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else math.nan,
            int((d > 0).sum()), int(len(d)))


def _against(row: dict, key: str, per_fold: pd.DataFrame, model: str, methods, drug: str,
             metric: str) -> pd.Series:
    """Fill ``row`` with the model's ``metric`` (model_<key>, its sd), the best of ``methods``
    (best_<key>_method, best_<key>) and the paired difference to it (<key>_diff, its sd,
    folds ahead); returns the model's per-fold values."""
    values = _values(per_fold, model, drug, metric)
    name, value = _best(per_fold, methods, drug, metric)
    row.update({f"model_{key}": values.mean(), f"model_{key}_sd": values.std(ddof=1),
                f"best_{key}_method": name, f"best_{key}": value})
    if name:
        mean, sd, ahead, n = _paired(values, _values(per_fold, name, drug, metric))
        row.update({f"{key}_diff": mean, f"{key}_diff_sd": sd, f"{key}_ahead": f"{ahead}/{n}"})
    return values


def compare(per_fold: pd.DataFrame, model: str, latent: str | None = None) -> pd.DataFrame:
    """One row per drug: the targets, each with the model's value, the comparison's value, the
    paired difference (mean, sd, folds ahead) and whether it is met."""
    methods = set(per_fold.method)
    baselines = [m for m in (*CLASSIFIERS, *REGRESSORS) if m in methods]
    regressors = [m for m in REGRESSORS if m in methods]
    rows = []
    for drug in dict.fromkeys(per_fold.drug):
        row: dict = {"drug": drug}
        ba = _against(row, "ba", per_fold, model, baselines, drug, "balanced_accuracy")
        if "hivdb" in methods:
            levels = {t: _values(per_fold, "hivdb", drug, f"balanced_accuracy_level{t}")
                      for t in (3, 4)}
            t = max(levels, key=lambda k: levels[k].mean())
            row.update(hivdb_ba=levels[t].mean(), hivdb_level=t)
            mean, sd, ahead, n = _paired(ba, levels[t])
            row.update(hivdb_diff=mean, hivdb_diff_sd=sd, hivdb_ahead=f"{ahead}/{n}")
        _against(row, "r2", per_fold, model, regressors, drug, "r2")
        if latent and "lr" in methods:
            probe = _values(per_fold, latent, drug, "auc")
            lr = _values(per_fold, "lr", drug, "auc")
            mean, sd, ahead, n = _paired(probe, lr)
            row.update(probe_auc=probe.mean(), lr_auc=lr.mean(), probe_diff=mean,
                       probe_diff_sd=sd)
        cov = _values(per_fold, model, drug, "coverage90")
        row.update(coverage90=cov.mean(), coverage90_sd=cov.std(ddof=1),
                   incoherent=_values(per_fold, model, drug, "incoherent").mean(),
                   brier=_values(per_fold, model, drug, "brier").mean(),
                   ece=_values(per_fold, model, drug, "ece").mean())
        row["met_ba"] = bool(row.get("ba_diff", -1) >= 0 and row.get("hivdb_diff", 0) >= 0)
        row["met_r2"] = bool(row.get("r2_diff", -1) >= 0)
        row["met_probe"] = bool(row.get("probe_diff", -1) >= -PROBE_ALLOWANCE)
        row["met_coverage"] = bool(COVERAGE_RANGE[0] <= row["coverage90"] <= COVERAGE_RANGE[1])
        row["met_coherent"] = bool(row["incoherent"] == 0)
        rows.append(row)
    return pd.DataFrame(rows)


def _pm(mean, sd, digits=3) -> str:
    if mean is None or not np.isfinite(mean):
        return ""
    return f"{mean:+.{digits}f} ± {sd:.{digits}f}" if np.isfinite(sd) else f"{mean:+.{digits}f}"


def _named(method, value) -> str:
    """A comparison method and its value, or "-" when the run had none."""
    return f"{method} {value:.3f}" if isinstance(method, str) and method else "-"


def comparison_markdown(table: pd.DataFrame) -> str:
    """The comparison as a markdown table (differences are model minus comparison)."""
    head = ["drug", "BA model", "best baseline", "BA diff (folds ahead)", "HIVdb BA*",
            "diff to HIVdb", "R² model", "best regressor", "R² diff (folds ahead)",
            "probe AUC − lr AUC", "90% coverage", "P vs call disagree"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table.itertuples():
        g = r._asdict()
        lines.append("| " + " | ".join([
            r.drug, f"{r.model_ba:.3f}", _named(g.get("best_ba_method"), g.get("best_ba")),
            f"{_pm(g.get('ba_diff'), g.get('ba_diff_sd'))} ({g.get('ba_ahead', '')})",
            f"{g.get('hivdb_ba', math.nan):.3f} (≥{g.get('hivdb_level', '')})" if "hivdb_ba" in g
            else "", _pm(g.get("hivdb_diff"), g.get("hivdb_diff_sd")),
            f"{r.model_r2:.3f}", _named(g.get("best_r2_method"), g.get("best_r2")),
            f"{_pm(g.get('r2_diff'), g.get('r2_diff_sd'))} ({g.get('r2_ahead', '')})",
            _pm(g.get("probe_diff"), g.get("probe_diff_sd")),
            f"{r.coverage90:.3f}", f"{r.incoherent:.3f}"]) + " |")
    return "\n".join(lines)
