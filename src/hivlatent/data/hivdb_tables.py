"""Parse the Stanford HIVDB genotype-phenotype tables into a :class:`GenoPhenoTable`.

Formats read (the separator is taken from the header line, so the file name does not matter):

- the tab-separated ``*_DataSet.txt`` and ``*_DataSet.Full.txt`` downloads: ``SeqID``, optional
  metadata (``PtID``, ``Subtype``, ``Method``, ``RefID``, ...), one fold-change column per drug,
  ``P1..Pn`` and sometimes ``CompMutList``;
- comma-separated exports of the same tables (UTF-8 byte-order mark and CRLF line ends are fine,
  fields may be quoted), for example ``NNRTI_stanford.csv``;
- the lower-case genophenoPNAS2006 layout (``sequenceid``, ``fold_<drug>``, ``p1..p240``) of
  ``NRTI_DATA.txt``; its other per-drug columns (``foldLog10_*``, ``sir_*``...) are kept as metadata;
- HIVDB's phenotype-query exports such as the INSTI table ``INI_DataSet.Full.txt``: ``IsolateID``
  instead of ``SeqID``, a ``<drug>FoldMatch`` column beside each fold change (``=`` exact, ``>``
  the true fold is above the value, the assay's upper limit; ``<`` below it), read into
  :attr:`GenoPhenoTable.censor`; fold changes may carry a thousands separator (``1,000``).

A cell holds ``-`` (consensus B), ``.`` (not sequenced), one or more amino-acid letters (several
letters = a mixture), ``#`` insertion, ``~`` deletion, ``*`` stop codon or ``X`` unknown. Lower case
is tolerated (cells are upper-cased; :attr:`GenoPhenoTable.lowercase` remembers where; a
lower-case ``d`` or ``i`` alone is a deletion or an insertion, as in HIVdb's notation: ``d`` at RT
70 in 3 rows of the NRTI table; the encoder reads them so). ``^`` occurs
once in the NRTI and NNRTI tables (``T^`` at RT 69, the insertion hot spot) and is read as an
insertion, like ``#``; a ``.`` after letters (``K.``, once at RT 102) is ignored. Position columns must be ``P1..Pn``, each once, without gaps, with n
at most the gene's length (RT 240, protease 99). A drug column holds a fold change (at most
:data:`MAX_FOLD`); ``NA`` or an empty field means not tested; a column of numbers under a name
that is not a known drug (``LAM``) is an error, not metadata. A few PI rows
hold ``0.0`` (a fold below 0.05, rounded to one decimal): it is kept here as 0 (see
:data:`hivlatent.data.dataset.ZERO_FOLD` for how it enters log10 fold).

Every error is a :class:`~hivlatent.errors.DataError` whose message names the file, the 1-based
line and the column, and says what was expected.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, DataFileNotFoundError
from ..files import is_device
from .cutoffs import DRUG_CLASSES, GENES

#: amino-acid letters accepted in a cell (X = unknown)
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: every character a cell may hold, besides the whole-cell codes ``-`` and ``.``
CELL_CHARACTERS = AMINO_ACIDS + "X#~*^"
_CELL_RE = re.compile(r"-|\.|[" + re.escape(CELL_CHARACTERS) + r"][" + re.escape(CELL_CHARACTERS)
                      + r".]*")
_POSITION_RE = re.compile(r"[Pp](\d+)")
_NA_TOKENS = frozenset({"", "NA", "N/A", "NAN"})
#: drugs of the older HIVDB tables (PNAS 2006) that are no longer in the class lists
_LEGACY_DRUGS = {"DLV": "NNRTI", "APV": "PI", "RTV": "PI"}
_ID_NAMES = ("SEQID", "SEQUENCEID", "ISOLATEID")
#: the censoring marks of a ``<drug>FoldMatch`` column: exact, at least (above the assay's upper
#: limit: right-censored) and at most (below its lower limit: left-censored)
CENSOR_MARKS = {"=": 0, ">": 1, "<": -1}
_FOLD_MATCH = "FOLDMATCH"
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_EXPECTED_CELLS = (
    "'-' (consensus), '.' (not sequenced), amino-acid letters (several = mixture), "
    "'#' (insertion), '~' (deletion), '*' (stop) or 'X' (unknown)"
)


def known_drugs() -> dict[str, str]:
    """Every drug name a table column may carry, mapped to its class."""
    out = {d: cls for cls, drugs in DRUG_CLASSES.items() for d in drugs}
    out.update(_LEGACY_DRUGS)
    return out


#: metadata columns of the HIVDB tables (upper case), and prefixes of per-drug extras
_META_NAMES = frozenset({"PTID", "SUBTYPE", "METHOD", "REFID", "TYPE", "ISOLATENAME", "SEQTYPE",
                         "COMPMUTLIST", "AUTHOR", "SEQUENCEID", "SEQID", "ROW", "LINE",
                         "ISOLATEID", "SPECIES", "REFYEAR", "MEDLINEID", "TITLE",
                         "COMPLETEMUTATIONLISTAVAILABLE", "INIMAJORDRMS", "INIMINORDRMS",
                         "NONDRMS"})
_META_PREFIXES = ("FOLD_STD_", "FOLDLOG10_", "SIR_")
#: other names of our drugs, for hints (a column under such a name is not read as the drug)
DRUG_SYNONYMS = {"LAM": "3TC", "LMV": "3TC", "ZDV": "AZT", "TFV": "TDF", "ABV": "ABC",
                 "NEV": "NVP", "ETV": "ETR", "DRV/R": "DRV", "LPV/R": "LPV"}


def _check_meta_columns(raw: "RawTable", columns: list[int]) -> None:
    """A column that is not a known metadata name but holds only numbers looks like a drug under
    a name we do not know: an error, so that its phenotypes do not vanish into metadata."""
    frame = raw.frame()
    for j in columns:
        name = raw.header[j].strip().upper()
        if name in _META_NAMES or name.startswith(_META_PREFIXES):
            continue
        text = frame[j]
        values = text[~text.str.upper().isin(_NA_TOKENS)]
        if len(values) and pd.to_numeric(values, errors="coerce").notna().all():
            hint = (f" ({raw.header[j]} is {DRUG_SYNONYMS[name]}: rename the column)"
                    if name in DRUG_SYNONYMS else "")
            raise DataError(f"{raw.path}: line {raw.header_line}, column {raw.header[j]!r}: "
                            f"numbers, like a drug's fold changes, but not a drug name hivlatent "
                            f"knows{hint}; expected one of {', '.join(known_drugs())}, or "
                            "metadata such as PtID, Subtype or Method")


def drug_of_column(name: str) -> str | None:
    """The drug a column header stands for (``3TC``, ``fold_3TC``, R's ``X3TC``), else None."""
    key = name.strip().upper()
    drugs = known_drugs()
    if key.startswith("FOLD_"):
        key = key[5:]
    if key in drugs:
        return key
    if key.startswith("X") and key[1:] in drugs and key[1:][0].isdigit():
        return key[1:]  # R's make.names turns "3TC" into "X3TC"
    return None


# --------------------------------------------------------------------------------------------
# low-level reading: bytes -> header, rows and the 1-based line number of each row


@dataclass(frozen=True, eq=False)
class RawTable:
    """A delimited text file split into fields, before any interpretation."""

    path: Path
    sha256: str
    sep: str
    header: list[str]
    rows: list[list[str]]
    lines: np.ndarray  # 1-based line of each row in the file
    header_line: int = 1

    @cached_property
    def _stripped(self) -> np.ndarray:
        if not self.rows:
            return np.empty((0, len(self.header)), dtype=object)
        arr = np.array(self.rows, dtype=object)
        return map_unique(arr, str.strip)

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame of stripped strings (columns = 0..k-1, as the header)."""
        return pd.DataFrame(self._stripped, columns=range(len(self.header)), dtype=object)


def map_unique(arr: np.ndarray, func) -> np.ndarray:
    """``func`` applied to every element of an object array, computed once per distinct value."""
    codes, uniques = pd.factorize(arr.ravel())
    mapped = np.array([func(u) for u in uniques] + [""], dtype=object)
    return mapped[codes].reshape(arr.shape)


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_bytes(path: str | Path, what: str = "file") -> tuple[Path, bytes]:
    """The bytes of ``path`` (gunzipped when it ends in .gz), or a DataError naming it."""
    path = Path(path)
    if not path.exists():
        raise DataFileNotFoundError(f"{path}: {what} not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a {what}")
    if is_device(path):
        raise DataError(f"{path}: is a device or special file; expected a {what}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: not a valid gzip file: {exc}") from None
    return path, data


def read_rows(path: str | Path, what: str = "table") -> RawTable:
    """Split a tab- or comma-separated text file into header and rows, remembering line numbers.

    The separator is a tab when the header line contains one, else a comma. A UTF-8 byte-order
    mark and CRLF line ends are accepted, blank lines are skipped, and every row must have as many
    fields as the header (trailing empty fields beyond it are ignored).
    """
    path, data = read_bytes(path, what)
    sha = hashlib.sha256(data).hexdigest()
    if b"\x00" in data[:65536]:
        raise DataError(f"{path}: binary data (NUL bytes); expected a tab- or comma-separated text "
                        f"{what}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected a header line and data rows")
    first = text.lstrip("\r\n").split("\n", 1)[0]
    sep = "\t" if "\t" in first else ","
    if sep == "," and "," not in first and ";" in first:
        raise DataError(f"{path}: line 1: the fields are separated by semicolons (';'); expected "
                        "tabs or commas (export the file as comma-separated CSV)")
    quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting,
                        strict=False)
    header: list[str] | None = None
    header_line = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        prev_line = 0
        for fields in reader:
            start = prev_line + 1
            prev_line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if header is None:
                header = [f.strip() for f in fields]
                header_line = start
                while len(header) > 1 and header[-1] == "":
                    header.pop()
                continue
            if len(fields) > len(header):
                extra = fields[len(header):]
                if any(f.strip() for f in extra):
                    raise DataError(
                        f"{path}: line {start}: expected {len(header)} fields as in the header "
                        f"(line {header_line}), found {len(fields)}"
                    )
                fields = fields[:len(header)]
            elif len(fields) < len(header):
                raise DataError(
                    f"{path}: line {start}: expected {len(header)} fields as in the header "
                    f"(line {header_line}), found {len(fields)}"
                )
            rows.append(fields)
            lines.append(start)
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: cannot split the line into fields: "
                        f"{exc}") from None
    assert header is not None
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if name in seen:
            raise DataError(f"{path}: line {header_line}, column {j + 1}: duplicate column name "
                            f"{name!r} (also column {seen[name] + 1}); expected unique names")
        seen[name] = j
    return RawTable(path, sha, sep, header, rows, np.asarray(lines, dtype=np.int64), header_line)


def first_true(mask: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first True of a 2-D mask in reading order (row by row)."""
    flat = int(np.argmax(mask.ravel()))
    return divmod(flat, mask.shape[1])


def parse_numbers(raw: RawTable, columns: list[int], expected: str, nonnegative: bool,
                  line_of_row: np.ndarray | None = None) -> np.ndarray:
    """Parse the given columns of ``raw`` as floats (NA or empty -> NaN), vectorised.

    Anything else raises a DataError naming the first offending line and column.
    """
    n = len(raw.rows)
    out = np.full((n, len(columns)), np.nan)
    if n == 0 or not columns:
        return out
    frame = raw.frame()
    bad = np.zeros((n, len(columns)), dtype=bool)
    for k, j in enumerate(columns):
        text = frame[j]
        na = text.str.upper().isin(_NA_TOKENS).to_numpy()
        grouped = text.str.fullmatch(_THOUSANDS_RE).to_numpy(dtype=bool)
        if grouped.any():            # "1,000" (HIVDB's phenotype exports): a thousands separator
            text = text.where(~grouped, text.str.replace(",", "", regex=False))
        values = pd.to_numeric(text.where(~na, None), errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(values) & ((values >= 0) if nonnegative else True)
        bad[:, k] = ~na & ~ok
        out[:, k] = np.where(na, np.nan, values)
    if bad.any():
        i, k = first_true(bad)
        j = columns[k]
        lines = raw.lines if line_of_row is None else line_of_row
        raise DataError(f"{raw.path}: line {lines[i]}, column {raw.header[j]!r}: expected "
                        f"{expected} or NA, got {raw.rows[i][j].strip()!r}")
    return out


#: the largest fold change a phenotype may have (HIVDB's assays report up to a few thousand):
#: beyond it a value cannot be a fold change (a mistyped cell, or log10 read as fold)
MAX_FOLD = 1e5
#: the log10 range a log10 fold change may take (0.001- to 100,000-fold)
LOG10_RANGE = (-3.0, 5.0)


def check_phenotypes(raw: RawTable, columns: list[int], values: np.ndarray, scale: str,
                     line_of_row: np.ndarray | None = None) -> None:
    """Reject phenotypes that cannot be what ``scale`` ("fold" or "log10") says, naming the
    first offending line and column, with a hint: values outside the plausible range, or a
    column of only 0 and 1 (resistance labels, not fold changes)."""
    lines = raw.lines if line_of_row is None else line_of_row
    for k, j in enumerate(columns):
        v = values[:, k]
        known = np.isfinite(v)
        if (known.sum() >= 10 and np.isin(v[known], (0.0, 1.0)).all()
                and np.unique(v[known]).size == 2):
            raise DataError(f"{raw.path}: column {raw.header[j]!r}: only 0 and 1; expected "
                            f"{'fold changes' if scale == 'fold' else 'log10 fold changes'}, "
                            "not resistance labels (hivlatent makes labels from the fold changes "
                            "and the cutoffs; note MTPS codes 1 = susceptible)")
        if scale == "fold":
            bad = known & (v > MAX_FOLD)
            hint = f"a fold change of at most {MAX_FOLD:g}"
        else:
            bad = known & ((v < LOG10_RANGE[0]) | (v > LOG10_RANGE[1]))
            hint = (f"a log10 fold change between {LOG10_RANGE[0]:g} and {LOG10_RANGE[1]:g}; if "
                    "the file holds fold changes, give --y-scale fold")
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{raw.path}: line {lines[i]}, column {raw.header[j]!r}: "
                            f"{raw.rows[i][j].strip()!r} cannot be right; expected {hint}")


# --------------------------------------------------------------------------------------------
# the table


@dataclass(frozen=True, eq=False)
class GenoPhenoTable:
    """One HIVDB genotype-phenotype table, validated but not yet encoded.

    - ``ids``: (n,) str, the ``SeqID`` column. Unique, except in the "Full" tables (those with a
      ``Method`` column), which hold one row per phenotype measurement, so a sequence tested by
      several assays or studies repeats its SeqID (``PtID`` then groups the rows).
    - ``drugs``: drug names (upper case, e.g. ``3TC``) in file column order.
    - ``folds``: (n, d) float fold changes, columns = ``drugs``, NaN = not tested.
    - ``cells``: (n, p) str, columns ``P1..Pn`` ordered by position, upper-cased, stripped.
    - ``lowercase``: (n, p) bool, True where the file wrote the cell with a lower-case letter.
    - ``meta``: every other column (``PtID``, ``Subtype``, ``Method``, ``RefID``, ``CompMutList``,
      ...), as strings, in file order.
    - ``lines``: (n,) int, the 1-based line of each row in the file (for error messages);
      ``header_line`` is the header's line (1 unless blank lines come first).
    - ``censor``: (n, d) int8 per drug, from the table's ``<drug>FoldMatch`` columns: 0 the fold
      change is exact, 1 the true value is at least it (above the assay's upper limit), -1 at
      most it (below the lower limit); None when the table has no such columns (then a value at
      a drug's largest value is read as right-censored, see :mod:`hivlatent.data.censoring`).
    """

    path: Path
    sha256: str
    drug_class: str
    gene: str
    ids: np.ndarray
    drugs: list[str]
    folds: pd.DataFrame
    cells: pd.DataFrame
    meta: pd.DataFrame
    lines: np.ndarray
    lowercase: pd.DataFrame
    header_line: int = 1
    censor: pd.DataFrame | None = None

    @property
    def n_rows(self) -> int:
        return int(len(self.ids))

    @property
    def positions(self) -> list[int]:
        return [int(c[1:]) for c in self.cells.columns]

    def __repr__(self) -> str:
        return (f"GenoPhenoTable({str(self.path)!r}, {self.drug_class}, {self.n_rows} rows, "
                f"drugs={self.drugs}, positions P1..P{max(self.positions, default=0)})")


def read_table(path: str | Path) -> GenoPhenoTable:
    """Read and validate an HIVDB genotype-phenotype table (tab or CSV; see the module doc)."""
    raw = read_rows(path, "table")
    p = raw.path
    header = raw.header
    hl = raw.header_line

    id_cols = [j for j, h in enumerate(header) if h.upper() in _ID_NAMES]
    if not id_cols:
        raise DataError(f"{p}: line {hl}: no 'SeqID' (or 'IsolateID') column; expected a header "
                        f"with SeqID, drug fold-change columns and P1..Pn")
    id_col = id_cols[0]
    pos_cols: list[tuple[int, int]] = []
    drug_cols: list[tuple[int, str]] = []
    meta_cols: list[int] = []
    match_cols: dict[str, int] = {}
    for j, h in enumerate(header):
        if j == id_col:
            continue
        if h.strip().upper().endswith(_FOLD_MATCH) and len(h.strip()) > len(_FOLD_MATCH):
            drug = drug_of_column(h.strip()[:-len(_FOLD_MATCH)])
            if drug is None:
                raise DataError(f"{p}: line {hl}, column {h!r}: a FoldMatch column of an unknown "
                                f"drug; expected <drug>FoldMatch for one of "
                                f"{', '.join(known_drugs())}")
            match_cols[drug] = j
            continue
        m = _POSITION_RE.fullmatch(h)
        if m:
            pos_cols.append((int(m.group(1)), j))
            continue
        drug = drug_of_column(h)
        if drug is not None:
            if any(d == drug for _, d in drug_cols):
                raise DataError(f"{p}: line {hl}, column {h!r}: drug {drug} appears twice; "
                                f"expected one fold-change column per drug")
            drug_cols.append((j, drug))
            continue
        meta_cols.append(j)
    if not pos_cols:
        raise DataError(f"{p}: line {hl}: no position columns; expected P1..Pn (P1..P240 for RT, "
                        f"P1..P99 for protease, P1..P288 for integrase)")
    positions = [q for q, _ in pos_cols]
    if len(set(positions)) != len(positions) or min(positions) < 1:
        dup = next(q for q in positions if positions.count(q) > 1 or q < 1)
        raise DataError(f"{p}: line {hl}, column 'P{dup}': duplicate or invalid position column; "
                        f"expected P1..Pn once each")
    if not drug_cols:
        known = ", ".join(known_drugs())
        raise DataError(f"{p}: line {hl}: no drug fold-change columns; expected one or more of "
                        f"{known}")
    classes = {known_drugs()[d] for _, d in drug_cols}
    if len(classes) > 1:
        desc = ", ".join(f"{d} ({known_drugs()[d]})" for _, d in drug_cols)
        raise DataError(f"{p}: line {hl}: drug columns of more than one class: {desc}; expected "
                        f"the drugs of one class (NRTI, NNRTI, PI or INSTI)")
    drug_class = classes.pop()
    gene, length = GENES[drug_class]
    top = max(positions)
    if top > length:
        raise DataError(f"{p}: line {hl}, column 'P{top}': beyond {gene} ({length} positions in "
                        f"the HIVDB tables); expected P1..P{length}")
    missing = sorted(set(range(1, top + 1)) - set(positions))
    if missing:
        raise DataError(f"{p}: line {hl}: column P{missing[0]} is missing ({len(missing)} "
                        f"position column(s) missing between P1 and P{top}); expected every "
                        "position column, each once (a missing column would drop its mutations)")
    if not raw.rows:
        raise DataError(f"{p}: no data rows after the header; expected one row per sequence")

    frame = raw.frame()
    lines = raw.lines

    # ids
    ids = frame[id_col].to_numpy(dtype=object).astype(str)
    empty = ids == ""
    if empty.any():
        i = int(np.argmax(empty))
        raise DataError(f"{p}: line {lines[i]}, column {header[id_col]!r}: empty sequence id; "
                        f"expected a unique id per row")
    dup = pd.Series(ids).duplicated().to_numpy()
    # The "Full" tables hold one row per phenotype measurement (a Method column says which assay):
    # there one sequence legitimately appears on several rows. Elsewhere a repeat is an error.
    repeats_allowed = any(header[j].upper() == "METHOD" for j in meta_cols)
    if dup.any() and not repeats_allowed:
        i = int(np.argmax(dup))
        first = int(np.argmax(ids == ids[i]))
        raise DataError(f"{p}: line {lines[i]}, column {header[id_col]!r}: duplicate sequence id "
                        f"{str(ids[i])!r} (first on line {lines[first]}); expected unique ids")

    # folds
    fold_values = parse_numbers(raw, [j for j, _ in drug_cols], "a fold change (a number >= 0)",
                                nonnegative=True)
    check_phenotypes(raw, [j for j, _ in drug_cols], fold_values, "fold")
    drugs = [d for _, d in drug_cols]
    folds = pd.DataFrame(fold_values, columns=drugs)
    censor = _censor_marks(raw, frame, drug_cols, match_cols, fold_values) if match_cols else None

    # cells, ordered by position
    pos_cols.sort()
    raw_cells = frame[[j for _, j in pos_cols]]
    raw_cells.columns = [f"P{q}" for q, _ in pos_cols]
    raw_arr = raw_cells.to_numpy(dtype=object)
    arr = map_unique(raw_arr, str.upper)
    uniques = pd.unique(arr.ravel())
    bad_values = [u for u in uniques if not _CELL_RE.fullmatch(u)]
    if bad_values:
        bad = np.isin(arr, np.array(bad_values, dtype=object))
        i, k = first_true(bad)
        got = raw_cells.iat[i, k]
        raise DataError(f"{p}: line {lines[i]}, column {raw_cells.columns[k]!r}: unknown cell "
                        f"{got!r}; expected {_EXPECTED_CELLS}")
    lowercase = pd.DataFrame(raw_arr != arr, columns=raw_cells.columns)
    cells = pd.DataFrame(arr, columns=raw_cells.columns).astype(str)

    _check_meta_columns(raw, meta_cols)
    meta = frame[meta_cols].copy() if meta_cols else pd.DataFrame(index=range(len(ids)))
    meta.columns = [header[j] for j in meta_cols]
    meta = meta.reset_index(drop=True)

    return GenoPhenoTable(path=p, sha256=raw.sha256, drug_class=drug_class, gene=gene,
                          ids=ids, drugs=drugs, folds=folds, cells=cells, meta=meta,
                          lines=lines, lowercase=lowercase, header_line=hl, censor=censor)


def _censor_marks(raw: RawTable, frame: pd.DataFrame, drug_cols: list[tuple[int, str]],
                  match_cols: dict[str, int], folds: np.ndarray) -> pd.DataFrame:
    """The ``<drug>FoldMatch`` columns as censoring codes (see :data:`CENSOR_MARKS`), checked:
    one per drug column, a known mark beside every fold change, none where there is no value."""
    p, hl, header = raw.path, raw.header_line, raw.header
    drugs = [d for _, d in drug_cols]
    stray = [d for d in match_cols if d not in drugs]
    if stray:
        raise DataError(f"{p}: line {hl}, column {header[match_cols[stray[0]]]!r}: no fold-change "
                        f"column {stray[0]} beside it; expected a FoldMatch column for each drug "
                        "column")
    lacking = [d for d in drugs if d not in match_cols]
    if lacking:
        raise DataError(f"{p}: line {hl}: drug {lacking[0]} has no {lacking[0]}FoldMatch column "
                        "while other drugs do; expected one per drug (=, > or < beside each "
                        "fold change)")
    out = np.zeros(folds.shape, dtype=np.int8)
    for k, drug in enumerate(drugs):
        j = match_cols[drug]
        text = frame[j].to_numpy(dtype=object)
        known = np.isfinite(folds[:, k])
        codes = np.array([CENSOR_MARKS.get(t, 9) for t in text], dtype=np.int8)
        bad = np.flatnonzero((known & (codes == 9)) | (~known & (text != "")))
        if len(bad):
            i = int(bad[0])
            expected = ("'=', '>' or '<' beside the fold change" if known[i]
                        else "nothing where the fold change is missing")
            raise DataError(f"{p}: line {raw.lines[i]}, column {header[j]!r}: "
                            f"{raw.rows[i][j].strip()!r}; expected {expected}")
        out[:, k] = np.where(known, codes, 0)
    return pd.DataFrame(out, columns=drugs)
