"""The hand-written training gradients (nn/gradients.py) against autograd on the same loss."""

from __future__ import annotations

import math

import pytest
import torch

from hivlatent.config import ModelConfig
from hivlatent.nn import vae
from hivlatent.nn.gradients import loss_and_grads, missing_cells


def _autograd(p, cfg, x, ob, eps, drop, beta, scale, sup_w, lf, lab, cap):
    p = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    mean, logvar = vae.encode(p, cfg, x, None if drop is None else drop[0])
    z = mean + torch.exp(0.5 * logvar) * eps
    logits = vae.decode(p, cfg, z, None if drop is None else drop[1])
    rec = vae.reconstruction_loss(cfg, logits, x, ob)
    kl = vae.kl_divergence(mean, logvar)
    if cfg.supervised:
        fold, res = vae.heads(p, z)
        sup = vae.supervised_loss(fold, res, lf, lab, cap)
        t = torch.stack((rec + beta * kl + sup_w[:, None] * sup, rec, kl, sup))
    else:
        t = torch.stack((rec + beta * kl, rec, kl))
    grads = torch.autograd.grad((t[0] * scale).sum(), list(p.values()))
    return t.detach(), grads


@pytest.mark.parametrize("likelihood", ["mse", "bernoulli"])
@pytest.mark.parametrize("hidden", [(16,), (12, 8)])
@pytest.mark.parametrize("supervised, dropout, missing", [
    (False, 0.0, False), (False, 0.3, True), (True, 0.0, False), (True, 0.2, True)])
def test_hand_gradients_equal_autograd(likelihood, hidden, supervised, dropout, missing):
    g = torch.Generator().manual_seed(1)
    K, B, F, D = 3, 7, 20, 4
    cfg = ModelConfig(latent=3, hidden=hidden, likelihood=likelihood, supervised=supervised,
                      dropout=dropout)
    lay = vae.layout(cfg, F, D)
    flat = torch.stack([lay.init(g) for _ in range(K)])
    flat = flat + 0.05 * torch.randn(flat.shape, generator=g)      # non-zero biases too
    p = lay.split(flat)
    x = (torch.rand(K, B, F, generator=g) < 0.3).float()
    ob = (torch.rand(K, B, F, generator=g) < 0.9).float() if missing else None
    eps = torch.randn(K, B, cfg.latent, generator=g)
    drop = None
    if dropout:
        masks = [(torch.rand(K, B, h, generator=g) >= dropout).float() / (1 - dropout)
                 for h in (*hidden, *reversed(hidden))]
        drop = (masks[:len(hidden)], masks[len(hidden):])
    beta = torch.tensor([[0.5], [1.0], [2.0]])
    scale = torch.rand(K, B, generator=g)
    scale[0, -2:] = 0.0                                                # padding rows
    sup_w = torch.tensor([1.0, 20.0, 50.0]) if supervised else None
    lf = lab = cap = None
    if supervised:
        lf = torch.randn(K, B, D, generator=g)
        lf[torch.rand(K, B, D, generator=g) < 0.3] = math.nan
        lf[0, 0, 0] = 0.5
        lf[1, 2, 1] = -0.4
        cap = torch.zeros(K, B, D)                                      # censoring codes
        cap[0, 0, 0] = 1.0                                              # "at least 0.5"
        cap[1, 2, 1] = -1.0                                             # "at most -0.4"
        lab = (lf > 0).float()
        lab[torch.isnan(lf)] = math.nan
    want_t, want_g = _autograd(p, cfg, x, ob, eps, drop, beta, scale, sup_w, lf, lab, cap)
    cells = missing_cells(ob)
    assert (cells is None) == (not missing) and (cells is None or len(cells) == int((ob == 0).sum()))
    got_t, got_g = loss_and_grads(p, cfg, x, cells, eps, drop, beta, scale, sup_w, lf, lab, cap)
    torch.testing.assert_close(got_t, want_t, rtol=1e-5, atol=1e-5)
    assert len(got_g) == len(want_g) == len(lay.entries)
    for (name, shape), a, b in zip(lay.entries, got_g, want_g):
        assert a.shape == (K, *shape), name
        # float32 sums of terms up to |b|.max(): an absolute error in proportion to it
        atol = 1e-6 * max(1.0, float(b.abs().max()))
        torch.testing.assert_close(a, b, rtol=1e-4, atol=atol, msg=name)
    # into reused buffers (as the engine passes them every step): the same numbers, bit for bit,
    # written where asked
    bufs = {name: torch.full_like(t, math.nan) for name, t in p.items()}
    buf_t, buf_g = loss_and_grads(p, cfg, x, cells, eps, drop, beta, scale, sup_w, lf, lab, cap,
                                  out=bufs)
    assert torch.equal(buf_t, got_t)
    for name, a, b in zip(p, buf_g, got_g):
        assert a.data_ptr() == bufs[name].data_ptr(), name
        assert torch.equal(a, b), name
