"""Adam for K stacked models in one flat (K, P) buffer: a handful of tensor operations per step,
whatever K is. Each model has its own learning rate and step count, and a model that is not
active in a step (finished, stopped, or without rows in that batch) is left exactly unchanged."""

from __future__ import annotations

import torch


class StackedAdam:
    def __init__(self, flat: torch.Tensor, lr: torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-7):
        self.flat = flat
        self.lr = lr.to(flat)
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = torch.zeros_like(flat)
        self.v = torch.zeros_like(flat)
        self.t = torch.zeros(flat.shape[0], dtype=flat.dtype, device=flat.device)

    @torch.no_grad()
    def step(self, grad: torch.Tensor, active: torch.Tensor) -> None:
        a = active.to(self.flat.dtype)
        self.t += a
        a_col = a[:, None]
        # m <- b1 m + (1 - b1) g, only where active (inactive rows: m <- m)
        self.m.lerp_(grad, a_col * (1 - self.b1))
        self.v.lerp_(grad * grad, a_col * (1 - self.b2))
        t = self.t.clamp(min=1.0)
        bc1 = 1 - self.b1 ** t
        bc2 = 1 - self.b2 ** t
        step = (self.lr * a / bc1)[:, None]
        denom = (self.v / bc2[:, None]).sqrt_().add_(self.eps)
        self.flat.addcdiv_(self.m * step, denom, value=-1.0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"m": self.m, "v": self.v, "t": self.t}
