"""Many figures at once: each is a :class:`FigureJob` (a plotting function of
:mod:`hivlatent.reporting.figures` by name, its arguments, and a file stem), drawn and saved in
this process or side by side in worker processes. Saving dominates a report's run time
(layout and rasterisation), and figures are independent, so a pool of one process per core
draws them in a fraction of the time."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

#: fewer jobs than this are drawn in-process (a worker's start-up costs about a second)
MIN_PARALLEL = 6


@dataclass(frozen=True)
class FigureJob:
    stem: str
    plot: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def draw(job: FigureJob, folder: str | Path, formats: Sequence[str] = ("png",)) -> Path:
    """Draw one job and save it in ``folder`` in every format; the PNG's path."""
    from matplotlib import pyplot as plt

    from . import figures as F

    fig = getattr(F, job.plot)(*job.args, **job.kwargs)
    paths = F.save_figure(fig, Path(folder) / job.stem, formats)
    plt.close(fig)
    return paths["png"]


def _draw_chunk(jobs: list[FigureJob], folder: str, formats: tuple) -> list[Path]:
    return [draw(j, folder, formats) for j in jobs]


def draw_all(jobs: Sequence[FigureJob], folder: str | Path, formats: Sequence[str] = ("png",),
             workers: int = 1) -> dict[str, Path]:
    """Every job's PNG path by stem, drawn by ``workers`` processes (1: in this process)."""
    jobs = list(jobs)
    formats = tuple(formats)
    if "png" not in formats:
        formats = ("png",) + formats
    if workers <= 1 or len(jobs) < MIN_PARALLEL:
        return {j.stem: draw(j, folder, formats) for j in jobs}
    chunks = [jobs[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        done = pool.map(_draw_chunk, chunks, [str(folder)] * workers, [formats] * workers)
        paths = [p for part in done for p in part]
    order = [j for part in chunks for j in part]
    return {j.stem: p for j, p in zip(order, paths)}
