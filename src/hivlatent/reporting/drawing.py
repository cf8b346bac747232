"""Many figures at once: each is a :class:`FigureJob` (a plotting function of
:mod:`hivlatent.reporting.plots` by name, its arguments, and a file stem), drawn and saved in
this process or side by side in worker processes (:class:`FigurePool`). Saving dominates a
report's run time (layout and rasterisation), and figures are independent, so a pool of one
process per core draws them in a fraction of the time, while the caller goes on."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..training.quick_exit import skip_final_collection


def with_png(formats: Sequence[str]) -> tuple[str, ...]:
    """``formats`` with PNG first when missing: figures are always written as PNG (reports
    inline it), other formats are copies."""
    formats = tuple(formats)
    return formats if "png" in formats else ("png",) + formats


@dataclass(frozen=True)
class FigureJob:
    stem: str
    plot: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def draw(job: FigureJob, folder: str | Path, formats: Sequence[str] = ("png",)) -> Path:
    """Draw one job and save it in ``folder`` in every format; the PNG's path."""
    from matplotlib import pyplot as plt

    from . import plots as F

    fig = getattr(F, job.plot)(*job.args, **job.kwargs)
    paths = F.save_figure(fig, Path(folder) / job.stem, formats)
    plt.close(fig)
    return paths["png"]


def _draw_chunk(jobs: list[FigureJob], folder: str, formats: tuple) -> list[Path]:
    return [draw(j, folder, formats) for j in jobs]


class FigurePool:
    """Figures drawn while other work goes on: :meth:`submit` hands jobs to ``workers`` spawned
    processes (started on the first submit) and returns at once; :meth:`paths` waits for them.
    With ``workers`` <= 1 the jobs are drawn in this process when submitted. A study submits its
    loss curves as soon as stage 1 ends, so they are drawn while stage 2 trains."""

    def __init__(self, folder: str | Path, formats: Sequence[str] = ("png",), workers: int = 1):
        self.folder = str(folder)
        self.formats = with_png(formats)
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None
        self._done: dict[str, Path] = {}
        self._futures: dict[tuple[str, ...], object] = {}

    def submit(self, jobs: Sequence[FigureJob], together: bool = False) -> None:
        """Draw ``jobs``: each in whichever worker is free, or ``together`` one after another
        in one worker (keeps the other cores free for work going on meanwhile)."""
        jobs = list(jobs)
        for job in jobs:
            if job.stem in self._done or any(job.stem in stems for stems in self._futures):
                raise ValueError(f"figure {job.stem!r} submitted twice")
        if self.workers <= 1:
            self._done.update((j.stem, draw(j, self.folder, self.formats)) for j in jobs)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=skip_final_collection)
        for chunk in ([jobs] if together else [[j] for j in jobs]):
            stems = tuple(j.stem for j in chunk)
            self._futures[stems] = self._pool.submit(_draw_chunk, chunk, self.folder,
                                                     self.formats)

    def paths(self) -> dict[str, Path]:
        """Every submitted job's PNG path by stem (waits for the ones still being drawn)."""
        for stems, fut in list(self._futures.items()):
            self._done.update(zip(stems, fut.result()))
            del self._futures[stems]
        return dict(self._done)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "FigurePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

