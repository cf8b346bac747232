"""The timing scripts' result files: the header says how a result was measured and marks a run
that started on a loaded machine; evaluate_speed.py's profile and its comparison with an
earlier run. No timing is asserted."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pandas as pd

from helpers import ROOT


def _script(name: str):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_header_names_the_run_and_marks_a_loaded_start_disturbed(tmp_path):
    rh = _script("result_header")
    quiet = rh.header(["hivlatent", "study"], {"Keras": (0.1, 1.9), "hivlatent": (0.3, 1.2)})
    text = "\n".join(quiet)
    for what in ("command: `hivlatent study`", "date: ", "machine: ", "cores", "hivlatent: ",
                 "Keras: 0.10 before, 1.90 after", "hivlatent: 0.30 before"):
        assert what in text
    assert "DISTURBED" not in text and not rh.disturbed({"a": (0.3, 2.0)})
    loaded = "\n".join(rh.header("x", {"Keras": (0.1, 0.2), "hivlatent": (1.4, 1.6)}))
    assert "DISTURBED: hivlatent started" in loaded and rh.disturbed({"a": (0.6, 0.0)})
    assert "idle check" not in "\n".join(rh.header("x", {"a": (3.0, 3.0)}, threshold=None))
    path = rh.write(tmp_path / "r" / "result.md", "Title", quiet, ["| a |", "|---|"])
    assert path.read_text().startswith("# Title\n") and "| a |" in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["result.md"]     # no temporary left
    load, idle = rh.wait_idle(threshold=float("inf"), timeout=0)
    assert idle and load >= 0


def test_evaluate_speed_profile_and_comparison_with_an_earlier_run():
    es = _script("evaluate_speed")
    timings = pd.DataFrame({"methods": ["rfreg", "rfreg", "lr", "hivdb"], "folds": [5, 5, 5, 25],
                            "cpu_seconds": [60.0, 40.0, 10.0, 2.0],
                            "wall_seconds": [61.0, 41.0, 11.0, 3.0]})
    lines = es.profile(timings)
    assert lines[2].startswith("| rfreg | 2 | 100 | 89.3% |") and lines[-1].startswith("| all | 4 |")
    rng = np.random.default_rng(0)
    rows = []
    for run, shift in (("old", 0.0), ("new", 0.01)):
        for fold in range(10):
            rows.append({"run": run, "method": "lr", "drug": "ABC", "metric": "auc", "fold": fold,
                         "value": 0.9 + shift + rng.normal(0, 0.01)})
    df = pd.DataFrame(rows)
    new, old = (df[df.run == r].drop(columns="run") for r in ("new", "old"))
    table, stats = es.against(new, old)
    assert stats["compared"] == 1 and stats["methods"] == ["lr"]
    sd = np.sqrt((new.value.std() ** 2 + old.value.std() ** 2) / 2)
    z = (new.value.mean() - old.value.mean()) / sd
    assert abs(stats["largest"] - abs(z)) < 1e-9 and table[-1].endswith(f"{z:+.2f} |")
    assert stats["identical"] == [] and es.against(old, old)[1]["identical"] == ["lr"]
