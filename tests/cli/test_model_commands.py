"""The model commands end to end through the CLI's entry point (in this process; the exit code of
a real process is tested in test_data_commands): summary, train, encode, predict, errors."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pandas as pd
import pytest

from helpers import SYNTHETIC

#: mechanics only: the synthetic NRTI table (300 viruses; 3TC AZT TDF) is enough
TABLE = str(SYNTHETIC / "NRTI_synthetic.txt")


@pytest.fixture
def cli(run):
    """``cli(*args, check=True)``: the command's returncode, stdout and stderr."""
    def _cli(*args, check=True):
        code, out, err = run(*args)
        if check:
            assert code == 0, err
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return _cli


def test_summary_prints_keras_table(cli):
    out = cli("summary").stdout
    assert "Total params: 31,892" in out and "Total params: 30,820" in out
    assert "resistance heads" in cli("summary", "--model", "semi").stdout


@pytest.fixture(scope="module")
def semi_bundle(tmp_path_factory):
    from hivlatent.cli import main

    folder = tmp_path_factory.mktemp("m") / "semi"
    with pytest.MonkeyPatch.context() as mp, pytest.raises(SystemExit) as exc:
        mp.setattr(sys, "argv", ["hivlatent", "train", "--data", TABLE, "--model", "semi",
                                 "--latent", "4", "--hidden", "32", "--epochs", "3", "--members",
                                 "2", "--save", str(folder), "--quiet"])
        main()
    assert exc.value.code in (0, None)
    return folder


def test_train_and_encode(semi_bundle, tmp_path, cli):
    out = tmp_path / "latent.csv"
    cli("encode", str(semi_bundle), "--data", TABLE, "--out", str(out))
    z = pd.read_csv(out)
    assert list(z.columns) == ["id", "z1", "z2", "z3", "z4"] and len(z) == 300
    assert z["id"].iloc[0] == 1


def test_predict_formats(semi_bundle, cli):
    proc = cli("predict", str(semi_bundle), "M184V", "RT:K65R, T215Y", "--format", "json")
    recs = json.loads(proc.stdout)["records"]
    assert [r["id"] for r in recs] == ["arg1", "arg2"]
    assert recs[0]["mutations"] == {"RT": ["RT:M184V"]}
    drugs = [d for d in recs[0]["drugs"] if d["call"]]
    assert sorted(d["rank"] for d in drugs) == list(range(1, 4))
    assert {"drug", "fold_change", "fold_change_low", "fold_change_high", "p_resistant", "call",
            "rank", "drivers", "neighbours", "hivdb_level"} <= set(drugs[0])
    assert "research use" in proc.stderr.lower()
    table = cli("predict", str(semi_bundle), "M184V").stdout
    assert "research" in table.lower()


def test_user_errors_exit_2_without_traceback(semi_bundle, tmp_path, cli):
    cases = [
        ("predict", str(tmp_path / "missing"), "M184V"),
        ("predict", str(semi_bundle), "M184Z"),
        ("train", "--data", "nope", "--save", str(tmp_path / "x")),
        ("train", "--data", TABLE, "--latent", "0", "--save", str(tmp_path / "x")),
        ("summary", "--hidden", "12,x"),
    ]
    for args in cases:
        proc = cli(*args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
