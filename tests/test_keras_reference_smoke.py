"""benchmarks/keras_reference.py and study_vs_keras.py with the package's interpreter, which has no
TensorFlow (it is never a dependency of hivlatent): the Keras reference prints one line and exits
0, so CI can call it; study_vs_keras.py answers --help. No timing assertions."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
