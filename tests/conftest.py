"""Shared fixtures (shared helper functions are in helpers.py).

Two tiers: a test that uses the real HIVDB data (the ``data_dir`` fixture, directly or through
another fixture such as ``small_model``) is marked ``realdata`` and ``slow`` here, at collection;
it reads the data from HIVLATENT_DATA_DIR and fails (never skips) when it is missing. The fast
tier, ``python -m pytest -m "not slow"``, needs no real data: its models are trained on the
synthetic tables of tests/data/synthetic (the ``synthetic_*`` fixtures)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from helpers import SYNTHETIC, tiny_default_entry

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hivdb"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The real-data tier: every test that uses the ``data_dir`` fixture is ``realdata`` and
    ``slow`` (so ``-m "not slow"`` never needs HIVLATENT_DATA_DIR)."""
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
            item.add_marker(pytest.mark.slow)


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
    with small settings in test_predict_sequences); the INSTI default model is
    ``insti_default_model``'s. One lock: the run's workers train them once."""
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


@pytest.fixture(scope="session")
def insti_default_model(small_default_models):
    """(model, reference) of the session cache's default INSTI model: the class's default
    configuration (the known integrase patterns are checked on it) with 2 ensemble members
    instead of 5 (the size is not what those tests check; 14 s of training on an idle machine),
    trained once, after the small models (the cache's lock is held while it trains)."""
    from filelock import FileLock

    from hivlatent import VAEModel
    from hivlatent.config import class_defaults
    from hivlatent.prediction import defaults

    cache = Path(os.environ["HIVLATENT_CACHE_DIR"])
    with FileLock(cache / ".insti-default-model.lock"):
        if not defaults.status(["INSTI"])[0].ready:
            defaults.train("INSTI", model=VAEModel(*class_defaults("INSTI"), n_members=2))
    return defaults.get("INSTI", allow_training=False)


@pytest.fixture
def tiny_cache(tmp_path, monkeypatch, data_dir):
    """An empty cache of this test's own, whose training of a default model is a tiny synthetic
    one (:func:`helpers.tiny_default_entry`); ``tiny_cache.calls`` lists the classes trained."""
    from hivlatent.prediction import defaults

    monkeypatch.setenv("HIVLATENT_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    def tiny(drug_class, progress=None, model=None):
        calls.append(drug_class)
        return tiny_default_entry(tmp_path, drug_class)

    monkeypatch.setattr(defaults, "_train", tiny)
    tiny.calls = calls
    return tiny


# ------------------------------------------------------------------ the fast tier's data
@pytest.fixture(scope="session")
def synthetic_nrti():
    """The synthetic NRTI table (tests/data/synthetic; 3TC AZT TDF, M184V raises 3TC 100-fold)
    as a Dataset."""
    from hivlatent.data import load_dataset

    return load_dataset(SYNTHETIC / "NRTI_synthetic.txt")


@pytest.fixture(scope="session")
def synthetic_pi():
    """The synthetic PI table (LPV DRV) as a Dataset."""
    from hivlatent.data import load_dataset

    return load_dataset(SYNTHETIC / "PI_synthetic.txt")


@pytest.fixture(scope="session")
def synthetic_model(tmp_path_factory, synthetic_nrti):
    """A small semi NRTI model bundle trained on the synthetic table, with its reference viruses
    (a second or two to train)."""
    from hivlatent import ModelConfig, TrainConfig, VAEModel
    from hivlatent.bundle import reference_files
    from hivlatent.prediction.reference import Reference

    model = VAEModel(ModelConfig(latent=4, hidden=(32,), supervised=True),
                     TrainConfig(epochs=8, val_fraction=0.1), n_members=2).fit(synthetic_nrti)
    folder = tmp_path_factory.mktemp("m") / "nrti"
    model.save(folder, extra_files=reference_files(Reference.build(model, synthetic_nrti)))
    return folder
