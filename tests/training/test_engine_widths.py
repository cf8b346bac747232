"""Models of different widths trained as one group, zero-padded to the widest (training.padding):
each still gives what it gives trained alone, and the padding stays exactly zero."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import diverging, job_variant, toy_jobs, toy_train_data
from hivlatent.config import ModelConfig, TrainConfig
from hivlatent.nn import vae
from hivlatent.training import engine, loop
from hivlatent.training.adam import StackedAdam
from hivlatent.training.engine import Job, train_group, train_many
from hivlatent.training.padding import drop_columns, pad, plan_groups, positions, widest

SHAPES = [((64,), 10), ((128,), 10), ((256,), 10), ((128,), 2), ((128,), 5), ((128,), 20)]


def _shaped(job: Job, hidden, latent, **model) -> Job:
    cfg = ModelConfig(latent=latent, hidden=hidden, supervised=job.model.supervised, **model)
    return Job(cfg, job.train, job.train_idx, job.val_idx, job.name)


@pytest.fixture
def groups_trained(monkeypatch):
    """The groups train_group is called with, as lists of jobs."""
    seen = []
    real = engine.train_group

    def counting(jobs, *args, **kwargs):
        seen.append(list(jobs))
        return real(jobs, *args, **kwargs)

    monkeypatch.setattr(engine, "train_group", counting)
    return seen


def _assert_same(alone, res):
    assert res.layout == alone.layout and res.params.shape == alone.params.shape
    # float32 rounding, amplified over the epochs (2.7e-5 seen on a 2-core machine)
    assert (alone.params - res.params).abs().max() / alone.params.abs().max() < 1e-4
    for col in ("train_loss", "val_loss", "train_kl", "train_sup", "val_sup"):
        np.testing.assert_allclose(res.history[col], alone.history[col], rtol=1e-5)
    assert res.status == alone.status and res.best_epoch == alone.best_epoch


# one combination in the fast tier, every one in the slow tier (each takes 10-20 s)
@pytest.mark.parametrize("supervised, dropout", [
    pytest.param(False, 0.0, marks=pytest.mark.slow), pytest.param(True, 0.0, marks=pytest.mark.slow),
    pytest.param(False, 0.3, marks=pytest.mark.slow), (True, 0.3)])
def test_models_of_different_widths_train_as_one_group_equal_to_alone(supervised, dropout,
                                                                     groups_trained):
    data = toy_train_data()
    base = toy_jobs(range(len(SHAPES)), supervised, epochs=4)
    jobs = [_shaped(j, h, z, dropout=dropout) for j, (h, z) in zip(base, SHAPES)]
    stop = job_variant(jobs[1], lr=3e-2, patience=1, epochs=8, seed=11)        # stops early
    jobs += [stop, job_variant(jobs[2], epochs=2), job_variant(stop, epochs=3)]  # and prefixes
    together = train_many(jobs, data)
    assert len(groups_trained) == 1                     # every width in one group ...
    assert len(groups_trained[0]) == len(SHAPES) + 1    # ... prefixes read off their carriers
    groups_trained.clear()
    for job, res in zip(jobs, together):
        assert res.job is job and len(res.history) <= job.train.epochs
        assert res.layout == vae.layout(job.model, data.X.shape[1], data.log_fold.shape[1])
        _assert_same(train_group([job], data)[0], res)
    assert together[6].status == "early-stopped"


def test_two_layer_widths_and_a_failing_model_in_one_group(groups_trained):
    data = toy_train_data()
    base = toy_jobs(range(4), True, epochs=5)
    shapes = [((8, 4), 3), ((5, 6), 2), ((3, 2), 5), ((8, 6), 1)]
    jobs = [_shaped(j, h, z, dropout=0.2) for j, (h, z) in zip(base, shapes)]
    jobs[3].train = diverging(TrainConfig(epochs=5, batch_size=16, seed=3))   # fails
    together = train_many(jobs, data)
    assert len(groups_trained) == 1
    assert together[3].failed and torch.isfinite(together[3].params).all()
    for job, res in zip(jobs, together):
        _assert_same(train_group([job], data)[0], res)


def test_padded_parameters_stay_exactly_zero(monkeypatch):
    data = toy_train_data()
    base = toy_jobs(range(4), True, epochs=3)
    shapes = [((8, 4), 3), ((5, 6), 2), ((3, 2), 5), ((8, 6), 1)]
    jobs = [_shaped(j, h, z, dropout=0.3) for j, (h, z) in zip(base, shapes)]
    padded = []
    real = loop._flat

    def keep(lay, tensors):
        padded.append(real(lay, tensors))
        return padded[-1]

    monkeypatch.setattr(loop, "_flat", keep)
    train_group(jobs, data)
    (flat,) = padded                                    # (K, P) at the widest shape
    big = widest([j.model for j in jobs])
    n_feat, n_drugs = data.X.shape[1], data.log_fold.shape[1]
    for k, job in enumerate(jobs):
        outside = torch.ones(flat.shape[1], dtype=torch.bool)
        outside[positions(job.model, big, n_feat, n_drugs)] = False
        assert outside.any() or job.model == big
        assert torch.equal(flat[k][outside], torch.zeros(int(outside.sum())))
        assert (flat[k][~outside] != 0).any()


def test_adam_leaves_a_zero_parameter_with_zero_gradient_at_exactly_zero():
    p = torch.zeros(2, 3)
    opt = StackedAdam([p], [1e-3, 1.0])
    g = torch.zeros(2, 3)
    g[0, 0] = 1.0                                       # one live entry among padding
    for _ in range(5):
        opt.step([g], np.array([True, True]))
    assert p[0, 0] != 0 and torch.equal(p.flatten()[1:], torch.zeros(5))


def test_a_padded_model_computes_what_it_computes_alone():
    small = ModelConfig(latent=2, hidden=(5, 3), supervised=True)
    big = ModelConfig(latent=4, hidden=(7, 6), supervised=True)
    lay, wide = vae.layout(small, 9, 2), vae.layout(big, 9, 2)
    own = lay.init(torch.Generator().manual_seed(0))
    pos = positions(small, big, 9, 2)
    padded = pad(own, pos, wide.size)
    assert torch.equal(padded[pos], own) and int((padded != 0).sum()) == int((own != 0).sum())
    # the encoder's [mean | log-variance] halves go to the wide mean and log-variance columns
    w, W = lay.views(own[None])["enc_out.weight"][0], wide.views(padded[None])["enc_out.weight"][0]
    assert torch.equal(W[:3, :2], w[:, :2]) and torch.equal(W[:3, 4:6], w[:, 2:])
    x = (torch.rand(1, 11, 9, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    eps = torch.randn(1, 11, 2, generator=torch.Generator().manual_seed(2))
    p, q = lay.views(own[None]), wide.views(padded[None])
    mean, logvar = vae.encode(p, small, x)
    pmean, plogvar = vae.encode(q, big, x)
    assert torch.equal(pmean[..., 2:], torch.zeros(1, 11, 2)) and torch.equal(plogvar[..., 2:], torch.zeros(1, 11, 2))
    torch.testing.assert_close(pmean[..., :2], mean, rtol=1e-6, atol=1e-7)
    z = mean + torch.exp(0.5 * logvar) * eps
    pz = pmean + torch.exp(0.5 * plogvar) * torch.cat((eps, torch.zeros(1, 11, 2)), -1)
    assert torch.equal(vae.kl_divergence(pmean[..., 2:], plogvar[..., 2:]), torch.zeros(1, 11))
    torch.testing.assert_close(vae.decode(q, big, pz), vae.decode(p, small, z), rtol=1e-6, atol=1e-7)
    for a, b in zip(vae.heads(q, pz), vae.heads(p, z)):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    # dropout columns: each layer's own units first in its wide block (encoder, then decoder)
    assert drop_columns(small, big).tolist() == [0, 1, 2, 3, 4, 7, 8, 9, 13, 14, 15,
                                                 19, 20, 21, 22, 23]


def _fake(hidden, latent, n=1, epochs=100, batch=32, rows=997):
    train = TrainConfig(epochs=epochs, batch_size=batch)
    return [Job(ModelConfig(latent=latent, hidden=hidden), train, np.arange(rows), np.arange(0))] * n


def test_widths_are_grouped_only_when_it_saves_work():
    # the study's latent sizes at one hidden width: one group
    jobs = _fake((128,), 2) + _fake((128,), 5) + _fake((128,), 20)
    assert plan_groups(jobs, 228, 0) == [[0, 1, 2]]
    # many narrow models padded to a very wide one would cost far more than they save
    jobs = _fake((16,), 10, n=64) + _fake((2048,), 10)
    assert sorted(map(len, plan_groups(jobs, 228, 0))) == [1, 64]
    # one shape: one group, as always
    assert plan_groups(_fake((64,), 3, n=5), 228, 0) == [[0, 1, 2, 3, 4]]


def test_the_plain_adam_step_equals_the_fused_kernel(monkeypatch):
    """Where torch lacks its private fused kernel, the plain update takes its place."""
    import hivlatent.training.adam as adam

    if adam._FUSED is None:
        pytest.skip("this torch has no fused Adam kernel to compare with")
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(3, 5, 4, generator=gen)
    grads = [torch.randn(3, 5, 4, generator=gen) for _ in range(6)]
    finals = []
    for fused in (adam._FUSED, None):
        monkeypatch.setattr(adam, "_FUSED", fused)
        p = start.clone()
        opt = StackedAdam([p], [1e-2, 3e-3, 1e-1])
        for i, g in enumerate(grads):
            opt.step([g], np.array([True, i % 2 == 0, True]))
        finals.append(p)
    assert not torch.equal(finals[0], start)
    torch.testing.assert_close(finals[1], finals[0], rtol=1e-5, atol=1e-6)
