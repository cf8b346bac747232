"""The VAE and the semi-supervised VAE in the evaluation harness.

Every training set of every fold (and every ensemble member) is trained at once on the batched
engine: ``fit_many`` stacks the training sets into one tensor and hands the engine one job per
(training set, member). Extra rows (for example the NRTI viruses that are not in the 1246 set
because a drug is untested or a position unsequenced) can be added to every training set: they
never appear in a test fold, so there is no leakage; pass them with ``extra``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ENGINE_CHUNK, ModelConfig, TrainConfig, default_members, default_train_config
from ..data.dataset import Dataset
from ..errors import ConfigError
from ..model import FitTask, VAEModel, fit_many
from ..predictive.distribution import PredictiveDistribution
from .probes import BasePredictor, BaseRepresentation


def align_extra(extra: Dataset, target: Dataset) -> Dataset:
    """``extra``'s rows that are not in ``target`` (by id), with ``target``'s features and drugs."""
    missing = [f for f in target.feature_names if f not in extra.feature_names]
    if missing:
        raise ConfigError(f"extra rows lack features {missing[:5]}...; build them with the same feature list")
    cols = [extra.feature_names.index(f) for f in target.feature_names]
    drugs = [extra.drugs.index(d) for d in target.drugs]
    keep = ~np.isin(extra.ids, target.ids)
    return replace(extra, ids=extra.ids[keep], X=extra.X[keep][:, cols],
                   observed=extra.observed[keep][:, cols], feature_names=list(target.feature_names),
                   drugs=list(target.drugs), log_fold=extra.log_fold[keep][:, drugs],
                   labels=extra.labels[keep][:, drugs], cutoffs=target.cutoffs, groups=None, meta=None,
                   censor=None if extra.censor is None else extra.censor[keep][:, drugs])


class _EngineMixin:
    #: training sets per evaluation task (:mod:`.tasks`): trained together on the engine
    fit_chunk = ENGINE_CHUNK
    model_config: ModelConfig
    train_config: TrainConfig
    n_members: int
    extra: Dataset | None
    device: str

    def _fit_all(self, trains: list[Dataset]) -> list[VAEModel]:
        key = tuple(hash(np.asarray(t.ids).tobytes()) for t in trains)
        memo = getattr(self, "_memo", None)
        if memo is not None and memo[0] == key:
            return memo[1]
        tasks = []
        for i, t in enumerate(trains):
            if self.extra is not None and len(self.extra.ids):
                t = Dataset.concat([t, align_extra(self.extra, t)])
            m = VAEModel(self.model_config, self.train_config, self.n_members, self.device)
            tasks.append(FitTask(m, t, name=f"set{i}"))
        models = fit_many(tasks, workers=1)   # the evaluation runs its tasks side by side
        self._memo = (key, models)
        return models


class VAERepresentation(_EngineMixin, BaseRepresentation):
    """Latent means of a VAE learned on the training rows (labels unused unless supervised)."""

    def __init__(self, model: ModelConfig | None = None, train: TrainConfig | None = None,
                 name: str | None = None, extra: Dataset | None = None, device: str = "cpu"):
        self.model_config = model or ModelConfig()
        self.train_config = train or TrainConfig()
        self.n_members = 1
        self.extra = extra
        self.device = device
        kind = "semi" if self.model_config.supervised else "vae"
        self.name = name or f"{kind}{self.model_config.latent}-latent"
        self.fitted: VAEModel | None = None

    def fit(self, train: Dataset) -> "VAERepresentation":
        return self.fit_many([train])[0]

    def fit_many(self, trains: list[Dataset]) -> list["VAERepresentation"]:
        out = []
        for m in self._fit_all(trains):
            rep = VAERepresentation(self.model_config, self.train_config, self.name, self.extra, self.device)
            rep.fitted = m
            out.append(rep)
        return out

    def transform(self, ds) -> np.ndarray:
        return self.fitted.get_latent_representation(ds)


class SemiSupervisedPredictor(_EngineMixin, BasePredictor):
    """The multi-task VAE's own predictions: P(resistant) and log10 fold change per drug,
    averaged over an ensemble of ``n_members`` models trained together."""

    def __init__(self, model: ModelConfig | None = None, train: TrainConfig | None = None,
                 n_members: int | None = None, name: str | None = None,
                 extra: Dataset | None = None, device: str = "cpu"):
        self.model_config = model or ModelConfig(supervised=True)
        if not self.model_config.supervised:
            raise ConfigError("SemiSupervisedPredictor needs ModelConfig(supervised=True)")
        self.train_config = train or default_train_config(self.model_config)
        self.n_members = default_members(self.model_config) if n_members is None else n_members
        self.extra = extra
        self.device = device
        self.name = name or f"semi{self.model_config.latent}-heads"
        self.fitted: VAEModel | None = None
        self._last: tuple | None = None      # (data set, its predictive distribution)

    def fit(self, train: Dataset) -> "SemiSupervisedPredictor":
        return self.fit_many([train])[0]

    def fit_many(self, trains: list[Dataset]) -> list["SemiSupervisedPredictor"]:
        out = []
        for m in self._fit_all(trains):
            p = SemiSupervisedPredictor(self.model_config, self.train_config, self.n_members,
                                        self.name, self.extra, self.device)
            p.fitted = m
            out.append(p)
        return out

    def _distribution(self, ds) -> PredictiveDistribution:
        """The fitted model's predictive distribution on ``ds``, computed once for the last data
        set asked about: the harness asks for P, fold, call and interval of the same test rows."""
        if self._last is None or self._last[0] is not ds:
            self._last = (ds, self.fitted.predict_distribution(ds))
        return self._last[1]

    def predict_proba(self, ds) -> np.ndarray:
        return self._distribution(ds).p_resistant

    def predict_log_fold(self, ds) -> np.ndarray:
        return self._distribution(ds).log_fold

    def predict_resistant(self, ds) -> np.ndarray:
        return self._distribution(ds).resistant

    def predict_interval(self, ds, level: float = 0.9):
        """(low, high, caps): the central ``level`` interval of the predictive distribution of
        log10 fold change (n, drugs), capped at each drug's reporting limit (caps, log10)."""
        dist = self._distribution(ds)
        low, high = dist.interval(level)
        return low, high, dist.caps

    def latent(self, name: str | None = None) -> "SharedLatent":
        """The same trained models as a representation (latent means of the first member), so
        the harness probes the semi latent without training it a second time."""
        return SharedLatent(self, name or f"semi{self.model_config.latent}-latent")


class SharedLatent(BaseRepresentation):
    """The latent means of a predictor's models, fit by (and shared with) that predictor."""

    def __init__(self, predictor: SemiSupervisedPredictor, name: str):
        self.predictor = predictor
        self.name = name
        self.fitted: VAEModel | None = None

    @property
    def fit_source(self) -> SemiSupervisedPredictor:
        """Whose training this representation reads (an evaluation task fits them together)."""
        return self.predictor

    def fit(self, train: Dataset) -> "SharedLatent":
        return self.fit_many([train])[0]

    def fit_many(self, trains: list[Dataset]) -> list["SharedLatent"]:
        out = []
        for m in self.predictor._fit_all(trains):
            rep = SharedLatent(self.predictor, self.name)
            rep.fitted = m
            out.append(rep)
        return out

    def transform(self, ds) -> np.ndarray:
        return self.fitted.get_latent_representation(ds)
