"""The training engine: K models of one shape trained at once as one tensor program.

Each model (a ``Job``) has its own seed, initialisation, data order, sampling noise, optimiser
state, training rows, validation rows, epochs and hyperparameters; jobs that share a network
shape and batch size are trained together, and one job alone is simply K = 1. Jobs whose networks
differ only in their widths (hidden units, latent size) may train together too, each zero-padded
to the widest shape (:mod:`.padding`). A model trained in a group gives the same losses and
weights as the same job trained alone (up to float rounding).

Per step the work is a fixed number of tensor operations whatever K is, with the gradients
written out by hand (:mod:`hivlatent.nn.gradients`: no autograd graph); per epoch each model
draws its permutation and noise from its own generator (the only Python loop over K).

Jobs that differ only in their number of epochs (same shape, seed, rows and other settings, as
the study's epochs grid) follow the same path for as long as the shorter one trains: only the
longest is trained, and each shorter one is its state after its own last epoch (weights, history
and status), bit for bit what training it alone would give.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from ..config import ModelConfig, TrainConfig
from ..nn import vae
from ..nn.gradients import loss_and_grads
from ..nn.params import ParamLayout
from .adam import StackedAdam
from .history import best_epoch, history_frame
from .padding import (
    drop_columns,
    pad,
    plan_groups,
    positions,
    split_for_workers,
    widest,
    width_free,
)
from .workers import n_workers, run_groups, usable_workers

EXPLODED = 1e10


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


def group_key(job: Job, n_features: int, n_drugs: int):
    """Jobs with equal keys train as one group: same batch size and same network but for the
    widths (hidden units and latent size; :mod:`.padding`)."""
    return (width_free(job.model), job.train.batch_size)


def _path_key(job: Job):
    """Jobs with equal keys take the same training path, epoch by epoch (epochs excepted)."""
    settings = {k: v for k, v in asdict(job.train).items() if k != "epochs"}
    return (job.model, tuple(sorted(settings.items())),
            np.asarray(job.train_idx, dtype=np.int64).tobytes(),
            np.asarray(job.val_idx, dtype=np.int64).tobytes())


def shared_paths(jobs: Sequence[Job]) -> tuple[list[int], list[list[int]]]:
    """Carriers (the longest job of each set of equal paths, by index) and, for each carrier, the
    indices of its prefixes: the other jobs of its set, read off its training as it goes."""
    paths: dict = defaultdict(list)
    for i, job in enumerate(jobs):
        paths[_path_key(job)].append(i)
    carriers, prefixes = [], []
    for members in paths.values():
        longest = max(members, key=lambda i: (jobs[i].train.epochs, -i))
        carriers.append(longest)
        prefixes.append([i for i in members if i != longest])
    return carriers, prefixes


def train_many(jobs: Sequence[Job], data: TrainData, device: str | torch.device = "cpu",
               on_epoch: Callable[[int, int], None] | None = None,
               max_group: int = 256, workers: int | None = None) -> list[TrainResult]:
    """Train every job; jobs sharing a shape and batch size run together as one group, and a job
    that is another's first epochs (:func:`shared_paths`) is read off that one's training.
    Jobs that differ only in their widths (hidden units, latent size) join one group, padded to
    the widest, when that is estimated to save work (:func:`.padding.plan_groups`), and such a
    group is split again when a process would otherwise idle (:func:`.padding.split_for_workers`).
    Results in job order. Several groups on a multi-core CPU run side by side in worker processes
    (``workers``: 1 = in this process, 0 = one per core, None = ``$HIVLATENT_WORKERS`` or 1;
    see :func:`.workers.n_workers`)."""
    data = data.to(device)
    n_feat, n_drugs = data.X.shape[1], data.log_fold.shape[1]
    carriers, prefixes = shared_paths(jobs)
    prefixes_of = dict(zip(carriers, prefixes))
    keyed: dict = defaultdict(list)
    # a padded group may be split in up to 1 + (the processes left once each group of another
    # shape or batch size has one), so that no core idles (split_for_workers)
    spare = max(0, usable_workers(workers, device, [jobs[i] for i in carriers])
                - len({group_key(jobs[i], n_feat, n_drugs) for i in carriers})) + 1
    for i in carriers:
        keyed[group_key(jobs[i], n_feat, n_drugs)].append(i)
    groups = []
    for members in keyed.values():
        for part in split_for_workers(plan_groups([jobs[i] for i in members], n_feat, n_drugs),
                                      [jobs[i] for i in members], n_feat, n_drugs, spare):
            # by shape, so that a group split into chunks keeps like widths together
            groups.append(sorted((members[p] for p in part),
                                 key=lambda i: (jobs[i].model.hidden, jobs[i].model.latent)))
    chunks = [members[start:start + max_group] for members in groups
              for start in range(0, len(members), max_group)]
    tasks = [([jobs[i] for i in chunk], [[jobs[r] for r in prefixes_of[i]] for i in chunk]) for chunk in chunks]
    n = n_workers(workers, device, [t[0] for t in tasks])
    if n > 1:
        total = max(j.train.epochs for j in jobs)
        progress = None if on_epoch is None else (lambda f: on_epoch(round(f * total), total))
        trained = run_groups(tasks, data, train_group, n, progress)
    else:
        trained = [train_group(group, data, on_epoch, prefixes) for group, prefixes in tasks]
    results: list[TrainResult | None] = [None] * len(jobs)
    for chunk, res in zip(chunks, trained):
        order = list(chunk) + [r for i in chunk for r in prefixes_of[i]]
        for i, r in zip(order, res):
            results[i] = r
    return results  # type: ignore[return-value]


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


def train_group(jobs: Sequence[Job], data: TrainData,
                on_epoch: Callable[[int, int], None] | None = None,
                prefixes: Sequence[Sequence[Job]] | None = None) -> list[TrainResult]:
    """:func:`_train_group`, with denormals flushed to zero when ``data.flush_denormal``."""
    if not data.flush_denormal:
        return _train_group(jobs, data, on_epoch, prefixes)
    torch.set_flush_denormal(True)
    try:
        return _train_group(jobs, data, on_epoch, prefixes)
    finally:
        torch.set_flush_denormal(False)


def _train_group(jobs: Sequence[Job], data: TrainData,
                 on_epoch: Callable[[int, int], None] | None = None,
                 prefixes: Sequence[Sequence[Job]] | None = None) -> list[TrainResult]:
    """Train K jobs of one batch size and network (but for the widths) as one program, at the
    largest widths with each model zero-padded (:mod:`.padding`). ``prefixes[k]``: jobs equal to
    ``jobs[k]`` but for fewer epochs, read off its training. Results: the K jobs, then the
    prefixes in order."""
    t0 = time.perf_counter()
    device = data.X.device
    cfg = widest([j.model for j in jobs])          # the shape the group trains at
    B = jobs[0].train.batch_size
    assert all(j.train.batch_size == B for j in jobs)
    K, n_feat, n_drugs = len(jobs), data.X.shape[1], data.log_fold.shape[1]
    lay = vae.layout(cfg, n_feat, n_drugs)
    own = [vae.layout(j.model, n_feat, n_drugs) for j in jobs]
    pos = [positions(j.model, cfg, n_feat, n_drugs) for j in jobs]
    cols = [drop_columns(j.model, cfg) for j in jobs]
    latents = [j.model.latent for j in jobs]
    drop_rate = cfg.dropout
    n_drop = 2 * sum(cfg.hidden)

    gens = [torch.Generator().manual_seed(int(j.train.seed)) for j in jobs]
    # one contiguous (K, ...) leaf tensor per parameter; Adam updates them in place. Each model
    # is initialised at its own shape, then padded with zeros
    init = torch.stack([pad(own[k].init(g), pos[k], lay.size) for k, g in enumerate(gens)])
    params = {name: t.to(device) for name, t in lay.split(init).items()}
    leaves = list(params.values())
    opt = StackedAdam(leaves, [j.train.lr for j in jobs])
    grad_bufs = {name: torch.empty_like(t) for name, t in params.items()}   # reused every step
    x_buf = data.X.new_empty(K * B, n_feat)                                  # each batch's rows
    cells = None if data.observed is None else MissingCells(data.observed)
    sup_w = torch.tensor([j.train.sup_weight if cfg.supervised else 0.0 for j in jobs], device=device)

    n_train = [len(j.train_idx) for j in jobs]
    steps = [math.ceil(n / B) for n in n_train]
    S = max(steps)
    epochs = [j.train.epochs for j in jobs]

    # fixed validation noise per model, from a generator of its own (training draws unaffected)
    has_val = any(len(j.val_idx) for j in jobs)
    if has_val:
        V = max(len(j.val_idx) for j in jobs)
        vidx, vw = _pad([j.val_idx for j in jobs], V, device)
        vgens = [torch.Generator().manual_seed(int(j.train.seed) + 7919) for j in jobs]
        vnoise = torch.zeros(K, V, cfg.latent)
        for k, (g, j) in enumerate(zip(vgens, jobs)):
            vnoise[k, :len(j.val_idx), :latents[k]] = torch.randn(len(j.val_idx), latents[k], generator=g)
        vnoise = vnoise.to(device)

    has_val_k = np.array([len(j.val_idx) > 0 for j in jobs])
    stopped = np.zeros(K, dtype=bool)
    status = ["ok"] * K
    best_val = np.full(K, np.inf)
    since_best = np.zeros(K, dtype=int)
    early_stops = any(j.train.patience for j in jobs)      # else the best weights are never used
    best = [t.detach().clone() for t in leaves] if early_stops else []
    good = [t.detach().clone() for t in leaves]
    rows: list[list[dict]] = [[] for _ in range(K)]
    prefixes = prefixes or [[] for _ in range(K)]
    taken: dict[tuple[int, int], tuple] = {}   # (k, prefix) -> (its final weights, its status)
    stores = {"good": good, "best": best, "last": leaves}

    def which(k: int) -> str:
        """The weights a model's result holds: the last good ones after a failure, the best
        with early stopping, else the last."""
        return "good" if status[k].startswith("failed") else "best" if jobs[k].train.patience else "last"

    def forward(p, xb, ob, ib, eps, drop, beta):
        mean, logvar = vae.encode(p, cfg, xb, None if drop is None else drop[0])
        z = mean + torch.exp(0.5 * logvar) * eps
        logits = vae.decode(p, cfg, z, None if drop is None else drop[1])
        rec = vae.reconstruction_loss(cfg, logits, xb, ob)
        kl = vae.kl_divergence(mean, logvar)
        if not cfg.supervised:
            return torch.stack((rec + beta * kl, rec, kl))
        fold_pred, res_logit = vae.heads(p, z)
        sup = vae.supervised_loss(fold_pred, res_logit, data.log_fold[ib], data.labels[ib],
                                  None if data.censor is None else data.censor[ib])
        return torch.stack((rec + beta * kl + sup_w[:, None] * sup, rec, kl, sup))

    def split_drop(d):
        # (K, B, n_drop) mask -> per hidden layer masks for encoder and decoder, scaled 1/(1-p)
        enc, dec, o = [], [], 0
        for h in cfg.hidden:
            enc.append(d[..., o:o + h]); o += h
        for h in reversed(cfg.hidden):
            dec.append(d[..., o:o + h]); o += h
        return enc, dec

    for epoch in range(max(epochs)):
        active = np.array([epoch < epochs[k] and not stopped[k] for k in range(K)])
        if not active.any():
            break
        beta = torch.tensor([j.train.beta_at(epoch) for j in jobs], device=device)
        perm_rows, noise = [], torch.zeros(K, S * B, cfg.latent)
        drops = torch.ones(K, S * B, n_drop) if drop_rate > 0 else None
        for k, j in enumerate(jobs):
            if not active[k]:
                perm_rows.append(np.zeros(0, dtype=np.int64))
                continue
            perm = torch.randperm(n_train[k], generator=gens[k]).numpy()
            perm_rows.append(np.asarray(j.train_idx)[perm])
            # drawn at the model's own widths; 0 noise in padded latent dimensions
            noise[k, :steps[k] * B, :latents[k]] = torch.randn(steps[k] * B, latents[k], generator=gens[k])
            if drops is not None:
                keep = torch.rand(steps[k] * B, len(cols[k]), generator=gens[k]) >= drop_rate
                drops[k, :steps[k] * B].index_copy_(1, cols[k], keep.to(drops.dtype) / (1.0 - drop_rate))
        idx, w = _pad(perm_rows, S * B, device)
        idx_host = idx.cpu().numpy() if cells is not None else None
        noise = noise.to(device)
        if drops is not None:
            drops = drops.to(device)
        # each row's weight in its step's mean loss (0 for padding), so a step's loss is one sum
        counts = w.view(K, S, B).sum(-1, keepdim=True).clamp(min=1.0)
        scale = (w.view(K, S, B) / counts).view(K, S * B)
        n_rows = np.array([[min(B, n - s * B) for s in range(S)] for n in n_train])
        step_active = (n_rows > 0) & active[:, None]          # (K, S), on the host
        beta_col = beta[:, None]
        terms = []
        for s in range(S):
            sl = slice(s * B, (s + 1) * B)
            ib = idx[:, sl]
            missing = None if cells is None else cells.batch(idx_host[:, sl], device)
            drop = None if drops is None else split_drop(drops[:, sl])
            with torch.no_grad():           # the gradients by hand: no autograd graph
                t, grads = loss_and_grads(
                    params, cfg, _gather(data.X, ib, x_buf), missing, noise[:, sl], drop, beta_col,
                    scale[:, sl], *((sup_w, _gather(data.log_fold, ib), _gather(data.labels, ib),
                                     None if data.censor is None else _gather(data.censor, ib))
                                    if cfg.supervised else ()), out=grad_bufs)
            opt.step(grads, step_active[:, s])
            terms.append(t)
        # per-model means over the epoch's rows of (total, rec, kl[, sup])
        sums = (torch.cat(terms, dim=2) * w).sum(-1)
        train_terms = _four(sums / torch.tensor(n_train, device=device, dtype=torch.float32))

        if has_val:
            with torch.no_grad():
                ob = None if data.observed is None else data.observed[vidx]
                vt = forward(params, data.X[vidx], ob, vidx, vnoise, None, beta_col)
                val_terms = _four((vt * vw).sum(-1) / vw.sum(1).clamp(min=1.0))
                val_terms[:, vw.sum(1).cpu().numpy() == 0] = np.nan
        else:
            val_terms = np.full((4, K), np.nan)

        with torch.no_grad():
            sane = lambda a: np.isfinite(a) & (np.abs(a) < EXPLODED)  # noqa: E731
            finite = sane(train_terms[0]) & (~has_val_k | sane(val_terms[0]))
            score = np.where(np.isnan(val_terms[0]), train_terms[0], val_terms[0])
            improved = active & finite & (score < best_val)
            _keep_rows(good, leaves, active & finite)
            if early_stops:
                _keep_rows(best, leaves, improved)
        for k in range(K):
            if not active[k]:
                continue
            rows[k].append({"epoch": epoch + 1, "beta": float(beta[k]),
                            "train_loss": train_terms[0, k], "train_recon": train_terms[1, k],
                            "train_kl": train_terms[2, k], "train_sup": train_terms[3, k],
                            "val_loss": val_terms[0, k], "val_recon": val_terms[1, k],
                            "val_kl": val_terms[2, k], "val_sup": val_terms[3, k]})
            if not finite[k]:
                stopped[k] = True
                what = "NaN" if np.isnan([train_terms[0, k], val_terms[0, k]]).any() else "too large"
                status[k] = (f"failed: loss became {what} at epoch {epoch + 1}; "
                             + ("kept the weights of the last good epoch" if epoch > 0 else
                                "no epoch ended with a finite loss, so the model is untrained "
                                "(a smaller learning rate may help)"))
                continue
            if improved[k]:
                best_val[k], since_best[k] = score[k], 0
            else:
                since_best[k] += 1
            if jobs[k].train.patience and since_best[k] >= jobs[k].train.patience:
                stopped[k] = True
                status[k] = "early-stopped"
        for k in np.flatnonzero(active):
            for r, pj in enumerate(prefixes[k]):
                if pj.train.epochs == epoch + 1:
                    with torch.no_grad():
                        taken[k, r] = ([t[k].clone() for t in stores[which(k)]], status[k])
        if on_epoch is not None:
            on_epoch(epoch + 1, max(epochs))

    seconds = (time.perf_counter() - t0) / (K + sum(map(len, prefixes)))
    kinds = [which(k) for k in range(K)]
    finals = {w: _flat(lay, stores[w]) for w in set(kinds)}   # only the snapshots in use
    out = []
    for k, j in enumerate(jobs):
        hist = history_frame(rows[k])
        # each model's weights cut back from the padded shape to its own
        out.append(TrainResult(j, own[k], finals[kinds[k]][k][pos[k]], hist, status[k],
                               best_epoch(hist), seconds))
    for k in range(K):
        for r, pj in enumerate(prefixes[k]):
            # a prefix still training at its last epoch was taken then; one whose path stopped
            # before (failure, early stopping) ends where its carrier ended
            hist = history_frame(rows[k][:pj.train.epochs])
            if (k, r) in taken:
                weights, state = taken[k, r]
                params = _flat(lay, [t[None] for t in weights])[0][pos[k]]
            else:
                params, state = out[k].params.clone(), status[k]
            out.append(TrainResult(pj, own[k], params, hist, state, best_epoch(hist), seconds))
    return out
