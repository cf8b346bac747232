"""Shared fixtures. Tests that need the real HIVDB data read it from HIVLATENT_DATA_DIR and fail
(never skip) when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hivdb"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder: $HIVLATENT_DATA_DIR, else ../shared/data/hivdb beside the checkout."""
    path = Path(os.environ.get("HIVLATENT_DATA_DIR", _DEFAULT))
    if not (path / "NRTI_DataSet.txt").is_file():
        pytest.fail(f"real HIVDB data not found in {path}: set HIVLATENT_DATA_DIR")
    os.environ["HIVLATENT_DATA_DIR"] = str(path)
    return path
