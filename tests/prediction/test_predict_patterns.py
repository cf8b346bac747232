"""Well-known NRTI resistance patterns give biologically sensible predictions (semi model trained
on all 1498 NRTI viruses). The patterns, documented in the README:
- wild type: susceptible to every NRTI;
- M184V: high-level 3TC resistance, while AZT and TDF stay susceptible (M184V resensitises);
- thymidine-analogue mutations (M41L D67N K70R T215Y K219Q): AZT resistant;
- K65R: TDF reduced, AZT susceptible;
- the Q151M complex (A62V V75I F77L F116Y Q151M): resistant to AZT, D4T, DDI and ABC.
"""

from __future__ import annotations

import pytest

from hivlatent.config import ModelConfig, TrainConfig
from hivlatent.model import VAEModel
from hivlatent.prediction import predict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(data_dir):
    from hivlatent.data import load_dataset
    return VAEModel(ModelConfig(latent=10, supervised=True),
                    TrainConfig(epochs=60, sup_weight=50.0, seed=0), n_members=2).fit(load_dataset("nrti"))


def _by_drug(model, genotype):
    (pred,) = predict(model, [genotype])
    assert not pred.unrecognized
    return {d.drug: d for d in pred.drugs}


def test_wild_type_is_susceptible(model):
    for d in _by_drug(model, "WT").values():
        assert d.call == "S" and d.p_resistant < 0.5, d


def test_m184v(model):
    d = _by_drug(model, "M184V")
    assert d["3TC"].call == "R" and d["3TC"].fold_change > 25
    assert d["3TC"].rank == 6                       # the drug least likely to work
    for drug in ("AZT", "TDF"):
        assert d[drug].call == "S" and d[drug].p_resistant < 0.5
        assert d[drug].rank < d["3TC"].rank


def test_tams_confer_azt_resistance(model):
    d = _by_drug(model, "M41L D67N K70R T215Y K219Q")
    assert d["AZT"].call == "R" and d["AZT"].p_resistant > 0.9
    assert d["AZT"].fold_change_low > 3


def test_k65r(model):
    d = _by_drug(model, "K65R")
    assert d["TDF"].fold_change > d["AZT"].fold_change
    assert d["AZT"].call == "S"


def test_q151m_complex_is_multi_nrti_resistant(model):
    d = _by_drug(model, "A62V V75I F77L F116Y Q151M")
    for drug in ("AZT", "D4T", "DDI", "ABC"):
        assert d[drug].p_resistant > 0.5 and d[drug].call in ("I", "R"), d[drug]
