"""Fitting models: from :class:`~hivlatent.model.VAEModel` objects and their data to the
engine's jobs (:func:`engine_jobs`), many models trained at once (:func:`fit_many`), and, for the
semi model, its output layer fitted on the members' out-of-fold predictions
(:func:`fit_output_layer`). ``VAEModel.fit`` is ``fit_many`` of one task.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from ..config import Progress, withheld_drugs
from ..data.cutoffs import Cutoffs
from ..errors import ConfigError
from ..nn import vae
from ..predictive.output_layer import OutputLayer
from .engine import train_many
from .jobs import Job, TrainData
from .split import member_folds, resistance_strata, train_val_split


def as_array(data) -> np.ndarray:
    """The 0/1 mutation matrix of a Dataset (its ``X``) or of an array, as float32; a read-only
    array (a worker's memory-mapped copy) is copied, since torch warns on tensors it cannot
    write to."""
    X = data.X if hasattr(data, "X") else data
    X = np.asarray(X, dtype=np.float32)
    return X if X.flags.writeable else X.copy()


@dataclass
class FitTask:
    """One model for :func:`fit_many`: the (unfitted) model, its data (a Dataset or an (n, p)
    0/1 array), the rows it trains on (default: all, minus its seeded validation split) or, with
    ``val_rows``, the rows it trains on and the rows it is validated on."""

    model: Any                      # a VAEModel
    data: Any
    rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None
    name: str = ""


def fit_many(tasks: Sequence[FitTask], workers: int | None = None,
             progress: Progress | None = None, description: str = "",
             flush_denormal: bool = False) -> list:
    """Fit every task's model at once on the batched engine and return the models, in order.

    Models of one shape and batch size train together as one tensor program (models differing
    only in widths too, zero-padded, when that saves work), models that differ only in epochs
    share one training path, and independent groups may run in ``workers``
    processes (see :func:`hivlatent.training.engine.train_many`); each model ends exactly as its
    own ``fit`` would leave it (within float rounding). Tasks may share one data object or each
    bring their own (their rows are then stacked). ``progress(done, total, description)`` is
    called per epoch of the longest model. ``flush_denormal``: see
    :class:`hivlatent.training.jobs.TrainData` (the study uses it)."""
    tasks = list(tasks)
    if not tasks:
        return []
    devices = {str(t.model.device) for t in tasks}
    if len(devices) > 1:
        raise ConfigError(f"fit_many: the models are on different devices ({', '.join(sorted(devices))})")
    distinct: dict[int, int] = {}
    datas: list = []
    for t in tasks:
        if id(t.data) not in distinct:
            distinct[id(t.data)] = len(datas)
            datas.append(t.data)
    offsets = np.cumsum([0] + [len(as_array(d)) for d in datas])
    jobs, spans = [], []
    for i, t in enumerate(tasks):
        describe_data(t.model, t.data)
        js = engine_jobs(t.model, t.data, t.rows, t.val_rows, t.name or f"task{i}",
                           int(offsets[distinct[id(t.data)]]))
        spans.append((len(jobs), len(jobs) + len(js)))
        jobs += js
    stacked = datas[0] if len(datas) == 1 else _concat(datas)
    on_epoch = None if progress is None else (lambda done, total: progress(done, total, description))
    data = train_data(stacked)
    data.flush_denormal = flush_denormal
    results = train_many(jobs, data, devices.pop(), on_epoch=on_epoch, workers=workers)
    for t, (a, b) in zip(tasks, spans):
        t.model.set_results(results[a:b])
        fit_output_layer(t.model, t.data, jobs[a:b], int(offsets[distinct[id(t.data)]]))
    return [t.model for t in tasks]


def _concat(datas: list):
    if all(hasattr(d, "observed") for d in datas):
        from ..data.dataset import Dataset

        return Dataset.concat(datas)
    if any(hasattr(d, "observed") for d in datas):
        raise ConfigError("fit_many: mix of Datasets and arrays; give one kind")
    return np.concatenate([as_array(d) for d in datas])


def train_data(dataset, device: str = "cpu") -> TrainData:
    """Tensors for the engine from a Dataset or a bare (n, p) array."""
    if hasattr(dataset, "observed"):
        return TrainData.from_dataset(dataset, device)
    X = torch.as_tensor(as_array(dataset))
    empty = torch.zeros(X.shape[0], 0)
    return TrainData(X, None, empty, empty).to(device)


def engine_jobs(model, dataset, rows: np.ndarray | None = None,
                val_rows: np.ndarray | None = None, name: str = "",
                offset: int = 0) -> list[Job]:
    """The engine's jobs that ``fit`` runs for ``model`` on ``dataset`` (for tools that drive
    :func:`hivlatent.training.engine.train_many` directly): trained on ``rows`` (default all)
    minus a validation split seeded by ``train.seed`` (with ``train.cv_members``, member k
    validates on fold k of a K-fold split of ``rows``, K = members), or validated on
    ``val_rows`` when given; member k is initialised from seed + k. Indices are shifted
    by ``offset`` (the data's place in a stack of data sets)."""
    tc = model.train_config
    rows = np.arange(len(as_array(dataset))) if rows is None else np.asarray(rows)
    labels = getattr(dataset, "labels", None)
    strata = None if labels is None else resistance_strata(labels[rows])
    if val_rows is None and tc.cv_members and model.n_members > 1:
        folds = member_folds(len(rows), model.n_members, tc.seed, strata)
        splits = [(rows[np.concatenate([f for i, f in enumerate(folds) if i != k])],
                   rows[folds[k]]) for k in range(model.n_members)]
    elif val_rows is None:
        tr, va = train_val_split(len(rows), tc.val_fraction, tc.seed, strata)
        splits = [(rows[tr], rows[va])] * model.n_members
    else:
        splits = [(rows, np.asarray(val_rows))] * model.n_members
    return [Job(model.model_config, replace(tc, seed=tc.seed + k), np.sort(tr) + offset,
                np.sort(va) + offset, name=f"{name}#{k}" if name else str(k))
            for k, (tr, va) in enumerate(splits)]


def describe_data(model, dataset) -> None:
    """Set what ``model`` learns from ``dataset``: its features, drugs, class, gene, cutoffs,
    reporting limits and where the data came from."""
    X = as_array(dataset)
    model.feature_names = list(getattr(dataset, "feature_names",
                                      [f"f{i}" for i in range(X.shape[1])]))
    model.drugs = list(getattr(dataset, "drugs", []))
    model.drug_class = getattr(dataset, "drug_class", "")
    model.gene = getattr(dataset, "gene", "")
    model.cutoffs = getattr(dataset, "cutoffs", Cutoffs())
    if model.drugs:
        caps = vae.fold_caps(dataset.log_fold).tolist()
        model.fold_cap = {d: float(10.0 ** c) for d, c in zip(model.drugs, caps)
                          if math.isfinite(c)}
    model.data_info = {"data": getattr(dataset, "name", "array"),
                      "data_sha256": getattr(dataset, "sha256", ""), "rows": int(X.shape[0])}
    if model.model_config.supervised and not model.drugs:
        raise ConfigError("the semi-supervised model needs a data set with drug phenotypes")


def fit_output_layer(model, dataset, jobs: list, offset: int) -> None:
    """The output layer (:class:`~hivlatent.predictive.output_layer.OutputLayer`), from the members'
    out-of-fold head predictions on the rows they held out (every training row with
    ``cv_members``), a forest per drug on the raw mutations, and the residual sd."""
    if not model.model_config.supervised or not model.working_members_or_none():
        return
    X = as_array(dataset)
    rows = np.unique(np.concatenate([np.concatenate([j.train_idx, j.val_idx])
                                     for j in jobs])) - offset
    model.withheld = withheld_drugs(model.drugs, np.asarray(dataset.log_fold)[rows],
                                   np.asarray(dataset.labels)[rows])
    folds = model.member_predictions(X[rows]).double().numpy()      # (K, n, d), working members
    use = model.working_members
    pos = {r: i for i, r in enumerate(rows)}
    oof = np.full(folds.shape[1:], np.nan)
    for k_use, k in enumerate(use):
        held = [pos[r] for r in np.asarray(jobs[k].val_idx) - offset]
        if held:
            oof[held] = folds[k_use, held]
    if not model.train_config.cv_members:            # one shared split: the ensemble mean
        have = np.isfinite(oof).any(1)
        oof[have] = folds.mean(0)[have]
    cap = model.log_caps()
    y = np.asarray(dataset.log_fold, dtype=float)[rows]
    marks = getattr(dataset, "censor", None)
    lower = np.array([math.log10(model.cutoffs.for_drug(d)[0]) for d in model.drugs])
    model.output = OutputLayer.fit(model.drugs, X[rows], y, oof, folds.var(0), cap,
                                  model.model_config.forest, model.train_config.seed, lower,
                                  None if marks is None else np.asarray(marks)[rows])
