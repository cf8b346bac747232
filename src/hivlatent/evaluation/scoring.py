"""Fitting and scoring methods on folds: a representation (or a multi-task predictor) fit once
per distinct training set, the per-drug probes fit on each fold's training rows, and the test
rows scored (:mod:`.metrics`), as rows ``method, drug, metric, fold, value``. An evaluation task
(:mod:`.tasks`) calls :func:`score_methods` on its training sets and folds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone

from ..data.dataset import Dataset
from ..errors import ConfigError
from .cv import Fold
from .metrics import (
    binary_metrics_from_log_fold,
    calibration_metrics,
    classification_metrics,
    interval_coverage,
    regression_metrics,
)
from .probes import Method, PredictorMethod, ProbeMethod, fit_many, name_of


def _scores(est: Any, Z_train: np.ndarray, y_train: np.ndarray,
            Z_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(resistant) of the test rows and the classifier's calls (its ``predict``, so that a
    threshold tuned in the training rows is used); constant when the training fold has one
    class."""
    classes = np.unique(y_train)
    if classes.size < 2:
        p = np.full(Z_test.shape[0], float(classes[0]) if classes.size else 0.5)
        return p, (p >= 0.5).astype(float)
    model = clone(est).fit(Z_train, y_train.astype(int))
    proba = model.predict_proba(Z_test)[:, list(model.classes_).index(1)]
    return proba, np.asarray(model.predict(Z_test), dtype=float)


def _check_matrix(Z: Any, n: int, what: str) -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim == 1:
        Z = Z[:, None]
    if Z.ndim != 2 or Z.shape[0] != n:
        raise ConfigError(f"{what} returned shape {Z.shape}, expected ({n}, k)")
    if not np.isfinite(Z).all():
        raise ConfigError(f"{what} returned NaN or infinite values")
    return Z


def _record(rows: list[dict], method: str, fold: Fold, metrics: dict[str, float]) -> None:
    for metric, value in metrics.items():
        rows.append({"method": method, "drug": fold.drug, "metric": metric,
                     "fold": fold.fold, "value": value})


def _marks(dataset: Dataset, fold: Fold) -> np.ndarray | None:
    """The censoring marks of the fold's test values (None for data without marks)."""
    return None if dataset.censor is None else dataset.censor[fold.test, fold.drug_index]


def _eval_probe(dataset: Dataset, method: ProbeMethod, folds: list[Fold],
                fit_sets: list[np.ndarray], which: list[int]) -> list[dict]:
    rep = method.representation
    fitted = fit_many(rep, [dataset.subset(r) for r in fit_sets])
    cache: dict[int, np.ndarray] = {}
    rows: list[dict] = []
    for fold, w in zip(folds, which):
        f = fitted[w]
        if id(f) not in cache:
            cache[id(f)] = _check_matrix(f.transform(dataset), dataset.n_rows,
                                         f"{name_of(rep)}.transform")
        _probe_fold(dataset, method, fold, cache[id(f)], rows)
    return rows


def _probe_fold(dataset: Dataset, method: ProbeMethod, fold: Fold, Z: np.ndarray,
                rows: list[dict]) -> None:
    j = fold.drug_index
    labels, log_fold = dataset.labels[:, j], dataset.log_fold[:, j]
    if method.classifier is not None:
        s, calls = _scores(method.classifier, Z[fold.train], labels[fold.train], Z[fold.test])
        _record(rows, method.name, fold,
                classification_metrics(labels[fold.test], s, calls=calls))
        _record(rows, method.name, fold, calibration_metrics(labels[fold.test], s))
    if method.regressor is not None:
        tr = fold.train[np.isfinite(log_fold[fold.train])]
        if tr.size >= 2:
            model = clone(method.regressor).fit(Z[tr], log_fold[tr])
            pred = np.asarray(model.predict(Z[fold.test]), dtype=float).ravel()
            _record(rows, method.name, fold, regression_metrics(log_fold[fold.test], pred,
                                                                _marks(dataset, fold)))
            if method.classifier is None:
                cutoff = dataset.cutoffs.for_drug(fold.drug)[0]
                _record(rows, method.name, fold,
                        binary_metrics_from_log_fold(labels[fold.test], pred, cutoff))


def _eval_predictor(dataset: Dataset, method: PredictorMethod, folds: list[Fold],
                    fit_sets: list[np.ndarray], which: list[int],
                    collect: dict | None = None) -> list[dict]:
    fitted = fit_many(method.predictor, [dataset.subset(r) for r in fit_sets])
    d = len(dataset.drugs)
    rows: list[dict] = []
    for w, model in enumerate(fitted):
        mine = [f for f, k in zip(folds, which) if k == w]
        test_rows = np.unique(np.concatenate([f.test for f in mine]))
        sub = dataset.subset(test_rows)
        preds = {}
        for kind in ("predict_proba", "predict_log_fold", "predict_resistant"):
            fn = getattr(model, kind, None)
            out = fn(sub) if callable(fn) else None
            if out is not None:
                out = np.asarray(out, dtype=float)
                if out.shape != (test_rows.size, d):
                    raise ConfigError(f"{method.name}.{kind} returned shape {out.shape}, "
                                      f"expected ({test_rows.size}, {d})")
                full = np.full((dataset.n_rows, d), np.nan)
                full[test_rows] = out
                out = full
            preds[kind] = out
        interval = None
        if callable(getattr(model, "predict_interval", None)):
            lo, hi, caps = model.predict_interval(sub, 0.9)
            interval = (np.full((dataset.n_rows, d), np.nan), np.full((dataset.n_rows, d), np.nan),
                        caps)
            interval[0][test_rows], interval[1][test_rows] = lo, hi
        for fold in mine:
            j = fold.drug_index
            labels, log_fold = dataset.labels[:, j], dataset.log_fold[:, j]
            proba, lf = preds["predict_proba"], preds["predict_log_fold"]
            calls = preds["predict_resistant"]          # the model's own call, when it has one
            if proba is not None:
                _record(rows, method.name, fold, classification_metrics(
                    labels[fold.test], proba[fold.test, j],
                    calls=None if calls is None else calls[fold.test, j]))
                _record(rows, method.name, fold,
                        calibration_metrics(labels[fold.test], proba[fold.test, j]))
                if collect is not None:
                    store = collect.setdefault(method.name, {}).setdefault(fold.drug, [])
                    store.append((fold.fold, labels[fold.test], proba[fold.test, j]))
            if proba is not None and lf is not None:
                cut = np.log10(dataset.cutoffs.for_drug(fold.drug)[0])
                called = (lf[fold.test, j] >= cut - 1e-9 if calls is None
                          else calls[fold.test, j] > 0.5)
                _record(rows, method.name, fold,
                        {"incoherent": float(np.mean((proba[fold.test, j] > 0.5) != called))})
            if interval is not None:
                cover = interval_coverage(log_fold[fold.test], interval[0][fold.test, j],
                                          interval[1][fold.test, j], interval[2][j],
                                          _marks(dataset, fold))
                _record(rows, method.name, fold, {"coverage90": cover})
            if lf is not None:
                _record(rows, method.name, fold,
                        regression_metrics(log_fold[fold.test], lf[fold.test, j],
                                           _marks(dataset, fold)))
                if proba is None:
                    cutoff = dataset.cutoffs.for_drug(fold.drug)[0]
                    _record(rows, method.name, fold,
                            binary_metrics_from_log_fold(labels[fold.test], lf[fold.test, j],
                                                         cutoff))
    return rows


def score_methods(dataset: Dataset, methods: Sequence[Method], folds: list[Fold],
                  fit_sets: list[np.ndarray], which: list[int],
                  collect: dict | None = None) -> list[dict]:
    """Per-fold rows of ``methods`` (probes and predictors), each fit on ``fit_sets`` (fold i
    on ``fit_sets[which[i]]``) and scored on the folds' test rows. Methods that share a fit
    (the semi model's latent and heads) are fit once when they come in one call.
    ``collect`` receives ``{method: {drug: [(fold, labels, p), ...]}}`` of the predictors."""
    rows: list[dict] = []
    for method in methods:
        if isinstance(method, ProbeMethod):
            rows += _eval_probe(dataset, method, folds, fit_sets, which)
        else:
            rows += _eval_predictor(dataset, method, folds, fit_sets, which, collect)
    return rows
