"""The fast tier's synthetic tables (tests/data/synthetic): committed as their script writes them,
read by the package like HIVDB's tables, and holding the rule the script states, so that tests on
them can assert what the rule implies."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from helpers import SYNTHETIC
from hivlatent.data import read_table
from hivlatent.data.consensus import consensus_residue


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_synthetic", SYNTHETIC / "make_synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_tables_are_what_the_script_writes(script, tmp_path, monkeypatch):
    assert script.main(["--check"]) == 0
    monkeypatch.setattr(script, "HERE", tmp_path)
    (tmp_path / "PI_synthetic.txt").write_text("changed\n")
    assert script.main(["--check"]) == 1                       # a stale table is found
    assert script.main([]) == 0 and script.main(["--check"]) == 0
    assert (tmp_path / "NRTI_synthetic.txt").read_bytes() == (
        SYNTHETIC / "NRTI_synthetic.txt").read_bytes()


def test_every_mutation_of_the_rule_names_its_consensus_letter(script):
    genes = {"NRTI_synthetic.txt": "RT", "PI_synthetic.txt": "PR"}
    for name, spec in script.TABLES.items():
        for mutation in spec["mutations"]:
            assert consensus_residue(genes[name], int(mutation[1:-1])) == mutation[0], mutation
        for effects in spec["effects"].values():
            assert set(effects) <= set(spec["mutations"])


@pytest.mark.parametrize("name, drug_class, gene, drugs, rows", [
    ("NRTI_synthetic.txt", "NRTI", "RT", ["3TC", "AZT", "TDF"], 300),
    ("PI_synthetic.txt", "PI", "PR", ["LPV", "DRV"], 200),
])
def test_the_tables_read_as_hivdb_tables(name, drug_class, gene, drugs, rows):
    t = read_table(SYNTHETIC / name)
    assert (t.drug_class, t.gene, t.drugs, t.n_rows) == (drug_class, gene, drugs, rows)
    assert t.folds.isna().any().all() and (t.folds.max() <= 200).all()   # untested, capped
    assert (t.cells.to_numpy() == ".").any()                               # not sequenced


def test_the_dataset_has_the_rules_mutations_and_effects(synthetic_nrti, script):
    ds = synthetic_nrti
    spec = script.TABLES["NRTI_synthetic.txt"]
    assert set(spec["mutations"]) <= set(ds.feature_names)
    assert ds.groups is not None and len(np.unique(ds.groups)) < ds.n_rows    # PtID
    assert ds.observed.all()            # the table's few '.' cells are never at a mutation's
    # M184V raises 3TC about 100-fold (log10 +2; the cap at 200 takes a little off)
    has = ds.X[:, ds.feature_names.index("M184V")] == 1
    lf = ds.log_fold[:, ds.drugs.index("3TC")]
    diff = np.nanmean(lf[has]) - np.nanmean(lf[~has])
    assert 1.7 < diff < 2.3
    # a polymorphism changes nothing
    poly = ds.X[:, ds.feature_names.index("R211K")] == 1
    assert abs(np.nanmean(lf[poly]) - np.nanmean(lf[~poly])) < 0.5
    # labels: 3TC resistant (fold >= 3) exactly where log10 fold >= log10 3
    tested = ~np.isnan(lf)
    np.testing.assert_array_equal(ds.labels[tested, ds.drugs.index("3TC")],
                                  (lf[tested] >= np.log10(3.0) - 1e-12).astype(float))
