"""benchmarks/speed.py --smoke runs end to end in a few seconds and prints the expected table.
No timing assertions: the numbers depend on the machine and its load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

SCRIPT = ROOT / "benchmarks" / "speed.py"


def _trust_script():
    """benchmarks/trust.py as a module, for its helpers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("trust", ROOT / "benchmarks" / "trust.py")
    trust = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trust)
    return trust


def _header(md: str) -> dict[str, str]:
    """The results file's header table as {field: value}."""
    rows = [line.split("|")[1:-1] for line in md.split("\n\n")[2].splitlines()[2:]]
    return {k.strip(): v.strip() for k, v in rows}


def test_results_file_header_names_command_machine_load_version_and_disturbance(tmp_path,
                                                                               monkeypatch):
    import hivlatent

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import results_file

    loads = iter([0.1, 0.2, 2.5, 3.0])
    monkeypatch.setattr(results_file, "load1", lambda: next(loads))
    quiet = results_file.ResultsFile("demo", "A demo", ["--n", "5"], tmp_path / "demo.md")
    quiet.write("| a |\n|---|\n| 1 |")
    md = (tmp_path / "demo.md").read_text()
    head = _header(md)
    assert md.startswith("# A demo\n") and md.endswith("| a |\n|---|\n| 1 |\n")
    assert head["command"] == "`python benchmarks/demo.py --n 5`"
    assert head["hivlatent"] == hivlatent.__version__
    assert head["1-minute load"] == "0.10 before, 0.20 after"
    assert f"{os.cpu_count()} cores" in head["machine"] and "torch" in head["machine"]
    assert head["disturbed"].startswith("no (1-minute load before the run at most 0.5)")
    busy = results_file.ResultsFile("demo", "A demo", [], tmp_path / "busy.md")
    assert busy.disturbed
    busy.write("x")
    assert _header((tmp_path / "busy.md").read_text())["disturbed"].startswith(
        "**yes**: the 1-minute load was 2.50 before the run, above 0.5")
    # a smoke run never replaces the real results unless told where to write
    import argparse

    monkeypatch.setattr(results_file, "load1", lambda: 0.0)
    ap = argparse.ArgumentParser()
    results_file.add_results_option(ap, "demo")
    assert results_file.results_for(ap.parse_args([]), "demo", "t", [], smoke=True) is None
    assert results_file.results_for(ap.parse_args(["--no-results"]), "demo", "t", []) is None
    assert results_file.results_for(ap.parse_args([]), "demo", "t", []).path == \
        ROOT / "docs" / "results" / "demo.md"


@pytest.mark.slow
def test_the_published_trust_tables_are_the_per_fold_rows(tmp_path):
    """docs/results/trust.md is what `trust.py --reuse --out benchmarks/results` makes of the
    per-fold rows kept in benchmarks/results (every data set there; no training): stale tables
    fail here."""
    out = tmp_path / "trust.md"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "trust.py"), "--reuse",
                           "--data", "pi", "--out", "benchmarks/results", "--results", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    body = lambda md: md.split("\n\n", 3)[3]      # noqa: E731  (after title, note, header)
    made = out.read_text()
    for name in ("nrti-1246", "nrti", "nnrti", "pi", "pi-full"):
        assert f"\n## {name}\n" in made
    assert _header(made)["disturbed"] == "not applicable: no times in this file"
    assert body(made) == body((ROOT / "docs" / "results" / "trust.md").read_text())


def _run(tmp_path: Path, *extra: str) -> tuple[str, dict]:
    out = tmp_path / "speed.json"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--json", str(out), *extra],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.loads(out.read_text())


@pytest.mark.slow
def test_speed_smoke_prints_the_table(tmp_path):
    text, res = _run(tmp_path, "--results", str(tmp_path / "speed.md"))
    lines = text.splitlines()
    md = (tmp_path / "speed.md").read_text()             # written only because it was asked
    assert md.startswith("# Training speed") and md.rstrip().endswith(text.rstrip())
    assert _header(md)["command"].startswith("`python benchmarks/speed.py --smoke --json ")
    assert any(line.startswith("Ceiling: fp32 matmul") and "GFLOP/s" in line for line in lines)
    header = ("| training run | models | samples/s | model GFLOP/s | % of matmul ceiling "
              "| peak memory (MiB) | others' CPU (cores) |")
    assert header in lines
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("|---")]
    names = [r.split("|")[1].strip() for r in rows]
    for expected in ("plain loop, TensorDataset + DataLoader(shuffle)",
                     "plain loop, index batches (randperm + index)",
                     "engine, K = 1", "engine, K = 8", "engine, K = 64",
                     "engine (hivlatent.study: stage 1, best, stage 2; --workers 0)"):
        assert expected in names, (expected, names)
    plain_grid = [n for n in names if n.startswith("plain per-model loop")]
    assert len(plain_grid) == 2 and all("estimate" in n for n in plain_grid)
    # every training row has numbers in every column
    for r in rows:
        if r.split("|")[1].strip().startswith(("plain loop", "engine, K")):
            cells = [c.strip() for c in r.split("|")[2:-1]]
            assert len(cells) == 6 and all(cells), r
    assert "Targets:" in lines
    targets = [line for line in lines if line.startswith("- ")]
    assert len(targets) == 2
    assert targets[0].startswith("- study grid at least 5x faster")
    assert targets[1].startswith("- K = 64 at least 40%")
    assert all(("NOT MET" in t) or (" MET" in t) for t in targets)

    # the JSON holds the same measurements
    assert [r["models"] for r in res["throughput"]] == [1, 1, 1, 8, 64]
    # the ceiling is the higher of two measurements, before and after the training runs, and
    # every fraction is of that one
    m = res["machine"]
    assert m["ceiling_gflops"] == max(m["ceiling_start_gflops"], m["ceiling_end_gflops"]) > 0
    for r in res["throughput"]:
        assert abs(r["fraction_of_ceiling"] - r["model_gflops"] / m["ceiling_gflops"]) < 1e-12
    assert f"before the training runs and {m['ceiling_end_gflops']:.1f} after them" in text
    assert res["n_params"] == 62712
    g = res["grid"]
    assert g["configurations"] == 14 and g["seeds"] == 3 and g["models"] == 42
    assert g["engine_seconds"] > 0 and all(p["estimate"] for p in g["plain"])
    assert len(g["plain"][0]["per_model"]) == 42
    assert {t["name"] for t in res["targets"]} == {
        "study grid >= 5x faster than the plain loop", "K = 64 >= 40% of the matmul ceiling"}


@pytest.mark.slow
def test_speed_compile_rows_beside_the_plain_engine_and_out_of_the_targets(tmp_path):
    """--compile measures each K a second time with the engine's step through torch.compile;
    the 40% target still reads the engine as it ships."""
    text, res = _run(tmp_path, "--no-grid", "--ks", "2", "--compile")
    runs = [r["run"] for r in res["throughput"]]
    assert runs[2] == "engine, K = 2" and runs[3].startswith(
        "engine, K = 2, step through torch.compile (warm-up epoch, compiling included: ")
    assert [r["how"] for r in res["throughput"][2:]] == ["train_many", "train_many+compile"]
    assert all(r["samples_per_s"] > 0 for r in res["throughput"])
    assert "NOT MET" in text or " MET" in text
    assert res["breakdown"] is None                 # without --breakdown nothing timed in parts


@pytest.mark.slow
def test_speed_breakdown_times_the_largest_step_in_parts(tmp_path):
    """--breakdown times the largest K's step in parts (gradients, Adam, both on one batch, the
    engine's own step from its row) beside the step that 40% of the ceiling allows."""
    text, res = _run(tmp_path, "--no-grid", "--ks", "1,4", "--breakdown")
    b = res["breakdown"]
    assert b["models"] == 4 and b["batch"] == 32
    ceiling = res["machine"]["ceiling_gflops"]
    for key in ("gradients_ms", "adam_ms", "step_ms", "engine_ms", "target_ms", "copy_gbs",
                "adam_1thread_ms", "profiled_ms", "products_ms", "products_gflops"):
        assert b[key] > 0, key
    # one hidden layer a side: four products forward; backward, a weight gradient and an input
    # gradient for each layer but the first (no gradient of the input itself)
    assert b["products_calls"] == 4 + 2 + 2 + 2 + 1
    assert abs(b["other_ms"] - (b["gradients_ms"] - b["products_ms"])) < 1e-9
    assert abs(b["products_fraction"] - b["products_gflops"] / ceiling) < 1e-9
    assert f"{b['products_ms']:.2f} ms" in text
    # the state: parameters, gradients and both moments of four 62,712-parameter models
    assert abs(b["state_mib"] - 16 * 4 * 62712 / 2 ** 20) < 1e-9
    assert b["adam_bytes"] == 28 * 4 * 62712
    assert abs(b["adam_stream_ms"] - b["adam_bytes"] / (b["copy_gbs"] * 1e9) * 1e3) < 1e-9
    # 40% of the ceiling, as a step: the step's model FLOPs over 0.4 x the ceiling
    assert abs(b["target_ms"] - 6 * 62712 * 4 * 32 / (0.4 * ceiling * 1e9) * 1e3) < 1e-9
    line = next(x for x in text.splitlines() if x.startswith("One step of K = 4 models"))
    assert f"{b['gradients_ms']:.2f}" in line and f"{b['target_ms']:.2f}" in line
    # without the option nothing is timed in parts: checked on the --compile run above


@pytest.mark.slow
def test_trust_smoke_prints_every_target(tmp_path):
    """benchmarks/trust.py --smoke evaluates, compares and names each missed target by drug."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "HIVLATENT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "trust.py"), "--smoke",
                           "--data", "nrti-1246", "--out", str(tmp_path / "trust")],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert "## nrti-1246" in text and "command: `hivlatent evaluate --data nrti-1246" in text
    for drug in ("ABC", "3TC", "AZT", "D4T", "DDI"):
        assert f"| {drug} |" in text
    met = next(line for line in text.splitlines() if line.startswith("targets met: "))
    n_met, n_all = int(met.split()[2]), int(met.split()[4])
    missed = [line for line in text.splitlines() if line.startswith("- MISSED")]
    assert n_all == 25 and n_met + len(missed) == n_all
    assert (tmp_path / "trust" / "trust.md").read_text().count("| DDI |") == 1
    assert (tmp_path / "trust" / "nrti-1246" / "comparison.csv").is_file()


@pytest.mark.slow
def test_startup_benchmark_times_every_command(tmp_path):
    out = tmp_path / "startup.json"
    results = tmp_path / "startup.md"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "startup.py"), "--runs", "1",
                           "--json", str(out), "--results", str(results)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "| command | median (s) | best (s) |" in lines
    rows = [line for line in lines if line.startswith("| `")]
    assert len(rows) == 15 and all(float(r.split("|")[2]) > 0 for r in rows)
    targets = [line for line in lines if line.startswith("target: ")]
    assert len(targets) == 4 and all(t.endswith(")") or t.endswith("met") or "MISSED" in t
                                     for t in targets)
    res = json.loads(out.read_text())
    assert res["torch_free"] == {"--version": True, "--help": True}   # the CLI keeps torch out
    assert {r["command"] for r in res["rows"]} >= {"hivlatent --version", "hivlatent --help"}
    # the results file: the run's header, then the same table and the targets as a list
    md = results.read_text()
    assert md.startswith("# Command-line start-up\n")
    assert f"| command | `python benchmarks/startup.py --runs 1 --json {out} --results {results}` |" in md
    assert all(row in md for row in rows) and md.count("\n- ") == 4


@pytest.mark.slow
def test_operating_point_smoke_prints_both_balanced_accuracies():
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "operating_point.py"),
                           "--smoke", "--data", "nnrti", "--drugs", "EFV,RPV"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in proc.stdout.splitlines()
            if line.startswith(("| EFV", "| RPV"))]
    assert [r[0].strip() for r in rows] == ["EFV", "RPV"]
    for r in rows:
        as_given = float(r[2].split("±")[0])
        model, how_many = r[3].split("(")
        tuned = float(r[4].split("±")[0])
        assert 0.5 <= as_given <= 1 and 0.4 <= float(model.split("±")[0]) <= 1
        assert how_many.strip() in ("0/2)", "1/2)", "2/2)")
        assert 0.4 <= tuned <= 1 and 0.5 <= float(r[6]) <= 1
        brier, brier_model = float(r[7]), float(r[8])
        assert 0 < brier < 0.25 and 0 < brier_model < 0.25


@pytest.mark.slow
def test_trust_adds_repeats_to_an_earlier_run(tmp_path):
    """trust.py --first-repeat: the new folds are appended to the earlier run's per_fold.csv
    only when that run holds exactly the repeats before, with the same methods."""
    import pandas as pd

    trust = _trust_script()
    rows = lambda folds, methods=("lr", "semi10-heads"): pd.DataFrame(  # noqa: E731
        [{"method": m, "drug": "ABC", "metric": "auc", "fold": f, "value": 0.9}
         for m in methods for f in folds])
    earlier = tmp_path / "per_fold.csv"
    alone, reps = trust.add_repeats(earlier, rows(range(5, 15)), 1, 5)
    assert reps == 2 and not earlier.exists()                       # no earlier run: alone
    assert trust.command_of("pi", alone, 5, reps, tmp_path) == (         # and said so
        f"python benchmarks/trust.py --data pi --folds 5 --first-repeat 1 --repeats 2 "
        f"--out {tmp_path}")
    rows(range(5)).to_csv(earlier, index=False)
    both, reps = trust.add_repeats(earlier, rows(range(5, 15)), 1, 5)
    assert reps == 3 and sorted(both["fold"].unique()) == list(range(15))
    assert trust.command_of("pi-full", both, 5, reps, tmp_path) == (
        f"hivlatent evaluate --data pi-full --group-by PtID --folds 5 --repeats 3 "
        f"--out {tmp_path / 'pi-full'}")
    assert pd.read_csv(earlier)["fold"].nunique() == 15
    with pytest.raises(SystemExit, match="expected the 1 repeat"):
        trust.add_repeats(earlier, rows(range(5, 10)), 1, 5)       # already has 15 folds
    rows(range(5), ("lr",)).to_csv(earlier, index=False)
    with pytest.raises(SystemExit, match="methods"):
        trust.add_repeats(earlier, rows(range(5, 10)), 1, 5)
    # the folds are checked before any evaluation runs: a script run stops at once
    (tmp_path / "nnrti").mkdir()
    rows(range(15)).to_csv(tmp_path / "nnrti" / "per_fold.csv", index=False)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "trust.py"), "--data",
                           "nnrti", "--first-repeat", "1", "--repeats", "1", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode != 0 and "expected the 1 repeat(s) before repeat 1" in proc.stderr


@pytest.mark.slow
def test_trust_without_a_semi_method_writes_the_rows_and_says_so(tmp_path):
    """A baseline-only run (to merge with a semi run's rows later) does not crash: it writes the
    per-fold rows and says there are no targets to check."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "trust.py"), "--data",
                           "nrti-1246", "--methods", "ridge", "--folds", "2", "--repeats", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = next(line for line in proc.stdout.splitlines() if "no semi method among" in line)
    assert "ridge" in said.split("among")[1].split(":")[0]
    import pandas as pd

    rows = pd.read_csv(tmp_path / "nrti-1246" / "per_fold.csv")
    assert "ridge" in set(rows["method"]) and rows["fold"].nunique() == 2


def test_trust_merges_runs_of_different_methods_on_the_same_folds(tmp_path):
    """trust.py --merge: a baseline run and a semi run on the same folds become one table
    (a method in both, HIVdb, kept once); other folds or other rows of a shared method stop
    it with one line naming the file."""
    import pandas as pd

    trust = _trust_script()
    rows = lambda methods, folds=range(5), value=0.9: pd.DataFrame(  # noqa: E731
        [{"method": m, "drug": "ABC", "metric": "auc", "fold": f, "value": value}
         for m in methods for f in folds])
    for run, methods in (("base", ("lr", "rf", "hivdb")), ("semi", ("semi10-heads", "hivdb"))):
        (tmp_path / run / "pi").mkdir(parents=True)
        rows(methods).to_csv(tmp_path / run / "pi" / "per_fold.csv", index=False)
    target = tmp_path / "out" / "pi" / "per_fold.csv"
    merged = trust.merge_per_fold([tmp_path / r / "pi" / "per_fold.csv" for r in ("base", "semi")],
                          target)
    assert sorted(merged["method"].unique()) == ["hivdb", "lr", "rf", "semi10-heads"]
    assert len(merged) == 4 * 5 and pd.read_csv(target).equals(merged)
    rows(("semi10-heads", "hivdb"), value=0.8).to_csv(tmp_path / "semi" / "pi" / "per_fold.csv",
                                                      index=False)
    with pytest.raises(SystemExit, match="method hivdb has other rows"):
        trust.merge_per_fold([tmp_path / r / "pi" / "per_fold.csv" for r in ("base", "semi")], target)
    rows(("semi10-heads",), range(3)).to_csv(tmp_path / "semi" / "pi" / "per_fold.csv",
                                             index=False)
    with pytest.raises(SystemExit, match=r"holds folds \[0, 1, 2\]"):
        trust.merge_per_fold([tmp_path / r / "pi" / "per_fold.csv" for r in ("base", "semi")], target)
    rows(("semi10-heads",)).drop(columns="metric").to_csv(
        tmp_path / "semi" / "pi" / "per_fold.csv", index=False)
    with pytest.raises(SystemExit, match="columns"):
        trust.merge_per_fold([tmp_path / r / "pi" / "per_fold.csv" for r in ("base", "semi")], target)
    with pytest.raises(SystemExit, match="no such per-fold table"):
        trust.merge_per_fold([tmp_path / "nowhere" / "pi" / "per_fold.csv"], target)


def test_trust_says_why_a_target_without_its_comparison_is_missed():
    """A run of the model alone (no baseline rows) counts its comparative targets as missed and
    says that nothing was there to compare with, instead of printing 'nan to None'."""
    import pandas as pd

    trust = _trust_script()
    alone = {"drug": "DRV", "best_ba_method": None, "best_r2_method": None,
             "hivdb_diff": -0.01, "coverage90": 0.9, "incoherent": 0.0,
             "met_ba": False, "met_r2": False, "met_probe": False, "met_coverage": True,
             "met_coherent": True}
    lines = trust.missed_targets(pd.DataFrame([alone]))
    assert len(lines) == 3 and not any("nan" in line or "None" in line for line in lines)
    assert "-0.010 to hivdb, no tuned baseline" in lines[0]
    assert all("not checked" in line for line in lines[1:])
    both = {**alone, "best_ba_method": "rf", "ba_diff": -0.02, "best_r2_method": "lasso",
            "r2_diff": -0.005, "probe_diff": -0.01}
    lines = trust.missed_targets(pd.DataFrame([both]))
    assert lines[0].endswith("-0.020 to rf, -0.010 to hivdb") and "-0.005 to lasso" in lines[1]
    assert "probe - lr -0.0100" in lines[2]
