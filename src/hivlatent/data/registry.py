"""Data sets by name, by path, or as an X/Y design matrix: one entry point for every command.

Names (case-insensitive):

- ``nrti-1246``: the study's data set, the MTPS 1246 x 228 NRTI matrix (ABC, 3TC, AZT, D4T, DDI),
  rebuilt exactly from ``NRTI_DataSet.txt`` (see :mod:`hivlatent.data.nrti1246`).
- ``nrti``: all NRTI rows with any phenotype (1498), 6 drugs including TDF.
- ``nnrti``: ``NNRTI_stanford.csv`` (EFV, NVP, ETR, RPV).
- ``pi``: ``PI_DataSet.txt`` (8 drugs).
- ``pi-full``: ``PI_DataSet.Full.txt``, every assay method (rows repeat SeqIDs; groups = PtID).
- ``insti``: ``INI_DataSet.Full.txt``, HIVDB's integrase-inhibitor phenotypes (RAL, EVG, DTG, BIC,
  CAB; PhenoSense), with the table's censoring marks; groups = PtID, lab isolates by genotype.

Anything else is read as a path: an R data file (``.rda``/``.RData``, MTPS's ``HIV.rda``) or an
HIVDB table. The files behind the names are found by :func:`hivlatent.data.sources.find_file`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import ConfigError, DataError
from . import nrti1246
from .cutoffs import DRUG_CLASSES
from .dataset import Dataset
from .design_matrix import Y_SCALES, load_design_matrix
from .encoding import build_dataset
from .hivdb_tables import read_table
from .sources import KNOWN_FILES, find_file, locate_file


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    filename: str


DATASETS: dict[str, DatasetInfo] = {d.name: d for d in (
    DatasetInfo("nrti-1246", "the study's MTPS 1246 x 228 NRTI matrix: ABC 3TC AZT D4T DDI",
                "NRTI_DataSet.txt"),
    DatasetInfo("nrti", "all NRTI rows with a phenotype (1498): 3TC ABC AZT D4T DDI TDF",
                "NRTI_DataSet.txt"),
    DatasetInfo("nnrti", "NNRTI table, CSV export (1765 rows): EFV NVP ETR RPV",
                "NNRTI_stanford.csv"),
    DatasetInfo("pi", "PI table (1958 rows): FPV ATV IDV LPV NFV SQV TPV DRV", "PI_DataSet.txt"),
    DatasetInfo("pi-full", "PI table, all assay methods (4504 rows, one per measurement)",
                "PI_DataSet.Full.txt"),
    DatasetInfo("insti", "INSTI table (1103 isolates, PhenoSense): RAL EVG DTG BIC CAB",
                "INI_DataSet.Full.txt"),
)}
_RDA_SUFFIXES = (".rda", ".rdata")


@dataclass(frozen=True)
class DatasetListing:
    """A known data set and where its file is (None = not found locally)."""

    name: str
    description: str
    filename: str
    found: Path | None
    downloadable: bool

    @property
    def where(self) -> str:
        if self.found is not None:
            return str(self.found)
        return "not found (downloaded on first use)" if self.downloadable else "not found"


def list_datasets(data_dir: str | Path | None = None) -> list[DatasetListing]:
    """The known data sets and where each file is found (nothing is downloaded)."""
    out = []
    for info in DATASETS.values():
        found = None
        if data_dir is not None:
            candidate = Path(data_dir) / info.filename
            found = candidate if candidate.is_file() else None
        if found is None:
            found = locate_file(info.filename)
        known = KNOWN_FILES.get(info.filename)
        out.append(DatasetListing(info.name, info.description, info.filename, found,
                                  bool(known and known.downloadable)))
    return out


def _load_named(info: DatasetInfo, data_dir, min_count, drugs, cutoffs, mixture) -> Dataset:
    path = find_file(info.filename, data_dir)
    table = read_table(path)
    if info.name == "nrti-1246":
        if min_count is not None or mixture is not None:
            raise ConfigError("nrti-1246 has a fixed feature list and cell encoding: min_count and "
                              "mixture cannot be changed (use the data set 'nrti' for that)")
        mask = nrti1246.row_mask(table.folds, table.cells) if set(nrti1246.DRUGS) <= set(
            table.drugs) else None
        n = -1 if mask is None else int(mask.sum())
        if n != nrti1246.N_ROWS:
            raise DataError(
                f"{path}: {max(n, 0)} rows meet the nrti-1246 row rule (all of ABC 3TC AZT D4T DDI "
                f"tested, no '.' cell), expected {nrti1246.N_ROWS}: nrti-1246 is defined on "
                f"NRTI_DataSet.txt with sha256 {nrti1246.SOURCE_SHA256}, this file has "
                f"{table.sha256}")
        ds = build_dataset(table, drugs=list(nrti1246.DRUGS), cutoffs=cutoffs, mixture="first2",
                           feature_list=list(nrti1246.FEATURES), rows=mask, name=info.name)
        return ds.select_drugs(list(drugs)) if drugs else ds
    rows = None
    if info.name == "nrti":
        rows = table.folds.notna().any(axis=1).to_numpy()
    if info.name == "insti" and drugs is None:
        drugs = [d for d in DRUG_CLASSES["INSTI"] if d in table.drugs]   # the class's order
    return build_dataset(table, min_count=10 if min_count is None else min_count, drugs=drugs,
                         cutoffs=cutoffs, mixture=mixture or "all", rows=rows, name=info.name)


def load_dataset(name_or_path: str | Path, *, data_dir: str | Path | None = None,
                 min_count: int | None = None, drugs: Sequence[str] | None = None,
                 cutoffs=None, mixture: str | None = None) -> Dataset:
    """A data set by name (``nrti-1246``, ``nrti``, ``nnrti``, ``pi``, ``pi-full``, ``insti``) or
    by path.

    - ``nrti-1246`` is exactly MTPS's 1246 x 228 matrix (rows, row order, features, feature
      order; drugs ABC, 3TC, AZT, D4T, DDI; ``log_fold`` = log10 fold; ``ids`` = SeqID;
      ``meta["row"]`` = MTPS's row name). ``min_count`` and ``mixture`` are fixed for it.
    - A path ending in ``.rda``/``.RData`` is read as MTPS's ``HIV.rda`` with pyreadr
      (:func:`hivlatent.data.rda.read_rda`): its row names give the row numbers, its labels are
      recomputed with 1 = resistant (MTPS's own binary coding is the opposite, 1 = susceptible).
    - Any other path is read as an HIVDB table (:func:`hivlatent.data.hivdb_tables.read_table`) and
      encoded by :func:`hivlatent.data.dataset.build_dataset` (defaults: ``min_count=10``,
      ``mixture="all"``).

    ``data_dir``: a folder to look in for the named data sets' files (else ``$HIVLATENT_DATA_DIR``,
    the cache, a download). ``drugs``: keep these drugs, in this order. ``cutoffs``: a
    :class:`~hivlatent.data.cutoffs.Cutoffs` or a ``drug,lower[,upper]`` CSV path.
    """
    key = str(name_or_path).strip()
    info = DATASETS.get(key.lower())
    if info is not None:
        return _load_named(info, data_dir, min_count, drugs, cutoffs, mixture)
    path = Path(key).expanduser()
    if not path.exists():
        raise DataError(f"{key}: not a known data set ({', '.join(DATASETS)}) and no such file")
    if path.suffix.lower() in _RDA_SUFFIXES:
        from .rda import read_rda

        if min_count is not None or mixture is not None:
            raise ConfigError(f"{path}: an R data file is already encoded: min_count and mixture "
                              f"do not apply")
        ds = read_rda(path, cutoffs=cutoffs)
        return ds.select_drugs(list(drugs)) if drugs else ds
    table = read_table(path)
    return build_dataset(table, min_count=10 if min_count is None else min_count, drugs=drugs,
                         cutoffs=cutoffs, mixture=mixture or "all", name=path.name)


def resolve_data(data: str | Path | None = None, x: str | Path | None = None,
                 y: str | Path | None = None, y_scale: str = "log10", *,
                 id_column: str | None = None, cutoffs=None, drugs: Sequence[str] | None = None,
                 data_dir: str | Path | None = None, min_count: int | None = None,
                 mixture: str | None = None, default: str | None = None) -> Dataset:
    """The Dataset that a command's data options describe (every command accepts the same forms).

    Either ``data`` (a name or a path, see :func:`load_dataset`) or ``x`` and ``y`` (a design
    matrix, see :func:`hivlatent.data.design_matrix.load_design_matrix`, with ``y_scale`` "fold"
    or "log10" and ``id_column``). With neither, ``default`` (for example ``"nrti-1246"``) is
    loaded, or a ConfigError says what to give.
    """
    if data is not None and (x is not None or y is not None):
        raise ConfigError("give either DATA (a name or a path) or --x and --y, not both")
    if (x is None) != (y is None):
        raise ConfigError("--x and --y go together: give both the X (mutations) and the Y "
                          "(phenotypes) CSV")
    if y_scale not in Y_SCALES:
        raise ConfigError(f"--y-scale: expected one of {', '.join(Y_SCALES)}, got {y_scale!r}")
    if x is not None:
        if min_count is not None or mixture is not None:
            raise ConfigError("--x/--y give an encoded design matrix: min_count and mixture do "
                              "not apply")
        ds = load_design_matrix(x, y, y_scale=y_scale, id_column=id_column, cutoffs=cutoffs)
        return ds.select_drugs(list(drugs)) if drugs else ds
    if data is None:
        if default is None:
            raise ConfigError(f"no data given: expected a data set name ({', '.join(DATASETS)}), "
                              f"a path to an HIVDB table or HIV.rda, or --x X.csv --y Y.csv")
        data = default
    return load_dataset(data, data_dir=data_dir, min_count=min_count, drugs=drugs,
                        cutoffs=cutoffs, mixture=mixture)
