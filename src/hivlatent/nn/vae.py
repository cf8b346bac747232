"""The VAE as pure functions of stacked parameters (K models at once; K = 1 is one model).

encoder: x -> Dense(h, ReLU) ... -> Dense(2 x latent) = [mean, log-variance] -> z = mean + sd * eps
decoder: z -> Dense(h, ReLU) ... (hidden widths mirrored) -> Dense(features) = logits
heads (semi-supervised): z -> Dense(drugs) log10 fold change, z -> Dense(drugs) resistance logit

Losses per sample, summed over features (reconstruction) and latent dimensions (KL):
- bernoulli: binary cross-entropy of the logits, in nats;
- mse: squared error of sigmoid(logits), summed over features.
Positions that were not sequenced (observed = 0) are left out of the reconstruction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import ModelConfig
from .params import ParamLayout, dense_entries, linear


def layout(cfg: ModelConfig, n_features: int, n_drugs: int = 0) -> ParamLayout:
    entries, width = [], n_features
    for i, h in enumerate(cfg.hidden):
        entries += dense_entries(f"enc{i}", width, h)
        width = h
    entries += dense_entries("enc_out", width, 2 * cfg.latent)
    width = cfg.latent
    for i, h in enumerate(reversed(cfg.hidden)):
        entries += dense_entries(f"dec{i}", width, h)
        width = h
    entries += dense_entries("dec_out", width, n_features)
    if cfg.supervised:
        entries += dense_entries("head_fold", cfg.latent, n_drugs)
        entries += dense_entries("head_res", cfg.latent, n_drugs)
    return ParamLayout(tuple(entries))


def _mlp(p, prefix, n_layers, h, drop):
    for i in range(n_layers):
        h = F.relu(linear(p, f"{prefix}{i}", h))
        if drop is not None:
            h = h * drop[i]
    return h


def encode(p, cfg: ModelConfig, x, drop=None):
    """x (K, B, features) -> mean, log-variance (K, B, latent); ``drop``: one dropout mask per
    hidden layer (training only)."""
    h = _mlp(p, "enc", len(cfg.hidden), x, drop)
    stats = linear(p, "enc_out", h)
    return stats[..., :cfg.latent], stats[..., cfg.latent:]


def decode(p, cfg: ModelConfig, z, drop=None):
    """z (K, B, latent) -> reconstruction logits (K, B, features)."""
    h = _mlp(p, "dec", len(cfg.hidden), z, drop)
    return linear(p, "dec_out", h)


def heads(p, z):
    """z (K, B, latent) -> predicted log10 fold change and resistance logit (K, B, drugs)."""
    return linear(p, "head_fold", z), linear(p, "head_res", z)


def reconstruction_loss(cfg: ModelConfig, logits, x, observed=None):
    """Per-sample reconstruction loss (K, B), summed over observed features."""
    if cfg.likelihood == "bernoulli":
        per = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per = (torch.sigmoid(logits) - x) ** 2
    if observed is not None:
        per = per * observed
    return per.sum(-1)


def kl_divergence(mean, logvar):
    """KL(q(z|x) || N(0, I)) per sample (K, B), summed over latent dimensions."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


#: log10 tolerance for a value to count as at the reporting limit
CAP_TOL = 1e-6


def supervised_loss(fold_pred, res_logit, log_fold, labels, censor=None):
    """Per-sample supervised loss (K, B): squared error of log10 fold change plus binary
    cross-entropy of the resistance label, summed over drugs; missing values (NaN) are masked.
    ``censor`` (broadcast against ``log_fold``): per value 1 where the measured fold change is
    "at least this much" (right-censored: a prediction above it is no error), -1 where it is "at
    most" (left-censored: a prediction below it is no error), 0 where exact
    (:mod:`hivlatent.data.censoring`; :func:`censor_codes` makes them from reporting limits)."""
    lmask = ~torch.isnan(labels)
    fold_err = fold_error(fold_pred, log_fold, censor) ** 2
    bce = F.binary_cross_entropy_with_logits(res_logit, torch.nan_to_num(labels), reduction="none")
    return fold_err.sum(-1) + torch.where(lmask, bce, 0.0).sum(-1)


def fold_error(fold_pred, log_fold, censor=None):
    """Predicted minus measured log10 fold change, 0 where the value is missing (NaN) and where
    the prediction lies on the censored side of a bound (``censor``: see
    :func:`supervised_loss`)."""
    y = torch.nan_to_num(log_fold)
    diff = fold_pred - y
    if censor is not None:
        diff = torch.where(censor > 0, diff.clamp(max=0.0), diff)
        diff = torch.where(censor < 0, diff.clamp(min=0.0), diff)
    return torch.where(~torch.isnan(log_fold), diff, 0.0)


def censor_codes(log_fold, fold_cap) -> "torch.Tensor":
    """The censoring codes of data without marks: 1 where a value reaches its drug's reporting
    limit ``fold_cap`` (log10, (drugs,)), else 0; float32 like the data."""
    y = torch.nan_to_num(torch.as_tensor(log_fold, dtype=torch.float32), nan=-float("inf"))
    return (y >= torch.as_tensor(fold_cap, dtype=torch.float32) - CAP_TOL).to(torch.float32)


def fold_caps(log_fold) -> "torch.Tensor":
    """Each drug's largest log10 fold change in the data (its assay's reporting limit: HIVDB
    caps values there, for example 3TC at 200); +inf for a drug without values."""
    lf = torch.as_tensor(log_fold, dtype=torch.float32)
    if lf.numel() == 0:
        return torch.full((lf.shape[-1],), float("inf"))
    caps = torch.nan_to_num(lf, nan=-float("inf")).amax(0)
    return torch.where(torch.isfinite(caps), caps, torch.full_like(caps, float("inf")))
