"""The training loop of one group: K models of one batch size and network (but for the widths)
trained as one tensor program, at the largest widths with each model zero-padded
(:mod:`.padding`).

:func:`train_together` reads as the loop itself: per epoch each model draws its own data order,
noise and dropout masks (:meth:`Group.draw_epoch`), every step updates all K models at once
(:meth:`Group.train_epoch`), the validation rows are scored (:class:`Validation`), and
:class:`Standing` keeps each model's history, status (failed, early-stopped) and the weights its
result will hold. Jobs equal to a model but for fewer epochs (prefixes) are read off its training
as it goes.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np
import torch

from ..nn import vae
from ..nn.gradients import loss_and_grads
from ..nn.params import ParamLayout
from .adam import StackedAdam
from .history import best_epoch, history_frame
from .jobs import Job, TrainData, TrainResult
from .padding import drop_columns, pad, positions, widest

#: a loss above this (or not finite) fails the model
EXPLODED = 1e10


def _gather(t: torch.Tensor, idx: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``t[idx]`` for an integer index tensor ``idx`` (K, B): the rows as (K, B, ...), by
    ``index_select`` (the same values, about 2.4x faster than advanced indexing here), written
    into ``out`` (K * B, ...) when given: a buffer reused every step stays in the caches."""
    rows = torch.index_select(t, 0, idx.reshape(-1), out=out)
    return rows.view(*idx.shape, *t.shape[1:])


class MissingCells:
    """Where the unobserved cells of the data are, row by row (on the host), to name a batch's
    as the flat indices :func:`hivlatent.nn.gradients.loss_and_grads` zeroes: the data have few
    (nrti-1246: 146 of 284,088 cells), so a batch's dense 0/1 mask is not gathered and multiplied
    in every step."""

    def __init__(self, observed: torch.Tensor):
        values = observed.cpu().numpy()
        if not np.isin(values, (0.0, 1.0)).all():
            raise ValueError("TrainData.observed must hold 0 (unobserved) or 1 (observed) only")
        miss = values == 0
        self.count = miss.sum(1)
        self.start = np.concatenate(([0], np.cumsum(self.count)[:-1]))
        self.features = np.nonzero(miss)[1]          # row by row, features in order
        self.width = observed.shape[1]

    def batch(self, rows: np.ndarray, device) -> torch.Tensor | None:
        """Flat indices into (K, B, features) of the unobserved cells of the batch whose data
        rows are ``rows`` (K, B); None when it has none."""
        flat = rows.reshape(-1)
        n = self.count[flat]
        at = np.flatnonzero(n)
        if not len(at):
            return None
        n = n[at]
        offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        features = self.features[np.repeat(self.start[flat[at]], n) + offset]
        return torch.as_tensor(np.repeat(at, n) * self.width + features, device=device)


def _pad(rows: list[np.ndarray], width: int, device):
    idx = torch.zeros(len(rows), width, dtype=torch.long)
    w = torch.zeros(len(rows), width)
    for k, r in enumerate(rows):
        idx[k, :len(r)] = torch.as_tensor(r, dtype=torch.long)
        w[k, :len(r)] = 1.0
    return idx.to(device), w.to(device)


@torch.no_grad()
def _keep_rows(store: list[torch.Tensor], current: list[torch.Tensor], rows: np.ndarray) -> None:
    """Copy the models ``rows`` (a (K,) bool array) of the current parameters into ``store``."""
    if rows.all():
        for s, c in zip(store, current):
            s.copy_(c)
    elif rows.any():
        idx = torch.as_tensor(np.flatnonzero(rows), device=current[0].device)
        for s, c in zip(store, current):
            s.index_copy_(0, idx, c.index_select(0, idx))


def _four(t: torch.Tensor) -> np.ndarray:
    """(3 or 4, K) loss terms on the host as (4, K): total, reconstruction, KL, supervised (0
    for a plain VAE)."""
    out = np.zeros((4, t.shape[1]))
    out[:t.shape[0]] = t.cpu().numpy()
    return out


def _flat(lay: ParamLayout, tensors: list[torch.Tensor]) -> torch.Tensor:
    """Per-parameter (K, ...) tensors in layout order -> a flat (K, P) buffer on the CPU."""
    return lay.join({name: t.detach() for (name, _), t in zip(lay.entries, tensors)}).cpu()


class Group:
    """K jobs set up to train together: the shared (widest) shape, each model's own layout and
    place in it, the stacked parameters (each model initialised at its own shape, then padded
    with zeros), the optimiser, and the buffers reused every step."""

    def __init__(self, jobs: Sequence[Job], data: TrainData):
        self.jobs, self.data = jobs, data
        self.device = data.X.device
        self.cfg = cfg = widest([j.model for j in jobs])
        self.B = B = jobs[0].train.batch_size
        assert all(j.train.batch_size == B for j in jobs)
        self.K, n_feat, n_drugs = len(jobs), data.X.shape[1], data.log_fold.shape[1]
        self.layout = vae.layout(cfg, n_feat, n_drugs)
        self.own = [vae.layout(j.model, n_feat, n_drugs) for j in jobs]
        self.pos = [positions(j.model, cfg, n_feat, n_drugs) for j in jobs]
        self.cols = [drop_columns(j.model, cfg) for j in jobs]
        self.latents = [j.model.latent for j in jobs]
        self.n_drop = 2 * sum(cfg.hidden)
        self.gens = [torch.Generator().manual_seed(int(j.train.seed)) for j in jobs]
        init = torch.stack([pad(self.own[k].init(g), self.pos[k], self.layout.size)
                            for k, g in enumerate(self.gens)])
        # one contiguous (K, ...) leaf tensor per parameter; Adam updates them in place
        self.params = {name: t.to(self.device) for name, t in self.layout.split(init).items()}
        self.leaves = list(self.params.values())
        self.opt = StackedAdam(self.leaves, [j.train.lr for j in jobs])
        self.grad_bufs = {name: torch.empty_like(t) for name, t in self.params.items()}
        self.x_buf = data.X.new_empty(self.K * B, n_feat)                  # each batch's rows
        self.cells = None if data.observed is None else MissingCells(data.observed)
        self.sup_w = torch.tensor([j.train.sup_weight if cfg.supervised else 0.0 for j in jobs],
                                  device=self.device)
        self.n_train = [len(j.train_idx) for j in jobs]
        self.steps = [math.ceil(n / B) for n in self.n_train]
        self.S = max(self.steps)
        self.epochs = [j.train.epochs for j in jobs]

    def betas(self, epoch: int) -> torch.Tensor:
        return torch.tensor([j.train.beta_at(epoch) for j in self.jobs], device=self.device)

    def draw_epoch(self, active: np.ndarray):
        """Each active model's draws for one epoch, from its own generator in a fixed order
        (data order, noise, dropout masks; at its own widths, 0 in padded latent dimensions):
        the rows (K, S * B), their weights (1, or 0 for padding), the noise and the masks."""
        K, S, B, cfg = self.K, self.S, self.B, self.cfg
        rate = cfg.dropout
        perm_rows, noise = [], torch.zeros(K, S * B, cfg.latent)
        drops = torch.ones(K, S * B, self.n_drop) if rate > 0 else None
        for k, j in enumerate(self.jobs):
            if not active[k]:
                perm_rows.append(np.zeros(0, dtype=np.int64))
                continue
            g, n, lat = self.gens[k], self.steps[k] * B, self.latents[k]
            perm = torch.randperm(self.n_train[k], generator=g).numpy()
            perm_rows.append(np.asarray(j.train_idx)[perm])
            noise[k, :n, :lat] = torch.randn(n, lat, generator=g)
            if drops is not None:
                keep = torch.rand(n, len(self.cols[k]), generator=g) >= rate
                drops[k, :n].index_copy_(1, self.cols[k], keep.to(drops.dtype) / (1.0 - rate))
        idx, w = _pad(perm_rows, S * B, self.device)
        return idx, w, noise.to(self.device), None if drops is None else drops.to(self.device)

    def split_drop(self, d):
        """(K, B, n_drop) mask -> per hidden layer masks for encoder and decoder, scaled 1/(1-p)."""
        enc, dec, o = [], [], 0
        for h in self.cfg.hidden:
            enc.append(d[..., o:o + h]); o += h
        for h in reversed(self.cfg.hidden):
            dec.append(d[..., o:o + h]); o += h
        return enc, dec

    def train_epoch(self, active: np.ndarray, beta: torch.Tensor) -> np.ndarray:
        """One epoch of every active model, step by step; its mean loss terms (4, K)."""
        K, S, B, data = self.K, self.S, self.B, self.data
        idx, w, noise, drops = self.draw_epoch(active)
        idx_host = idx.cpu().numpy() if self.cells is not None else None
        # each row's weight in its step's mean loss (0 for padding), so a step's loss is one sum
        counts = w.view(K, S, B).sum(-1, keepdim=True).clamp(min=1.0)
        scale = (w.view(K, S, B) / counts).view(K, S * B)
        n_rows = np.array([[min(B, n - s * B) for s in range(S)] for n in self.n_train])
        step_active = (n_rows > 0) & active[:, None]          # (K, S), on the host
        beta_col = beta[:, None]
        terms = []
        for s in range(S):
            sl = slice(s * B, (s + 1) * B)
            ib = idx[:, sl]
            missing = None if self.cells is None else self.cells.batch(idx_host[:, sl], self.device)
            drop = None if drops is None else self.split_drop(drops[:, sl])
            with torch.no_grad():           # the gradients by hand: no autograd graph
                t, grads = loss_and_grads(
                    self.params, self.cfg, _gather(data.X, ib, self.x_buf), missing,
                    noise[:, sl], drop, beta_col, scale[:, sl],
                    *self._labels(ib), out=self.grad_bufs)
            self.opt.step(grads, step_active[:, s])
            terms.append(t)
        # per-model means over the epoch's rows of (total, rec, kl[, sup])
        sums = (torch.cat(terms, dim=2) * w).sum(-1)
        return _four(sums / torch.tensor(self.n_train, device=self.device, dtype=torch.float32))

    def _labels(self, ib) -> tuple:
        """The supervised terms' inputs for a batch (none for a plain VAE)."""
        if not self.cfg.supervised:
            return ()
        data = self.data
        return (self.sup_w, _gather(data.log_fold, ib), _gather(data.labels, ib),
                None if data.censor is None else _gather(data.censor, ib))


class Validation:
    """Each model's validation rows (padded to the longest) and its fixed validation noise,
    drawn from a generator of its own (seed + 7919) so the training draws are unaffected."""

    def __init__(self, group: Group):
        jobs, cfg = group.jobs, group.cfg
        self.group = group
        V = max(len(j.val_idx) for j in jobs)
        self.idx, self.w = _pad([j.val_idx for j in jobs], V, group.device)
        noise = torch.zeros(group.K, V, cfg.latent)
        for k, j in enumerate(jobs):
            g = torch.Generator().manual_seed(int(j.train.seed) + 7919)
            lat = group.latents[k]
            noise[k, :len(j.val_idx), :lat] = torch.randn(len(j.val_idx), lat, generator=g)
        self.noise = noise.to(group.device)

    @torch.no_grad()
    def terms(self, beta_col: torch.Tensor) -> np.ndarray:
        """The mean loss terms (4, K) on each model's validation rows (NaN for a model without)."""
        g, data, vidx = self.group, self.group.data, self.idx
        ob = None if data.observed is None else data.observed[vidx]
        vt = _loss_terms(g, data.X[vidx], ob, vidx, self.noise, beta_col)
        out = _four((vt * self.w).sum(-1) / self.w.sum(1).clamp(min=1.0))
        out[:, self.w.sum(1).cpu().numpy() == 0] = np.nan
        return out


def _loss_terms(g: Group, xb, ob, ib, eps, beta) -> torch.Tensor:
    """The loss terms (3 or 4, K, rows) of the rows ``ib`` with noise ``eps`` (no dropout)."""
    p, cfg, data = g.params, g.cfg, g.data
    mean, logvar = vae.encode(p, cfg, xb, None)
    z = mean + torch.exp(0.5 * logvar) * eps
    logits = vae.decode(p, cfg, z, None)
    rec = vae.reconstruction_loss(cfg, logits, xb, ob)
    kl = vae.kl_divergence(mean, logvar)
    if not cfg.supervised:
        return torch.stack((rec + beta * kl, rec, kl))
    fold_pred, res_logit = vae.heads(p, z)
    sup = vae.supervised_loss(fold_pred, res_logit, data.log_fold[ib], data.labels[ib],
                              None if data.censor is None else data.censor[ib])
    return torch.stack((rec + beta * kl + g.sup_w[:, None] * sup, rec, kl, sup))


class Standing:
    """Where each model stands after each epoch: its history rows, whether it has stopped and
    why (its status), its best validation score and the epochs since, and the weights kept for
    its result: the last good ones (for a failure), the best (with early stopping) and the last
    (the live parameters)."""

    def __init__(self, group: Group):
        jobs, K, leaves = group.jobs, group.K, group.leaves
        self.jobs = jobs
        self.has_val = np.array([len(j.val_idx) > 0 for j in jobs])
        self.stopped = np.zeros(K, dtype=bool)
        self.status = ["ok"] * K
        self.best_val = np.full(K, np.inf)
        self.since_best = np.zeros(K, dtype=int)
        self.early_stops = any(j.train.patience for j in jobs)   # else the best are never used
        best = [t.detach().clone() for t in leaves] if self.early_stops else []
        self.stores = {"good": [t.detach().clone() for t in leaves], "best": best,
                       "last": leaves}
        self.rows: list[list[dict]] = [[] for _ in range(K)]

    def active(self, epoch: int, epochs: list[int]) -> np.ndarray:
        return np.array([epoch < epochs[k] and not self.stopped[k] for k in range(len(epochs))])

    def which(self, k: int) -> str:
        """The weights model k's result holds: the last good ones after a failure, the best
        with early stopping, else the last."""
        if self.status[k].startswith("failed"):
            return "good"
        return "best" if self.jobs[k].train.patience else "last"

    def end_epoch(self, epoch: int, active: np.ndarray, beta: torch.Tensor,
                  train_terms: np.ndarray, val_terms: np.ndarray) -> None:
        """Record the epoch: keep the weights of the models that ended it well (and improved),
        add a history row per active model, and stop a model that failed or ran out of
        patience."""
        with torch.no_grad():
            sane = lambda a: np.isfinite(a) & (np.abs(a) < EXPLODED)  # noqa: E731
            finite = sane(train_terms[0]) & (~self.has_val | sane(val_terms[0]))
            score = np.where(np.isnan(val_terms[0]), train_terms[0], val_terms[0])
            improved = active & finite & (score < self.best_val)
            _keep_rows(self.stores["good"], self.stores["last"], active & finite)
            if self.early_stops:
                _keep_rows(self.stores["best"], self.stores["last"], improved)
        for k in np.flatnonzero(active):
            self.rows[k].append(_history_row(epoch, float(beta[k]), train_terms[:, k],
                                             val_terms[:, k]))
            if not finite[k]:
                self._fail(k, epoch, train_terms[0, k], val_terms[0, k])
                continue
            if improved[k]:
                self.best_val[k], self.since_best[k] = score[k], 0
            else:
                self.since_best[k] += 1
            patience = self.jobs[k].train.patience
            if patience and self.since_best[k] >= patience:
                self.stopped[k] = True
                self.status[k] = "early-stopped"

    def _fail(self, k: int, epoch: int, train_loss: float, val_loss: float) -> None:
        self.stopped[k] = True
        what = "NaN" if np.isnan([train_loss, val_loss]).any() else "too large"
        self.status[k] = (f"failed: loss became {what} at epoch {epoch + 1}; "
                          + ("kept the weights of the last good epoch" if epoch > 0 else
                             "no epoch ended with a finite loss, so the model is untrained "
                             "(a smaller learning rate may help)"))

    @torch.no_grad()
    def snapshot(self, k: int) -> tuple[list[torch.Tensor], str]:
        """Model k's result weights and status as they are now (for a prefix ending here)."""
        return [t[k].clone() for t in self.stores[self.which(k)]], self.status[k]


def _history_row(epoch: int, beta: float, train: np.ndarray, val: np.ndarray) -> dict:
    return {"epoch": epoch + 1, "beta": beta,
            "train_loss": train[0], "train_recon": train[1], "train_kl": train[2],
            "train_sup": train[3], "val_loss": val[0], "val_recon": val[1],
            "val_kl": val[2], "val_sup": val[3]}


def train_together(jobs: Sequence[Job], data: TrainData,
                   on_epoch: Callable[[int, int], None] | None = None,
                   prefixes: Sequence[Sequence[Job]] | None = None) -> list[TrainResult]:
    """Train K jobs of one batch size and network (but for the widths) as one program.
    ``prefixes[k]``: jobs equal to ``jobs[k]`` but for fewer epochs, read off its training.
    Results: the K jobs, then the prefixes in order."""
    t0 = time.perf_counter()
    group = Group(jobs, data)
    validation = Validation(group) if any(len(j.val_idx) for j in jobs) else None
    standing = Standing(group)
    prefixes = prefixes or [[] for _ in jobs]
    taken: dict[tuple[int, int], tuple] = {}   # (k, prefix) -> (its final weights, its status)
    last = max(group.epochs)
    for epoch in range(last):
        active = standing.active(epoch, group.epochs)
        if not active.any():
            break
        beta = group.betas(epoch)
        train_terms = group.train_epoch(active, beta)
        val_terms = (np.full((4, group.K), np.nan) if validation is None
                     else validation.terms(beta[:, None]))
        standing.end_epoch(epoch, active, beta, train_terms, val_terms)
        for k in np.flatnonzero(active):
            for r, pj in enumerate(prefixes[k]):
                if pj.train.epochs == epoch + 1:
                    taken[k, r] = standing.snapshot(k)
        if on_epoch is not None:
            on_epoch(epoch + 1, last)
    seconds = (time.perf_counter() - t0) / (group.K + sum(map(len, prefixes)))
    return _results(group, standing, prefixes, taken, seconds)


def _results(group: Group, standing: Standing, prefixes, taken: dict,
             seconds: float) -> list[TrainResult]:
    """The K jobs' results, each model's weights cut back from the padded shape to its own,
    then the prefixes': one still training at its last epoch was taken then; one whose path
    stopped before (failure, early stopping) ends where its carrier ended."""
    lay, pos, own = group.layout, group.pos, group.own
    kinds = [standing.which(k) for k in range(group.K)]
    finals = {w: _flat(lay, standing.stores[w]) for w in set(kinds)}   # only the ones in use
    out = []
    for k, j in enumerate(group.jobs):
        hist = history_frame(standing.rows[k])
        out.append(TrainResult(j, own[k], finals[kinds[k]][k][pos[k]], hist,
                               standing.status[k], best_epoch(hist), seconds))
    for k in range(group.K):
        for r, pj in enumerate(prefixes[k]):
            hist = history_frame(standing.rows[k][:pj.train.epochs])
            if (k, r) in taken:
                weights, state = taken[k, r]
                params = _flat(lay, [t[None] for t in weights])[0][pos[k]]
            else:
                params, state = out[k].params.clone(), standing.status[k]
            out.append(TrainResult(pj, own[k], params, hist, state, best_epoch(hist), seconds))
    return out
