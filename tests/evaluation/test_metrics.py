"""Metric values on hand-computed tiny cases; missing truth is dropped, never counted as 0."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hivlatent.evaluation.metrics import (
    binary_metrics_from_log_fold,
    classification_metrics,
    regression_metrics,
)

Y = np.array([1, 1, 0, 0, 1], dtype=float)
S = np.array([0.9, 0.4, 0.6, 0.1, 0.8])


def test_classification_metrics_by_hand():
    # positives {.9,.4,.8} vs negatives {.6,.1}: 5 of 6 pairs ordered -> AUC 5/6.
    # calls at 0.5 = [1,0,1,0,1]: TP 2, FN 1, FP 1, TN 1 -> sens 2/3, spec 1/2.
    m = classification_metrics(Y, S)
    assert m["auc"] == pytest.approx(5 / 6)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m["mcc"] == pytest.approx((2 * 1 - 1 * 1) / math.sqrt(3 * 3 * 2 * 2))


def test_missing_labels_are_excluded_not_counted_as_susceptible():
    y = np.append(Y, [np.nan, np.nan])
    s = np.append(S, [0.0, 0.05])  # would add two perfectly ranked negatives if read as 0
    assert classification_metrics(y, s) == pytest.approx(classification_metrics(Y, S))
    as_zero = classification_metrics(np.nan_to_num(y), s)
    assert as_zero["auc"] != pytest.approx(5 / 6)


def test_single_class_gives_nan_auc_and_mcc():
    m = classification_metrics(np.array([1.0, 1.0, np.nan]), np.array([0.7, 0.2, 0.5]))
    assert math.isnan(m["auc"]) and math.isnan(m["mcc"])
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    empty = classification_metrics(np.array([np.nan]), np.array([0.3]))
    assert all(math.isnan(v) for v in empty.values())


def test_regression_metrics_by_hand_and_missing():
    y = np.array([0.0, 1.0, 2.0, np.nan])
    p = np.array([0.5, 1.0, 1.5, 99.0])
    m = regression_metrics(y, p)
    assert m["mse"] == pytest.approx(0.5 / 3)
    assert m["r2"] == pytest.approx(1 - 0.5 / 2.0)


def test_binary_metrics_from_predicted_log_fold_use_the_cutoff():
    cutoff = 3.0  # log10 3 = 0.477
    labels = np.array([1, 0, 1, 0, np.nan])
    pred = np.array([0.50, 0.47, 0.10, -0.2, 5.0])
    m = binary_metrics_from_log_fold(labels, pred, cutoff)
    # calls: [1, 0, 0, 0] -> sens 1/2, spec 1 ; ranking: .5 > .47 (neg), .10 < .47 -> AUC 3/4
    assert m["balanced_accuracy"] == pytest.approx(0.75)
    assert m["auc"] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        binary_metrics_from_log_fold(labels, pred, 0.0)
