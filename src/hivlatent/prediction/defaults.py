"""Default models, one per drug class, so that ``predict`` needs no setup.

Each is the semi-supervised model with the class's defaults (:func:`hivlatent.config.class_defaults`:
the configuration docs/results/trust.md evaluates), trained on every virus of the class's HIVDB table
(``nrti``, ``nnrti``, ``pi``, ``insti``) on first use, and cached in the user cache
(``$HIVLATENT_CACHE_DIR/models``, default ``~/.cache/hivlatent/models``) under a name holding the
class, the first 12 hex digits of the table's sha256 and the package version. A cached model is
used only when it loads, checks (every tensor against its config; its reference viruses) and
names the same table and version; anything else (a partial or damaged folder, another version) is
removed and trained again. Training holds a lock on the cache folder, so two processes never
train the same model at once.
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
    from ..data import find_file
    from ..data.registry import DATASETS
    from ..data.tables import sha256_of

    path = find_file(DATASETS[CLASS_DATA[drug_class]].filename)
    return path, sha256_of(path)


def folder_for(drug_class: str) -> Path:
    _, sha = _table(drug_class)
    return models_dir() / f"{drug_class.lower()}-{sha[:12]}-{__version__}"


def check_classes(classes) -> list[str]:
    chosen = [c.strip().upper() for c in (classes or CLASS_DATA)]
    bad = [c for c in chosen if c not in CLASS_DATA]
    if bad:
        raise ConfigError(f"drug class {bad[0]!r}: expected one of {', '.join(CLASS_DATA)}")
    return chosen


def _check(drug_class: str, folder: Path):
    """(model, reference) of a cached folder, or a HivLatentError saying what is wrong."""
    from ..model import VAEModel

    model = VAEModel.load(folder)
    info = model.manifest.get("default_model", {})
    _, sha = _table(drug_class)
    if info.get("class") != drug_class or info.get("table_sha256") != sha \
            or model.manifest.get("hivlatent") != __version__:
        raise ConfigError(f"{folder}: made for another table or version")
    reference = Reference.load(folder)
    if reference is None:
        raise ConfigError(f"{folder}: its reference viruses are missing")
    return model, reference


def status(classes=None) -> list[DefaultModel]:
    """Each class's default model: ready in the cache or not (and why)."""
    out = []
    for c in check_classes(classes):
        folder = folder_for(c)
        if not folder.exists():
            out.append(DefaultModel(c, folder, False, "not trained yet"))
            continue
        try:
            model, _ = _check(c, folder)
        except HivLatentError as exc:
            out.append(DefaultModel(c, folder, False, f"unusable, will be retrained ({exc})"))
            continue
        secs = sum(model.train_seconds) / max(1, len(model.train_seconds)) * model.n_members
        out.append(DefaultModel(c, folder, True, f"{model.n_members} members, trained in "
                                                 f"{secs:.0f} s on {model.data_info.get('rows')} "
                                                 "viruses"))
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


def train(drug_class: str, progress: Progress | None = None) -> Path:
    """Train the default model of ``drug_class`` and cache it (replacing what is there)."""
    from ..config import class_defaults
    from ..data import load_dataset, read_table
    from ..model import VAEModel

    (drug_class,) = check_classes([drug_class])
    path, sha = _table(drug_class)
    folder = folder_for(drug_class)
    dataset = load_dataset(CLASS_DATA[drug_class])
    t0 = time.perf_counter()
    model = VAEModel(*class_defaults(drug_class))
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
    """(model, reference) of the default model of ``drug_class``, trained first if needed."""
    (drug_class,) = check_classes([drug_class])
    folder = folder_for(drug_class)
    with _locked():
        if folder.exists():
            try:
                return _check(drug_class, folder)
            except HivLatentError:
                shutil.rmtree(folder, ignore_errors=True)   # partial or damaged: rebuilt
        if not allow_training:
            raise ConfigError(f"no default {drug_class} model yet; train it with "
                              "`hivlatent models train`")
        train(drug_class, progress)
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
    current = {folder_for(c).name for c in CLASS_DATA}
    return sorted(p for p in models_dir().glob("*-*-*") if p.is_dir() and p.name not in current) \
        if models_dir().is_dir() else []


__all__ = ["CLASS_DATA", "DefaultModel", "folder_for", "get", "models_dir", "remove", "stale",
           "status", "train"]
