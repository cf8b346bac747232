"""All drug classes through the same commands: NRTI with TDF, NNRTI and PI, whose heavy label
missingness is masked."""

from __future__ import annotations

import json

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
                 TrainConfig(epochs=2, sup_weight=5.0), n_members=2).fit(ds)
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


def test_predict_refuses_a_bundle_of_another_class(tmp_path, synthetic_pi, run):
    ds = synthetic_pi
    VAEModel(ModelConfig(latent=2, hidden=(8,), supervised=True),
             TrainConfig(epochs=1)).fit(ds).save(tmp_path / "pi")
    code, out, err = run("predict", tmp_path / "pi", "RT:M184V", "--format", "json")
    # an RT mutation given to a protease model: no drug answered, so not answered (issue 31)
    assert code == 2 and err == (
        "error: argument 1: no drug answered: PI: the input does not cover PR\n"), err
    code, out, err = run("predict", tmp_path / "pi", "RT:M184V", "PR:L90M", "--format", "json")
    assert code == 3, err                             # the PR record is answered
    rec = json.loads(out)["records"][0]
    assert rec["mutations"] == {"RT": ["RT:M184V"]} and rec["drugs"] == []
    assert rec["not_covered"] == ["PI: the input does not cover PR"]
    code, out, err = run("predict", tmp_path / "pi", "L90M")
    assert code == 0 and "L90M" in out
    code, out, err = run("predict", tmp_path / "pi", "M184V", "--drug-class", "NRTI")
    assert code == 2 and "is a PI model" in err and "Traceback" not in err


def test_pi_model_call_is_p_above_half_and_survives_a_bundle(tmp_path, data_dir):
    """On the PIs (DRV: 16% resistant) the fit may recalibrate P per drug; whatever it chose,
    the call and P agree, and a saved model gives the same answers."""
    from hivlatent.config import default_train_config
    from hivlatent.data import load_dataset
    from hivlatent.prediction import predict

    ds = load_dataset("pi")
    model = ModelConfig(latent=3, hidden=(32,), supervised=True)
    m = VAEModel(model, default_train_config(model, epochs=8, patience=0), n_members=2).fit(ds)
    p, called = m.predict_proba(ds), m.predict_resistant(ds)
    assert called.dtype == bool and (called == (p > 0.5)).all()
    m.save(tmp_path / "m")
    back = VAEModel.load(tmp_path / "m")
    assert {d: back.recalibration(d) for d in ds.drugs} == {d: m.recalibration(d)
                                                             for d in ds.drugs}
    assert np.allclose(back.predict_proba(ds), p)
    genotypes = ["L10F I54V V82A L90M", "I50V I54L L76V V82F I84V", "WT"]
    for rec in predict(back, genotypes):
        for d in rec.drugs:
            assert (d.p_resistant > 0.5) == (d.call in ("I", "R")), (rec.id, d.drug)
