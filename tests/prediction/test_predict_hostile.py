"""predict under bad and hostile input (issue 31): outputs that never overwrite an input or a
file hivlatent did not write, user text escaped for every output format, inputs read whatever
their encoding, line endings or compression, records with nothing answered said so, answers that
do not depend on the batch, and bounded work per record."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import re

import numpy as np
import pytest

from helpers import StubModel, assert_user_error
from hivlatent.data.mutations import parse_genotype
from hivlatent.errors import DataError
from hivlatent.prediction import predict_records, to_csv, to_json, to_table
from hivlatent.prediction.escaping import (
    FORMULA_STARTS,
    csv_cell,
    csv_unescape,
    figure_text,
    visible,
)
from hivlatent.prediction.inputs import from_arguments, from_file, from_genotype, from_text
from hivlatent.prediction.formats import NUMERIC_COLUMNS
from hivlatent.prediction.prediction_report import is_prediction_report, write_prediction_report
from hivlatent.sequences import make_sequence, write_fasta

HOSTILE_IDS = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "'quoted",
               "[click](https://evil.example)", "<script>alert(1)</script>",
               "\x1b]0;title\x07osc", "\x1b[2Jclear", "$\\frac{1}{0}$", "a\u202eb"]


def stub_answers(ids, genotype="M184V"):
    records = [from_genotype(parse_genotype(genotype, "RT", id=i), f"record {k}", "RT")
               for k, i in enumerate(ids)]
    return predict_records(records, {"NRTI": (StubModel(), None)}, hivdb=False)


def write_ids(path, ids, genotype="M184V"):
    path.write_text("".join(f"{i}\t{genotype}\n" for i in ids), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- data loss

def test_the_report_is_never_an_input_nor_a_file_not_proven_ours(synthetic_model, tmp_path, run):
    inp = write_ids(tmp_path / "in.txt", ["a"])
    before = inp.read_bytes()
    assert_user_error(run("predict", "-m", synthetic_model, "-f", inp, "--report", inp),
                      "is the input", "never overwritten")
    link = tmp_path / "link.txt"
    link.symlink_to(inp)
    assert_user_error(run("predict", "-m", synthetic_model, "-f", inp, "--report", link),
                      "is the input")
    assert_user_error(run("predict", "-m", synthetic_model, "-f", inp,
                          "--report", synthetic_model / "r.html"), "inside it")
    assert inp.read_bytes() == before
    notes = tmp_path / "notes.html"      # mentions the old marker and even copies the meta tag
    notes.write_text('my notes on the hivlatent prediction report\n<meta name="hivlatent-report"'
                     ' content="prediction">\n</html>\n')
    assert_user_error(run("predict", "-m", synthetic_model, "-f", inp, "--report", notes),
                      "not written by this hivlatent command")
    assert "my notes" in notes.read_text()
    out = tmp_path / "r.html"
    assert run("predict", "-m", synthetic_model, "-f", inp, "--report", out, "--no-hivdb")[0] == 0
    assert is_prediction_report(out)
    assert run("predict", "-m", synthetic_model, "-f", inp, "--report", out, "--no-hivdb")[0] == 0
    out.write_text(out.read_text()[:2000])                   # a truncated page is not ours
    assert not is_prediction_report(out)


def test_the_overview_holds_every_record_and_says_what_is_detailed(tmp_path):
    answers = stub_answers([f"v{i}" for i in range(230)])
    path = write_prediction_report(answers, {"NRTI": (StubModel(), None)}, tmp_path / "r.html")
    page = path.read_text()
    overview = page.split('id="latent-maps"')[0]
    assert all(f"<td>v{i}</td>" in overview for i in range(230))
    assert "Every record, one row each (230 rows); the first 100 are shown one by one" in page
    assert "Records 1-100 of 230" in page
    assert len(re.findall(r"<h3 id=", page)) == 100


# ----------------------------------------------------------------------------- hostile text

def test_csv_cells_cannot_start_a_formula_and_ids_round_trip():
    assert [csv_cell(x) for x in ("=1", "+1", "-1", "@a", "\tx", "\rx", "'a", "a=1", "")] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "''a", "a=1", ""]
    answers = stub_answers(HOSTILE_IDS)
    rows = list(csv.DictReader(io.StringIO(to_csv(answers))))
    for row in rows:
        for col, cell in row.items():
            assert col in NUMERIC_COLUMNS or not cell.startswith(FORMULA_STARTS), (col, cell)
    assert list(dict.fromkeys(csv_unescape(r["id"]) for r in rows)) == HOSTILE_IDS
    assert [r["id"] for r in json.loads(to_json(answers))["records"]] == HOSTILE_IDS


def test_the_table_shows_control_characters_and_never_sends_them():
    text = to_table(stub_answers(HOSTILE_IDS))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b]0;title\\x07osc" in text and "\\x1b[2Jclear" in text and "a\\u202eb" in text
    assert "[click](https://evil.example)" in text
    assert visible("ok") == "ok" and figure_text("$x$") == r"\$x\$"


def test_the_report_makes_no_link_tag_or_mathtext_of_user_text(synthetic_model, tmp_path, run):
    inp = write_ids(tmp_path / "in.txt", HOSTILE_IDS[6:] + ["bad"], genotype="M184V")
    inp.write_text(inp.read_text().replace("bad\tM184V", "bad\tM184V [x](https://evil.example)"))
    out = tmp_path / "r.html"
    code, _, err = run("predict", "-m", synthetic_model, "-f", inp, "--report", out, "--no-hivdb")
    assert code == 3 and "Traceback" not in err, err        # ids with $...$ label the map
    page = out.read_text()
    assert "https://evil.example" in page and 'href="https://evil' not in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# ----------------------------------------------------------------------------- inputs

def test_bom_cr_crlf_comments_and_gzip_are_read(tmp_path):
    seq = make_sequence(["RT:M184V"], genes=("RT",))
    fasta = f">a\n{seq}\n>b\n{seq}\n"
    for name, data in [("bom.fa", b"\xef\xbb\xbf" + fasta.encode()),
                       ("cr.fa", fasta.replace("\n", "\r").encode()),
                       ("crlf.fa", fasta.replace("\n", "\r\n").encode()),
                       ("comment.fa", b"; from the lab\n" + fasta.encode()),
                       ("gz.fa.gz", gzip.compress(fasta.encode()))]:
        (tmp_path / name).write_bytes(data)
        got = from_file(tmp_path / name)
        assert [(r.id, r.ok, [m.name for m in r.mutations_of("RT")]) for r in got] == [
            ("a", True, ["M184V"]), ("b", True, ["M184V"])], name
    muts = "x1\tM184V\nx2\tK65R\nx3\tL74V\n"
    for name, data in [("cr.txt", muts.replace("\n", "\r").encode()),
                       ("bom.txt", b"\xef\xbb\xbf" + muts.encode()),
                       ("gz.txt.gz", gzip.compress(muts.encode()))]:
        (tmp_path / name).write_bytes(data)
        got = from_file(tmp_path / name)
        assert [r.id for r in got if r.ok] == ["x1", "x2", "x3"], name
    (tmp_path / "b.bz2").write_bytes(bz2.compress(muts.encode()))
    with pytest.raises(DataError, match="a bzip2-compressed file; expected plain text or gzip"):
        from_file(tmp_path / "b.bz2")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(muts.encode())[:20])
    with pytest.raises(DataError, match="a damaged gzip file"):
        from_file(tmp_path / "bad.gz")


def test_empty_inputs_are_errors(synthetic_model, tmp_path, run):
    for text in ("", "\n\n", "# only a comment\n", "\ufeff"):
        (tmp_path / "e.txt").write_text(text)
        assert_user_error(run("predict", "-m", synthetic_model, "-f", tmp_path / "e.txt"),
                          "no records (empty, or only blank and comment lines)")


def test_headers_sharing_a_first_word_are_named_with_both_headers(tmp_path):
    seq = make_sequence([], genes=("RT",))
    got = from_text(f">Sample 1\n{seq}\n>Sample 2\n{seq}\n", "s.fa")
    assert got[0].ok and got[1].error == (
        "s.fa, line 3, record 'Sample': duplicate id (first seen at line 1): the id is a "
        "header's first word, so 'Sample 1' and 'Sample 2' share it; expected unique ids (e.g. "
        "Sample_1, not Sample 1)")


@pytest.mark.parametrize("text,fragment", [
    ("WT M184V", "WT (or -) names a virus without mutations but stands with 'M184V'"),
    ("- K65R", "stands with 'K65R'"),
    ("M184ACDEFGHIKLMNPQRSTVWY", "a mixture of 20 residues at RT 184; expected at most 4"),
    ("T69ins T69del", "an insertion and a deletion at RT 69 ('T69ins', 'T69del')"),
    ("RT:69ins/del", "an insertion and a deletion at RT 69"),
])
def test_contradictory_genotypes_name_their_record(text, fragment):
    bad, good = from_arguments([text, "M184V"])
    assert fragment in bad.error and bad.error.startswith("argument 1: ") and good.ok
    assert parse_genotype("M184VIL", "RT").mutations[0].name == "M184ILV"   # 4 is allowed


def test_a_record_with_no_drug_answered_is_not_answered(synthetic_model, tmp_path, run):
    write_fasta({"late_rt": make_sequence(["RT:K103N"], genes=("RT",), start="RT:241"),
                 "whole": make_sequence(["RT:M184V"], genes=("RT",))}, tmp_path / "f.fa")
    code, out, err = run("predict", "-m", synthetic_model, "-f", tmp_path / "f.fa", "--format",
                         "json", "--no-hivdb")
    assert code == 3, err
    got = {r["id"]: r for r in json.loads(out)["records"]}
    assert got["late_rt"]["error"].endswith(
        "no drug answered: NRTI: the input covers RT 241-560, none of the positions the NRTI "
        "model reads (RT 20-219)")   # the synthetic table's first and last mutated position and not got["late_rt"]["drugs"]
    assert got["whole"]["error"] is None
    assert_user_error(run("predict", "-m", synthetic_model, "PR:L90M", "--no-hivdb"),
                      "no drug answered: NRTI: the input does not cover RT")


def test_not_covered_does_not_depend_on_the_batch():
    classes = ("NRTI", "NNRTI", "PI", "INSTI")
    models = {"NRTI": (StubModel(), None)}
    alone = predict_records(from_arguments(["M184V"]), models, hivdb=False, classes=classes)
    mixed = predict_records(from_arguments(["PR:L90M", "M184V", "IN:N155H"]), models,
                            hivdb=False, classes=classes)
    assert alone[0].not_covered == mixed[1].not_covered == [
        "PI: the input does not cover PR", "INSTI: the input does not cover IN"]
    why = {"PI": "no PI model: its table is not on this machine"}   # asked for by PR records
    assert predict_records(from_arguments(["PR:L90M", "M184V"]), models, hivdb=False,
                           unavailable=why, classes=classes)[1].not_covered == \
        alone[0].not_covered


def test_the_same_genotype_gets_the_same_bits_in_any_batch(synthetic_model):
    from hivlatent.model import VAEModel
    from hivlatent.bundle import load_reference

    models = {"NRTI": (VAEModel.load(synthetic_model), load_reference(synthetic_model))}
    rng = np.random.default_rng(1)
    pool = ["M41L", "D67N", "K70R", "L74V", "K103N", "Y181C", "M184V", "T215Y", "K219Q", "K65R"]
    others = [" ".join(rng.choice(pool, size=rng.integers(1, 5), replace=False))
              for _ in range(150)]
    batch = others[:70] + ["M184V K65R"] * 200 + others[70:]
    answers = predict_records(from_arguments(batch), models, hivdb=False)
    alone = predict_records(from_arguments(["M184V K65R"]), models, hivdb=False)[0]

    def facts(v):
        return [(d.drug, d.fold_change, d.fold_change_low, d.p_resistant, d.drivers,
                 d.neighbours, d.applicability) for d in v.drugs]

    assert all(facts(a) == facts(alone) for a in answers[70:270])


def test_a_very_long_record_is_refused_before_alignment(tmp_path, synthetic_model, run):
    seq = make_sequence(["RT:M184V"], genes=("RT",))
    long = (seq * (1_000_000 // len(seq) + 1))[:1_000_000]
    write_fasta({"huge": long, "fine": seq}, tmp_path / "f.fa")
    code, out, err = run("predict", "-m", synthetic_model, "-f", tmp_path / "f.fa", "--format",
                         "json", "--no-hivdb")
    assert code == 3, err
    got = {r["id"]: r for r in json.loads(out)["records"]}
    assert "record 'huge': 1000000 letters; expected at most 20000" in got["huge"]["error"]
    assert got["fine"]["error"] is None
