"""All drug classes through the same commands: NRTI with TDF, NNRTI and PI, whose heavy label
missingness is masked."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hivlatent.config import ModelConfig, TrainConfig
from hivlatent.evaluation import evaluate
from hivlatent.model import VAEModel


@pytest.mark.parametrize("name,drugs", [
    ("nrti", ["3TC", "ABC", "AZT", "D4T", "DDI", "TDF"]),
    ("nnrti", ["EFV", "NVP", "ETR", "RPV"]),
    ("pi", ["FPV", "ATV", "IDV", "LPV", "NFV", "SQV", "TPV", "DRV"]),
])
def test_semi_model_trains_and_predicts_every_class(name, drugs, data_dir):
    from hivlatent.data import load_dataset
    ds = load_dataset(name)
    assert ds.drugs == drugs
    assert np.isnan(ds.labels).any()                      # missing phenotypes are kept
    m = VAEModel(ModelConfig(latent=3, hidden=(16,), supervised=True),
                 TrainConfig(epochs=2, sup_weight=5.0)).fit(ds)
    assert np.isfinite(m.history["train_loss"]).all()
    p = m.predict_proba(ds)
    assert p.shape == (ds.n_rows, len(drugs)) and np.isfinite(p).all()


def test_evaluate_handles_missing_labels_nnrti(data_dir):
    from hivlatent.data import load_dataset
    ds = load_dataset("nnrti")
    df = evaluate(ds, ["raw-lr"], folds=3, seed=0)
    auc = df[(df.metric == "auc")].set_index("drug")["mean"]
    assert set(auc.index) == {"EFV", "NVP", "ETR", "RPV"}
    assert (auc > 0.7).all()          # RPV: few tested viruses


def test_predict_refuses_a_bundle_of_another_class(tmp_path, data_dir):
    from hivlatent.data import load_dataset
    ds = load_dataset("pi")
    VAEModel(ModelConfig(latent=2, hidden=(8,), supervised=True), TrainConfig(epochs=1)).fit(ds).save(tmp_path / "pi")
    proc = subprocess.run([sys.executable, "-m", "hivlatent", "predict", str(tmp_path / "pi"), "RT:M184V",
                           "--format", "json"], capture_output=True, text=True)
    # an RT mutation given to a protease model is kept and the uncovered gene said
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)[0]
    assert rec["mutations"] == {"RT": ["RT:M184V"]} and rec["drugs"] == []
    assert rec["not_covered"] == ["PI: the input does not cover PR"]
    proc = subprocess.run([sys.executable, "-m", "hivlatent", "predict", str(tmp_path / "pi"), "L90M"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "L90M" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "hivlatent", "predict", str(tmp_path / "pi"), "M184V",
                           "--drug-class", "NRTI"], capture_output=True, text=True)
    assert proc.returncode == 2 and "is a PI model" in proc.stderr and "Traceback" not in proc.stderr
