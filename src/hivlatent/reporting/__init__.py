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

__all__ = [
    "latent_label_correlation", "loss_unit", "plot_correlation_heatmap", "plot_latent_scatter",
    "plot_loss_curves", "plot_loss_grid", "plot_metric_comparison", "plot_top_loadings",
    "save_figure",
]
