"""Model bundles written by hivlatent 0.4.0 still load and answer the same (the fixture in
tests/data/bundle_0_4_0, made by tests/data/make_bundle_0_4_0.py with that version's code)."""

from pathlib import Path

import numpy as np

from hivlatent import VAEModel
from hivlatent.bundle import FORMAT, is_bundle, load_reference

DATA = Path(__file__).parent / "data"


def test_a_bundle_of_version_0_4_0_loads_and_gives_the_same_predictions():
    folder = DATA / "bundle_0_4_0"
    expected = np.load(DATA / "bundle_0_4_0_expected.npz")
    assert is_bundle(folder) and FORMAT == "hivlatent-model/1"
    model = VAEModel.load(folder)
    assert model.manifest["hivlatent"] == "0.4.0"
    assert model.output is not None and any(f is not None for f in model.output.forests.values())
    X = expected["X"]
    dist = model.predict_distribution(X)
    np.testing.assert_array_equal(dist.mean, expected["mean"])
    np.testing.assert_array_equal(dist.sd, expected["sd"])
    np.testing.assert_array_equal(dist.p_resistant, expected["p"])
    np.testing.assert_array_equal(dist.resistant, expected["resistant"])
    np.testing.assert_array_equal(dist.log_fold, expected["log_fold"])
    np.testing.assert_array_equal(model.get_latent_representation(X), expected["latent"])
    reference = load_reference(folder, model)
    assert reference is not None and len(reference.ids) == len(X)
    np.testing.assert_array_equal(reference.latent, expected["latent"])
