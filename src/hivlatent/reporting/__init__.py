"""Figures (PNG/SVG) and the single-file HTML report.

The names below are imported on first use, so that a process which only hands figures to
worker processes (:mod:`.drawing`) never imports matplotlib itself."""

from __future__ import annotations

_EXPORTS = {
    **{name: "hivlatent.reporting.plots" for name in (
        "latent_label_correlation", "plot_correlation_heatmap", "plot_latent_scatter",
        "plot_loss_curves", "plot_loss_grid", "plot_metric_comparison", "plot_top_loadings",
        "save_figure")},
    "loss_unit": "hivlatent.reporting.units",
    **{name: "hivlatent.reporting.html_report" for name in (
        "Report", "Section", "DEFAULT_RESEARCH_NOTE")},
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hivlatent.reporting' has no attribute {name!r}")
