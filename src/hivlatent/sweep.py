"""Hyperparameter search of the VAE / semi-supervised VAE with Optuna.

    >>> from hivlatent.sweep import SweepConfig, run_sweep
    >>> result = run_sweep(load_dataset("nrti-1246"), "runs/sweep",
    ...                    SweepConfig(n_trials=40, objectives=("elbo",), workers=2))
    >>> result.best[0]["params"]

**Objectives** (cross-validated on ``folds`` row folds, stratified by the number of drugs a virus
is resistant to; the same folds for every trial; each fold's model is trained on the other folds
and validated on its own fold):

- ``elbo`` (minimise): the validation negative ELBO, reconstruction + KL with beta = 1 and
  without the supervised term (so trials of any beta / supervised weight are comparable), in
  nats per sequence at the last epoch, averaged over the folds;
- ``probe_auc`` (maximise): the latent means of every row are scored by a linear probe
  (:func:`hivlatent.evaluation.linear_probe`) per drug, trained on the fold's training rows and
  tested on the held-out fold: AUC averaged over drugs, then folds;
- ``heads_bacc`` (maximise): balanced accuracy of the semi-supervised model's own resistance
  heads (P >= 0.5) on the held-out fold, averaged over drugs, then folds (restricts the search
  to ``model: semi``).

Several objectives make a multi-objective study (the Pareto front is reported; no pruning).

**Engine and pruning.** The folds of a trial are trained together as one batched program
(``train_many``); ``batch_trials`` > 1 asks several trials at once and hands all their folds to
the engine, which groups those of one shape and batch size. On 2 CPU cores the gain across trials
is small (the engine is compute bound beyond ~3 models; shapes rarely coincide in a continuous
space) while TPE learns from fewer completed trials, so the default is one trial at a time. The
engine trains whole runs, so pruning is *post hoc*: after training, the per-epoch validation
negative ELBO (mean over folds) is reported to Optuna epoch by epoch and the trial is marked
PRUNED at the first epoch where the pruner (median rule) says so; its full result is still
recorded in the user attributes. It saves no compute with this engine and is on by default only
for the single ``elbo`` objective, where the reported curve is the objective itself.

**Storage and workers.** Trials live in any database Optuna supports (default:
``sqlite:///<out>/sweep.db``). Every worker (``workers`` local processes, or the same command
started on several machines against one PostgreSQL URL) takes trials until the study holds
``n_trials`` trials; the check and the ``ask`` happen under a lock (a file lock next to a SQLite
file, a PostgreSQL advisory lock, a MySQL named lock), so the total is exact. A worker records a
heartbeat for its running trials; a trial whose worker died (heartbeat older than
``grace_period``) is marked FAIL by the next worker and re-queued with the same parameters and
seed (``RetryHeartbeatStaleTrialCallback``, up to ``max_retry`` times); a re-queued trial replaces
its failed original in the count. Re-running the same command resumes the study.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import math
import multiprocessing as mp
import os
import socket
import tempfile
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .errors import ConfigError
from .sweep_space import (
    DEFAULT_SPACE,
    Param,
    configs,
    load_space,
    parse_param,
    parse_space,
    read_space_file,
    require_semi,
    space_from_dict,
    space_table,
    space_to_dict,
    suggest,
)

__all__ = [
    "OBJECTIVES",
    "Budget",
    "Objective",
    "StudyLock",
    "SweepConfig",
    "SweepResult",
    "TrialEvaluation",
    "budget",
    "cv_splits",
    "default_study_name",
    "evaluate_trials",
    "format_summary",
    "load_space",
    "open_storage",
    "retrain_best",
    "run_sweep",
    "write_results",
]

ATTR = "hivlatent_sweep"          # study user attribute holding the sweep's settings
SETTINGS_VERSION = 1


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str                 # minimize | maximize
    description: str
    needs_labels: bool = False
    needs_semi: bool = False


OBJECTIVES: dict[str, Objective] = {o.name: o for o in (
    Objective("elbo", "minimize", "validation negative ELBO (reconstruction + KL at beta 1, nats "
              "per sequence), last epoch, mean over folds"),
    Objective("probe_auc", "maximize", "AUC of a per-drug linear probe on the latent means, "
              "held-out fold, mean over drugs and folds", needs_labels=True),
    Objective("heads_bacc", "maximize", "balanced accuracy of the semi-supervised resistance "
              "heads, held-out fold, mean over drugs and folds", needs_labels=True, needs_semi=True),
)}


def objective_names(names: Sequence[str]) -> tuple[str, ...]:
    """Canonical objective names (``probe-auc`` = ``probe_auc``); ConfigError for unknown ones."""
    out = []
    for n in names:
        key = str(n).strip().lower().replace("-", "_")
        if key not in OBJECTIVES:
            raise ConfigError(f"objective {n!r}: expected one of {', '.join(OBJECTIVES)}")
        if key in out:
            raise ConfigError(f"objective {n!r} given twice")
        out.append(key)
    if not out:
        raise ConfigError("give at least one objective (elbo, probe_auc, heads_bacc)")
    return tuple(out)


@dataclass(frozen=True)
class SweepConfig:
    """How to search. ``space``: a mapping name -> Param, a path to a YAML/TOML file, or None
    (the default space). ``storage``: a database URL (default ``sqlite:///<out>/sweep.db``).
    ``study_name``: default ``sweep-<data>-<objectives>``. ``prune``: None = on for the single
    ``elbo`` objective only. ``pruner``: an Optuna pruner (default: median rule after 5 trials
    and 10 epochs). Heartbeat times are in whole seconds. ``threads``: torch threads per worker
    (default 1: these small batched models run several times faster on one thread than on two
    busy cores; use ``workers`` for parallelism; None leaves torch's setting alone)."""

    n_trials: int = 20
    objectives: tuple[str, ...] = ("elbo",)
    folds: int = 3
    seed: int = 0
    space: Any = None
    storage: str | None = None
    study_name: str | None = None
    workers: int = 1
    batch_trials: int = 1
    prune: bool | None = None
    pruner: Any = None
    device: str = "cpu"
    heartbeat_interval: int = 15
    grace_period: int = 60
    max_retry: int = 2
    wait: bool = True
    threads: int | None = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "objectives", objective_names(
            (self.objectives,) if isinstance(self.objectives, str) else self.objectives))
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ConfigError(f"sweep threads: expected an integer >= 1 or None, got {self.threads!r}")
        for name, low in (("n_trials", 0), ("folds", 2), ("workers", 1), ("batch_trials", 1),
                          ("heartbeat_interval", 1), ("grace_period", 1), ("max_retry", 0)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ConfigError(f"sweep {name}: expected an integer >= {low}, got {v!r}")
        if self.grace_period <= self.heartbeat_interval:
            raise ConfigError(f"sweep grace period: expected more than the heartbeat interval "
                              f"({self.heartbeat_interval} s), got {self.grace_period} s")
        if self.prune and len(self.objectives) > 1:
            raise ConfigError("pruning needs a single objective (Optuna does not prune "
                              "multi-objective studies)")

    def resolved_space(self) -> tuple[dict[str, Param], set[str]]:
        """(space, names the user gave) with the objectives' requirements applied."""
        if self.space is None:
            raw: dict = {}
            space = load_space(None)
        elif isinstance(self.space, (str, os.PathLike)):
            raw = read_space_file(self.space)
            space = parse_space(raw, str(self.space))
        else:
            raw = dict(self.space)
            space = dict(DEFAULT_SPACE)
            for name, p in raw.items():
                if isinstance(p, Param):     # validated like a file's entry
                    if p.name != name:
                        raise ConfigError(f"search space: {name!r}: the Param is named {p.name!r}")
                    p = p.value if p.type == "fixed" else p.to_dict()
                space[name] = parse_param(str(name), p)
        # a model entry the user wrote (a file's spec, or a Param other than the default's)
        given_model = "model" in raw and not (isinstance(raw["model"], Param)
                                              and raw["model"] == DEFAULT_SPACE["model"])
        for o in self.objectives:
            if OBJECTIVES[o].needs_semi:
                space = require_semi(space, f"objective {o}", given_model)
        if "elbo" in self.objectives and space["likelihood"].type != "fixed":
            raise ConfigError("search space: likelihood: the elbo objective compares losses of "
                              "one likelihood; expected a fixed likelihood, got "
                              + space["likelihood"].describe())
        return space, set(raw)

    @property
    def pruning(self) -> bool:
        if self.prune is None:
            return self.objectives == ("elbo",)
        return bool(self.prune)


# ------------------------------------------------------------------------------ folds & trials

def cv_splits(dataset, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (train rows, held-out rows) pairs over all rows, stratified by the number of
    drugs a virus is resistant to (plain shuffled k-fold when a stratum is too small)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    from .training.split import resistance_strata

    n = len(_features(dataset))
    if n < 2 * folds:
        raise ConfigError(f"cross-validation: {folds} folds need at least {2 * folds} rows, "
                          f"the data has {n}")
    labels = getattr(dataset, "labels", None)
    rows = np.arange(n)
    if labels is not None and labels.shape[1]:
        strata = resistance_strata(labels)
        _, counts = np.unique(strata, return_counts=True)
        if counts.min() >= folds:
            split = StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, strata)
            return [(np.sort(tr), np.sort(te)) for tr, te in split]
    split = KFold(folds, shuffle=True, random_state=seed).split(rows)
    return [(np.sort(tr), np.sort(te)) for tr, te in split]


@dataclass
class TrialEvaluation:
    """What one trial's cross-validation gave: objective values, the per-epoch validation
    negative ELBO curve (mean over folds), everything else worth recording, or an error."""

    values: dict[str, float]
    curve: np.ndarray
    metrics: dict[str, Any]
    error: str | None = None


def _nan_none(x):
    if isinstance(x, (list, tuple)):
        return [_nan_none(v) for v in x]
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if not math.isfinite(x) else x
    if isinstance(x, np.integer):
        return int(x)
    return x


def evaluate_trials(dataset, values_list: Sequence[Mapping[str, Any]], seeds: Sequence[int],
                    splits: Sequence[tuple[np.ndarray, np.ndarray]], objectives: Sequence[str],
                    device: str = "cpu", data=None) -> list[TrialEvaluation]:
    """Cross-validate several points of the space at once: one job per (point, fold), all handed
    to :func:`~hivlatent.training.trainer.train_many` (jobs of one shape and batch size train
    together). Fold f of a point with seed s is initialised from seed s + f."""
    from dataclasses import replace

    from .evaluation.metrics import classification_metrics
    from .evaluation.probes import linear_probe
    from .model import VAEModel, train_data
    from .training.trainer import Job, train_many

    data = train_data(dataset, device) if data is None else data
    cfgs, jobs = [], []
    for i, (values, seed) in enumerate(zip(values_list, seeds)):
        mc, tc = configs(values, seed)
        cfgs.append((mc, tc))
        for f, (tr, te) in enumerate(splits):
            jobs.append(Job(mc, replace(tc, seed=int(seed) + f), tr, te, name=f"p{i}f{f}"))
    results = train_many(jobs, data, device)
    k = len(splits)
    out = []
    for i, (mc, tc) in enumerate(cfgs):
        res = results[i * k:(i + 1) * k]
        seconds = float(sum(r.seconds for r in res))
        failed = [r.status for r in res if r.failed]
        curves = [(r.history["val_recon"] + r.history["val_kl"]).to_numpy(float) for r in res]
        n_ep = min(len(c) for c in curves)
        curve = np.mean([c[:n_ep] for c in curves], axis=0)
        per_fold = [float(c[n_ep - 1]) for c in curves]
        metrics: dict[str, Any] = {
            "neg_elbo": float(curve[-1]), "neg_elbo_best": float(np.min(curve)),
            "neg_elbo_best_epoch": int(np.argmin(curve)) + 1, "neg_elbo_folds": per_fold,
            "val_loss": float(np.mean([r.history["val_loss"].iloc[-1] for r in res])),
            "train_seconds": seconds, "hidden_widths": list(mc.hidden),
        }
        if failed:
            out.append(TrialEvaluation({}, curve, metrics, error=failed[0]))
            continue
        models = []
        for r in res:
            m = VAEModel(mc, tc, device=device)
            m._describe(dataset)
            models.append(m.set_results([r]))
        drugs = list(getattr(dataset, "drugs", []))
        if "probe_auc" in objectives:
            fold_auc = []
            for m, (tr, te) in zip(models, splits):
                z = m.get_latent_representation(dataset.X)
                aucs = []
                for j in range(len(drugs)):
                    y = dataset.labels[:, j]
                    a = tr[np.isfinite(y[tr])]
                    b = te[np.isfinite(y[te])]
                    if np.unique(y[a]).size < 2 or np.unique(y[b]).size < 2:
                        continue
                    probe = linear_probe().fit(z[a], y[a].astype(int))
                    s = probe.predict_proba(z[b])[:, 1]
                    aucs.append(classification_metrics(y[b], s)["auc"])
                fold_auc.append(float(np.nanmean(aucs)) if aucs else math.nan)
            metrics["probe_auc_folds"] = fold_auc
            metrics["probe_auc"] = float(np.nanmean(fold_auc)) if np.isfinite(fold_auc).any() else math.nan
        if mc.supervised and drugs:
            fold_bacc = []
            for m, (tr, te) in zip(models, splits):
                p = m.predict_proba(dataset.X[te])
                bacc = [classification_metrics(dataset.labels[te, j], p[:, j])["balanced_accuracy"]
                        for j in range(len(drugs)) if np.isfinite(dataset.labels[te, j]).any()]
                fold_bacc.append(float(np.nanmean(bacc)) if bacc else math.nan)
            metrics["heads_bacc_folds"] = fold_bacc
            metrics["heads_bacc"] = float(np.nanmean(fold_bacc)) if np.isfinite(fold_bacc).any() else math.nan
        values = {o: float(metrics.get("neg_elbo" if o == "elbo" else o, math.nan)) for o in objectives}
        bad = [o for o, v in values.items() if not math.isfinite(v)]
        out.append(TrialEvaluation(values, curve, metrics,
                                   error=f"objective {bad[0]} is undefined (NaN)" if bad else None))
    return out


# ------------------------------------------------------------------------------ storage & lock

def mask_url(url: str) -> str:
    """The URL with its password hidden (for messages, reports and files)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return url.split("@")[-1] if "@" in url else url


def _backend(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigError(f"storage {url!r}: not a database URL; expected e.g. "
                          "sqlite:///sweep.db or postgresql://user@host:5432/db") from None


def open_storage(url: str, heartbeat_interval: int | None = 15, grace_period: int | None = 60,
                 max_retry: int | None = 2):
    """An Optuna RDBStorage for ``url`` with heartbeats and re-queueing of stale trials (a
    one-line ConfigError when the URL is wrong or the database cannot be reached)."""
    import optuna
    import sqlalchemy.exc
    from optuna.storages import RDBStorage

    backend = _backend(url)
    kwargs: dict[str, Any] = ({"connect_args": {"timeout": 60}} if backend == "sqlite"
                              else {"pool_pre_ping": True})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            callback = _retry_callback(max_retry) if heartbeat_interval else None
            # optuna >= 4.9 names it heartbeat_stale_trial_callback, older failed_trial_callback
            arg = ("heartbeat_stale_trial_callback"
                   if "heartbeat_stale_trial_callback" in inspect.signature(RDBStorage).parameters
                   else "failed_trial_callback")
            storage = RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=heartbeat_interval,
                                 grace_period=grace_period if heartbeat_interval else None,
                                 **{arg: callback})
    except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError, ImportError,
            ValueError) as exc:
        first = " ".join(str(exc).split("\n")[0].split())[:300]
        raise ConfigError(f"storage {mask_url(url)}: cannot open the database ({first})") from None
    if backend == "sqlite":
        _sqlite_pragmas(storage.engine)
    return storage


def _sqlite_pragmas(engine) -> None:
    """Write-ahead log and fewer fsyncs: every report, attribute and heartbeat is a commit, and
    readers then never block the writer. (A SQLite file on a network file system is not safe for
    several processes either way: use PostgreSQL there.)"""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    engine.dispose()


def open_storage_locked(url: str, heartbeat_interval: int | None = 15,
                        grace_period: int | None = 60, max_retry: int | None = 2):
    """:func:`open_storage` under the database-wide lock: several workers starting together on
    a fresh database would otherwise race to create Optuna's tables."""
    lock = StudyLock(url, None)
    try:
        with lock:
            return open_storage(url, heartbeat_interval, grace_period, max_retry)
    finally:
        lock.close()


def _retry_callback(max_retry: int | None):
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) \
            or optuna.storages.RetryFailedTrialCallback  # optuna < 4.9
        return cls(max_retry=max_retry)


class StudyLock:
    """A lock shared by every worker of one study: the budget check and ``ask`` run under it.

    SQLite file: ``flock`` on ``<file>.lock``; PostgreSQL: a session advisory lock; MySQL: a
    named lock. A process that dies releases it (the OS closes the file, the server the
    connection). Other databases: a lock within this process only (the total may then exceed
    the budget by one trial per extra machine).
    """

    def __init__(self, url: str, name: str | None) -> None:
        """``name`` None: the database-wide lock (used while creating Optuna's tables)."""
        self.url, self.name = url, name
        self.kind = _backend(url)
        self._local = threading.RLock()
        self._depth = 0
        self._fh = None
        self._conn = None
        tag = f"hivlatent-sweep:{name}" if name is not None else "hivlatent-sweep-schema"
        self._key = int.from_bytes(hashlib.sha256(tag.encode()).digest()[:8], "big", signed=True)
        self._path = None
        if self.kind == "sqlite":
            from sqlalchemy.engine import make_url

            db = make_url(url).database
            if db and db != ":memory:" and not db.startswith("file:"):
                self._path = Path(db + ".lock")   # one file: studies and schema share it

    def _connect(self):
        if self._conn is None:
            import sqlalchemy
            from sqlalchemy.pool import NullPool

            try:
                engine = sqlalchemy.create_engine(self.url, poolclass=NullPool)
                self._conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            except (sqlalchemy.exc.SQLAlchemyError, ImportError) as exc:
                first = " ".join(str(getattr(exc, "orig", exc)).split("\n")[0].split())[:300]
                raise ConfigError(f"storage {mask_url(self.url)}: cannot open the database "
                                  f"({first})") from None
        return self._conn

    def __enter__(self) -> StudyLock:
        import sqlalchemy

        self._local.acquire()
        self._depth += 1
        if self._depth > 1:          # re-entered by this thread: already held
            return self
        try:
            if self._path is not None:
                import fcntl

                self._fh = open(self._path, "a+")
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX)
            elif self.kind == "postgresql":
                self._connect().execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": self._key})
            elif self.kind in ("mysql", "mariadb"):
                self._connect().execute(sqlalchemy.text("SELECT GET_LOCK(:n, -1)"),
                                        {"n": f"hivlatent:{self._key}"})
        except BaseException:
            self._depth -= 1
            self._local.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        import sqlalchemy

        self._depth -= 1
        if self._depth > 0:
            self._local.release()
            return
        try:
            if self._fh is not None:
                import fcntl

                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
                self._fh.close()
                self._fh = None
            elif self.kind == "postgresql" and self._conn is not None:
                self._conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            elif self.kind in ("mysql", "mariadb") and self._conn is not None:
                self._conn.execute(sqlalchemy.text("SELECT RELEASE_LOCK(:n)"), {"n": f"hivlatent:{self._key}"})
        finally:
            self._local.release()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


@dataclass(frozen=True)
class Budget:
    """The study's trials as the budget counts them: a FAIL trial that was re-queued is
    superseded by its retry and not counted."""

    counted: int
    finished: int
    running: int
    waiting: int
    superseded: int


def budget(trials) -> Budget:
    from optuna.trial import TrialState

    retried: set[int] = set()
    for t in trials:
        retried.update(int(n) for n in t.system_attrs.get("retry_history", []))
    counted = [t for t in trials if not (t.state == TrialState.FAIL and t.number in retried)]
    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return Budget(len(counted), sum(t.state in done for t in counted),
                  sum(t.state == TrialState.RUNNING for t in counted),
                  sum(t.state == TrialState.WAITING for t in counted),
                  len(trials) - len(counted))


class _Heartbeat:
    """Record a heartbeat for ``trial_ids`` every ``interval`` seconds in a thread."""

    def __init__(self, storage, trial_ids: list[int], interval: int) -> None:
        self.storage, self.ids, self.interval = storage, list(trial_ids), interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for tid in self.ids:
                with contextlib.suppress(Exception):
                    self.storage.record_heartbeat(tid)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------------------ the study

def _features(dataset) -> np.ndarray:
    """The (n, p) float32 features of a Dataset or an array (without importing torch)."""
    return np.asarray(getattr(dataset, "X", dataset), dtype=np.float32)


def _fingerprint(dataset) -> str:
    h = hashlib.sha256(np.ascontiguousarray(_features(dataset)).tobytes())
    labels = getattr(dataset, "labels", None)
    if labels is not None:
        h.update(np.ascontiguousarray(np.nan_to_num(labels, nan=-1.0)).tobytes())
    return h.hexdigest()[:16]


def default_study_name(dataset, objectives: Sequence[str]) -> str:
    return f"sweep-{getattr(dataset, 'name', 'data')}-{'+'.join(objective_names(objectives))}"


def study_settings(dataset, config: SweepConfig) -> dict:
    """What every trial of the study shares (stored in the study, checked when joining)."""
    space, _ = config.resolved_space()
    for o in config.objectives:
        if OBJECTIVES[o].needs_labels and not list(getattr(dataset, "drugs", [])):
            raise ConfigError(f"objective {o} needs drug labels; the data has none")
    return {"version": SETTINGS_VERSION, "objectives": list(config.objectives),
            "folds": config.folds, "seed": config.seed, "space": space_to_dict(space),
            "data": getattr(dataset, "name", "array"), "data_fingerprint": _fingerprint(dataset),
            "rows": len(dataset.X), "hivlatent": __version__}


_COMPARED = ("objectives", "folds", "seed", "space", "data_fingerprint", "rows")


def _ensure_study(storage, name: str, settings: dict):
    """Create the study (directions from the objectives) or check that the existing one was
    made with the same settings. Call under the study lock."""
    import optuna

    directions = [OBJECTIVES[o].direction for o in settings["objectives"]]
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        study = optuna.create_study(study_name=name, storage=storage, directions=directions)
        study.set_user_attr(ATTR, settings)
        return study
    stored = study.user_attrs.get(ATTR)
    if stored is None:
        raise ConfigError(f"study {name!r} exists but was not made by hivlatent sweep; "
                          "choose another --study name")
    same = lambda a, b: json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    for key in _COMPARED:
        if same(stored.get(key), settings[key]):
            continue
        if key == "space":
            theirs, mine = stored.get("space") or {}, settings["space"]
            diff = [k for k in sorted(set(theirs) | set(mine)) if not same(theirs.get(k), mine.get(k))]
            desc = lambda d, k: space_from_dict({k: d[k]})[k].describe() if k in d else "absent"
            detail = "; ".join(f"{k}: {desc(theirs, k)} there, {desc(mine, k)} here" for k in diff)
            raise ConfigError(f"study {name!r} was made with another search space ({detail}): "
                              "use the same space or another --study name")
        what = {"data_fingerprint": "other data (rows or values differ)"}.get(key)
        if what:
            raise ConfigError(f"study {name!r} was made with {what}: use the same data or "
                              "another --study name")
        raise ConfigError(f"study {name!r} was made with {key} = {stored.get(key)!r}; this run "
                          f"has {settings[key]!r}: use the same settings or another --study name")
    return study


def _sampler(settings: dict, seed_parts: Sequence[Any]):
    import optuna

    seed = zlib.crc32(":".join(map(str, seed_parts)).encode()) & 0x7FFFFFFF
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True,
                                          constant_liar=True)


def _default_pruner():
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10)


def _trial_seed(settings: dict, number: int) -> int:
    return int(settings["seed"]) * 100_000 + 1000 * int(number)


def _report_and_tell(study, trial, ev: TrialEvaluation, settings: dict, prune: bool,
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
    trial.set_user_attr("metrics", _jsonable({**ev.metrics, "worker": worker}))
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
                trial.set_user_attr("final_value", _nan_none(ev.values[objectives[0]]))
                study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
                return "pruned"
    values = [ev.values[o] for o in objectives]
    study.tell(trial, values[0] if len(values) == 1 else values, skip_if_finished=True)
    return "complete"


def _work(dataset, url: str, name: str, config: SweepConfig, settings: dict, worker: int = 0,
          progress: Callable[[int, int], None] | None = None) -> None:
    """One worker: take trials until the study holds ``config.n_trials`` counted trials (and,
    with ``config.wait``, until none of them is still running elsewhere)."""
    import optuna
    from optuna.trial import TrialState

    storage, lock, n_before = _open_study(
        url, name, config, settings,
        lambda st: len(st.get_all_trials(_study_id(st, name), deepcopy=False)))
    try:
        sampler = _sampler(settings, (settings["seed"], worker, socket.gethostname(), n_before))
        pruner = config.pruner if config.pruner is not None else _default_pruner()
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
        space = space_from_dict(settings["space"])
        splits = cv_splits(dataset, settings["folds"], settings["seed"])
        data = None                       # the engine's tensors, made at the first trial
        restore_threads = None
        prune = config.pruning and len(settings["objectives"]) == 1
        retry = _retry_callback(config.max_retry)
        me = f"{socket.gethostname()}:{os.getpid()}"
        sid = study._study_id
        while True:
            trials = []
            with lock, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(study)
                b = budget(storage.get_all_trials(sid, deepcopy=False))
                if progress is not None:
                    progress(b.finished, max(config.n_trials, b.counted))
                n = min(config.batch_trials, b.waiting + max(0, config.n_trials - b.counted))
                for _ in range(n):
                    t = study.ask()
                    storage.record_heartbeat(t._trial_id)
                    trials.append(t)
            if not trials:
                if b.running == 0 or not config.wait:
                    break
                time.sleep(min(1.0, config.heartbeat_interval))
                continue
            done: set[int] = set()
            try:
                with _Heartbeat(storage, [t._trial_id for t in trials], config.heartbeat_interval):
                    values_list, seeds = [], []
                    for t in trials:
                        values = t.user_attrs.get("values")
                        values = dict(values) if values else suggest(t, space)
                        seed = int(t.user_attrs.get("seed", _trial_seed(settings, t.number)))
                        # before training, so that a re-queued copy repeats the same run
                        t.set_user_attr("values", values)
                        t.set_user_attr("seed", seed)
                        values_list.append(values)
                        seeds.append(seed)
                    if data is None:        # torch only now: a worker that never trains
                        import torch  # (a joiner with nothing left) starts faster

                        from .model import train_data

                        if config.threads:
                            restore_threads = torch.get_num_threads()
                            torch.set_num_threads(config.threads)
                        data = train_data(dataset, config.device)
                    evals = evaluate_trials(dataset, values_list, seeds, splits,
                                            settings["objectives"], config.device, data)
                    for t, ev in zip(trials, evals):
                        _report_and_tell(study, t, ev, settings, prune, me)
                        done.add(t._trial_id)
            except (KeyboardInterrupt, SystemExit):
                # interrupted: hand our unfinished trials back at once (FAIL + re-queued)
                for t in trials:
                    if t._trial_id not in done:
                        with contextlib.suppress(Exception):
                            if storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                                retry(study, storage.get_trial(t._trial_id))
                raise
            except Exception as exc:
                # an error of the code, not of the trial's result: FAIL (counted, not re-queued,
                # the message kept in the trial) and stop, as Optuna's optimize() does
                for t in trials:
                    if t._trial_id not in done:
                        with contextlib.suppress(Exception):
                            t.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
                            storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
                raise
    finally:
        lock.close()
        if restore_threads:
            import torch

            torch.set_num_threads(restore_threads)


def _open_study(url: str, name: str, config: SweepConfig, settings: dict,
                then: Callable | None = None):
    """Open the storage and the study's lock, and create the study if needed; ``then(storage)``
    runs under the same lock. Returns (storage, the open lock, what ``then`` returned)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage_locked(url, config.heartbeat_interval, config.grace_period,
                                  config.max_retry)
    lock = StudyLock(url, name)
    try:
        with lock:
            _ensure_study(storage, name, settings)
            result = then(storage) if then is not None else None
    except BaseException:
        lock.close()
        raise
    return storage, lock, result


def _study_id(storage, name: str) -> int:
    return storage.get_study_id_from_name(name)


def _worker_entry(dataset, url, name, config, settings, worker) -> None:
    import signal

    def stop(signum, frame):  # terminate(): hand the running trials back, then exit
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    _work(dataset, url, name, config, settings, worker)


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


# ------------------------------------------------------------------------------ results

@dataclass
class SweepResult:
    study_name: str
    storage: str                          # masked URL
    out: Path
    objectives: tuple[str, ...]
    trials: pd.DataFrame
    best: list[dict]
    files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    best_model: Path | None = None
    seconds: float = 0.0


def _value_columns(objectives: Sequence[str]) -> list[str]:
    return [f"value_{o}" for o in objectives]


def trials_frame(study, settings: dict) -> pd.DataFrame:
    """One row per trial: number, state, objective values, parameters, seed and metrics."""
    from optuna.trial import TrialState

    objectives = settings["objectives"]
    names = [n for n, p in space_from_dict(settings["space"]).items() if p.searched]
    rows = []
    for t in study.get_trials(deepcopy=False):
        ua = t.user_attrs
        m = ua.get("metrics") or {}
        vals = t.values if t.values is not None and t.state == TrialState.COMPLETE else None
        row: dict[str, Any] = {"number": t.number, "state": t.state.name}
        for o, c in zip(objectives, _value_columns(objectives)):
            row[c] = vals[objectives.index(o)] if vals else None
        params = dict(ua.get("values") or t.params)
        for n in names:
            row[f"param_{n}"] = params.get(n)
        row["hidden_widths"] = "-".join(map(str, m.get("hidden_widths", []))) or None
        row["seed"] = ua.get("seed")
        for k in ("neg_elbo", "neg_elbo_best", "probe_auc", "heads_bacc", "train_seconds"):
            row[k] = m.get(k)
        for k in ("pruned_at_epoch", "error"):
            row[k] = ua.get(k)
        row["retry_of"] = t.system_attrs.get("failed_trial")
        row["worker"] = m.get("worker")
        row["datetime_start"] = t.datetime_start
        row["datetime_complete"] = t.datetime_complete
        row["duration_s"] = (None if t.datetime_start is None or t.datetime_complete is None
                             else (t.datetime_complete - t.datetime_start).total_seconds())
        rows.append(row)
    return pd.DataFrame(rows)


def best_trials(study, settings: dict) -> list:
    """Single objective: the best COMPLETE trial; several: the Pareto front, ordered by the
    first objective (best first). Empty when no trial completed."""
    from optuna.trial import TrialState

    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return []
    objectives = settings["objectives"]
    if len(objectives) == 1:
        return [study.best_trial]
    sign = 1.0 if OBJECTIVES[objectives[0]].direction == "minimize" else -1.0
    return sorted(study.best_trials, key=lambda t: (sign * t.values[0], t.number))


def _best_dict(t, objectives) -> dict:
    return {"number": t.number, "values": dict(zip(objectives, t.values)),
            "params": dict(t.user_attrs.get("values") or t.params), "seed": t.user_attrs.get("seed"),
            "hidden_widths": (t.user_attrs.get("metrics") or {}).get("hidden_widths"),
            "metrics": {k: v for k, v in (t.user_attrs.get("metrics") or {}).items()
                        if k in ("neg_elbo", "probe_auc", "heads_bacc") and v is not None}}


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def importances(study, settings: dict, index: int = 0) -> tuple[pd.Series, str]:
    """Parameter importance for objective ``index``: fANOVA (optuna.importance) over the
    parameters every COMPLETE trial has; with fewer than 4 such trials, or when fANOVA fails,
    the absolute Spearman rank correlation of each numeric parameter with the objective.
    Returns (importance by parameter, method); empty when fewer than 3 trials completed."""
    import optuna
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(done) >= 4:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                imp = optuna.importance.get_param_importances(
                    study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
                    target=lambda t: t.values[index])
            if imp:
                return pd.Series(imp, dtype=float).sort_values(ascending=False), "fANOVA"
        except (RuntimeError, ValueError, ZeroDivisionError):
            pass
    if len(done) < 3:
        return pd.Series(dtype=float), "too few completed trials"
    y = pd.Series([t.values[index] for t in done])
    out = {}
    for name in sorted({k for t in done for k in t.params}):
        x = pd.Series([t.params.get(name) for t in done])
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x.dropna()):
            x = x.astype("category").cat.codes.where(x.notna())
        ok = x.notna()
        if ok.sum() >= 3 and x[ok].nunique() > 1:
            rho = x[ok].astype(float).rank().corr(y[ok].rank())
            out[name] = abs(float(rho)) if math.isfinite(rho) else 0.0
    return pd.Series(out, dtype=float).sort_values(ascending=False), "|Spearman rho| (fallback)"


def write_results(url: str, name: str, out: str | Path, report: bool = True) -> SweepResult:
    """trials.csv and sweep.json of a study; with ``report``, also the figures (PNG + SVG in
    ``figures/``) and sweep_report.html."""
    import optuna
    from optuna.trial import TrialState

    from . import sweep_figures as SF
    from .reporting import figures as F
    from .reporting.report import Report

    out = Path(out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(url, None, None)
    study = optuna.load_study(study_name=name, storage=storage)
    settings = study.user_attrs.get(ATTR)
    if settings is None:
        raise ConfigError(f"study {name!r} was not made by hivlatent sweep")
    objectives = tuple(settings["objectives"])
    space = space_from_dict(settings["space"])
    trials = study.get_trials(deepcopy=False)
    frame = trials_frame(study, settings)
    files: dict[str, Path] = {}
    csv_path = out / "trials.csv"
    _atomic_text(csv_path, frame.to_csv(index=False))
    files["trials"] = csv_path
    best = best_trials(study, settings)
    best_dicts = [_best_dict(t, objectives) for t in best]
    b = budget(trials)
    # states of the counted trials (a FAIL superseded by its re-queued copy is left out)
    superseded = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    live = [t for t in trials if not (t.state == TrialState.FAIL and t.number in superseded)]
    counts = {s.name.lower(): sum(t.state == s for t in live) for s in TrialState}
    counts["counted"] = b.counted
    counts["superseded"] = b.superseded

    summary = {"study": name, "storage": mask_url(url), "settings": settings, "counts": counts,
               "best": best_dicts, "hivlatent": __version__}
    _atomic_text(out / "sweep.json", json.dumps(_jsonable(summary), indent=2) + "\n")
    files["summary"] = out / "sweep.json"

    result = SweepResult(name, mask_url(url), out, objectives, frame, best_dicts, files, counts)
    if not report:
        return result

    figdir = out / "figures"
    figs: list[tuple[str, Any, str]] = []
    figs.append(("sweep_history", SF.plot_history(frame, objectives, settings),
                 "Objective value of every trial (dots; pruned trials hollow at their final value) "
                 "and the best so far (line)."))
    imps = {o: importances(study, settings, i) for i, o in enumerate(objectives)}
    if any(len(s) for s, _ in imps.values()):
        figs.append(("sweep_importance", SF.plot_importance(imps),
                     "Parameter importance per objective (" + "; ".join(
                         f"{o}: {m}" for o, (_, m) in imps.items()) + ")."))
    searched = [n for n, p in space.items() if p.searched]
    for o in objectives:
        if frame[f"value_{o}"].notna().any():
            figs.append((f"sweep_slice_{o}", SF.plot_slices(frame, o, searched, space),
                         f"{o} against each searched parameter (completed trials; colour: trial "
                         "number)."))
    if len(objectives) == 2 and best:
        figs.append(("sweep_pareto", SF.plot_pareto(frame, objectives, [t.number for t in best]),
                     "Completed trials in objective space; the Pareto front is ringed."))
    for stem, fig, _ in figs:
        files[stem] = F.save_figure(fig, figdir / stem)["png"]

    rep = Report(f"Hyperparameter sweep: {name}",
                 f"{settings['data']} · {b.counted} trials · objective"
                 f"{'s' if len(objectives) > 1 else ''} {', '.join(objectives)}")
    sec = rep.add_section("Settings")
    sec.add_table(pd.DataFrame({"setting": [
        "data", "rows", "storage", "study", "objectives", "cross-validation", "trials (counted)",
        "complete / pruned / failed", "re-queued after a dead worker"], "value": [
        settings["data"], settings["rows"], mask_url(url), name,
        "; ".join(f"{o} ({OBJECTIVES[o].direction}: {OBJECTIVES[o].description})" for o in objectives),
        f"{settings['folds']} folds stratified by resistance count, seed {settings['seed']}",
        b.counted, f"{counts['complete']} / {counts['pruned']} / {counts['fail']}",
        b.superseded]}), index=False)
    sec = rep.add_section("Best trial" + ("s (Pareto front)" if len(objectives) > 1 else ""))
    if best_dicts:
        rows = []
        for d in best_dicts:
            rows.append({"trial": d["number"], **{o: d["values"][o] for o in objectives},
                         **{k: v for k, v in d["params"].items()}, "seed": d["seed"]})
        sec.add_table(pd.DataFrame(rows), index=False, float_format="{:.4g}")
        sec.add_text("Retrain the best configuration on all rows with the same command and "
                     "`--best` (the model bundle goes to `best-model/` in the run folder).")
    else:
        sec.add_text("No trial has completed yet.")
    for stem, _, caption in figs:
        heading = {"sweep_history": "Optimisation history", "sweep_importance": "Parameter importance",
                   "sweep_pareto": "Pareto front"}.get(stem, "Slices")
        rep.section(heading).add_figure(figdir / stem, caption)
    for o, (s, method) in imps.items():
        if len(s):
            rep.section("Parameter importance").add_table(
                s.rename("importance").to_frame(), f"{o}: {method}", float_format="{:.3f}")
    rep.add_section("Search space").add_table(pd.DataFrame(
        space_table(space), columns=["parameter", "range", "meaning"]), index=False)
    cols = ["number", "state"] + _value_columns(objectives) + \
        [c for c in frame.columns if c.startswith("param_")] + ["seed", "pruned_at_epoch", "error"]
    if len(frame):
        first = _value_columns(objectives)[0]
        asc = OBJECTIVES[objectives[0]].direction == "minimize"
        table = frame[cols].sort_values(first, ascending=asc, na_position="last")
        for c in ("pruned_at_epoch", "error"):
            if table[c].isna().all():
                table = table.drop(columns=c)
            else:
                table[c] = table[c].map(lambda v: "" if v is None or v != v else v)
        rep.add_section("All trials").add_table(
            table, index=False,
            caption="Sorted by the first objective; all columns in trials.csv.", max_rows=200)
    notes = ["Pruning is post hoc: each trial trains its whole run (the engine trains runs at "
             "once), then its per-epoch validation negative ELBO is reported and the median rule "
             "may mark it PRUNED; its full result stays in trials.csv (neg_elbo)."]
    if b.superseded:
        notes.append(f"{b.superseded} trial(s) of a worker that died were marked FAIL and "
                     "re-queued with the same parameters and seed (column retry_of).")
    rep.add_section("Notes").add_list(notes)
    files["report"] = rep.write(out / "sweep_report.html")
    return result


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return _nan_none(x)


# ------------------------------------------------------------------------------ entry points

def resolve_storage(config: SweepConfig, out: str | Path) -> str:
    if config.storage:
        return config.storage
    return f"sqlite:///{(Path(out) / 'sweep.db').resolve()}"


def run_sweep(dataset, out: str | Path, config: SweepConfig | None = None,
              progress: Callable[[int, int], None] | None = None,
              best: bool = False, report: bool = True) -> SweepResult:
    """Run (or resume, or join) the sweep until the study holds ``config.n_trials`` trials, then
    write trials.csv, the figures and sweep_report.html to ``out``. ``best``: also retrain the
    best configuration on all rows (:func:`retrain_best`). ``report=False``: only trials.csv and
    sweep.json (no figures, no HTML)."""

    t0 = time.perf_counter()
    config = config or SweepConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = study_settings(dataset, config)
    url = resolve_storage(config, out)
    name = config.study_name or default_study_name(dataset, config.objectives)
    storage, lock, _ = _open_study(url, name, config, settings)
    lock.close()
    # this process is worker 0; workers - 1 more are spawned (fresh interpreters: no fork of a
    # process holding database connections and torch threads)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker_entry, name=f"hivlatent-sweep-{i}",
                         args=(dataset, url, name, config, settings, i))
             for i in range(1, config.workers)]
    try:
        for p in procs:
            p.start()
        _work(dataset, url, name, config, settings, 0, progress)
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
        b = budget(storage.get_all_trials(_study_id(storage, name), deepcopy=False))
        progress(b.finished, max(config.n_trials, b.counted))
    result = write_results(url, name, out, report)
    if best:
        result.best_model = retrain_best(dataset, out, url, name, device=config.device,
                                         threads=config.threads)
    result.seconds = time.perf_counter() - t0
    return result


def retrain_best(dataset, out: str | Path, storage: str | None = None, study_name: str | None = None,
                 folder: str | Path | None = None, device: str = "cpu", threads: int | None = 1
                 ) -> Path:
    """Train the best trial's configuration (its parameters and seed; for several objectives the
    Pareto-optimal trial best on the first) on every row of ``dataset`` and save the bundle to
    ``folder`` (default ``<out>/best-model``): a semi-supervised model when that trial is one,
    usable by ``hivlatent predict``."""
    import optuna

    from .model import VAEModel

    out = Path(out)
    url = storage or f"sqlite:///{(out / 'sweep.db').resolve()}"
    if storage is None and not (out / "sweep.db").is_file():
        raise ConfigError(f"{out}: no sweep here (sweep.db is missing); run the sweep first or "
                          "give --storage")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
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
    if settings.get("data_fingerprint") not in (None, _fingerprint(dataset)) or \
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
