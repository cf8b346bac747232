"""The semi model's output layer (predictive/output_layer.py) on synthetic data."""

from __future__ import annotations

import numpy as np

from hivlatent.bundle import output_layer_config, output_layer_tensors, read_output_layer
from hivlatent.predictive.output_layer import FALLBACK_SD, OutputLayer, coverage


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


def test_blend_weights_pick_the_component_that_explains_y_and_sum_to_one():
    from hivlatent.predictive.output_layer import blend_weights

    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 300)
    good, bad = y + rng.normal(0, 0.05, 300), rng.normal(0, 1, 300)
    w = blend_weights([bad, bad * 0.5, good], y, cap=10.0)
    assert abs(sum(w) - 1) < 1e-12 and w[2] >= 0.9
    assert blend_weights([good, good, good], y, cap=10.0) == (1.0, 0.0, 0.0)   # ties: heads
    # a value at the reporting limit is "at least this": predicting above it costs nothing
    capped = np.full(50, 2.0)
    w = blend_weights([np.full(50, 1.0), np.full(50, 2.5)], capped, cap=2.0)
    assert w == (0.3, 0.7)      # the most weight on the heads whose blend still reaches the cap


def test_an_additive_signal_goes_to_the_ridge_and_survives_a_bundle_round_trip():

    rng = np.random.default_rng(3)
    X = (rng.random((500, 30)) < 0.3).astype(np.float32)
    beta = rng.normal(0, 0.3, 30)
    y = (X @ beta + rng.normal(0, 0.1, 500))[:, None]
    oof = y + rng.normal(0, 0.6, y.shape)            # weak heads
    out = OutputLayer.fit(["D"], X, y, oof, np.zeros_like(y), np.array([5.0]), forest=True)
    assert out.linear_weight["D"] >= 0.5 and out.linears["D"] is not None
    back = read_output_layer(output_layer_config(out), output_layer_tensors(out), 30, "test")
    folds = np.asarray(oof)[None]
    assert np.allclose(out.predict(["D"], folds, X)[0], back.predict(["D"], folds, X)[0])
    r = back.linears["D"]
    try:
        r.check(29, "bundle")
    except ValueError as e:
        assert "29 finite coefficients" in str(e)
    else:
        raise AssertionError("a ridge over 30 features passed as one over 29")
