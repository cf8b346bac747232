"""The run commands (study, evaluate, sweep, train, encode) under wrong paths, wrong types and
interruptions: one line, exit 2 (Ctrl-C: 130, no traceback), checked before anything is created; sweep's
storage URLs; HIVDB tables of one gene read as that gene's rows by predict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import FAST_CLI as FAST
from helpers import TINY_DRUG as DRUG
from helpers import assert_user_error, small_table, tiny_default_entry

SWEEP = ["--trials", "1", "--folds", "2", "--quiet"]


@pytest.fixture
def table(tmp_path):
    return small_table(tmp_path)


@pytest.mark.parametrize("args", [
    ("study", "--quick", "--out", "/dev/null"),
    ("evaluate", "--methods", "raw-lr", "--folds", "2", "--repeats", "1", "--out", "/dev/null"),
    ("sweep", *SWEEP, "--out", "/dev/null"),
    ("train", *FAST, "--save", "/dev/null"),
])
def test_a_device_as_output_folder_is_one_line(table, run, args):
    assert_user_error(run(*args, "--data", table), "/dev/null: is a device or special file")


def test_a_device_as_output_file_is_never_read(table, tmp_path, run):
    """/dev/zero would never end if read to see whether hivlatent wrote it."""
    model = tmp_path / "model"
    assert run("train", "--data", table, "--model", "semi", "--members", "1", *FAST, "--save",
               model)[0] == 0
    assert_user_error(run("encode", model, "--data", table, "--out", "/dev/zero"),
                      "--out /dev/zero: is a device or special file")


@pytest.mark.parametrize("methods", ["", ",", " , ,"])
def test_an_empty_method_list_is_one_line_and_creates_nothing(table, tmp_path, run, methods):
    out = tmp_path / "eval"
    assert_user_error(run("evaluate", "--data", table, "--methods", methods, "--out", out),
                      f"--methods {methods!r}: expected at least one method")
    assert not out.exists()


def test_sqlite_storage_needs_an_existing_writable_folder(table, tmp_path, run):
    out = tmp_path / "sweep"
    missing = tmp_path / "no-such-folder" / "s.db"
    assert_user_error(run("sweep", "--data", table, *SWEEP, "--storage", f"sqlite:///{missing}",
                          "--out", out), f"the folder {missing.parent} does not exist",
                      "make the folder first")
    assert_user_error(run("sweep", "--data", table, *SWEEP, "--storage",
                          f"sqlite:///{tmp_path}", "--out", out), "is a folder; expected a SQLite")
    assert_user_error(run("sweep", "--data", table, *SWEEP, "--storage",
                          "sqlite:////sys/hivlatent.db", "--out", out), "cannot write in /sys")
    assert not out.exists() and not missing.parent.exists()


def test_a_database_that_cannot_be_opened_leaves_no_run_folder(table, tmp_path, run):
    out = tmp_path / "sweep"
    assert_user_error(run("sweep", "--data", table, *SWEEP, "--storage",
                          "postgresql://nobody@127.0.0.1:1/none", "--out", out),
                      "cannot open the database")
    assert_user_error(run("sweep", "--data", table, *SWEEP, "--storage",
                          "mysql://nobody@127.0.0.1:1/none", "--out", out),
                      "install the database's driver")
    assert not out.exists()


def test_a_bare_postgresql_url_gets_the_installed_driver(monkeypatch):
    import importlib.util

    from hivlatent.errors import ConfigError
    from hivlatent.sweep.storage import engine_url

    real = importlib.util.find_spec

    def only(*names):
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: real("json") if name in names else None)

    url = "postgresql://me:secret@db.example:5432/sweeps"
    only("psycopg2")
    assert engine_url(url) == "postgresql+psycopg2://me:secret@db.example:5432/sweeps"
    only("psycopg")
    assert engine_url(url) == "postgresql+psycopg://me:secret@db.example:5432/sweeps"
    assert engine_url("postgresql+psycopg2://h/db") == "postgresql+psycopg2://h/db"
    assert engine_url("sqlite:///x.db") == "sqlite:///x.db"
    only()
    with pytest.raises(ConfigError, match=r"no PostgreSQL driver is installed; expected "
                                          r"psycopg2 or psycopg") as err:
        engine_url(url)
    assert "secret" not in str(err.value)


def test_ctrl_c_is_exit_130_without_a_traceback(table, tmp_path, run, monkeypatch):
    import hivlatent.study.run as study_run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study_run, "run_study", interrupted)
    monkeypatch.setattr("hivlatent.study.run_study", interrupted)
    code, out, err = run("study", "--data", table, "--quick", "--quiet", "--out",
                         tmp_path / "study")
    assert code == 130 and "Traceback" not in out + err, err
    assert not (tmp_path / "study").exists()


def _rows(path: Path, n: int, out: Path) -> Path:
    with path.open(encoding="utf-8-sig") as fh:
        out.write_text("".join(next(fh) for _ in range(n + 1)))
    return out


def test_rows_of_an_hivdb_table_are_answered_for_their_gene(tiny_cache, tmp_path, run, data_dir):
    """Rows of the PI table (P1-P99) are PR genotypes: the PI model answers them and no RT
    model is trained or asked; rows of the NRTI table (P1-P240) are RT's."""
    DRUG["PI"] = "NFV"
    try:
        tiny_default_entry(tmp_path, "PI")
        for c in ("NRTI", "NNRTI"):
            tiny_default_entry(tmp_path, c)
    finally:
        DRUG.pop("PI")
    pi = _rows(data_dir / "PI_DataSet.txt", 4, tmp_path / "pi_rows.txt")
    code, out, err = run("predict", "--file", pi, "--format", "json", "--quiet")
    assert code == 0, err
    records = json.loads(out)["records"]
    assert len(records) == 4 and tiny_cache.calls == []
    for r in records:
        assert {d["class"] for d in r["drugs"]} == {"PI"}        # (tiny: withheld, said)
        assert set(r["mutations"]) <= {"PR"}
    nrti = _rows(data_dir / "NRTI_DataSet.txt", 3, tmp_path / "nrti_rows.txt")
    code, out, err = run("predict", "--file", nrti, "--format", "json", "--quiet")
    assert code == 0, err
    for r in json.loads(out)["records"]:
        assert {d["class"] for d in r["drugs"]} == {"NRTI", "NNRTI"}


def test_a_device_as_input_is_refused_not_read_forever(table, tmp_path, run):
    assert_user_error(run("study", "--data", "/dev/zero", "--quick", "--out", tmp_path / "s"),
                      "/dev/zero: is a device or special file; expected a table")
    assert_user_error(run("sweep", "--data", table, *SWEEP, "--space", "/dev/zero", "--out",
                          tmp_path / "w"), "search space /dev/zero: is a folder or a device")
    assert not (tmp_path / "s").exists() and not (tmp_path / "w").exists()


@pytest.mark.slow
def test_a_resumed_study_retrains_a_damaged_model_and_refuses_a_damaged_marker(table, tmp_path,
                                                                               run):
    out = tmp_path / "study"
    args = ("study", "--data", table, "--epochs", "2", "--batch-sizes", "16",
            "--hidden-sizes", "8", "--latent-sizes", "2", "--quiet", "--workers", "1",
            "--out", out)
    assert run(*args)[0] == 0
    models = sorted((out / "models").iterdir())
    (models[0] / "config.json").write_text("[]")                 # damaged between two runs
    (models[-1] / "history.csv").write_text("")
    code, _, err = run(*args)
    assert code == 0 and "Traceback" not in err, err
    from hivlatent.model import VAEModel

    for folder in models:
        assert VAEModel.load(folder).histories                      # trained again, whole
    (out / ".hivlatent-run.json").write_text("[]")
    assert_user_error(run(*args), ".hivlatent-run.json is unreadable")


@pytest.mark.parametrize("command", [("study", "--quick"),
                                     ("evaluate", "--methods", "raw-lr", "--folds", "2",
                                      "--repeats", "1")])
def test_a_run_marker_that_is_a_folder_is_one_line(table, tmp_path, run, command):
    """A folder where the run marker belongs (made by hand or by a broken copy) was written over
    with a traceback; it is named, and the run writes nothing."""
    out = tmp_path / "run"
    (out / ".hivlatent-run.json").mkdir(parents=True)
    assert_user_error(run(*command, "--data", table, "--out", out),
                      ".hivlatent-run.json is a folder; expected the run marker file")
    assert [p.name for p in out.iterdir()] == [".hivlatent-run.json"]
