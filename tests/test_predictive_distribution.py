"""PredictiveDistribution: fold change, interval, P(resistant) and call read off one normal per
virus and drug, by one rule each (synthetic values, no data)."""

import math

import numpy as np

from hivlatent.data.cutoffs import Cutoffs
from hivlatent.predictive.calibration import Recalibration, p_resistant
from hivlatent.predictive.distribution import PredictiveDistribution, call_sir


class _Model:
    drugs = ["3TC", "AZT"]
    cutoffs = Cutoffs()
    fold_cap = {"3TC": 200.0}

    def recalibration(self, drug):
        return Recalibration(2.0, 1.5) if drug == "AZT" else None


def _dist(n=40):
    rng = np.random.default_rng(0)
    mean = rng.normal(0.5, 1.0, (n, 2))
    mean[0, 0] = 3.0                                      # above 3TC's reporting limit (200)
    return PredictiveDistribution.for_model(_Model(), mean, rng.uniform(0.1, 0.6, (n, 2)))


def test_the_fold_change_and_interval_stop_at_the_reporting_limit():
    d = _dist()
    cap = math.log10(200.0)
    assert d.log_fold[0, 0] == cap and d.fold_change[0, 0] == 10 ** cap
    np.testing.assert_array_equal(d.log_fold[:, 1], d.mean[:, 1])      # AZT has no limit
    low, high = d.interval(0.9)
    assert (low <= d.log_fold + 1e-12).all() and (d.log_fold <= high + 1e-12).all()
    assert (high[:, 0] <= cap).all()
    wide_low, wide_high = d.interval(0.99)
    assert (wide_low <= low).all() and (wide_high >= high).all()


def test_p_resistant_and_the_call_agree_for_every_drug():
    d = _dist()
    p, resistant, calls = d.p_resistant, d.resistant, d.calls
    assert ((p > 0.5) == resistant).all()
    assert ((calls != "S") == resistant).all()
    lower, upper = Cutoffs().for_drug("3TC")
    np.testing.assert_array_equal(p[:, 0], p_resistant(d.mean[:, 0], d.sd[:, 0], lower))
    assert calls[5, 0] == call_sir(float(d.mean[5, 0]), lower, upper)
    z = (d.mean[:, 1] - math.log10(Cutoffs().for_drug("AZT")[0])) / d.sd[:, 1]
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-(1.5 + 2.0 * z))))   # recalibrated


def test_rows_and_concat_keep_the_reading_and_unpack_to_mean_and_sd():
    d = _dist()
    back = PredictiveDistribution.concat([d.rows(slice(0, 15)), d.rows(slice(15, None))])
    np.testing.assert_array_equal(back.p_resistant, d.p_resistant)
    mean, sd = d
    assert mean is d.mean and sd is d.sd
