"""Honest evaluation: per-drug cross-validation of representations, probes, baselines and
predictors, with leakage-free folds (everything is learned inside the training folds only).

Typical use::

    from hivlatent.evaluation import evaluate, per_drug_table, to_markdown, write_metrics
    df = evaluate(dataset, ["raw-lr", "raw-rf", "pca10-lr", my_representation], folds=5, seed=0)
    write_metrics(df, "out/metrics.csv")
    print(to_markdown(per_drug_table(df)))
"""

from .baselines import BASELINES, parse_method
from .cv import Fold, distinct_fit_sets, make_folds, repeated_folds, resolve_groups
from .harness import evaluate, per_drug_table, resolve_method, summarize, to_markdown, write_metrics
from .metrics import (
    METRICS,
    binary_metrics_from_log_fold,
    classification_metrics,
    regression_metrics,
)
from .probes import (
    BasePredictor,
    BaseRepresentation,
    Method,
    PCARepresentation,
    Predictor,
    PredictorMethod,
    ProbeMethod,
    RawRepresentation,
    Representation,
    SklearnRepresentation,
    as_representation,
    get_representation,
    linear_probe,
)

__all__ = [
    "BASELINES", "METRICS", "BasePredictor", "BaseRepresentation", "Fold", "Method",
    "PCARepresentation", "Predictor", "PredictorMethod", "ProbeMethod", "RawRepresentation",
    "Representation", "SklearnRepresentation", "as_representation",
    "binary_metrics_from_log_fold", "classification_metrics",
    "distinct_fit_sets", "evaluate", "get_representation", "linear_probe", "make_folds",
    "parse_method", "per_drug_table", "regression_metrics", "repeated_folds", "resolve_groups",
    "resolve_method",
    "summarize", "to_markdown", "write_metrics",
]
