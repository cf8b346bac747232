"""The harness reproduces the reference numbers on the real 1246 x 228 NRTI set (5-fold CV, LR):
PCA-10 AUC about 0.86-0.96 per drug, raw 228 mutations about 0.90-0.99 (loose bounds here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hivlatent.data.dataset import Dataset
from hivlatent.evaluation import evaluate, make_folds

DRUGS = ["ABC", "3TC", "AZT", "D4T", "DDI"]


def nrti_1246_from_csv(data_dir: Path) -> Dataset:
    """The MTPS design matrix from X.csv / Y.csv (log10 fold) / yBin.csv (1 = resistant)."""
    X = pd.read_csv(data_dir / "X.csv")
    Y = pd.read_csv(data_dir / "Y.csv")
    B = pd.read_csv(data_dir / "yBin.csv")
    x = X.drop(columns="row").to_numpy(np.float32)
    return Dataset(
        name="nrti-1246", drug_class="NRTI", gene="RT", ids=Y["SeqID"].to_numpy(), X=x,
        observed=np.ones_like(x, dtype=bool), feature_names=[c[2:] for c in X.columns[1:]],
        drugs=list(DRUGS), log_fold=Y[DRUGS].to_numpy(float), labels=B[DRUGS].to_numpy(float),
        source=str(data_dir / "X.csv"),
    )


@pytest.fixture(scope="module")
def nrti(data_dir) -> Dataset:
    return nrti_1246_from_csv(data_dir)


def test_labels_match_cutoffs(nrti):
    for j, drug in enumerate(nrti.drugs):
        lower = nrti.cutoffs.for_drug(drug)[0]
        assert np.array_equal(nrti.log_fold[:, j] >= np.log10(lower), nrti.labels[:, j] == 1)


def test_reference_auc_ranges_on_nrti_1246(nrti):
    df = evaluate(nrti, ["lr", "pca10"], folds=5, seed=0)
    auc = df[df.metric == "auc"].pivot(index="drug", columns="method", values="mean")
    assert auc.shape == (5, 2)
    assert auc["pca10"].between(0.82, 0.98).all(), auc
    assert auc["lr"].between(0.86, 1.0).all(), auc
    assert (auc["lr"] > auc["pca10"]).all(), auc  # raw mutations beat 10 components
    std = df[df.metric == "auc"]["std"]
    assert (std > 0).all() and (std < 0.05).all()


def test_folds_on_real_data_cover_every_row(nrti):
    folds = make_folds(nrti, 5, seed=0)
    assert len(folds) == 25
    for drug in DRUGS:
        tests = np.concatenate([f.test for f in folds if f.drug == drug])
        assert np.array_equal(np.sort(tests), np.arange(nrti.n_rows))


def test_loader_dataset_gives_the_same_metrics(nrti):
    """hivlatent.data.load_dataset('nrti-1246') (data_dir sets HIVLATENT_DATA_DIR) = the CSVs."""
    from hivlatent.data import load_dataset

    loaded = load_dataset("nrti-1246").select_drugs(["3TC", "DDI"])
    ours = nrti.select_drugs(["3TC", "DDI"])
    assert np.array_equal(loaded.X, ours.X) and np.array_equal(loaded.labels, ours.labels)
    a = evaluate(loaded, ["lr"], folds=3, seed=1)
    b = evaluate(ours, ["lr"], folds=3, seed=1)
    pd.testing.assert_frame_equal(a, b)
