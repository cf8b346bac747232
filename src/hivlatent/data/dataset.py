"""The Dataset: a design matrix of binary mutation features with per-drug phenotypes.

:func:`build_dataset` turns a parsed HIVDB table (:class:`~hivlatent.data.tables.GenoPhenoTable`)
into a Dataset. Features are named by position and residue with the consensus-B residue in front
when it is known: ``M184V``, the insertion ``T69ins``, the deletion ``D67del``, the stop ``W88*``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .consensus import consensus_residue
from .cutoffs import DEFAULT_CUTOFFS, Cutoffs

if TYPE_CHECKING:  # pragma: no cover
    from .tables import GenoPhenoTable


@dataclass(frozen=True)
class Dataset:
    """What every model and evaluation consumes.

    Shapes: n rows (viruses), p features (mutations), d drugs.
    - ``X``: (n, p) float32, 1 where the virus carries the mutation (mixtures count for each letter).
    - ``observed``: (n, p) bool, False where the position was not sequenced (``.``) or unknown
      (``X``), so models can mask it out of reconstruction losses instead of reading wild type.
    - ``log_fold``: (n, d) float64 log10 fold change, NaN where the drug was not tested.
    - ``labels``: (n, d) float64, 1 = resistant (fold >= lower cutoff), 0 = not, NaN = missing.
    - ``groups``: optional (n,) ids (for example patient id) for grouped cross-validation.
    """

    name: str
    drug_class: str
    gene: str
    ids: np.ndarray
    X: np.ndarray
    observed: np.ndarray
    feature_names: list[str]
    drugs: list[str]
    log_fold: np.ndarray
    labels: np.ndarray
    cutoffs: Cutoffs = DEFAULT_CUTOFFS
    source: str = ""
    sha256: str = ""
    groups: np.ndarray | None = None
    meta: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def fold(self) -> np.ndarray:
        return np.power(10.0, self.log_fold)

    def subset(self, rows: np.ndarray) -> "Dataset":
        """The rows ``rows`` (indices or boolean mask), everything else unchanged."""
        rows = np.asarray(rows)
        meta = None if self.meta is None else self.meta.iloc[rows].reset_index(drop=True)
        return replace(
            self, ids=self.ids[rows], X=self.X[rows], observed=self.observed[rows],
            log_fold=self.log_fold[rows], labels=self.labels[rows],
            groups=None if self.groups is None else self.groups[rows], meta=meta,
        )

    def select_drugs(self, drugs: list[str]) -> "Dataset":
        """Keep the drugs ``drugs`` (in that order); DataError for a drug the data set lacks."""
        drugs = [_canonical_drug(d) for d in drugs]
        missing = [d for d in drugs if d not in self.drugs]
        if missing:
            where = f"{self.source}: " if self.source else ""
            raise DataError(f"{where}unknown drug {missing[0]!r} for data set {self.name!r}; "
                            f"expected one of {', '.join(self.drugs)}")
        idx = [self.drugs.index(d) for d in drugs]
        return replace(self, drugs=list(drugs), log_fold=self.log_fold[:, idx],
                       labels=self.labels[:, idx])


# --------------------------------------------------------------------------------------------
# feature names

#: a fold change written as 0 (HIVDB rounds to one decimal, so it means < 0.05) enters
#: ``log_fold`` as log10(ZERO_FOLD); its label is 0 (below every cutoff).
ZERO_FOLD = 0.05

_AA = "ACDEFGHIKLMNPQRSTVWY"
#: order of residues within a position: amino acids alphabetically, then stop, insertion, deletion
RESIDUE_ORDER: dict[str, int] = {**{a: i for i, a in enumerate(_AA)}, "*": 20, "ins": 21, "del": 22}
_TOKEN = {**{a: a for a in _AA}, "*": "*", "#": "ins", "^": "ins", "~": "del"}
_FEATURE_RE = re.compile(
    r"(?:X\.?)?(?P<wt>[A-Z])?(?P<pos>\d+)_?(?P<res>[A-Z]|\*|#|~|ins|del|INS|DEL|Ins|Del)"
)
MIXTURE_RULES = ("all", "first2")


def feature_name(gene: str, position: int, residue: str) -> str:
    """``M184V``, ``T69ins``, ``D67del``, ``W88*`` (no prefix where the consensus is unknown)."""
    wt = consensus_residue(gene, position) or ""
    return f"{wt}{position}{residue}"


def parse_feature(name: str, gene: str) -> tuple[int, str] | None:
    """(position, residue) of a feature name, or None when it is not position + residue.

    Accepts our names (``M184V``, ``184V``, ``T69ins``, ``D67del``, ``W88*``) and the MTPS/R
    names (``X.184V``, ``X.69#``). A consensus prefix that differs from consensus B is refused.
    """
    text = name.strip()
    m = _FEATURE_RE.fullmatch(text)
    if not m:
        return None
    pos = int(m.group("pos"))
    res = m.group("res")
    res = {"#": "ins", "~": "del"}.get(res, res)
    res = res.lower() if res.lower() in ("ins", "del") else res
    wt = m.group("wt")
    if text.startswith("X.") or (text.startswith("X") and wt is None and text[1:2].isdigit()):
        wt = None  # R's make.names prefix, not a residue
    if wt is not None:
        known = consensus_residue(gene, pos)
        if known is not None and known != wt:
            return None
    return pos, res


def normalise_feature(name: str, gene: str) -> str:
    """Our name for ``name`` (``X.184V`` -> ``M184V``) when it parses, else ``name`` unchanged."""
    parsed = parse_feature(name, gene)
    return name if parsed is None else feature_name(gene, *parsed)


def _canonical_drug(drug: str) -> str:
    from .tables import drug_of_column

    return drug_of_column(str(drug)) or str(drug).strip().upper()


# --------------------------------------------------------------------------------------------
# cutoffs


def load_cutoffs(cutoffs: "Cutoffs | str | Path | None") -> Cutoffs:
    """``None`` -> the defaults; a :class:`Cutoffs` as is; a path -> read a ``drug,lower[,upper]``
    CSV, refusing an unknown drug with the file, line and column in the message."""
    if cutoffs is None:
        return DEFAULT_CUTOFFS
    if isinstance(cutoffs, Cutoffs):
        return cutoffs
    from .tables import known_drugs

    path = Path(cutoffs)
    if path.is_file():
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                for row in reader:
                    drug = (row.get("drug") or "").strip().upper()
                    if drug not in known_drugs():
                        raise DataError(
                            f"{path}: line {reader.line_num}, column 'drug': unknown drug "
                            f"{drug!r}; expected one of {', '.join(known_drugs())}")
        except UnicodeDecodeError:
            raise DataError(f"{path}: not UTF-8 text; expected a CSV file "
                            f"'drug,lower[,upper]'") from None
    return Cutoffs.from_csv(path)


def labels_from_folds(folds: np.ndarray, drugs: Sequence[str], cutoffs: Cutoffs) -> np.ndarray:
    """1 = resistant (fold >= lower cutoff), 0 = not, NaN where the fold is missing."""
    folds = np.asarray(folds, dtype=float)
    lower = np.array([cutoffs.for_drug(d)[0] for d in drugs], dtype=float)
    with np.errstate(invalid="ignore"):
        lab = (folds >= lower[None, :]).astype(float)
    lab[np.isnan(folds)] = np.nan
    return lab


#: tolerance in log10 units when labels come from log10 fold (10**log10(3) may be 2.9999999999999996)
LOG_TOLERANCE = 1e-9


def labels_from_log_fold(log_fold: np.ndarray, drugs: Sequence[str], cutoffs: Cutoffs) -> np.ndarray:
    """As :func:`labels_from_folds` for log10 fold changes (a fold at the cutoff is resistant)."""
    log_fold = np.asarray(log_fold, dtype=float)
    lower = np.log10([cutoffs.for_drug(d)[0] for d in drugs])
    with np.errstate(invalid="ignore"):
        lab = (log_fold >= lower[None, :] - LOG_TOLERANCE).astype(float)
    lab[np.isnan(log_fold)] = np.nan
    return lab


def log10_fold(folds: np.ndarray) -> np.ndarray:
    """log10 of fold changes; 0 (below the tables' rounding) counts as :data:`ZERO_FOLD`."""
    folds = np.asarray(folds, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.log10(np.where(folds == 0, ZERO_FOLD, folds))


# --------------------------------------------------------------------------------------------
# the builder


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
    - ``groups`` is the ``PtID`` column when the table has one; ``meta`` holds the table's
      metadata plus ``row`` (1-based data row in the file) and ``line`` (1-based file line).
    """
    cut = load_cutoffs(cutoffs)
    if drugs is None:
        drug_list = list(table.drugs)
    else:
        drug_list = [_canonical_drug(d) for d in drugs]
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
            parsed = parse_feature(str(f), table.gene)
            if parsed is None:
                raise ConfigError(f"feature {f!r}: expected a mutation like M184V, T69ins, "
                                  f"D67del, W88* or X.184V (consensus B for {table.gene})")
            keys.append(parsed)
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
    meta = table.meta.iloc[idx].reset_index(drop=True)
    if "row" not in meta.columns:
        meta.insert(0, "row", idx + 1)
    if "line" not in meta.columns:
        meta.insert(1, "line", table.lines[idx])
    ptid = [c for c in table.meta.columns if c.upper() == "PTID"]
    groups = table.meta[ptid[0]].to_numpy(dtype=object)[idx].astype(str) if ptid else None
    return Dataset(
        name=name or table.path.name, drug_class=table.drug_class, gene=table.gene,
        ids=np.asarray(table.ids)[idx], X=X, observed=observed, feature_names=names,
        drugs=drug_list, log_fold=log10_fold(folds), labels=labels_from_folds(folds, drug_list, cut),
        cutoffs=cut, source=str(table.path), sha256=table.sha256, groups=groups, meta=meta,
    )
