"""hivlatent.hivdb: the Stanford HIVdb algorithm through sierralocal (the ``hivdb`` extra)."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources

import numpy as np
import pytest

from hivlatent import hivdb
from hivlatent.errors import ConfigError, DataError
from hivlatent.hivdb.sierralocal_runner import MISSING, engine

ALL_DRUGS = {
    "NRTI": {"ABC", "AZT", "D4T", "DDI", "FTC", "3TC", "TDF"},
    "NNRTI": {"DOR", "EFV", "ETR", "NVP", "RPV"},
    "PI": {"ATV", "DRV", "FPV", "IDV", "LPV", "NFV", "SQV", "TPV"},
    "INSTI": {"BIC", "CAB", "DTG", "EVG", "RAL"},
}


def one(mutations, genes=None):
    return hivdb.score([mutations], genes=genes)[0]


def scores(calls):
    return {drug: call.score for drug, call in calls.items()}


# --- the algorithm and its version -------------------------------------------------------------

def test_version_is_read_from_the_bundled_xml():
    root = ET.parse(resources.files("sierralocal") / "data" / "HIVDB_9.4.xml").getroot()
    expected = f"{root.findtext('ALGNAME')} {root.findtext('ALGVERSION')}"
    assert hivdb.algorithm_version() == expected == "HIVDB 9.4"


def test_import_does_not_load_sierralocal():
    code = ("import sys, hivlatent.hivdb; "
            "print('sierralocal' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_require_names_the_extra_when_sierralocal_is_missing(monkeypatch):
    for name in ("sierralocal", "sierralocal.hivdb", "sierralocal.score_alg"):
        monkeypatch.setitem(sys.modules, name, None)  # import then raises ImportError
    with pytest.raises(ConfigError) as err:
        hivdb.require()
    assert str(err.value) == (
        "the HIVdb algorithm needs the optional extra: pip install 'hivlatent[hivdb]' "
        "(sierralocal, GPL-3)"
    ) == MISSING
    assert hivdb.available() is False


def test_available_and_require_with_sierralocal():
    assert hivdb.available() is True
    hivdb.require()


def test_sierralocal_reads_the_rules_as_the_xml_writes_them():
    """Each drug's parsed rules equal an independent reading of its CONDITION text, every MAX
    group reads one set of positions and no two rules of a drug read the same positions: then
    sierralocal keeping the highest of rules with equal positions is exactly ASI's MAX."""
    eng = engine()
    root = ET.parse(eng.xml_path).getroot()
    rule_re = re.compile(r"\(?((?:\d+[A-Za-z]+\s*(?:AND\s*)?)+)\)?\s*=>\s*(-?\d+)")
    checked = 0
    for drug in root.iter("DRUG"):
        name = drug.findtext("NAME")
        body = drug.findtext("RULE/CONDITION").split("(", 1)[1].rsplit(")", 1)[0]
        expected = []
        for line in [x.strip().rstrip(",") for x in body.strip().splitlines()]:
            rules = [([(int(p), a) for p, a in re.findall(r"(\d+)([A-Za-z]+)", lhs)], int(v))
                     for lhs, v in rule_re.findall(line)]
            expected.append(rules if line.startswith("MAX") else rules[0])
        parsed = [[(r["group"], r["value"]) for r in c] if isinstance(c, list)
                  else (c["group"], c["value"]) for c in eng.algorithm.drugs[name][0]]
        assert parsed == expected, name
        position_sets = []
        for c in expected:
            sets = {tuple(p for p, _ in g) for g, _ in (c if isinstance(c, list) else [c])}
            assert len(sets) == 1, (name, c)
            position_sets += sets
        assert len(position_sets) == len(set(position_sets)), name
        checked += 1
    assert checked >= 25


# --- known calls -------------------------------------------------------------------------------

def test_wild_type_is_susceptible_to_every_drug():
    calls = one([])
    assert set(calls) == set().union(*ALL_DRUGS.values())
    for drug, call in calls.items():
        assert (call.score, call.level, call.level_text, call.sir) == (0.0, 1, "Susceptible", "S")
        assert call.partial_scores == ()
        assert drug in ALL_DRUGS[call.drug_class]
    assert calls["LPV"].hivdb_drug == "LPV/r"


def test_m184v_is_high_level_for_3tc_and_ftc():
    calls = one(["RT:M184V"])
    for drug in ("3TC", "FTC"):
        assert calls[drug].score >= 60
        assert calls[drug].level == 5
        assert calls[drug].level_text == "High-Level Resistance"
        assert calls[drug].sir == "R"
        assert calls[drug].partial_scores == (hivdb.PartialScore(("RT:M184V",), 60.0),)
    assert calls["AZT"].score < 0  # M184V resensitises to AZT in HIVdb
    assert all(calls[d].score == 0 for d in ALL_DRUGS["NNRTI"] | ALL_DRUGS["PI"])


def test_k103n_is_high_level_for_efv_and_nvp():
    calls = one(["RT:K103N"])
    assert calls["EFV"].level == calls["NVP"].level == 5
    assert calls["EFV"].score >= 60 and calls["NVP"].score >= 60
    assert calls["ETR"].level == calls["RPV"].level == calls["DOR"].level == 1


def test_tams_are_high_level_for_azt_and_partial_scores_add_up():
    calls = one(["RT:M41L", "RT:D67N", "RT:K70R", "RT:T215Y", "RT:K219Q"])
    azt = calls["AZT"]
    assert azt.level == 5 and azt.score >= 60
    assert sum(p.score for p in azt.partial_scores) == azt.score
    assert hivdb.PartialScore(("RT:T215Y",), 60.0) in azt.partial_scores
    assert any(len(p.mutations) > 1 for p in azt.partial_scores)  # combination rules fired


def test_l90m_scores_protease_inhibitors():
    calls = one(["PR:L90M"])
    assert calls["NFV"].level == 5
    assert all(calls[d].score > 0 for d in ("NFV", "SQV", "IDV", "ATV", "FPV", "LPV"))
    assert calls["DRV"].score == 0
    assert all(calls[d].score == 0 for d in ALL_DRUGS["NRTI"] | ALL_DRUGS["INSTI"])


def test_n155h_scores_integrase_inhibitors():
    calls = one(["IN:N155H"])
    assert calls["RAL"].level == calls["EVG"].level == 5


def test_a_mixture_is_scored_by_its_highest_scoring_residue():
    mixed, f, y = (one([m]) for m in ("RT:T215FY", "RT:T215F", "RT:T215Y"))
    for drug in mixed:
        assert mixed[drug].score == max(f[drug].score, y[drug].score), drug
    # residues with different scores under one MAX rule: the higher counts, never the sum
    assert scores(one(["RT:T215SY"])) == scores(one(["RT:T215Y"]))
    assert one(["RT:T215S"])["AZT"].score < one(["RT:T215Y"])["AZT"].score
    abc = [one([m])["ABC"].score for m in ("RT:K65N", "RT:K65R", "RT:K65NR")]
    assert abc[2] == max(abc[:2]) < sum(abc[:2])
    # the consensus residue in a mixture changes nothing; two tokens at a position merge
    assert scores(one(["RT:M184MV"])) == scores(one(["RT:M184V"]))
    assert scores(one(["RT:T215F", "RT:T215Y"])) == scores(mixed)
    # the partial score names the residues that triggered it (sierralocal, like Sierra, lists
    # the lower-scoring residue of the MAX rule too)
    assert one(["RT:T215SY"])["AZT"].partial_scores == (hivdb.PartialScore(("RT:T215SY",), 60.0),)
    assert one(["RT:T215SY"])["AZT"].score == 60


def test_insertion_deletion_and_stop():
    ins = one(["RT:T69ins"])
    assert ins["ABC"].score == 60 and ins["ABC"].partial_scores[0].mutations == ("RT:T69ins",)
    assert ins["AZT"].level == 5
    assert scores(one(["RT:T69insSS"])) == scores(ins)
    assert scores(one(["RT:69#"])) == scores(ins)
    assert one(["RT:D67del"])["ABC"].partial_scores == (hivdb.PartialScore(("RT:D67del",), 30.0),)
    assert all(s == 0 for s in scores(one(["RT:W88*"])).values())
    # a stop in a mixture leaves its amino acid scored
    assert scores(one(["RT:M184V*"])) == scores(one(["RT:M184V"]))


def test_more_than_four_amino_acids_is_ambiguous_and_not_scored():
    assert one(["RT:M184IV"])["3TC"].score == 60
    with pytest.raises(DataError, match="a mixture of 5 residues at RT 184; expected at most 4"):
        one(["RT:M184ACDIV"])                     # typed: refused (issue 31)
    from hivlatent.data.mutations import Mutation

    assert one([Mutation("RT", 184, frozenset("ACDIV"))])["3TC"].score == 0   # e.g. a cell


def test_genes_limits_the_drugs_reported():
    calls = one(["RT:M184V"], genes=["RT"])
    assert set(calls) == ALL_DRUGS["NRTI"] | ALL_DRUGS["NNRTI"]
    assert set(one(["WT"], genes="PR")) == ALL_DRUGS["PI"]
    with pytest.raises(DataError, match=r"PR:L90M is in PR, which is not scored here"):
        one(["PR:L90M"], genes=["RT"])
    with pytest.raises(DataError, match="'CA'"):
        one(["WT"], genes=["CA"])


def test_genotypes_in_the_package_notation_and_as_parsed_objects():
    from hivlatent.data.mutations import parse_genotype

    parsed = parse_genotype("RT: M184V K65R PR: L90M", "RT")
    text = one("RT:M184V RT:K65R PR:L90M")
    assert scores(one(parsed)) == scores(one(list(parsed.mutations))) == scores(text)
    assert scores(one(["M184V"])) == scores(one(["RT:M184V"]))      # no prefix: RT
    assert scores(one(["RT:K184V"])) == scores(one(["RT:M184V"]))   # read by position


@pytest.mark.parametrize("token", ["RT:M184", "XX:M184V", "RT:M-184V", "RT:M184Vdel", "",
                                   "RT:M184ins1", 184])
def test_unknown_notation_is_rejected_in_one_line_naming_the_genotype(token):
    with pytest.raises(DataError) as err:
        hivdb.score([["RT:K103N"], [token]])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("genotype 1")


def test_positions_beyond_the_gene_and_insertion_with_deletion_are_rejected():
    with pytest.raises(DataError, match=r"position 100 is outside PR 1-99"):
        one(["PR:100V"])
    with pytest.raises(DataError, match=r"genotype 0: an insertion and a deletion at RT 69"):
        one(["RT:T69ins", "RT:T69del"])
    from hivlatent.data.mutations import Mutation

    with pytest.raises(DataError, match=r"both an insertion and a deletion"):
        one([Mutation("RT", 69, frozenset("#")), Mutation("RT", 69, frozenset("~"))])


# --- table rows --------------------------------------------------------------------------------

def test_score_cells_reads_hivdb_table_cells_as_the_package_reads_them():
    from hivlatent.data.genotype_files import cells_to_genotype

    row = {"P41": "L", "P65": "-", "P67": "~", "P69": "#", "P70": "d", "P103": "KN",
           "P184": "M", "P215": "FY", "P219": "*", "P1": ".", 100: "l", "210": "X"}
    cells = {int(str(k).lstrip("P")): v for k, v in row.items()}
    genotype = cells_to_genotype(cells, "RT")
    assert [m.name for m in genotype.mutations] == [
        "M41L", "D67del", "T69ins", "K70del", "L100L", "K103KN", "M184M", "T215FY", "K219*"]
    by_cells = hivdb.score_cells([row], "RT")[0]
    assert by_cells == hivdb.score([genotype], genes=["RT"])[0]
    assert set(by_cells) == ALL_DRUGS["NRTI"] | ALL_DRUGS["NNRTI"]


def test_score_cells_special_cells():
    consensus, t_caret, ins = hivdb.score_cells([{69: "T"}, {69: "T^"}, {69: "T#"}], "RT")
    assert scores(consensus) == {d: 0.0 for d in consensus}
    assert t_caret["ABC"].score == ins["ABC"].score == 60      # '^' is an insertion, like '#'
    k_dot, k = hivdb.score_cells([{"P102": "K."}, {"P103": "N", "P102": "-"}], "RT")
    assert all(c.score == 0 for c in k_dot.values()) and k["EFV"].level == 5


@pytest.mark.parametrize("row, match", [
    ({"P184": "V1"}, r"row 0: P184 'V1': '1' is not a cell character"),
    ({"P241x": "V"}, r"row 0: column 'P241x' is not a position"),
    ({"P561": "V"}, r"outside RT 1-560"),
])
def test_score_cells_rejects_bad_rows(row, match):
    with pytest.raises(DataError, match=match):
        hivdb.score_cells([row], "RT")


# --- helpers and speed -------------------------------------------------------------------------

def test_level_calls():
    assert hivdb.level_calls(3, hivdb.LOW_LEVEL) is True
    assert hivdb.level_calls(3, hivdb.INTERMEDIATE) is False
    np.testing.assert_array_equal(hivdb.level_calls([1, 2, 3, 4, 5], 4), [0, 0, 0, 1, 1])
    calls = hivdb.score([["RT:M184V"], []])
    assert hivdb.level_calls(calls[0]["3TC"], 3) is True
    levels = hivdb.drug_values(calls, "3TC", "level")
    np.testing.assert_array_equal(hivdb.level_calls(levels, 3), [True, False])
    np.testing.assert_array_equal(hivdb.drug_values(calls, "3TC"), [60.0, 0.0])
    for bad in (0, 6, 3.5, True):
        with pytest.raises(ConfigError, match="not an HIVdb level"):
            hivdb.level_calls(3, bad)
    with pytest.raises(DataError, match="'NOPE'"):
        hivdb.drug_values(calls, "NOPE")


def test_a_thousand_genotypes_are_scored_each_with_every_drug():
    """(Its speed is measured by benchmarks/predict_speed.py, not asserted here.)"""
    rng = np.random.default_rng(0)
    pool = ["RT:M41L", "RT:K65R", "RT:D67N", "RT:T69ins", "RT:K70R", "RT:L74V", "RT:K103N",
            "RT:V106M", "RT:Y181C", "RT:M184V", "RT:G190A", "RT:L210W", "RT:T215Y", "RT:T215FY",
            "RT:K219Q", "PR:L10I", "PR:M46I", "PR:I54V", "PR:V82A", "PR:I84V", "PR:L90M",
            "IN:Q148H", "IN:N155H", "IN:G140S", "RT:V35T", "RT:K122E", "PR:L63P"]
    genotypes = [list(rng.choice(pool, size=rng.integers(0, 12), replace=False))
                 for _ in range(1000)]
    hivdb.algorithm_version()  # the XML is read once; not part of the timing
    engine().clear_cache()
    calls = hivdb.score(genotypes)
    assert len(calls) == 1000 and all(len(c) == 25 for c in calls)


# --- the real data: a colleague's numbers on nrti-1246 -----------------------------------------

def test_nrti_1246_against_the_colleagues_numbers(data_dir):
    """A colleague's sierralocal 9.4 numbers on the MTPS subset, through the package's own table
    reader. They read T^ at RT 69 (SeqID 259222, one virus) as T; this package reads ^ as an
    insertion, as its encoder does, which moves D4T's AUC by 0.001 (0.957 against 0.958)."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from hivlatent.data import find_file, load_dataset, read_table

    ds = load_dataset("nrti-1246")
    table = read_table(find_file("NRTI_DataSet.txt"))
    rows = [int(r) - 1 for r in ds.meta["row"]]
    calls = hivdb.score_table(table, rows)
    reported = {  # AUC, best of BA(level >= 3), BA(level >= 4)
        "3TC": (0.975, 0.944), "ABC": (0.980, 0.936), "AZT": (0.974, 0.917),
        "D4T": (0.958, 0.874), "DDI": (0.896, 0.800),
    }
    for j, drug in enumerate(ds.drugs):
        y = ds.labels[:, j].astype(bool)
        auc = roc_auc_score(y, hivdb.drug_values(calls, drug))
        levels = hivdb.drug_values(calls, drug, "level")
        ba = max(balanced_accuracy_score(y, hivdb.level_calls(levels, t)) for t in (3, 4))
        assert abs(auc - reported[drug][0]) <= 0.0015 and abs(ba - reported[drug][1]) <= 0.0015, \
            (drug, auc, ba)
