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

The class is the face; the work is done where it belongs: fitting in
:mod:`hivlatent.training.fitting` (the loop in :mod:`hivlatent.training.loop`), the network in
:mod:`hivlatent.nn.vae`, the prediction side in :mod:`hivlatent.predictive` (a
:class:`~hivlatent.predictive.distribution.PredictiveDistribution` from
:meth:`VAEModel.predict_distribution`), saving and loading in :mod:`hivlatent.bundle`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .bundle import load_model, save_model
from .config import ModelConfig, Progress, TrainConfig, default_members, default_train_config
from .data.cutoffs import Cutoffs
from .data.features import MISSING, align_features, feature_names_of
from .errors import ConfigError, ModelError
from .nn import vae
from .nn.summary import parameter_counts, summary
from .predictive.distribution import PredictiveDistribution, log_caps
from .predictive.output_layer import OutputLayer
from .training.fitting import FitTask, as_array, engine_jobs, fit_many, train_data
from .training.jobs import Job, TrainResult

__all__ = ["FitTask", "VAEModel", "check_device", "fit_many", "train_data"]


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
        """The engine's jobs that ``fit`` runs for this model on ``dataset``
        (:func:`hivlatent.training.fitting.engine_jobs`)."""
        return engine_jobs(self, dataset, rows, val_rows, name, offset)

    def fit(self, dataset, rows: np.ndarray | None = None,
            progress: Progress | None = None) -> "VAEModel":
        """Train on ``dataset`` (a Dataset, or an (n, p) 0/1 array for the plain VAE), on
        ``rows`` only when given. ``progress(done, total, description)`` is called per epoch."""
        fit_many([FitTask(self, dataset, rows)], progress=progress)
        return self

    def set_results(self, results: list[TrainResult]) -> "VAEModel":
        """Take the engine's results, one per member (:func:`fit_many` calls this)."""
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
            X = as_array(data)
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
    def member_predictions(self, data) -> torch.Tensor:
        """Each working member's predicted log10 fold change at the latent mean (K, n, drugs)."""
        self._check_supervised()
        use = self.working_members
        p = self.weights(use)
        x = torch.as_tensor(self.model_input(data))[None].expand(len(use), -1, -1)
        mean, _ = vae.encode(p, self.model_config, x)
        return vae.heads(p, mean)[0]

    def predict_distribution(self, data) -> PredictiveDistribution:
        """The predictive distribution of log10 fold change per virus and drug
        (:class:`~.predictive.distribution.PredictiveDistribution`: a normal per virus and drug,
        with its fold change, interval, P(resistant) and call), from the members' heads blended
        with each drug's forest and ridge and the residual sd measured out of fold at fit time
        (:mod:`hivlatent.predictive.output_layer`)."""
        X = self.model_input(data)
        folds = self.member_predictions(X).double().numpy()
        mean, sd = (self.output or OutputLayer()).predict(self.drugs, folds, X)
        return PredictiveDistribution.for_model(self, mean, sd)

    def log_caps(self) -> np.ndarray:
        """Each drug's reporting limit, log10 (inf where there is none)."""
        return log_caps(self.fold_cap, self.drugs)

    def recalibration(self, drug: str):
        """The drug's recalibration of P(resistant) chosen at fit time
        (:class:`~.predictive.calibration.Recalibration`), or None (P = Phi(z))."""
        return (self.output or OutputLayer()).recalibration.get(drug)

    def predict_log_fold(self, data) -> np.ndarray:
        """Predicted log10 fold change (n, drugs), capped at the reporting limit
        (``predict_distribution(data).log_fold``)."""
        return self.predict_distribution(data).log_fold

    def predict_proba(self, data) -> np.ndarray:
        """P(resistant) (n, drugs) (``predict_distribution(data).p_resistant``)."""
        return self.predict_distribution(data).p_resistant

    def predict_resistant(self, data) -> np.ndarray:
        """The call I or R (True) or S (False) (n, drugs)
        (``predict_distribution(data).resistant``)."""
        return self.predict_distribution(data).resistant

    def aligned_input(self, dataset) -> tuple[np.ndarray, list[str]]:
        """The data's features in the model's order, a feature the data lack read as absent, and
        notes on what did not match (nothing is dropped silently): :meth:`encode_frame` returns
        them beside its table, where :meth:`model_input` stops instead."""
        self._check_fitted()
        if feature_names_of(dataset) in (None, self.feature_names):
            return as_array(dataset), []
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
        which is replaced; the format: :mod:`hivlatent.bundle`). A model whose members all failed
        in training is not saved. ``extra_files``: more files of the bundle (the reference
        viruses: :func:`hivlatent.bundle.reference_files`)."""
        self._check_fitted()
        self.working_members              # every member failed: a ModelError, nothing written
        return save_model(self, folder, extra_manifest, extra_files)

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> "VAEModel":
        """The model kept in the bundle at ``folder`` (:mod:`hivlatent.bundle`)."""
        return load_model(cls, folder, device)


