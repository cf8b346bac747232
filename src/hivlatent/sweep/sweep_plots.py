"""Figures of a sweep, drawn with matplotlib directly (no pyplot state; headless): optimisation
history, parameter importance, slices and the Pareto front. Each function takes the trials table
of :func:`hivlatent.sweep.trials_frame` and returns a Figure (save it with
:func:`hivlatent.reporting.plots.save_figure`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from ..reporting.plots import _STYLE, VAL_COLOR

BEST_COLOR = "#d62728"
PRUNED_COLOR = "#7f7f7f"
_LABELS = {"elbo": "validation negative ELBO (nats per sequence)",
           "probe_auc": "linear-probe AUC", "heads_bacc": "heads balanced accuracy"}


def _label(objective: str) -> str:
    return _LABELS.get(objective, objective)


def _minimize(objective: str) -> bool:
    return objective == "elbo"


def plot_history(frame: pd.DataFrame, objectives: Sequence[str], settings: Mapping | None = None) -> Figure:
    """Per objective: each trial's value (pruned trials hollow, at their full-run value) and the
    best value so far."""
    n = len(objectives)
    with rc_context(_STYLE):
        fig = Figure(figsize=(6.5, 3.0 * n + 0.6), layout="constrained")
        axes = fig.subplots(n, 1, squeeze=False)[:, 0]
        for ax, o in zip(axes, objectives):
            col = f"value_{o}"
            done = frame[frame["state"] == "COMPLETE"].sort_values("number") if len(frame) else frame
            if len(done):
                x = done["number"].to_numpy(float)
                y = done[col].to_numpy(float)
                ax.plot(x, y, "o", color=VAL_COLOR, markersize=5, label="complete trial")
                best = np.minimum.accumulate(y) if _minimize(o) else np.maximum.accumulate(y)
                ax.step(x, best, where="post", color=BEST_COLOR, linewidth=1.4, label="best so far")
            if len(frame) and len(objectives) == 1 and "neg_elbo" in frame:
                pr = frame[frame["state"] == "PRUNED"]
                src = "neg_elbo" if o == "elbo" else o
                if len(pr) and src in pr:
                    ax.plot(pr["number"].to_numpy(float), pr[src].to_numpy(float), "o",
                            markerfacecolor="none", color=PRUNED_COLOR, markersize=5,
                            label="pruned trial (full-run value)")
            ax.set_xlabel("trial number")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(_label(o))
            ax.grid(True, alpha=0.3, linewidth=0.6)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best", frameon=False)
            else:
                ax.text(0.5, 0.5, "no completed trial yet", ha="center", va="center",
                        transform=ax.transAxes)
        fig.suptitle("Optimisation history")
    return fig


def plot_importance(importances: Mapping[str, tuple[pd.Series, str]]) -> Figure:
    """Horizontal bars of parameter importance, one panel per objective."""
    items = [(o, s, m) for o, (s, m) in importances.items() if len(s)]
    n = max(1, len(items))
    height = max(2.4, 0.35 * max((len(s) for _, s, _ in items), default=4) + 1.2)
    with rc_context(_STYLE):
        fig = Figure(figsize=(4.8 * n, height), layout="constrained")
        axes = fig.subplots(1, n, squeeze=False)[0]
        for ax, (o, s, method) in zip(axes, items):
            s = s.sort_values()
            ax.barh(range(len(s)), s.to_numpy(float), color=VAL_COLOR)
            ax.set_yticks(range(len(s)), [str(i) for i in s.index])
            ax.set_xlabel(f"importance ({method})")
            ax.set_title(_label(o), wrap=True)
            ax.grid(True, axis="x", alpha=0.3, linewidth=0.6)
        fig.suptitle("Parameter importance")
    return fig


def plot_slices(frame: pd.DataFrame, objective: str, params: Sequence[str], space: Mapping) -> Figure:
    """The objective against each searched parameter (completed trials, coloured by number)."""
    col = f"value_{objective}"
    done = frame[(frame["state"] == "COMPLETE") & frame[col].notna()]
    params = [p for p in params if f"param_{p}" in done and done[f"param_{p}"].notna().any()]
    n = max(1, len(params))
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    with rc_context(_STYLE):
        fig = Figure(figsize=(3.2 * ncols + 0.6, 2.7 * nrows + 0.8), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
        sc = None
        vmin = float(done["number"].min()) if len(done) else 0.0
        vmax = max(vmin + 1.0, float(done["number"].max()) if len(done) else 1.0)
        for ax, name in zip(axes.flat, params):
            sub = done[done[f"param_{name}"].notna()]
            x = sub[f"param_{name}"]
            y = sub[col].to_numpy(float)
            p = space.get(name)
            if p is not None and p.type == "categorical" or not pd.api.types.is_numeric_dtype(x):
                cats = list(p.choices) if p is not None and p.type == "categorical" else sorted(set(x))
                pos = {c: i for i, c in enumerate(cats)}
                xs = np.array([pos.get(v, np.nan) for v in x], float)
                ax.set_xticks(range(len(cats)), [str(c) for c in cats])
                ax.set_xlim(-0.5, len(cats) - 0.5)
            else:
                xs = x.to_numpy(float)
                if p is not None and p.log:
                    _log_axis(ax, np.array([p.low, p.high], float))
                    ax.set_xlim(p.low / 1.15, p.high * 1.15)
                elif p is not None and p.type in ("int", "float"):
                    pad = 0.05 * (p.high - p.low) or 0.5
                    ax.set_xlim(p.low - pad, p.high + pad)
                    if p.type == "int":
                        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            sc = ax.scatter(xs, y, c=sub["number"].to_numpy(float), cmap="viridis", s=22,
                            edgecolors="none", vmin=vmin, vmax=vmax)
            ax.set_xlabel(name)
            ax.grid(True, alpha=0.3, linewidth=0.6)
        for ax in list(axes.flat)[len(params):]:
            ax.set_visible(False)
        fig.supylabel(_label(objective), fontsize=10)
        if sc is not None:
            cb = fig.colorbar(sc, ax=axes, label="trial number", shrink=0.8)
            cb.locator = MaxNLocator(integer=True)
            cb.update_ticks()
        fig.suptitle(f"Slices: {objective}")
    return fig


def _log_axis(ax, values: np.ndarray) -> None:
    """A log x axis labelled in plain numbers at 1, (2,) (3,) 5 x 10^k, as many as fit."""
    ax.set_xscale("log")
    v = values[np.isfinite(values) & (values > 0)]
    decades = math.log10(v.max() / v.min()) if v.size else 1.0
    subs = (1.0,) if decades > 2 else (1.0, 3.0) if decades > 1 else (1.0, 2.0, 5.0)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_pareto(frame: pd.DataFrame, objectives: Sequence[str], front: Sequence[int]) -> Figure:
    """Two objectives: every completed trial, the Pareto-optimal ones ringed and labelled."""
    a, b = objectives[:2]
    done = frame[frame["state"] == "COMPLETE"]
    with rc_context(_STYLE):
        fig = Figure(figsize=(6.0, 4.5), layout="constrained")
        ax = fig.add_subplot()
        ax.scatter(done[f"value_{a}"], done[f"value_{b}"], color=VAL_COLOR, s=22, label="trial")
        on = done[done["number"].isin(list(front))]
        ax.scatter(on[f"value_{a}"], on[f"value_{b}"], facecolors="none", edgecolors=BEST_COLOR,
                   s=90, linewidths=1.4, label="Pareto front")
        for r in on.itertuples():
            ax.annotate(str(r.number), (getattr(r, f"value_{a}"), getattr(r, f"value_{b}")),
                        textcoords="offset points", xytext=(5, 4), fontsize=9)
        ax.set_xlabel(_label(a))
        ax.set_ylabel(_label(b))
        ax.grid(True, alpha=0.3, linewidth=0.6)
        ax.legend(loc="best", frameon=False)
        ax.set_title("Trials in objective space")
    return fig
