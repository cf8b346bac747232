"""One function mapped over a batch's records in fixed chunks, in order, in a process pool
when asked: the per-record work of ``predict`` that depends on nothing but the record
(alignment, subtyping, HIVdb's scoring and annotations).

``fn(chunk)`` takes a list of records and returns one result per record; ``fn`` must be a
module-level function (or a :func:`functools.partial` of one) so that it pickles. A record's
result never depends on its chunk, so the results are the same with any number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: records per task when a process pool is used
CHUNK = 64


def map_chunks(fn: Callable[[list[T]], list[R]], items: Sequence[T],
               workers: int | None = 1) -> list[R]:
    """``fn`` over ``items`` in chunks of :data:`CHUNK`, results in order. ``workers`` > 1
    (None: all cores) uses that many processes once the batch holds two chunks or more (below
    that, starting them costs more than they save)."""
    items = list(items)
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n <= 1 or len(items) < 2 * CHUNK:
        return list(fn(items))
    chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
    with ProcessPoolExecutor(max_workers=min(n, len(chunks))) as pool:
        return [r for part in pool.map(fn, chunks) for r in part]
