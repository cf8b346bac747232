"""The VAE's training loss and its gradients, written out by hand (no autograd graph).

One training step of K stacked models on a batch is a handful of batched matrix products; at the
study's sizes (batch 16, 228 features, 128 hidden units, latent 10) building and walking the
autograd graph cost as much as the arithmetic. :func:`loss_and_grads` computes the same loss as
:mod:`.vae` (reconstruction, KL, and for the semi-supervised model the censored squared error of
log10 fold change and the resistance cross-entropy) and its exact gradient, layer by layer, in
the layout's parameter order. ``tests/test_gradients.py`` checks it against autograd for every
likelihood, depth, dropout, missing positions and the supervised heads.

For one model and one batch, with per-row weights ``scale`` (1/batch, 0 for padding rows):

    loss = sum_b scale_b * (rec_b + beta * kl_b + sup_weight * sup_b)

The per-row terms (rec + beta * kl [+ sup_weight * sup], rec, kl [, sup]) are returned as
(3 or 4, K, B), as :func:`hivlatent.training.engine.train_group` records them.
"""

from __future__ import annotations

import torch

from ..config import ModelConfig
from . import vae


def _bt(a: torch.Tensor) -> torch.Tensor:
    return a.transpose(1, 2)


def _hidden_layers(p, prefix: str, n: int, h: torch.Tensor, drop
                   ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Dense + ReLU (+ dropout mask) layers ``prefix0`` .. ``prefix{n-1}``: the inputs of each
    layer followed by the last output (n + 1), and the pre-activations (n)."""
    ins, pres = [h], []
    for i in range(n):
        pre = torch.baddbmm(p[f"{prefix}{i}.bias"], h, p[f"{prefix}{i}.weight"])
        h = torch.relu(pre) if drop is None else torch.relu(pre) * drop[i]
        pres.append(pre)
        ins.append(h)
    return ins, pres


def _weight_grad(out, name: str, a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """``a^T d`` per model: the gradient of a dense layer's weight from its input ``a``."""
    return torch.bmm(_bt(a), d, out=None if out is None else out[name])


def _bias_grad(out, name: str, d: torch.Tensor) -> torch.Tensor:
    return torch.sum(d, 1, keepdim=True, out=None if out is None else out[name])


def _relu_back(d: torch.Tensor, pre: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The gradient at a hidden layer's pre-activation from the gradient ``d`` at its output
    ``relu(pre) * mask``, written over ``d`` (a fresh product the caller does not keep)."""
    if mask is not None:
        d = d.mul_(mask)
    return torch.ops.aten.threshold_backward.grad_input(d, pre, 0.0, grad_input=d)


def missing_cells(observed: torch.Tensor | None) -> torch.Tensor | None:
    """The flat indices (into ``observed.reshape(-1)``) of the cells a 0/1 mask marks unobserved,
    as :func:`loss_and_grads` takes them; None when every cell is observed."""
    if observed is None:
        return None
    cells = torch.nonzero(observed.reshape(-1) == 0).squeeze(1)
    return cells if len(cells) else None


def loss_and_grads(p: dict[str, torch.Tensor], cfg: ModelConfig, x: torch.Tensor,
                   missing: torch.Tensor | None, eps: torch.Tensor, drop, beta: torch.Tensor,
                   scale: torch.Tensor, sup_weight: torch.Tensor | None = None,
                   log_fold: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                   censor: torch.Tensor | None = None,
                   out: dict[str, torch.Tensor] | None = None
                   ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Per-row loss terms and the gradients of the weighted loss, in layout order.

    ``x`` (K, B, features), ``missing`` the flat indices into (K, B, features) of the cells not
    observed (:func:`missing_cells`; they add nothing to the loss) or None, ``eps`` (K, B, latent),
    ``drop`` None or (encoder masks, decoder masks) per hidden layer (K, B, width) already
    scaled by 1/(1 - rate), ``beta`` (K, 1), ``scale`` (K, B); for the semi-supervised model
    ``sup_weight`` (K,), ``log_fold`` and ``labels`` (K, B, drugs) with NaN for missing, and
    ``censor`` (K, B, drugs) the censoring codes of ``log_fold`` (1 at least, -1 at most, 0 exact;
    :func:`.vae.fold_error`). ``out``: optional buffers, one per
    parameter of its shape, the gradients are written into (and returned): a training loop that
    passes the same buffers every step allocates none of the large gradient arrays again (fresh
    ones can cost a page fault per 4 KiB page: 6-20% of a K = 64 step on this project's CPU)."""
    n_hidden = len(cfg.hidden)
    enc_drop, dec_drop = (None, None) if drop is None else drop
    # ---- forward, keeping each hidden layer's input and pre-activation for the backward pass
    acts, enc_pre = _hidden_layers(p, "enc", n_hidden, x, enc_drop)
    stats = torch.baddbmm(p["enc_out.bias"], acts[-1], p["enc_out.weight"])
    L = cfg.latent
    mean, logvar = stats[..., :L], stats[..., L:]
    sd = torch.exp(0.5 * logvar)
    z = torch.addcmul(mean, sd, eps)
    dec_in, dec_pre = _hidden_layers(p, "dec", n_hidden, z, dec_drop)
    h = dec_in[-1]
    logits = torch.baddbmm(p["dec_out.bias"], h, p["dec_out.weight"])

    w = scale[..., None]                                     # (K, B, 1)
    # fresh (K, B, features) tensors cost more than the arithmetic on them, so the
    # reconstruction works in place where a value is not needed again (the same values)
    if cfg.likelihood == "bernoulli":
        per = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
        d_logits = logits.sigmoid_().sub_(x)
        if missing is not None:  # few cells: zeroed in place rather than a mask multiplied in
            per.view(-1).index_fill_(0, missing, 0.0)
            d_logits.view(-1).index_fill_(0, missing, 0.0)
        d_logits = d_logits.mul_(w)
        rec = per.sum(-1)
    else:
        s = logits.sigmoid_()
        diff = s.sub(x)
        if missing is not None:  # a zero error there zeroes both its loss and its gradient
            diff.view(-1).index_fill_(0, missing, 0.0)
        rec = torch.mul(diff, diff).sum(-1)
        # d/dlogits of w * diff^2 = 2 w diff * s (1 - s), written over s
        d_logits = torch.ops.aten.sigmoid_backward.grad_input(diff.mul_(2.0 * w), s, grad_input=s)
    var = logvar.exp()
    kl = vae.kl_divergence(mean, logvar)

    grads: dict[str, torch.Tensor] = {}
    # ---- heads (semi-supervised)
    d_z = None
    sup = None
    if cfg.supervised:
        fold_pred = torch.baddbmm(p["head_fold.bias"], z, p["head_fold.weight"])
        res_logit = torch.baddbmm(p["head_res.bias"], z, p["head_res.weight"])
        lmask = ~torch.isnan(labels)
        err = vae.fold_error(fold_pred, log_fold, censor)
        lab = torch.nan_to_num(labels)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(res_logit, lab, reduction="none")
        sup = (err * err).sum(-1) + torch.where(lmask, bce, 0.0).sum(-1)
        ws = w * sup_weight[:, None, None]
        d_fold = 2.0 * err * ws                                   # 0 where masked or censored above
        d_res = torch.where(lmask, torch.sigmoid(res_logit) - lab, 0.0) * ws
        grads["head_fold.weight"] = _weight_grad(out, "head_fold.weight", z, d_fold)
        grads["head_fold.bias"] = _bias_grad(out, "head_fold.bias", d_fold)
        grads["head_res.weight"] = _weight_grad(out, "head_res.weight", z, d_res)
        grads["head_res.bias"] = _bias_grad(out, "head_res.bias", d_res)
        d_z = torch.baddbmm(torch.bmm(d_fold, _bt(p["head_fold.weight"])), d_res,
                            _bt(p["head_res.weight"]))

    # ---- decoder
    d = d_logits
    grads["dec_out.weight"] = _weight_grad(out, "dec_out.weight", dec_in[-1], d)
    grads["dec_out.bias"] = _bias_grad(out, "dec_out.bias", d)
    d = torch.bmm(d, _bt(p["dec_out.weight"]))
    for i in reversed(range(n_hidden)):
        d = _relu_back(d, dec_pre[i], None if dec_drop is None else dec_drop[i])
        grads[f"dec{i}.weight"] = _weight_grad(out, f"dec{i}.weight", dec_in[i], d)
        grads[f"dec{i}.bias"] = _bias_grad(out, f"dec{i}.bias", d)
        d = torch.bmm(d, _bt(p[f"dec{i}.weight"]))
    if d_z is not None:
        d = d + d_z
    # ---- latent: z = mean + sd * eps, KL weighted by beta
    wb = w * beta[..., None]
    d_mean = d + wb * mean
    d_logvar = d * eps * (0.5 * sd) + wb * (0.5 * (var - 1.0))
    d = torch.cat((d_mean, d_logvar), -1)
    # ---- encoder
    grads["enc_out.weight"] = _weight_grad(out, "enc_out.weight", acts[-1], d)
    grads["enc_out.bias"] = _bias_grad(out, "enc_out.bias", d)
    for i in reversed(range(n_hidden)):
        d = torch.bmm(d, _bt(p[f"enc{i + 1}.weight" if i + 1 < n_hidden else "enc_out.weight"]))
        d = _relu_back(d, enc_pre[i], None if enc_drop is None else enc_drop[i])
        grads[f"enc{i}.weight"] = _weight_grad(out, f"enc{i}.weight", acts[i], d)
        grads[f"enc{i}.bias"] = _bias_grad(out, f"enc{i}.bias", d)

    total = rec + beta * kl
    if sup is None:
        terms = torch.stack((total, rec, kl))
    else:
        terms = torch.stack((total + sup_weight[:, None] * sup, rec, kl, sup))
    return terms, [grads[name] for name in p]
