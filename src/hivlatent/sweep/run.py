"""Entry points of ``hivlatent sweep``: run (or resume, or join) a search, retrain its best
configuration, and a few lines of summary for the terminal."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

from ..config import Progress
from ..errors import ConfigError
from ..files import RunFolder
from ..training.workers import torch_threads
from .optuna_verbosity import optuna_warnings_only
from .results import SweepResult, best_trials, write_results
from .settings import ATTR, SweepConfig, data_fingerprint, default_search_name, search_settings
from .space import configs
from .storage import budget, check_storage, mask_url, open_storage
from .trial_workers import open_search, stored_study_id, work, worker_entry


def resolve_storage(config: SweepConfig, out: str | Path) -> str:
    if config.storage:
        return config.storage
    return f"sqlite:///{(Path(out) / 'sweep.db').resolve()}"


def check_sweep(dataset, out: str | Path, config: SweepConfig) -> dict:
    """Every check of :func:`run_sweep` that writes nothing (the settings, the storage URL, the
    run folder), for the command line to run before its progress bar; the settings."""
    settings = search_settings(dataset, config)
    if config.storage:
        check_storage(config.storage)
    _run_folder(dataset, out, config).check()
    return settings


def _run_folder(dataset, out: str | Path, config: SweepConfig) -> RunFolder:
    """The run folder of the sweep (several workers may share it: they take its lock only to
    check it at the start and to write the results at the end)."""
    url = resolve_storage(config, out)
    name = config.study_name or default_search_name(dataset, config.objectives)
    return RunFolder(out, "sweep", {"storage": mask_url(url), "study": name}, wait=True)


@optuna_warnings_only()
def run_sweep(dataset, out: str | Path, config: SweepConfig | None = None,
              progress: Progress | None = None,
              best: bool = False, report: bool = True) -> SweepResult:
    """Run (or resume, or join) the sweep until the study holds ``config.n_trials`` trials, then
    write trials.csv, the figures and sweep_report.html to ``out``. ``best``: also retrain the
    best configuration on all rows (:func:`retrain_best`). ``report=False``: only trials.csv and
    sweep.json (no figures, no HTML)."""

    t0 = time.perf_counter()
    config = config or SweepConfig()
    out = Path(out)
    settings = search_settings(dataset, config)
    url = resolve_storage(config, out)
    name = config.study_name or default_search_name(dataset, config.objectives)
    run_folder = _run_folder(dataset, out, config)
    if config.storage:
        # a database of the user's: checked and opened before the run folder is made, so a
        # wrong URL leaves nothing behind
        check_storage(url)
        run_folder.check()
        storage, lock, _ = open_search(url, name, config, settings)
        lock.close()
        with run_folder:
            pass
    else:                          # the database lives in the run folder
        with run_folder:
            pass
        storage, lock, _ = open_search(url, name, config, settings)
        lock.close()
    # this process is worker 0; workers - 1 more are spawned (fresh interpreters: no fork of a
    # process holding database connections and torch threads)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=worker_entry, name=f"hivlatent-sweep-{i}",
                         args=(dataset, url, name, config, settings, i))
             for i in range(1, config.workers)]
    try:
        for p in procs:
            p.start()
        work(dataset, url, name, config, settings, 0, progress)
        if config.wait:
            # every counted trial is finished, so no other worker holds one: stop them now
            # rather than wait for one that is still starting up to find nothing to do
            for p in procs:
                p.terminate()
        for p in procs:
            p.join(timeout=None if not config.wait else 30)
    except BaseException:
        for p in procs:            # SIGTERM: each hands its running trials back, then exits
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)
        raise
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
    if progress is not None:
        b = budget(storage.get_all_trials(stored_study_id(storage, name), deepcopy=False))
        progress(b.finished, max(config.n_trials, b.counted), "sweep trials")
    with _run_folder(dataset, out, config):
        result = write_results(url, name, out, report)
    if best:
        result.best_model = retrain_best(dataset, out, url, name, device=config.device,
                                         threads=config.threads)
    result.seconds = time.perf_counter() - t0
    return result


@optuna_warnings_only()
def retrain_best(dataset, out: str | Path, storage: str | None = None, study_name: str | None = None,
                 folder: str | Path | None = None, device: str = "cpu", threads: int | None = 1
                 ) -> Path:
    """Train the best trial's configuration (its parameters and seed; for several objectives the
    Pareto-optimal trial best on the first) on every row of ``dataset`` and save the bundle to
    ``folder`` (default ``<out>/best-model``): a semi-supervised model when that trial is one,
    usable by ``hivlatent predict``."""
    import optuna

    from ..model import VAEModel

    out = Path(out)
    url = storage or f"sqlite:///{(out / 'sweep.db').resolve()}"
    if storage is None and not (out / "sweep.db").is_file():
        raise ConfigError(f"{out}: no sweep here (sweep.db is missing); run the sweep first or "
                          "give --storage")
    st = open_storage(url, None, None)
    if study_name is None:
        names = [s.study_name for s in optuna.get_all_study_summaries(st)]
        if len(names) != 1:
            raise ConfigError(f"storage {mask_url(url)} holds {len(names)} studies; name one with --study")
        study_name = names[0]
    try:
        study = optuna.load_study(study_name=study_name, storage=st)
    except KeyError:
        raise ConfigError(f"storage {mask_url(url)} has no study {study_name!r}") from None
    settings = study.user_attrs.get(ATTR) or {}
    if settings.get("data_fingerprint") not in (None, data_fingerprint(dataset)) or \
            settings.get("rows") not in (None, len(dataset.X)):
        raise ConfigError(f"study {study_name!r} was run on other data ({settings.get('data')}, "
                          f"{settings.get('rows')} rows); retrain it on the same data")
    best = best_trials(study, settings) if settings else []
    if not best:
        raise ConfigError(f"study {study_name!r} has no completed trial to retrain")
    t = best[0]
    values = dict(t.user_attrs.get("values") or t.params)
    seed = int(t.user_attrs.get("seed", 0))
    mc, tc = configs(values, seed, val_fraction=0.0)
    with torch_threads(threads):
        model = VAEModel(mc, tc, device=device).fit(dataset)
    folder = Path(folder) if folder is not None else out / "best-model"
    model.save(folder, extra_manifest={"sweep": {
        "study": study_name, "storage": mask_url(url), "trial": t.number,
        "values": dict(zip(settings["objectives"], t.values)), "params": values}})
    return folder


def format_summary(result: SweepResult) -> str:
    """A few lines for the terminal: counts, best trial(s), files."""
    c = result.counts
    lines = [f"study {result.study_name} ({result.storage}): {c.get('counted', 0)} trials, "
             f"{c.get('complete', 0)} complete, {c.get('pruned', 0)} pruned, {c.get('fail', 0)} failed"
             + (f" ({c['superseded']} trial(s) of a dead worker re-run)" if c.get("superseded")
                else "")]
    for d in result.best[:5]:
        vals = ", ".join(f"{o} {v:.4g}" for o, v in d["values"].items())
        params = ", ".join(f"{k}={_short(v)}" for k, v in d["params"].items())
        lines.append(f"best trial {d['number']}: {vals}  [{params}; seed {d['seed']}]")
    if not result.best:
        lines.append("no trial completed")
    lines.append(f"wrote {result.files.get('trials')}, {result.files.get('report')} and "
                 f"{result.out / 'figures'}" + (f" in {result.seconds:.0f} s" if result.seconds else ""))
    if result.best_model is not None:
        lines.append(f"saved the best configuration retrained on all rows to {result.best_model}")
    return "\n".join(lines)


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
