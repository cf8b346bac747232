"""The user-facing model: fit, latent representation, reconstruction, sampling, prediction,
save and load. One object holds an ensemble of ``n_members`` models trained together (one for
the plain VAE, :data:`~hivlatent.config.SEMI_MEMBERS` for the semi model by default); latent
representations come from the first member, predictions from all of them.

    >>> from hivlatent import load_dataset, VAEModel, ModelConfig, TrainConfig
    >>> ds = load_dataset("nrti-1246")
    >>> vae = VAEModel(ModelConfig(latent=10), TrainConfig(epochs=50)).fit(ds)
    >>> z = vae.get_latent_representation(ds)          # (1246, 10) latent means

Many models at once (the study's grid, every fold of a cross-validation, a sweep's trials):
:func:`fit_many` trains them together on the batched engine, each exactly as its own ``fit``
would.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .config import (
    ModelConfig,
    Progress,
    TrainConfig,
    default_members,
    default_train_config,
    from_dict,
    to_dict,
    withheld_drugs,
)
from .data.cutoffs import Cutoffs
from .data.features import MISSING, align_features, feature_names_of
from .errors import ConfigError, HivLatentError, ModelError
from .nn import vae
from .nn.summary import parameter_counts, summary
from .training.bundle import checked_weights, load_bundle, save_bundle
from .training.engine import Job, TrainData, TrainResult, train_many
from .training.output import OutputLayer, log_caps
from .training.split import member_folds, resistance_strata, train_val_split


def check_device(device) -> str:
    """``device`` as torch names it, if this machine has it; else a one-line ConfigError."""
    try:
        dev = torch.device(str(device))
    except (RuntimeError, ValueError):
        raise ConfigError(f"device {device!r}: not a device name; expected cpu or cuda "
                          "(cuda:0, cuda:1 ...)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r}: this machine has no CUDA GPU that torch can "
                              "use; expected --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: this machine has {torch.cuda.device_count()} "
                              "CUDA device(s)")
    elif dev.type != "cpu":
        raise ConfigError(f"device {device!r}: hivlatent runs on cpu or cuda, not {dev.type}")
    return str(dev)


def _as_array(data) -> np.ndarray:
    X = data.X if hasattr(data, "X") else data
    return np.asarray(X, dtype=np.float32)


class VAEModel:
    """A (semi-supervised) VAE on binary mutation features.

    ``model.supervised=True`` with ``train.sup_weight > 0`` gives the multi-task model whose
    latent also predicts each drug's log10 fold change and resistance (missing labels masked).
    """

    def __init__(self, model: ModelConfig | None = None, train: TrainConfig | None = None,
                 n_members: int | None = None, device: str = "cpu"):
        self.model_config = model or ModelConfig()
        self.train_config = train or default_train_config(self.model_config)
        if not self.model_config.supervised:     # a plain VAE has no supervised terms
            self.train_config = replace(self.train_config, sup_weight=0.0)
        n_members = default_members(self.model_config) if n_members is None else int(n_members)
        if n_members < 1:
            raise ConfigError(f"ensemble size: expected >= 1, got {n_members}")
        self.n_members = n_members
        self.device = check_device(device)
        self.results: list[TrainResult] = []
        self.feature_names: list[str] = []
        self.drugs: list[str] = []
        self.drug_class = ""
        self.gene = ""
        self.cutoffs = Cutoffs()
        self.fold_cap: dict[str, float] = {}   # per drug, the assay's reporting limit (fold)
        self.output: OutputLayer | None = None  # per drug: forest, blend, residual sd
        #: drugs with too few phenotypes in the training rows to answer for, and why
        #: (:func:`hivlatent.config.phenotype_support`)
        self.withheld: dict[str, str] = {}
        self.data_info: dict = {}
        self.histories: list[pd.DataFrame] = []
        self.statuses: list[str] = []
        self.train_seconds: list[float] = []
        self.manifest: dict = {}
        self._flat: torch.Tensor | None = None

    # ---------------------------------------------------------------- training
    def engine_jobs(self, dataset, rows: np.ndarray | None = None,
                    val_rows: np.ndarray | None = None, name: str = "",
                    offset: int = 0) -> list[Job]:
        """The engine's jobs that ``fit`` runs for this model on ``dataset`` (for tools that drive
        :func:`hivlatent.training.engine.train_many` directly): trained on ``rows`` (default all)
        minus a validation split seeded by ``train.seed`` (with ``train.cv_members``, member k
        validates on fold k of a K-fold split of ``rows``, K = members), or validated on
        ``val_rows`` when given; member k is initialised from seed + k. Indices are shifted by ``offset`` (the
        data's place in a stack of data sets)."""
        tc = self.train_config
        rows = np.arange(len(_as_array(dataset))) if rows is None else np.asarray(rows)
        labels = getattr(dataset, "labels", None)
        strata = None if labels is None else resistance_strata(labels[rows])
        if val_rows is None and tc.cv_members and self.n_members > 1:
            folds = member_folds(len(rows), self.n_members, tc.seed, strata)
            splits = [(rows[np.concatenate([f for i, f in enumerate(folds) if i != k])],
                       rows[folds[k]]) for k in range(self.n_members)]
        elif val_rows is None:
            tr, va = train_val_split(len(rows), tc.val_fraction, tc.seed, strata)
            splits = [(rows[tr], rows[va])] * self.n_members
        else:
            splits = [(rows, np.asarray(val_rows))] * self.n_members
        return [Job(self.model_config, replace(tc, seed=tc.seed + k), np.sort(tr) + offset,
                    np.sort(va) + offset, name=f"{name}#{k}" if name else str(k))
                for k, (tr, va) in enumerate(splits)]

    def _describe(self, dataset) -> None:
        X = _as_array(dataset)
        self.feature_names = list(getattr(dataset, "feature_names", [f"f{i}" for i in range(X.shape[1])]))
        self.drugs = list(getattr(dataset, "drugs", []))
        self.drug_class = getattr(dataset, "drug_class", "")
        self.gene = getattr(dataset, "gene", "")
        self.cutoffs = getattr(dataset, "cutoffs", Cutoffs())
        if self.drugs:
            caps = vae.fold_caps(dataset.log_fold).tolist()
            self.fold_cap = {d: float(10.0 ** c) for d, c in zip(self.drugs, caps) if math.isfinite(c)}
        self.data_info = {"data": getattr(dataset, "name", "array"),
                          "data_sha256": getattr(dataset, "sha256", ""), "rows": int(X.shape[0])}
        if self.model_config.supervised and not self.drugs:
            raise ConfigError("the semi-supervised model needs a data set with drug phenotypes")

    def fit(self, dataset, rows: np.ndarray | None = None,
            progress: Progress | None = None) -> "VAEModel":
        """Train on ``dataset`` (a Dataset, or an (n, p) 0/1 array for the plain VAE), on
        ``rows`` only when given. ``progress(done, total, description)`` is called per epoch."""
        fit_many([FitTask(self, dataset, rows)], progress=progress)
        return self

    def _set_results(self, results: list[TrainResult]) -> "VAEModel":
        self.results = list(results)
        self.histories = [r.history for r in results]
        self.statuses = [r.status for r in results]
        self.train_seconds = [r.seconds for r in results]
        self._flat = torch.stack([r.params for r in results])
        return self

    # ---------------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if self._flat is None:
            raise ModelError("the model is not trained yet: call fit() or load()")

    @property
    def layout(self):
        return vae.layout(self.model_config, len(self.feature_names), len(self.drugs))

    def weights(self, members: slice | list[int] | None = None) -> dict[str, torch.Tensor]:
        """The trained parameters by layer name, each (members, ...), of all members or of
        ``members`` (a slice or a list of indices)."""
        self._check_fitted()
        flat = self._flat if members is None else self._flat[members]
        return self.layout.views(flat)

    def working_members_or_none(self) -> list[int]:
        """:attr:`working_members`, or an empty list when every member failed."""
        return [k for k, s in enumerate(self.statuses) if not str(s).startswith("failed")]

    @property
    def working_members(self) -> list[int]:
        """The ensemble members that trained without failing: predictions use these only. A
        ModelError when every member failed (such a model must not answer)."""
        self._check_fitted()
        ok = [k for k, s in enumerate(self.statuses) if not str(s).startswith("failed")]
        if not ok:
            raise ModelError(f"every member of this model failed in training ({self.statuses[0]});"
                             " it cannot answer: train it again (a smaller learning rate may help)")
        return ok

    def _member(self, member: int | None) -> slice:
        """One member's slice, checked: it exists and did not fail in training (None: the first
        member that did not fail)."""
        self._check_fitted()
        if member is None:
            member = self.working_members[0]
        if not 0 <= int(member) < self.n_members:
            raise ModelError(f"member {member}: the model has {self.n_members} member(s), "
                             f"numbered 0-{self.n_members - 1}")
        if str(self.statuses[member]).startswith("failed"):
            raise ModelError(f"member {member} failed in training ({self.statuses[member]}); "
                             f"use one of {', '.join(map(str, self.working_members))}")
        return slice(int(member), int(member) + 1)


    def model_input(self, data, missing: str = "error") -> np.ndarray:
        """``data`` as the model reads it (n, features): a Dataset or DataFrame matched to the
        model's features by name, an array as it is (its width checked). Every method taking
        data reads it through here. A mutation the model never saw is not used (a warning names
        it); a feature the model needs and the data lack stops with a ModelError naming it, or,
        with ``missing="absent"``, is read as absent in every row."""
        self._check_fitted()
        names = feature_names_of(data)
        if names is None or names == self.feature_names:
            X = _as_array(data)
            if X.ndim != 2 or X.shape[1] != len(self.feature_names):
                raise ModelError(f"input has {X.shape[-1]} features; the model expects "
                                 f"{len(self.feature_names)} (an array is read as it is: give a "
                                 "Dataset or DataFrame to match features by name)")
            return X
        if missing not in MISSING:
            raise ConfigError(f"missing={missing!r}: expected one of {', '.join(MISSING)}")
        aligned = align_features(data, self.feature_names)
        if aligned.absent and missing == "error":
            raise ModelError(aligned.lacking(getattr(data, "name", "") or "the data"))
        if aligned.unused:
            warnings.warn(aligned.notes()[-1], stacklevel=2)
        return aligned.X

    @torch.no_grad()
    def encode(self, data, member: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Latent means and log-variances (n, latent) of one ensemble member."""
        p = self.weights(self._member(member))
        mean, logvar = vae.encode(p, self.model_config, torch.as_tensor(self.model_input(data))[None])
        return mean[0].numpy(), logvar[0].numpy()

    def get_latent_representation(self, data, member: int | None = None) -> np.ndarray:
        """Latent means (n, latent): the representation to plot, probe or cluster."""
        return self.encode(data, member)[0]

    transform = get_latent_representation

    @torch.no_grad()
    def reconstruct(self, data, member: int | None = None) -> np.ndarray:
        """Reconstructed mutation probabilities (n, features) decoded from the latent means."""
        p = self.weights(self._member(member))
        mean, _ = vae.encode(p, self.model_config, torch.as_tensor(self.model_input(data))[None])
        return torch.sigmoid(vae.decode(p, self.model_config, mean))[0].numpy()

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, member: int | None = None, binary: bool = False) -> np.ndarray:
        """Draw ``n`` genotypes from the prior: mutation probabilities, or 0/1 if ``binary``."""
        g = torch.Generator().manual_seed(seed)
        p = self.weights(self._member(member))
        z = torch.randn(1, n, self.model_config.latent, generator=g)
        probs = torch.sigmoid(vae.decode(p, self.model_config, z))[0]
        return torch.bernoulli(probs, generator=g).numpy() if binary else probs.numpy()

    def _check_supervised(self) -> None:
        if not self.model_config.supervised:
            raise ModelError("this model has no resistance heads: train it with --model semi")

    @torch.no_grad()
    def _member_folds(self, data) -> torch.Tensor:
        """Each working member's predicted log10 fold change at the latent mean (K, n, drugs)."""
        self._check_supervised()
        use = self.working_members
        p = self.weights(use)
        x = torch.as_tensor(self.model_input(data))[None].expand(len(use), -1, -1)
        mean, _ = vae.encode(p, self.model_config, x)
        return vae.heads(p, mean)[0]

    def predict_distribution(self, data) -> tuple[np.ndarray, np.ndarray]:
        """The predictive distribution of log10 fold change per virus and drug, a normal: its
        mean (n, drugs) and sd (n, drugs), from the members' heads blended with each drug's
        forest and the residual sd measured out of fold at fit time
        (:mod:`hivlatent.training.output`). Everything a prediction reports comes from these
        two (see :mod:`hivlatent.prediction.predictor`); values above a drug's reporting limit
        mean "at least the limit"."""
        X = self.model_input(data)
        folds = self._member_folds(X).double().numpy()
        output = self.output or OutputLayer()
        return output.predict(self.drugs, folds, X)

    def log_caps(self) -> np.ndarray:
        """Each drug's reporting limit, log10 (inf where there is none)."""
        return log_caps(self.fold_cap, self.drugs)

    def _capped(self, log_fold):
        """Predicted log10 fold changes no higher than each drug's reporting limit: the data
        cannot tell values above it apart (they are censored there), nor can the model."""
        if not self.fold_cap:
            return log_fold
        return np.minimum(log_fold, self.log_caps())

    def predict_log_fold(self, data) -> np.ndarray:
        """Predicted log10 fold change (n, drugs): the predictive mean, capped at the reporting
        limit."""
        return self._capped(self.predict_distribution(data)[0])

    def log_fold_from(self, mu: np.ndarray) -> np.ndarray:
        """:meth:`predict_log_fold` from a predictive mean already computed."""
        return self._capped(mu)

    def recalibration(self, drug: str):
        """The drug's recalibration of P(resistant) chosen at fit time
        (:class:`~.training.calibration.Recalibration`), or None (P = Phi(z))."""
        return (self.output or OutputLayer()).recalibration.get(drug)

    def predict_proba(self, data) -> np.ndarray:
        """P(resistant) (n, drugs): the predictive probability that the log10 fold change is at
        or above the drug's lower cutoff, recalibrated for the drugs where the fit chose so
        (:mod:`~.training.calibration`)."""
        return self.proba_from(*self.predict_distribution(data))

    def proba_from(self, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """:meth:`predict_proba` from a predictive distribution already computed."""
        from .training.calibration import p_resistant

        out = np.empty_like(mu)
        for j, d in enumerate(self.drugs):
            out[:, j] = p_resistant(mu[:, j], sd[:, j], self.cutoffs.for_drug(d)[0],
                                    self.recalibration(d))
        return out

    def predict_resistant(self, data) -> np.ndarray:
        """The call I or R (True) or S (False) per virus and drug (n, drugs), by the rule of
        ``predict``'s call (:func:`~.training.calibration.called_resistant`): the predicted fold
        at the cutoff, or recalibrated P(resistant) > 0.5. ``evaluate`` checks it against
        :meth:`predict_proba`."""
        return self.resistant_from(*self.predict_distribution(data))

    def resistant_from(self, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """:meth:`predict_resistant` from a predictive distribution already computed."""
        from .training.calibration import called_resistant

        p = self.proba_from(mu, sd)
        out = np.empty(mu.shape, dtype=bool)
        for j, d in enumerate(self.drugs):
            recalibrated = self.recalibration(d) is not None
            out[:, j] = called_resistant(mu[:, j], self.cutoffs.for_drug(d)[0],
                                         p[:, j] if recalibrated else None)
        return out

    def _fit_output(self, dataset, jobs: list, offset: int) -> None:
        """The output layer (:class:`~.training.output.OutputLayer`), from the members'
        out-of-fold head predictions on the rows they held out (every training row with
        ``cv_members``), a forest per drug on the raw mutations, and the residual sd."""
        if not self.model_config.supervised or not self.working_members_or_none():
            return
        X = _as_array(dataset)
        rows = np.unique(np.concatenate([np.concatenate([j.train_idx, j.val_idx])
                                         for j in jobs])) - offset
        self.withheld = withheld_drugs(self.drugs, np.asarray(dataset.log_fold)[rows],
                                       np.asarray(dataset.labels)[rows])
        folds = self._member_folds(X[rows]).double().numpy()     # (K, n, d), working members
        use = self.working_members
        pos = {r: i for i, r in enumerate(rows)}
        oof = np.full(folds.shape[1:], np.nan)
        for k_use, k in enumerate(use):
            held = [pos[r] for r in np.asarray(jobs[k].val_idx) - offset]
            if held:
                oof[held] = folds[k_use, held]
        if not self.train_config.cv_members:            # one shared split: the ensemble mean
            have = np.isfinite(oof).any(1)
            oof[have] = folds.mean(0)[have]
        cap = self.log_caps()
        y = np.asarray(dataset.log_fold, dtype=float)[rows]
        marks = getattr(dataset, "censor", None)
        lower = np.array([math.log10(self.cutoffs.for_drug(d)[0]) for d in self.drugs])
        self.output = OutputLayer.fit(self.drugs, X[rows], y, oof, folds.var(0), cap,
                                      self.model_config.forest, self.train_config.seed, lower,
                                      None if marks is None else np.asarray(marks)[rows])

    def aligned_input(self, dataset) -> tuple[np.ndarray, list[str]]:
        """The data's features in the model's order, a feature the data lack read as absent, and
        notes on what did not match (nothing is dropped silently): :meth:`encode_frame` returns
        them beside its table, where :meth:`model_input` stops instead."""
        self._check_fitted()
        if feature_names_of(dataset) in (None, self.feature_names):
            return _as_array(dataset), []
        aligned = align_features(dataset, self.feature_names)
        return aligned.X, aligned.notes()

    def encode_frame(self, dataset, member: int | None = None) -> tuple[pd.DataFrame, list[str]]:
        """Latent means as a table: ``id`` then ``z1..zk``; plus notes from feature alignment."""
        X, notes = self.aligned_input(dataset)
        z = self.get_latent_representation(X, member)
        ids = getattr(dataset, "ids", np.arange(len(X)))
        frame = pd.DataFrame(z, columns=[f"z{i + 1}" for i in range(z.shape[1])])
        frame.insert(0, "id", ids)
        return frame, notes

    @torch.no_grad()
    def decoder_sensitivity(self, data, member: int | None = None) -> pd.DataFrame:
        """Which mutations drive each latent dimension: the decoder's sensitivity
        d P(mutation) / d z_k, averaged over the data's latent means (features x latent; a
        local, non-linear analogue of a loading). Positive: moving along z_k makes the mutation
        more likely."""
        z = torch.as_tensor(self.get_latent_representation(data, member))
        p = self.weights(self._member(member))
        cfg = self.model_config

        def probs(zz):
            return torch.sigmoid(vae.decode(p, cfg, zz[None]))[0].sum(0)

        with torch.enable_grad():
            # (features, n, latent); vectorized: the same values, one batched backward
            jac = torch.autograd.functional.jacobian(probs, z, vectorize=True)
        sens = (jac.sum(1) / z.shape[0]).numpy()
        return pd.DataFrame(sens, index=self.feature_names,
                            columns=[f"z{k + 1}" for k in range(cfg.latent)])

    # ---------------------------------------------------------------- description
    def summary(self) -> str:
        """The Keras-style layer table (needs the feature count: call after fit or load)."""
        self._check_fitted()
        return summary(self.model_config, len(self.feature_names), len(self.drugs))

    def parameter_counts(self) -> dict[str, int]:
        return parameter_counts(self.model_config, len(self.feature_names), len(self.drugs))

    @property
    def history(self) -> pd.DataFrame:
        """Loss per epoch of the first ensemble member (all of them: ``histories``)."""
        self._check_fitted()
        return self.histories[0]

    # ---------------------------------------------------------------- persistence
    def save(self, folder: str | Path, extra_manifest: dict | None = None,
             extra_files: dict[str, bytes] | None = None) -> Path:
        """Write the bundle to ``folder`` (a new name, an empty folder or an existing bundle,
        which is replaced). A model whose members all failed in training is not saved.
        ``extra_files``: more files of the bundle (see :func:`~.training.bundle.save_bundle`)."""
        self._check_fitted()
        self.working_members              # every member failed: a ModelError, nothing written
        tensors = self.layout.views(self._flat)
        config = {"model": to_dict(self.model_config), "train": to_dict(self.train_config),
                  "n_members": int(self._flat.shape[0]), "feature_names": self.feature_names,
                  "drugs": self.drugs, "drug_class": self.drug_class, "gene": self.gene,
                  "cutoffs": {"lower": self.cutoffs.lower, "upper": self.cutoffs.upper},
                  "fold_cap": self.fold_cap, "withheld": self.withheld,
                  "output": None if self.output is None else self.output.config()}
        manifest = {**self.data_info,
                    "seeds": [self.train_config.seed + k for k in range(self._flat.shape[0])],
                    "status": self.statuses, "train_seconds": self.train_seconds,
                    "device": str(self.device), **(extra_manifest or {})}
        tensors = dict(tensors)
        if self.output is not None:
            tensors.update({k: torch.as_tensor(v) for k, v in self.output.tensors().items()})
        return save_bundle(folder, config, tensors, self.histories, manifest, extra_files)

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> "VAEModel":
        config, tensors, histories, manifest = load_bundle(folder)
        try:
            obj = cls(from_dict(ModelConfig, config["model"]), from_dict(TrainConfig, config["train"]),
                      int(config["n_members"]), device)
            obj.feature_names = list(config["feature_names"])
            obj.drugs = list(config["drugs"])
            obj.drug_class, obj.gene = config["drug_class"], config["gene"]
            obj.cutoffs = Cutoffs(dict(config["cutoffs"]["lower"]), dict(config["cutoffs"]["upper"]))
            obj.fold_cap = {str(d): float(v) for d, v in config.get("fold_cap", {}).items()}
            obj.withheld = {str(d): str(v) for d, v in config.get("withheld", {}).items()}
            flat = checked_weights(obj, tensors, Path(folder))
            if config.get("output") is not None:
                obj.output = OutputLayer.from_bundle(config["output"], tensors,
                                                     len(obj.feature_names), str(folder))
        except HivLatentError:        # a ValueError too, already naming what is wrong
            raise
        except (KeyError, TypeError, RuntimeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{folder}: the bundle does not fit its config "
                             f"({' '.join(str(exc).split())[:200]})") from None
        obj._flat = flat
        obj.data_info = {k: manifest.get(k) for k in ("data", "data_sha256", "rows")}
        obj.manifest = manifest
        if len(histories) != obj.n_members:
            raise ModelError(f"{folder}: {len(histories)} training histories (history*.csv) for "
                             f"{obj.n_members} member(s); the model folder is damaged")
        obj.histories = histories
        obj.statuses = manifest.get("status", ["ok"] * obj.n_members)
        obj.train_seconds = manifest.get("train_seconds", [float("nan")] * obj.n_members)
        for key, values in (("status", obj.statuses), ("train_seconds", obj.train_seconds)):
            if not isinstance(values, list) or len(values) != obj.n_members:
                raise ModelError(f"{folder / 'manifest.json'}: {key!r} must be a list of one "
                                 f"value per member ({obj.n_members}); the model folder is damaged")
        obj.statuses = [str(s) for s in obj.statuses]
        return obj


@dataclass
class FitTask:
    """One model for :func:`fit_many`: the (unfitted) model, its data (a Dataset or an (n, p)
    0/1 array), the rows it trains on (default: all, minus its seeded validation split) or, with
    ``val_rows``, the rows it trains on and the rows it is validated on."""

    model: VAEModel
    data: Any
    rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None
    name: str = ""


def fit_many(tasks: Sequence[FitTask], workers: int | None = None,
             progress: Progress | None = None, description: str = "",
             flush_denormal: bool = False) -> list[VAEModel]:
    """Fit every task's model at once on the batched engine and return the models, in order.

    Models of one shape and batch size train together as one tensor program (models differing
    only in widths too, zero-padded, when that saves work), models that differ only in epochs
    share one training path, and independent groups may run in ``workers``
    processes (see :func:`hivlatent.training.engine.train_many`); each model ends exactly as its
    own ``fit`` would leave it (within float rounding). Tasks may share one data object or each
    bring their own (their rows are then stacked). ``progress(done, total, description)`` is
    called per epoch of the longest model. ``flush_denormal``: see
    :class:`hivlatent.training.engine.TrainData` (the study uses it)."""
    tasks = list(tasks)
    if not tasks:
        return []
    devices = {str(t.model.device) for t in tasks}
    if len(devices) > 1:
        raise ConfigError(f"fit_many: the models are on different devices ({', '.join(sorted(devices))})")
    distinct: dict[int, int] = {}
    datas: list = []
    for t in tasks:
        if id(t.data) not in distinct:
            distinct[id(t.data)] = len(datas)
            datas.append(t.data)
    offsets = np.cumsum([0] + [len(_as_array(d)) for d in datas])
    jobs, spans = [], []
    for i, t in enumerate(tasks):
        t.model._describe(t.data)
        js = t.model.engine_jobs(t.data, t.rows, t.val_rows, t.name or f"task{i}",
                           int(offsets[distinct[id(t.data)]]))
        spans.append((len(jobs), len(jobs) + len(js)))
        jobs += js
    stacked = datas[0] if len(datas) == 1 else _concat(datas)
    on_epoch = None if progress is None else (lambda done, total: progress(done, total, description))
    data = train_data(stacked)
    data.flush_denormal = flush_denormal
    results = train_many(jobs, data, devices.pop(), on_epoch=on_epoch, workers=workers)
    for t, (a, b) in zip(tasks, spans):
        t.model._set_results(results[a:b])
        t.model._fit_output(t.data, jobs[a:b], int(offsets[distinct[id(t.data)]]))
    return [t.model for t in tasks]


def _concat(datas: list):
    if all(hasattr(d, "observed") for d in datas):
        from .data.dataset import Dataset

        return Dataset.concat(datas)
    if any(hasattr(d, "observed") for d in datas):
        raise ConfigError("fit_many: mix of Datasets and arrays; give one kind")
    return np.concatenate([_as_array(d) for d in datas])


def train_data(dataset, device: str = "cpu") -> TrainData:
    """Tensors for the engine from a Dataset or a bare (n, p) array."""
    if hasattr(dataset, "observed"):
        return TrainData.from_dataset(dataset, device)
    X = torch.as_tensor(_as_array(dataset))
    empty = torch.zeros(X.shape[0], 0)
    return TrainData(X, None, empty, empty).to(device)
