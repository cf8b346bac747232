"""The HTML report: self-contained, escaped, atomic, and rendered by a real headless Chromium."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from helpers import body_attributes, dump_dom, screenshot
from hivlatent.errors import DataError
from hivlatent.reporting import DEFAULT_RESEARCH_NOTE, Report
from hivlatent.reporting import plots as F

SUMMARY = """Model: "encoder"
Layer (type)           Output Shape      Param #
input_1 (InputLayer)   [(None, 228)]     0
dense_1 (Dense)        (None, 128)       29312
Total params: 31,892"""


def history(epochs: int = 6) -> pd.DataFrame:
    e = np.arange(1, epochs + 1)
    return pd.DataFrame({"epoch": e, "train_loss": 80 / e + 20, "val_loss": 85 / e + 21})


def build_report(tmp_path) -> tuple[Report, int]:
    """A report with 4 figures (2 as Figure objects, 2 from PNG files), tables, text, findings."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(120, 3))
    y = (rng.random((120, 2)) < 0.4).astype(float)
    corr = F.latent_label_correlation(z, y, ["3TC", "ABC"])
    saved = F.save_figure(F.plot_correlation_heatmap(corr, "VAE"), tmp_path / "figs" / "heatmap")

    r = Report("VAE on NRTI 1246 x 228", subtitle="Reproduction of the *STAT 469* study")
    r.add_heading("Model")
    r.add_text("The encoder maps **228** mutation indicators to `z`.\n\nA <b>raw</b> tag & more.")
    r.add_pre(SUMMARY, caption="Encoder summary (Keras style)")
    r.add_heading("Training")
    r.add_figure(F.plot_loss_curves(history(), "latent 10, hidden 128"), caption="Loss per epoch.")
    r.add_figure(F.plot_loss_grid({"a": history(4), "b": history(5)}), caption="All configurations.")
    r.add_heading("Latent space")
    r.add_figure(saved["png"], caption="Correlation heatmap.")
    r.add_figure(tmp_path / "figs" / "heatmap", caption="Same heatmap, path without suffix.")
    r.add_table(corr, caption="Correlations")
    r.add_table(pd.DataFrame({"AUC": [0.81234, np.nan]}, index=["3TC", "<ABC>"]))
    r.add_findings(["The latent space does **not** separate resistant viruses.", "Second."])
    return r, 4


def test_report_content_is_escaped_and_self_contained(tmp_path):
    r, n_figures = build_report(tmp_path)
    page = r.write(tmp_path / "out" / "report.html")
    html = page.read_text(encoding="utf-8")
    assert r.n_figures == n_figures
    assert html.count('src="data:image/png;base64,') == n_figures
    # nothing loaded from elsewhere: images are data URIs, links are in-page anchors
    assert all(v.startswith("data:image/png;base64,") for v in re.findall(r'src="([^"]*)"', html))
    assert all(v.startswith("#") for v in re.findall(r'href="([^"]*)"', html))
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "<b>raw</b>" not in html and "A &lt;b&gt;raw&lt;/b&gt; tag &amp; more." in html
    assert "<strong>228</strong>" in html and "<code>z</code>" in html
    assert "<em>STAT 469</em>" in html
    assert "<pre>Model: &quot;encoder&quot;" in html or '<pre>Model: "encoder"' in html
    assert "29312" in html
    assert '<table border="0" class="dataframe data">' in html or 'class="dataframe data"' in html
    assert "&lt;ABC&gt;" in html and "0.812" in html and "–" in html  # escaped, 3 sig. digits, NaN
    for heading in ("Model", "Training", "Latent space", "Findings"):
        assert re.search(rf'<h2 id="[\w-]+">{heading}</h2>', html)
    assert 'href="#latent-space"' in html  # table of contents
    assert "<li>The latent space does <strong>not</strong> separate resistant viruses.</li>" in html
    assert "Research use only." in html and "must not" in html
    assert sorted(p.name for p in page.parent.iterdir()) == ["report.html"]  # no temp file left


def test_report_sections_can_be_appended_later_and_note_removed(tmp_path):
    r = Report("Study")
    r.add_text("intro without a heading")
    s = r.add_section("Sweep")
    s.add_figure(F.plot_loss_curves(history()), caption="best trial")
    assert r.section("Sweep") is s
    r.section("Sweep").add_list(["trial 3 was best"], ordered=True)
    assert [x.heading for x in r.sections] == ["", "Sweep"]
    r.research_note = None
    html = r.render()
    assert "Research use only" not in html
    assert "<ol class=\"findings\">" in html and html.index("best trial") < html.index("trial 3")
    assert 'class="toc"' not in html  # one titled section: no contents box
    assert Report("x").render().count(DEFAULT_RESEARCH_NOTE[len("Research use only. "):]) == 1


def test_report_rejects_non_png_figures(tmp_path):
    (tmp_path / "fig.svg").write_text("<svg/>")
    r = Report("x")
    with pytest.raises(DataError, match="not a PNG"):
        r.add_figure(tmp_path / "fig.svg")
    with pytest.raises(DataError, match="cannot read figure"):
        r.add_figure(tmp_path / "missing.png")


def test_report_image_display_size_follows_png_dpi(tmp_path):
    fig = F.plot_loss_curves(history())
    r = Report("x")
    r.add_figure(fig, dpi=150)
    w_in, h_in = fig.get_size_inches()
    m = re.search(r'width="(\d+)" height="(\d+)"', r.render())
    assert (int(m.group(1)), int(m.group(2))) == (round(w_in * 96), round(h_in * 96))


def test_report_renders_in_headless_chromium(tmp_path):
    r, n_figures = build_report(tmp_path)
    page = r.write(tmp_path / "report.html")
    attrs = body_attributes(dump_dom(page))
    assert attrs.get("data-images-total") == str(n_figures), attrs
    assert attrs.get("data-images-loaded") == str(n_figures), attrs
    assert attrs.get("data-images-broken") == "0", attrs

    shot = screenshot(page, tmp_path / "shot.png", size=(1280, 2000))
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2000, 1280)
    assert shot.stat().st_size > 20_000
    assert pixels[..., :3].std() > 0.05  # not a blank page


def test_image_check_in_chromium_detects_a_broken_image(tmp_path):
    """The load check is not vacuous: a corrupt PNG data URI is counted as broken."""
    r = Report("broken")
    r.add_figure(F.plot_loss_curves(history()))
    r.current.add_html('<img src="data:image/png;base64,iVBORw0KGgoAAAAbroken" alt="bad">')
    attrs = body_attributes(dump_dom(r.write(tmp_path / "broken.html")))
    assert (attrs["data-images-loaded"], attrs["data-images-broken"]) == ("1", "1")
