"""The study's data set: nrti-1246 equals MTPS's 1246 x 228 matrix cell for cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hivlatent.data import FROM_MTPS, NRTI1246_FEATURES, TO_MTPS, load_dataset, load_design_matrix
from hivlatent.data.nrti1246 import DRUGS


@pytest.fixture(scope="module")
def mtps(data_dir):
    return (pd.read_csv(data_dir / "X.csv"), pd.read_csv(data_dir / "Y.csv"),
            pd.read_csv(data_dir / "yBin.csv"))


@pytest.fixture(scope="module")
def nrti1246(data_dir):
    return load_dataset("nrti-1246")


def test_feature_constant_is_the_x_csv_header(mtps):
    X, _, _ = mtps
    assert len(NRTI1246_FEATURES) == 228
    assert [TO_MTPS[f] for f in NRTI1246_FEATURES] == list(X.columns[1:])
    assert FROM_MTPS["X.184V"] == "M184V" and FROM_MTPS["X.215Y"] == "T215Y"


def test_rows_features_and_drugs(nrti1246, mtps):
    X, Y, _ = mtps
    ds = nrti1246
    assert (ds.n_rows, ds.n_features) == (1246, 228)
    assert ds.feature_names == list(NRTI1246_FEATURES)
    assert ds.drugs == ["ABC", "3TC", "AZT", "D4T", "DDI"] == list(DRUGS)
    assert ds.meta["row"].tolist() == X["row"].tolist() == Y["row"].tolist()
    assert list(ds.ids) == Y["SeqID"].astype(str).tolist()
    assert ds.name == "nrti-1246" and ds.drug_class == "NRTI" and ds.gene == "RT"


def test_x_exactly(nrti1246, mtps):
    X, _, _ = mtps
    np.testing.assert_array_equal(nrti1246.X, X.iloc[:, 1:].to_numpy(dtype=np.float32))


def test_log_fold_within_1e12(nrti1246, mtps):
    _, Y, _ = mtps
    assert list(Y.columns[2:]) == nrti1246.drugs
    np.testing.assert_allclose(nrti1246.log_fold, Y.iloc[:, 2:].to_numpy(), rtol=0, atol=1e-12)


def test_labels_exactly(nrti1246, mtps):
    _, _, B = mtps
    np.testing.assert_array_equal(nrti1246.labels, B.iloc[:, 2:].to_numpy(dtype=float))
    # yBin is 1 = resistant; the MTPS vignette's own coding is its complement
    assert nrti1246.labels.sum() == B.iloc[:, 2:].to_numpy().sum()


def test_drug_subset(data_dir):
    ds = load_dataset("nrti-1246", drugs=["3TC", "abc"])
    assert ds.drugs == ["3TC", "ABC"] and ds.n_features == 228


def test_hiv_rda_matches(data_dir, nrti1246):
    ds = load_dataset(data_dir / "HIV.rda")
    assert ds.feature_names == nrti1246.feature_names
    np.testing.assert_array_equal(ds.X, nrti1246.X)
    np.testing.assert_allclose(ds.log_fold, nrti1246.log_fold, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ds.labels, nrti1246.labels)
    assert ds.meta["row"].tolist() == nrti1246.meta["row"].tolist()
    assert list(ds.ids[:3]) == ["1", "3", "4"]


def test_design_matrix_csvs_match(data_dir, nrti1246):
    ds = load_design_matrix(data_dir / "X.csv", data_dir / "Y.csv", y_scale="log10")
    assert ds.feature_names == nrti1246.feature_names
    np.testing.assert_array_equal(ds.X, nrti1246.X)
    np.testing.assert_array_equal(ds.labels, nrti1246.labels)
    assert list(ds.ids) == list(nrti1246.ids)
