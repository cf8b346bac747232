"""What a sweep is: its objectives, its configuration (:class:`SweepConfig`) and the settings
every trial of one Optuna study shares (stored in the study, checked when a worker joins)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from ..errors import ConfigError
from .space import (
    DEFAULT_SPACE,
    Param,
    load_space,
    parse_param,
    parse_space,
    read_space_file,
    require_semi,
    space_to_dict,
)

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
        for name, low in (("n_trials", 1), ("folds", 2), ("workers", 1), ("batch_trials", 1),
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


def features_of(dataset) -> np.ndarray:
    """The (n, p) float32 features of a Dataset or an array (without importing torch)."""
    return np.asarray(getattr(dataset, "X", dataset), dtype=np.float32)


def data_fingerprint(dataset) -> str:
    h = hashlib.sha256(np.ascontiguousarray(features_of(dataset)).tobytes())
    labels = getattr(dataset, "labels", None)
    if labels is not None:
        h.update(np.ascontiguousarray(np.nan_to_num(labels, nan=-1.0)).tobytes())
    return h.hexdigest()[:16]


def default_search_name(dataset, objectives: Sequence[str]) -> str:
    return f"sweep-{getattr(dataset, 'name', 'data')}-{'+'.join(objective_names(objectives))}"


def search_settings(dataset, config: SweepConfig) -> dict:
    """What every trial of the study shares (stored in the study, checked when joining)."""
    space, _ = config.resolved_space()
    for o in config.objectives:
        if OBJECTIVES[o].needs_labels and not list(getattr(dataset, "drugs", [])):
            raise ConfigError(f"objective {o} needs drug labels; the data has none")
    return {"version": SETTINGS_VERSION, "objectives": list(config.objectives),
            "folds": config.folds, "seed": config.seed, "space": space_to_dict(space),
            "data": getattr(dataset, "name", "array"), "data_fingerprint": data_fingerprint(dataset),
            "rows": len(dataset.X), "hivlatent": __version__}
