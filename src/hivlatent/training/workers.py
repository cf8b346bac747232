"""Independent groups of models trained side by side in worker processes (CPU only).

A group of K models is one tensor program; when a run has several groups (different network
shapes or batch sizes, as in the study grid), small groups leave the cores idle between their
many small operations, and Python's GIL stops threads from filling the gap. So groups are
spread over this process and a pool of spawned worker processes, each with an equal share of
the intra-op threads: the groups wait in one queue, largest first; this process trains the
largest at once while the workers start (importing torch takes about 2 s), and each process
takes the next waiting group when it is free. Results are the same as training the groups one
after another, up to the floating-point effect of the thread count on reductions.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import multiprocessing as mp
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

# torch is imported where it is used: :meth:`KeptPool.prestart` starts the workers before this process
# has imported it (the workers import it meanwhile)

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


@dataclass
class _Pool:
    executor: ProcessPoolExecutor
    spawned: int                 # processes it runs
    threads: int                 # torch threads of each


class KeptPool:
    """Worker processes kept between runs of :func:`run_groups`: the state of one
    :func:`kept_pool` block (the pool it keeps, if any), handed to the functions that use it,
    never a module global."""

    def __init__(self) -> None:
        self.pool: _Pool | None = None

    def prestart(self, workers: int, threads: int | None = None) -> None:
        """Start ``workers - 1`` worker processes now, so that they import torch while this
        process starts up (imports, data). ``threads``: torch threads of each (default: torch's
        default, the physical cores or ``$OMP_NUM_THREADS``, divided among ``workers``, as
        :func:`run_groups` divides them); a run that needs another number of processes or
        threads replaces them."""
        if workers < 2 or self.pool is not None:
            return
        if threads is None:
            env = os.environ.get("OMP_NUM_THREADS", "").strip()
            threads = max(1, (int(env) if env.isdigit() else cores()) // workers)
        executor = ProcessPoolExecutor(workers - 1, mp_context=mp.get_context("spawn"),
                                       initializer=_init, initargs=(threads,))
        for _ in range(workers - 1):
            executor.submit(_ready)             # the processes start (and import torch) now
        self.pool = _Pool(executor, workers - 1, threads)

    def warm_workers(self) -> int:
        """Processes a run could use with this pool, the calling one included (0: none kept)."""
        return 0 if self.pool is None else self.pool.spawned + 1

    def executor(self, spawned: int, threads: int) -> ProcessPoolExecutor:
        """The kept processes if they are ``spawned`` processes of ``threads`` threads, else new
        ones that replace them (and are kept in turn)."""
        if self.pool is not None and (self.pool.spawned, self.pool.threads) == (spawned, threads):
            return self.pool.executor
        self.close()
        executor = ProcessPoolExecutor(spawned, mp_context=mp.get_context("spawn"),
                                       initializer=_init, initargs=(threads,))
        self.pool = _Pool(executor, spawned, threads)
        return executor

    def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.executor.shutdown()


#: the :class:`KeptPool` of the innermost :func:`kept_pool` block running in this thread (a
#: context variable: set on entering the block, reset on leaving it, unseen by other threads)
_current: contextvars.ContextVar[KeptPool | None] = contextvars.ContextVar(
    "hivlatent_kept_pool", default=None)


def current_pool() -> KeptPool | None:
    """The :class:`KeptPool` of the :func:`kept_pool` block this code runs in, or None."""
    return _current.get()


@contextlib.contextmanager
def kept_pool():
    """Worker processes that :func:`run_groups` starts inside this block (or that
    :meth:`KeptPool.prestart` starts in it) stay up for its next calls (a study's second stage
    reuses the first stage's workers, torch already imported), and are shut down at the end of
    the block.
    Yields the block's :class:`KeptPool`; a block inside another one uses the outer one's."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    kept = KeptPool()
    token = _current.set(kept)
    try:
        yield kept
    finally:
        _current.reset(token)
        kept.close()


def _ready() -> None:
    """A worker's first task: nothing; its initializer has imported torch."""


def warm_workers() -> int:
    """Processes a run could use with the current block's kept pool, this one included (0: no
    pool is kept)."""
    kept = _current.get()
    return 0 if kept is None else kept.warm_workers()


def usable_workers(requested: int | None, device, jobs: Sequence) -> int:
    """How many processes a run of ``jobs`` may use, before they are grouped (see
    :func:`n_workers`; here the number of groups is not known yet)."""
    return _allowed(requested, device, model_steps(jobs))


def n_workers(requested: int | None, device, chunks: Sequence[Sequence]) -> int:
    """How many worker processes to use. ``requested``: 1 = none (train in this process), N = up
    to N, 0 = automatic: one per core when there are several groups with enough work between
    them (or the warm processes of a :func:`kept_pool`); None = ``$HIVLATENT_WORKERS`` if set,
    else 1. Never more than one per group, and only on a CPU.

    Worker processes are started with ``spawn``, which imports the calling script again: a
    script that asks for workers must keep its top-level code under
    ``if __name__ == "__main__":`` (the ``hivlatent`` command does)."""
    if len(chunks) < 2:
        return 1
    return max(1, min(_allowed(requested, device, sum(model_steps(c) for c in chunks)),
                      len(chunks)))


def _allowed(requested: int | None, device, steps: int) -> int:
    import torch

    if requested is None:
        env = os.environ.get("HIVLATENT_WORKERS", "").strip()
        requested = int(env) if env.isdigit() else 1
    if torch.device(device).type != "cpu" or requested == 1:
        return 1
    if requested == 0:
        if warm_workers() >= 2:
            return warm_workers()
        return 1 if steps < MIN_MODEL_STEPS else cores()
    return max(1, int(requested))


def _init(threads: int) -> None:
    import torch

    from .quick_exit import skip_final_collection

    skip_final_collection()

    torch.set_num_threads(threads)


def run_groups(tasks: Sequence[tuple[Sequence, Sequence]], data, train_group: Callable, workers: int,
               on_progress: Callable[[float], None] | None = None) -> list[list]:
    """``train_group(jobs, data, None, prefixes)`` for every ``(jobs, prefixes)`` task on
    ``workers`` processes: this one and ``workers - 1`` spawned ones; results in task order.
    The tasks wait in one queue, largest first; this process starts on the largest at once
    (while the spawned ones import torch) and every process takes the next waiting task when
    it is free, so the cores stay busy until the queue is empty. Every process runs with an
    equal share of the threads, so a group's result does not depend on where it ran.
    ``on_progress(fraction of the work done)`` is called as groups finish."""
    import torch

    from .padding import group_cost

    threads = max(1, torch.get_num_threads() // workers)
    costs = [group_cost(jobs, data.X.shape[1], data.log_fold.shape[1]) for jobs, _ in tasks]
    waiting = sorted(range(len(tasks)), key=lambda i: -costs[i])
    out: list = [None] * len(tasks)
    done = 0.0
    lock = threading.Lock()
    all_done = threading.Event()
    errors: list[BaseException] = []

    def take() -> int | None:
        with lock:
            return waiting.pop(0) if waiting else None

    def finished(i: int, result) -> None:
        nonlocal done
        with lock:
            out[i] = result
            done += costs[i]
            fraction = done / sum(costs)
            if all(r is not None for r in out):
                all_done.set()
        if on_progress is not None:
            on_progress(fraction)

    n_spawned = max(1, workers - 1)
    kept = _current.get()
    if kept is not None:
        pool, own = kept.executor(n_spawned, threads), False
    else:
        pool, own = ProcessPoolExecutor(n_spawned, mp_context=mp.get_context("spawn"),
                                        initializer=_init, initargs=(threads,)), True

    def stop() -> None:
        """No more tasks are handed out (one failed): a worker finishing later finds none."""
        with lock:
            waiting.clear()

    # the workers get a copy of the data in shared memory, made here before any training:
    # pickled as it is, ``data`` would be moved into shared memory by the pool's own thread
    # while this process trains on it (TrainData.shared)
    sent = data.shared()

    def feed(i: int | None) -> None:
        """Hand task ``i`` to a spawned process; when it is done, hand it the next one."""
        if i is None:
            return
        fut = pool.submit(train_group, list(tasks[i][0]), sent, None, tasks[i][1])

        def next_one(f, i=i) -> None:
            try:
                finished(i, f.result())
            except BaseException as exc:     # re-raised in the calling thread below
                stop()
                errors.append(exc)
                all_done.set()
                return
            feed(take())
        fut.add_done_callback(next_one)

    try:
        first = take()
        for _ in range(n_spawned):
            feed(take())
        with torch_threads(threads):
            i = first
            while i is not None and not errors:
                finished(i, train_group(list(tasks[i][0]), data, None, tasks[i][1]))
                i = take()
        all_done.wait()
        if errors:
            raise errors[0]
    except BaseException:
        stop()
        raise
    finally:
        if own:
            pool.shutdown()
    return out


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` torch intra-op threads (None: unchanged), restoring the setting after."""
    if not n:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
