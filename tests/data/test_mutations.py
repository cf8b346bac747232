"""Mutation notation, genotype files and feature encoding."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hivlatent.data.consensus import RT
from hivlatent.data.genotype_files import read_genotypes
from hivlatent.data.mutations import (
    Mutation,
    encode,
    feature_index,
    parse_arguments,
    parse_feature,
    parse_genotype,
    parse_mutation,
    resolve_gene,
)
from hivlatent.errors import DataError, HivLatentError

FEATURES = ["M184V", "M184I", "K65R", "T215F", "T215Y", "T69ins", "D67del", "D67N", "K70R",
            "L210W", "Y181*"]


@pytest.mark.parametrize("token, residues", [
    ("M184V", {"V"}), ("RT:M184V", {"V"}), ("rt:M184V", {"V"}), ("Rt:m184v", {"V"}),
    ("184V", {"V"}), ("m184v", {"V"}),
    ("T215FY", {"F", "Y"}), ("T215Y/F", {"F", "Y"}), ("215F/Y", {"F", "Y"}),
    ("T69ins", {"#"}), ("69#", {"#"}), ("T69#", {"#"}), ("T69insSS", {"#"}), ("69ins", {"#"}),
    ("T69INS", {"#"}), ("T69_SS", {"#"}), ("T69S_SS", {"S", "#"}), ("T69S/ins", {"S", "#"}),
    ("67del", {"~"}), ("67~", {"~"}), ("D67del", {"~"}), ("D67DEL", {"~"}),
    ("Y181*", {"*"}), ("Y181Y*", {"Y", "*"}),
])
def test_tokens(token, residues):
    m = parse_mutation(token, "RT")
    assert m.gene == "RT"
    assert m.position == int(re.search(r"\d+", token).group())
    assert m.residues == frozenset(residues)
    assert m.token == token


def test_mutation_fields():
    m = parse_mutation("RT:M184V", "PR")
    assert m == Mutation("RT", 184, frozenset("V"), "M", "RT:M184V")
    assert parse_mutation("184V", "RT").reference is None
    assert parse_mutation("pr:L90M", "RT").gene == "PR"
    assert parse_mutation("L90M", "protease").gene == "PR"
    assert resolve_gene("NNRTI") == "RT" and resolve_gene("PI") == "PR"
    assert resolve_gene("integrase") == "IN"
    with pytest.raises(DataError, match="unknown gene"):
        resolve_gene("ENV")


@pytest.mark.parametrize("token, name", [
    ("184V", "M184V"), ("T215Y/F", "T215FY"), ("F77VI", "F77IV"), ("77IF", "F77FI"),
    ("69#", "T69ins"), ("T69insSS", "T69ins"), ("67~", "D67del"), ("T69S_SS", "T69S/ins"),
    ("Y181*", "Y181*"), ("Y181*Y", "Y181Y*"), ("M184M", "M184M"), ("69~/#", "T69ins/del"),
    ("T69del/S/K/#", "T69KS/ins/del"),
])
def test_canonical_names_round_trip(token, name):
    m = parse_mutation(token, "RT")
    assert m.name == name == str(m)
    assert parse_mutation(m.name, "RT").key == m.key


def test_genotype_separators_and_notes():
    for text in ["M184V K65R T215FY", "M184V,K65R,T215FY", "M184V; K65R; T215Y/F",
                 "M184V+K65R+T215FY", " M184V ,\tK65R;;T215FY  ", "RT:M184V RT:K65R 215FY",
                 "RT: M184V K65R T215FY"]:
        g = parse_genotype(text, "RT")
        assert [m.name for m in g.mutations] == ["M184V", "K65R", "T215FY"], text
        assert g.notes == ()
    for empty in ("", " ", ",;"):
        with pytest.raises(DataError, match="no mutations"):
            parse_genotype(empty, "RT")
    assert parse_genotype("WT", "RT").mutations == ()
    assert parse_genotype("-", "RT").mutations == ()


def test_wrong_consensus_letter_is_a_note_not_an_error():
    g = parse_genotype("K184V", "RT")
    assert [m.name for m in g.mutations] == ["M184V"]
    assert len(g.notes) == 1 and "K184V" in g.notes[0] and "M" in g.notes[0]


def test_duplicate_is_a_note():
    g = parse_genotype("M184V 184V", "RT")
    assert len(g.mutations) == 1 and "twice" in g.notes[0]


def test_standalone_gene_prefix_applies_until_the_next():
    g = parse_genotype("PR: L90M I84V RT: M184V", "RT")
    assert [(m.gene, m.name) for m in g.mutations] == [("PR", "L90M"), ("PR", "I84V"),
                                                      ("RT", "M184V")]


@pytest.mark.parametrize("token, fragment", [
    ("M184", "no residue"), ("M184X", "'X' is not a residue"), ("Z184V", "'Z'"),
    ("184V)", "')'"), ("M561V", "outside RT 1-560"), ("M0V", "outside RT"),
    ("XY:M184V", "unknown gene prefix"), ("V", "cannot parse"), ("M/184V", "cannot parse"),
    ("T215Y/", "empty residue"), ("184", "no residue"),
])
def test_bad_tokens(token, fragment):
    with pytest.raises(DataError, match="cannot|not|outside|unknown|empty|no residue") as info:
        parse_genotype(f"K65R {token}", "RT", where="f.txt: line 7")
    msg = str(info.value)
    assert isinstance(info.value, HivLatentError)
    assert msg.startswith("f.txt: line 7: ") and token in msg and fragment in msg
    assert "\n" not in msg


def test_protease_range():
    assert parse_mutation("L99F", "PR").position == 99
    with pytest.raises(DataError, match="outside PR 1-99"):
        parse_mutation("L100F", "PR")


def test_arguments():
    gs = parse_arguments(["M184V K65R", "WT"], "RT")
    assert [g.id for g in gs] == ["arg1", "arg2"]
    with pytest.raises(DataError, match="^argument 2: .*'M18X'"):
        parse_arguments(["M184V", "M18X"], "RT")


# --- features and encoding ----------------------------------------------------------------


def test_feature_names_parse_like_mutations():
    assert parse_feature("T69ins", "RT").residues == {"#"}
    assert parse_feature("D67del", "RT").residues == {"~"}
    assert parse_feature("X.184V", "RT").key == ("RT", 184, frozenset("V"))
    assert feature_index(["X.41L", "M41L"], "RT")[(41, "L")] == [0, 1]
    with pytest.raises(DataError, match="feature name 'foo'"):
        feature_index(["foo"], "RT")


ALL_NOTATIONS = [
    "M184V T215FY T69ins D67del",
    "RT:M184V, T215Y/F, 69#, 67~",
    "184V;215F/Y;T69insSS;67del",
    "rt:m184v + t215yf + T69_SS + D67del",
    "RT: 184V 215YF 69ins 67~",
]


def test_every_notation_encodes_to_the_same_features():
    X, rec, unrec = encode([parse_genotype(t, "RT") for t in ALL_NOTATIONS], FEATURES, "RT")
    assert X.dtype == np.float32 and X.shape == (len(ALL_NOTATIONS), len(FEATURES))
    expected = np.zeros(len(FEATURES), np.float32)
    for f in ["M184V", "T215F", "T215Y", "T69ins", "D67del"]:
        expected[FEATURES.index(f)] = 1
    assert (X == expected).all()
    assert all(r == ["M184V", "T215FY", "T69ins", "D67del"] for r in rec)
    assert all(u == [] for u in unrec)


def test_typed_prefix_letter_is_read_by_position_but_feature_names_must_match_consensus():
    X, rec, _ = encode(["K184V"], ["M184V", "184I"], "RT")
    assert X.tolist() == [[1.0, 0.0]] and rec == [["M184V"]]
    with pytest.raises(DataError, match="consensus B has M at RT 184, not Q"):
        encode(["M184V"], ["Q184V"], "RT")


def test_unrecognized_are_reported_never_dropped():
    X, rec, unrec = encode(["M184V L74V T215FS 69#", "PR:L90M M41L"], FEATURES, "RT")
    assert rec[0] == ["M184V", "T215FS", "T69ins"]
    assert unrec[0] == ["L74V", "T215S"]
    assert X[0, FEATURES.index("T215F")] == 1
    assert rec[1] == [] and unrec[1] == ["PR:L90M", "M41L"]
    assert X[1].sum() == 0


def test_explicit_wild_type_is_consensus():
    X, rec, unrec = encode(["M184M", "M184MV", "184M"], FEATURES, "RT")
    assert unrec == [[], [], []]
    assert X[0].sum() == 0 and X[1, FEATURES.index("M184V")] == 1
    assert rec == [[], ["M184MV"], []]
    # a column for a consensus letter (as in the MTPS matrix) is set when given
    X, rec, _ = encode(["V21V"], ["X.21V"], "RT")
    assert X.tolist() == [[1.0]] and rec == [["V21V"]]


def test_stop_mixture():
    X, _, unrec = encode(["Y181Y*"], FEATURES, "RT")
    assert X[0, FEATURES.index("Y181*")] == 1 and unrec == [[]]


# --- files ---------------------------------------------------------------------------------


def test_text_file(tmp_path):
    f = tmp_path / "viruses.txt"
    f.write_text("# comment\nM184V K65R\n\npatient 7\tT215Y, 67del\n  WT\n", encoding="utf-8")
    gs = read_genotypes(f, "RT")
    assert [g.id for g in gs] == ["line2", "patient 7", "line5"]
    assert [[m.name for m in g.mutations] for g in gs] == [["M184V", "K65R"],
                                                          ["T215Y", "D67del"], []]


def test_text_file_bad_token_names_file_line_value(tmp_path):
    f = tmp_path / "v.txt"
    f.write_text("M184V\nK65R M18Q4V\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_genotypes(f, "RT")
    msg = str(info.value)
    assert msg.startswith(f"{f}: line 2: ") and "'M18Q4V'" in msg and "\n" not in msg


def test_csv_file(tmp_path):
    f = tmp_path / "v.csv"
    f.write_text('id,mutations,other\na,"M184V, K65R",x\nb,T69ins,y\n', encoding="utf-8")
    gs = read_genotypes(f, "RT")
    assert [(g.id, [m.name for m in g.mutations]) for g in gs] == [
        ("a", ["M184V", "K65R"]), ("b", ["T69ins"])]
    f.write_text("SeqID\tCompMutList\n12\tL90M, I84V\n", encoding="utf-8")
    gs = read_genotypes(f, "PR")
    assert gs[0].id == "12" and [m.name for m in gs[0].mutations] == ["L90M", "I84V"]


def test_csv_errors_name_file_line_column(tmp_path):
    f = tmp_path / "v.csv"
    f.write_text('id,mutations\na,M184V\nb,"K65R, 999R"\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"v\.csv: line 3, column 'mutations': .*'999R'"):
        read_genotypes(f, "RT")
    f.write_text("id,mutations\na,M184V,extra\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"v\.csv: line 2: expected 2 fields"):
        read_genotypes(f, "RT")
    with pytest.raises(DataError, match="not found"):
        read_genotypes(tmp_path / "missing.csv", "RT")


def _hivdb_rows(cells_by_row: list[dict[int, str]], length: int = 240) -> str:
    header = ["SeqID", "3TC", "AZT"] + [f"P{p}" for p in range(1, length + 1)]
    lines = ["\t".join(header)]
    for i, cells in enumerate(cells_by_row, start=1):
        row = [str(100 + i), "NA", "1.5"] + [cells.get(p, "-") for p in range(1, length + 1)]
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def test_hivdb_table(tmp_path):
    f = tmp_path / "NRTI_like.txt"
    f.write_text(_hivdb_rows([
        {184: "V", 215: "FY", 69: "#", 67: "~", 41: "l", 181: "Y*"},
        {1: ".", 2: ".", 3: ".", 10: ".", 162: "X", 102: "K"},
    ]), encoding="utf-8")
    gs = read_genotypes(f, "RT")
    assert [g.id for g in gs] == ["101", "102"]
    assert sorted(m.name for m in gs[0].mutations) == sorted(
        ["M41L", "D67del", "T69ins", "Y181Y*", "M184V", "T215FY"])
    assert any("1-3,10" in n for n in gs[1].notes)
    assert any("P162" in n and "X" in n for n in gs[1].notes)
    X, rec, unrec = encode(gs, FEATURES, "RT")
    X2, _, _ = encode([parse_genotype(ALL_NOTATIONS[0] + " M41L Y181Y*", "RT")], FEATURES, "RT")
    assert (X[0] == X2[0]).all()
    assert unrec[0] == ["M41L"] and rec[1] == [] and unrec[1] == []


def test_hivdb_table_is_read_as_its_own_genes_positions(tmp_path):
    """A table's position columns tell its gene (P1-P99: PR), whatever gene unprefixed
    mutations default to; a table of no gene's length is a one-line error."""
    f = tmp_path / "PI_like.txt"
    f.write_text(_hivdb_rows([{90: "M"}], length=99), encoding="utf-8")
    for default in ("PR", "RT", "IN"):
        (m,) = read_genotypes(f, default)[0].mutations
        assert (m.gene, m.name) == ("PR", "L90M")
    odd = tmp_path / "odd.txt"
    odd.write_text(_hivdb_rows([{90: "M"}], length=150), encoding="utf-8")
    with pytest.raises(DataError, match=r"line 1: .*P1-P150; expected P1-P99 \(PR\), "
                                        r"P1-P240 \(RT\), P1-P288 \(IN\)"):
        read_genotypes(odd, "RT")


def test_hivdb_table_ragged_row(tmp_path):
    f = tmp_path / "t.txt"
    text = _hivdb_rows([{}, {}])
    lines = text.splitlines()
    lines[2] = lines[2].rsplit("\t", 1)[0]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.txt: line 3: expected 243 fields"):
        read_genotypes(f, "RT")


def test_real_nrti_table_matches_the_mtps_matrix(data_dir):
    """Cells -> mutations -> X reproduces the MTPS 1246 x 228 matrix except where a cell holds
    3 or more letters (MTPS keeps only the first two; here every letter counts)."""
    import csv

    gs = read_genotypes(data_dir / "NRTI_DataSet.txt", "RT")
    assert len(gs) == 1498
    with open(data_dir / "X.csv", newline="") as fh:
        reader = csv.reader(fh)
        names = next(reader)[1:]
        rows = [(int(r[0]), [float(v) for v in r[1:]]) for r in reader]
    X, _, unrec = encode([gs[r - 1] for r, _ in rows], names, "RT")
    ref = np.array([v for _, v in rows], dtype=np.float32)
    assert (X >= ref).all()
    extra = np.argwhere(X > ref)
    assert 0 < len(extra) < 100
    assert RT[183] == "M"


def test_hivdb_caret_is_an_insertion_and_lowercase_layout(tmp_path):
    f = tmp_path / "NRTI_DATA.txt"
    header = ["sequenceid", "fold_3TC"] + [f"p{p}" for p in range(1, 241)]
    row = ["7", "2.0"] + ["T^" if p == 69 else ("-" if p != 184 else "V") for p in range(1, 241)]
    f.write_text("\t".join(header) + "\r\n" + "\t".join(row) + "\r\n", encoding="utf-8")
    (g,) = read_genotypes(f, "RT")
    assert g.id == "7" and [m.name for m in g.mutations] == ["T69T/ins", "M184V"]
    X, rec, unrec = encode([g], FEATURES, "RT")
    assert rec == [["T69T/ins", "M184V"]] and unrec == [[]]
