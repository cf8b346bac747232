"""Figures: the right series, colours, labels, titles and legends, and files written atomically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex, to_rgb
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.text import Text
from scipy.stats import pointbiserialr

from hivlatent.errors import DataError
from hivlatent.reporting import plots as F

RED, BLUE = to_rgb(F.TRAIN_COLOR), to_rgb(F.VAL_COLOR)
DRUGS = ["3TC", "ABC", "AZT", "D4T", "DDI"]


def history(epochs: int = 12, seed: int = 0, sup: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    e = np.arange(1, epochs + 1)
    recon = 60 * np.exp(-e / 5) + 20 + rng.normal(0, 0.3, epochs)
    kl = 4 + 2 * (1 - np.exp(-e / 4))
    h = pd.DataFrame({"epoch": e, "train_loss": recon + kl, "train_recon": recon, "train_kl": kl,
                      "val_loss": recon + kl + 2, "val_recon": recon + 2, "val_kl": kl})
    if sup:
        h["train_sup"] = 1.0 / e
        h["val_sup"] = 1.2 / e
    return h


@pytest.fixture(scope="module")
def latent_data():
    """300 viruses, 6 latent dims; z3 tracks ABC resistance, z5 (negatively) tracks AZT."""
    rng = np.random.default_rng(1)
    n = 300
    labels = (rng.random((n, 5)) < 0.4).astype(float)
    z = rng.normal(size=(n, 6))
    z[:, 2] += 1.5 * labels[:, 1]
    z[:, 4] -= 1.2 * labels[:, 2]
    labels[rng.random((n, 5)) < 0.1] = np.nan
    return z, labels


def texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def assert_readable(fig: Figure) -> None:
    small = [(t.get_text(), t.get_fontsize()) for t in texts(fig) if t.get_fontsize() < 9]
    assert not small, f"text below 9 pt: {small[:5]}"


def lines_by_gid(ax) -> dict:
    return {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}


# ---------------------------------------------------------------------------- loss curves

def test_loss_curves_series_colours_points_labels():
    h = history(12)
    fig = F.plot_loss_curves(h, "latent 10, hidden 128, batch 32", unit=F.loss_unit("bernoulli", 228))
    ax = fig.axes[0]
    lines = lines_by_gid(ax)
    assert set(lines) == {"train_loss", "val_loss"}
    assert to_rgb(lines["train_loss"].get_color()) == RED
    assert to_rgb(lines["val_loss"].get_color()) == BLUE
    for name, line in lines.items():
        assert line.get_marker() == "o"
        x, y = line.get_data()
        assert len(x) == 12 and list(x) == list(range(1, 13))
        np.testing.assert_allclose(y, h[name])
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel() == "loss per sequence\n(nats, summed over 228 features)"
    assert "latent 10, hidden 128, batch 32" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training loss", "validation loss"]
    assert_readable(fig)


def test_a_first_epoch_spike_does_not_flatten_the_curves():
    n = 50
    epochs = np.arange(1, n + 1)
    train = 10 + 0.5 * np.exp(-epochs / 10)
    train[0] = 40.0                                    # the first epoch dwarfs the rest
    h = pd.DataFrame({"epoch": epochs, "train_loss": train, "val_loss": train + 0.4})
    ax = F.plot_loss_curves(h).axes[0]
    lo, hi = ax.get_ylim()
    assert hi < 12 and lo < 10.01                      # the converged region and the gap fill it
    assert any("first epochs up to 40.4" in t.get_text() for t in ax.texts)
    few = F.plot_loss_curves(h.iloc[:5]).axes[0]       # few epochs: nothing is clipped
    assert few.get_ylim()[1] >= 40 and not few.texts


def test_loss_curves_components_are_thin_dashed_same_colours():
    fig = F.plot_loss_curves(history(8, sup=True), "semi", unit=F.loss_unit("mse", 228),
                             components=True)
    ax = fig.axes[0]
    lines = lines_by_gid(ax)
    assert set(lines) == {f"{s}_{c}" for s in ("train", "val") for c in ("loss", "recon", "kl", "sup")}
    assert lines["train_recon"].get_linestyle() == "--" and lines["val_kl"].get_linestyle() == ":"
    assert to_rgb(lines["val_recon"].get_color()) == BLUE
    assert to_rgb(lines["train_sup"].get_color()) == RED
    assert lines["train_recon"].get_linewidth() < lines["train_loss"].get_linewidth()
    assert "squared error, summed over 228 features" in ax.get_ylabel()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "training reconstruction" in legend and "validation KL" in legend
    assert_readable(fig)


def test_loss_curves_without_validation_and_bad_history():
    h = history(5)
    h["val_loss"] = np.nan
    fig = F.plot_loss_curves(h)
    assert set(lines_by_gid(fig.axes[0])) == {"train_loss"}
    with pytest.raises(DataError, match="val_loss"):
        F.plot_loss_curves(h.drop(columns="val_loss"))
    with pytest.raises(DataError, match="likelihood"):
        F.loss_unit("poisson", 228)


def test_loss_grid_one_panel_per_configuration_shared_legend():
    hs = {f"latent 10, hidden {h}, batch 32, 100 epochs": history(6 + i, i)
          for i, h in enumerate([64, 128, 256, 512])}
    fig = F.plot_loss_grid(hs, unit="nats, summed over 228 features")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4 and len(fig.axes) == 6  # 2 x 3 grid, two empty cells hidden
    for ax, (name, h) in zip(visible, hs.items()):
        assert ax.get_title().replace("\n", " ") == name
        lines = lines_by_gid(ax)
        assert to_rgb(lines["train_loss"].get_color()) == RED
        assert to_rgb(lines["val_loss"].get_color()) == BLUE
        assert len(lines["val_loss"].get_xdata()) == len(h)
        assert ax.get_legend() is None
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["training loss", "validation loss"]
    assert fig.get_supylabel() == "loss per sequence (nats, summed over 228 features)"
    assert_readable(fig)
    with pytest.raises(DataError):
        F.plot_loss_grid({})


# ---------------------------------------------------------------------------- correlation

def test_latent_label_correlation_matches_point_biserial(latent_data):
    z, y = latent_data
    corr = F.latent_label_correlation(z, y, DRUGS)
    assert list(corr.index) == [f"z{i}" for i in range(1, 7)] and list(corr.columns) == DRUGS
    for j, drug in enumerate(DRUGS):
        keep = ~np.isnan(y[:, j])
        for i in range(6):
            expected = pointbiserialr(y[keep, j], z[keep, i]).statistic
            assert corr.loc[f"z{i + 1}", drug] == pytest.approx(expected, abs=1e-12)
    assert corr.loc["z3", "ABC"] > 0.5 and corr.loc["z5", "AZT"] < -0.4


def test_latent_label_correlation_degenerate_columns_are_nan():
    z = np.random.default_rng(0).normal(size=(20, 2))
    z[:, 1] = 3.0
    y = np.column_stack([np.ones(20), np.r_[np.zeros(10), np.ones(10)], np.full(20, np.nan)])
    corr = F.latent_label_correlation(z, y)
    assert corr.iloc[:, 0].isna().all()      # constant label
    assert np.isnan(corr.iloc[1, 1])         # constant latent dimension
    assert not np.isnan(corr.iloc[0, 1])
    assert corr.iloc[:, 2].isna().all()      # no labels
    with pytest.raises(DataError, match="rows"):
        F.latent_label_correlation(z, y[:5])


def test_correlation_heatmap_cells_colours_title(latent_data):
    z, y = latent_data
    corr = F.latent_label_correlation(z, y, DRUGS)
    corr.iloc[0, 0] = np.nan
    fig = F.plot_correlation_heatmap(corr, "VAE latent 6")
    ax = fig.axes[0]
    im = ax.get_images()[0]
    assert im.get_clim() == (-1.0, 1.0) and im.get_cmap().name.startswith("RdBu_r")
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 6 * 5
    assert cells[0] == "n/a"
    assert cells[2 * 5 + 1] == f"{corr.loc['z3', 'ABC']:+.2f}"   # row z3, column ABC
    assert [t.get_text() for t in ax.get_xticklabels()] == DRUGS
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"z{i}" for i in range(1, 7)]
    title = ax.get_title().replace("\n", " ")
    assert F.CORRELATION_TITLE in title and "VAE latent 6" in title
    colorbar_ax = fig.axes[1]
    assert "Pearson" in colorbar_ax.get_ylabel()
    assert_readable(fig)


# ---------------------------------------------------------------------------- latent scatter

def scatter_counts(ax) -> tuple[int, int, int]:
    coll = ax.collections[0]
    colours = [to_hex(c[:3]) for c in coll.get_facecolors()]
    return (colours.count(to_hex(F.NOT_RESISTANT_COLOR)), colours.count(to_hex(F.RESISTANT_COLOR)),
            len(coll.get_offsets()))


def test_latent_scatter_top2_colours_counts_axes(latent_data):
    z, y = latent_data
    fig = F.plot_latent_scatter(z, y, DRUGS, method="top2", model_name="VAE")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 5
    corr = F.latent_label_correlation(z, y, DRUGS)
    for j, (ax, drug) in enumerate(zip(panels, DRUGS)):
        n_not, n_res, n_drawn = scatter_counts(ax)
        assert n_not == int((y[:, j] == 0).sum()) and n_res == int((y[:, j] == 1).sum())
        assert n_drawn == n_not + n_res            # missing labels are not drawn
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [f"not resistant (n={n_not})", f"resistant (n={n_res})"]
        assert ax.get_title().startswith(drug)
        best = corr[drug].abs().idxmax()
        assert ax.get_xlabel() == f"{best} (r={corr.loc[best, drug]:+.2f})"
        assert ax.get_ylabel().startswith("z")
    assert panels[1].get_xlabel().startswith("z3 (r=+")
    assert panels[2].get_xlabel().startswith("z5 (r=-")
    assert "VAE" in fig.get_suptitle() and "latent size 6" in fig.get_suptitle()
    assert_readable(fig)


def test_latent_scatter_pca_axis_labels(latent_data):
    z, y = latent_data
    fig = F.plot_latent_scatter(z, y, DRUGS, method="pca", model_name="semi-supervised VAE")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("PC1 (") and ax.get_xlabel().endswith("% var)")
    assert ax.get_ylabel().startswith("PC2 (")
    assert "principal components" in fig.get_suptitle()
    offsets = ax.collections[0].get_offsets()
    assert np.std(offsets[:, 0]) >= np.std(offsets[:, 1])  # PC1 carries the most variance
    with pytest.raises(DataError, match="method"):
        F.plot_latent_scatter(z, y, DRUGS, method="tsne")


@pytest.mark.parametrize("scale", [0.0003, 0.1, 3.0, 2000.0])
def test_latent_scatter_laid_out_in_inches_keeps_every_label_inside_and_apart(latent_data,
                                                                               scale):
    """The scatter is laid out once in inches (no constrained layout): on latent means of any
    range its y labels stay inside the figure and clear of the panel on their left, and its x
    tick labels do not touch (a collapsed latent's -0.00075, -0.00050, ... did)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    z, y = latent_data
    fig = F.plot_latent_scatter(z * scale, y, DRUGS, method="top2")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    for ax in panels:
        label = ax.yaxis.label.get_window_extent(renderer)
        assert label.x0 >= 0
        left_of = [o for o in panels if o is not ax and o.bbox.x1 <= ax.bbox.x0
                   and o.bbox.y0 < ax.bbox.y1 and ax.bbox.y0 < o.bbox.y1]
        assert all(label.x0 > o.bbox.x1 for o in left_of)
        ticks = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels()
                        if t.get_text()), key=lambda b: b.x0)
        assert len(ticks) >= 2
        assert all(a.x1 < b.x0 for a, b in zip(ticks, ticks[1:]))
    top = fig._suptitle.get_window_extent(renderer)
    assert all(top.y0 > ax.title.get_window_extent(renderer).y1 for ax in panels)


@pytest.mark.parametrize("method", ["top2", "pca"])
def test_latent_scatter_small_latent_sizes(latent_data, method):
    z, y = latent_data
    fig2 = F.plot_latent_scatter(z[:, :2], y[:, :2], DRUGS[:2], method=method)
    ax = fig2.axes[0]
    if method == "top2":
        assert {ax.get_xlabel()[:2], ax.get_ylabel()[:2]} == {"z1", "z2"}
    assert "latent size 2" in fig2.get_suptitle()
    fig1 = F.plot_latent_scatter(z[:, :1], y[:, :1], DRUGS[:1], method=method)
    ax = fig1.axes[0]
    assert "jitter" in ax.get_ylabel() and "jitter" in fig1.get_suptitle()
    assert scatter_counts(ax)[2] == int((~np.isnan(y[:, 0])).sum())


# ---------------------------------------------------------------------------- metrics

def metrics_table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [{"method": m, "drug": d, "metric": k, "mean": rng.uniform(0.55, 0.95),
             "std": rng.uniform(0.01, 0.05)}
            for m in ["VAE latent + LR", "LR on mutations", "random forest"]
            for d in DRUGS for k in ["AUC", "balanced accuracy"]]
    return pd.DataFrame(rows)


def test_metric_comparison_panels_bars_errorbars():
    m = metrics_table()
    fig = F.plot_metric_comparison(m)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_ylabel() for ax in panels] == ["AUC", "balanced accuracy"]
    for ax, metric in zip(panels, ["AUC", "balanced accuracy"]):
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        assert len(bars) == 3 and all(len(b.patches) == 5 for b in bars)
        colours = {to_hex(b.patches[0].get_facecolor()) for b in bars}
        assert len(colours) == 3
        first = bars[0]
        expected = m[(m.method == "VAE latent + LR") & (m.metric == metric)]["mean"].to_numpy()
        np.testing.assert_allclose([p.get_height() for p in first.patches], expected)
        assert first.errorbar is not None
        assert [t.get_text() for t in ax.get_xticklabels()] == DRUGS
        assert ax.get_xlabel() == "drug"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"VAE latent + LR", "LR on mutations", "random forest", "chance level"} == set(legend)
    assert_readable(fig)


def test_metric_comparison_rejects_bad_tables():
    m = metrics_table()
    with pytest.raises(DataError, match="std"):
        F.plot_metric_comparison(m.drop(columns="std"))
    with pytest.raises(DataError, match="more than one row"):
        F.plot_metric_comparison(pd.concat([m, m.iloc[:1]]))


# ---------------------------------------------------------------------------- loadings

def top_to_bottom(ax) -> list[str]:
    ticks = zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()))
    return [name for _, name in sorted(ticks, key=lambda p: -p[0])]


def test_top_loadings_bars_names_and_order():
    rng = np.random.default_rng(4)
    names = [f"M{i}V" for i in range(40)]
    w = pd.DataFrame(rng.normal(size=(40, 3)), index=names, columns=["z1", "z2", "z3"])
    w.loc["M184V", :] = [5.0, -6.0, 0.0]
    fig = F.plot_top_loadings(w, top_n=8)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 3
    for ax, dim in zip(panels, w.columns):
        bars = ax.patches
        assert len(bars) == 8
        expected = w[dim].abs().sort_values(ascending=False).index[:8]
        assert top_to_bottom(ax) == list(expected)  # the largest weight is the top bar
        for bar in bars:
            colour = F.POSITIVE_COLOR if bar.get_width() >= 0 else F.NEGATIVE_COLOR
            assert to_hex(bar.get_facecolor()) == colour.lower()
        assert ax.get_xlabel() == "weight" and dim in ax.get_title()
    assert top_to_bottom(panels[1])[0] == "M184V"
    assert_readable(fig)


# ---------------------------------------------------------------------------- saving

def test_save_figure_writes_png_and_svg_atomically(tmp_path):
    fig = F.plot_loss_curves(history(4), "tiny")
    out = F.save_figure(fig, tmp_path / "sub" / "loss.png")
    assert set(out) == {"png", "svg"}
    assert out["png"] == tmp_path / "sub" / "loss.png"
    assert out["png"].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = out["svg"].read_text()
    assert "<svg" in svg and "training loss" in svg  # text kept as text
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["loss.png", "loss.svg"]
    # a failing write leaves the existing file intact and no temporary file behind
    before = out["png"].read_bytes()
    with pytest.raises(ValueError):
        F.save_figure(fig, tmp_path / "sub" / "loss", formats=("png", "nosuchformat"))
    assert out["png"].is_file() and len(out["png"].read_bytes()) == len(before)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["loss.png", "loss.svg"]


def test_saved_png_has_the_requested_resolution(tmp_path):
    from matplotlib.image import imread

    fig = F.plot_loss_curves(history(4))
    path = F.save_figure(fig, tmp_path / "loss", formats=("png",), dpi=150)["png"]
    height, width = imread(path).shape[:2]
    w_in, h_in = fig.get_size_inches()
    assert (width, height) == (round(w_in * 150), round(h_in * 150))


def test_saved_png_is_what_savefig_writes_from_one_drawing(tmp_path, latent_data):
    """save_figure draws a PNG once (layout and rendering together) and writes the very bytes
    matplotlib's savefig writes, after its separate layout pass, for the same new figure (a
    figure drawn twice may move: a colour bar's constrained layout does); the figure keeps its
    dpi."""
    import io

    from matplotlib import rc_context

    z, labels = latent_data
    drugs = ["3TC", "ABC", "AZT", "D4T", "DDI"]
    makers = [lambda: F.plot_loss_grid({"a": history(8), "b": history(8, seed=1)}, "u",
                                       title="t"),
              lambda: F.plot_latent_scatter(z, labels, drugs, method="top2"),
              lambda: F.plot_correlation_heatmap(F.latent_label_correlation(z, labels, drugs),
                                                 "t")]
    for i, make in enumerate(makers):
        fig = make()
        dpi = fig.dpi
        ours = F.save_figure(fig, tmp_path / f"f{i}", formats=("png",))["png"].read_bytes()
        assert fig.dpi == dpi
        theirs = io.BytesIO()
        with rc_context(F._STYLE):
            make().savefig(theirs, format="png", dpi=150, metadata=F._metadata("png"))
        assert ours == theirs.getvalue()


def test_figure_pool_draws_in_workers_while_the_caller_goes_on(tmp_path):
    from PIL import Image

    from hivlatent.reporting.drawing import FigureJob, FigurePool

    h = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [3.0, 2.0, 1.5],
                      "val_loss": [3.2, 2.4, 2.0]})
    jobs = [FigureJob(f"loss_{i}", "plot_loss_curves", (h, f"config {i}", "nats")) for i in range(4)]
    with FigurePool(tmp_path, ("png", "svg"), workers=2) as pool:
        pool.submit(jobs[:2], together=True)      # one worker, one after the other
        pool.submit(jobs[2:])                     # each in a free worker
        with pytest.raises(ValueError, match="loss_1"):
            pool.submit(jobs[1:2])
        paths = pool.paths()
    assert sorted(paths) == [f"loss_{i}" for i in range(4)]
    for stem, path in paths.items():
        assert path == tmp_path / f"{stem}.png" and (tmp_path / f"{stem}.svg").is_file()
        assert Image.open(path).size[0] > 300
    with FigurePool(tmp_path / "inline", workers=1) as pool:   # no worker: drawn on submit
        (tmp_path / "inline").mkdir()
        pool.submit(jobs[:1])
        assert (tmp_path / "inline" / "loss_0.png").is_file()


def test_components_never_there_are_not_drawn_and_the_zoom_keeps_the_drawn_ones():
    n = 40
    epochs = np.arange(1, n + 1)
    rec = 9 + np.exp(-epochs / 8)
    rec[0] = 30.0
    h = pd.DataFrame({"epoch": epochs, "train_loss": rec + 0.5, "val_loss": rec + 0.9,
                      "train_recon": rec, "val_recon": rec + 0.4, "train_kl": 0.5 + 0 * rec,
                      "val_kl": 0.5 + 0 * rec, "train_sup": 0.0, "val_sup": 0.0})
    ax = F.plot_loss_curves(h, components=True).axes[0]
    gids = {line.get_gid() for line in ax.get_lines()}
    assert "train_sup" not in gids and "val_sup" not in gids and "train_kl" in gids
    lo, hi = ax.get_ylim()
    assert lo < 0.5 and 10 < hi < 30                   # KL visible, the first epoch above


def test_evaluation_metrics_show_hivdb_at_both_levels_beside_the_methods():
    """evaluate's metrics.png: HIVdb's balanced accuracy (scored at level >= 3 and >= 4) is in
    the balanced-accuracy panel as two series, with their own values; its AUC in the AUC panel."""
    from hivlatent.evaluation.evaluation_plots import plot_metrics

    rows = []
    for i, drug in enumerate(("DRV", "TPV")):
        rows += [("lr", drug, "auc", 0.95 + i / 100), ("lr", drug, "balanced_accuracy", 0.90),
                 ("hivdb", drug, "auc", 0.94), ("hivdb", drug, "balanced_accuracy_level3", 0.88),
                 ("hivdb", drug, "balanced_accuracy_level4", 0.84 - i / 100),
                 ("hivdb", drug, "mcc_level3", 0.7)]
    summary = pd.DataFrame(rows, columns=["method", "drug", "metric", "mean"]).assign(std=0.01)
    fig = plot_metrics(summary)
    auc, ba = fig.axes[:2]
    assert ba.get_ylabel() == "balanced accuracy" and len(fig.axes) == 2   # no r2 in the table
    series = {c.get_label(): c for c in ba.containers}
    assert set(series) == {"lr", "hivdb ≥3", "hivdb ≥4"}
    y = series["hivdb ≥4"].lines[0].get_ydata()
    np.testing.assert_allclose(y, [0.84, 0.83])
    assert ba.get_ylim()[0] < 0.83 - 0.01                     # the lowest bar's sd is in view
    assert {c.get_label() for c in auc.containers} == {"lr", "hivdb"}
    assert auc.get_xlim() == ba.get_xlim() == (-0.5, 1.5)      # drug slots aligned
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["lr", "hivdb", "hivdb ≥3", "hivdb ≥4"]
