"""X/Y design matrices exported as CSV, as R users write them."""

from __future__ import annotations

import numpy as np
import pytest

from hivlatent.data import load_design_matrix, resolve_data
from hivlatent.errors import ConfigError, DataError


def write(path, text):
    path.write_text(text)
    return path


def test_ids_matched_and_names_normalised(tmp_path):
    x = write(tmp_path / "X.csv", "row,X.184V,X.65R,X.69#\n1,1,0,0\n3,0,1,1\n")
    y = write(tmp_path / "Y.csv", "row,SeqID,3TC,ABC\n3,30,0.1,0.2\n1,10,1.5,NA\n")
    ds = load_design_matrix(x, y, y_scale="log10")
    assert ds.feature_names == ["M184V", "K65R", "T69ins"]
    assert list(ds.ids) == ["10", "30"]           # SeqID, in X's row order
    assert ds.meta["row"].tolist() == ["1", "3"]
    np.testing.assert_allclose(ds.log_fold[:, 0], [1.5, 0.1])
    np.testing.assert_array_equal(ds.labels[:, 0], [1, 0])   # 3TC cutoff 3: 10**1.5 >= 3
    assert np.isnan(ds.labels[0, 1])
    assert ds.drugs == ["3TC", "ABC"] and ds.drug_class == "NRTI"


def test_a_column_that_is_neither_id_nor_mutation_is_named(tmp_path):
    x = write(tmp_path / "X.csv", "row,X.184V,age_group\n1,1,0\n3,0,1\n")
    y = write(tmp_path / "Y.csv", "row,3TC\n3,0.1\n1,1.5\n")
    with pytest.raises(DataError, match=r"X.csv: line 1, column 'age_group': not a mutation"):
        load_design_matrix(x, y, y_scale="log10")


def test_fold_scale_r_names_and_order_matching(tmp_path):
    # R's write.csv: an unnamed row-name column, "3TC" made into "X3TC"
    x = write(tmp_path / "X.csv", '"","X.184V"\n"a",1\n"b",0\n')
    y = write(tmp_path / "Y.csv", '"X3TC","AZT"\n40,1\n2,NA\n')
    ds = load_design_matrix(x, y, y_scale="fold")
    assert ds.drugs == ["3TC", "AZT"]
    np.testing.assert_allclose(ds.log_fold[:, 0], np.log10([40, 2]))
    np.testing.assert_array_equal(ds.labels[:, 0], [1, 0])
    assert list(ds.ids) == ["a", "b"]


def test_first_non_binary_column_is_the_id(tmp_path):
    x = write(tmp_path / "X.csv", "name,L90M\nv1,1\nv2,0\n")
    y = write(tmp_path / "Y.csv", "LPV\n20\n1\n")
    ds = load_design_matrix(x, y, y_scale="fold")
    assert ds.feature_names == ["L90M"] and ds.gene == "PR" and list(ds.ids) == ["v1", "v2"]
    np.testing.assert_array_equal(ds.labels[:, 0], [1, 0])   # LPV cutoff 9


@pytest.mark.parametrize("xtext, ytext, expected", [
    ("row,X.184V\n1,2\n", "row,3TC\n1,1\n", r"X\.csv: line 2, column 'X\.184V': expected 0 or 1, got '2'"),
    ("row,X.184V\n1,1\n", "row,FOO\n1,1\n", r"Y\.csv: line 1, column 'FOO': unknown drug"),
    ("row,X.184V\n1,1\n", "row,3TC\n1,abc\n", r"Y\.csv: line 2, column '3TC': expected a log10"),
    ("row,X.184V\n1,1\n2,0\n", "row,3TC\n1,1\n", r"X\.csv: line 3, column 'row': id '2' is not in"),
    ("row,X.184V\n1,1\n1,0\n", "row,3TC\n1,1\n1,2\n", r"X\.csv: line 3, column 'row': duplicate id '1'"),
    ("X.184V\n1\n0\n", "3TC\n1\n", r"has 2 rows but .* has 1"),
    ("row,X.184V\n", "row,3TC\n1,1\n", r"X\.csv: no data rows"),
    ("row,X.184V\n1,1\n", "row,3TC,EFV\n1,1,1\n", r"more than one class"),
    ("row\n1\n", "row,3TC\n1,1\n", r"no mutation columns"),
])
def test_errors(tmp_path, xtext, ytext, expected):
    x = write(tmp_path / "X.csv", xtext)
    y = write(tmp_path / "Y.csv", ytext)
    with pytest.raises(DataError, match=expected):
        load_design_matrix(x, y)


def test_resolve_data_forms(tmp_path):
    x = write(tmp_path / "X.csv", "row,X.184V\n1,1\n")
    y = write(tmp_path / "Y.csv", "row,3TC,AZT\n1,1,0\n")
    assert resolve_data(x=x, y=y).drugs == ["3TC", "AZT"]
    assert resolve_data(x=x, y=y, drugs=["AZT"]).drugs == ["AZT"]
    with pytest.raises(ConfigError, match="go together"):
        resolve_data(x=x)
    with pytest.raises(ConfigError, match="not both"):
        resolve_data("nrti", x=x, y=y)
    with pytest.raises(ConfigError, match="y-scale"):
        resolve_data(x=x, y=y, y_scale="ln")
    with pytest.raises(ConfigError, match="no data given"):
        resolve_data()
    with pytest.raises(DataError, match="not a known data set"):
        resolve_data(str(tmp_path / "missing.txt"))
