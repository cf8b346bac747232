"""The training engine: K models of one shape trained at once as one tensor program.

Each model (a ``Job``) has its own seed, initialisation, data order, sampling noise, optimiser
state, training rows, validation rows, epochs and hyperparameters; jobs that share a network
shape and batch size are trained together, and one job alone is simply K = 1. Jobs whose networks
differ only in their widths (hidden units, latent size) may train together too, each zero-padded
to the widest shape (:mod:`.padding`). A model trained in a group gives the same losses and
weights as the same job trained alone (up to float rounding).

Per step the work is a fixed number of tensor operations whatever K is, with the gradients
written out by hand (:mod:`hivlatent.nn.gradients`: no autograd graph); per epoch each model
draws its permutation and noise from its own generator (the only Python loop over K).

Jobs that differ only in their number of epochs (same shape, seed, rows and other settings, as
the study's epochs grid) follow the same path for as long as the shorter one trains: only the
longest is trained, and each shorter one is its state after its own last epoch (weights, history
and status), bit for bit what training it alone would give.

This module plans the groups and runs them (here or in worker processes, :mod:`.workers`); the
loop that trains one group is :mod:`.loop`, what a job and its result are :mod:`.jobs`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from typing import Callable, Sequence

import numpy as np
import torch

from .jobs import Job, TrainData, TrainResult
from .loop import MissingCells, train_together
from .padding import plan_groups, split_for_workers, width_free
from .workers import n_workers, run_groups, usable_workers

__all__ = ["Job", "MissingCells", "TrainData", "TrainResult", "group_key", "shared_paths",
           "train_group", "train_many"]


def group_key(job: Job, n_features: int, n_drugs: int):
    """Jobs with equal keys train as one group: same batch size and same network but for the
    widths (hidden units and latent size; :mod:`.padding`)."""
    return (width_free(job.model), job.train.batch_size)


def _path_key(job: Job):
    """Jobs with equal keys take the same training path, epoch by epoch (epochs excepted)."""
    settings = {k: v for k, v in asdict(job.train).items() if k != "epochs"}
    return (job.model, tuple(sorted(settings.items())),
            np.asarray(job.train_idx, dtype=np.int64).tobytes(),
            np.asarray(job.val_idx, dtype=np.int64).tobytes())


def shared_paths(jobs: Sequence[Job]) -> tuple[list[int], list[list[int]]]:
    """Carriers (the longest job of each set of equal paths, by index) and, for each carrier, the
    indices of its prefixes: the other jobs of its set, read off its training as it goes."""
    paths: dict = defaultdict(list)
    for i, job in enumerate(jobs):
        paths[_path_key(job)].append(i)
    carriers, prefixes = [], []
    for members in paths.values():
        longest = max(members, key=lambda i: (jobs[i].train.epochs, -i))
        carriers.append(longest)
        prefixes.append([i for i in members if i != longest])
    return carriers, prefixes


def train_many(jobs: Sequence[Job], data: TrainData, device: str | torch.device = "cpu",
               on_epoch: Callable[[int, int], None] | None = None,
               max_group: int = 256, workers: int | None = None) -> list[TrainResult]:
    """Train every job; jobs sharing a shape and batch size run together as one group, and a job
    that is another's first epochs (:func:`shared_paths`) is read off that one's training.
    Jobs that differ only in their widths (hidden units, latent size) join one group, padded to
    the widest, when that is estimated to save work (:func:`.padding.plan_groups`), and such a
    group is split again when a process would otherwise idle (:func:`.padding.split_for_workers`).
    Results in job order. Several groups on a multi-core CPU run side by side in worker processes
    (``workers``: 1 = in this process, 0 = one per core, None = ``$HIVLATENT_WORKERS`` or 1;
    see :func:`.workers.n_workers`)."""
    data = data.to(device)
    n_feat, n_drugs = data.X.shape[1], data.log_fold.shape[1]
    carriers, prefixes = shared_paths(jobs)
    prefixes_of = dict(zip(carriers, prefixes))
    keyed: dict = defaultdict(list)
    # a padded group may be split in up to 1 + (the processes left once each group of another
    # shape or batch size has one), so that no core idles (split_for_workers)
    spare = max(0, usable_workers(workers, device, [jobs[i] for i in carriers])
                - len({group_key(jobs[i], n_feat, n_drugs) for i in carriers})) + 1
    for i in carriers:
        keyed[group_key(jobs[i], n_feat, n_drugs)].append(i)
    groups = []
    for members in keyed.values():
        for part in split_for_workers(plan_groups([jobs[i] for i in members], n_feat, n_drugs),
                                      [jobs[i] for i in members], n_feat, n_drugs, spare):
            # by shape, so that a group split into chunks keeps like widths together
            groups.append(sorted((members[p] for p in part),
                                 key=lambda i: (jobs[i].model.hidden, jobs[i].model.latent)))
    chunks = [members[start:start + max_group] for members in groups
              for start in range(0, len(members), max_group)]
    tasks = [([jobs[i] for i in chunk], [[jobs[r] for r in prefixes_of[i]] for i in chunk]) for chunk in chunks]
    n = n_workers(workers, device, [t[0] for t in tasks])
    if n > 1:
        total = max(j.train.epochs for j in jobs)
        progress = None if on_epoch is None else (lambda f: on_epoch(round(f * total), total))
        trained = run_groups(tasks, data, train_group, n, progress)
    else:
        trained = [train_group(group, data, on_epoch, prefixes) for group, prefixes in tasks]
    results: list[TrainResult | None] = [None] * len(jobs)
    for chunk, res in zip(chunks, trained):
        order = list(chunk) + [r for i in chunk for r in prefixes_of[i]]
        for i, r in zip(order, res):
            results[i] = r
    return results  # type: ignore[return-value]


def train_group(jobs: Sequence[Job], data: TrainData,
                on_epoch: Callable[[int, int], None] | None = None,
                prefixes: Sequence[Sequence[Job]] | None = None) -> list[TrainResult]:
    """One group's training (:func:`.loop.train_together`), with denormals flushed to zero when
    ``data.flush_denormal``."""
    if not data.flush_denormal:
        return train_together(jobs, data, on_epoch, prefixes)
    torch.set_flush_denormal(True)
    try:
        return train_together(jobs, data, on_epoch, prefixes)
    finally:
        torch.set_flush_denormal(False)
