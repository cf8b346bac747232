"""Genotypes or sequences in, per-drug answers out.

:mod:`.inputs` (records from arguments, genotype files and FASTA), :mod:`.predictor` (one
coherent answer per drug from the model's predictive distribution, with drivers, latent
neighbours and HIVdb beside it), :mod:`.formats` (JSON, CSV, table), :mod:`.reference` (the
measured viruses kept with a model), :mod:`.defaults` (the cached default model per drug class).
"""

from ..predictive.calibration import p_resistant
from ..predictive.distribution import call_sir
from .formats import CSV_COLUMNS, to_csv, to_json, to_records, to_table
from .predictor import (
    RESEARCH_NOTE,
    DrugPrediction,
    VirusPrediction,
    check_bundle,
    predict,
    predict_records,
    rank_drugs,
)

__all__ = [
    "CSV_COLUMNS", "RESEARCH_NOTE", "DrugPrediction", "VirusPrediction", "call_sir",
    "check_bundle", "p_resistant", "predict", "predict_records", "rank_drugs", "to_csv",
    "to_json", "to_records", "to_table",
]
