"""scikit-learn's conventions for VAEEncoder (issue 30): check_estimator on small synthetic 0/1
data (each check is one test, a few epochs: fast), NotFittedError, random_state, and the
package's errors catchable as the builtins a caller would catch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from hivlatent.errors import (ConfigError, DataError, DataFileNotFoundError, HivLatentError,
                              ModelError, ModelNotFoundError)
from hivlatent.estimators import VAEEncoder

#: checks that do not apply to a model of 0/1 mutation columns, each with the reason
NOT_APPLICABLE = {
    "check_fit_idempotent": "feeds continuous values around 100, where the Bernoulli likelihood "
                            "of 0/1 mutation columns has no meaning and the loss becomes NaN; "
                            "the same check on 0/1 data is "
                            "test_fitting_twice_gives_the_same_transform below",
}


def _small() -> VAEEncoder:
    return VAEEncoder(latent=2, hidden=(8,), epochs=2)


def _binary(rows: int = 40, cols: int = 12, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((rows, cols)) < 0.3).astype(np.float32)


@parametrize_with_checks([_small()], expected_failed_checks=lambda est: NOT_APPLICABLE)
def test_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # "every member failed" notes
        check(estimator)


def test_fitting_twice_gives_the_same_transform():
    X = _binary()
    est = _small().fit(X)
    first = est.transform(X)
    assert np.array_equal(first, est.fit(X).transform(X))
    assert first.dtype == np.float32 and first.shape == (40, 2)


def test_transform_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError):
        _small().transform(_binary())
    with pytest.raises(NotFittedError):
        _small().get_feature_names_out()


def test_random_state_seeds_the_model_as_seed_did():
    X = _binary()
    by_state = VAEEncoder(latent=2, hidden=(8,), epochs=2, random_state=3).fit(X).transform(X)
    with pytest.warns(DeprecationWarning, match="random_state"):
        by_seed = VAEEncoder(latent=2, hidden=(8,), epochs=2, seed=3).fit(X).transform(X)
    assert np.array_equal(by_state, by_seed)
    other = VAEEncoder(latent=2, hidden=(8,), epochs=2, random_state=4).fit(X).transform(X)
    assert not np.array_equal(by_state, other)
    assert "random_state" in _small().get_params()


def test_random_state_is_the_models_seed():
    """An int random_state is TrainConfig's seed itself: the same model as VAEModel trains."""
    from hivlatent import ModelConfig, TrainConfig, VAEModel

    X = _binary()
    est = VAEEncoder(latent=2, hidden=(8,), epochs=2, random_state=5).fit(X)
    model = VAEModel(ModelConfig(latent=2, hidden=(8,)), TrainConfig(epochs=2, seed=5,
                     val_fraction=0.0)).fit(X)
    assert np.array_equal(est.transform(X), model.get_latent_representation(X))


def test_a_different_number_of_columns_is_a_value_error():
    est = _small().fit(_binary())
    with pytest.raises(ValueError, match="features"):
        est.transform(_binary(cols=5))


@pytest.mark.parametrize("cls", [DataError, ConfigError, ModelError, HivLatentError])
def test_errors_are_value_errors(cls):
    assert issubclass(cls, ValueError) and issubclass(cls, HivLatentError)


def test_missing_files_are_file_not_found_errors(tmp_path):
    from hivlatent import VAEModel
    from hivlatent.data.input_text import read_input

    with pytest.raises(FileNotFoundError, match="nothing.txt: file not found") as exc:
        read_input(tmp_path / "nothing.txt")
    assert isinstance(exc.value, DataFileNotFoundError) and isinstance(exc.value, ValueError)
    with pytest.raises(FileNotFoundError, match="model folder not found") as exc:
        VAEModel.load(tmp_path / "no-model")
    assert isinstance(exc.value, ModelNotFoundError) and isinstance(exc.value, ModelError)
    with pytest.raises(ValueError):                 # a caller catching ValueError gets it too
        VAEModel.load(tmp_path / "no-model")


def test_the_cli_still_prints_one_line_and_exits_2(tmp_path, run):
    from helpers import assert_user_error

    assert_user_error(run("predict", tmp_path / "no-model", "RT:M184V"), "no-model")
