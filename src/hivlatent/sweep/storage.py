"""Where trials live: the Optuna storage (any SQLAlchemy database), the lock every worker of
one search takes around the budget check and ``ask``, the budget count, heartbeats, and the
creation (or the check on joining) of the Optuna study."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .settings import ATTR, OBJECTIVES
from .space import space_from_dict


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


def engine_url(url: str) -> str:
    """The URL to open: a bare ``postgresql://`` gets the PostgreSQL driver that is installed
    (SQLAlchemy's default driver differs between its versions: psycopg2 in 2.0, psycopg in 2.1;
    hivlatent's ``test`` extra installs psycopg2); a URL that names its driver is left as it
    is."""
    import importlib.util

    from sqlalchemy.engine import make_url

    _backend(url)
    u = make_url(url)
    if u.drivername != "postgresql":
        return url
    preferred = u.get_dialect().driver
    for driver in dict.fromkeys((preferred, "psycopg2", "psycopg")):
        if importlib.util.find_spec(driver) is not None:
            return u.set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)
    raise ConfigError(f"storage {mask_url(url)}: no PostgreSQL driver is installed; expected "
                      "psycopg2 or psycopg (pip install psycopg2-binary)")


def check_storage(url: str) -> None:
    """Check a storage URL before any work (nothing is created): a known database, its driver
    installed, and for SQLite a file (new or existing) in an existing folder that can be
    written. A folder that does not exist is an error, never created: a typo would otherwise
    scatter databases."""
    from sqlalchemy.engine import make_url

    from ..files import _kind, _probe

    engine_url(url)
    if _backend(url) != "sqlite":
        return
    db = make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        return
    path, where = Path(db), f"storage {mask_url(url)}"
    if path.is_dir():
        raise ConfigError(f"{where}: {path} is a folder; expected a SQLite database file")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{where}: {path} {_kind(path)}; expected a SQLite database file")
    if not path.parent.is_dir():
        what = "does not exist" if not path.parent.exists() else _kind(path.parent)
        raise ConfigError(f"{where}: the folder {path.parent} {what}; expected a SQLite file in "
                          "an existing folder (make the folder first)")
    _probe(path.parent, path, where)


def cannot_open(url: str, exc: BaseException) -> ConfigError:
    """The one-line error for a database that cannot be opened (a missing driver names the
    fix)."""
    first = " ".join(str(exc).split("\n")[0].split())[:300]
    if isinstance(exc, ImportError):
        first += ": install the database's driver, or name an installed one (dialect+driver://)"
    return ConfigError(f"storage {mask_url(url)}: cannot open the database ({first})")


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
            callback = retry_callback(max_retry) if heartbeat_interval else None
            # optuna >= 4.9 names it heartbeat_stale_trial_callback, older failed_trial_callback
            arg = ("heartbeat_stale_trial_callback"
                   if "heartbeat_stale_trial_callback" in inspect.signature(RDBStorage).parameters
                   else "failed_trial_callback")
            storage = RDBStorage(engine_url(url), engine_kwargs=kwargs, heartbeat_interval=heartbeat_interval,
                                 grace_period=grace_period if heartbeat_interval else None,
                                 **{arg: callback})
    except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError, ImportError,
            ValueError) as exc:
        raise cannot_open(url, exc) from None
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
    lock = SearchLock(url, None)
    try:
        with lock:
            return open_storage(url, heartbeat_interval, grace_period, max_retry)
    finally:
        lock.close()


def retry_callback(max_retry: int | None):
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) \
            or optuna.storages.RetryFailedTrialCallback  # optuna < 4.9
        return cls(max_retry=max_retry)


class SearchLock:
    """A lock shared by every worker of one study: the budget check and ``ask`` run under it.

    SQLite file: an OS lock on ``<file>.lock`` (through the ``filelock`` library); PostgreSQL: a
    session advisory lock; MySQL: a named lock. A process that dies releases it (the OS closes
    the file, the server the connection). Other databases: a lock within this process only (the total may then exceed
    the budget by one trial per extra machine).
    """

    def __init__(self, url: str, name: str | None) -> None:
        """``name`` None: the database-wide lock (used while creating Optuna's tables)."""
        self.url, self.name = url, name
        self.kind = _backend(url)
        self._local = threading.RLock()
        self._depth = 0
        self._file_lock = None
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
                engine = sqlalchemy.create_engine(engine_url(self.url), poolclass=NullPool)
                self._conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            except (sqlalchemy.exc.SQLAlchemyError, ImportError) as exc:
                raise cannot_open(self.url, getattr(exc, "orig", None) or exc) from None
        return self._conn

    def __enter__(self) -> SearchLock:
        import sqlalchemy

        self._local.acquire()
        self._depth += 1
        if self._depth > 1:          # re-entered by this thread: already held
            return self
        try:
            if self._path is not None:
                from filelock import FileLock

                self._file_lock = FileLock(self._path)
                self._file_lock.acquire()
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
            if self._file_lock is not None:
                self._file_lock.release()
                self._file_lock = None
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


class Heartbeat:
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


_COMPARED = ("objectives", "folds", "seed", "space", "data_fingerprint", "rows")


def ensure_study(storage, name: str, settings: dict):
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
