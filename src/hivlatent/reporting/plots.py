"""Figures of the study: loss curves, latent-label correlations, latent scatters, metric bars and
decoder/encoder loadings.

Every ``plot_*`` function takes plain data (pandas / numpy), builds a standalone
:class:`matplotlib.figure.Figure` (no pyplot state, so nothing leaks across a sweep of hundreds of
figures and no display backend is needed) and returns it. :func:`save_figure` writes it as PNG and
SVG atomically. Colours follow the reference study: training loss red, validation loss blue;
non-resistant viruses red, resistant viruses blue. All text is at least 9 pt at the saved size.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import DataError
from ..files import atomic_open
from .panel_layout import lay_out_panels
from .units import DEFAULT_UNIT, loss_unit  # noqa: F401  (re-exported)

__all__ = [
    "TRAIN_COLOR", "VAL_COLOR", "NOT_RESISTANT_COLOR", "RESISTANT_COLOR", "MIN_FONT_PT",
    "loss_unit", "save_figure", "plot_loss_curves", "plot_loss_grid",
    "latent_label_correlation", "plot_correlation_heatmap", "plot_latent_scatter",
    "plot_metric_comparison", "plot_top_loadings",
]

TRAIN_COLOR = "#d62728"          # red, as in the reference study
VAL_COLOR = "#1f77b4"            # blue
NOT_RESISTANT_COLOR = "#d62728"  # red: susceptible / not resistant
RESISTANT_COLOR = "#1f77b4"      # blue: resistant
POSITIVE_COLOR = "#7b3294"       # purple: positive loading (kept apart from the red/blue meanings)
NEGATIVE_COLOR = "#008837"       # green: negative loading
MIN_FONT_PT = 9
CORRELATION_TITLE = "Pearson correlation (point-biserial) between latent means and resistance label"

_STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",      # text stays text in the SVG (searchable, smaller)
    "svg.hashsalt": "hivlatent",  # deterministic SVG ids
}

_HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss")
_COMPONENTS = (  # (suffix, human name, line style)
    ("recon", "reconstruction", "--"),
    ("kl", "KL", ":"),
    ("sup", "supervised", "-."),
)


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | os.PathLike, formats: Sequence[str] = ("png", "svg"),
                dpi: int = 150) -> dict[str, Path]:
    """Write ``fig`` once per format next to ``path`` (its suffix is replaced), atomically.

    Each file is written to a temporary file in the same folder and renamed into place, so a
    reader never sees a half-written figure. Returns ``{format: path}``.
    """
    base = Path(path)
    if base.suffix.lower().lstrip(".") in {"png", "svg", "pdf"}:
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in formats:
        fmt = fmt.lower().lstrip(".")
        target = base.with_name(f"{base.name}.{fmt}")
        with atomic_open(target, "wb") as fh, rc_context(_STYLE):
            if fmt == "png":
                _save_png(fig, fh, dpi)
            else:
                fig.savefig(fh, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        written[fmt] = target
    return written


def _save_png(fig: Figure, fh, dpi: int) -> None:
    """The bytes ``fig.savefig(fh, format="png", dpi=dpi)`` writes, from one drawing instead of
    two: for a figure with a layout engine (ours are "constrained"), ``savefig`` first draws it
    without rendering to lay it out and then draws it again to render; the Agg canvas's own
    drawing lays out and renders at once (tests compare the bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import imsave

    canvas, before = fig.canvas, fig.dpi
    try:
        fig.set_dpi(dpi)
        agg = FigureCanvasAgg(fig)
        agg.draw()
        imsave(fh, agg.buffer_rgba(), format="png", origin="upper", dpi=dpi,
               metadata=_metadata("png"))
    finally:
        fig.set_dpi(before)
        fig.set_canvas(canvas)


def _metadata(fmt: str) -> dict | None:
    if fmt == "svg":
        return {"Date": None}  # reproducible bytes
    if fmt == "png":
        return {"Software": "hivlatent (matplotlib)"}
    return None


# ---------------------------------------------------------------------------- loss curves

def _check_history(history: pd.DataFrame, where: str) -> None:
    if not isinstance(history, pd.DataFrame):
        raise DataError(f"{where}: history must be a pandas DataFrame, got {type(history).__name__}")
    missing = [c for c in _HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise DataError(f"{where}: history lacks column(s) {', '.join(missing)}; expected epoch, "
                        "train_loss, val_loss (and optionally *_recon, *_kl, *_sup)")
    if len(history) == 0:
        raise DataError(f"{where}: history has no rows (no epoch was recorded)")


def _draw_history(ax, history: pd.DataFrame, components: bool) -> None:
    epochs = history["epoch"].to_numpy()
    many = len(epochs) > 60
    for split, color, name in (("train", TRAIN_COLOR, "training"), ("val", VAL_COLOR, "validation")):
        col = f"{split}_loss"
        values = history[col].to_numpy(dtype=float)
        if np.all(np.isnan(values)):
            continue
        ax.plot(epochs, values, color=color, marker="o", markersize=2.5 if many else 4,
                linewidth=1.6, label=f"{name} loss", gid=col)
        if components:
            for suffix, human, style in _COMPONENTS:
                ccol = f"{split}_{suffix}"
                values = history[ccol] if ccol in history.columns else None
                # a term that is never there (the plain VAE's supervised term) is not drawn
                if values is not None and not values.isna().all() and values.abs().max() > 0:
                    ax.plot(epochs, values.to_numpy(dtype=float), color=color,
                            linestyle=style, linewidth=0.9, label=f"{name} {human}", gid=ccol)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    if len(epochs) and np.all(np.equal(np.mod(epochs, 1), 0)) and len(epochs) <= 12:
        ax.set_xticks(epochs)
    _zoom_past_first_epochs(ax, history, [line.get_gid() for line in ax.get_lines()])


def _zoom_past_first_epochs(ax, history: pd.DataFrame, columns: list[str]) -> None:
    """With 10 or more epochs, when the first epochs' values of the drawn ``columns`` dwarf the
    rest (the curves would be flat where the training/validation gap and the convergence
    are), the y axis shows them from 10% of the epochs on and a note gives the highest value
    left above it."""
    values = history[columns].to_numpy(dtype=float)
    n = len(values)
    if n < 10 or not np.isfinite(values).any():
        return
    late = values[max(2, math.ceil(0.1 * n)):]
    lo, hi, top = np.nanmin(values), np.nanmax(late), np.nanmax(values)
    if not (np.isfinite(hi) and top - lo > 3 * (hi - lo) > 0):
        return
    margin = 0.1 * (hi - lo)
    ax.set_ylim(lo - margin, hi + margin)
    ax.annotate(f"first epochs up to {top:.3g} (above the axis)", xy=(0.98, 0.97),
                xycoords="axes fraction", ha="right", va="top", fontsize=7.5, color="0.35")


def plot_loss_curves(history: pd.DataFrame, title: str | None = None, unit: str = DEFAULT_UNIT,
                     components: bool = False) -> Figure:
    """Training (red) and validation (blue) loss per epoch, one marker per epoch.

    ``title`` names the configuration (for example ``"latent 10, hidden 128, batch 32"``);
    ``unit`` goes into the y label, in parentheses on the line under ``"loss per sequence"`` (see
    :func:`loss_unit`). ``components=True`` adds thin lines for the reconstruction (dashed), KL
    (dotted) and, when the model has one (not all zero), supervised (dash-dot) terms in the
    same colours.
    """
    _check_history(history, "plot_loss_curves")
    with rc_context(_STYLE):
        fig = _figure(7.0, 4.5)
        ax = fig.add_subplot()
        _draw_history(ax, history, components)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"loss per sequence\n({unit})")
        heading = "Training and validation loss"
        ax.set_title(heading if not title else f"{heading}: {title}", wrap=True)
        if components:  # six entries: keep them off the curves
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3,
                       frameon=False)
        else:
            ax.legend(loc="best", frameon=False)
    return fig


def plot_loss_grid(histories: Mapping[str, pd.DataFrame], unit: str = DEFAULT_UNIT,
                   ncols: int | None = None, components: bool = False,
                   title: str | None = None, sharey: bool = False) -> Figure:
    """One loss panel per configuration (dict key = panel title), shared legend and axis labels."""
    if not histories:
        raise DataError("plot_loss_grid: no histories given; expected {configuration: history}")
    for name, hist in histories.items():
        _check_history(hist, f"plot_loss_grid[{name!r}]")
    n = len(histories)
    ncols = ncols or min(3, n)
    nrows = math.ceil(n / ncols)
    with rc_context(_STYLE):
        fig = _figure(3.9 * ncols + 0.6, 3.1 * nrows + 1.0)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey)
        for ax, (name, hist) in zip(axes.flat, histories.items()):
            _draw_history(ax, hist, components)
            ax.set_title("\n".join(textwrap.wrap(str(name), 34)))
            ax.set_xlabel("epoch")
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        handles, labels = _unique_legend(axes.flat[:n])
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4),
                   frameon=False)
        fig.supylabel(f"loss per sequence ({unit})", fontsize=10)
        fig.suptitle(title or "Training and validation loss by configuration")
    return fig


def _unique_legend(axes) -> tuple[list, list[str]]:
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen.keys())


# ---------------------------------------------------------------------------- correlations

def _latent_names(k: int) -> list[str]:
    return [f"z{i + 1}" for i in range(k)]


def _as_2d(name: str, array) -> np.ndarray:
    a = np.asarray(array, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (rows x columns), got shape {a.shape}")
    return a


def latent_label_correlation(latent, labels, drugs: Sequence[str] | None = None) -> pd.DataFrame:
    """Pearson correlation between each latent dimension and each drug's 0/1 label.

    With a binary label this is the point-biserial correlation. Rows with a missing (NaN) label
    are left out for that drug only. A cell is NaN when fewer than 3 labelled rows remain or when
    the label or the latent dimension is constant among them. Returns a DataFrame with index
    ``z1..zk`` and one column per drug.
    """
    z = _as_2d("latent", latent)
    y = _as_2d("labels", labels)
    if z.shape[0] != y.shape[0]:
        raise DataError(f"latent has {z.shape[0]} rows but labels has {y.shape[0]}; "
                        "expected one row per virus in both")
    drugs = list(drugs) if drugs is not None else [f"drug{j + 1}" for j in range(y.shape[1])]
    if len(drugs) != y.shape[1]:
        raise DataError(f"{len(drugs)} drug names for {y.shape[1]} label columns")
    out = np.full((z.shape[1], y.shape[1]), np.nan)
    for j in range(y.shape[1]):
        keep = ~np.isnan(y[:, j])
        if keep.sum() < 3:
            continue
        yy = y[keep, j] - y[keep, j].mean()
        zz = z[keep] - z[keep].mean(axis=0)
        denom = np.sqrt((zz ** 2).sum(axis=0) * (yy ** 2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (zz * yy[:, None]).sum(axis=0) / denom
        r[denom <= 1e-12] = np.nan
        out[:, j] = np.clip(r, -1.0, 1.0)
    return pd.DataFrame(out, index=_latent_names(z.shape[1]), columns=drugs)


def plot_correlation_heatmap(corr: pd.DataFrame, title: str | None = None,
                             statistic: str = CORRELATION_TITLE) -> Figure:
    """Heatmap of ``corr`` (rows latent dimensions, columns drugs), diverging colours centred at 0
    (-1 blue .. +1 red), the value written in every cell, a labelled colour bar. ``title`` (the
    model or configuration) goes under the statistic's name."""
    values = corr.to_numpy(dtype=float)
    nrows, ncols = values.shape
    with rc_context(_STYLE):
        width = max(6.5, 0.85 * ncols + 3.2)
        fig = _figure(width, max(3.2, 0.42 * nrows + 2.0))
        ax = fig.add_subplot()
        from matplotlib import colormaps

        cmap = colormaps["RdBu_r"].with_extremes(bad="#dddddd")
        im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-1.0, vmax=1.0,
                       aspect="auto")
        ax.set_xticks(range(ncols), [str(c) for c in corr.columns])
        ax.set_yticks(range(nrows), [str(i) for i in corr.index])
        ax.set_xlabel("drug (label: 1 = resistant)")
        ax.set_ylabel("latent dimension")
        ax.tick_params(length=0)
        for s in ax.spines.values():
            s.set_visible(False)
        for i in range(nrows):
            for j in range(ncols):
                v = values[i, j]
                text = _fmt_r(v)
                color = "white" if (not np.isnan(v) and abs(v) > 0.55) else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=9, color=color)
        cbar = fig.colorbar(im, ax=ax, shrink=0.9, ticks=[-1, -0.5, 0, 0.5, 1])
        cbar.set_label("Pearson r (point-biserial)")
        head = _balanced_wrap(statistic, int(width * 10))
        ax.set_title(head if not title else f"{head}\n{title}")
    return fig


# ---------------------------------------------------------------------------- latent scatter

def _pca(z: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    centred = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s ** 2
    ratio = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    return centred @ vt[:n].T, ratio[:n]


def plot_latent_scatter(latent, labels, drugs: Sequence[str], method: str = "top2",
                        model_name: str = "VAE", ncols: int | None = None, alpha: float = 0.35,
                        point_size: float = 9.0, seed: int = 0) -> Figure:
    """One panel per drug: viruses in two latent coordinates, not resistant red, resistant blue.

    ``method="top2"``: the two latent dimensions with the largest |r| with that drug's label
    (axis labels ``"z3 (r=+0.41)"``; with latent size 2 both dimensions). ``method="pca"``: the
    first two principal components of the latent means (same for all drugs; axis labels
    ``"PC1 (xx% var)"``). Latent size 1: the y axis is uniform random jitter (seeded by
    ``seed``) and the axis label says so. Viruses with a missing label are not drawn. Points are
    drawn in a seeded random order in one layer, so neither class hides the other by drawing
    order.
    """
    z = _as_2d("latent", latent)
    y = _as_2d("labels", labels)
    drugs = list(drugs)
    if z.shape[0] != y.shape[0]:
        raise DataError(f"latent has {z.shape[0]} rows but labels has {y.shape[0]}")
    if len(drugs) != y.shape[1]:
        raise DataError(f"{len(drugs)} drug names for {y.shape[1]} label columns")
    if method not in {"top2", "pca"}:
        raise DataError(f"unknown scatter method {method!r}: expected 'top2' or 'pca'")
    n, k = z.shape
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(-1.0, 1.0, size=n)
    order = rng.permutation(n)
    corr = latent_label_correlation(z, y, drugs)
    if method == "pca":
        pcs, ratio = _pca(z, min(2, k))

    nd = len(drugs)
    ncols = ncols or min(3, nd)
    nrows = math.ceil(nd / ncols)
    with rc_context(_STYLE):
        fig = Figure()          # laid out in inches at the end (lay_out_panels)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, (j, drug) in zip(axes.flat, enumerate(drugs)):
            if method == "top2":
                r = corr[drug].to_numpy()
                rank = np.argsort(-np.nan_to_num(np.abs(r), nan=-1.0), kind="stable")
                dims = list(rank[:2])
                x = z[:, dims[0]]
                xlabel = f"z{dims[0] + 1} (r={_fmt_r(r[dims[0]])})"
                if k >= 2:
                    yv, ylabel = z[:, dims[1]], f"z{dims[1] + 1} (r={_fmt_r(r[dims[1]])})"
                else:
                    yv, ylabel = jitter, "random jitter (latent size 1)"
            else:
                x, xlabel = pcs[:, 0], f"PC1 ({100 * ratio[0]:.0f}% var)"
                if k >= 2:
                    yv, ylabel = pcs[:, 1], f"PC2 ({100 * ratio[1]:.0f}% var)"
                else:
                    yv, ylabel = jitter, "random jitter (latent size 1)"
            lab = y[:, j]
            idx = order[~np.isnan(lab[order])]
            colors = np.where(lab[idx] == 1, RESISTANT_COLOR, NOT_RESISTANT_COLOR)
            ax.scatter(x[idx], yv[idx], c=list(colors), s=point_size, alpha=alpha,
                       linewidths=0, rasterized=len(idx) > 1000, gid=f"scatter-{drug}")
            n_res = int((lab == 1).sum())
            n_not = int((lab == 0).sum())
            n_miss = int(np.isnan(lab).sum())
            handles = [
                Line2D([], [], linestyle="", marker="o", color=NOT_RESISTANT_COLOR,
                       label=f"not resistant (n={n_not})"),
                Line2D([], [], linestyle="", marker="o", color=RESISTANT_COLOR,
                       label=f"resistant (n={n_res})"),
            ]
            ax.legend(handles=handles, loc="best", frameon=True, framealpha=0.8,
                      handletextpad=0.2, borderpad=0.3)
            ax.set_title(drug if not n_miss else f"{drug} ({n_miss} unlabelled, not shown)")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            if k == 1:
                ax.set_yticks([])
            ax.grid(True, alpha=0.25, linewidth=0.5)
        for ax in list(axes.flat)[nd:]:
            ax.set_visible(False)
        if k == 1:
            how = ("the only latent dimension" if method == "top2" else "PC1 of the latent means")
            how += " against random vertical jitter (no second dimension)"
        elif method == "top2":
            how = ("both latent dimensions" if k == 2 else
                   "the two latent dimensions most correlated with each drug's label")
        else:
            how = "first two principal components of the latent means"
        fig.suptitle(f"{model_name} latent space (latent size {k}): {how}")
        lay_out_panels(fig, axes, (3.3, 2.95), (0.36, 0.1, 0.5, 0.72), (0.45, 0.82))
    return fig


def _fmt_r(r: float) -> str:
    if np.isnan(r):
        return "n/a"
    return "0.00" if abs(r) < 0.005 else f"{r:+.2f}"


def _balanced_wrap(text: str, max_chars: int) -> str:
    """Wrap ``text`` into as few lines as fit ``max_chars``, with lines of similar length."""
    lines = max(1, math.ceil(len(text) / max(max_chars, 10)))
    return "\n".join(textwrap.wrap(text, math.ceil(len(text) / lines) + 6))


# ---------------------------------------------------------------------------- evaluation metrics

_CHANCE = {"auc": 0.5, "roc auc": 0.5, "roc_auc": 0.5, "balanced accuracy": 0.5,
           "balanced_accuracy": 0.5}


def plot_metric_comparison(metrics: pd.DataFrame, title: str | None = None, ncols: int | None = None,
                           chance: Mapping[str, float] | None = None) -> Figure:
    """Grouped bars: one panel per metric, drugs on x, one bar (colour) per method, error bars
    = standard deviation over folds.

    ``metrics`` is long-form with columns ``method, drug, metric, mean, std`` (``std`` may be NaN).
    A dashed line marks chance level for metrics listed in ``chance`` (default: 0.5 for AUC and
    balanced accuracy, matched case-insensitively).
    """
    need = ["method", "drug", "metric", "mean", "std"]
    missing = [c for c in need if c not in metrics.columns]
    if missing:
        raise DataError(f"plot_metric_comparison: metrics lacks column(s) {', '.join(missing)}; "
                        "expected long form with method, drug, metric, mean, std")
    if metrics.duplicated(["method", "drug", "metric"]).any():
        dup = metrics[metrics.duplicated(["method", "drug", "metric"])].iloc[0]
        raise DataError("plot_metric_comparison: more than one row for method "
                        f"{dup['method']!r}, drug {dup['drug']!r}, metric {dup['metric']!r}")
    if len(metrics) == 0:
        raise DataError("plot_metric_comparison: metrics table is empty")
    chance = {k.lower(): v for k, v in (_CHANCE if chance is None else chance).items()}
    metric_names = list(dict.fromkeys(metrics["metric"]))
    methods = list(dict.fromkeys(metrics["method"]))
    drugs = list(dict.fromkeys(metrics["drug"]))
    palette = _palette(len(methods))
    nm = len(metric_names)
    ncols = ncols or 1
    nrows = math.ceil(nm / ncols)
    width = max(5.5, 0.32 * len(drugs) * max(len(methods), 2) + 1.6)
    with rc_context(_STYLE):
        fig = _figure(width * ncols, 3.6 * nrows + 1.0)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        bar_w = 0.8 / len(methods)
        xs = np.arange(len(drugs))
        for ax, metric in zip(axes.flat, metric_names):
            sub = metrics[metrics["metric"] == metric].set_index(["method", "drug"])
            for m, (method, color) in enumerate(zip(methods, palette)):
                mean = [sub["mean"].get((method, d), np.nan) for d in drugs]
                std = [sub["std"].get((method, d), np.nan) for d in drugs]
                yerr = np.nan_to_num(np.asarray(std, dtype=float), nan=0.0)
                ax.bar(xs - 0.4 + bar_w * (m + 0.5), mean, bar_w * 0.92, yerr=yerr,
                       color=color, label=str(method), capsize=2,
                       error_kw={"elinewidth": 0.9, "ecolor": "#333333"}, gid=f"bars-{method}")
            level = chance.get(str(metric).lower())
            if level is not None:
                ax.axhline(level, color="#555555", linestyle="--", linewidth=0.9,
                           label="chance level")
            ax.set_xticks(xs, [str(d) for d in drugs])
            ax.set_xlabel("drug")
            ax.set_ylabel(str(metric))
            ax.set_title(f"{metric} by drug (mean ± sd over folds)")
            values = sub["mean"].to_numpy(dtype=float)
            if np.nanmin(values) >= 0 and np.nanmax(values) <= 1:
                ax.set_ylim(0, 1.05)
            ax.grid(True, axis="y", alpha=0.3, linewidth=0.6)
        for ax in list(axes.flat)[nm:]:
            ax.set_visible(False)
        handles, labels = _unique_legend(axes.flat[:nm])
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5),
                   frameon=False, title="method")
        fig.suptitle(title or "Cross-validated performance by method and drug")
    return fig


def _palette(n: int) -> list:
    from matplotlib import colormaps

    # colour-blind friendly (Okabe-Ito) first, then tab20 for long method lists
    base = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
    if n <= len(base):
        return base[:n]
    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


# ---------------------------------------------------------------------------- loadings

def plot_top_loadings(weights: pd.DataFrame, top_n: int = 10, ncols: int | None = None,
                      title: str | None = None, value_label: str = "weight") -> Figure:
    """For each latent dimension (column of ``weights``), the ``top_n`` mutations (index) with the
    largest absolute weight as horizontal bars, largest at the top; purple = positive, green =
    negative weight."""
    if weights.shape[1] == 0 or weights.shape[0] == 0:
        raise DataError("plot_top_loadings: weights is empty; expected mutations x latent dims")
    dims = list(weights.columns)
    top_n = min(top_n, weights.shape[0])
    nd = len(dims)
    ncols = ncols or min(4, nd)
    nrows = math.ceil(nd / ncols)
    longest = max(len(str(i)) for i in weights.index)
    panel_w = 2.4 + 0.075 * longest
    with rc_context(_STYLE):
        fig = _figure(panel_w * ncols + 0.4, (0.24 * top_n + 1.0) * nrows + 1.0)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, dim in zip(axes.flat, dims):
            col = weights[dim].astype(float)
            rank = np.argsort(-np.nan_to_num(col.abs().to_numpy(), nan=-1.0), kind="stable")
            top = col.iloc[rank[:top_n]]
            ypos = np.arange(len(top))[::-1]
            colors = [POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR for v in top.to_numpy()]
            ax.barh(ypos, top.to_numpy(), color=colors, height=0.75, gid=f"loadings-{dim}")
            ax.set_yticks(ypos, [str(i) for i in top.index])
            ax.axvline(0, color="#333333", linewidth=0.8)
            ax.set_title(f"{dim}: top {len(top)} by |{value_label}|")
            ax.set_xlabel(value_label)
            ax.grid(True, axis="x", alpha=0.3, linewidth=0.6)
        for ax in list(axes.flat)[nd:]:
            ax.set_visible(False)
        fig.legend(handles=[Patch(color=POSITIVE_COLOR, label=f"positive {value_label}"),
                            Patch(color=NEGATIVE_COLOR, label=f"negative {value_label}")],
                   loc="outside lower center", ncols=2, frameon=False)
        fig.supylabel("mutation", fontsize=10)
        fig.suptitle(title or "Mutations with the largest weights per latent dimension")
    return fig
