"""Read the MTPS ``HIV.rda`` (R package MTPS, ``data(HIV)``) directly, with pyreadr.

The object holds two data.frames: ``XX`` (1246 x 228 mutation indicators, columns ``X.4S`` ...)
and ``YY`` (1246 x 5 log10 fold changes for ABC, 3TC, AZT, D4T, DDI). Their row names are the
1-based row numbers of the rows in HIVDB's ``NRTI_DataSet.txt``.

MTPS's vignette codes the binary response the other way round from this package:
``ymat.bin <- (10^ymat < cutoffs) * 1``, so in MTPS **1 means susceptible**. Here labels are
computed from the fold changes with :class:`~hivlatent.data.cutoffs.Cutoffs`, and **1 means
resistant** (fold >= lower cutoff), as everywhere in hivlatent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .dataset import Dataset, labels_from_log_fold, load_cutoffs
from .hivdb_tables import drug_of_column, known_drugs, read_bytes, sha256_of
from .mutations import normalise_feature


def read_rda(path: str | Path, cutoffs=None, name: str | None = None) -> Dataset:
    """The MTPS ``HIV.rda`` as a Dataset (1246 x 228, drugs ABC 3TC AZT D4T DDI).

    ``ids`` and ``meta["row"]`` are the R row names (row numbers in ``NRTI_DataSet.txt``);
    features are renamed to our notation (``X.184V`` -> ``M184V``); ``labels`` use 1 = resistant
    (MTPS's own binary coding is the opposite, 1 = susceptible).
    """
    path, _ = read_bytes(path, "R data file")
    try:
        import pyreadr

        objects = pyreadr.read_r(str(path))
    except Exception as exc:  # pyreadr raises its own LibrdataError / PyreadrError
        raise DataError(f"{path}: not a readable R data file ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); expected MTPS's "
                        f"HIV.rda with objects XX and YY") from None
    missing = [k for k in ("XX", "YY") if k not in objects]
    if missing:
        raise DataError(f"{path}: no object {missing[0]!r} (found {', '.join(objects) or 'none'});"
                        f" expected MTPS's HIV.rda with objects XX and YY")
    xx: pd.DataFrame = objects["XX"]
    yy: pd.DataFrame = objects["YY"]
    if len(xx) != len(yy):
        raise DataError(f"{path}: XX has {len(xx)} rows but YY has {len(yy)}; expected equal")
    if not xx.index.equals(yy.index):
        raise DataError(f"{path}: the row names of XX and YY differ; expected the same rows")
    drugs = []
    for col in yy.columns:
        drug = drug_of_column(str(col))
        if drug is None:
            raise DataError(f"{path}: YY column {col!r}: unknown drug; expected one of "
                            f"{', '.join(known_drugs())}")
        drugs.append(drug)
    values = xx.to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{path}: XX row {xx.index[i]}, column {xx.columns[j]!r}: expected 0 or 1, "
                        f"got {values[i, j]!r}")
    cut = load_cutoffs(cutoffs)
    log_fold = yy.to_numpy(dtype=float)
    rows = np.asarray(xx.index, dtype=str)
    row_numbers = pd.to_numeric(pd.Series(rows), errors="coerce")
    meta = pd.DataFrame({"row": row_numbers.to_numpy()})
    return Dataset(
        name=name or path.name, drug_class="NRTI", gene="RT", ids=rows,
        X=values.astype(np.float32), observed=np.ones(values.shape, dtype=bool),
        feature_names=[normalise_feature(str(c), "RT") for c in xx.columns], drugs=drugs,
        log_fold=log_fold, labels=labels_from_log_fold(log_fold, drugs, cut),
        cutoffs=cut, source=str(path), sha256=sha256_of(path), meta=meta,
    )
