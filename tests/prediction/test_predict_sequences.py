"""A virus's sequence in, a report out: FASTA through `hivlatent predict` with a small model, the
HIVdb columns, the HTML report in headless Chromium; and, end to end (slow), the default models
trained on first use, answered from the cache after, rebuilt when damaged."""

from __future__ import annotations

import json

import pytest

from helpers import body_attributes, dump_dom, screenshot
from hivlatent.sequences import make_sequence, write_fasta

RECORDS = {
    "wild_type": dict(mutations=[], genes=("PR", "RT")),
    "m184v_l90m": dict(mutations=["RT:M184V", "PR:L90M"], genes=("PR", "RT")),
    "tams": dict(mutations=["RT:M41L", "RT:D67N", "RT:K70R", "RT:T215Y", "RT:K219Q"],
                 genes=("RT",)),
    "mixture": dict(mutations=["RT:T215FY", "RT:K103N"], genes=("RT",)),
    "insertion": dict(mutations=["RT:T69ins"], genes=("RT",)),
    "deletion": dict(mutations=["RT:D67del"], genes=("RT",)),
    "reverse": dict(mutations=["RT:K65R"], genes=("RT",), reverse_complement=True),
    "frameshift": dict(mutations=["RT:M184V"], genes=("RT",), frameshift_at="RT:120"),
    "stop": dict(mutations=["RT:M41L"], genes=("RT",), stop_at="RT:88"),
}


def fasta(folder, extra=()):
    records = [(rid, make_sequence(**spec)) for rid, spec in RECORDS.items()]
    records += list(extra)
    path = folder / "my.fasta"
    write_fasta(records, path)
    return path


def test_fasta_records_give_mutations_coverage_warnings_and_errors(synthetic_model, tmp_path, run):
    path = fasta(tmp_path, extra=[("not_hiv", "ACGTTGCA" * 150)])
    code, out, err = run("predict", "--model", synthetic_model, "--file", path, "--format", "json")
    assert code == 3, err                          # one record is not HIV: said, not fatal
    got = {r["id"]: r for r in json.loads(out)["records"]}
    assert got["m184v_l90m"]["mutations"] == {"PR": ["PR:L90M"], "RT": ["RT:M184V"]}
    assert got["tams"]["mutations"]["RT"] == ["RT:M41L", "RT:D67N", "RT:K70R", "RT:T215Y",
                                              "RT:K219Q"]
    assert got["mixture"]["mutations"]["RT"] == ["RT:K103N", "RT:T215FY"]
    assert got["insertion"]["mutations"]["RT"] == ["RT:T69ins"]
    assert got["deletion"]["mutations"]["RT"] == ["RT:D67del"]
    assert got["reverse"]["mutations"]["RT"] == ["RT:K65R"]
    assert any("reverse complement" in w for w in got["reverse"]["warnings"])
    assert any("frameshift" in w and "120" in w for w in got["frameshift"]["warnings"])
    assert got["frameshift"]["mutations"]["RT"] == ["RT:M184V"]
    assert any("stop codon" in w for w in got["stop"]["warnings"])
    assert "does not align to HIV-1 pol" in got["not_hiv"]["error"] and not got["not_hiv"]["drugs"]
    assert got["wild_type"]["coverage"] == {"PR": {"first": 1, "last": 99},
                                            "RT": {"first": 1, "last": 560}}
    # an RT-only record: the NRTI model answers; what the input lacks is said, not guessed
    assert {d["drug"] for d in got["tams"]["drugs"] if d["call"]} == {"3TC", "AZT", "TDF"}
    for r in got.values():
        for d in r["drugs"]:
            if d["call"]:
                assert (d["p_resistant"] > 0.5) == (d["call"] in ("I", "R"))


def test_hivdb_beside_the_model(synthetic_model, tmp_path, run):
    from hivlatent import hivdb

    code, out, err = run("predict", "--model", synthetic_model, "RT:M184V", "RT:K65R PR:L90M",
                         "--format", "json")
    assert code == 0, err
    m184v, k65r = json.loads(out)["records"]
    assert m184v["hivdb_version"] == hivdb.algorithm_version() == "HIVDB 9.4"
    by_drug = {d["drug"]: d for d in m184v["drugs"]}
    assert by_drug["3TC"]["hivdb_level"] == 5 and by_drug["3TC"]["hivdb_score"] == 60
    assert by_drug["FTC"]["call"] is None and by_drug["FTC"]["hivdb_level"] == 5  # HIVdb only
    for d in m184v["drugs"]:
        if d["call"] and d["hivdb_level"]:
            assert d["agree"] == ((d["call"] != "S") == (d["hivdb_level"] >= 3))
    assert "PI: the input does not cover PR" not in k65r["not_covered"]
    code, out, _ = run("predict", "--model", synthetic_model, "M184V", "--no-hivdb", "--format", "csv")
    assert code == 0 and ",HIVDB 9.4," not in out


def test_the_report_opens_offline_in_chromium(synthetic_model, tmp_path, run):
    report = tmp_path / "report.html"
    code, _, err = run("predict", "--model", synthetic_model, "--file", fasta(tmp_path),
                       "--report", report)
    assert code == 0, err
    text = report.read_text()
    for rid in RECORDS:
        assert rid in text
    assert "Latent maps" in text and "driven by" in text.lower() and "HIVdb" in text
    attrs = body_attributes(dump_dom(report))
    assert attrs["data-images-broken"] == "0" and int(attrs["data-images-loaded"]) >= 1
    shot = screenshot(report, tmp_path / "shot.png")
    assert shot.stat().st_size > 20_000
    # a second run replaces its own report; another file is never replaced
    code, _, _ = run("predict", "--model", synthetic_model, "M184V", "--report", report)
    assert code == 0
    other = tmp_path / "notes.html"
    other.write_text("<p>mine</p>")
    code, _, err = run("predict", "--model", synthetic_model, "M184V", "--report", other)
    assert code == 2 and other.read_text() == "<p>mine</p>"


@pytest.mark.slow
def test_default_models_zero_setup_then_cached_then_rebuilt(tmp_path, run, data_dir,
                                                            monkeypatch):
    from hivlatent import ModelConfig, TrainConfig

    monkeypatch.setenv("HIVLATENT_CACHE_DIR", str(tmp_path / "cache"))
    # the first-use path with small models (the default configuration's training is the same
    # code, and the session's cache trains it once for the tests that need real answers): two
    # members, no forest blend (the blend is trained and saved by the session's small models)
    monkeypatch.setattr("hivlatent.config.class_defaults", lambda drug_class: (
        ModelConfig(latent=4, hidden=(32,), supervised=True, forest=False),
        TrainConfig(epochs=5, val_fraction=0.1)))
    monkeypatch.setattr("hivlatent.config.SEMI_MEMBERS", 2)
    path = fasta(tmp_path)
    code, out, err = run("predict", "--file", path, "--format", "json")
    assert code == 0, err
    assert "trained the default NRTI model in" in err and "trained the default PI model" in err
    first = json.loads(out)["records"]
    pr_rt = {r["id"]: r for r in first}["m184v_l90m"]
    classes = {d["class"] for d in pr_rt["drugs"] if d["call"]}
    assert classes == {"PI", "NRTI", "NNRTI"}                  # every class of PR + RT
    code, out, _ = run("models", "list")
    assert out.count("ready") == 3
    code, again, err = run("predict", "--file", path, "--format", "json")
    assert code == 0 and "trained the default" not in err                 # loaded, not trained
    assert json.loads(again)["records"] == first                          # the same answer, every time
    # a damaged cache is detected and rebuilt, never used
    from hivlatent.prediction import defaults

    folder = defaults.folder_for("NNRTI")
    (folder / "weights.safetensors").write_bytes(b"not weights")
    assert not defaults.status(["NNRTI"])[0].ready
    code, out, err = run("predict", "RT:K103N", "--format", "json")
    assert code == 0 and "trained the default NNRTI model" in err
    efv = {d["drug"]: d for d in json.loads(out)["records"][0]["drugs"]}["EFV"]
    assert efv["call"] in ("I", "R")
    code, out, _ = run("models", "remove", "--class", "PI")
    assert "removed" in out and not defaults.folder_for("PI").exists()
