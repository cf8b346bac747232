"""Prediction front end against a stub model with a known predictive distribution."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from scipy.stats import norm

import hivlatent
from helpers import STUB_DRUGS as DRUGS
from helpers import StubModel
from hivlatent.data.cutoffs import Cutoffs
from hivlatent.data.genotype_files import read_genotypes
from hivlatent.data.mutations import parse_genotype
from hivlatent.errors import ConfigError, DataError, ModelError
from hivlatent.predictive.distribution import PredictiveDistribution
from hivlatent.prediction import (
    CSV_COLUMNS,
    RESEARCH_NOTE,
    call_sir,
    predict,
    rank_drugs,
    to_csv,
    to_json,
    to_records,
    to_table,
)


def test_all_notations_give_the_same_prediction():
    texts = ["M184V T215FY T69ins D67del", "RT:M184V, T215Y/F, 69#, 67~",
             "184V;215F/Y;T69insSS;67del", "rt:m184v + t215yf + T69_SS + D67del"]
    model = StubModel()
    preds = predict(model, texts)
    first = [(d.drug, d.fold_change, d.call, d.rank) for d in preds[0].drugs]
    for p in preds[1:]:
        assert [(d.drug, d.fold_change, d.call, d.rank) for d in p.drugs] == first
        assert p.mutations == {"RT": ["RT:M184V", "RT:T215FY", "RT:T69ins", "RT:D67del"]}
    X = model.calls[0]              # one distinct genotype, evaluated once (then zero padding)
    assert X[0].sum() == 5 and not X[1:].any()     # T215FY sets two columns


def test_one_predictive_distribution_gives_fold_interval_p_and_call():
    (pred,) = predict(StubModel(sd=0.25), ["M184V"], interval=0.8)
    d = {p.drug: p for p in pred.drugs}["3TC"]
    z = norm.ppf(0.9)
    assert d.fold_change == pytest.approx(100.0)
    assert d.fold_change_low == pytest.approx(10 ** (2.0 - z * 0.25))
    assert d.fold_change_high == pytest.approx(10 ** (2.0 + z * 0.25))
    assert d.p_resistant == pytest.approx(norm.sf((math.log10(3) - 2.0) / 0.25))
    assert pred.interval == 0.8
    for d in pred.drugs:                    # coherent: P > 0.5 exactly when the call is I or R
        assert (d.p_resistant > 0.5) == (d.call in ("I", "R")), d


def test_the_reporting_limit_caps_fold_and_interval():
    model = StubModel(sd=0.5)
    model.fold_cap = {"3TC": 50.0}
    d = {p.drug: p for p in predict(model, ["M184V T69ins"])[0].drugs}["3TC"]
    assert d.fold_change == d.fold_change_high == pytest.approx(50.0)
    assert d.fold_change_low < 50.0 and d.call == "R"


def test_drivers_are_the_change_when_a_mutation_is_removed():
    (pred,) = predict(StubModel(), ["M184V T215Y D67del"])
    d = {p.drug: p for p in pred.drugs}
    assert d["3TC"].drivers[0].mutation == "RT:M184V"
    assert d["3TC"].drivers[0].delta == pytest.approx(2.0)
    azt = {x.mutation: x.delta for x in d["AZT"].drivers}
    assert azt == pytest.approx({"RT:T215Y": 1.2, "RT:D67del": 0.5, "RT:M184V": -0.2})
    assert [x.mutation for x in d["AZT"].drivers] == ["RT:T215Y", "RT:D67del", "RT:M184V"]


def test_unrecognized_mutations_are_reported():
    preds = predict(StubModel(), ["M184V L74V Y115F", "PR:L90M"])
    assert preds[0].mutations == {"RT": ["RT:M184V", "RT:L74V", "RT:Y115F"]}
    assert preds[0].unrecognized == ["L74V", "Y115F"]
    assert preds[1].drugs == [] and preds[1].not_covered == ["NRTI: the input does not cover RT"]
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


def test_a_recalibrated_drug_keeps_one_answer_p_above_half_exactly_when_called_i_or_r():
    from hivlatent.predictive.calibration import Recalibration

    # recalibrated: P = expit(1.5 + 2 z), so P > 0.5 from z > -0.75 (below the cutoff)
    lower, upper = Cutoffs().for_drug("3TC")
    folds = np.exp(np.linspace(np.log(lower / 3), np.log(upper * 2), 41))
    seen = set()
    for fold in folds:
        model = _model_with_fold({"3TC": float(fold)})
        model.recalibrations["3TC"] = Recalibration(2.0, 1.5)
        d = predict(model, ["M184V"])[0].drugs[0]
        z = (math.log10(fold) - math.log10(lower)) / model.sd
        assert d.p_resistant == pytest.approx(1 / (1 + math.exp(-(1.5 + 2.0 * z))))
        assert (d.p_resistant > 0.5) == (d.call in ("I", "R")), fold
        assert d.call == ("S" if d.p_resistant <= 0.5 else "R" if fold >= upper * (1 - 1e-9)
                          else "I")
        seen.add(d.call)
    assert seen == {"S", "I", "R"}
    # below the cutoff yet called I: the recalibration moved the call, and P says the same
    model = _model_with_fold({"3TC": lower * 0.9})
    assert predict(model, ["M184V"])[0].drugs[0].call == "S"
    model.recalibrations["3TC"] = Recalibration(2.0, 1.5)
    assert predict(model, ["M184V"])[0].drugs[0].call == "I"


def test_cutoff_override():
    model = _model_with_fold({"TDF": 2.0})
    assert predict(model, ["M184V"])[0].drugs[0].call == "I"
    model.cutoffs = Cutoffs().with_overrides(lower={"TDF": 2.5}, upper={"TDF": 5.0})
    assert predict(model, ["M184V"])[0].drugs[0].call == "S"


def test_ranking_by_probability_then_relative_fold():
    drugs = ["3TC", "AZT", "TDF", "ABC"]
    folds = {"3TC": 6.0, "AZT": 1.0, "TDF": 2.0, "ABC": 1.0}  # p: AZT, ABC low; TDF, 3TC high
    model = StubModel(drugs=drugs, weights={"M184V": [math.log10(folds[d]) for d in drugs]})
    pred = predict(model, ["M184V"])[0]
    ranks = {d.drug: d.rank for d in pred.drugs}
    assert ranks == {"AZT": 1, "ABC": 2, "TDF": 3, "3TC": 4}
    assert [d.drug for d in pred.ranked()] == ["AZT", "ABC", "TDF", "3TC"]
    assert rank_drugs([0.5, 0.5 + 1e-9, 0.2], [10, 1, 1], [1, 1, 1]) == [3, 2, 1]


def test_json_schema_exactly():
    preds = predict(StubModel(), ["M184V K65R L74V", "WT"])
    doc = json.loads(to_json(preds))
    assert list(doc) == ["hivlatent_version", "hivdb_algorithm", "models", "research_note",
                         "records"]
    assert doc["hivlatent_version"] == hivlatent.__version__ and doc["hivdb_algorithm"] is None
    assert doc["models"]["NRTI"]["class"] == "NRTI" and doc["research_note"] == RESEARCH_NOTE
    data = doc["records"]
    assert isinstance(data, list) and len(data) == 2
    for obj in data:
        assert list(obj) == ["id", "error", "mutations", "coverage", "warnings", "unrecognized",
                             "not_covered", "interval", "hivdb_version", "hivdb_mutations",
                             "sdrms", "subtype", "applicability", "drugs"]
        assert obj["hivdb_mutations"] == [] and obj["subtype"] is None
        assert obj["error"] is None and isinstance(obj["id"], str)
        assert [d["rank"] for d in obj["drugs"]] == [1, 2, 3]
        for d in obj["drugs"]:
            assert list(d) == ["drug", "class", "fold_change", "fold_change_low",
                               "fold_change_high", "p_resistant", "call", "rank", "hivdb_score",
                               "hivdb_level", "hivdb_text", "agree", "hivdb_partial_scores",
                               "applicability", "drivers", "neighbours", "note"]
            assert d["applicability"]["level"] in ("typical", "caution", "outside")
            assert d["call"] in ("S", "I", "R") and isinstance(d["rank"], int)
            assert d["fold_change_low"] <= d["fold_change"] <= d["fold_change_high"]
            assert 0 <= d["p_resistant"] <= 1
    assert data[0]["id"] == "virus1"
    assert data[0]["mutations"] == {"RT": ["RT:M184V", "RT:K65R", "RT:L74V"]}
    assert data[0]["unrecognized"] == ["L74V"]
    assert data[1]["mutations"] == {} and data[1]["unrecognized"] == []


def test_csv_columns_and_rows(tmp_path):
    preds = predict(StubModel(), ["M184V K65R L74V", "T69ins"])
    text = to_csv(preds)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == CSV_COLUMNS
    assert {"id", "drug", "fold_change", "p_resistant", "call", "rank", "mutations",
            "hivdb_level", "drivers", "error"} <= set(CSV_COLUMNS)
    assert len(rows) == 2 * len(DRUGS)
    assert rows[0]["mutations"] == "RT:M184V RT:K65R RT:L74V" and rows[0]["unrecognized"] == "L74V"
    assert [r["rank"] for r in rows[:3]] == ["1", "2", "3"]
    assert not text.startswith("#") and RESEARCH_NOTE not in text
    # the CSV reads back as genotype input (id + mutations columns)
    f = tmp_path / "out.csv"
    f.write_text(text, encoding="utf-8")
    back = read_genotypes(f, "RT")
    assert [m.name for m in back[0].mutations] == ["M184V", "K65R", "L74V"]


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
        predict(StubModel(), ["M184V"], interval=1.0)
    assert predict(StubModel(), []) == []


def test_bad_model_output():
    class Wrong(StubModel):
        def predict_distribution(self, X):
            mu, sd = super().predict_distribution(X)
            return PredictiveDistribution.for_model(self, mu[:, :1], sd)

    with pytest.raises(ModelError, match="shape"):
        predict(Wrong(), ["M184V"])

    class NaN(StubModel):
        def predict_distribution(self, X):
            mu, sd = super().predict_distribution(X)
            sd[0, 0] = np.nan
            return PredictiveDistribution.for_model(self, mu, sd)

    with pytest.raises(ModelError, match="non-finite"):
        predict(NaN(), ["M184V"])


def test_a_bad_line_of_a_file_is_named_and_the_others_are_answered(tmp_path):
    from hivlatent.prediction import predict_records
    from hivlatent.prediction.inputs import from_file

    f = tmp_path / "in.txt"
    f.write_text("v1\tM184V\nv2\tK65R, T215Q9\nv1\tK65R\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"in\.txt: line 2: .*'T215Q9'"):
        read_genotypes(f, "RT")
    answers = predict_records(from_file(f), {"NRTI": (StubModel(), None)}, hivdb=False)
    assert [a.id for a in answers] == ["v1", "v2", "v1"]
    assert answers[0].error is None and answers[0].drugs
    assert "line 2" in answers[1].error and "'T215Q9'" in answers[1].error
    assert "id 'v1' again" in answers[2].error
