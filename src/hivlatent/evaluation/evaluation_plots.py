"""Figures of an evaluation, drawn for the differences that matter: the model's paired
difference to the best baseline and to HIVdb per drug (a 0.005 difference is visible next to its
spread over folds), the metrics per method on axes fitted to the values, and the model's
reliability (predicted probability of resistance against the observed fraction)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from ..reporting import plots as F
from .metrics import LABELS, reliability


def _levels_as_balanced_accuracy(summary: pd.DataFrame) -> pd.DataFrame:
    """HIVdb's balanced accuracy is scored at two calls (level >= 3, level >= 4), as metrics
    ``balanced_accuracy_level3/4``: shown in the balanced-accuracy panel as methods ``hivdb ≥3``
    and ``hivdb ≥4``, both of them (neither chosen after the fact)."""
    level = summary["metric"].str.extract(r"^balanced_accuracy_level(\d)$")[0]
    at = level.notna()
    if not at.any():
        return summary
    moved = summary[at].assign(method=summary.loc[at, "method"] + " ≥" + level[at],
                               metric="balanced_accuracy")
    return pd.concat([summary[~at], moved], ignore_index=True)


def plot_metrics(summary: pd.DataFrame, metrics=("auc", "balanced_accuracy", "r2"),
                 title: str = "") -> Figure:
    """One panel per metric: per drug, each method's mean over folds with its sd, on an axis
    that starts near the lowest value (not at 0), metric names spelled out."""
    sub = _levels_as_balanced_accuracy(summary)
    sub = sub[sub["metric"].isin(metrics)]
    methods = list(dict.fromkeys(sub["method"]))
    drugs = list(dict.fromkeys(sub["drug"]))
    palette = F._palette(len(methods))
    shown = [m for m in metrics if m in set(sub["metric"])]
    with rc_context(F._STYLE):
        fig = F._figure(max(7.0, 0.9 * len(drugs) + 3.0), 3.3 * len(shown) + 1.2)
        axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
        width = 0.8 / max(1, len(methods))
        xs = np.arange(len(drugs))
        for ax, metric in zip(axes, shown):
            data = sub[sub["metric"] == metric].set_index(["method", "drug"])
            lows = []
            for k, (method, color) in enumerate(zip(methods, palette)):
                mean = np.array([data["mean"].get((method, d), np.nan) for d in drugs], float)
                sd = np.nan_to_num(np.array([data["std"].get((method, d), np.nan)
                                             for d in drugs], float))
                if not np.isfinite(mean).any():
                    continue                    # not scored on this metric (HIVdb's R²)
                lows.append(np.nanmin(mean - sd))
                ax.errorbar(xs - 0.4 + width * (k + 0.5), mean, yerr=sd, fmt="o", ms=4,
                            color=color, label=method, capsize=2, elinewidth=0.9)
            top = np.nanmax(data["mean"].to_numpy(float) + np.nan_to_num(data["std"]))
            low = min(lows) if lows else 0.0
            pad = 0.05 * max(top - low, 0.01)
            ax.set_ylim(low - pad, top + pad)
            ax.set_xticks(xs, drugs)
            ax.set_xlim(-0.5, len(drugs) - 0.5)     # the same drug slots in every panel
            ax.set_ylabel(LABELS.get(metric, metric))
            ax.set_title(f"{LABELS.get(metric, metric)} (mean ± sd over folds)")
            ax.grid(True, axis="y", alpha=0.3, linewidth=0.6)
        drawn = {}                              # each method once, in the methods' order
        for ax in axes:
            drawn.update(zip(*reversed(ax.get_legend_handles_labels())))
        labels = [m for m in methods if m in drawn]
        handles = [drawn[m] for m in labels]
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6),
                   frameon=False, title="method")
        fig.suptitle(title or "Cross-validated metrics by drug")
    return fig


#: the paired differences of :func:`hivlatent.evaluation.compare.compare` that
#: :func:`plot_differences` draws: (column, its sd's column, panel title)
DIFFERENCES = (("ba_diff", "ba_diff_sd", "balanced accuracy − best baseline"),
               ("hivdb_diff", "hivdb_diff_sd", "balanced accuracy − HIVdb (not independent)"),
               ("r2_diff", "r2_diff_sd", "R² − best regressor"),
               ("probe_diff", "probe_diff_sd", "latent probe AUC − lr AUC"))


def difference_panels(comparison: pd.DataFrame) -> list[tuple[str, str, str]]:
    """The :data:`DIFFERENCES` that ``comparison`` holds (none when only the model ran)."""
    return [p for p in DIFFERENCES if p[0] in comparison.columns]


def plot_differences(comparison: pd.DataFrame, title: str = "") -> Figure:
    """Per drug, the model's paired differences (mean ± sd over folds): balanced accuracy minus
    the best tuned baseline's and minus HIVdb's, R² minus the best regressor's, and the semi
    latent's probe AUC minus the tuned logistic regression's. Above 0: the model is ahead."""
    panels = difference_panels(comparison)
    if not panels:
        raise ValueError("the comparison holds no paired differences (no comparison method ran)")
    drugs = list(comparison["drug"])
    ncols = 2
    nrows = math.ceil(len(panels) / ncols)
    with rc_context(F._STYLE):
        fig = F._figure(2 * max(4.5, 0.6 * len(drugs) + 2.0), 3.2 * nrows + 1.0)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, (col, sd, label) in zip(axes.flat, panels):
            mean = comparison[col].to_numpy(float)
            err = np.nan_to_num(comparison[sd].to_numpy(float))
            colors = [F.RESISTANT_COLOR if m >= 0 else F.NOT_RESISTANT_COLOR for m in mean]
            ax.bar(np.arange(len(drugs)), mean, yerr=err, color=colors, capsize=3, alpha=0.85)
            ax.axhline(0, color="#333333", linewidth=0.9)
            if col == "probe_diff":
                ax.axhline(-0.005, color="#555555", linestyle="--", linewidth=0.9,
                           label="target −0.005")
                ax.legend(loc="best", frameon=False)
            ax.set_xticks(np.arange(len(drugs)), drugs)
            ax.set_ylabel("difference (model − comparison)")
            ax.set_title(label)
            ax.grid(True, axis="y", alpha=0.3, linewidth=0.6)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        fig.suptitle(title or "Paired differences over the same folds (mean ± sd)")
    return fig


def plot_reliability(collected: dict, method: str, title: str = "") -> Figure:
    """Per drug, the mean predicted P(resistant) against the observed resistant fraction in ten
    bins of the pooled test folds (point size: rows in the bin), with the diagonal."""
    per_drug = collected.get(method, {})
    drugs = list(per_drug)
    ncols = min(3, max(1, len(drugs)))
    nrows = math.ceil(len(drugs) / ncols) if drugs else 1
    with rc_context(F._STYLE):
        fig = F._figure(3.6 * ncols + 0.6, 3.4 * nrows + 1.0)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, drug in zip(axes.flat, drugs):
            y = np.concatenate([a for a, _ in per_drug[drug]])
            p = np.concatenate([b for _, b in per_drug[drug]])
            table = reliability(y, p)
            ok = table[:, 2] > 0
            ax.plot([0, 1], [0, 1], color="#888888", linestyle="--", linewidth=0.9,
                    label="perfect calibration")
            ax.scatter(table[ok, 0], table[ok, 1], s=8 + 60 * table[ok, 2] / table[ok, 2].max(),
                       color=F.RESISTANT_COLOR, label="bins of predictions")
            ax.plot(table[ok, 0], table[ok, 1], color=F.RESISTANT_COLOR, linewidth=0.8)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_title(f"{drug} (n={int(np.isfinite(y).sum())})")
            ax.set_xlabel("predicted P(resistant)")
            ax.set_ylabel("observed fraction resistant")
            ax.grid(True, alpha=0.3, linewidth=0.5)
        for ax in list(axes.flat)[len(drugs):]:
            ax.set_visible(False)
        if drugs:
            handles, labels = axes.flat[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
        fig.suptitle(title or f"Reliability of {method} on the held-out folds")
    return fig
