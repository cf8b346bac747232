"""Where data files come from: an explicit path, a data folder, the user cache or a download.

:func:`find_file` looks, in this order:

1. ``path``, when given (a file, or a folder holding ``filename``);
2. ``$HIVLATENT_DATA_DIR``;
3. the user cache: ``$HIVLATENT_CACHE_DIR``, else ``pooch.os_cache("hivlatent")``
   (``~/.cache/hivlatent`` on Linux);
4. for the HIVDB tables with a known sha256 (:data:`KNOWN_FILES`): a download from
   ``{BASE_URL}/<file>`` (HIVDB's GenoPhenoDatasets folder) into the cache, checked against
   that sha256.

Files that are not on the HIVDB site (``X.csv``, ``HIV.rda``, ``*_stanford.csv``) are only looked
for; when none is found the DataError lists the places searched. A download that fails or whose
sha256 differs raises a DataError naming the URL (and both hashes). Files found in a folder are
used as they are (a newer HIVDB release is allowed); their sha256 is recorded in the Dataset.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, DataFileNotFoundError
from .hivdb_tables import sha256_of

#: HIVDB's download folder; tests point it at a local server
BASE_URL = "https://hivdb.stanford.edu/download/GenoPhenoDatasets"
#: seconds to wait for the HIVDB server before giving up
TIMEOUT = 30


@dataclass(frozen=True)
class KnownFile:
    """A data file the package knows: its sha256 and whether HIVDB serves it."""

    filename: str
    sha256: str
    downloadable: bool
    description: str


KNOWN_FILES: dict[str, KnownFile] = {f.filename: f for f in (
    KnownFile("NRTI_DataSet.txt",
              "68834a3b7aadec37cde96823cdfa4a8a2cf797622a9fee38cc92688ffc58887b", True,
              "HIVDB NRTI genotype-phenotype table (1498 rows, 6 drugs)"),
    KnownFile("PI_DataSet.txt",
              "b7dae376b4e46648d8b5cf247280436b6e06a7c56046a1d71ab1298aa1b30b29", True,
              "HIVDB PI genotype-phenotype table (1958 rows, 8 drugs)"),
    KnownFile("PI_DataSet.Full.txt",
              "2812be9102205ccc9989c5c9ea2ba6ef4e5fc2fd8e75110d0b2df4c8ed3fbfa9", True,
              "HIVDB PI table, all assay methods (4504 rows)"),
    KnownFile("NNRTI_stanford.csv",
              "a3b2f12ef03dac150c3162438b55c9ba530b7defd602e06ebcef6c4dbedfed3e", False,
              "HIVDB NNRTI table, CSV export (1765 rows, 4 drugs)"),
    KnownFile("PI_stanford.csv",
              "081cc3dd31877feb56c27c513c8b6508ad1a8043369aed5a32f89e43121f38fd", False,
              "HIVDB PI table, CSV export (1808 rows, 8 drugs)"),
    KnownFile("NRTI_DATA.txt",
              "1638f84b1f90cf3ba8425ad80e75187ad93e2e36e4e546c574e7103d37b48326", False,
              "HIVDB PNAS-2006 NRTI export, PhenoSense only (1087 rows)"),
    KnownFile("INI_DataSet.Full.txt",
              "a6219cbef252116b6b85d8d8090b83c704fb058c59bfe47a378d0f4cacc61acb", False,
              "HIVDB INSTI phenotype export (1103 isolates, 5 drugs, FoldMatch censoring)"),
    KnownFile("HIV.rda",
              "abc72018e2a06aa6b3b24600b137a35a6929c1536f88e26853686edec2be8e17", False,
              "R package MTPS data(HIV): the 1246 x 228 NRTI matrix"),
    KnownFile("X.csv",
              "9c0f751a86173a3aeeab67a544dd83f43c2d82ebf37a1891d3948d799e697316", False,
              "MTPS XX as CSV (row + 228 mutation columns)"),
    KnownFile("Y.csv",
              "5cecf4a533bd6b1fcb109ecaefe1ee09aa0131e9a3711fc919f8b656bb3d84fc", False,
              "MTPS YY as CSV (row, SeqID, log10 fold for 5 drugs)"),
    KnownFile("yBin.csv",
              "b8b1d5839b631a24ac40e8ab2eab12a295147c327faa0ab1aefedb4e1fec17b4", False,
              "MTPS binary labels as CSV, 1 = resistant"),
)}


def data_dir() -> Path | None:
    """``$HIVLATENT_DATA_DIR`` as a Path, or None when unset."""
    value = os.environ.get("HIVLATENT_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The user cache folder: ``$HIVLATENT_CACHE_DIR``, else ``pooch.os_cache("hivlatent")``."""
    value = os.environ.get("HIVLATENT_CACHE_DIR", "").strip()
    if value:
        return Path(value).expanduser()
    import pooch

    return Path(pooch.os_cache("hivlatent"))


def url_of(filename: str) -> str:
    return f"{BASE_URL.rstrip('/')}/{filename}"


def _places(path: str | Path | None) -> list[tuple[str, Path | None]]:
    return [
        ("the given path", Path(path).expanduser() if path is not None else None),
        ("$HIVLATENT_DATA_DIR", data_dir()),
        ("the cache", cache_dir()),
    ]


def _in_folder_or_file(where: Path, filename: str) -> Path | None:
    if where.is_file():
        return where
    candidate = where / filename
    return candidate if candidate.is_file() else None


def locate_file(filename: str, path: str | Path | None = None) -> Path | None:
    """Where ``filename`` is found without downloading (same order as :func:`find_file`)."""
    for label, where in _places(path):
        if where is None:
            continue
        found = _in_folder_or_file(where, filename)
        if found is not None:
            if label == "the cache" and not _cache_ok(found, filename):
                continue
            return found
    return None


def _cache_ok(found: Path, filename: str) -> bool:
    known = KNOWN_FILES.get(filename)
    return known is None or not known.downloadable or sha256_of(found) == known.sha256


def find_file(filename: str, path: str | Path | None = None, download: bool = True) -> Path:
    """The local path of ``filename``: ``path``, ``$HIVLATENT_DATA_DIR``, the cache, or a download.

    ``path`` may be the file itself or a folder holding it; when given and nothing is there, that
    is an error (no fallback). A cached HIVDB table whose sha256 differs from the known one is
    downloaded again.
    """
    if path is not None:
        where = Path(path).expanduser()
        found = _in_folder_or_file(where, filename)
        if found is None:
            if where.is_dir():
                raise DataError(f"{where}: no {filename} in this folder; expected the folder "
                                f"that holds it (or the file's own path)")
            raise DataFileNotFoundError(f"{where}: no such file or folder; expected {filename} or a folder "
                            "holding it")
        return found
    found = locate_file(filename)
    if found is not None:
        return found
    known = KNOWN_FILES.get(filename)
    given = data_dir()
    if given is not None and not given.is_dir():      # a mistyped folder: say so, never download
        raise DataFileNotFoundError(
            f"HIVLATENT_DATA_DIR={given}: no such folder; expected the folder that holds "
            f"{filename} (or unset it to use the cache and downloads)")
    if download and known is not None and known.downloadable:
        return download_file(filename)
    searched = "; ".join(
        f"{label} ({where / filename})" if where is not None else f"{label} (unset)"
        for label, where in _places(None)[1:]
    )
    hint = ("it is not on the HIVDB download site: copy it into one of these folders or give its "
            "path" if known is None or not known.downloadable else
            "give its path or set HIVLATENT_DATA_DIR")
    raise DataFileNotFoundError(f"{filename}: not found; looked in {searched}; {hint}")


def download_file(filename: str, cache: str | Path | None = None) -> Path:
    """Download ``filename`` from :data:`BASE_URL` into the cache and check its sha256."""
    import pooch
    import requests

    known = KNOWN_FILES.get(filename)
    if known is None or not known.downloadable:
        raise DataError(f"{filename}: not a file this package can download; downloadable: "
                        f"{', '.join(k for k, v in KNOWN_FILES.items() if v.downloadable)}")
    folder = Path(cache) if cache is not None else cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{folder}: cannot create the cache folder: {exc.strerror or exc}") from None
    url = url_of(filename)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".download-", dir=folder))
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        try:
            fetched = Path(pooch.retrieve(
                url, known_hash=None, fname=filename, path=tmp_dir, progressbar=False,
                downloader=pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT),
            ))
        except requests.exceptions.HTTPError as exc:
            status = getattr(exc.response, "status_code", "?")
            raise DataError(f"{url}: download failed (HTTP {status}); expected the HIVDB table "
                            f"{filename}: give its path or set HIVLATENT_DATA_DIR") from None
        except (requests.exceptions.RequestException, OSError) as exc:
            reason = type(exc).__name__
            raise DataError(f"{url}: download failed, the server cannot be reached ({reason}); "
                            f"give the file's path or set HIVLATENT_DATA_DIR") from None
        actual = sha256_of(fetched)
        if actual != known.sha256:
            raise DataError(f"{url}: the downloaded file differs from the one this package knows: "
                            f"expected sha256 {known.sha256}, got {actual}; HIVDB may have "
                            f"updated it: download it yourself and give its path")
        target = folder / filename
        os.replace(fetched, target)
        return target
    finally:
        logger.setLevel(level)
        for leftover in tmp_dir.glob("*"):
            try:
                leftover.unlink()
            except OSError:
                pass
        try:
            tmp_dir.rmdir()
        except OSError:
            pass
