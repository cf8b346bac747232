"""Figures (PNG/SVG) and the single-file HTML report."""

from .figures import (
    latent_label_correlation,
    loss_unit,
    plot_correlation_heatmap,
    plot_latent_scatter,
    plot_loss_curves,
    plot_loss_grid,
    plot_metric_comparison,
    plot_top_loadings,
    save_figure,
)
from .report import DEFAULT_RESEARCH_NOTE, Report, Section

__all__ = [
    "Report", "Section", "DEFAULT_RESEARCH_NOTE",
    "latent_label_correlation", "loss_unit", "plot_correlation_heatmap", "plot_latent_scatter",
    "plot_loss_curves", "plot_loss_grid", "plot_metric_comparison", "plot_top_loadings",
    "save_figure",
]
