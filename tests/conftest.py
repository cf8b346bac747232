"""Shared fixtures. Tests that need the real HIVDB data read it from HIVLATENT_DATA_DIR and fail
(never skip) when it is missing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hivdb"


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Tests never touch the user's cache (default models, downloads): a cache of their own, a
    fresh temporary folder, or ``$HIVLATENT_TEST_CACHE_DIR`` when set (CI passes an empty folder
    and then lets the installed wheel's quick start load the default models trained here)."""
    given = os.environ.get("HIVLATENT_TEST_CACHE_DIR")
    if not given and os.environ.get("PYTEST_XDIST_WORKER"):
        # one cache for every worker of this run (their base folders share a parent): a default
        # model is trained once, under the cache's lock, whichever worker asks first
        given = str(tmp_path_factory.getbasetemp().parent / "cache")
        Path(given).mkdir(exist_ok=True)
    os.environ["HIVLATENT_CACHE_DIR"] = given or str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder: $HIVLATENT_DATA_DIR, else ../shared/data/hivdb beside the checkout."""
    path = Path(os.environ.get("HIVLATENT_DATA_DIR", _DEFAULT))
    if not (path / "NRTI_DataSet.txt").is_file():
        pytest.fail(f"real HIVDB data not found in {path}: set HIVLATENT_DATA_DIR")
    os.environ["HIVLATENT_DATA_DIR"] = str(path)
    return path


@pytest.fixture
def run(capsys, monkeypatch):
    """Run the console entry point in this process as a user would; returns (exit code, stdout,
    stderr)."""
    from hivlatent.cli import main

    def _run(*args):
        monkeypatch.setattr(sys, "argv", ["hivlatent", *map(str, args)])
        with pytest.raises(SystemExit) as exc:
            main()
        out = capsys.readouterr()
        code = exc.value.code
        return (0 if code is None else code), out.out, out.err

    return _run


def assert_user_error(result, *fragments):
    """Exit code 2, one line on stderr starting with "error: ", no traceback, and every
    fragment in the message."""
    code, out, err = result
    assert code == 2, (code, out, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    for f in fragments:
        assert f in err, (f, err)


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, data_dir):
    """A small semi NRTI model bundle with its reference viruses (seconds to train)."""
    from hivlatent import ModelConfig, TrainConfig, VAEModel
    from hivlatent.data import load_dataset
    from hivlatent.bundle import reference_files
    from hivlatent.prediction.reference import Reference

    ds = load_dataset("nrti")
    model = VAEModel(ModelConfig(latent=4, hidden=(32,), supervised=True),
                     TrainConfig(epochs=8, val_fraction=0.1), n_members=2).fit(ds)
    folder = tmp_path_factory.mktemp("m") / "nrti"
    model.save(folder, extra_files=reference_files(Reference.build(model, ds)))
    return folder


@pytest.fixture(scope="session")
def small_default_models(data_dir):
    """The session cache's default NRTI, NNRTI and PI models, trained small (seconds) unless they
    are there, for the examples and end-to-end tests that need a default model of these classes
    to answer at all. First-use training with the real configuration is the same code (tested
    with small settings in test_predict_sequences); the INSTI default model is trained for real
    (the known integrase patterns need it). One lock: the run's workers train them once."""
    from filelock import FileLock

    from hivlatent import ModelConfig, TrainConfig, VAEModel
    from hivlatent.prediction import defaults

    cache = Path(os.environ["HIVLATENT_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(cache / ".small-default-models.lock"):
        for c in ("NRTI", "NNRTI", "PI"):
            if not defaults.status([c])[0].ready:
                small = VAEModel(ModelConfig(latent=4, hidden=(32,), supervised=True),
                                 TrainConfig(epochs=3, val_fraction=0.1), n_members=1)
                defaults.train(c, model=small)
    return [c for c in ("NRTI", "NNRTI", "PI") if defaults.status([c])[0].ready]
