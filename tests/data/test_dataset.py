"""Encoding a table as a Dataset: feature names, counts, mixtures, labels, masks, errors."""

from __future__ import annotations

import numpy as np
import pytest

from hivlatent.data import Cutoffs, build_dataset, load_dataset, read_table
from hivlatent.data.mutations import RESIDUE_ORDER, normalise_feature, parse_feature
from hivlatent.errors import ConfigError, DataError

# RT consensus: P1 I2 S3 P4 I5 E6 ... ; 41 M, 65 K, 67 D, 69 T, 88 W, 184 M
HEADER = ["SeqID", "PtID", "3TC", "AZT", "P41", "P65", "P67", "P69", "P88", "P184"]


def write(tmp_path, rows, name="t.txt"):
    """A table with the HEADER's positions and every other one up to P184 as consensus ('-'):
    tables hold every position column."""
    given = [int(h[1:]) for h in HEADER if h[0] == "P" and h[1:].isdigit()]
    fill = [q for q in range(1, max(given) + 1) if q not in given]
    header = HEADER + [f"P{q}" for q in fill]
    lines = ["\t".join(header)] + ["\t".join(list(map(str, r)) + ["-"] * len(fill)) for r in rows]
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


ROWS = [
    # id pt 3TC   AZT   41   65    67   69   88   184
    (1, "a", 30, 3.0, "L", "-", "-", "-", "-", "V"),
    (2, "a", 1.2, "NA", "-", "KR", "~", "#", "*", "V"),
    (3, "b", "NA", 0.5, ".", "R", "N", "-", "-", "MV"),
    (4, "c", 0.0, 10, "X", "-", "-", "T^", "-", "IVM"),
]


def test_features_names_order_and_values(tmp_path):
    ds = build_dataset(read_table(write(tmp_path, ROWS)), min_count=1)
    assert ds.feature_names == ["M41L", "K65R", "D67N", "D67del", "T69ins", "W88*", "M184I",
                                "M184V"]
    X = dict(zip(ds.feature_names, ds.X.T))
    assert X["K65R"].tolist() == [0, 1, 1, 0]      # the mixture KR counts for R, not for K
    assert X["M184V"].tolist() == [1, 1, 1, 1]     # MV and IVM count for V (M is consensus)
    assert X["M184I"].tolist() == [0, 0, 0, 1]
    assert X["T69ins"].tolist() == [0, 1, 0, 1]    # '^' is an insertion too
    assert ds.X.dtype == np.float32
    assert ds.drug_class == "NRTI" and ds.gene == "RT"
    assert list(ds.ids) == ["1", "2", "3", "4"]
    assert list(ds.groups) == ["a", "a", "b", "c"]
    assert ds.meta["line"].tolist() == [2, 3, 4, 5] and ds.meta["row"].tolist() == [1, 2, 3, 4]


def test_min_count(tmp_path):
    ds = build_dataset(read_table(write(tmp_path, ROWS)), min_count=2)
    assert ds.feature_names == ["K65R", "T69ins", "M184V"]
    assert build_dataset(read_table(write(tmp_path, ROWS)), min_count=5).n_features == 0


def test_first2_is_the_mtps_rule(tmp_path):
    ds = build_dataset(read_table(write(tmp_path, ROWS)), min_count=1, mixture="first2")
    X = dict(zip(ds.feature_names, ds.X.T))
    assert X["K65K"].tolist() == [0, 1, 0, 0]      # consensus letter inside a mixture counts
    assert X["M184M"].tolist() == [0, 0, 1, 0]     # MV -> M, V
    assert "M184I" in X and X["M184I"].tolist() == [0, 0, 0, 1]  # IVM -> I, V only
    assert X["M184V"].tolist() == [1, 1, 1, 1]
    assert X["T69T"].tolist() == [0, 0, 0, 1]


def test_first2_ignores_lower_case_cells(tmp_path):
    rows = [(1, "a", 1, 1, "l", "-", "-", "-", "-", "-"),
            (2, "a", 1, 1, "L", "-", "-", "-", "-", "-")]
    t = read_table(write(tmp_path, rows))
    assert build_dataset(t, min_count=1).X[:, 0].tolist() == [1, 1]
    assert build_dataset(t, min_count=1, mixture="first2").X[:, 0].tolist() == [0, 1]


def test_labels_log_fold_and_observed(tmp_path):
    ds = build_dataset(read_table(write(tmp_path, ROWS)), min_count=1)
    assert ds.drugs == ["3TC", "AZT"]
    # 3TC cutoff 3, AZT cutoff 3: fold >= cutoff is resistant; NA stays NaN (never 0)
    np.testing.assert_array_equal(ds.labels[:, 0], [1, 0, np.nan, 0])
    np.testing.assert_array_equal(ds.labels[:, 1], [1, np.nan, 0, 1])
    assert ds.log_fold[0, 0] == pytest.approx(np.log10(30))
    assert ds.log_fold[3, 0] == pytest.approx(np.log10(0.05))   # fold 0.0 -> ZERO_FOLD
    assert np.isnan(ds.log_fold[2, 0])
    j = ds.feature_names.index("M41L")
    assert ds.observed[:, j].tolist() == [True, True, False, False]   # '.' and 'X'
    assert ds.observed[:, ds.feature_names.index("M184V")].all()


def test_drugs_cutoffs_rows(tmp_path):
    t = read_table(write(tmp_path, ROWS))
    ds = build_dataset(t, min_count=1, drugs=["azt"], cutoffs=Cutoffs().with_overrides({"AZT": 11}),
                       rows=[3, 0])
    assert ds.drugs == ["AZT"] and list(ds.ids) == ["4", "1"]
    np.testing.assert_array_equal(ds.labels[:, 0], [0, 0])
    cut = tmp_path / "cut.csv"
    cut.write_text("drug,lower\nAZT,0.4\n")
    ds = build_dataset(t, min_count=1, drugs=["AZT"], cutoffs=cut)
    np.testing.assert_array_equal(ds.labels[:, 0], [1, np.nan, 1, 1])


def test_feature_list(tmp_path):
    t = read_table(write(tmp_path, ROWS))
    ds = build_dataset(t, feature_list=["X.184V", "K65R", "65N", "T69ins"])
    assert ds.feature_names == ["M184V", "K65R", "K65N", "T69ins"]
    assert ds.X[:, 2].sum() == 0
    with pytest.raises(ConfigError, match="feature name 'foo'"):
        build_dataset(t, feature_list=["foo"])
    with pytest.raises(ConfigError, match="twice"):
        build_dataset(t, feature_list=["M184V", "X.184V"])


def test_errors(tmp_path):
    t = read_table(write(tmp_path, ROWS))
    with pytest.raises(DataError, match=r"t\.txt: line 1: unknown drug 'EFV'.*3TC, AZT"):
        build_dataset(t, drugs=["EFV"])
    with pytest.raises(ConfigError, match="mixture"):
        build_dataset(t, mixture="some")
    with pytest.raises(ConfigError, match="min_count"):
        build_dataset(t, min_count=-1)
    bad = tmp_path / "cut.csv"
    bad.write_text("drug,lower\nAZT,2\nFOO,3\n")
    with pytest.raises(DataError, match=r"cut\.csv: line 3, column 'drug': unknown drug 'FOO'"):
        build_dataset(t, cutoffs=bad)
    ds = build_dataset(t, min_count=1)
    with pytest.raises(DataError, match="unknown drug 'EFV'.*expected one of 3TC, AZT"):
        ds.select_drugs(["EFV"])
    assert ds.select_drugs(["azt"]).drugs == ["AZT"]


def test_feature_name_parsing():
    assert normalise_feature("X.184V", "RT") == "M184V"
    assert normalise_feature("X.69#", "RT") == "T69ins"
    assert normalise_feature("67del", "RT") == "D67del"
    assert normalise_feature("X.88*", "RT") == "W88*"
    assert normalise_feature("L90M", "PR") == "L90M"
    assert normalise_feature("X184V", "RT") == "M184V"
    for bad in ("age", "K184V", "M184VI", "RT:999V"):   # not one consensus-B mutation
        with pytest.raises(DataError, match="feature name"):
            parse_feature(bad, "RT")
    assert parse_feature("M184V", "RT").key == ("RT", 184, frozenset("V"))


# ---- named data sets on the real tables ------------------------------------------------------


def test_real_named_sets(data_dir):
    nrti = load_dataset("nrti")
    assert nrti.n_rows == 1498 and nrti.drugs == ["3TC", "ABC", "AZT", "D4T", "DDI", "TDF"]
    missing = np.isnan(nrti.labels).mean(axis=0)
    assert missing[nrti.drugs.index("TDF")] == pytest.approx(0.22, abs=0.01)
    nnrti = load_dataset("nnrti")
    assert nnrti.n_rows == 1765 and nnrti.drugs == ["EFV", "NVP", "ETR", "RPV"]
    pi = load_dataset("pi")
    assert pi.n_rows == 1958 and len(pi.drugs) == 8 and pi.gene == "PR"
    for ds in (nrti, nnrti, pi):
        tested = ~np.isnan(ds.labels)
        prevalence = np.nansum(ds.labels, axis=0) / tested.sum(axis=0)
        assert np.all((prevalence > 0) & (prevalence < 1)), (ds.name, prevalence)
        assert np.isfinite(ds.log_fold[tested]).all()
        counts = ds.X.sum(axis=0)
        assert counts.min() >= 10
        muts = [parse_feature(f, ds.gene) for f in ds.feature_names]
        keys = [(m.position, RESIDUE_ORDER[next(iter(m.residues))]) for m in muts]
        assert keys == sorted(keys)
    assert "M184V" in nrti.feature_names and "K103N" in nnrti.feature_names
    assert "L90M" in pi.feature_names


def test_real_pi_full_groups(data_dir):
    ds = load_dataset("pi-full")
    assert ds.n_rows == 4504 and ds.groups is not None
    assert "Method" in ds.meta.columns
