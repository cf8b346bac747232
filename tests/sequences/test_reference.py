"""Reference sequences and codon translation (hivlatent.sequences.reference_sequences, .codons)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hivlatent.sequences.codons import (
    codon_amino_acids,
    codons_for,
    order_residues,
    reverse_complement,
    translate,
    translate_codon,
)
from hivlatent.sequences.reference_sequences import (
    consensus_pol,
    consensus_residue,
    gene,
    genes,
    hxb2_genome,
    hxb2_pol,
    hxb2_region,
    locate_codon,
    pol_protein,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "hivlatent"


def test_lengths():
    assert len(hxb2_genome()) == 9719
    assert len(hxb2_pol()) == len(consensus_pol()) == 5096 - 2085 + 1
    assert {g.name: g.length for g in genes().values()} == {"PR": 99, "RT": 560, "IN": 288}
    assert len(pol_protein()) == 99 + 560 + 288


def test_hxb2_translates_to_the_known_proteins():
    pr = translate(hxb2_region(2253, 2549))
    rt = translate(hxb2_region(2550, 4229))
    integrase = translate(hxb2_region(4230, 5093))
    assert pr.startswith("PQVTLWQRPL") and pr.endswith("CTLNF") and len(pr) == 99
    assert rt.startswith("PISPIETVPV") and rt.endswith("SAGIRKVL") and len(rt) == 560
    assert integrase.startswith("FLDGIDKAQ") and integrase.endswith("ASRQDED")
    assert translate(hxb2_region(5094, 5096)) == "*"  # pol ends with IN's stop codon
    assert translate(hxb2_pol()).count("*") == 1


def test_consensus_template_translates_to_the_consensus_proteins():
    pol = translate(consensus_pol())
    for g in genes().values():
        assert pol[g.pol_start // 3:g.pol_end // 3] == g.consensus
    assert gene("PR").consensus.startswith("PQITLWQRPL")
    assert gene("RT").consensus.startswith("PISPIETVPV")
    assert gene("IN").consensus.startswith("FLDGIDKAQE")


def test_known_hxb2_differences_from_consensus_b():
    hx = translate(hxb2_pol())
    diffs = {
        g.name: [f"{c}{i + 1}{h}" for i, (c, h) in
                 enumerate(zip(g.consensus, hx[g.pol_start // 3:g.pol_end // 3])) if c != h]
        for g in genes().values()
    }
    assert diffs["PR"] == ["I3V", "N37S"]
    assert diffs["RT"][:4] == ["K122E", "F214L", "A272P", "K277R"]
    assert len(diffs["RT"]) == 11
    assert diffs["IN"] == ["E10D", "I72V", "S123G", "T124A", "K127R", "D232N"]


def test_agrees_with_the_package_consensus_module():
    spec = importlib.util.spec_from_file_location("_consensus", SRC / "data" / "consensus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert gene("PR").consensus == module.PROTEASE
    assert gene("RT").consensus == module.RT and gene("IN").consensus == module.INTEGRASE


def test_coordinates():
    assert gene("PR").hxb2_start == 2253 and gene("IN").hxb2_start == 4230
    assert locate_codon(gene("RT").pol_offset(184) + 2) == ("RT", 184)
    assert locate_codon(0) is None  # pol before protease (p6*/TFP)
    assert consensus_residue("RT", 184) == "M" and consensus_residue("rt", 215) == "T"
    with pytest.raises(ValueError, match="RT has positions 1-560"):
        consensus_residue("RT", 561)
    with pytest.raises(ValueError, match="unknown gene"):
        gene("env")


def test_codon_mixtures():
    assert translate_codon("ATG") == {"M"}
    assert translate_codon("RTG") == {"M", "V"}  # M184MV
    assert translate_codon("TWC") == {"F", "Y"}  # T215FY
    assert translate_codon("TRG") == {"W", "*"}  # W88W*: a stop codon in a mixture
    assert translate_codon("GGN") == {"G"}  # ambiguity that changes nothing
    assert translate_codon("NNN") is None  # too many possibilities: uncallable
    assert translate_codon("MMA") == {"K", "P", "Q", "T"}  # 4 amino acids: still called
    assert translate_codon("A-G") is None and codon_amino_acids("AT") == frozenset()
    assert reverse_complement("ACGTRYN") == "NRYACGT"
    assert order_residues({"I", "V"}, "V") == ("V", "I")
    assert order_residues({"Y", "F"}, "T") == ("F", "Y")
    assert order_residues({"*", "W"}, "W") == ("W", "*")
    assert codons_for(frozenset("FY"))[:2] == ("TWC", "TWT")
