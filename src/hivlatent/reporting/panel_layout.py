"""A grid of panels laid out once, in inches, for figures drawn many times over whose labels
have a known length (the latent scatters): matplotlib's constrained layout measures every text
of a figure twice, half of such a drawing; here only the tick labels' lengths are counted (from
their formatters, not drawn)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

#: inches per character of a tick label (9 points; DejaVu Sans's digits are 0.64 em wide)
_TICK_CHAR = 0.64 * 9 / 72


def _longest_tick_label(axis) -> int:
    """Characters of ``axis``'s longest major tick label, as its formatter writes it (counted,
    not drawn)."""
    lo, hi = sorted(axis.get_view_interval())
    values = [v for v in axis.get_major_locator().tick_values(lo, hi) if lo <= v <= hi]
    return max(map(len, axis.get_major_formatter().format_ticks(values)), default=0)


def _spaced_x_ticks(ax, width: float) -> None:
    """Fewer x ticks on ``ax`` (``width`` inches wide) when their labels would touch (long
    labels of a narrow range: -0.00075, -0.00050, ...)."""
    values = ax.xaxis.get_major_locator().tick_values(*sorted(ax.get_xlim()))
    room = _longest_tick_label(ax.xaxis) * _TICK_CHAR + 0.12      # a label and a space
    if len(values) * room > width:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=max(2, int(width / room) - 1)))


def lay_out_panels(fig: Figure, axes: np.ndarray, panel: tuple[float, float],
                    margins: tuple[float, ...], gaps: tuple[float, float]) -> None:
    """Size ``fig`` and place its grid of ``axes`` in inches, once: panels of ``panel`` (width,
    height), ``margins`` (left, right, bottom, top) around the grid and ``gaps`` (between
    columns, between rows), the left margin and the column gap each widened by the longest y
    tick label, and no more x ticks than their labels leave room for. For figures drawn many
    times over whose other labels have a known length (the latent scatters): a constrained
    layout measures every text, half of such a drawing."""
    def place(left: float, wgap: float) -> None:
        (_, right, bottom, top), (pw, ph), hgap = margins, panel, gaps[1]
        width = left + right + ncols * pw + (ncols - 1) * wgap
        height = bottom + top + nrows * ph + (nrows - 1) * hgap
        fig.set_size_inches(width, height)
        fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                            top=1 - top / height, wspace=wgap / pw, hspace=hgap / ph)

    nrows, ncols = axes.shape
    place(margins[0], gaps[0])        # the panels' final size: the ticks' number depends on it
    for ax in axes.flat:
        _spaced_x_ticks(ax, panel[0])
    wide = max((_longest_tick_label(ax.yaxis) for ax in axes.flat if ax.get_visible()),
               default=0) * _TICK_CHAR
    place(margins[0] + wide, gaps[0] + wide)
