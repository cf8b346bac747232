"""The user-facing model: fit, latent representation, reconstruction, sampling, prediction,
save and load. One object holds an ensemble of ``n_members`` models trained together (one by
default); latent representations come from the first member, predictions from all of them.

    >>> from hivlatent import load_dataset, VAEModel, ModelConfig, TrainConfig
    >>> ds = load_dataset("nrti-1246")
    >>> vae = VAEModel(ModelConfig(latent=10), TrainConfig(epochs=50)).fit(ds)
    >>> z = vae.get_latent_representation(ds)          # (1246, 10) latent means
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .config import ModelConfig, TrainConfig, from_dict, to_dict
from .data.cutoffs import Cutoffs
from .errors import ConfigError, ModelError
from .nn import vae
from .nn.summary import parameter_counts, summary
from .training.bundle import load_bundle, save_bundle
from .training.split import resistance_strata, train_val_split
from .training.engine import Job, TrainData, TrainResult, train_many


def _as_array(data) -> np.ndarray:
    X = data.X if hasattr(data, "X") else data
    return np.asarray(X, dtype=np.float32)


class VAEModel:
    """A (semi-supervised) VAE on binary mutation features.

    ``model.supervised=True`` with ``train.sup_weight > 0`` gives the multi-task model whose
    latent also predicts each drug's log10 fold change and resistance (missing labels masked).
    """

    def __init__(self, model: ModelConfig | None = None, train: TrainConfig | None = None,
                 n_members: int = 1, device: str = "cpu"):
        self.model_config = model or ModelConfig()
        self.train_config = train or TrainConfig()
        if n_members < 1:
            raise ConfigError(f"ensemble size: expected >= 1, got {n_members}")
        self.n_members = n_members
        self.device = device
        self.results: list[TrainResult] = []
        self.feature_names: list[str] = []
        self.drugs: list[str] = []
        self.drug_class = ""
        self.gene = ""
        self.cutoffs = Cutoffs()
        self.fold_cap: dict[str, float] = {}   # per drug, the assay's reporting limit (fold)
        self.data_info: dict = {}
        self.histories: list[pd.DataFrame] = []
        self.statuses: list[str] = []
        self.train_seconds: list[float] = []
        self.manifest: dict = {}
        self._flat: torch.Tensor | None = None

    # ---------------------------------------------------------------- training
    def jobs(self, dataset, rows: np.ndarray | None = None, name: str = "") -> list[Job]:
        """The training jobs for this model on ``dataset`` (restricted to ``rows``): the
        validation split is seeded by ``train.seed``; member k is initialised from seed + k."""
        tc = self.train_config
        rows = np.arange(len(_as_array(dataset))) if rows is None else np.asarray(rows)
        labels = getattr(dataset, "labels", None)
        strata = None if labels is None else resistance_strata(labels[rows])
        tr, va = train_val_split(len(rows), tc.val_fraction, tc.seed, strata)
        return [Job(self.model_config, replace(tc, seed=tc.seed + k), rows[tr], rows[va],
                    name=f"{name}#{k}" if name else str(k)) for k in range(self.n_members)]

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

    def fit(self, dataset, rows: np.ndarray | None = None, on_epoch=None) -> "VAEModel":
        """Train on ``dataset`` (a Dataset, or an (n, p) 0/1 array for the plain VAE)."""
        self._describe(dataset)
        data = train_data(dataset)
        results = train_many(self.jobs(dataset, rows), data, self.device, on_epoch=on_epoch)
        return self.set_results(results)

    def set_results(self, results: list[TrainResult]) -> "VAEModel":
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

    def _params(self, members: slice | None = None):
        self._check_fitted()
        flat = self._flat if members is None else self._flat[members]
        return self.layout.views(flat)

    def _input(self, data) -> torch.Tensor:
        X = _as_array(data)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ModelError(f"input has {X.shape[-1]} features; the model expects "
                             f"{len(self.feature_names)}")
        return torch.as_tensor(X)

    @torch.no_grad()
    def encode(self, data, member: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Latent means and log-variances (n, latent) of one ensemble member."""
        p = self._params(slice(member, member + 1))
        mean, logvar = vae.encode(p, self.model_config, self._input(data)[None])
        return mean[0].numpy(), logvar[0].numpy()

    def get_latent_representation(self, data, member: int = 0) -> np.ndarray:
        """Latent means (n, latent): the representation to plot, probe or cluster."""
        return self.encode(data, member)[0]

    transform = get_latent_representation

    @torch.no_grad()
    def reconstruct(self, data, member: int = 0) -> np.ndarray:
        """Reconstructed mutation probabilities (n, features) decoded from the latent means."""
        p = self._params(slice(member, member + 1))
        mean, _ = vae.encode(p, self.model_config, self._input(data)[None])
        return torch.sigmoid(vae.decode(p, self.model_config, mean))[0].numpy()

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, member: int = 0, binary: bool = False) -> np.ndarray:
        """Draw ``n`` genotypes from the prior: mutation probabilities, or 0/1 if ``binary``."""
        g = torch.Generator().manual_seed(seed)
        p = self._params(slice(member, member + 1))
        z = torch.randn(1, n, self.model_config.latent, generator=g)
        probs = torch.sigmoid(vae.decode(p, self.model_config, z))[0]
        return torch.bernoulli(probs, generator=g).numpy() if binary else probs.numpy()

    def _check_supervised(self) -> None:
        if not self.model_config.supervised:
            raise ModelError("this model has no resistance heads: train it with --model semi")

    @torch.no_grad()
    def predict_samples(self, X, n_samples: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """log10 fold-change and resistance-probability samples (S, n, drugs): S draws spread
        over the ensemble members, each from the member's posterior q(z|x)."""
        self._check_supervised()
        x = self._input(X)
        K = self._flat.shape[0]
        per = max(1, math.ceil(n_samples / K))
        g = torch.Generator().manual_seed(seed)
        p = self._params()
        mean, logvar = vae.encode(p, self.model_config, x[None].expand(K, -1, -1))
        folds, probs = [], []
        for _ in range(per):
            z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)
            f, r = vae.heads(p, z)
            folds.append(self._capped(f))
            probs.append(torch.sigmoid(r))
        folds = torch.cat(folds)[:n_samples] if per * K >= n_samples else torch.cat(folds)
        probs = torch.cat(probs)[:folds.shape[0]]
        return folds.numpy(), probs.numpy()

    @torch.no_grad()
    def _heads_at_mean(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        """Head outputs at the latent means, averaged over members: log10 fold, P(resistant)."""
        self._check_supervised()
        K = self._flat.shape[0]
        p = self._params()
        mean, _ = vae.encode(p, self.model_config, self._input(data)[None].expand(K, -1, -1))
        fold, logit = vae.heads(p, mean)
        return self._capped(fold.mean(0)), torch.sigmoid(logit).mean(0)

    def _capped(self, log_fold: torch.Tensor) -> torch.Tensor:
        """Predicted log10 fold changes no higher than each drug's reporting limit: the data
        cannot tell values above it apart (they are censored there), nor can the model."""
        if not self.fold_cap:
            return log_fold
        cap = torch.tensor([math.log10(self.fold_cap.get(d, math.inf)) for d in self.drugs])
        return torch.minimum(log_fold, cap)

    def predict_log_fold(self, data) -> np.ndarray:
        """Predicted log10 fold change (n, drugs) from the latent means, averaged over members."""
        return self._heads_at_mean(data)[0].numpy()

    def predict_proba(self, data) -> np.ndarray:
        """Probability of resistance (n, drugs) from the latent means, averaged over members."""
        return self._heads_at_mean(data)[1].numpy()

    def aligned_input(self, dataset) -> tuple[np.ndarray, list[str]]:
        """The data's features in the model's order (a feature the data lacks reads as 0), and
        notes on what did not match: nothing is dropped silently."""
        self._check_fitted()
        names = list(getattr(dataset, "feature_names", []))
        X = _as_array(dataset)
        if not names or names == self.feature_names:
            return X, []
        where = {f: i for i, f in enumerate(names)}
        out = np.zeros((X.shape[0], len(self.feature_names)), dtype=np.float32)
        for j, f in enumerate(self.feature_names):
            if f in where:
                out[:, j] = X[:, where[f]]
        notes = []
        absent = [f for f in self.feature_names if f not in where]
        if absent:
            notes.append(f"{len(absent)} of the model's features are not in the data and read as "
                         f"absent: {', '.join(absent[:10])}{' ...' if len(absent) > 10 else ''}")
        known = set(self.feature_names)
        unused = [f for f in names if f not in known and X[:, where[f]].any()]
        if unused:
            notes.append(f"{len(unused)} mutations of the data are unknown to the model and not "
                         f"used: {', '.join(unused[:10])}{' ...' if len(unused) > 10 else ''}")
        return out, notes

    def encode_frame(self, dataset, member: int = 0) -> tuple[pd.DataFrame, list[str]]:
        """Latent means as a table: ``id`` then ``z1..zk``; plus notes from feature alignment."""
        X, notes = self.aligned_input(dataset)
        z = self.get_latent_representation(X, member)
        ids = getattr(dataset, "ids", np.arange(len(X)))
        frame = pd.DataFrame(z, columns=[f"z{i + 1}" for i in range(z.shape[1])])
        frame.insert(0, "id", ids)
        return frame, notes

    # ---------------------------------------------------------------- description
    def summary(self) -> str:
        return summary(self.model_config, len(self.feature_names) or 228, len(self.drugs))

    def parameter_counts(self) -> dict[str, int]:
        return parameter_counts(self.model_config, len(self.feature_names), len(self.drugs))

    @property
    def history(self) -> pd.DataFrame:
        """Loss per epoch of the first ensemble member (all of them: ``histories``)."""
        self._check_fitted()
        return self.histories[0]

    # ---------------------------------------------------------------- persistence
    def save(self, folder: str | Path, extra_manifest: dict | None = None) -> Path:
        self._check_fitted()
        tensors = self.layout.views(self._flat)
        config = {"model": to_dict(self.model_config), "train": to_dict(self.train_config),
                  "n_members": int(self._flat.shape[0]), "feature_names": self.feature_names,
                  "drugs": self.drugs, "drug_class": self.drug_class, "gene": self.gene,
                  "cutoffs": {"lower": self.cutoffs.lower, "upper": self.cutoffs.upper},
                  "fold_cap": self.fold_cap}
        manifest = {**self.data_info,
                    "seeds": [self.train_config.seed + k for k in range(self._flat.shape[0])],
                    "status": self.statuses, "train_seconds": self.train_seconds,
                    "device": str(self.device), **(extra_manifest or {})}
        return save_bundle(folder, config, dict(tensors), self.histories, manifest)

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
            lay = obj.layout
            flat = torch.cat([tensors[name].reshape(obj.n_members, -1) for name, _ in lay.entries], 1)
        except (KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise ModelError(f"{folder}: the bundle does not fit its config ({exc})") from None
        obj._flat = flat
        obj.data_info = {k: manifest.get(k) for k in ("data", "data_sha256", "rows")}
        obj.manifest = manifest
        obj.histories = histories
        obj.statuses = list(manifest.get("status", ["ok"] * obj.n_members))
        obj.train_seconds = list(manifest.get("train_seconds", [float("nan")] * obj.n_members))
        return obj


def train_data(dataset, device: str = "cpu") -> TrainData:
    """Tensors for the engine from a Dataset or a bare (n, p) array."""
    if hasattr(dataset, "observed"):
        return TrainData.from_dataset(dataset, device)
    X = torch.as_tensor(_as_array(dataset))
    empty = torch.zeros(X.shape[0], 0)
    return TrainData(X, None, empty, empty).to(device)
