"""Everything a resistance report holds: HIVdb's annotations against sierralocal's own JSON for
the same FASTA file, the subtype, the applicability note, the versions, standard input and the
cached default models offline."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hivlatent.sequences import make_sequence, write_fasta

RECORDS = {
    "pr_rt": dict(mutations=["PR:L24F", "PR:M46I", "PR:V82T", "PR:L90M", "RT:K65R",
                             "RT:K103N", "RT:Y181C", "RT:M184V", "RT:G190E", "RT:T215FY",
                             "RT:L74W"], genes=("PR", "RT")),
    "insertion": dict(mutations=["RT:M41L", "RT:T69ins"], genes=("RT",)),
    "deletion": dict(mutations=["RT:D67del", "RT:Q151M"], genes=("RT",)),
    "mixture": dict(mutations=["PR:I54IV", "RT:K70KR", "RT:V106VA"], genes=("PR", "RT")),
}
FLAGS = ("isSDRM", "isUnusual", "isApobecMutation", "isApobecDRM", "hasStop", "isInsertion",
         "isDeletion", "primaryType", "consensus")


def _split(text: str) -> tuple[str, frozenset]:
    """``T215YF`` -> (``T215``, {F, Y}): a mutation's text without its residues' order."""
    k = max(i for i, c in enumerate(text) if c.isdigit()) + 1
    return text[:k], frozenset(text[k:])


def write_records(folder: Path) -> Path:
    path = folder / "viruses.fasta"
    write_fasta([(rid, make_sequence(**spec)) for rid, spec in RECORDS.items()], path)
    return path


@pytest.fixture(scope="module")
def fasta(tmp_path_factory) -> Path:
    return write_records(tmp_path_factory.mktemp("fasta"))


@pytest.fixture(scope="module")
def sierralocal_json(fasta, tmp_path_factory) -> dict:
    """sierralocal's own output for the file (its CLI, its aligner), by record id."""
    exe = Path(sys.executable).parent / "sierralocal"
    out = tmp_path_factory.mktemp("sl") / "out.json"
    subprocess.run([str(exe), str(fasta), "-o", str(out)], check=True, capture_output=True,
                   cwd=out.parent)
    return {r["inputSequence"]["header"]: r for r in json.loads(out.read_text())}


@pytest.fixture(scope="module")
def nrti_model(synthetic_model):
    return synthetic_model


@pytest.fixture(scope="module")
def ours(fasta, nrti_model) -> dict:
    """hivlatent's JSON document for the same file."""
    from hivlatent.model import VAEModel
    from hivlatent.prediction import predict_records, to_json
    from hivlatent.prediction.inputs import from_file
    from hivlatent.bundle import load_reference

    models = {"NRTI": (VAEModel.load(nrti_model), load_reference(nrti_model))}
    return json.loads(to_json(predict_records(from_file(fasta), models, hivdb=True)))


def test_every_sierralocal_mutation_annotation_field_by_field(ours, sierralocal_json):
    records = {r["id"]: r for r in ours["records"]}
    assert set(records) == set(sierralocal_json) == set(RECORDS)
    checked = 0
    for rid, theirs in sierralocal_json.items():
        mine = {(m["gene"], m["position"]): m for m in records[rid]["hivdb_mutations"]}
        for gene in theirs["alignedGeneSequences"]:
            name = gene["gene"]["name"]
            for m in gene["mutations"]:
                got = mine[(name, m["position"])]
                for field in FLAGS:
                    assert got[field] == m[field], (rid, name, m["position"], field)
                assert set(got["AAs"]) == set(m["AAs"]), (rid, m)
                checked += 1
            positions = {int("".join(c for c in s["text"] if c.isdigit())) for s in gene["SDRMs"]}
            assert positions == {p for (g, p), a in mine.items() if g == name and a["isSDRM"]}
        assert len(mine) == sum(len(g["mutations"]) for g in theirs["alignedGeneSequences"])
    assert checked == sum(len(spec["mutations"]) for spec in RECORDS.values())
    flags = [m for r in ours["records"] for m in r["hivdb_mutations"]]
    assert any(m["isApobecDRM"] for m in flags) and any(m["isUnusual"] for m in flags)
    assert {m["primaryType"] for m in flags} >= {"Major", "Accessory", "NRTI", "NNRTI"}
    assert any(m["comments"] for m in flags)


def test_partial_scores_and_levels_as_sierralocal_gives_them(ours, sierralocal_json):
    records = {r["id"]: r for r in ours["records"]}
    compared = 0
    for rid, theirs in sierralocal_json.items():
        drugs = {d["drug"]: d for d in records[rid]["drugs"]}
        for gene in theirs["drugResistance"]:
            for ds in gene["drugScores"]:
                name = {"LMV": "3TC"}.get(ds["drug"]["name"], ds["drug"]["name"])
                if name not in drugs:          # a class without a model here (PI, NNRTI)
                    continue
                d = drugs[name]
                assert (d["hivdb_score"], d["hivdb_level"], d["hivdb_text"]) == \
                    (ds["score"], ds["level"], ds["text"])
                mine = d["hivdb_partial_scores"]
                assert [p["score"] for p in mine] == [p["score"] for p in ds["partialScores"]]
                for p, q in zip(mine, ds["partialScores"]):
                    assert len(p["mutations"]) == len(q["mutations"])
                    for a, b in zip(p["mutations"], q["mutations"]):
                        for field in ("primaryType", "triggeredAAs", "comments"):
                            assert a[field] == b[field], (rid, name, field)
                        # sierralocal orders a mixture's residues by its codon table (T215YF)
                        assert _split(a["text"]) == _split(b["text"]), (rid, name)
                        assert a["mutation"].startswith("RT:")
                compared += 1
    assert compared >= 4 * 7


def test_versions_subtype_and_note_in_every_format(fasta, nrti_model, run):
    import hivlatent

    code, out, err = run("predict", "--model", nrti_model, "--file", fasta, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["hivlatent_version"] == hivlatent.__version__
    assert doc["hivdb_algorithm"] == "HIVDB 9.4"
    model = doc["models"]["NRTI"]
    assert model["data"] == "NRTI_synthetic.txt" and len(model["data_sha256"]) == 64
    assert model["hivlatent"] == hivlatent.__version__
    rec = doc["records"][0]
    assert rec["subtype"]["subtype"] == "B" and rec["subtype"]["distance"] < 0.05
    assert rec["applicability"]["level"] in ("typical", "caution", "outside")
    unseen = {d["drug"]: d["applicability"] for d in rec["drugs"] if d["applicability"]}
    assert any("RT:L74W" in a["unseen_mutations"] for a in unseen.values())
    code, out, _ = run("predict", "--model", nrti_model, "--file", fasta, "--format", "csv")
    import csv

    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["hivlatent_version"] for r in rows} == {hivlatent.__version__}
    assert all(r["model"].startswith("NRTI_synthetic.txt sha256:") for r in rows if r["call"])
    assert rows[0]["subtype"] == "B" and rows[0]["applicability"]
    assert any("RT:M184V" in r["hivdb_partial_scores"] for r in rows)
    assert "RT:M184V (NRTI, SDRM)" in rows[0]["hivdb_mutations"]
    code, out, _ = run("predict", "--model", nrti_model, "--file", fasta)
    assert f"hivlatent {hivlatent.__version__}; NRTI model: NRTI_synthetic.txt (sha256" in out
    assert "HIVdb algorithm: HIVDB 9.4" in out and "subtype: B (" in out
    assert "SDRMs: " in out


def test_file_dash_reads_standard_input(fasta, nrti_model, run, monkeypatch):
    from hivlatent.prediction.inputs import from_file

    recs = from_file("-", stdin=io.StringIO(fasta.read_text()))
    assert [r.id for r in recs] == list(RECORDS) and all(r.ok for r in recs)
    lists = from_file("-", stdin=io.StringIO("a\tM184V K65R\nb\tK103N\n"))
    assert [(r.id, len(r.genotype.mutations)) for r in lists] == [("a", 2), ("b", 1)]
    bad = from_file("-", stdin=io.StringIO("a\tM184Z\n"))
    assert "<stdin>: line 1" in bad[0].error
    monkeypatch.setattr(sys, "stdin", io.StringIO("x\tRT:M184V\n"))
    code, out, err = run("predict", "--model", nrti_model, "--file", "-", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["records"][0]["mutations"] == {"RT": ["RT:M184V"]}
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run("predict", "--model", nrti_model, "--file", "-")
    assert code == 2 and "<stdin>: no records (empty" in err


def test_subtype_of_references_left_out(data_dir):
    """A pure-subtype reference's pol, left out of the set, is called its own subtype."""
    import numpy as np

    from hivlatent.subtyping import call_subtype, references

    refs = references()
    assert len(refs.names) == 518 and refs.codes.shape[1] == 3012
    for subtype in ("B", "C", "A1", "D", "G"):
        k = refs.subtypes.index(subtype)
        bases = "".join("ACGT-"[c] if c < 4 else "N" for c in refs.codes[k])
        window = "." * 168 + bases[168:1500] + "." * (3012 - 1500)   # PR + RT 1-344
        call = call_subtype(window, exclude=k)
        assert call.pure == subtype and call.compared > 1000, (subtype, call)
    short = call_subtype("." * 3000 + "ACGTACGTAC" + ".." )
    assert not short.determined and "unambiguous" in short.note
    assert np.isfinite(call.distance)


def test_subtype_through_the_aligner():
    from hivlatent.sequences import align_sequence
    from hivlatent.subtyping import references, subtype_record

    refs = references()
    k = refs.subtypes.index("CRF02_AG")
    bases = "".join("ACGT-"[c] if c < 4 else "N" for c in refs.codes[k])[168:1400]
    rec = align_sequence(bases.replace("-", ""), id="ag")
    call = subtype_record(rec)
    assert call.subtype == "CRF02_AG" and call.distance == 0.0
    assert "CRF02_AG (0.0% from the nearest reference" in call.text()
    assert not subtype_record(None).determined


def test_the_subtype_references_are_the_file_their_provenance_names():
    import hashlib
    from importlib import resources

    data = resources.files("hivlatent.subtyping") / "data"
    provenance = (data / "PROVENANCE.md").read_text()
    digest = hashlib.sha256((data / "hiv1_ref_2023_pol.tsv.gz").read_bytes()).hexdigest()
    assert f"SHA-256 of the file built: `{digest}`" in provenance
    assert "MIT License" in provenance and "Copyright (c) 2025 Ana Santos-Pereira" in provenance


def test_applicability_levels_and_note():
    from hivlatent.config import APPLICABILITY_CAUTION, APPLICABILITY_OUTSIDE
    from hivlatent.prediction.applicability import assess, level_of
    from hivlatent.subtyping import SubtypeCall

    assert level_of(10.0, False, False) == "typical"
    assert level_of(APPLICABILITY_CAUTION, False, False) == "caution"
    assert level_of(APPLICABILITY_OUTSIDE + 0.1, False, False) == "outside"
    assert level_of(10.0, True, False) == level_of(10.0, False, True) == "caution"
    c = SubtypeCall("C", 0.02, "Ref.C", 900, "CRF07_BC", 0.05, pure="C", pure_distance=0.02)
    a = assess(50.0, 1.2, ("RT:L74W",), c)
    assert a.level == "caution" and "RT:L74W" in a.note and "subtype C" in a.note
    assert assess(99.9, 3.0, (), None).note.startswith("outside the training data")


@pytest.mark.slow
def test_default_models_answer_offline_without_the_table(tmp_path, data_dir, monkeypatch,
                                                        small_default_models):
    """Once cached, a default model answers with the data directory gone and no network; a
    table that differs from the one it was trained on makes it stale."""
    import os
    import shutil

    from hivlatent.prediction import defaults

    # a cache of this test's own holding the session's small RT models (RT: both classes
    # answer), linked, not trained again: first-use training is tested in test_predict_sequences
    session_models = Path(os.environ["HIVLATENT_CACHE_DIR"]) / "models"
    monkeypatch.setenv("HIVLATENT_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    for name in ("NNRTI_stanford.csv", "NRTI_DataSet.txt"):
        shutil.copy(Path(data_dir) / name, data)
    monkeypatch.setenv("HIVLATENT_DATA_DIR", str(data))
    assert {"NRTI", "NNRTI"} <= set(small_default_models)
    defaults.models_dir().mkdir(parents=True)
    for c in ("NRTI", "NNRTI"):
        folder = defaults.folder_for(c)             # named for the copied table (the same sha)
        folder.symlink_to(session_models / folder.name, target_is_directory=True)
    assert all(m.ready for m in defaults.status(["NRTI", "NNRTI"]))
    shutil.rmtree(data)                                     # the data directory is gone
    monkeypatch.setenv("HIVLATENT_DATA_DIR", str(tmp_path / "nowhere"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")       # any download would fail
    status = defaults.status(["NNRTI"])[0]
    assert status.ready and status.folder == folder and "not on this machine" in status.note
    env = {**__import__("os").environ}
    proc = subprocess.run([sys.executable, "-m", "hivlatent", "predict", "RT:K103N",
                           "--format", "json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "training" not in proc.stderr and "download" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["models"]["NNRTI"]["data_sha256"].startswith(folder.name.split("-")[1])
    assert {d["drug"] for d in doc["records"][0]["drugs"] if d["call"]} >= {"EFV", "NVP"}
    # the table back, but different: the cached model is not used (it would be retrained)
    data.mkdir()
    text = (Path(data_dir) / "NNRTI_stanford.csv").read_text(encoding="utf-8-sig")
    (data / "NNRTI_stanford.csv").write_text(text + "\n")
    monkeypatch.setenv("HIVLATENT_DATA_DIR", str(data))
    status = defaults.status(["NNRTI"])[0]
    assert not status.ready and status.folder != folder


@pytest.mark.slow
def test_benchmarks_write_their_reports(tmp_path, data_dir):
    root = Path(__file__).resolve().parents[2] / "benchmarks"
    out = tmp_path / "subtyping.md"
    subprocess.run([sys.executable, str(root / "subtyping.py"), "--results", str(out)], check=True,
                   capture_output=True)
    text = out.read_text()
    assert "| pure subtypes | 55 |" in text and "100.0% (55/55)" in text
    out = tmp_path / "applicability.md"
    subprocess.run([sys.executable, str(root / "applicability.py"), "--smoke", "--results", str(out)],
                   check=True, capture_output=True)
    text = out.read_text()
    for heading in ("## By latent-distance percentile", "## By the note's level",
                    "hivlatent ", "| 1-minute load |"):
        assert heading in text


def test_a_process_pool_gives_the_same_document(fasta, nrti_model, tmp_path):
    """``workers=2`` aligns, subtypes and scores (HIVdb) 130 records in two processes: the
    document is the one of one process, record for record."""
    from hivlatent.model import VAEModel
    from hivlatent.prediction import predict_records, to_json
    from hivlatent.prediction.inputs import from_file
    from hivlatent.bundle import load_reference

    spec = RECORDS["pr_rt"]
    path = tmp_path / "many.fasta"
    write_fasta([(f"v{i}", make_sequence(**spec, seed=i)) for i in range(130)], path)
    models = {"NRTI": (VAEModel.load(nrti_model), load_reference(nrti_model))}
    one, two = (json.loads(to_json(predict_records(from_file(path, workers=w), models,
                                                   hivdb=True, workers=w)))
                for w in (1, 2))
    assert one == two
    assert [r["id"] for r in two["records"]] == [f"v{i}" for i in range(130)]
    assert all(r["subtype"] and r["hivdb_mutations"] for r in two["records"])
    assert {d["hivdb_level"] for r in two["records"] for d in r["drugs"]} - {None}


def test_no_pool_starts_when_no_record_has_work_of_its_own(nrti_model, monkeypatch):
    """Mutation lists without HIVdb: nothing per record to subtype or score, so ``workers=2``
    starts no process pool (it would only cost its start-up)."""
    from hivlatent.bundle import load_reference
    from hivlatent.model import VAEModel
    from hivlatent.prediction import predict_records
    from hivlatent.prediction.inputs import from_arguments
    from hivlatent.sequences import batch_pool

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started")

    monkeypatch.setattr(batch_pool, "ProcessPoolExecutor", no_pool)
    records = from_arguments([("M184V", "K65R", "T215Y D67N")[i % 3] for i in range(200)])
    models = {"NRTI": (VAEModel.load(nrti_model), load_reference(nrti_model))}
    answers = predict_records(records, models, hivdb=False, workers=2, explain=False)
    assert len(answers) == 200 and all(a.drugs for a in answers)
