"""Genotype in, per-drug answer out: :mod:`.predictor` (fold change, interval, P(resistant), call,
rank) and :mod:`.output` (table, CSV, JSON)."""

from .output import CSV_COLUMNS, to_csv, to_json, to_records, to_table
from .predictor import (
    RESEARCH_NOTE,
    DrugPrediction,
    ResistanceModel,
    VirusPrediction,
    call_sir,
    check_bundle,
    predict,
    rank_drugs,
)

__all__ = [
    "CSV_COLUMNS", "RESEARCH_NOTE", "DrugPrediction", "ResistanceModel", "VirusPrediction",
    "call_sir", "check_bundle", "predict", "rank_drugs", "to_csv", "to_json", "to_records",
    "to_table",
]
