"""Property-based: arbitrary text and bytes through predict's readers (FASTA, mutation lists,
CSV, HIVDB tables, plain or gzip) and every output format (table, CSV, JSON, HTML). Either an
answer, or a one-line error (exit 2, or 3 when some records are answered); never a traceback;
ids round-trip (JSON exactly, CSV once the formula escape is removed). A stub predictor keeps it
fast."""

from __future__ import annotations

import csv
import gzip
import io
import json
import unicodedata
from itertools import groupby

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import StubModel
from hivlatent.errors import HivLatentError
from hivlatent.prediction import predict_records, to_csv, to_json, to_table
from hivlatent.prediction.escaping import HIDDEN_CATEGORIES, csv_unescape
from hivlatent.prediction.inputs import decode_input, from_text
from hivlatent.prediction.prediction_report import write_prediction_report
from hivlatent.sequences import make_sequence

SEQ = make_sequence(["RT:M184V"], genes=("RT",))
#: pieces that make inputs look like the formats, so the examples reach past the first check
PIECES = ["\n", "\r", "\r\n", "\t", ",", ";", "#", ">", ">a b", "\ufeff", " ", "WT", "-",
          "M184V", "RT:", "PR:L90M", "T69ins", "67del", "215FY", "K65R/N", "=1+2", "@x",
          "\x1b]0;t\x07", "\x1b[31m", "$x$", "[a](https://e.x)", "<b>", "\u202e", "id",
          "mutations", "SeqID", "P1", "0", "999", "ACGT", SEQ[:60], "X"]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=30).map(
    "".join)
SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def answers_of(text: str):
    """The answers, or None after checking that the error is one line."""
    models = {"NRTI": (StubModel(), None)}
    try:
        records = from_text(text, "fuzz.txt")
    except HivLatentError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)
        return None
    answers = predict_records(records, models, hivdb=False)
    for a in answers:
        assert a.error is None or "\n" not in a.error, a.error
    return answers


def check_outputs(answers, folder) -> None:
    ids = [a.id for a in answers]
    assert [r["id"] for r in json.loads(to_json(answers))["records"]] == ids
    rows = csv.DictReader(io.StringIO(to_csv(answers)))
    assert [k for k, _ in groupby(csv_unescape(r["id"]) for r in rows)] == \
        [k for k, _ in groupby(ids)]
    table = to_table(answers)
    assert not any(unicodedata.category(c) in HIDDEN_CATEGORIES for c in table.replace("\n", "")
                   ), repr(table)
    page = write_prediction_report(answers, {"NRTI": (StubModel(), None)},
                                   folder / "r.html").read_text()
    assert page.count("<script") == 1 and 'href="http' not in page     # the page's own script


@SETTINGS
@given(texts)
def test_any_text_gives_answers_or_one_line(tmp_path_factory, text):
    answers = answers_of(text)
    if answers:
        check_outputs(answers, tmp_path_factory.mktemp("r"))


@SETTINGS
@given(st.binary(max_size=200), st.booleans())
def test_any_bytes_give_answers_or_one_line(data, compressed):
    data = gzip.compress(data) if compressed else data
    try:
        text = decode_input(data, "fuzz.bin")
    except HivLatentError as exc:
        assert "\n" not in str(exc)
        return
    answers_of(text)


@pytest.fixture(scope="module")
def cli_model(synthetic_model):
    return synthetic_model


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts, st.sampled_from(["table", "csv", "json"]))
def test_the_command_exits_0_2_or_3_without_a_traceback(cli_model, run, tmp_path, text, fmt):
    path = tmp_path / "in.txt"
    path.write_bytes(text.encode())
    code, out, err = run("predict", "-m", cli_model, "-f", path, "--format", fmt, "--no-hivdb")
    assert "Traceback" not in out + err
    assert code in (0, 2, 3), (code, err)
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, err
    if code == 3:
        assert "record(s) could not be answered" in err
    assert code != 0 or out
