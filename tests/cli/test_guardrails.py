"""Nothing lost, nothing silently wrong: every class of bad input or bad output location ends in a
one-line error (exit code 2) naming what is wrong, with no partial output and nothing the user had
changed. Small synthetic tables keep the trainings here to a second or two."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import FAST_CLI as FAST
from helpers import assert_user_error, small_table
from hivlatent.errors import ConfigError, DataError, HivLatentError, ModelError

RT = "PISPIETVPVKLKPGMDGPKVKQWPLTEEKIKALVEICTEMEKEGKISKIGPENPYNTPV"   # RT 1-60
@pytest.fixture
def table(tmp_path):
    return small_table(tmp_path)


@pytest.fixture
def bundle(tmp_path, table, run):
    folder = tmp_path / "model"
    code, out, err = run("train", "--data", table, "--model", "semi", "--members", "2",
                         *FAST, "--save", folder)
    assert code == 0, err
    return folder


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ---------------------------------------------------------------------------- 1. data loss

def test_save_never_replaces_what_is_not_a_bundle(tmp_path, table, run):
    precious = tmp_path / "results"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    assert_user_error(run("train", "--data", table, *FAST, "--save", precious),
                      str(precious), "not an hivlatent model bundle")
    assert snapshot(precious) == {"notes.txt": b"mine"}
    a_file = tmp_path / "model.txt"
    a_file.write_text("mine")
    assert_user_error(run("train", "--data", table, *FAST, "--save", a_file), "is a file")
    assert a_file.read_text() == "mine"
    for name in (".", ".."):
        assert_user_error(run("train", "--data", table, *FAST, "--save", name), "expected a name")


def test_a_bundle_is_replaced_and_the_output_says_so(bundle, table, run):
    before = json.loads((bundle / "manifest.json").read_text())
    code, out, err = run("train", "--data", table, "--model", "semi", "--members", "2", *FAST,
                         "--seed", "3", "--save", bundle)
    assert code == 0, err
    assert f"replaced the bundle at {bundle}" in out
    assert json.loads((bundle / "manifest.json").read_text())["seeds"] != before["seeds"]


def test_output_locations_are_checked_before_any_work(tmp_path, table, run, monkeypatch):
    import hivlatent.training.engine as engine

    def no_training(*args, **kwargs):
        raise AssertionError("training started before the output location was checked")

    monkeypatch.setattr(engine, "train_group", no_training)
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    assert_user_error(run("train", "--data", table, *FAST, "--save", a_file / "model"),
                      "is a file, so nothing can be written under it")
    assert_user_error(run("train", "--data", table, *FAST, "--save", "/proc/hivlatent/model"),
                      "cannot write in /proc")
    assert_user_error(run("study", "--data", table, "--quick", "--out", a_file), "is a file")
    assert_user_error(run("evaluate", "--data", table, "--methods", "raw-lr", "--out",
                          a_file / "eval"), "is a file, so nothing can be written under it")
    assert a_file.read_text() == "x"


def test_run_folders_hold_only_their_own_runs(tmp_path, table, run):
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.csv").write_text("keep")
    assert_user_error(run("study", "--data", table, "--quick", "--out", other),
                      "holds files that are not an hivlatent study run")
    assert snapshot(other) == {"data.csv": b"keep"}
    monkeypatched_cwd = tmp_path / "cwd"
    monkeypatched_cwd.mkdir()
    (monkeypatched_cwd / "thesis.tex").write_text("keep")
    os.chdir(monkeypatched_cwd)
    try:
        assert_user_error(run("evaluate", "--data", table, "--methods", "raw-lr", "--out", "."),
                          "the current folder", "not an hivlatent evaluate run")
    finally:
        os.chdir(tmp_path)
    assert snapshot(monkeypatched_cwd) == {"thesis.tex": b"keep"}


def test_a_failed_evaluate_leaves_no_folder(tmp_path, table, run):
    out = tmp_path / "eval"
    assert_user_error(run("evaluate", "--data", table, "--methods", "raw-lr,nonsense", "--out",
                          out), "unknown method 'nonsense'")
    assert not out.exists()


# ---------------------------------------------------------------------------- 2. silently wrong

@pytest.mark.parametrize("lr", ["1e9", "nan", "inf", "0", "-1"])
def test_absurd_learning_rates_are_refused(tmp_path, table, run, lr):
    assert_user_error(run("train", "--data", table, *FAST, "--lr", lr, "--save",
                          tmp_path / "m"), "learning rate")
    assert not (tmp_path / "m").exists()


def test_a_model_whose_members_all_failed_is_not_saved_and_never_answers(tmp_path, table,
                                                                        monkeypatch):
    import hivlatent.config
    from hivlatent import ModelConfig, TrainConfig, VAEModel
    from hivlatent.data import load_dataset

    ds = load_dataset(table)
    monkeypatch.setattr(hivlatent.config, "MAX_LR", 1e9)   # past the config's own check
    train = TrainConfig(epochs=3, batch_size=8, lr=1e8)     # explodes at the first epoch
    model = VAEModel(ModelConfig(latent=2, hidden=(8,), supervised=True), train, n_members=2)
    model.fit(ds)
    assert all("untrained" in s for s in model.statuses), model.statuses
    with pytest.raises(ModelError, match="every member of this model failed"):
        model.save(tmp_path / "m")
    with pytest.raises(ModelError, match="every member of this model failed"):
        model.predict_proba(ds)
    assert not (tmp_path / "m").exists()


def test_failed_members_are_left_out_and_said(bundle, table):
    from hivlatent import VAEModel
    from hivlatent.data import load_dataset
    from hivlatent.prediction import predict

    model = VAEModel.load(bundle)
    model.statuses = ["failed: loss became NaN at epoch 2; kept the weights of the last good "
                      "epoch", "ok"]
    assert model.working_members == [1]
    (p,) = predict(model, ["M184V"])
    assert any("1 of 2 ensemble members failed" in n for n in p.notes), p.notes
    with pytest.raises(ModelError, match="member 0 failed in training"):
        model.get_latent_representation(load_dataset(table), member=0)


def _edit_json(path: Path, change) -> None:
    cfg = json.loads(path.read_text())
    change(cfg)
    path.write_text(json.dumps(cfg))


@pytest.mark.parametrize("edit, fragment", [
    (lambda c: c["model"].update(latent=3), "tensor 'enc_out.weight' has shape"),
    (lambda c: c.update(drugs=["3TC", "AZT"]), "tensor 'head_fold.weight' has shape"),
    (lambda c: c.update(n_members=1), "has shape"),
    (lambda c: c.update(feature_names=c["feature_names"] + ["K65R"]), "has shape"),
])
def test_bundles_are_checked_tensor_by_tensor(bundle, run, edit, fragment):
    _edit_json(bundle / "config.json", edit)
    assert_user_error(run("predict", bundle, "M184V"), str(bundle), fragment)


def test_another_models_weights_file_is_refused(tmp_path, table, bundle, run):
    other = tmp_path / "other"
    code, _, err = run("train", "--data", table, "--model", "semi", "--members", "2",
                       "--latent", "3", "--hidden", "8", "--epochs", "2", "--quiet", "--save", other)
    assert code == 0, err
    (bundle / "weights.safetensors").write_bytes((other / "weights.safetensors").read_bytes())
    assert_user_error(run("predict", bundle, "M184V"), "weights.safetensors",
                      "belong to another model")


def test_the_same_genotype_gets_the_same_answer_in_any_batch(bundle):
    from hivlatent import VAEModel
    from hivlatent.prediction import predict, to_json

    model = VAEModel.load(bundle)
    alone = json.loads(to_json(predict(model, ["P4T"])))["records"][0]["drugs"]
    many = json.loads(to_json(predict(model, ["P4T I5K"] * 5 + ["P4T"] * 300 + ["P4T P4T"])))["records"]
    for v in many[5:]:
        assert v["drugs"] == alone
    assert len({json.dumps(v["drugs"]) for v in many[:5]}) == 1


def test_phenotype_scale_mistakes_are_caught(tmp_path, run):
    x = tmp_path / "X.csv"
    x.write_text("row,X.184V\n" + "".join(f"{i},{i % 2}\n" for i in range(1, 21)))
    folds = tmp_path / "Y.csv"
    folds.write_text("row,3TC\n" + "".join(f"{i},{50 if i % 2 else 1.5}\n" for i in range(1, 21)))
    assert_user_error(run("data", "describe", "--x", x, "--y", folds), "Y.csv",
                      "--y-scale fold")
    labels = tmp_path / "labels.csv"
    labels.write_text("row,3TC\n" + "".join(f"{i},{i % 2}\n" for i in range(1, 21)))
    for scale in ("fold", "log10"):
        assert_user_error(run("data", "describe", "--x", x, "--y", labels, "--y-scale", scale),
                          "only 0 and 1", "not resistance labels")
    huge = small_table(tmp_path, fold=lambda i: "1e300" if i == 7 else 2.0, name="huge.txt")
    assert_user_error(run("data", "describe", huge), "line 9", "'1e300' cannot be right")


def test_columns_never_vanish(tmp_path, run):
    lam = tmp_path / "lam.txt"
    lam.write_text("SeqID\tLAM\tAZT\tP1\tP2\n1\t30\t1.0\t-\t-\n2\t1.5\t2.0\t-\tV\n")
    assert_user_error(run("data", "describe", lam), "column 'LAM'", "LAM is 3TC")
    gap = small_table(tmp_path, name="gap.txt")
    lines = [line.split("\t") for line in gap.read_text().splitlines()]
    gap.write_text("\n".join("\t".join(c[:5] + c[6:]) for c in lines) + "\n")   # no P4
    assert_user_error(run("data", "describe", gap), "column P4 is missing")


def test_empty_genotypes_are_not_wild_type(bundle, tmp_path, run):
    assert_user_error(run("predict", bundle, ""), "argument 1", "no mutations", "WT")
    f = tmp_path / "g.txt"
    f.write_text("v1\tM184V\nv2\t\n")
    code, out, err = run("predict", bundle, "--file", f, "--format", "json")
    assert code == 3                         # one record could not be read; the other answered
    v1, v2 = json.loads(out)["records"]
    assert v1["error"] is None and v1["drugs"]
    assert "line 2" in v2["error"] and "no mutations" in v2["error"] and not v2["drugs"]
    assert "1 of 2 record(s) could not be answered" in err
    code, out, err = run("predict", bundle, "WT", "--format", "json")
    assert code == 0 and json.loads(out)["records"][0]["mutations"] == {}


@pytest.mark.slow
def test_a_run_folder_is_locked_and_resumed_only_with_the_same_settings(tmp_path, table, run):
    from hivlatent.files import RunFolder

    out = tmp_path / "study"
    code, _, err = run("study", "--data", table, "--quick", "--seed", "1", "--out", out)
    assert code == 0, err
    before = snapshot(out)
    assert_user_error(run("study", "--data", table, "--quick", "--seed", "2", "--out", out),
                      "other settings", "seed")
    with RunFolder(out, "study", json.loads((out / ".hivlatent-run.json").read_text())["settings"]):
        assert_user_error(run("study", "--data", table, "--quick", "--seed", "1", "--out", out),
                          "another hivlatent run is writing")
    assert snapshot(out) == before


def test_options_that_cannot_take_effect_are_refused(tmp_path, table, run):
    assert_user_error(run("study", "--data", table, "--quick", "--epochs", "5", "--out",
                          tmp_path / "s"), "--quick", "--epochs")
    assert_user_error(run("train", "--data", table, *FAST, "--val-fraction", "0", "--patience",
                          "5", "--save", tmp_path / "m"), "validation fraction > 0")
    assert not (tmp_path / "s").exists() and not (tmp_path / "m").exists()


@pytest.mark.parametrize("rows, fragment", [
    ("drug,lower\n3TC,3\n3TC,4\n", "line 3: drug 3TC again (first on line 2)"),
    ("drug,lower,upper\n3TC,3\n", "line 2: 2 field(s); expected 3"),
    ("drug,lower\n3TC,3,9\n", "line 2: 3 field(s); expected 2"),
    ("drug,lower\n3TC,inf\n", "line 2, column 'lower': expected a fold change > 0, got 'inf'"),
    ("drug,lower,upper\n3TC,3,2\n", "line 2: upper cutoff 2 is below the lower one 3"),
    ("drug;lower\n3TC;3\n", "line 1: expected the header"),
])
def test_cutoff_files_are_checked_line_by_line(tmp_path, table, run, rows, fragment):
    cut = tmp_path / "cut.csv"
    cut.write_text(rows)
    assert_user_error(run("data", "describe", table, "--cutoffs", cut), str(cut), fragment)


# ---------------------------------------------------------------------------- 3. no tracebacks

@pytest.mark.parametrize("device, fragment", [("cuda", "no CUDA GPU"), ("gpu", "not a device"),
                                              ("mps", "cpu or cuda")])
def test_devices_the_machine_lacks(tmp_path, table, run, device, fragment):
    assert_user_error(run("train", "--data", table, *FAST, "--device", device, "--save",
                          tmp_path / "m"), fragment)


@pytest.mark.parametrize("fraction", ["0.99", "1", "-0.1", "nan"])
def test_extreme_validation_fractions(tmp_path, table, run, fraction):
    assert_user_error(run("train", "--data", table, *FAST, "--val-fraction", fraction, "--save",
                          tmp_path / "m"), "validation fraction")


def test_encode_member_and_output(bundle, table, tmp_path, run):
    assert_user_error(run("encode", bundle, "--data", table, "--member", "7", "--out",
                          tmp_path / "z.csv"), "member 7", "2 member(s)")
    mine = tmp_path / "mine.csv"
    mine.write_text("precious\n")
    assert_user_error(run("encode", bundle, "--data", table, "--out", mine),
                      "not written by this hivlatent command")
    assert mine.read_text() == "precious\n"
    assert_user_error(run("encode", bundle, "--data", table, "--out", tmp_path),
                      "is a folder; expected a file name")


def test_a_sweep_of_zero_trials(tmp_path, table, run):
    code, _, err = run("sweep", "--data", table, "--trials", "0", "--out", tmp_path / "s")
    assert code == 2 and "Traceback" not in err and "--trials" in err


# ---------------------------------------------------------------------------- 4. clear messages

def test_files_and_folders_are_told_apart(bundle, tmp_path, table, run):
    assert_user_error(run("predict", table, "M184V"), "is a file; expected a model folder")
    assert_user_error(run("predict", bundle, "--file", tmp_path), "is a folder; expected a "
                                                                  "genotype file")
    assert_user_error(run("data", "describe", "nrti", "--data-dir", tmp_path / "none"),
                      "no such file or folder")


def test_semicolon_separated_files_are_named(tmp_path, run):
    f = tmp_path / "t.csv"
    f.write_text("SeqID;3TC;P1\n1;2;-\n")
    assert_user_error(run("data", "describe", f), "separated by semicolons")


def test_bundles_get_the_modes_the_umask_gives(bundle):
    mode = stat.S_IMODE(bundle.stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    assert mode == 0o777 & ~mask
    for f in bundle.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask, f


# ---------------------------------------------------------------------------- properties

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_genotype_text_parses_or_fails_in_one_line(text):
    from hivlatent.data.mutations import parse_genotype

    try:
        g = parse_genotype(text, "RT", where="argument 1")
    except DataError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("argument 1")
        return
    assert g.mutations or text.strip().upper() in ("WT", "-") or set(text.split()) <= {"-", "WT", "wt"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["3TC", "AZT", "XYZ", "", "abc"]),
                          st.sampled_from(["3", "0", "-1", "inf", "nan", "x", "", "1e300", "25"]),
                          st.sampled_from(["", "25", "2", "inf"])), max_size=4))
def test_any_cutoff_file_is_read_or_refused_with_its_line(tmp_path_factory, rows):
    from hivlatent.data.cutoffs import Cutoffs

    path = tmp_path_factory.mktemp("c") / "cut.csv"
    path.write_text("drug,lower,upper\n" + "".join(f"{d},{lo},{hi}\n" for d, lo, hi in rows))
    try:
        cut = Cutoffs.from_csv(path)
    except DataError as exc:
        assert str(path) in str(exc) and "line" in str(exc) and "\n" not in str(exc)
        return
    for d, lo, hi in rows:
        if not (d or lo or hi):
            continue                              # a blank row is skipped, like a blank line
        lower, upper = cut.for_drug(d.upper())
        assert np.isfinite(lower) and 0 < lower <= upper


def test_every_user_error_is_a_hivlatent_error():
    for cls in (ConfigError, DataError, ModelError):
        assert issubclass(cls, HivLatentError)
