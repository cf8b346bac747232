"""Prediction front end against a stub model that follows the ResistanceModel protocol."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from hivlatent.data.cutoffs import Cutoffs
from hivlatent.data.genotype_files import read_genotypes
from hivlatent.data.mutations import parse_genotype
from hivlatent.errors import ConfigError, DataError, ModelError
from hivlatent.prediction import (
    CSV_COLUMNS, RESEARCH_NOTE, ResistanceModel, call_sir, predict, rank_drugs, to_csv,
    to_json, to_records, to_table,
)

FEATURES = ["M184V", "M184I", "K65R", "T215F", "T215Y", "T69ins", "D67del"]
DRUGS = ["3TC", "AZT", "TDF"]
# log10 fold change = sum of the weights of the features present (per drug)
WEIGHTS = {
    "M184V": [2.0, -0.2, -0.1],
    "M184I": [2.0, 0.0, 0.0],
    "K65R": [0.5, -0.3, math.log10(1.5)],   # alone: TDF fold exactly at its lower cutoff 1.5
    "T215F": [0.0, 1.0, 0.1],
    "T215Y": [0.0, 1.2, 0.1],
    "T69ins": [1.0, 1.0, 1.0],
    "D67del": [0.0, 0.5, 0.0],
}


class StubModel:
    """Deterministic: every sample equals the weight sum; p = a fixed logistic of it. With
    ``spread`` the samples are shifted by evenly spaced offsets (for intervals)."""

    drug_class = "NRTI"
    gene = "RT"

    def __init__(self, spread: float = 0.0, drugs=DRUGS, weights=WEIGHTS, p=None):
        self.drugs = list(drugs)
        self.feature_names = list(weights)
        self.cutoffs = Cutoffs()
        self.W = np.array([weights[f] for f in self.feature_names], dtype=np.float64)
        self.spread = spread
        self.p = p
        self.calls = []

    def predict_samples(self, X, n_samples, seed):
        self.calls.append((X.copy(), n_samples, seed))
        mean = X.astype(np.float64) @ self.W  # (n, d)
        offsets = np.linspace(-self.spread, self.spread, n_samples)[:, None, None]
        log_fold = mean[None] + offsets
        if self.p is not None:
            prob = np.broadcast_to(np.asarray(self.p, dtype=np.float64), log_fold.shape).copy()
        else:
            prob = 1 / (1 + np.exp(-4 * (log_fold - 0.4)))
        return log_fold, prob


def test_stub_follows_the_protocol():
    assert isinstance(StubModel(), ResistanceModel)


def test_all_notations_give_the_same_prediction():
    texts = ["M184V T215FY T69ins D67del", "RT:M184V, T215Y/F, 69#, 67~",
             "184V;215F/Y;T69insSS;67del", "rt:m184v + t215yf + T69_SS + D67del"]
    model = StubModel()
    preds = predict(model, texts, n_samples=5)
    first = [(d.drug, d.fold_change, d.call, d.rank) for d in preds[0].drugs]
    for p in preds[1:]:
        assert [(d.drug, d.fold_change, d.call, d.rank) for d in p.drugs] == first
        assert p.mutations == ["M184V", "T215FY", "T69ins", "D67del"]
    X = model.calls[0][0]
    assert (X == X[0]).all()


def test_fold_change_median_and_interval():
    preds = predict(StubModel(spread=0.5), ["M184V"], n_samples=101, interval=0.8)
    d = {p.drug: p for p in preds[0].drugs}["3TC"]
    assert d.fold_change == pytest.approx(100.0)
    assert d.fold_change_low == pytest.approx(10 ** (2.0 - 0.4))
    assert d.fold_change_high == pytest.approx(10 ** (2.0 + 0.4))
    assert preds[0].interval == 0.8


def test_seed_and_samples_are_passed_to_the_model():
    model = StubModel()
    predict(model, ["M184V"], n_samples=7, seed=42)
    assert model.calls[0][1:] == (7, 42)


def test_unrecognized_mutations_are_reported():
    preds = predict(StubModel(), ["M184V L74V Y115F", "PR:L90M"])
    assert preds[0].mutations == ["M184V"] and preds[0].unrecognized == ["L74V", "Y115F"]
    assert preds[1].mutations == [] and preds[1].unrecognized == ["PR:L90M"]
    rec = to_records(preds)
    assert rec[0]["unrecognized"] == ["L74V", "Y115F"]


def _model_with_fold(folds: dict[str, float]) -> StubModel:
    """A one-feature model whose feature gives exactly these fold changes."""
    drugs = list(folds)
    return StubModel(drugs=drugs, weights={"M184V": [math.log10(folds[d]) for d in drugs]})


@pytest.mark.parametrize("drug, lower, upper", [
    ("3TC", 3.0, 25.0), ("ABC", 2.0, 6.0), ("TDF", 1.5, 3.0), ("LPV", 9.0, 55.0),
    ("DRV", 10.0, 90.0), ("TPV", 2.0, 8.0), ("FPV", 3.0, 15.0),
])
def test_sir_boundaries_exactly_at_the_cutoffs(drug, lower, upper):
    assert Cutoffs().for_drug(drug) == (lower, upper)
    cases = {lower * 0.999: "S", lower: "I", upper * 0.999: "I", upper: "R", upper * 1.001: "R"}
    for fold, call in cases.items():
        pred = predict(_model_with_fold({drug: fold}), ["M184V"])[0].drugs[0]
        assert pred.fold_change == pytest.approx(fold)
        assert pred.call == call, (drug, fold)
    assert call_sir(math.log10(lower), lower, upper) == "I"
    assert call_sir(math.log10(upper), lower, upper) == "R"
    assert call_sir(math.log10(lower) - 1e-6, lower, upper) == "S"


def test_cutoff_override():
    model = _model_with_fold({"TDF": 2.0})
    assert predict(model, ["M184V"])[0].drugs[0].call == "I"
    custom = Cutoffs().with_overrides(lower={"TDF": 2.5}, upper={"TDF": 5.0})
    assert predict(model, ["M184V"], cutoffs=custom)[0].drugs[0].call == "S"


def test_ranking_by_probability_then_relative_fold():
    # p: AZT lowest -> rank 1; 3TC and TDF tie on p -> lower fold/lower-cutoff first
    drugs = ["3TC", "AZT", "TDF", "ABC"]
    folds = {"3TC": 6.0, "AZT": 50.0, "TDF": 2.0, "ABC": 1.0}  # fold/lower: 2, 16.7, 1.33, 0.5
    model = StubModel(drugs=drugs, weights={"M184V": [math.log10(folds[d]) for d in drugs]},
                      p=[0.3, 0.1, 0.3, 0.9])
    pred = predict(model, ["M184V"])[0]
    ranks = {d.drug: d.rank for d in pred.drugs}
    assert ranks == {"AZT": 1, "TDF": 2, "3TC": 3, "ABC": 4}
    assert [d.drug for d in pred.ranked()] == ["AZT", "TDF", "3TC", "ABC"]
    assert [d.drug for d in pred.drugs] == drugs  # model order kept in .drugs
    assert rank_drugs([0.5, 0.5 + 1e-9, 0.2], [10, 1, 1], [1, 1, 1]) == [3, 2, 1]


def test_p_resistant_is_the_mean_probability():
    class TwoSamples(StubModel):
        def predict_samples(self, X, n_samples, seed):
            lf = np.zeros((2, X.shape[0], len(self.drugs)))
            prob = np.stack([np.full(lf.shape[1:], 0.2), np.full(lf.shape[1:], 0.6)])
            return lf, prob

    pred = predict(TwoSamples(), ["M184V"])[0]
    assert all(d.p_resistant == pytest.approx(0.4) for d in pred.drugs)


def test_json_schema_exactly():
    preds = predict(StubModel(spread=0.1), ["M184V K65R L74V", "WT"], n_samples=11)
    data = json.loads(to_json(preds))
    assert isinstance(data, list) and len(data) == 2
    for obj in data:
        assert list(obj) == ["id", "mutations", "unrecognized", "drugs"]
        assert isinstance(obj["id"], str)
        assert all(isinstance(m, str) for m in obj["mutations"] + obj["unrecognized"])
        assert [d["rank"] for d in obj["drugs"]] == [1, 2, 3]
        for d in obj["drugs"]:
            assert list(d) == ["drug", "fold_change", "fold_change_low", "fold_change_high",
                               "p_resistant", "call", "rank"]
            assert d["call"] in ("S", "I", "R") and isinstance(d["rank"], int)
            assert d["fold_change_low"] <= d["fold_change"] <= d["fold_change_high"]
            assert 0 <= d["p_resistant"] <= 1
    assert data[0]["id"] == "virus1" and data[0]["mutations"] == ["M184V", "K65R"]
    assert data[0]["unrecognized"] == ["L74V"]
    assert data[1]["mutations"] == [] and data[1]["unrecognized"] == []


def test_csv_columns_and_rows(tmp_path):
    preds = predict(StubModel(), ["M184V K65R L74V", "T69ins"])
    text = to_csv(preds)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == CSV_COLUMNS == [
        "id", "mutations", "unrecognized", "drug", "fold_change", "fold_change_low",
        "fold_change_high", "p_resistant", "call", "rank"]
    assert len(rows) == 2 * len(DRUGS)
    assert rows[0]["mutations"] == "M184V K65R" and rows[0]["unrecognized"] == "L74V"
    assert [r["rank"] for r in rows[:3]] == ["1", "2", "3"]
    assert not text.startswith("#") and RESEARCH_NOTE not in text
    # the CSV reads back as genotype input (id + mutations columns)
    f = tmp_path / "out.csv"
    f.write_text(text, encoding="utf-8")
    back = read_genotypes(f, "RT")
    assert [m.name for m in back[0].mutations] == ["M184V", "K65R"]


def test_table_has_the_research_note():
    preds = predict(StubModel(), [parse_genotype("K184V L74V", "RT", id="p[1]")])
    text = to_table(preds, width=120)
    assert RESEARCH_NOTE.split(":")[0] in text and "not for clinical decisions" in text
    assert "p[1]" in text and "L74V" in text and "consensus B has M" in text
    assert "\x1b[" not in text
    for drug in DRUGS:
        assert drug in text


def test_bad_inputs():
    with pytest.raises(DataError, match="'M18X'"):
        predict(StubModel(), ["M184V", "M18X"])
    with pytest.raises(ConfigError):
        predict(StubModel(), ["M184V"], n_samples=0)
    with pytest.raises(ConfigError):
        predict(StubModel(), ["M184V"], interval=1.0)
    assert predict(StubModel(), []) == []


def test_bad_model_output():
    class Wrong(StubModel):
        def predict_samples(self, X, n_samples, seed):
            lf, p = super().predict_samples(X, n_samples, seed)
            return lf[:, :, :1], p

    with pytest.raises(ModelError, match="shape"):
        predict(Wrong(), ["M184V"])

    class NaN(StubModel):
        def predict_samples(self, X, n_samples, seed):
            lf, p = super().predict_samples(X, n_samples, seed)
            p[0, 0, 0] = np.nan
            return lf, p

    with pytest.raises(ModelError, match="non-finite"):
        predict(NaN(), ["M184V"])


def test_file_errors_name_file_and_line(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("v1\tM184V\nv2\tK65R, T215Q9\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"in\.txt: line 2: .*'T215Q9'"):
        predict(StubModel(), read_genotypes(f, "RT"))
