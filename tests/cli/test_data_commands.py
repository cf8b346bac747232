"""`hivlatent data list` / `hivlatent data describe`, and user errors through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import assert_user_error


def table(tmp_path, text, name="t.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = "SeqID\t3TC\tAZT\tP1\tP2\n1\t30\t1\t-\tV\n2\t1\tNA\tL\tV\n"


def test_describe_help(run):
    code, out, _ = run("data", "describe", "--help")
    assert code == 0
    for opt in ("DATA", "--json", "--x", "--y", "--y-scale", "--cutoffs", "--drugs"):
        assert opt in out


def test_describe_table_file(run, tmp_path):
    p = table(tmp_path, GOOD)
    code, out, err = run("data", "describe", p, "--json")
    assert code == 0, err
    desc = json.loads(out)
    assert desc["rows"] == 2 and desc["drug_class"] == "NRTI"
    by_drug = {d["drug"]: d for d in desc["drugs"]}
    assert by_drug["3TC"]["tested"] == 2 and by_drug["3TC"]["prevalence"] == 0.5
    assert by_drug["AZT"]["missing_fraction"] == 0.5


def test_describe_design_matrix(run, tmp_path):
    x = table(tmp_path, "row,X.184V,X.65R\n1,1,0\n2,0,1\n", "X.csv")
    y = table(tmp_path, "row,3TC\n1,30\n2,2\n", "Y.csv")
    code, out, err = run("data", "describe", "--x", x, "--y", y, "--y-scale", "fold", "--json")
    assert code == 0, err
    desc = json.loads(out)
    assert [m["feature"] for m in desc["top_mutations"]] == ["M184V", "K65R"]
    assert desc["drugs"][0]["resistant"] == 1


def test_list(run, data_dir):
    code, out, _ = run("data", "list", "--json")
    assert code == 0
    listing = {d["name"]: d for d in json.loads(out)}
    assert listing["nrti-1246"]["found"] == str(data_dir / "NRTI_DataSet.txt")
    code, out, _ = run("data", "list")
    assert code == 0 and "nrti-1246" in out and "nnrti" in out


def test_describe_nrti1246(run, data_dir):
    code, out, err = run("data", "describe", "nrti-1246", "--json")
    assert code == 0, err
    desc = json.loads(out)
    assert (desc["rows"], desc["features"]) == (1246, 228)
    assert [d["drug"] for d in desc["drugs"]] == ["ABC", "3TC", "AZT", "D4T", "DDI"]
    assert all(0 < d["prevalence"] < 1 for d in desc["drugs"])
    assert len(desc["top_mutations"]) == 15
    top = {m["feature"]: m for m in desc["top_mutations"]}
    assert top["M184V"]["mtps_name"] == "X.184V"
    code, out, _ = run("data", "describe", "nrti-1246")
    assert code == 0 and "M184V" in out and "prevalence" in out


def test_describe_rda_and_drugs(run, data_dir):
    code, out, err = run("data", "describe", data_dir / "HIV.rda", "--json", "--drugs", "3TC,ABC")
    assert code == 0, err
    assert [d["drug"] for d in json.loads(out)["drugs"]] == ["3TC", "ABC"]


# ---- user errors: exit code 2, one line, file / line / column named ---------------------------


def test_missing_file(run, tmp_path):
    assert_user_error(run("data", "describe", tmp_path / "nope.txt"), "nope.txt", "no such file")


def test_empty_file(run, tmp_path):
    p = table(tmp_path, "")
    assert_user_error(run("data", "describe", p), str(p), "empty")


@pytest.mark.parametrize("text, fragments", [
    ("Name\t3TC\tP1\n1\t2\t-\n", ["line 1", "no 'SeqID' (or 'IsolateID') column"]),
    ("SeqID\t3TC\tpos1\n1\t2\t-\n", ["line 1", "no position columns", "P1..Pn"]),
    ("SeqID\tFOO\tP1\n1\t2\t-\n", ["line 1", "no drug fold-change columns"]),
    ("SeqID\t3TC\tP1\n1\t2\t-\n2\tlots\t-\n", ["line 3", "column '3TC'", "expected a fold change",
                                              "'lots'"]),
    ("SeqID\t3TC\tP1\tP2\n1\t2\t-\tK\n2\t2\t-\t?\n", ["line 3", "column 'P2'", "unknown cell '?'"]),
    ("SeqID\t3TC\tP1\n7\t2\t-\n7\t3\t-\n", ["line 3", "column 'SeqID'", "duplicate sequence id '7'",
                                           "first on line 2"]),
])
def test_bad_tables(run, tmp_path, text, fragments):
    p = table(tmp_path, text)
    assert_user_error(run("data", "describe", p), str(p), *fragments)


def test_unknown_drug_option(run, tmp_path):
    p = table(tmp_path, GOOD)
    assert_user_error(run("data", "describe", p, "--drugs", "3TC,EFX"), str(p), "line 1",
                      "unknown drug 'EFX'", "3TC, AZT")


def test_unknown_drug_in_cutoffs_file(run, tmp_path):
    p = table(tmp_path, GOOD)
    cut = table(tmp_path, "drug,lower\n3TC,3\nEFX,2\n", "cutoffs.csv")
    assert_user_error(run("data", "describe", p, "--cutoffs", cut), str(cut), "line 3",
                      "column 'drug'", "unknown drug 'EFX'")


def test_unknown_drug_in_y(run, tmp_path):
    x = table(tmp_path, "row,X.184V\n1,1\n", "X.csv")
    y = table(tmp_path, "row,EFX\n1,2\n", "Y.csv")
    assert_user_error(run("data", "describe", "--x", x, "--y", y), str(y), "line 1",
                      "column 'EFX'", "unknown drug")


def test_option_misuse(run, tmp_path):
    x = table(tmp_path, "row,X.184V\n1,1\n", "X.csv")
    assert_user_error(run("data", "describe", "--x", x), "--x and --y go together")
    assert_user_error(run("data", "describe"), "no data given")
    code, _, err = run("data", "describe", "--x", x, "--y", x, "--y-scale", "ln")
    assert code == 2 and "Traceback" not in err


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    p = table(tmp_path, "SeqID\t3TC\tP1\n1\tabc\t-\n")
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "hivlatent", "data", "describe", str(p)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {p}: line 2, column '3TC': expected a fold change "
                                   f"(a number >= 0) or NA, got 'abc'")
    assert "Traceback" not in proc.stderr
