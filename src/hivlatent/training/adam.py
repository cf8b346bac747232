"""Adam for K stacked models, with PyTorch's fused Adam kernel (a plain update where a torch
version lacks that private kernel).

The parameters are a list of tensors of shape (K, ...), one per layer weight or bias, row k
belonging to model k. Each model has its own learning rate and step count, and a model that is
not active in a step (finished, stopped, or without rows in that batch) is left exactly
unchanged, state included.

The common case, every model active with one learning rate and one step count, is one kernel
call over the whole stacked tensors. Otherwise the active models are split into classes of equal
(learning rate, step count) and each class is one call over its rows (views built once per
distinct pattern, plus a per-step view of the fresh gradients).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch


class StackedAdam:
    def __init__(self, params: Sequence[torch.Tensor], lr: Sequence[float],
                 betas=(0.9, 0.999), eps: float = 1e-7):
        self.params = list(params)
        self.K = self.params[0].shape[0]
        self.lr = np.asarray(lr, dtype=np.float64)
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = np.zeros(self.K, dtype=np.int64)   # steps taken by each model
        self._plans: dict[bytes, list] = {}

    def _plan(self, active: np.ndarray) -> list:
        """Classes of active models with equal (lr, step count), as
        [(lr, members, row views or None for all K, scalar step tensor)]; cached by pattern."""
        ks = np.flatnonzero(active)
        key = active.tobytes() + (self.t[ks] - self.t[ks].min()).tobytes() if len(ks) else b""
        if key not in self._plans:
            if len(self._plans) > 1024:
                self._plans.clear()
            classes: dict[tuple, list[int]] = {}
            for k in ks:
                classes.setdefault((float(self.lr[k]), int(self.t[k])), []).append(int(k))
            plan = []
            for (lr, _), members in classes.items():
                rows = None if len(members) == self.K else [
                    [r[k] for r in (p.unbind(0) for p in group) for k in members]
                    for group in (self.params, self.m, self.v)]
                step = torch.zeros((), device=self.params[0].device)
                plan.append((lr, members, rows, step))
            self._plans[key] = plan
        return self._plans[key]

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: np.ndarray) -> None:
        """One Adam step with ``grads`` (one per parameter) on the models where ``active``."""
        active = np.asarray(active, dtype=bool)
        self.t[active] += 1
        for lr, members, rows, step in self._plan(active):
            step.fill_(float(self.t[members[0]]))
            if rows is None:
                p, m, v, g = self.params, self.m, self.v, list(grads)
            else:
                p, m, v = rows
                g = [r[k] for r in (gr.unbind(0) for gr in grads) for k in members]
            if _FUSED is not None:
                _FUSED(p, g, m, v, [], [step] * len(p), lr=lr, beta1=self.b1, beta2=self.b2,
                       weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False)
            else:
                _plain_adam(p, g, m, v, float(step), lr, self.b1, self.b2, self.eps)


#: PyTorch's fused Adam kernel (a private function of torch 2.x); None in a torch without it,
#: where :func:`_plain_adam` takes its place (the same update, computed without fusion: equal
#: to rounding, not bit for bit)
_FUSED = getattr(torch, "_fused_adam_", None)


def _plain_adam(params, grads, m, v, step: float, lr: float, b1: float, b2: float,
                eps: float) -> None:
    """One Adam step in place (no weight decay, no amsgrad), as the fused kernel computes it:
    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m /
    (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    c1, c2 = 1.0 - b1 ** step, math.sqrt(1.0 - b2 ** step)
    for p, g, m_, v_ in zip(params, grads, m, v):
        m_.lerp_(g, 1.0 - b1)
        v_.mul_(b2).addcmul_(g, g, value=1.0 - b2)
        p.addcdiv_(m_, v_.sqrt().div_(c2).add_(eps), value=-lr / c1)
