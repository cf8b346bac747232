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

Anything else (a partial or damaged folder, another version) is removed and trained again, which
needs the table (downloaded when it is missing). Training holds a lock on the cache folder, so two
processes never train the same model at once.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..config import Progress
from ..errors import ConfigError, HivLatentError
from .reference import Reference

#: drug class -> the data set its default model is trained on
CLASS_DATA = {"NRTI": "nrti", "NNRTI": "nnrti", "PI": "pi", "INSTI": "insti"}


@dataclass(frozen=True)
class DefaultModel:
    drug_class: str
    folder: Path
    ready: bool
    note: str = ""           # why it is not ready, or when and how long it was trained


def models_dir() -> Path:
    from ..data.sources import cache_dir

    return cache_dir() / "models"


def _table(drug_class: str):
    """(path, sha256) of the class's table, downloaded when it is nowhere on this machine."""
    from ..data import find_file
    from ..data.registry import DATASETS
    from ..data.tables import sha256_of

    path = find_file(DATASETS[CLASS_DATA[drug_class]].filename)
    return path, sha256_of(path)


def _local_table(drug_class: str):
    """(path, sha256) of the class's table when it is on this machine, else None (no download)."""
    from ..data import locate_file
    from ..data.registry import DATASETS
    from ..data.tables import sha256_of

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
    ``sha``: the table it must have been trained on (None: whichever it records)."""
    from ..model import VAEModel

    model = VAEModel.load(folder)
    info = model.manifest.get("default_model", {})
    if info.get("class") != drug_class or model.manifest.get("hivlatent") != __version__ \
            or not info.get("table_sha256") \
            or (sha is not None and info.get("table_sha256") != sha):
        raise ConfigError(f"{folder}: made for another table or version")
    reference = Reference.load(folder)
    if reference is None:
        raise ConfigError(f"{folder}: its reference viruses are missing")
    return model, reference


def _usable(drug_class: str):
    """(folder, model, reference, why) of the cached model predict would use now without
    training: the table's when the table is here, else the one trained last that checks."""
    table = _local_table(drug_class)
    folders = [models_dir() / _name(drug_class, table[1])] if table else _cached(drug_class)
    why = "not trained yet"
    for folder in folders:
        if not folder.exists():
            continue
        try:
            model, reference = _check(drug_class, folder, table[1] if table else None)
        except HivLatentError as exc:
            why = f"unusable, will be retrained ({exc})"
            continue
        return folder, model, reference, ""
    return (folders[0] if folders else None), None, None, why


def status(classes=None) -> list[DefaultModel]:
    """Each class's default model: ready in the cache or not (and why)."""
    out = []
    for c in check_classes(classes):
        folder, model, _, why = _usable(c)
        if model is None:
            out.append(DefaultModel(c, folder or models_dir() / f"{c.lower()}-<table sha256>-"
                                    f"{__version__}", False, why))
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


@contextmanager
def _locked():
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def train(drug_class: str, progress: Progress | None = None, model=None) -> Path:
    """Train the default model of ``drug_class`` and cache it (replacing what is there).
    ``model``: an untrained :class:`~hivlatent.model.VAEModel` to train instead of the class's
    default configuration (smaller settings for tests)."""
    from ..config import class_defaults
    from ..data import load_dataset, read_table
    from ..model import VAEModel

    (drug_class,) = check_classes([drug_class])
    path, sha = _table(drug_class)
    folder = models_dir() / _name(drug_class, sha)
    dataset = load_dataset(CLASS_DATA[drug_class])
    t0 = time.perf_counter()
    model = model if model is not None else VAEModel(*class_defaults(drug_class))
    model.fit(dataset, progress=(None if progress is None else
                                 lambda d, n, _="": progress(d, n, f"training the {drug_class} model")))
    reference = Reference.build(model, dataset, read_table(path))
    if folder.exists():
        shutil.rmtree(folder)
    model.save(folder, {"default_model": {"class": drug_class, "table": path.name,
                                          "table_sha256": sha,
                                          "seconds": round(time.perf_counter() - t0, 1)}},
               extra_files=reference.to_files())
    return folder


def get(drug_class: str, progress: Progress | None = None, allow_training: bool = True):
    """(model, reference) of the default model of ``drug_class``: the cached one (see the module
    docstring; no table needed once it exists), else trained first."""
    (drug_class,) = check_classes([drug_class])
    with _locked():
        folder, model, reference, _ = _usable(drug_class)
        if model is not None:
            return model, reference
        if folder is not None and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)       # partial or damaged: rebuilt
        if not allow_training:
            raise ConfigError(f"no default {drug_class} model yet; train it with "
                              "`hivlatent models train`")
        folder = train(drug_class, progress)
        return _check(drug_class, folder)


def remove(classes=None) -> list[Path]:
    """Remove the cached default models of ``classes`` (all versions); the folders removed."""
    gone = []
    with _locked():
        for c in check_classes(classes):
            for folder in models_dir().glob(f"{c.lower()}-*"):
                if folder.is_dir():
                    shutil.rmtree(folder)
                    gone.append(folder)
    return gone


def stale() -> list[Path]:
    """Cached model folders of other tables or versions (``models remove`` clears them)."""
    current = {f.name for c in CLASS_DATA for f in [_usable(c)[0]] if f is not None}
    return sorted(p for p in models_dir().glob("*-*-*") if p.is_dir() and p.name not in current) \
        if models_dir().is_dir() else []


__all__ = ["CLASS_DATA", "DefaultModel", "folder_for", "get", "models_dir", "remove", "stale",
           "status", "train"]
