"""Models of different widths trained as one group: each model embedded in the widest shape.

Models that differ only in their hidden widths and latent size train together at the largest
widths (``widest``), each model's parameters zero-padded into that shape. The padding stays
exactly zero through training, so every model gives what it gives alone (up to float rounding):

- each model is initialised at its own shape from its own generator, then padded with zeros;
- its noise and dropout masks are drawn at its own widths and placed in its own positions, with
  noise 0 in the padded latent dimensions;
- a padded hidden unit has zero weights and bias, so its activation is ReLU(0) = 0 and its
  gradient is 0 (ReLU'(0) = 0); a padded latent dimension has mean 0, log-variance 0 and noise 0,
  so z = 0, its KL term is 0 and every weight reading it (decoder, heads) gets gradient 0;
- Adam with zero gradient and zero state moves a zero parameter by exactly 0.

At the end each model's weights are cut back to its own shape (:func:`positions`).

Padding pays while a group's fixed cost per step (its ~100 small tensor operations, which
dominate for small K on a CPU) saves more than the padded units cost: :func:`plan_groups` merges
models of different widths only while the estimated work (:func:`group_cost`) goes down.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields, replace
from itertools import combinations

import torch

from ..config import ModelConfig
from ..nn import vae


def width_free(cfg: ModelConfig) -> tuple:
    """What models must share to train as one group: everything but the widths (depth kept)."""
    return (len(cfg.hidden),) + tuple((f.name, getattr(cfg, f.name)) for f in fields(cfg)
                                      if f.name not in ("hidden", "latent"))


def widest(cfgs: Sequence[ModelConfig]) -> ModelConfig:
    """The shape holding every one of ``cfgs`` (same depth): the largest width of each layer."""
    assert len({width_free(c) for c in cfgs}) == 1, "only widths may differ"
    hidden = tuple(max(h) for h in zip(*(c.hidden for c in cfgs)))
    return replace(cfgs[0], hidden=hidden, latent=max(c.latent for c in cfgs))


def _axis(name: str, axis: int, small: int, cfg: ModelConfig, big: ModelConfig) -> torch.Tensor:
    """Where the ``small`` entries along one axis of a parameter go in the wide shape: the first
    ones, except the encoder's output [mean | log-variance], whose halves are placed apart."""
    if name.startswith("enc_out") and axis == 1:
        first = torch.arange(cfg.latent)
        return torch.cat((first, big.latent + first))
    return torch.arange(small)


def positions(cfg: ModelConfig, big: ModelConfig, n_features: int, n_drugs: int) -> torch.Tensor:
    """(P,) index: where each of a ``cfg`` model's flat parameters sits in the flat parameters of
    the wider ``big`` shape. Pad: ``wide[:, pos] = own``; cut back: ``own = wide[:, pos]``."""
    own, wide = vae.layout(cfg, n_features, n_drugs), vae.layout(big, n_features, n_drugs)
    spots = wide.views(torch.arange(wide.size)[None])
    out = []
    for name, shape in own.entries:
        block = spots[name][0]
        for axis, n in enumerate(shape):
            block = block.index_select(axis, _axis(name, axis, n, cfg, big))
        out.append(block.reshape(-1))
    pos = torch.cat(out)
    assert len(pos) == own.size and int(torch.bincount(pos, minlength=wide.size).max()) <= 1
    return pos


def pad(flat: torch.Tensor, pos: torch.Tensor, size: int) -> torch.Tensor:
    """One model's flat (P,) parameters in a wide flat (size,) vector, zeros elsewhere."""
    out = torch.zeros(size, dtype=flat.dtype, device=flat.device)
    out[pos.to(flat.device)] = flat
    return out


def drop_columns(cfg: ModelConfig, big: ModelConfig) -> torch.Tensor:
    """Where a ``cfg`` model's dropout-mask columns (one per hidden unit: the encoder's layers,
    then the decoder's, mirrored) sit among the wide shape's columns."""
    out, offset = [], 0
    for own, wide in zip(cfg.hidden + cfg.hidden[::-1], big.hidden + big.hidden[::-1]):
        out.append(offset + torch.arange(own))
        offset += wide
    return torch.cat(out)


#: the estimated cost of one training step of a group, in units of one parameter x one batch
#: row: a fixed cost per step (its tensor operations) plus one per model. Measured on one CPU
#: thread with the study's data: a step takes about 0.67 ms + 0.08 ms per model + 0.08 ms per
#: million parameter-rows (the widths enter only through the last term).
STEP_COST = 8.5e6
MODEL_COST = 1e6


def group_cost(jobs: Sequence, n_features: int, n_drugs: int) -> float:
    """Estimated work of training ``jobs`` as one group: the longest model's steps (every model
    is computed in each step) x the cost of a step at the widest shape."""
    cfg = widest([j.model for j in jobs])
    B = jobs[0].train.batch_size
    steps = max(math.ceil(len(j.train_idx) / B) for j in jobs) * max(j.train.epochs for j in jobs)
    size = vae.layout(cfg, n_features, n_drugs).size
    return steps * (STEP_COST + len(jobs) * (MODEL_COST + B * size))


def plan_groups(jobs: Sequence, n_features: int, n_drugs: int) -> list[list[int]]:
    """Jobs that may train as one group (same :func:`width_free` and batch size), as the groups
    to train (lists of indices): one per shape, then the two whose merging saves the most
    estimated work merged, as long as a merging saves any."""
    shapes: dict = defaultdict(list)
    for i, j in enumerate(jobs):
        shapes[j.model.hidden, j.model.latent].append(i)
    groups = list(shapes.values())

    def cost(group: list[int]) -> float:
        return group_cost([jobs[i] for i in group], n_features, n_drugs)

    costs = [cost(g) for g in groups]
    while len(groups) > 1:
        pairs = [(a, b, cost(groups[a] + groups[b])) for a, b in combinations(range(len(groups)), 2)]
        a, b, merged = max(pairs, key=lambda p: costs[p[0]] + costs[p[1]] - p[2])
        if merged >= costs[a] + costs[b]:
            break
        groups[a] += groups.pop(b)
        costs[a] = merged
        costs.pop(b)
    return groups


def split_for_workers(groups: list[list[int]], jobs: Sequence, n_features: int, n_drugs: int,
                      workers: int) -> list[list[int]]:
    """With more processes than groups, split the costliest group of several shapes in two
    (by shape, the split with the smallest larger half) while that shortens the longest group,
    until there are ``workers`` groups: less work in total is no use when a core would idle."""
    groups = [list(g) for g in groups]

    def cost(group: list[int]) -> float:
        return group_cost([jobs[i] for i in group], n_features, n_drugs)

    while len(groups) < workers:
        best = None
        for gi, g in enumerate(groups):
            shapes: dict = defaultdict(list)
            for i in g:
                shapes[jobs[i].model.hidden, jobs[i].model.latent].append(i)
            keys = sorted(shapes)
            if len(keys) < 2:
                continue
            whole = cost(g)
            for r in range(1, len(keys)):
                for left in combinations(keys, r):
                    if keys[0] not in left:          # each split once
                        continue
                    a = [i for k in left for i in shapes[k]]
                    b = [i for k in keys if k not in left for i in shapes[k]]
                    longest = max(cost(a), cost(b))
                    if longest < whole and (best is None or whole - longest > best[0]):
                        best = (whole - longest, gi, a, b)
        if best is None:
            break
        _, gi, a, b = best
        groups[gi:gi + 1] = [a, b]
    return groups
