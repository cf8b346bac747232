"""Many models as one: K models' parameters stacked along a leading model axis.

A model's parameters are a flat (P,) vector (saved bundles, results); K of them stack into a
(K, P) buffer, and each layer of the K models is a (K, in, out) tensor, so the forward pass uses
batched matrix products (one ``baddbmm`` per layer for all K models). Training keeps one
contiguous (K, ...) tensor per parameter (``split``/``join`` convert). Each model is initialised
from its own seed, exactly as it would be alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ParamLayout:
    """Names and per-model shapes of the parameters, in a fixed order (the order of the buffer)."""

    entries: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def size(self) -> int:
        return sum(math.prod(shape) for _, shape in self.entries)

    def counts(self) -> dict[str, int]:
        return {name: math.prod(shape) for name, shape in self.entries}

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-parameter views (K, *shape) of a flat (K, P) buffer."""
        out, offset = {}, 0
        k = flat.shape[0]
        for name, shape in self.entries:
            n = math.prod(shape)
            out[name] = flat[:, offset:offset + n].view(k, *shape)
            offset += n
        return out

    def split(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-parameter contiguous tensors (K, *shape) copied from a flat (K, P) buffer."""
        return {name: v.contiguous() for name, v in self.views(flat).items()}

    def join(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """The inverse of ``split``: a flat (K, P) buffer from per-parameter tensors."""
        k = next(iter(params.values())).shape[0]
        return torch.cat([params[name].reshape(k, -1) for name, _ in self.entries], dim=1)

    def init(self, generator: torch.Generator) -> torch.Tensor:
        """One model's parameters as a flat (P,) vector: Glorot-uniform weights, zero biases
        (the Keras Dense defaults), drawn in layout order from ``generator``."""
        parts = []
        for name, shape in self.entries:
            if name.endswith(".bias"):
                parts.append(torch.zeros(math.prod(shape)))
            else:
                fan_in, fan_out = shape
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                w = torch.rand(shape, generator=generator) * (2 * limit) - limit
                parts.append(w.reshape(-1))
        return torch.cat(parts)


def linear(params: dict[str, torch.Tensor], name: str, x: torch.Tensor) -> torch.Tensor:
    """K stacked dense layers: x (K, B, in) @ W (K, in, out) + b (K, 1, out)."""
    return torch.baddbmm(params[f"{name}.bias"], x, params[f"{name}.weight"])


def dense_entries(name: str, n_in: int, n_out: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{name}.weight", (n_in, n_out)), (f"{name}.bias", (1, n_out))]
