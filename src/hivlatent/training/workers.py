"""Independent groups of models trained side by side in worker processes (CPU only).

A group of K models is one tensor program; when a run has several groups (different network
shapes or batch sizes, as in the study grid), small groups leave the cores idle between their
many small operations, and Python's GIL stops threads from filling the gap. So groups are
spread over this process and a pool of spawned worker processes, each with an equal share of
the intra-op threads: this process trains the largest group at once while the workers start
(importing torch takes about 2 s), and the workers take the others, largest first. Results are the same as training the groups one after another, up to the
floating-point effect of the thread count on reductions.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Sequence

import torch

from .padding import group_cost

#: below this many model-steps (a model's steps per epoch x epochs, summed) a pool's start-up
#: (importing torch in each worker, about 2 s) costs more than it saves
MIN_MODEL_STEPS = 20_000


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _steps(job) -> int:
    """A model's optimiser steps: steps per epoch x epochs."""
    return math.ceil(len(job.train_idx) / job.train.batch_size) * job.train.epochs


def model_steps(jobs) -> int:
    return sum(_steps(j) for j in jobs)


def n_workers(requested: int | None, device, chunks: Sequence[Sequence]) -> int:
    """How many worker processes to use. ``requested``: 1 = none (train in this process), N = up
    to N, 0 = automatic: one per core when there are several groups with enough work between
    them; None = ``$HIVLATENT_WORKERS`` if set, else 1. Never more than one per group, and only
    on a CPU.

    Worker processes are started with ``spawn``, which imports the calling script again: a
    script that asks for workers must keep its top-level code under
    ``if __name__ == "__main__":`` (the ``hivlatent`` command does)."""
    if requested is None:
        env = os.environ.get("HIVLATENT_WORKERS", "").strip()
        requested = int(env) if env.isdigit() else 1
    if torch.device(device).type != "cpu" or len(chunks) < 2 or requested == 1:
        return 1
    if requested == 0:
        if sum(model_steps(c) for c in chunks) < MIN_MODEL_STEPS:
            return 1
        requested = cores()
    return max(1, min(int(requested), len(chunks)))


def _init(threads: int) -> None:
    torch.set_num_threads(threads)


def run_groups(tasks: Sequence[tuple[Sequence, Sequence]], data, train_group: Callable, workers: int,
               on_progress: Callable[[float], None] | None = None) -> list[list]:
    """``train_group(jobs, data, None, prefixes)`` for every ``(jobs, prefixes)`` task on
    ``workers`` processes: this one and ``workers - 1`` spawned ones; results in task order.
    This process trains the largest group itself, so the work starts at once while the others
    import torch; the spawned processes take the rest, largest first. Every process runs with
    an equal share of the threads. ``on_progress(fraction of the work done)`` is called as
    groups finish."""
    threads = max(1, torch.get_num_threads() // workers)
    costs = [group_cost(jobs, data.X.shape[1], data.log_fold.shape[1]) for jobs, _ in tasks]
    order = sorted(range(len(tasks)), key=lambda i: -costs[i])
    out: list = [None] * len(tasks)
    done = 0.0

    def finished(i: int, result) -> None:
        nonlocal done
        out[i] = result
        done += costs[i]
        if on_progress is not None:
            on_progress(done / sum(costs))

    mine, rest = order[0], order[1:]
    with ProcessPoolExecutor(max(1, workers - 1), mp_context=mp.get_context("spawn"),
                             initializer=_init, initargs=(threads,)) as pool:
        futures = {pool.submit(train_group, list(tasks[i][0]), data, None, tasks[i][1]): i
                   for i in rest}
        with torch_threads(threads):
            finished(mine, train_group(list(tasks[mine][0]), data, None, tasks[mine][1]))
        for fut in as_completed(futures):
            finished(futures[fut], fut.result())
    return out


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` torch intra-op threads (None: unchanged), restoring the setting after."""
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
