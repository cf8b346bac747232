"""Per-drug fold-change cutoffs and drug classes.

A virus is *resistant* (label 1) to a drug when its fold change is at or above the drug's lower
cutoff. The upper cutoff separates intermediate from (high-level) resistant for S/I/R calls:
S if fold < lower, I if lower <= fold < upper, R if fold >= upper.

Lower cutoffs are those of DESIGN.md (NRTI as in the MTPS vignette / HIVDB PNAS 2006).
NRTI upper cutoffs are the ones implied by the `sir_*` columns of HIVDB's `NRTI_DATA.txt`
(see the data folder's PROVENANCE.md); NNRTI and PI upper cutoffs are the commonly used
HIVDB clinical cutoffs. INSTI lower cutoffs (RAL 4, EVG 4, DTG 3.5, BIC 3.5) are the values
published INSTI benchmarks on HIVDB's PhenoSense data use; CAB's lower cutoff (3.5) and every INSTI
upper cutoff (10, one log10 unit above wild type, as for the NNRTIs) are this package's choice:
HIVDB publishes neither, CAB shares DTG's and BIC's binding mode and assay, and the upper cutoff
only splits I from R in a call (it changes no P(resistant) and no label). Every value can be overridden (``Cutoffs.with_overrides`` or a CSV
file with columns ``drug,lower[,upper]``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, DataFileNotFoundError

#: drugs per class, in the column order of the HIVDB tables
DRUG_CLASSES: dict[str, tuple[str, ...]] = {
    "NRTI": ("3TC", "ABC", "AZT", "D4T", "DDI", "TDF"),
    "NNRTI": ("EFV", "NVP", "ETR", "RPV"),
    "PI": ("FPV", "ATV", "IDV", "LPV", "NFV", "SQV", "TPV", "DRV"),
    "INSTI": ("RAL", "EVG", "DTG", "BIC", "CAB"),
}
#: gene each class targets, and its length in the HIVDB tables
GENES: dict[str, tuple[str, int]] = {"NRTI": ("RT", 240), "NNRTI": ("RT", 240), "PI": ("PR", 99),
                                     "INSTI": ("IN", 288)}
#: positions per gene in the HIVDB genotype-phenotype tables (the genes are longer: RT 560)
TABLE_LENGTHS: dict[str, int] = {gene: length for gene, length in GENES.values()}

_LOWER: dict[str, float] = {
    "3TC": 3.0, "ABC": 2.0, "AZT": 3.0, "D4T": 1.5, "DDI": 1.5, "TDF": 1.5,
    "EFV": 3.0, "NVP": 3.0, "ETR": 3.0, "RPV": 3.0, "DLV": 3.0,
    "FPV": 3.0, "ATV": 3.0, "IDV": 3.0, "LPV": 9.0, "NFV": 3.0, "SQV": 3.0, "TPV": 2.0,
    "DRV": 10.0, "APV": 3.0, "RTV": 3.0,
    "RAL": 4.0, "EVG": 4.0, "DTG": 3.5, "BIC": 3.5, "CAB": 3.5,
}
_UPPER: dict[str, float] = {
    "3TC": 25.0, "ABC": 6.0, "AZT": 25.0, "D4T": 3.0, "DDI": 3.0, "TDF": 3.0,
    "EFV": 10.0, "NVP": 10.0, "ETR": 10.0, "RPV": 10.0, "DLV": 10.0,
    "FPV": 15.0, "ATV": 15.0, "IDV": 15.0, "LPV": 55.0, "NFV": 6.0, "SQV": 15.0, "TPV": 8.0,
    "DRV": 90.0, "APV": 15.0, "RTV": 15.0,
    "RAL": 10.0, "EVG": 10.0, "DTG": 10.0, "BIC": 10.0, "CAB": 10.0,
}


def drug_class_of(drug: str) -> str:
    """The class ("NRTI", "NNRTI", "PI", "INSTI") of a drug name; DataError for an unknown drug."""
    for cls, drugs in DRUG_CLASSES.items():
        if drug.upper() in drugs:
            return cls
    known = ", ".join(d for ds in DRUG_CLASSES.values() for d in ds)
    raise DataError(f"unknown drug {drug!r}; expected one of {known}")


@dataclass(frozen=True)
class Cutoffs:
    """Lower (resistant) and upper (high-level) fold-change cutoffs per drug."""

    lower: dict[str, float] = field(default_factory=lambda: dict(_LOWER))
    upper: dict[str, float] = field(default_factory=lambda: dict(_UPPER))

    def __post_init__(self) -> None:
        for drug, lo in self.lower.items():
            hi = self.upper.get(drug, lo)
            if not (lo > 0 and hi >= lo):
                raise DataError(
                    f"cutoffs for {drug}: expected 0 < lower <= upper, got lower={lo}, upper={hi}"
                )

    def for_drug(self, drug: str) -> tuple[float, float]:
        if drug not in self.lower:
            raise DataError(f"no cutoff for drug {drug!r}; known: {', '.join(sorted(self.lower))}")
        lo = self.lower[drug]
        return lo, self.upper.get(drug, lo)

    def with_overrides(self, lower: dict[str, float] | None = None,
                       upper: dict[str, float] | None = None) -> "Cutoffs":
        lo, hi = dict(self.lower), dict(self.upper)
        lo.update(lower or {})
        hi.update(upper or {})
        return Cutoffs(lo, hi)

    @classmethod
    def from_csv(cls, path: str | Path) -> "Cutoffs":
        """The defaults overridden by a CSV with columns ``drug,lower`` and optionally ``upper``
        (one row per drug). Every problem is a DataError naming the file and line: a missing or
        unreadable file, an unknown drug, a drug given twice, a row with fields missing or extra,
        a value that is not a finite number > 0, an upper cutoff below the lower one. An upper
        cutoff left out stays the default one, raised to the lower cutoff if that is higher."""
        path = Path(path)
        if path.is_dir():
            raise DataError(f"{path}: is a folder; expected a cutoffs file 'drug,lower[,upper]'")
        if not path.is_file():
            raise DataFileNotFoundError(f"{path}: cutoffs file not found")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{path}: not UTF-8 text; expected a CSV file 'drug,lower[,upper]'") \
                from None
        rows = list(csv.reader(text.splitlines()))
        while rows and not any(f.strip() for f in rows[0]):
            rows.pop(0)
        header = [h.strip().lower() for h in rows[0]] if rows else []
        if header not in (["drug", "lower"], ["drug", "lower", "upper"]):
            raise DataError(f"{path}: line 1: expected the header 'drug,lower' or "
                            f"'drug,lower,upper', got {','.join(header)!r}")
        lower: dict[str, float] = {}
        upper: dict[str, float] = {}
        seen: dict[str, int] = {}
        for lineno, fields in enumerate(rows[1:], start=2):
            if not any(f.strip() for f in fields):
                continue
            where = f"{path}: line {lineno}"
            if len(fields) != len(header):
                raise DataError(f"{where}: {len(fields)} field(s); expected {len(header)} "
                                f"({','.join(header)})")
            drug = fields[0].strip().upper()
            try:
                drug_class_of(drug)
            except DataError as exc:
                raise DataError(f"{where}, column 'drug': {exc}") from None
            if drug in seen:
                raise DataError(f"{where}: drug {drug} again (first on line {seen[drug]}); "
                                "expected one row per drug")
            seen[drug] = lineno
            for key, value in zip(header[1:], fields[1:]):
                text_value = value.strip()
                if not text_value and key == "upper":
                    continue
                try:
                    number = float(text_value)
                except ValueError:
                    number = math.nan
                if not (math.isfinite(number) and number > 0):
                    raise DataError(f"{where}, column {key!r}: expected a fold change > 0, got "
                                    f"{text_value!r}")
                (lower if key == "lower" else upper)[drug] = number
            lo = lower[drug]
            hi = upper.get(drug, max(lo, cls().upper.get(drug, lo)))
            if hi < lo:
                raise DataError(f"{where}: upper cutoff {hi:g} is below the lower one {lo:g}; "
                                "expected lower <= upper")
            upper.setdefault(drug, hi)
        return cls().with_overrides(lower, upper)


DEFAULT_CUTOFFS = Cutoffs()
