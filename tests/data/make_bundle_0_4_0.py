"""How tests/data/bundle_0_4_0/ was made: a small semi model bundle written by hivlatent 0.4.0
(commit f157d0e, before the bundle code moved to hivlatent/bundle.py), with its predictions, so
that tests/test_bundle_format.py checks bundles of that version still load and answer the same.

Run once, with that version's code first on the path:
    PYTHONPATH=<checkout of f157d0e>/src python tests/data/make_bundle_0_4_0.py
"""

from pathlib import Path

import numpy as np

from hivlatent import ModelConfig, VAEModel, __version__
from hivlatent.config import default_train_config
from hivlatent.data.dataset import Dataset
from hivlatent.prediction.reference import Reference

HERE = Path(__file__).parent
FEATURES = ["M41L", "K65R", "D67N", "K70R", "L74V", "K103N", "Y181C", "M184V", "L210W",
            "T215Y", "K219Q", "V75T"]
DRUGS = ["3TC", "ABC", "AZT"]


def dataset(n: int = 48, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = (rng.random((n, len(FEATURES))) < 0.3).astype(np.float32)
    W = np.zeros((len(FEATURES), len(DRUGS)))
    W[FEATURES.index("M184V"), 0] = 2.0
    W[[0, 2, 8, 9, 10], 2] = 0.6
    W[[1, 4, 7], 1] = 0.5
    log_fold = X @ W + rng.normal(0, 0.2, (n, len(DRUGS))) - 0.2
    log_fold[rng.random(n) < 0.15, 1] = np.nan
    labels = np.where(np.isnan(log_fold), np.nan,
                      (log_fold >= np.log10([3.0, 2.0, 3.0])).astype(float))
    return Dataset(name="synthetic-rt", drug_class="NRTI", gene="RT",
                   ids=np.arange(500, 500 + n), X=X, observed=np.ones_like(X, dtype=bool),
                   feature_names=list(FEATURES), drugs=list(DRUGS), log_fold=log_fold,
                   labels=labels)


if __name__ == "__main__":
    assert __version__ == "0.4.0", __version__
    ds = dataset()
    cfg = ModelConfig(supervised=True, latent=2, hidden=(8,))
    model = VAEModel(cfg, default_train_config(cfg, epochs=3, seed=1), n_members=2).fit(ds)
    ref = Reference.build(model, ds)
    model.save(HERE / "bundle_0_4_0", extra_files=ref.to_files())
    mu, sd = model.predict_distribution(ds)
    np.savez(HERE / "bundle_0_4_0_expected.npz", X=ds.X, mean=mu, sd=sd,
             p=model.predict_proba(ds), resistant=model.predict_resistant(ds),
             log_fold=model.predict_log_fold(ds), latent=model.get_latent_representation(ds))
