"""benchmarks/keras_reference.py and study_vs_keras.py with the package's interpreter, which has no
TensorFlow (it is never a dependency of hivlatent): the Keras reference prints one line and exits
0, so CI can call it; study_vs_keras.py answers --help. No timing assertions."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from helpers import ROOT

BENCH = ROOT / "benchmarks"
SKIP_LINE = ("keras_reference: tensorflow-cpu is not installed "
             "(pip install tensorflow-cpu==2.21.*); skipped")


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, check=False)


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None,
                    reason="TensorFlow is installed in this interpreter: no skip line to check")
def test_keras_reference_without_tensorflow_prints_one_line_and_exits_0():
    proc = _run("keras_reference.py", "--quick")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [SKIP_LINE], proc.stdout
    assert proc.stderr == ""


def test_keras_reference_help():
    proc = _run("keras_reference.py", "--help")
    assert proc.returncode == 0, proc.stderr
    for opt in ("--likelihood", "--quick", "--seed", "--json", "--python"):
        assert opt in proc.stdout


def test_study_vs_keras_help():
    proc = _run("study_vs_keras.py", "--help")
    assert proc.returncode == 0, proc.stderr
    for opt in ("--keras-python", "--hivlatent-python", "--skip-keras", "--keras-json",
                "--likelihood", "--quick", "--json"):
        assert opt in proc.stdout


def test_study_vs_keras_skip_keras_needs_a_json():
    proc = _run("study_vs_keras.py", "--skip-keras")
    assert proc.returncode == 2
    assert "--keras-json" in proc.stderr


def test_the_keras_reference_trains_exactly_the_study_grid():
    """The reference repeats the study grid on purpose (it imports nothing from hivlatent); this
    keeps the two copies equal, so the speed ratio always compares the same 14 models."""
    from hivlatent.study.grid import StudyConfig, stage1_points, stage2_points, unique_points

    spec = importlib.util.spec_from_file_location("keras_reference", BENCH / "keras_reference.py")
    ref = importlib.util.module_from_spec(spec)
    sys.modules["keras_reference"] = ref          # dataclasses resolve their module by name
    try:
        spec.loader.exec_module(ref)
        cfg, grid = StudyConfig(), ref.Grid()
        ours1 = [p.slug for p in stage1_points(cfg)]
        theirs1 = [c.slug for c in ref.stage1(grid)]
        assert ours1 == theirs1 and len(ours1) == 11
        best_ours, best_theirs = stage1_points(cfg)[4], ref.stage1(grid)[4]
        ours = {p.slug for p in unique_points(stage1_points(cfg) + stage2_points(cfg, best_ours))}
        theirs = set(theirs1) | {c.slug for c in ref.stage2(grid, best_theirs)}
        assert ours == theirs and len(ours) == 14
    finally:
        sys.modules.pop("keras_reference", None)
