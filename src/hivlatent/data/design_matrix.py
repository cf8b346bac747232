"""Design matrices exported as CSV, the way R users write them (``write.csv(XX)``, ``write.csv(YY)``).

- X: one 0/1 column per mutation, plus optional id columns: ``row``, ``SeqID``, ``id``, R's
  unnamed row-name column, or (when none of these) a first column that is not all 0/1.
- Y: one column per drug (``3TC`` or R's ``X3TC``, ``ABC``...), fold changes (``y_scale="fold"``)
  or log10 fold changes (``y_scale="log10"``); ``NA`` or empty = not tested. Id columns as in X.
- Rows are matched by id when X and Y share an id column (``id_column`` names it), otherwise by
  order, which requires equal row counts.
- Feature names follow :mod:`hivlatent.data.mutations` (``M184V``, ``184V``, ``T69ins``, R's
  ``X.184V``) and become ``M184V``; a column that is neither an id nor a mutation is an error
  naming the file and the column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .cutoffs import GENES
from .dataset import Dataset, labels_from_folds, labels_from_log_fold, load_cutoffs, log10_fold
from .hivdb_tables import (
    RawTable,
    check_phenotypes,
    drug_of_column,
    first_true,
    known_drugs,
    parse_numbers,
    read_rows,
)
from .mutations import normalise_feature

_ID_NAMES = ("", "ROW", "ROWS", "ROWNAME", "ROWNAMES", "ROW.NAMES", "SEQID", "SEQUENCEID", "ID",
             "UNNAMED: 0")
Y_SCALES = ("fold", "log10")


def _id_columns(raw: RawTable, id_column: str | None) -> list[int]:
    cols = [j for j, h in enumerate(raw.header) if h.strip().upper() in _ID_NAMES]
    if id_column is not None:
        cols += [j for j, h in enumerate(raw.header) if h == id_column and j not in cols]
    return sorted(cols)


def _id_name(raw: RawTable, j: int) -> str:
    return raw.header[j] or "row"


def _values(raw: RawTable, j: int) -> np.ndarray:
    return np.array([r[j].strip() for r in raw.rows], dtype=object).astype(str)


def _check_unique(raw: RawTable, j: int, ids: np.ndarray) -> None:
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        first = int(np.argmax(ids == ids[i]))
        raise DataError(f"{raw.path}: line {raw.lines[i]}, column {_id_name(raw, j)!r}: duplicate "
                        f"id {str(ids[i])!r} (first on line {raw.lines[first]}); expected unique "
                        f"ids")


def load_design_matrix(x_csv: str | Path, y_csv: str | Path, y_scale: str = "log10",
                       id_column: str | None = None, cutoffs=None,
                       name: str | None = None) -> Dataset:
    """A Dataset from an X (0/1 mutation columns) and a Y (one column per drug) CSV file.

    ``y_scale``: ``"fold"`` (fold change) or ``"log10"`` (log10 fold change, as MTPS's ``YY``).
    ``id_column``: the id column shared by X and Y (default: ``row``, ``SeqID``, ``id`` or R's
    unnamed row-name column when both files have it; otherwise rows are matched by order).
    Labels: 1 = resistant (fold >= the lower cutoff of ``cutoffs``), NaN where not tested.
    ``ids`` are the SeqIDs when either file has them, else the matched id, else 1..n.
    """
    if y_scale not in Y_SCALES:
        raise ConfigError(f"y_scale: expected one of {', '.join(Y_SCALES)}, got {y_scale!r}")
    xr = read_rows(x_csv, "X file")
    yr = read_rows(y_csv, "Y file")
    for raw in (xr, yr):
        if not raw.rows:
            raise DataError(f"{raw.path}: no data rows after the header; expected one row per "
                            f"virus")
    if id_column is not None:
        if id_column not in xr.header and id_column not in yr.header:
            raise DataError(f"{xr.path}: line {xr.header_line}: no id column {id_column!r} (nor in {yr.path}); "
                            f"expected it in at least one of the two files")

    # --- Y: drugs and phenotypes
    y_ids = _id_columns(yr, id_column)
    drug_cols: list[int] = []
    drugs: list[str] = []
    for j, h in enumerate(yr.header):
        if j in y_ids:
            continue
        drug = drug_of_column(h)
        if drug is None:
            raise DataError(f"{yr.path}: line {yr.header_line}, column {h!r}: unknown drug; expected one of "
                            f"{', '.join(known_drugs())} (or an id column such as row or SeqID)")
        if drug in drugs:
            raise DataError(f"{yr.path}: line {yr.header_line}, column {h!r}: drug {drug} appears twice; "
                            f"expected one column per drug")
        drug_cols.append(j)
        drugs.append(drug)
    if not drugs:
        raise DataError(f"{yr.path}: line {yr.header_line}: no drug columns; expected one column per drug "
                        f"({', '.join(known_drugs())})")
    classes = {known_drugs()[d] for d in drugs}
    if len(classes) > 1:
        raise DataError(f"{yr.path}: line {yr.header_line}: drugs of more than one class ({', '.join(drugs)}); "
                        f"expected the drugs of one class")
    drug_class = classes.pop()
    gene = GENES[drug_class][0]
    if y_scale == "fold":
        yvals = parse_numbers(yr, drug_cols, "a fold change (a number >= 0)", nonnegative=True)
    else:
        yvals = parse_numbers(yr, drug_cols, "a log10 fold change (a number)", nonnegative=False)
    check_phenotypes(yr, drug_cols, yvals, y_scale)

    # --- X: id columns and 0/1 features
    x_ids = _id_columns(xr, id_column)
    frame = xr.frame()
    if not x_ids and len(xr.header) > 1:
        first = frame[0]
        if not first.isin(["0", "1"]).all():
            x_ids = [0]
    feat_cols = [j for j in range(len(xr.header)) if j not in x_ids]
    if not feat_cols:
        raise DataError(f"{xr.path}: line {xr.header_line}: no mutation columns; expected one 0/1 column per "
                        f"mutation")
    block = frame[feat_cols].to_numpy(dtype=object)
    ones = block == "1"
    zeros = block == "0"
    other = ~(ones | zeros)
    if other.any():
        # tolerate 0.0 / 1.0 as written by some exports
        as_num = pd.DataFrame(block).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        ones = ones | (other & (as_num == 1.0))
        zeros = zeros | (other & (as_num == 0.0))
        bad = ~(ones | zeros)
        if bad.any():
            i, k = first_true(bad)
            raise DataError(f"{xr.path}: line {xr.lines[i]}, column {xr.header[feat_cols[k]]!r}: "
                            f"expected 0 or 1, got {str(block[i, k])!r}")
    X = ones.astype(np.float32)
    names = []
    for j in feat_cols:
        try:
            names.append(normalise_feature(xr.header[j], gene))
        except DataError as exc:
            raise DataError(f"{xr.path}: line {xr.header_line}, column {xr.header[j]!r}: not a "
                            f"mutation ({exc}); expected an id column (row, SeqID, id) or one 0/1 "
                            "column per mutation such as M184V or X.184V") from None
    seen: dict[str, int] = {}
    for k, nm in enumerate(names):
        if nm in seen:
            raise DataError(f"{xr.path}: line {xr.header_line}, column {xr.header[feat_cols[k]]!r}: the same "
                            f"mutation as column {xr.header[feat_cols[seen[nm]]]!r} ({nm}); "
                            f"expected one column per mutation")
        seen[nm] = k

    # --- match rows
    x_names = {_id_name(xr, j).upper(): j for j in x_ids}
    y_names = {_id_name(yr, j).upper(): j for j in y_ids}
    common = [n for n in x_names if n in y_names]
    if id_column is not None and id_column.upper() in common:
        common = [id_column.upper()]
    meta = pd.DataFrame({_id_name(xr, j): _values(xr, j) for j in x_ids})
    if common:
        key = common[0]
        xj, yj = x_names[key], y_names[key]
        xid, yid = _values(xr, xj), _values(yr, yj)
        _check_unique(xr, xj, xid)
        _check_unique(yr, yj, yid)
        pos = pd.Index(yid).get_indexer(xid)
        if (pos < 0).any():
            i = int(np.argmax(pos < 0))
            raise DataError(f"{xr.path}: line {xr.lines[i]}, column {_id_name(xr, xj)!r}: id "
                            f"{str(xid[i])!r} is not in {yr.path}; expected the same ids in X "
                            f"and Y")
        if len(yid) != len(xid):
            extra = np.setdiff1d(np.arange(len(yid)), pos)
            i = int(extra[0])
            raise DataError(f"{yr.path}: line {yr.lines[i]}, column {_id_name(yr, yj)!r}: id "
                            f"{str(yid[i])!r} is not in {xr.path}; expected the same ids in X "
                            f"and Y")
    else:
        if len(xr.rows) != len(yr.rows):
            raise DataError(f"{xr.path} has {len(xr.rows)} rows but {yr.path} has "
                            f"{len(yr.rows)}; without a shared id column (such as row or SeqID) "
                            f"rows are matched by order, so expected equal counts")
        pos = np.arange(len(yr.rows))
    yvals = yvals[pos]
    for j in y_ids:
        nm = _id_name(yr, j)
        if nm not in meta.columns:
            meta[nm] = _values(yr, j)[pos]

    seqid = [c for c in meta.columns if c.upper() in ("SEQID", "SEQUENCEID")]
    if seqid:
        ids = meta[seqid[0]].to_numpy(dtype=object).astype(str)
    elif len(meta.columns):
        ids = meta[meta.columns[0]].to_numpy(dtype=object).astype(str)
    else:
        ids = np.arange(1, len(X) + 1).astype(str)

    cut = load_cutoffs(cutoffs)
    for d in drugs:
        cut.for_drug(d)
    if y_scale == "fold":
        log_fold = log10_fold(yvals)
        labels = labels_from_folds(yvals, drugs, cut)
    else:
        log_fold = yvals
        labels = labels_from_log_fold(yvals, drugs, cut)
    x_path = Path(x_csv)
    return Dataset(
        name=name or x_path.name, drug_class=drug_class, gene=gene, ids=ids, X=X,
        observed=np.ones(X.shape, dtype=bool), feature_names=names, drugs=drugs,
        log_fold=log_fold, labels=labels, cutoffs=cut, source=f"{xr.path} + {yr.path}",
        sha256=f"{xr.sha256} {yr.sha256}", meta=meta,
    )
