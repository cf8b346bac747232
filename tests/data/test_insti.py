"""The integrase-inhibitor (INSTI) class: HIVDB's phenotype export with FoldMatch censoring marks,
censoring everywhere a measured value meets a prediction, the too-few-phenotypes rule, and the
INSTI model on the real data (known resistance patterns, FASTA records end to end)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers import assert_user_error
from hivlatent.data import censoring
from hivlatent.data.hivdb_tables import read_table
from hivlatent.errors import DataError

DRUGS = ("BIC", "CAB", "DTG", "EVG", "RAL")
WT = ["-"] * 6


def ini_table(path, rows, *, drugs=DRUGS, marks=True, extra_header=()):
    """A small INSTI export: rows are (isolate id, type, ptid, {drug: (fold, mark)}, cells)."""
    header = ["RefID", "IsolateID", "IsolateName", "Type", "PtID", "Method"]
    for d in drugs:
        header += [d] + ([f"{d}FoldMatch"] if marks else [])
    header += [*extra_header, "RefYear", *[f"P{i}" for i in range(1, 7)]]
    lines = ["\t".join(header)]
    for iso, kind, ptid, values, cells in rows:
        line = ["7", str(iso), f"iso{iso}", kind, ptid, "PhenoSense"]
        for d in drugs:
            fold, mark = values.get(d, ("", ""))
            line += [str(fold)] + ([mark] if marks else [])
        line += ["x"] * len(extra_header) + ["2019", *cells]
        lines.append("\t".join(line))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_insti_export_is_read_with_its_censoring_marks(tmp_path):
    p = ini_table(tmp_path / "ini.txt", [
        (11, "Clinical", "p1", {"RAL": ("1,000", ">"), "EVG": ("150", ">"), "DTG": ("1.2", "=")},
         ["-", "-", "-", "-", "-", "I"]),
        (12, "Lab", "", {"RAL": ("1", "<"), "BIC": ("0.9", "=")}, WT),
        (13, "Lab", "", {"RAL": ("2.5", "=")}, WT),
        (14, "Lab", "", {"RAL": ("3.0", "=")}, ["-", "-", "-", "-", "-", "I"]),
    ])
    t = read_table(p)
    assert t.drug_class == "INSTI" and t.gene == "IN"
    assert list(t.ids) == ["11", "12", "13", "14"]                  # IsolateID is the row id
    assert t.folds.loc[0, "RAL"] == 1000.0                          # "1,000": a thousands separator
    assert t.censor.loc[0, "RAL"] == censoring.AT_LEAST and t.censor.loc[0, "EVG"] == 1
    assert t.censor.loc[1, "RAL"] == censoring.AT_MOST and t.censor.loc[0, "DTG"] == 0
    assert t.censor.loc[2, "CAB"] == 0                              # no value, no mark
    assert "RefYear" in t.meta.columns                              # numbers, but metadata

    from hivlatent.data import load_dataset
    ds = load_dataset(p, min_count=0)
    assert ds.censor is not None and ds.censor.shape == (4, 5)
    # lab isolates without a PtID: grouped by genotype (12 and 13 are the same wild type)
    assert ds.groups[0] == "p1" and ds.groups[1] == ds.groups[2] != ds.groups[3]
    assert ds.groups[1].startswith("lab:")
    j = ds.drugs.index("RAL")
    assert ds.labels[0, j] == 1 and ds.labels[1, j] == 0           # > 1000 resistant, < 1 not


@pytest.mark.parametrize("rows, drugs, marks, fragments", [
    ([(1, "Lab", "", {"RAL": ("2", "~")}, WT)], DRUGS, True,
     ["line 2", "column 'RALFoldMatch'", "'~'", "'=', '>' or '<'"]),
    ([(1, "Lab", "", {"RAL": ("", ">")}, WT)], DRUGS, True,
     ["line 2", "column 'RALFoldMatch'", "nothing where the fold change is missing"]),
    ([(1, "Lab", "", {"RAL": ("2", "=")}, WT)], ("RAL", "EVG"), "partial",
     ["line 1", "EVG has no EVGFoldMatch column"]),
])
def test_bad_marks_are_named(tmp_path, rows, drugs, marks, fragments):
    if marks == "partial":
        header = ["IsolateID", "RAL", "RALFoldMatch", "EVG", *[f"P{i}" for i in range(1, 7)]]
        body = ["1", "2", "=", "3", *WT]
        p = tmp_path / "ini.txt"
        p.write_text("\t".join(header) + "\n" + "\t".join(body) + "\n")
    else:
        p = ini_table(tmp_path / "ini.txt", rows, drugs=drugs)
    with pytest.raises(DataError) as exc:
        read_table(p)
    for f in fragments:
        assert f in str(exc.value), (f, str(exc.value))


def test_foldmatch_of_an_unknown_drug_is_an_error(tmp_path):
    p = tmp_path / "ini.txt"
    p.write_text("IsolateID\tRAL\tRALFoldMatch\tXYZFoldMatch\tP1\n1\t2\t=\t=\t-\n")
    with pytest.raises(DataError, match="XYZFoldMatch.*unknown drug"):
        read_table(p)


def test_describe_counts_bounds(tmp_path, run):
    p = ini_table(tmp_path / "ini.txt", [
        (i, "Lab", "", {"RAL": (str(200 if i < 3 else 1 + i / 10), ">" if i < 3 else "=")},
         ["-", "-", "-", "-", "-", "I" if i % 2 else "-"]) for i in range(12)])
    code, out, err = run("data", "describe", str(p), "--json")
    assert code == 0, err
    desc = json.loads(out)
    ral = next(d for d in desc["drugs"] if d["drug"] == "RAL")
    assert desc["censoring"] == "marks" and ral["at_least"] == 3 and ral["at_most"] == 0


# ------------------------------------------------------------------------- censoring, everywhere

def test_censoring_helpers():
    y = np.array([1.0, 1.0, 0.2, 0.2, 0.2])
    codes = np.array([1, 1, -1, -1, 0])
    pred = np.array([1.6, 0.4, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(censoring.residual(pred, y, codes), [0.0, -0.6, 0.0, 0.3, 0.3])
    lo, hi = pred - 0.1, pred + 0.1
    assert censoring.covered(lo, hi, y, codes).tolist() == [True, False, True, False, False]
    # labels a bound leaves open: >= 2 with cutoff 4 (could be either), <= 5 with cutoff 4
    lab = censoring.labels(np.array([[2.0], [5.0], [5.0], [2.0]]),
                           np.array([[1], [1], [-1], [-1]]), np.array([4.0]))
    assert np.isnan(lab[0, 0]) and lab[1, 0] == 1 and np.isnan(lab[2, 0]) and lab[3, 0] == 0
    # without marks: a value at the drug's largest value is "at least"
    lf = np.array([[2.3, 0.1], [1.0, np.nan], [2.3, 0.5]])
    assert censoring.effective(lf, None).tolist() == [[1, 0], [0, 0], [1, 1]]


def test_tobit_sd_reads_at_least_as_at_least():
    from hivlatent.predictive.output_layer import censored_sd

    rng = np.random.default_rng(0)
    truth = rng.normal(0.0, 0.5, 4000)
    # censor at 0.3: the measured value is the bound; the true residual sd is 0.5
    codes = np.where(truth >= 0.3, censoring.AT_LEAST, censoring.EXACT)
    y = np.minimum(truth, 0.3)
    s = censored_sd(y - 0.0, codes, np.zeros_like(y))
    assert abs(s - 0.5) < 0.03, s
    # the same values read as exact would underestimate it
    assert censored_sd(y, np.zeros_like(codes), np.zeros_like(y)) < 0.45
    # "at most" bounds (left-censoring) likewise
    codes = np.where(truth <= -0.3, censoring.AT_MOST, censoring.EXACT)
    y = np.maximum(truth, -0.3)
    assert abs(censored_sd(y, codes, np.zeros_like(y)) - 0.5) < 0.03


def test_metrics_use_the_marks():
    from hivlatent.evaluation.metrics import interval_coverage, regression_metrics

    y = np.array([2.0, 2.0, 0.0, 1.0])
    pred = np.array([2.5, 1.5, -0.2, 1.1])
    marks = np.array([1, 1, -1, 0])
    m = regression_metrics(y, pred, marks)
    assert m["mse"] == pytest.approx((0.25 + 0.01) / 4)      # above ">= 2" and below "<= 0": 0
    plain = regression_metrics(y, pred)
    assert plain["mse"] > m["mse"]
    lo, hi = pred - 0.3, pred + 0.3
    assert interval_coverage(y, lo, hi, 3.0, marks) == pytest.approx(0.75)


def test_engine_trains_with_marks_and_gives_equal_models_without_them():
    """TrainData from a dataset with marks uses them; without marks, the rule of the largest
    value gives exactly the codes the loss used before (a value at the cap is "at least")."""
    from hivlatent.training.engine import TrainData

    class DS:
        X = np.zeros((3, 2), np.float32)
        observed = np.ones((3, 2), bool)
        log_fold = np.array([[2.3], [1.0], [2.3]])
        labels = np.array([[1.0], [0.0], [1.0]])
        censor = None

    t = TrainData.from_dataset(DS)
    assert t.censor.flatten().tolist() == [1.0, 0.0, 1.0]
    DS.censor = np.array([[0], [-1], [1]], dtype=np.int8)
    assert TrainData.from_dataset(DS).censor.flatten().tolist() == [0.0, -1.0, 1.0]
    assert isinstance(t.censor, torch.Tensor)


# ------------------------------------------------------------------------- too few phenotypes

def test_phenotype_support_rule():
    from hivlatent.config import MIN_MEASURED, MIN_RESISTANT, phenotype_support

    assert phenotype_support(MIN_MEASURED, MIN_RESISTANT) is None
    why = phenotype_support(17, 8)
    assert why is not None and "17 measured, 8 resistant" in why
    assert phenotype_support(1000, MIN_RESISTANT - 1) is not None


# ------------------------------------------------------------------------- the real table

def test_real_insti_table(data_dir):
    from hivlatent import load_dataset
    from hivlatent.config import supported_drugs

    ds = load_dataset("insti")
    assert ds.n_rows == 1103 and ds.drug_class == "INSTI" and ds.gene == "IN"
    assert ds.drugs == ["RAL", "EVG", "DTG", "BIC", "CAB"]
    measured = dict(zip(ds.drugs, np.isfinite(ds.log_fold).sum(0).tolist()))
    assert measured == {"RAL": 1058, "EVG": 1001, "DTG": 415, "BIC": 229, "CAB": 17}
    at_least = dict(zip(ds.drugs, (ds.censor == 1).sum(0).tolist()))
    assert at_least == {"RAL": 89, "EVG": 80, "DTG": 2, "BIC": 0, "CAB": 0}
    assert int((ds.censor == -1).sum()) == 2
    resistant = dict(zip(ds.drugs, np.nansum(ds.labels, 0).astype(int).tolist()))
    assert resistant["BIC"] == 20 and resistant["DTG"] == 74 and resistant["CAB"] == 8
    assert supported_drugs(ds) == ["RAL", "EVG", "DTG"]      # BIC (20 resistant), CAB: too few
    lab = (ds.meta["Type"] == "Lab").to_numpy()
    assert all(str(g).startswith("lab:") for g in ds.groups[lab])
    assert not any(str(g).startswith("lab:") for g in ds.groups[~lab])


@pytest.mark.slow
def test_known_integrase_patterns(insti_default_model):
    from hivlatent.prediction.predictor import predict

    model, reference = insti_default_model
    assert model.drug_class == "INSTI" and set(model.withheld) == {"BIC", "CAB"}

    def answer(genotype):
        v = predict(model, [genotype], reference=reference, explain=False)[0]
        return {d.drug: d for d in v.drugs}

    wt = answer("WT")
    for drug in ("RAL", "EVG", "DTG"):
        assert wt[drug].call == "S", (drug, wt[drug])
    for drug in ("BIC", "CAB"):
        assert wt[drug].call is None and "too few phenotypes" in wt[drug].note
    n155h = answer("IN:N155H")
    assert n155h["RAL"].call != "S" and n155h["EVG"].call != "S" and n155h["DTG"].call == "S"
    double = answer("IN:G140S Q148H")
    assert double["RAL"].fold_change > 20 and double["EVG"].fold_change > 20
    assert double["DTG"].fold_change > wt["DTG"].fold_change
    t66i = answer("IN:T66I")
    assert t66i["EVG"].call != "S" and t66i["RAL"].call == "S"
    assert answer("IN:Y143R")["RAL"].call != "S"
    assert answer("IN:G118R")["DTG"].call != "S"


@pytest.mark.slow
def test_integrase_fasta_end_to_end(insti_default_model, small_default_models, tmp_path, run):
    from hivlatent.sequences.synthetic import make_sequence, write_fasta

    fasta = tmp_path / "integrase.fasta"
    write_fasta({
        "in_wt": make_sequence([], genes=("IN",), seed=1),
        "in_q148": make_sequence(["IN:G140S", "IN:Q148H"], genes=("IN",), seed=2, divergence=0.02),
        "rt_in": make_sequence(["RT:M184V", "IN:N155H"], genes=("RT", "IN"), seed=3),
    }, fasta)
    code, out, err = run("predict", "--file", fasta, "--format", "json")
    assert code == 0, err
    got = {r["id"]: r for r in json.loads(out)["records"]}
    assert got["in_q148"]["mutations"]["IN"] == ["IN:G140S", "IN:Q148H"]
    drugs = {d["drug"]: d for d in got["in_q148"]["drugs"]}
    for drug in ("RAL", "EVG", "DTG"):
        d = drugs[drug]
        assert d["class"] == "INSTI" and d["call"] in "SIR" and d["rank"] is not None
        assert d["fold_change_low"] <= d["fold_change"] <= d["fold_change_high"]
        assert 0 <= d["p_resistant"] <= 1 and d["neighbours"]
        assert d["hivdb_level"] is not None                          # HIVdb beside (the extra)
    assert drugs["RAL"]["call"] == "R" and drugs["RAL"]["drivers"]
    for drug in ("BIC", "CAB"):
        assert drugs[drug]["call"] is None and "too few phenotypes" in drugs[drug]["note"]
        assert drugs[drug]["hivdb_level"] is not None and drugs[drug]["agree"] is None
    assert {d["class"] for d in got["rt_in"]["drugs"]} >= {"NRTI", "NNRTI", "INSTI"}
    assert all(d["call"] == "S" for d in got["in_wt"]["drugs"] if d["drug"] not in ("BIC", "CAB"))
    # the same in CSV and the table; the HTML report says why CAB has no learned answer
    code, out, err = run("predict", "--file", fasta, "--format", "csv",
                         "--report", tmp_path / "r.html")
    assert code == 0, err
    cab = [line for line in out.splitlines() if ",CAB," in line]
    assert len(cab) == 3 and all("too few phenotypes" in line for line in cab)   # 3 records
    assert "No learned answer" in (tmp_path / "r.html").read_text()
    code, out, err = run("predict", "IN:G140S Q148H")
    assert code == 0 and "RAL" in out and "too few data" in out and "no learned answer" in out


def test_insti_table_missing_leaves_other_classes_answered(tmp_path, monkeypatch, data_dir, run,
                                                             small_default_models):
    """Without the INSTI table (HIVDB does not serve it), RT records are still answered and an
    integrase record says why INSTI has no model."""
    import os
    import shutil
    from pathlib import Path

    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("NRTI_DataSet.txt", "NNRTI_stanford.csv"):
        shutil.copy(data_dir / name, folder / name)
    monkeypatch.setenv("HIVLATENT_DATA_DIR", str(folder))
    # a cache without an INSTI model (a cached one would answer offline), sharing the session's
    # RT models so they are not trained again
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    for model in (Path(os.environ["HIVLATENT_CACHE_DIR"]) / "models").glob("*nrti-*"):
        (cache / "models" / model.name).symlink_to(model)
    monkeypatch.setenv("HIVLATENT_CACHE_DIR", str(cache))
    code, out, err = run("predict", "--no-hivdb", "--format", "json", "IN:N155H RT:M184V")
    assert code == 0, err
    rec = json.loads(out)["records"][0]
    assert any("INSTI" in n and "INI_DataSet.Full.txt" in n for n in rec["not_covered"])
    assert {d["class"] for d in rec["drugs"]} == {"NRTI", "NNRTI"}
    assert "note: no INSTI model" in err
    assert_user_error(run("predict", "--no-hivdb", "IN:N155H"), "INI_DataSet.Full.txt")
