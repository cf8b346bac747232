"""The study end to end (quick grid): run folder, figures, summary, report in a real browser,
resume without retraining, and a failing configuration that does not stop the others."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from hivlatent.study import Point, StudyConfig, stage1_points, stage2_points


def test_default_grid_is_the_reports():
    cfg = StudyConfig()
    pts = stage1_points(cfg)
    assert len(pts) == 11
    assert {(p.epochs, p.batch_size) for p in pts if p.hidden == 128} == {
        (e, b) for e in (50, 100, 150) for b in (16, 32, 128)}
    assert {p.hidden for p in pts if p.stage == "hidden units"} == {64, 256}
    best = Point("x", 128, 10, 50, 128)
    assert [p.latent for p in stage2_points(cfg, best)] == [2, 5, 10, 20]
    assert cfg.likelihood == "mse"


@pytest.mark.slow
def test_quick_study_end_to_end(tmp_path, data_dir):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hivlatent", "study", "--quick", "--out", str(out), "--quiet",
           "--svg"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert {"configuration", "final_train_loss", "final_val_loss", "best_val_loss", "best_epoch",
            "train_seconds", "encoder_params", "decoder_params"} <= set(summary.columns)
    assert (summary["status"] == "ok").all()
    figs = {p.name for p in (out / "figures").iterdir()}
    assert "loss_grid.png" in figs and "loss_grid.svg" in figs
    for z in (2, 10):
        assert any(f.startswith("heatmap_") and f"-z{z}-" in f and f.endswith(".png") for f in figs)
        assert any(f.startswith("latent_top2_") and f"-z{z}-" in f for f in figs)
        assert any(f.startswith("latent_pca_") and f"-z{z}-" in f for f in figs)
    models = sorted(p.name for p in (out / "models").iterdir())
    assert len(models) == summary["configuration"].nunique()

    # the report opens offline in a real browser with every figure loaded
    from helpers import body_attributes, dump_dom
    attrs = body_attributes(dump_dom(out / "report.html"))
    total = int(attrs["data-images-total"])
    assert total >= 10 and int(attrs["data-images-loaded"]) == total
    assert int(attrs["data-images-broken"]) == 0
    html = (out / "report.html").read_text()
    assert "Findings" in html and "linear-probe AUC" in html and "Total params: 31,892" in html

    # rerun: nothing is retrained (weights files untouched)
    stamps = {m: (out / "models" / m / "weights.safetensors").stat().st_mtime_ns for m in models}
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert stamps == {m: (out / "models" / m / "weights.safetensors").stat().st_mtime_ns for m in models}


def test_a_diverging_configuration_does_not_stop_the_study(tmp_path, data_dir, monkeypatch):
    import hivlatent.config
    from hivlatent.data import load_dataset
    from hivlatent.study import Study

    ds = load_dataset("nrti-1246")
    cfg = StudyConfig(epochs=(2,), batch_sizes=(128,), hidden_sizes=(16,), hidden_epochs=2,
                      hidden_batch=128, latent_sizes=(2,))
    study = Study(ds, tmp_path / "run", cfg)
    original = study.model_for

    def model(p):                       # the hidden-16 configuration gets an absurd learning rate
        m = original(p)
        if p.hidden == 16:
            m.train_config = replace(m.train_config, lr=1e8)
        return m

    monkeypatch.setattr(hivlatent.config, "MAX_LR", 1e9)        # past the config's own check
    study.model_for = model
    result = study.run()
    status = dict(zip(result.summary["configuration"], result.summary["status"]))
    assert status["h16-z10-e2-b128"].startswith("failed")
    assert status["h128-z10-e2-b128"] == "ok"
    assert result.best.hidden == 128
    assert (tmp_path / "run" / "report.html").is_file()
