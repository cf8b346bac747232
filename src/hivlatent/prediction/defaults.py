"""Default models, one per drug class, so that ``predict`` needs no setup.

Each is the semi-supervised model with the class's defaults (:func:`hivlatent.config.class_defaults`:
the configuration docs/results/trust.md evaluates), trained on every virus of the class's HIVDB table
(``nrti``, ``nnrti``, ``pi``, ``insti``) on first use, and cached in the user cache
(``$HIVLATENT_CACHE_DIR/models``, default ``~/.cache/hivlatent/models``) under a name holding the
class, the first 12 hex digits of the table's sha256 and the package version; its manifest
records what it was trained on (the table's name and sha256). A cached model is used only when
it loads, checks (every tensor against its config; its reference viruses) and is of this package
version; then:

- when the table is found on this machine (``$HIVLATENT_DATA_DIR`` or the cache, never
  downloaded for this), the model must name that table's sha256: a table that differs (a newer
  HIVDB release) means the model is trained again on it;
- when the table is not found, the cached model is used as it is (offline after first use: no
  table, no network needed); with several, the one trained last.

Anything else (a partial or damaged entry: a file that is not valid JSON or not an object, an
empty or truncated history or reference file, missing or non-finite weights, tensors of other
shapes, another version) is removed and trained again, which needs the table (downloaded when it
is missing). Every writer (first-use training, ``models train``, ``models remove``) checks first
that the cache can be written (a one-line error otherwise) and holds the cache's lock, so no two
processes write it at once; a model is written to a temporary folder renamed into place, so a
reader never sees half of one, and needs neither the lock nor a writable cache.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from .. import __version__
from ..config import Progress
from ..errors import ConfigError, HivLatentError
from .reference import Reference

#: told one line when the cache's lock is held by another process, or an entry is damaged
Note = Callable[[str], None]

#: drug class -> the data set its default model is trained on
CLASS_DATA = {"NRTI": "nrti", "NNRTI": "nnrti", "PI": "pi", "INSTI": "insti"}


@dataclass(frozen=True)
class DefaultModel:
    drug_class: str
    folder: Path
    ready: bool
    note: str = ""           # why it is not ready, or when and how long it was trained
    damaged: bool = False    # an entry is there but unusable (it is removed and trained again)


def models_dir() -> Path:
    from ..data.sources import cache_dir

    return cache_dir() / "models"


def _table(drug_class: str):
    """(path, sha256) of the class's table, downloaded when it is nowhere on this machine."""
    from ..data import find_file
    from ..data.hivdb_tables import sha256_of
    from ..data.registry import DATASETS

    path = find_file(DATASETS[CLASS_DATA[drug_class]].filename)
    return path, sha256_of(path)


def _local_table(drug_class: str):
    """(path, sha256) of the class's table when it is on this machine, else None (no download)."""
    from ..data import locate_file
    from ..data.hivdb_tables import sha256_of
    from ..data.registry import DATASETS

    path = locate_file(DATASETS[CLASS_DATA[drug_class]].filename)
    return None if path is None else (path, sha256_of(path))


def _name(drug_class: str, sha: str) -> str:
    return f"{drug_class.lower()}-{sha[:12]}-{__version__}"


def _cached(drug_class: str) -> list[Path]:
    """Cached folders of this class and version, the one trained last first."""
    if not models_dir().is_dir():
        return []
    found = [p for p in models_dir().glob(f"{drug_class.lower()}-*-{__version__}") if p.is_dir()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def folder_for(drug_class: str) -> Path:
    """The folder ``predict`` uses for the class: the one named for the table on this machine,
    or, without the table, the cached model trained last (which may not exist yet)."""
    table = _local_table(drug_class)
    if table is None:
        for folder in _cached(drug_class):
            return folder
        table = _table(drug_class)
    return models_dir() / _name(drug_class, table[1])


def check_classes(classes) -> list[str]:
    chosen = [c.strip().upper() for c in (classes or CLASS_DATA)]
    bad = [c for c in chosen if c not in CLASS_DATA]
    if bad:
        raise ConfigError(f"drug class {bad[0]!r}: expected one of {', '.join(CLASS_DATA)}")
    return chosen


def _check(drug_class: str, folder: Path, sha: str | None = None):
    """(model, reference) of a cached folder, or a HivLatentError saying what is wrong.
    ``sha``: the table it must have been trained on (None: whichever it records). Every file is
    checked by the loaders: JSON objects, histories, finite weights of the config's shapes,
    forests, reference viruses that fit the model."""
    from ..bundle import load_reference
    from ..model import VAEModel

    model = VAEModel.load(folder)
    info = model.manifest.get("default_model")
    if not isinstance(info, dict) or info.get("class") != drug_class \
            or model.manifest.get("hivlatent") != __version__ or not info.get("table_sha256") \
            or (sha is not None and info.get("table_sha256") != sha):
        raise ConfigError(f"{folder}: made for another table or version")
    reference = load_reference(folder, model)
    if reference is None:
        raise ConfigError(f"{folder}: its reference viruses are missing")
    return model, reference


NOT_TRAINED = "not trained yet"


def _usable(drug_class: str):
    """(folder, model, reference, why) of the cached model predict would use now without
    training: the table's when the table is here, else the one trained last that checks.
    ``why``: "" when usable, else why not (the last damaged entry's error, or not trained)."""
    table = _local_table(drug_class)
    folders = [models_dir() / _name(drug_class, table[1])] if table else _cached(drug_class)
    why = NOT_TRAINED
    for folder in folders:
        if not folder.exists() and not folder.is_symlink():
            continue
        try:
            model, reference = _check(drug_class, folder, table[1] if table else None)
        except HivLatentError as exc:
            why = " ".join(str(exc).split())
            continue
        return folder, model, reference, ""
    return (folders[0] if folders else None), None, None, why


def status(classes=None) -> list[DefaultModel]:
    """Each class's default model: ready in the cache or not (and why)."""
    out = []
    for c in check_classes(classes):
        folder, model, _, why = _usable(c)
        if model is None:
            damaged = why != NOT_TRAINED
            out.append(DefaultModel(c, folder or models_dir() / f"{c.lower()}-<table sha256>-"
                                    f"{__version__}", False,
                                    f"unusable, will be retrained ({why})" if damaged else why,
                                    damaged))
            continue
        info = model.manifest.get("default_model", {})
        secs = sum(model.train_seconds) / max(1, len(model.train_seconds)) * model.n_members
        offline = "" if _local_table(c) else (f"; its table {info.get('table')} is not on this "
                                             "machine: used as cached")
        out.append(DefaultModel(c, folder, True, f"{model.n_members} members, trained in "
                                                 f"{secs:.0f} s on {model.data_info.get('rows')} "
                                                 f"viruses of {info.get('table')} (sha256 "
                                                 f"{str(info.get('table_sha256'))[:12]}){offline}"))
    return out


def check_cache() -> Path:
    """The models folder of the cache, checked before any training or removal: a one-line
    ConfigError when it, or a folder above it, is a file, or it cannot be written."""
    from ..files import check_folder

    given = os.environ.get("HIVLATENT_CACHE_DIR", "").strip()
    try:
        return check_folder(models_dir(), "model cache")
    except ConfigError as exc:
        hint = "HIVLATENT_CACHE_DIR names it: point it" if given else "set HIVLATENT_CACHE_DIR"
        raise ConfigError(f"{exc} ({hint} to a writable folder)") from None


#: the lock file every writer of the model cache holds (first-use training, ``models train``,
#: ``models remove``)
LOCK = ".lock"


@contextmanager
def _locked(note: Note | None = None):
    """Hold the cache's lock (``models/.lock``, an OS lock through the ``filelock`` library:
    released by the OS if the process dies); ``note`` is told when another process holds it and
    this one waits."""
    folder = check_cache()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(folder / LOCK)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            if note is not None:
                note(f"waiting for another hivlatent process writing the model cache {folder}")
            lock.acquire()              # waits: never a Timeout
    except OSError as exc:
        raise ConfigError(f"model cache {folder / LOCK}: cannot open the lock "
                          f"({exc.strerror or exc}); expected a writable folder") from None
    try:
        _clear_leftovers(folder)
        yield
    finally:
        lock.release()


def _discard(path: Path) -> None:
    """Remove a cache entry (a folder, or a file in its place): renamed to a hidden name first,
    so no half-removed folder is ever seen under an entry's name. Call under the lock."""
    try:
        if path.is_dir() and not path.is_symlink():
            trash = path.with_name(f".{path.name}.removed-{os.getpid()}")
            os.replace(path, trash)
            shutil.rmtree(trash)
        else:
            path.unlink()
    except OSError as exc:
        raise ConfigError(f"model cache {path}: cannot remove it ({exc.strerror or exc}); "
                          "expected a writable cache folder") from None


def _clear_leftovers(folder: Path) -> None:
    """Hidden folders a killed writer left (a bundle's temporary folder, a removed entry):
    with the lock held no other writer is at work, so they are garbage."""
    for p in folder.glob(".*"):
        if p.name != LOCK and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def train(drug_class: str, progress: Progress | None = None, model=None,
          note: Note | None = None) -> Path:
    """Train the default model of ``drug_class`` and cache it (replacing what is there), under
    the cache's lock, after checking that the cache can be written.
    ``model``: an untrained :class:`~hivlatent.model.VAEModel` to train instead of the class's
    default configuration (smaller settings for tests)."""
    (drug_class,) = check_classes([drug_class])
    with _locked(note):
        return _train(drug_class, progress, model)


def _train(drug_class: str, progress: Progress | None = None, model=None) -> Path:
    """:func:`train` with the lock held."""
    from ..config import class_defaults
    from ..data import load_dataset, read_table
    from ..bundle import is_bundle, reference_files
    from ..model import VAEModel

    path, sha = _table(drug_class)
    folder = models_dir() / _name(drug_class, sha)
    dataset = load_dataset(CLASS_DATA[drug_class])
    t0 = time.perf_counter()
    model = model if model is not None else VAEModel(*class_defaults(drug_class))
    model.fit(dataset, progress=(None if progress is None else
                                 lambda d, n, _="": progress(d, n, f"training the {drug_class} model")))
    reference = Reference.build(model, dataset, read_table(path))
    if (folder.exists() or folder.is_symlink()) and not (folder.is_dir() and is_bundle(folder)):
        _discard(folder)            # damaged: a bundle is replaced atomically by save, not this
    model.save(folder, {"default_model": {"class": drug_class, "table": path.name,
                                          "table_sha256": sha,
                                          "seconds": round(time.perf_counter() - t0, 1)}},
               extra_files=reference_files(reference))
    return folder


def get(drug_class: str, progress: Progress | None = None, allow_training: bool = True,
        note: Note | None = None):
    """(model, reference) of the default model of ``drug_class``: the cached one (see the module
    docstring; no table needed once it exists, nor a writable cache), else trained first (under
    the cache's lock; a damaged entry is removed, and said to ``note``)."""
    (drug_class,) = check_classes([drug_class])
    folder, model, reference, _ = _usable(drug_class)   # entries are renamed into place whole
    if model is not None:
        return model, reference
    if not allow_training:
        raise ConfigError(f"no default {drug_class} model yet; train it with "
                          "`hivlatent models train`")
    with _locked(note):
        folder, model, reference, why = _usable(drug_class)    # another process may have
        if model is not None:                                   # trained it while we waited
            return model, reference
        if folder is not None and (folder.exists() or folder.is_symlink()):
            if note is not None:
                note(f"the cached {drug_class} model {folder} is damaged ({why}); training it "
                     "again")
            _discard(folder)
        folder = _train(drug_class, progress)
    return _check(drug_class, folder)


def remove(classes=None, note: Note | None = None) -> list[Path]:
    """Remove the cached default models of ``classes`` (all versions); the entries removed."""
    chosen = check_classes(classes)
    check_cache()
    if not models_dir().exists():
        return []                                          # nothing cached, nothing to lock
    gone = []
    with _locked(note):
        for c in chosen:
            for entry in sorted(models_dir().glob(f"{c.lower()}-*")):
                _discard(entry)
                gone.append(entry)
    return gone


def stale() -> list[Path]:
    """Cached model folders of other tables or versions (``models remove`` clears them)."""
    current = {f.name for c in CLASS_DATA for f in [_usable(c)[0]] if f is not None}
    return sorted(p for p in models_dir().glob("*-*-*")
                  if not p.name.startswith(".") and p.name not in current) \
        if models_dir().is_dir() else []


__all__ = ["CLASS_DATA", "DefaultModel", "check_cache", "folder_for", "get", "models_dir",
           "remove", "stale", "status", "train"]
