"""The model commands end to end through the real CLI: summary, train, encode, predict, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from helpers import SYNTHETIC

#: mechanics only: the synthetic NRTI table (300 viruses; 3TC AZT TDF) is enough
TABLE = str(SYNTHETIC / "NRTI_synthetic.txt")


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "hivlatent", *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_summary_prints_keras_table():
    out = run("summary").stdout
    assert "Total params: 31,892" in out and "Total params: 30,820" in out
    assert "resistance heads" in run("summary", "--model", "semi").stdout


@pytest.fixture(scope="module")
def semi_bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("m") / "semi"
    run("train", "--data", TABLE, "--model", "semi", "--latent", "4", "--hidden", "32",
        "--epochs", "3", "--members", "2", "--save", str(folder), "--quiet")
    return folder


def test_train_and_encode(semi_bundle, tmp_path):
    out = tmp_path / "latent.csv"
    run("encode", str(semi_bundle), "--data", TABLE, "--out", str(out))
    z = pd.read_csv(out)
    assert list(z.columns) == ["id", "z1", "z2", "z3", "z4"] and len(z) == 300
    assert z["id"].iloc[0] == 1


def test_predict_formats(semi_bundle):
    proc = run("predict", str(semi_bundle), "M184V", "RT:K65R, T215Y", "--format", "json")
    recs = json.loads(proc.stdout)["records"]
    assert [r["id"] for r in recs] == ["arg1", "arg2"]
    assert recs[0]["mutations"] == {"RT": ["RT:M184V"]}
    drugs = [d for d in recs[0]["drugs"] if d["call"]]
    assert sorted(d["rank"] for d in drugs) == list(range(1, 4))
    assert {"drug", "fold_change", "fold_change_low", "fold_change_high", "p_resistant", "call",
            "rank", "drivers", "neighbours", "hivdb_level"} <= set(drugs[0])
    assert "research use" in proc.stderr.lower()
    table = run("predict", str(semi_bundle), "M184V").stdout
    assert "research" in table.lower()


def test_user_errors_exit_2_without_traceback(semi_bundle, tmp_path):
    cases = [
        ("predict", str(tmp_path / "missing"), "M184V"),
        ("predict", str(semi_bundle), "M184Z"),
        ("train", "--data", "nope", "--save", str(tmp_path / "x")),
        ("train", "--data", TABLE, "--latent", "0", "--save", str(tmp_path / "x")),
        ("summary", "--hidden", "12,x"),
    ]
    for args in cases:
        proc = run(*args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
