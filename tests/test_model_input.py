"""Every method of VAEModel that takes data matches its features by name (a Dataset or a
DataFrame), as ``encode_frame`` does; a feature the model needs and the data lack stops with
one line naming it, unless the caller reads it as absent on purpose."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from hivlatent.config import ModelConfig, TrainConfig
from hivlatent.errors import ConfigError, HivLatentError, ModelError
from hivlatent.model import VAEModel


@pytest.fixture(scope="module")
def data(data_dir):
    from hivlatent import load_dataset

    return load_dataset("nrti"), load_dataset("nrti-1246")


@pytest.fixture(scope="module")
def semi(data):
    """The README's quick start in small: a semi model trained on nrti (213 features)."""
    nrti, _ = data
    return VAEModel(ModelConfig(latent=3, hidden=(16,), supervised=True),
                    TrainConfig(epochs=2, patience=0), n_members=2).fit(nrti)


def _methods(model):
    return {"predict_distribution": model.predict_distribution,
            "predict_proba": model.predict_proba, "predict_log_fold": model.predict_log_fold,
            "predict_resistant": model.predict_resistant,
            "get_latent_representation": model.get_latent_representation,
            "encode": model.encode, "reconstruct": model.reconstruct}


def test_the_readme_example_names_a_feature_the_model_needs_and_the_data_lack(semi, data):
    """nrti-1246 records 228 mutations, but not 42 of the nrti model's 213 (K70E, T69ins ...,
    which 310 of its viruses carry in NRTI_DataSet.txt): reading them as absent silently would
    answer for other viruses than the ones given."""
    _, mtps = data
    for name, method in _methods(semi).items():
        with pytest.raises(ModelError) as err:
            method(mtps)
        message = str(err.value)
        assert "\n" not in message, name
        assert message.startswith("nrti-1246 lacks 42 of the model's 213 features (V35A, "), name
        assert "K70E" in message and "missing='absent'" in message, name
    # the CLI's one-line user error (exit 2) is a HivLatentError
    assert issubclass(ModelError, HivLatentError)


def test_read_as_absent_on_purpose_the_example_answers_every_row(semi, data):
    nrti, mtps = data
    with pytest.warns(UserWarning, match=r"57 mutations of the data are unknown to the model"):
        X = semi.model_input(mtps, missing="absent")
    assert X.shape == (1246, 213)
    for j, f in enumerate(semi.feature_names):          # each column is the data's, by name
        if f in mtps.feature_names:
            np.testing.assert_array_equal(X[:, j], mtps.X[:, mtps.feature_names.index(f)])
        else:
            assert not X[:, j].any(), f
    mean, sd = semi.predict_distribution(X)              # an array of the right width: as is
    assert mean.shape == sd.shape == (1246, 6) and np.isfinite(mean).all() and (sd > 0).all()
    p = semi.predict_proba(X)
    assert ((p >= 0) & (p <= 1)).all()
    assert (semi.predict_resistant(X) == (p > 0.5)).all()
    with pytest.raises(ConfigError, match="missing='zero'"):
        semi.model_input(mtps, missing="zero")


def test_a_dataframe_is_matched_by_column_name_in_any_order(semi, data):
    nrti, _ = data
    frame = pd.DataFrame(nrti.X, columns=nrti.feature_names)
    shuffled = frame[frame.columns[::-1]]
    for name, method in _methods(semi).items():
        if name == "encode":
            np.testing.assert_array_equal(method(shuffled)[0], method(nrti)[0])
        elif name == "predict_distribution":           # mean and sd
            np.testing.assert_array_equal(tuple(method(shuffled)), tuple(method(nrti)))
        else:
            np.testing.assert_array_equal(method(shuffled), method(nrti), err_msg=name)
    # a column the model does not know is not used, and said; the others still answer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = semi.predict_proba(shuffled.assign(id=[f"v{i}" for i in range(len(frame))]))
    assert any("unknown to the model and not used: id" in str(w.message) for w in caught)
    np.testing.assert_array_equal(p, semi.predict_proba(nrti))
    with pytest.raises(ModelError, match=r"the data lacks 1 of the model's 213 features \(M184V\)"):
        semi.predict_proba(frame.drop(columns="M184V"))
    # a bare array is read as it is: the width is all that can be checked
    with pytest.raises(ModelError, match="input has 212 features; the model expects 213"):
        semi.predict_proba(nrti.X[:, 1:])
    np.testing.assert_array_equal(semi.predict_proba(nrti.X), semi.predict_proba(nrti))


def test_encode_frame_still_reads_absent_features_as_absent_with_notes(semi, data):
    """encode_frame returns its notes beside the table (the CLI's `encode` prints them), so it
    reads a lacking feature as absent where the bare-array methods stop."""
    _, mtps = data
    frame, notes = semi.encode_frame(mtps)
    assert len(frame) == 1246 and list(frame.columns[:2]) == ["id", "z1"]
    assert notes[0].startswith("42 of the model's features are not in the data and read as "
                               "absent: V35A")
    assert notes[1].startswith("57 mutations of the data are unknown to the model")
    with pytest.warns(UserWarning):
        X = semi.model_input(mtps, missing="absent")
    np.testing.assert_array_equal(frame[["z1", "z2", "z3"]].to_numpy(),
                                  semi.get_latent_representation(X))


def test_decoder_sensitivity_is_the_mean_jacobian_of_the_decoded_probabilities(semi, data):
    """The vectorised jacobian gives each mutation's d P / d z_k averaged over the rows, as a
    plain backward pass per mutation does."""
    import torch

    from hivlatent.nn import vae

    nrti, _ = data
    rows = nrti.subset(np.arange(40))
    got = semi.decoder_sensitivity(rows)
    assert got.shape == (213, 3) and list(got.index) == semi.feature_names
    z = torch.as_tensor(semi.get_latent_representation(rows)).requires_grad_(True)
    first = semi.weights([semi.working_members[0]])          # the member decoder_sensitivity uses
    probs = torch.sigmoid(vae.decode(first, semi.model_config, z[None]))[0]
    want = np.stack([torch.autograd.grad(probs[:, f].sum(), z, retain_graph=True)[0].mean(0).numpy()
                     for f in range(probs.shape[1])])
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-5, atol=1e-7)


def test_a_read_only_array_is_read_without_a_warning(semi, data):
    """A worker of a process pool gets the data as a read-only memory map: every method reads it
    (torch warned on each tensor it could not write to, on the user's terminal) and gives the
    answers of a writable copy."""
    nrti, _ = data
    X = np.array(nrti.X[:50], dtype=np.float32)
    frozen = X.copy()
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, method in _methods(semi).items():
            got, want = method(frozen), method(X)
            if hasattr(got, "sd"):                      # a PredictiveDistribution
                got, want = (got.mean, got.sd), (want.mean, want.sd)
            got = got if isinstance(got, tuple) else (got,)
            want = want if isinstance(want, tuple) else (want,)
            for a, b in zip(got, want):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)
