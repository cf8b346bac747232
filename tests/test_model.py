"""The user-facing model: parameter counts, save/load round trip, determinism, sklearn pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from hivlatent.bundle import output_layer_config
from hivlatent.config import ModelConfig, TrainConfig
from hivlatent.errors import ConfigError, ModelError
from hivlatent.model import VAEModel
from hivlatent.nn.summary import parameter_counts, summary


def test_study_shape_has_the_reports_parameter_counts():
    counts = parameter_counts(ModelConfig(latent=10, hidden=(128,)), 228)
    assert counts == {"encoder": 31_892, "decoder": 30_820, "heads": 0}
    text = summary(ModelConfig(), 228)
    for expected in ("29,312", "2,580", "1,408", "29,412", "Total params: 31,892", "Total params: 30,820"):
        assert expected in text


def test_deeper_and_semi_counts():
    counts = parameter_counts(ModelConfig(latent=4, hidden=(16, 8), supervised=True), 20, 3)
    assert counts["encoder"] == 20 * 16 + 16 + 16 * 8 + 8 + 8 * 8 + 8
    assert counts["decoder"] == 4 * 8 + 8 + 8 * 16 + 16 + 16 * 20 + 20
    assert counts["heads"] == 2 * (4 * 3 + 3)


@pytest.fixture(scope="module")
def nrti(synthetic_nrti):
    """Mechanics only: the synthetic NRTI table (3TC AZT TDF) is enough."""
    return synthetic_nrti


def test_fit_save_load_round_trip(nrti, tmp_path):
    vae = VAEModel(ModelConfig(latent=3, hidden=(16,), supervised=True),
                   TrainConfig(epochs=2, sup_weight=5.0), n_members=2).fit(nrti)
    vae.save(tmp_path / "m")
    for name in ("config.json", "weights.safetensors", "history.csv", "history-1.csv", "manifest.json"):
        assert (tmp_path / "m" / name).is_file()
    back = VAEModel.load(tmp_path / "m")
    np.testing.assert_array_equal(back.get_latent_representation(nrti), vae.get_latent_representation(nrti))
    np.testing.assert_array_equal(back.predict_proba(nrti), vae.predict_proba(nrti))
    np.testing.assert_array_equal(back.reconstruct(nrti), vae.reconstruct(nrti))
    assert back.feature_names == nrti.feature_names and back.drugs == nrti.drugs
    assert back.manifest["data_sha256"] == nrti.sha256
    assert back.histories[1].shape[0] == 2
    # predictions never pass each drug's reporting limit (3TC is capped at 200-fold, as in HIVDB)
    assert back.fold_cap == vae.fold_cap and vae.fold_cap["3TC"] == pytest.approx(200.0)
    np.testing.assert_array_equal(back.predict_log_fold(nrti), vae.predict_log_fold(nrti))
    caps = np.log10([vae.fold_cap[d] for d in vae.drugs])
    assert (vae.predict_log_fold(nrti) <= caps + 1e-6).all()
    assert output_layer_config(back.output) == output_layer_config(vae.output) and set(vae.output.sd) == set(vae.drugs)
    mu, sd = back.predict_distribution(nrti)
    np.testing.assert_array_equal((mu, sd), tuple(vae.predict_distribution(nrti)))
    assert (sd > 0).all() and np.isfinite(mu).all()


def test_fixed_seed_is_deterministic_and_seed_matters(nrti):
    a = VAEModel(ModelConfig(latent=2), TrainConfig(epochs=2, seed=1)).fit(nrti)
    b = VAEModel(ModelConfig(latent=2), TrainConfig(epochs=2, seed=1)).fit(nrti)
    c = VAEModel(ModelConfig(latent=2), TrainConfig(epochs=2, seed=2)).fit(nrti)
    np.testing.assert_array_equal(a.transform(nrti), b.transform(nrti))
    assert not np.allclose(a.transform(nrti), c.transform(nrti))


def test_sample_and_reconstruct_shapes(nrti):
    vae = VAEModel(ModelConfig(latent=2), TrainConfig(epochs=1)).fit(nrti)
    s = vae.sample(7, seed=0, binary=True)
    assert s.shape == (7, nrti.n_features) and set(np.unique(s)) <= {0.0, 1.0}
    r = vae.reconstruct(nrti.X[:5])
    assert r.shape == (5, nrti.n_features) and (r >= 0).all() and (r <= 1).all()
    with pytest.raises(ModelError, match="resistance heads"):
        vae.predict_proba(nrti)


def test_sklearn_pipeline(nrti):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from hivlatent.estimators import VAEEncoder

    y = nrti.labels[:, nrti.drugs.index("3TC")]
    tested = ~np.isnan(y)
    pipe = make_pipeline(VAEEncoder(latent=3, hidden=(16,), epochs=2), LogisticRegression())
    pipe.fit(nrti.X[tested], y[tested])
    assert pipe.predict_proba(nrti.X).shape == (nrti.n_rows, 2)
    assert pipe[0].get_feature_names_out().tolist() == ["z1", "z2", "z3"]


def test_bad_configs_and_bundles(tmp_path):
    with pytest.raises(ConfigError, match="latent"):
        ModelConfig(latent=0)
    with pytest.raises(ConfigError, match="likelihood"):
        ModelConfig(likelihood="poisson")
    with pytest.raises(ModelError, match="not found"):
        VAEModel.load(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    for name in ("config.json", "manifest.json"):
        (tmp_path / "bad" / name).write_text("{}")
    (tmp_path / "bad" / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError):
        VAEModel.load(tmp_path / "bad")
