"""An evaluation as independent tasks, run here, on local processes or on a Dask cluster.

A task is (a group of methods that share one fit, a chunk of the folds' distinct training sets).
It fits its methods on its training sets, scores every fold trained on them and returns the
per-fold rows. It depends only on its inputs (the data, the folds, the methods and their seeds)
and always runs with one thread (BLAS, OpenMP and torch), so its numbers are the same wherever
and in whatever order it runs: one after another in this process (``n_jobs=1``), on local
worker processes (joblib's ``loky`` backend) or on the workers of a Dask cluster (joblib's
``dask`` backend, ``scheduler="tcp://host:8786"``).

Methods share a fit when one reads another's models (the semi model's latent probe and its
heads): they go into the same task. A method trained on the batched engine (``fit_chunk``, the
VAE and the semi model) gets :data:`~hivlatent.config.ENGINE_CHUNK` training sets per task, a
fixed number so that the batching, hence every float, does not depend on the workers; a method
with its own ``fit_many`` and no ``fit_chunk`` gets all its sets in one task; anything else one
set per task. Tasks are handed out largest first (an estimate of their cost), so the long ones do
not start last.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from .cv import Fold

#: estimated seconds per fold of each built-in method on one core (0.4.0's profile on nrti-1246
#: times the measured work of the raced searches): used only to hand out the longest tasks first
COST_PER_FOLD = {"rfreg": 6.0, "rf": 2.2, "hgb": 2.7, "hgbreg": 2.7, "enet": 0.8, "lr": 0.4,
                 "l1": 0.3, "ridge": 0.2, "lasso": 0.2}
#: estimated seconds per training set and member of a model on the engine, per 100 epochs
ENGINE_COST = 2.5


@dataclass
class Task:
    """Methods sharing one fit, the distinct training sets they fit on, and the folds scored."""

    methods: list
    fit_sets: list[np.ndarray]
    folds: list[Fold]
    which: list[int]                      # index into ``fit_sets`` of each fold
    cost: float = 0.0


@dataclass
class TaskResult:
    rows: list[dict]
    collect: dict = field(default_factory=dict)   # {method: {drug: [(fold, labels, p)]}}
    wall: float = 0.0                             # seconds the task took, and its CPU seconds
    cpu: float = 0.0
    where: str = ""                               # host:pid of the process that ran it

    def timing(self, task: Task) -> dict:
        """One row of the evaluation's profile (``timings.csv``)."""
        return {"methods": "+".join(m.name for m in task.methods),
                "training_sets": len(task.fit_sets), "folds": len(task.folds),
                "wall_seconds": round(self.wall, 3), "cpu_seconds": round(self.cpu, 3),
                "process": self.where}


def fit_source(method: Any) -> Any:
    """The object whose training a method's models come from: its predictor, or its
    representation (a representation that reads another's models names it in ``fit_source``)."""
    obj = method.predictor if hasattr(method, "predictor") else method.representation
    return getattr(obj, "fit_source", obj)


def chunk_size(obj: Any) -> int | None:
    """Training sets per task for ``obj`` (None: all in one task); see the module docstring."""
    from .probes import BasePredictor, BaseRepresentation

    chunk = getattr(obj, "fit_chunk", None)
    if chunk is not None:
        return int(chunk)
    own = getattr(type(obj), "fit_many", None)
    if own is None or own in (BaseRepresentation.fit_many, BasePredictor.fit_many):
        return 1                           # fitted one set at a time anyway
    return None


def plan(methods: list, folds: list[Fold], fit_sets: list[np.ndarray],
         which: list[int]) -> list[Task]:
    """The tasks of evaluating ``methods`` (the HIVdb method excluded) on ``folds``."""
    groups: dict[int, list] = {}
    for m in methods:
        groups.setdefault(id(fit_source(m)), []).append(m)
    tasks = []
    for members in groups.values():
        source = fit_source(members[0])
        size = chunk_size(source) or len(fit_sets)
        for start in range(0, len(fit_sets), size):
            chunk = list(range(start, min(start + size, len(fit_sets))))
            local = {w: i for i, w in enumerate(chunk)}
            mine = [(f, local[w]) for f, w in zip(folds, which) if w in local]
            if not mine:
                continue
            tasks.append(Task(members, [fit_sets[w] for w in chunk], [f for f, _ in mine],
                              [i for _, i in mine]))
            tasks[-1].cost = _cost(members, source, len(chunk), len(mine))
    return tasks


def _cost(methods: list, source: Any, n_sets: int, n_folds: int) -> float:
    cost = sum(COST_PER_FOLD.get(m.name, 0.5) for m in methods) * n_folds
    train = getattr(source, "train_config", None)
    if train is not None:
        cost += ENGINE_COST * n_sets * getattr(source, "n_members", 1) * train.epochs / 100
    return cost


@contextlib.contextmanager
def one_thread(restore: bool = True) -> Iterator[None]:
    """One BLAS/OpenMP thread, one torch thread (when torch is loaded) and joblib sequential
    inside: small dense problems run as fast on one thread, the results do not depend on the
    thread count, and the processes do not oversubscribe the cores. ``restore=False`` leaves
    the limits in place (in a worker process, where tasks may run in several threads)."""
    import sys

    from joblib import parallel_config
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    limits = threadpool_limits(limits=1)
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with parallel_config(backend="sequential"):
            yield
    finally:
        if restore:
            limits.restore_original_limits()
            if torch is not None:
                torch.set_num_threads(before)


def run_task(dataset, task: Task, restore: bool = True) -> TaskResult:
    """Fit and score one task (see :func:`hivlatent.evaluation.scoring.score_methods`)."""
    from .scoring import score_methods

    wall, cpu = time.perf_counter(), time.process_time()
    with one_thread(restore):
        collect: dict = {}
        rows = score_methods(dataset, task.methods, task.folds, task.fit_sets, task.which,
                             collect)
    return TaskResult(rows, collect, time.perf_counter() - wall, time.process_time() - cpu,
                      f"{socket.gethostname()}:{os.getpid()}")


def _remote(dataset, task: Task) -> TaskResult:
    from ..training.quick_exit import skip_final_collection

    skip_final_collection()          # a worker process: its exit need not collect (quick_exit)
    return run_task(dataset, task, restore=False)


def execute(dataset, tasks: list[Task], n_jobs: int = 1, scheduler: Any = None,
            on_done: Callable[[Task], None] | None = None) -> list[TaskResult]:
    """Run ``tasks`` on ``dataset``; results in task order. ``n_jobs``: 1 = one after another
    in this process, N = N local worker processes (0 or -1: one per core); ``scheduler``: the
    address of a Dask scheduler (``tcp://host:8786``) or a ``distributed.Client``, which runs
    them on that cluster's workers instead (``n_jobs`` is then not used). ``on_done(task)`` is
    called as each task finishes."""
    order = sorted(range(len(tasks)), key=lambda i: -tasks[i].cost)
    results: list[TaskResult | None] = [None] * len(tasks)
    if scheduler is None and _workers(n_jobs) == 1:
        for i in order:
            results[i] = run_task(dataset, tasks[i])
            if on_done:
                on_done(tasks[i])
        return results
    from joblib import Parallel, delayed, parallel_config

    with _backend(scheduler, n_jobs) as config:
        with parallel_config(**config):
            parallel = Parallel(return_as="generator_unordered", batch_size=1)
            calls = (delayed(_indexed)(i, dataset, tasks[i]) for i in order)
            for i, result in parallel(calls):
                results[i] = result
                if on_done:
                    on_done(tasks[i])
    return results


def _indexed(i: int, dataset, task: Task) -> tuple[int, TaskResult]:
    return i, _remote(dataset, task)


def _workers(n_jobs: int) -> int:
    from ..training.workers import cores

    if n_jobs in (0, -1):
        return cores()
    if n_jobs < 1:
        raise ConfigError(f"n_jobs: expected a positive number of processes, 0 or -1 (one per "
                          f"core), got {n_jobs}")
    return int(n_jobs)


@contextlib.contextmanager
def _backend(scheduler: Any, n_jobs: int) -> Iterator[dict]:
    """joblib's configuration: loky with ``n_jobs`` processes, or dask on ``scheduler``'s
    cluster (a Client made here is closed afterwards)."""
    if scheduler is None:
        yield {"backend": "loky", "n_jobs": _workers(n_jobs)}
        return
    client, own = connect(scheduler)
    try:
        yield {"backend": "dask", "client": client, "n_jobs": -1}
    finally:
        if own:
            client.close()


def connect(scheduler: Any, timeout: str = "20s") -> tuple[Any, bool]:
    """A ``distributed.Client`` for ``scheduler`` (an address, or a Client returned as is) and
    whether it was made here; a one-line :class:`ConfigError` when Dask is missing or the
    scheduler does not answer."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError("--scheduler needs Dask distributed: pip install "
                          "'hivlatent[distributed]'") from exc
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(str(scheduler), set_as_default=False, timeout=timeout), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"Dask scheduler {scheduler!r}: no answer ({exc}); start one with "
                          "`dask scheduler` and workers with `dask worker ADDRESS`") from exc
