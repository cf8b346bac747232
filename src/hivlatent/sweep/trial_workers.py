"""The workers of a search: each takes trials until the budget is spent (several local
processes, or the same command on several machines against one database), trains them, and
tells Optuna the result; a killed worker's trials are handed back and re-queued."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from ..config import Progress
from .optuna_private import study_id, trial_id
from .optuna_verbosity import optuna_warnings_only
from .results import jsonable, nan_to_none
from .settings import OBJECTIVES, SweepConfig
from .space import space_from_dict, suggest
from .storage import (
    Heartbeat,
    SearchLock,
    budget,
    ensure_study,
    open_storage_locked,
    retry_callback,
)
from .trials import TrialEvaluation, cv_splits, evaluate_trials


def sampler_for(settings: dict, seed_parts: Sequence[Any]):
    import optuna

    seed = zlib.crc32(":".join(map(str, seed_parts)).encode()) & 0x7FFFFFFF
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True,
                                          constant_liar=True)


def default_pruner():
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10)


def trial_seed(settings: dict, number: int) -> int:
    return int(settings["seed"]) * 100_000 + 1000 * int(number)


def report_and_tell(study, trial, ev: TrialEvaluation, settings: dict, prune: bool,
                     worker: str = "") -> str:
    """Record the metrics, report the per-epoch curve (pruning) and tell the result. Returns
    complete | pruned | fail, or "lost" when another worker had already marked the trial FAIL
    (its heartbeat looked stale) and re-queued it: this result is then dropped."""
    import optuna

    try:
        return _tell(study, trial, ev, settings, prune, worker)
    except optuna.exceptions.UpdateFinishedTrialError:
        return "lost"


def _tell(study, trial, ev: TrialEvaluation, settings: dict, prune: bool, worker: str) -> str:
    from optuna.trial import TrialState

    # one attribute for all metrics: every set_user_attr is a database commit
    trial.set_user_attr("metrics", jsonable({**ev.metrics, "worker": worker}))
    if ev.error:
        trial.set_user_attr("error", ev.error)
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        return "fail"
    objectives = settings["objectives"]
    if prune:
        sign = 1.0 if OBJECTIVES[objectives[0]].direction == "minimize" else -1.0
        for epoch, v in enumerate(ev.curve, start=1):
            if not math.isfinite(v):
                continue
            trial.report(sign * float(v), epoch)
            if trial.should_prune():
                trial.set_user_attr("pruned_at_epoch", epoch)
                trial.set_user_attr("final_value", nan_to_none(ev.values[objectives[0]]))
                study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
                return "pruned"
    values = [ev.values[o] for o in objectives]
    study.tell(trial, values[0] if len(values) == 1 else values, skip_if_finished=True)
    return "complete"


@optuna_warnings_only()
def work(dataset, url: str, name: str, config: SweepConfig, settings: dict, worker: int = 0,
          progress: Progress | None = None) -> None:
    """One worker: take trials until the study holds ``config.n_trials`` counted trials (and,
    with ``config.wait``, until none of them is still running elsewhere)."""
    import optuna
    from optuna.trial import TrialState

    storage, lock, n_before = open_search(
        url, name, config, settings,
        lambda st: len(st.get_all_trials(stored_study_id(st, name), deepcopy=False)))
    try:
        sampler = sampler_for(settings, (settings["seed"], worker, socket.gethostname(), n_before))
        pruner = config.pruner if config.pruner is not None else default_pruner()
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
        space = space_from_dict(settings["space"])
        splits = cv_splits(dataset, settings["folds"], settings["seed"])
        started = False                   # torch is imported at the first trial
        restore_threads = None
        prune = config.pruning and len(settings["objectives"]) == 1
        retry = retry_callback(config.max_retry)
        me = f"{socket.gethostname()}:{os.getpid()}"
        sid = study_id(study)
        while True:
            trials = []
            with lock, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(study)
                b = budget(storage.get_all_trials(sid, deepcopy=False))
                if progress is not None:
                    progress(b.finished, max(config.n_trials, b.counted), "sweep trials")
                n = min(config.batch_trials, b.waiting + max(0, config.n_trials - b.counted))
                for _ in range(n):
                    t = study.ask()
                    storage.record_heartbeat(trial_id(t))
                    trials.append(t)
            if not trials:
                if b.running == 0 or not config.wait:
                    break
                time.sleep(min(1.0, config.heartbeat_interval))
                continue
            done: set[int] = set()
            try:
                with Heartbeat(storage, [trial_id(t) for t in trials], config.heartbeat_interval):
                    values_list, seeds = [], []
                    for t in trials:
                        values = t.user_attrs.get("values")
                        values = dict(values) if values else suggest(t, space)
                        seed = int(t.user_attrs.get("seed", trial_seed(settings, t.number)))
                        # before training, so that a re-queued copy repeats the same run
                        t.set_user_attr("values", values)
                        t.set_user_attr("seed", seed)
                        values_list.append(values)
                        seeds.append(seed)
                    if not started:         # torch only now: a worker that never trains
                        import torch  # (a joiner with nothing left) starts faster

                        started = True
                        if config.threads:
                            restore_threads = torch.get_num_threads()
                            torch.set_num_threads(config.threads)
                    evals = evaluate_trials(dataset, values_list, seeds, splits,
                                            settings["objectives"], config.device)
                    for t, ev in zip(trials, evals):
                        report_and_tell(study, t, ev, settings, prune, me)
                        done.add(trial_id(t))
            except (KeyboardInterrupt, SystemExit):
                # interrupted: hand our unfinished trials back at once (FAIL + re-queued)
                for t in trials:
                    if trial_id(t) not in done:
                        with contextlib.suppress(Exception):
                            if storage.set_trial_state_values(trial_id(t), state=TrialState.FAIL):
                                retry(study, storage.get_trial(trial_id(t)))
                raise
            except Exception as exc:
                # an error of the code, not of the trial's result: FAIL (counted, not re-queued,
                # the message kept in the trial) and stop, as Optuna's optimize() does
                for t in trials:
                    if trial_id(t) not in done:
                        with contextlib.suppress(Exception):
                            t.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
                            storage.set_trial_state_values(trial_id(t), state=TrialState.FAIL)
                raise
    finally:
        lock.close()
        if restore_threads:
            import torch

            torch.set_num_threads(restore_threads)


def open_search(url: str, name: str, config: SweepConfig, settings: dict,
                then: Callable | None = None):
    """Open the storage and the study's lock, and create the study if needed; ``then(storage)``
    runs under the same lock. Returns (storage, the open lock, what ``then`` returned)."""

    storage = open_storage_locked(url, config.heartbeat_interval, config.grace_period,
                                  config.max_retry)
    lock = SearchLock(url, name)
    try:
        with lock:
            ensure_study(storage, name, settings)
            result = then(storage) if then is not None else None
    except BaseException:
        lock.close()
        raise
    return storage, lock, result


def stored_study_id(storage, name: str) -> int:
    return storage.get_study_id_from_name(name)


def worker_entry(dataset, url, name, config, settings, worker) -> None:
    import signal

    def stop(signum, frame):  # terminate(): hand the running trials back, then exit
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    work(dataset, url, name, config, settings, worker)
