"""Parsing HIVDB genotype-phenotype tables: formats, cells, errors, and the real tables."""

from __future__ import annotations

import numpy as np
import pytest

from hivlatent.data.hivdb_tables import read_table
from hivlatent.errors import DataError


def make_table(path, rows, *, drugs=("3TC", "AZT"), n_pos=5, sep="\t", bom=False, crlf=False,
               meta=(), id_name="SeqID", pos_prefix="P", trailing_newline=True):
    """Write a small table: rows are (id, [folds], [cells], [meta values])."""
    header = [id_name, *meta, *drugs, *[f"{pos_prefix}{i}" for i in range(1, n_pos + 1)]]
    lines = [sep.join(header)]
    for r in rows:
        sid, folds, cells = r[0], r[1], r[2]
        extra = list(r[3]) if len(r) > 3 else []
        lines.append(sep.join([str(sid), *extra, *map(str, folds), *cells]))
    eol = "\r\n" if crlf else "\n"
    text = eol.join(lines) + (eol if trailing_newline else "")
    data = text.encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


WT = ["-"] * 5


def test_tab_table(tmp_path):
    p = make_table(tmp_path / "t.txt", [
        (1, ["2.5", "NA"], ["-", "K", "KN", ".", "x"]),
        (2, ["0.8", "12"], ["#", "~", "*", "X", "-"]),
    ])
    t = read_table(p)
    assert t.drug_class == "NRTI" and t.gene == "RT"
    assert t.drugs == ["3TC", "AZT"]
    assert list(t.ids) == ["1", "2"]
    assert np.isnan(t.folds.loc[0, "AZT"]) and t.folds.loc[1, "AZT"] == 12.0
    assert list(t.cells.columns) == ["P1", "P2", "P3", "P4", "P5"]
    assert list(t.cells.iloc[0]) == ["-", "K", "KN", ".", "X"]
    assert bool(t.lowercase.iloc[0, 4]) and not t.lowercase.iloc[0, 1]
    assert list(t.lines) == [2, 3]
    assert len(t.sha256) == 64


def test_csv_bom_crlf_and_quotes(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"\xef\xbb\xbfSeqID,EFV,NVP,P1,P2,CompMutList\r\n"
                  b"7,1.5,NA,-,Y,\"K103N, Y181C\"\r\n"
                  b"\r\n"
                  b"8,,200,C,-,\r\n")
    t = read_table(p)
    assert t.drug_class == "NNRTI" and t.drugs == ["EFV", "NVP"]
    assert list(t.ids) == ["7", "8"]
    assert np.isnan(t.folds.loc[1, "EFV"])
    assert t.meta["CompMutList"].tolist() == ["K103N, Y181C", ""]
    assert list(t.lines) == [2, 4]  # the blank line 3 is skipped but counted


def test_pi_class_and_metadata(tmp_path):
    p = make_table(tmp_path / "pi.txt", [(5, ["3", "NA"], WT, ["17", "B", "PhenoSense"])],
                   drugs=("LPV", "DRV"), meta=("PtID", "Subtype", "Method"))
    t = read_table(p)
    assert t.drug_class == "PI" and t.gene == "PR"
    assert list(t.meta.columns) == ["PtID", "Subtype", "Method"]
    assert t.meta.loc[0, "Method"] == "PhenoSense"


def test_pnas2006_layout(tmp_path):
    p = tmp_path / "NRTI_DATA.txt"
    p.write_bytes(b"sequenceid\tptid\tfold_3TC\tfoldLog10_3TC\tsir_3TC\tp1\tp2\r\n"
                  b"11\t4\t30\t1.48\t2\t-\tv\r\n")
    t = read_table(p)
    assert t.drugs == ["3TC"] and t.folds.iloc[0, 0] == 30.0
    assert list(t.meta.columns) == ["ptid", "foldLog10_3TC", "sir_3TC"]
    assert list(t.cells.columns) == ["P1", "P2"] and t.cells.iloc[0, 1] == "V"


def test_last_line_without_newline(tmp_path):
    p = make_table(tmp_path / "t.txt", [(1, ["1", "2"], WT)], trailing_newline=False)
    assert read_table(p).n_rows == 1


def test_zero_fold_is_kept(tmp_path):
    t = read_table(make_table(tmp_path / "t.txt", [(1, ["0.0", "2"], WT)]))
    assert t.folds.iloc[0, 0] == 0.0


def test_full_tables_may_repeat_seqids(tmp_path):
    p = make_table(tmp_path / "full.txt", [(5, ["3", "NA"], WT, ["PBMC"]),
                                           (5, ["NA", "4"], WT, ["PhenoSense"])],
                   drugs=("LPV", "DRV"), meta=("Method",))
    assert list(read_table(p).ids) == ["5", "5"]


@pytest.mark.parametrize("rows, kwargs, expected", [
    ([(1, ["abc", "2"], WT)], {}, "line 2, column '3TC': expected a fold change"),
    ([(1, ["1", "2"], WT), (2, ["1", "-3"], WT)], {}, "line 3, column 'AZT'"),
    ([(1, ["1", "2"], ["-", "-", "B", "-", "-"])], {}, "line 2, column 'P3': unknown cell 'B'"),
    ([(1, ["1", "2"], ["-", "-", "K-", "-", "-"])], {}, "column 'P3': unknown cell 'K-'"),
    ([(1, ["1", "2"], ["-", "", "-", "-", "-"])], {}, "column 'P2': unknown cell ''"),
    ([(1, ["1", "2"], WT), (1, ["1", "2"], WT)], {}, "line 3, column 'SeqID': duplicate"),
    ([(1, ["1", "2"], WT)], {"id_name": "Name"}, "line 1: no 'SeqID' (or 'IsolateID') column"),
    ([(1, ["1", "2"], WT)], {"pos_prefix": "Q"}, "line 1: no position columns"),
    ([(1, [], WT)], {"drugs": ()}, "line 1: no drug fold-change columns"),
    ([(1, ["1", "2"], WT)], {"drugs": ("3TC", "EFV")}, "more than one class"),
    ([], {}, "no data rows"),
])
def test_errors_name_file_line_column(tmp_path, rows, kwargs, expected):
    p = make_table(tmp_path / "bad.txt", rows, **kwargs)
    with pytest.raises(DataError) as err:
        read_table(p)
    msg = str(err.value)
    assert str(p) in msg and expected in msg
    assert "\n" not in msg


def test_error_ragged_row(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("SeqID\t3TC\tP1\tP2\n1\t2\t-\t-\n2\t3\t-\n")
    with pytest.raises(DataError, match=r"line 3: expected 4 fields as in the header.*found 3"):
        read_table(p)


def test_missing_empty_and_binary_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "empty.txt")
    (tmp_path / "blank.txt").write_text("\n\r\n  \n")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "blank.txt")
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02RDX3\n")
    with pytest.raises(DataError, match="binary"):
        read_table(tmp_path / "bin.dat")
    with pytest.raises(DataError, match="folder"):
        read_table(tmp_path)


# ---- the real tables -------------------------------------------------------------------------


def test_real_nrti(data_dir):
    t = read_table(data_dir / "NRTI_DataSet.txt")
    assert t.n_rows == 1498 and t.drugs == ["3TC", "ABC", "AZT", "D4T", "DDI", "TDF"]
    assert t.cells.shape == (1498, 240)
    missing = t.folds.isna().mean()
    assert missing["TDF"] == pytest.approx(0.221, abs=0.001)
    assert missing["3TC"] == pytest.approx(0.023, abs=0.001)
    assert t.sha256 == "68834a3b7aadec37cde96823cdfa4a8a2cf797622a9fee38cc92688ffc58887b"


def test_real_nnrti_csv(data_dir):
    t = read_table(data_dir / "NNRTI_stanford.csv")
    assert t.n_rows == 1765 and t.drugs == ["EFV", "NVP", "ETR", "RPV"]
    assert t.folds.isna().mean()["RPV"] == pytest.approx(0.896, abs=0.001)


def test_real_pi(data_dir):
    t = read_table(data_dir / "PI_DataSet.txt")
    assert t.n_rows == 1958 and t.cells.shape[1] == 99 and t.drug_class == "PI"
    assert "CompMutList" in t.meta.columns
    s = read_table(data_dir / "PI_stanford.csv")
    assert s.n_rows == 1808 and len(s.drugs) == 8


def test_real_pi_full_keeps_metadata(data_dir):
    t = read_table(data_dir / "PI_DataSet.Full.txt")
    assert t.n_rows == 4504
    for col in ("PtID", "Subtype", "Method", "RefID", "Type", "IsolateName", "CompMutList"):
        assert col in t.meta.columns
    counts = t.meta["Method"].value_counts()
    assert counts["PhenoSense"] == 2715 and counts["Antivirogram"] == 1433


def test_real_pnas2006(data_dir):
    t = read_table(data_dir / "NRTI_DATA.txt")
    assert t.n_rows == 1087 and t.drugs == ["3TC", "ABC", "AZT", "D4T", "DDI", "TDF"]
    assert t.ids[0] == "2997"
