"""Encode a parsed HIVDB table (:class:`~hivlatent.data.hivdb_tables.GenoPhenoTable`) as a
:class:`~hivlatent.data.dataset.Dataset`: one 0/1 column per (position, residue), named as in
:mod:`hivlatent.data.mutations` (``M184V``, ``T69ins``, ``D67del``, ``W88*``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .consensus import consensus_residue
from .cutoffs import Cutoffs
from .dataset import Dataset, canonical_drug, labels_from_folds, load_cutoffs, log10_fold
from .mutations import DELETION, INSERTION, RESIDUE_ORDER, feature_name, parse_feature

if TYPE_CHECKING:  # pragma: no cover
    from .hivdb_tables import GenoPhenoTable

_AA = "ACDEFGHIKLMNPQRSTVWY"
#: a cell's characters as residue codes (``^``: once in the NRTI/NNRTI tables, an insertion)
_TOKEN = {**{a: a for a in _AA}, "*": "*", "#": INSERTION, "^": INSERTION, "~": DELETION}
MIXTURE_RULES = ("all", "first2")




def _cell_tokens(cell: str, mixture: str, wild_type: str | None) -> list[str]:
    if cell in ("-", ".", "X"):
        return []
    chars = cell[:2] if mixture == "first2" else cell
    out: list[str] = []
    for ch in chars:
        tok = _TOKEN.get(ch)
        if tok is None or tok in out:
            continue
        if mixture == "all" and tok == wild_type:
            continue  # the consensus letter inside a mixture is not a mutation
        out.append(tok)
    return out


def _row_index(rows, n: int) -> np.ndarray:
    if rows is None:
        return np.arange(n)
    arr = np.asarray(rows)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ConfigError(f"rows: a boolean mask must have one value per table row ({n}), "
                              f"got shape {arr.shape}")
        return np.flatnonzero(arr)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ConfigError("rows: expected a boolean mask or 0-based integer row indices")
    arr = arr.astype(np.int64).ravel()
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ConfigError(f"rows: indices must lie in 0..{n - 1}")
    return arr


def encode_cells(table: "GenoPhenoTable", mixture: str = "all", rows=None
                 ) -> tuple[dict[tuple[int, str], np.ndarray], np.ndarray]:
    """Every (position, residue) indicator present in ``rows`` of ``table``, and the observed mask
    per position: ``({(184, "V"): uint8 (n,), ...}, bool (n, n_positions))``."""
    if mixture not in MIXTURE_RULES:
        raise ConfigError(f"mixture: expected one of {', '.join(MIXTURE_RULES)}, got {mixture!r}")
    idx = _row_index(rows, table.n_rows)
    cells = table.cells.iloc[idx]
    lower = table.lowercase.iloc[idx]
    observed = ~cells.isin([".", "X"]).to_numpy()
    columns: dict[tuple[int, str], np.ndarray] = {}
    for k, col in enumerate(cells.columns):
        pos = int(col[1:])
        values = cells[col]
        if mixture == "first2":
            # MTPS compared characters case-sensitively: a lower-case cell sets no indicator.
            values = values.where(~lower[col].to_numpy(), "-")
        else:
            # HIVdb's notation: a lower-case d is a deletion, i an insertion (d at RT 70, 3 rows)
            low = lower[col].to_numpy()
            values = values.where(~(low & (values == "D").to_numpy()), "~")
            values = values.where(~(low & (values == "I").to_numpy()), "#")
        codes, uniques = pd.factorize(values.to_numpy())
        wild_type = consensus_residue(table.gene, pos)
        toks = [_cell_tokens(u, mixture, wild_type) for u in uniques]
        names = sorted({t for ts in toks for t in ts}, key=lambda r: RESIDUE_ORDER[r])
        if not names:
            continue
        lut = np.zeros((len(uniques), len(names)), dtype=np.uint8)
        for i, ts in enumerate(toks):
            for t in ts:
                lut[i, names.index(t)] = 1
        block = lut[codes]
        for j, r in enumerate(names):
            columns[(pos, r)] = block[:, j]
    return columns, observed


def build_dataset(table: "GenoPhenoTable", min_count: int = 10, drugs: Sequence[str] | None = None,
                  cutoffs: "Cutoffs | str | Path | None" = None, mixture: str = "all",
                  feature_list: Sequence[str] | None = None, rows=None,
                  name: str | None = None) -> Dataset:
    """Encode a parsed HIVDB table as a :class:`Dataset`.

    - Features: one 0/1 column per (position, residue) seen in at least ``min_count`` of the
      chosen rows, ordered by position then residue (amino acids A..Y, ``*``, ``ins``, ``del``),
      named ``M184V`` / ``T69ins`` / ``D67del`` / ``W88*``. ``-``, ``.`` and ``X`` set nothing.
    - ``mixture="all"``: every letter of a mixture counts (lower case as upper case), except the
      consensus-B letter, which is no mutation (``KR`` at RT 65 gives ``K65R`` only).
      ``mixture="first2"``: the MTPS rule, only the first two characters of a cell count, the
      consensus letter included (``KR`` gives ``K65K`` and ``K65R``), and a cell written in lower
      case counts for nothing (MTPS compared case-sensitively).
    - ``feature_list``: use exactly these features in this order instead (``min_count`` is then
      ignored); names may be ours or MTPS's (``X.184V``); a feature never seen is all 0.
    - ``drugs``: the drugs to keep, in this order (default: the table's). Labels use ``cutoffs``
      (a :class:`Cutoffs`, a ``drug,lower[,upper]`` CSV path, or None for the defaults):
      1 = resistant = fold >= lower cutoff, NaN where not tested. ``log_fold`` = log10 fold.
    - ``observed`` is False where the cell at the feature's position is ``.`` or ``X``.
    - ``rows``: a boolean mask or 0-based indices of the table rows to keep (in that order).
    - ``groups`` is the ``PtID`` column when the table has one (:func:`patient_groups`: a row
      without a PtID, such as the INSTI table's lab isolates, is grouped with the rows of the
      same genotype); ``meta`` holds the table's metadata plus ``row`` (1-based data row in the
      file) and ``line`` (1-based file line).
    - ``censor``: the table's censoring marks (``<drug>FoldMatch``) for these rows and drugs, or
      None; labels a bound leaves open are NaN.
    """
    cut = load_cutoffs(cutoffs)
    if drugs is None:
        drug_list = list(table.drugs)
    else:
        drug_list = [canonical_drug(d) for d in drugs]
        for d in drug_list:
            if d not in table.drugs:
                raise DataError(f"{table.path}: line {table.header_line}: unknown drug {d!r}: not a column of this "
                                f"table; expected one of {', '.join(table.drugs)}")
        if not drug_list:
            raise ConfigError("drugs: expected at least one drug")
    for d in drug_list:
        if d not in cut.lower:
            raise DataError(f"no cutoff for drug {d!r}; give one in a cutoffs file "
                            f"(columns drug,lower[,upper])")
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 0:
        raise ConfigError(f"min_count: expected an integer >= 0, got {min_count!r}")

    idx = _row_index(rows, table.n_rows)
    columns, observed_pos = encode_cells(table, mixture, idx)
    pos_index = {p: k for k, p in enumerate(table.positions)}
    n = len(idx)

    if feature_list is not None:
        keys: list[tuple[int, str]] = []
        for f in feature_list:
            try:
                mut = parse_feature(str(f), table.gene)
            except DataError as exc:
                raise ConfigError(str(exc)) from None
            keys.append((mut.position, next(iter(mut.residues))))
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ConfigError(f"feature list names {feature_name(table.gene, *dup)} twice")
    else:
        keys = [k for k, v in columns.items() if int(v.sum()) >= min_count]
        keys.sort(key=lambda k: (k[0], RESIDUE_ORDER[k[1]]))

    X = np.zeros((n, len(keys)), dtype=np.float32)
    observed = np.ones((n, len(keys)), dtype=bool)
    for j, key in enumerate(keys):
        if key in columns:
            X[:, j] = columns[key]
        if key[0] in pos_index:
            observed[:, j] = observed_pos[:, pos_index[key[0]]]
    names = [feature_name(table.gene, *k) for k in keys]

    folds = table.folds[drug_list].to_numpy(dtype=float)[idx]
    censor = (None if table.censor is None
              else table.censor[drug_list].to_numpy(dtype=np.int8)[idx])
    meta = table.meta.iloc[idx].reset_index(drop=True)
    if "row" not in meta.columns:
        meta.insert(0, "row", idx + 1)
    if "line" not in meta.columns:
        meta.insert(1, "line", table.lines[idx])
    return Dataset(
        name=name or table.path.name, drug_class=table.drug_class, gene=table.gene,
        ids=np.asarray(table.ids)[idx], X=X, observed=observed, feature_names=names,
        drugs=drug_list, log_fold=log10_fold(folds),
        labels=labels_from_folds(folds, drug_list, cut, censor), cutoffs=cut,
        source=str(table.path), sha256=table.sha256, groups=patient_groups(table, idx), meta=meta,
        censor=censor,
    )


def patient_groups(table: "GenoPhenoTable", idx: np.ndarray) -> np.ndarray | None:
    """The ``PtID`` of each row (None when the table has no such column), for cross-validation
    folds that keep a patient's viruses together. A row without a PtID (the INSTI table's 383
    lab isolates: site-directed mutants and passaged viruses) is grouped with every other row
    of the same genotype (``lab:`` and its cells): the same mutant measured by several studies
    must not sit on both sides of a split, while distinct mutants of one study may."""
    ptid = [c for c in table.meta.columns if c.upper() == "PTID"]
    if not ptid:
        return None
    groups = table.meta[ptid[0]].to_numpy(dtype=object)[idx].astype(str)
    empty = np.flatnonzero(groups == "")
    if len(empty):
        groups = groups.astype(object)
        cells = table.cells.iloc[idx[empty]].to_numpy(dtype=str)
        groups[empty] = ["lab:" + hashlib.sha1("|".join(row).encode()).hexdigest()[:12]
                         for row in cells]
    return groups
