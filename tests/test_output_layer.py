"""The semi model's output layer (training/output.py) on synthetic data."""

from __future__ import annotations

import numpy as np

from hivlatent.training.output import FALLBACK_SD, OutputLayer, coverage


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, 12)) < 0.2).astype(np.float32)
    y = (0.8 * X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.2, n))[:, None]
    return X, y


def test_without_held_out_predictions_the_sd_is_the_fallback_not_a_guess():
    X, y = _data()
    oof = np.full_like(y, np.nan)                     # e.g. trained without validation rows
    out = OutputLayer.fit(["D"], X, y, oof, np.zeros_like(y), np.array([3.0]), forest=True)
    assert out.sd["D"] == FALLBACK_SD and out.scale["D"] == 1.0
    assert out.forests["D"] is None and out.weight["D"] == 1.0


def test_measured_sd_and_scale_cover_about_ninety_percent():
    X, y = _data()
    oof = y + np.random.default_rng(1).normal(0, 0.3, y.shape)   # heads with error sd ~0.36
    out = OutputLayer.fit(["D"], X, y, oof, np.zeros_like(y), np.array([3.0]), forest=False)
    assert 0.2 < out.sd["D"] < 0.5
    sd = out.scale["D"] * out.sd["D"]
    assert 0.88 <= coverage(oof[:, 0], np.full(len(y), sd), y[:, 0], 3.0) <= 0.95
