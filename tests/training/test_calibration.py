"""Per-drug recalibration of P(resistant) (predictive/calibration.py) on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit, ndtr

from hivlatent.bundle import output_layer_config, output_layer_tensors, read_output_layer
from hivlatent.predictive.calibration import Recalibration, choose, gain_bound, p_resistant
from hivlatent.predictive.output_layer import OutputLayer


def _calibrated(n=3000, seed=0):
    """z whose Phi(z) is the true P(resistant): nothing to recalibrate."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, n)
    return z, rng.random(n) < ndtr(z)


def test_fit_recovers_a_known_logistic_link():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, 20000)
    resistant = rng.random(z.size) < expit(1.0 + 1.5 * z)
    r = Recalibration.fit(z, resistant)
    assert r.slope == pytest.approx(1.5, abs=0.1) and r.intercept == pytest.approx(1.0, abs=0.1)


def test_a_calibrated_p_is_left_alone_and_a_shifted_one_is_recalibrated():
    z, resistant = _calibrated()
    r = choose(z, resistant)        # None, or (by chance) a link that is Phi again
    grid = np.linspace(-3, 3, 61)
    assert r is None or np.abs(r.p(grid) - ndtr(grid)).max() < 0.03
    # resistance sets in a whole sd below where z says (a model shrunk towards susceptible)
    rng = np.random.default_rng(2)
    truth = rng.random(z.size) < ndtr(3 * (z + 1.0))
    r = choose(z, truth)
    assert r is not None and r.p(np.array([-0.8]))[0] > 0.5 > ndtr(-0.8)


def test_gain_bound_counts_each_class_half_and_its_bound_is_below_the_gain():
    resistant = np.array([True] * 4 + [False] * 4)
    call = np.zeros(8, dtype=bool)                       # all S: TPR 0, TNR 1
    other = np.array([True, True, False, False] + [False] * 4)   # two more resistant found
    gain, bound = gain_bound(resistant, call, other, seed=0)
    assert gain == pytest.approx(0.25)
    assert bound < gain
    assert gain_bound(resistant, call, call) == (0.0, 0.0)
    worse = np.array([False] * 4 + [True, False, False, False])  # one susceptible lost
    assert gain_bound(resistant, call, worse)[0] == pytest.approx(-0.125)


@pytest.mark.slow
def test_noise_is_rarely_recalibrated_and_a_real_shift_on_a_rare_class_is():
    # calibrated P on 150 viruses (RPV's size): the one-sided 5% test lets little through
    chosen = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        z = rng.normal(0, 1.5, 150)
        chosen += choose(z, rng.random(150) < ndtr(z), seed) is not None
    assert chosen <= 3
    # a rare resistant class (about 8%, DRV-like) that sets in an sd below where z says
    rng = np.random.default_rng(5)
    z = rng.normal(-2.6, 1.0, 900)
    truth = rng.random(900) < ndtr(3 * (z + 1.0))
    assert 30 <= truth.sum() <= 120
    r = choose(z, truth)
    assert r is not None and r.p(np.array([-0.8]))[0] > 0.5


def test_too_few_of_a_class_to_fit_means_no_recalibration():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 1.5, 400)
    shifted = rng.random(400) < ndtr(3 * (z + 1.0))
    assert choose(z, shifted) is not None
    few = shifted & (np.cumsum(shifted) <= 24)           # 24 resistant: fewer than 5 per part
    assert choose(z, few) is None
    resistant = np.zeros(200, dtype=bool)
    resistant[-4:] = True
    assert Recalibration.fit(np.linspace(-3, 3, 200), resistant) is None


def test_p_resistant_with_and_without_recalibration():
    lower = 3.0
    cut = math.log10(lower)
    mu, sd = np.array([cut - 0.3, cut, cut + 0.3]), np.full(3, 0.3)
    plain = p_resistant(mu, sd, lower)
    assert plain[0] < 0.5 < plain[1] and plain[1] == pytest.approx(0.5) and plain[2] > 0.5
    r = Recalibration(2.0, 1.5)
    assert np.allclose(p_resistant(mu, sd, lower, r), expit(1.5 + 2.0 * np.array([-1, 0, 1])))


@pytest.mark.parametrize("slope, intercept", [(0.0, 1.0), (-1.0, 0.0), (math.nan, 0.0),
                                              (1.0, math.inf)])
def test_a_recalibration_needs_a_finite_positive_slope(slope, intercept):
    with pytest.raises(ValueError, match="recalibration"):
        Recalibration(slope, intercept)


def test_the_output_layer_chooses_per_drug_and_keeps_the_choice_in_a_bundle():
    rng = np.random.default_rng(3)
    n = 1500
    X = (rng.random((n, 10)) < 0.2).astype(np.float32)
    y = rng.normal(0, 0.6, (n, 2))
    oof = np.column_stack([y[:, 0] + rng.normal(0, 0.2, n),     # drug A: unbiased heads
                           y[:, 1] * 0.4 - 0.3])                # drug B: shrunk, shifted down
    lower = np.array([0.3, 0.3])
    out = OutputLayer.fit(["A", "B"], X, y, oof, np.zeros_like(y), np.array([5.0, 5.0]),
                          forest=False, lower=lower)
    assert "A" not in out.recalibration and "B" in out.recalibration
    back = read_output_layer(output_layer_config(out), output_layer_tensors(out), 10, "test")
    assert back.recalibration == out.recalibration
    bad = output_layer_config(out) | {"recalibration": {"B": [-1.0, 0.0]}}
    with pytest.raises(ValueError, match="test: recalibration of B"):
        read_output_layer(bad, output_layer_tensors(out), 10, "test")
    assert OutputLayer.fit(["A", "B"], X, y, oof, np.zeros_like(y), np.array([5.0, 5.0]),
                           forest=False).recalibration == {}
