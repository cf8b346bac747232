"""What the engine trains and what it gives back: the data as tensors (:class:`TrainData`), one
model to train (:class:`Job`) and its result (:class:`TrainResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch

from ..config import ModelConfig, TrainConfig
from ..nn import vae
from ..nn.params import ParamLayout


@dataclass
class TrainData:
    """The whole data set as tensors on one device; batches are index slices into it."""

    X: torch.Tensor
    observed: torch.Tensor | None
    log_fold: torch.Tensor
    labels: torch.Tensor
    #: (n, drugs) censoring code of each value: 1 at least, -1 at most, 0 exact
    #: (:mod:`hivlatent.data.censoring`); None: nothing censored
    censor: torch.Tensor | None = None
    #: train with denormal floats flushed to zero (``torch.set_flush_denormal``): values below
    #: 1.2e-38 become 0, which leaves the models the same but for those values and makes a small
    #: step up to 1.7x faster (Adam's moments of rarely-seen mutations decay into denormals)
    flush_denormal: bool = False

    @classmethod
    def from_dataset(cls, ds, device: str | torch.device = "cpu") -> "TrainData":
        obs = None if ds.observed.all() else torch.as_tensor(ds.observed, dtype=torch.float32)
        log_fold = torch.as_tensor(ds.log_fold, dtype=torch.float32)
        if getattr(ds, "censor", None) is not None:          # the table's own marks
            censor = torch.as_tensor(ds.censor, dtype=torch.float32)
        else:                                                # a value at the largest is ">="
            censor = vae.censor_codes(log_fold, vae.fold_caps(log_fold))
        t = cls(torch.as_tensor(ds.X, dtype=torch.float32), obs, log_fold,
                torch.as_tensor(ds.labels, dtype=torch.float32), censor)
        return t.to(device)

    def _map(self, f: Callable[[torch.Tensor], torch.Tensor]) -> "TrainData":
        """The same data with ``f`` applied to every tensor."""
        g = lambda t: None if t is None else f(t)  # noqa: E731
        return TrainData(g(self.X), g(self.observed), g(self.log_fold), g(self.labels),
                         g(self.censor), self.flush_denormal)

    def to(self, device) -> "TrainData":
        return self._map(lambda t: t.to(device))

    def shared(self) -> "TrainData":
        """A copy in shared memory (CPU), to hand to worker processes. Pickling a tensor for
        another process moves its storage into shared memory in place, and a process pool
        pickles in a thread of its own: done to tensors this process is training on, the swap
        can land while a step reads them (freed memory read as data)."""
        return self._map(lambda t: t.clone().share_memory_())


@dataclass
class Job:
    """One model to train: its shape, its training settings and its rows."""

    model: ModelConfig
    train: TrainConfig
    train_idx: np.ndarray
    val_idx: np.ndarray
    name: str = ""


@dataclass
class TrainResult:
    job: Job
    layout: ParamLayout
    params: torch.Tensor          # flat (P,) on CPU: best weights with early stopping, else last
    history: pd.DataFrame
    status: str = "ok"            # ok | early-stopped | failed: <reason>
    best_epoch: int = 0
    seconds: float = 0.0          # wall time of the group divided by the models it delivered
    extra: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status.startswith("failed")
