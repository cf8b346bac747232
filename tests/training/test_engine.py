"""The training engine: exactness of grouped training, loss bookkeeping, failure handling."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch

from helpers import diverging, job_variant, toy_jobs, toy_train_data
from hivlatent.config import ModelConfig, TrainConfig
from hivlatent.nn import vae
from hivlatent.nn.gradients import missing_cells
from hivlatent.training.engine import (
    Job,
    MissingCells,
    TrainData,
    shared_paths,
    train_group,
    train_many,
)


@pytest.mark.parametrize("supervised", [False, True])
@pytest.mark.parametrize("K", [1, 4, pytest.param(16, marks=pytest.mark.slow)])   # 16: a minute
def test_group_of_k_equals_models_trained_alone(K, supervised):
    data = toy_train_data()
    jobs = toy_jobs(range(K), supervised)
    grouped = train_many(jobs, data)
    for job, res in zip(jobs, grouped):
        alone = train_many([job], data)[0]
        assert alone.params.shape == res.params.shape
        rel = (alone.params - res.params).abs().max() / alone.params.abs().max()
        assert rel < 1e-5
        np.testing.assert_allclose(alone.history["train_loss"], res.history["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(alone.history["val_loss"], res.history["val_loss"], rtol=1e-5)
        assert len(res.history) == job.train.epochs


def test_group_with_mixed_learning_rates_and_steps_per_epoch_equals_alone():
    # models whose Adam step counts drift apart (5 or 7 steps per epoch) and whose learning
    # rates differ are updated in separate classes; each still matches its training alone
    data = toy_train_data()
    jobs = toy_jobs(range(6), True)
    for k, job in enumerate(jobs):
        job.train_idx = job.train_idx[: (80 if k % 2 else 97)]
        job.train = TrainConfig(**{**job.train.__dict__, "lr": (3e-3, 1e-2, 3e-3)[k % 3]})
    grouped = train_many(jobs, data)
    for job, res in zip(jobs, grouped):
        alone = train_many([job], data)[0]
        assert (alone.params - res.params).abs().max() / alone.params.abs().max() < 1e-5
        np.testing.assert_allclose(alone.history["train_loss"], res.history["train_loss"], rtol=1e-5)


def test_groups_in_worker_processes_equal_groups_in_this_process():
    data = toy_train_data()
    observed = torch.ones_like(data.X)
    observed[::7, 2] = 0.0                                       # a few cells not sequenced
    data = TrainData(data.X, observed, data.log_fold, data.labels)
    jobs = toy_jobs(range(4), False)
    # other widths join the first group (zero-padded); another depth is a group of its own
    jobs += [Job(ModelConfig(latent=2, hidden=(6,)), j.train, j.train_idx, j.val_idx) for j in toy_jobs(range(2), False)]
    jobs += [Job(ModelConfig(latent=2, hidden=(6, 4)), j.train, j.train_idx, j.val_idx) for j in toy_jobs(range(3), False)]
    here = train_many(jobs, data, workers=1)
    tensors = [data.X, data.observed, data.log_fold, data.labels]
    where = [t.data_ptr() for t in tensors]
    pooled = train_many(jobs, data, workers=2)                   # two groups, two processes
    for a, b in zip(here, pooled):
        assert a.job.model == b.job.model and a.params.shape == b.params.shape
        assert (a.params - b.params).abs().max() / a.params.abs().max() < 1e-5
        np.testing.assert_allclose(a.history["val_loss"], b.history["val_loss"], rtol=1e-5)
    # the workers got a copy: sending the caller's tensors would have moved them into shared
    # memory from the pool's thread while this process trained on them
    assert [t.data_ptr() for t in tensors] == where
    assert not any(t.is_shared() for t in tensors)


def _fails_here_sleeps_there(jobs, data, on_epoch, prefixes):
    """A stand-in for train_group: fails in the calling process, takes a while in a worker."""
    import multiprocessing
    import time

    if multiprocessing.current_process().name == "MainProcess":
        raise ValueError("the group in this process failed")
    time.sleep(0.3)
    return [None] * len(jobs)


def test_a_failed_group_stops_the_queue_and_its_error_reaches_the_caller(caplog):
    from hivlatent.training.workers import run_groups

    tasks = [(toy_jobs([s], False), [[]]) for s in range(4)]
    with caplog.at_level(logging.ERROR):
        with pytest.raises(ValueError, match="the group in this process failed"):
            run_groups(tasks, toy_train_data(), _fails_here_sleeps_there, 2)
    # the worker that finishes after the failure is handed nothing (before: a task submitted
    # to the pool being shut down, logged as "exception calling callback")
    assert not [r for r in caplog.records if r.name == "concurrent.futures"], caplog.text


def test_models_differ_by_seed_and_repeat_exactly():
    data = toy_train_data()
    a = train_many(toy_jobs([0, 2], False), data)
    b = train_many(toy_jobs([0, 2], False), data)
    assert torch.equal(a[0].params, b[0].params)                # deterministic on CPU
    assert not torch.allclose(a[0].params, a[1].params)         # own initialisation and data order


def test_loss_functions_hand_computed():
    cfg = ModelConfig(latent=1, hidden=(1,))
    logits = torch.zeros(1, 1, 2)
    x = torch.tensor([[[1.0, 0.0]]])
    assert math.isclose(float(vae.reconstruction_loss(cfg, logits, x)), 2 * math.log(2), rel_tol=1e-6)
    mse = ModelConfig(latent=1, hidden=(1,), likelihood="mse")
    assert math.isclose(float(vae.reconstruction_loss(mse, logits, x)), 0.25 + 0.25, rel_tol=1e-6)
    observed = torch.tensor([[[1.0, 0.0]]])                     # second position not sequenced
    assert math.isclose(float(vae.reconstruction_loss(cfg, logits, x, observed)), math.log(2), rel_tol=1e-6)
    # KL(N(1, e^0) || N(0, 1)) = 0.5 * (1 + 1 - 1 - 0) = 0.5 per dimension, summed
    kl = vae.kl_divergence(torch.tensor([[[1.0, 0.0]]]), torch.zeros(1, 1, 2))
    assert math.isclose(float(kl), 0.5, rel_tol=1e-6)
    # supervised: missing values are masked, not read as 0
    sup = vae.supervised_loss(torch.tensor([[[1.0, 5.0]]]), torch.zeros(1, 1, 2),
                              torch.tensor([[[0.0, float("nan")]]]), torch.tensor([[[1.0, float("nan")]]]))
    assert math.isclose(float(sup), 1.0 + math.log(2), rel_tol=1e-6)


def test_values_at_the_reporting_limit_are_censored():
    # log10 fold 2.3 is the drug's cap: a prediction above it is no error, below it is
    caps = vae.fold_caps(np.array([[2.3, np.nan], [1.0, np.nan]]))
    assert caps[0] == pytest.approx(2.3) and math.isinf(caps[1])       # a drug without values
    pred = torch.tensor([[[2.8], [1.5], [1.5]]])
    truth = torch.tensor([[[2.3], [2.3], [1.0]]])
    no_label = torch.full_like(truth, float("nan"))
    codes = vae.censor_codes(truth, caps[:1])
    assert codes.flatten().tolist() == [1.0, 1.0, 0.0]
    sup = vae.supervised_loss(pred, torch.zeros_like(pred), truth, no_label, codes)
    np.testing.assert_allclose(sup[0].numpy(), [0.0, 0.8 ** 2, 0.5 ** 2], rtol=1e-6)
    plain = vae.supervised_loss(pred, torch.zeros_like(pred), truth, no_label)   # without a cap
    np.testing.assert_allclose(plain[0].numpy(), [0.5 ** 2, 0.8 ** 2, 0.5 ** 2], rtol=1e-6)


def test_marked_bounds_cost_nothing_on_their_censored_side():
    # FoldMatch marks: "at least 1.0" (1), "at most 0.2" (-1), exact (0)
    pred = torch.tensor([[[1.6], [0.4], [0.0], [-0.3], [0.5]]])
    truth = torch.tensor([[[1.0], [1.0], [0.2], [0.2], [0.2]]])
    codes = torch.tensor([[[1.0], [1.0], [-1.0], [-1.0], [0.0]]])
    no_label = torch.full_like(truth, float("nan"))
    sup = vae.supervised_loss(pred, torch.zeros_like(pred), truth, no_label, codes)
    np.testing.assert_allclose(sup[0].numpy(), [0.0, 0.6 ** 2, 0.0, 0.0, 0.3 ** 2], atol=1e-6)


def test_history_is_per_sample_and_validation_is_recomputable():
    data = toy_train_data()
    job = toy_jobs([0], False, epochs=1)[0]
    res = train_many([job], data)[0]
    # validation loss of the returned weights, recomputed by hand with the fixed validation noise
    p = res.layout.views(res.params[None])
    cfg = job.model
    g = torch.Generator().manual_seed(job.train.seed + 7919)
    eps = torch.randn(len(job.val_idx), cfg.latent, generator=g)[None]
    x = data.X[job.val_idx][None]
    mean, logvar = vae.encode(p, cfg, x)
    z = mean + torch.exp(0.5 * logvar) * eps
    rec = vae.reconstruction_loss(cfg, vae.decode(p, cfg, z), x).mean()
    kl = vae.kl_divergence(mean, logvar).mean()
    h = res.history.iloc[-1]
    assert math.isclose(h["val_recon"], float(rec), rel_tol=1e-5)
    assert math.isclose(h["val_kl"], float(kl), rel_tol=1e-5)
    assert math.isclose(h["val_loss"], float(rec + kl), rel_tol=1e-5)
    assert math.isclose(h["train_loss"], h["train_recon"] + h["train_kl"], rel_tol=1e-5)


def test_exploding_loss_stops_that_model_only():
    data = toy_train_data()
    jobs = toy_jobs([0, 1], False, epochs=5)
    jobs[0].train = diverging(TrainConfig(epochs=5, batch_size=16, seed=0))
    res = train_group(jobs, data)
    assert res[0].failed and "epoch" in res[0].status
    assert torch.isfinite(res[0].params).all()                  # last good weights kept
    assert not res[1].failed and len(res[1].history) == jobs[1].train.epochs


def test_early_stopping_restores_best_epoch():
    data = toy_train_data()
    job = toy_jobs([0], False, epochs=60)[0]
    job.train = TrainConfig(epochs=60, batch_size=16, seed=0, lr=3e-2, patience=3)
    res = train_many([job], data)[0]
    assert res.status == "early-stopped"
    assert len(res.history) < 60
    assert res.best_epoch == len(res.history) - 3


def test_dropout_trains_and_groups_exactly():
    data = toy_train_data()
    jobs = toy_jobs([0, 1], False, epochs=2)
    for j in jobs:
        j.model = ModelConfig(latent=3, hidden=(8, 4), dropout=0.3)
    grouped = train_many(jobs, data)
    alone = train_many([jobs[1]], data)[0]
    assert all(np.isfinite(r.history["train_loss"]).all() for r in grouped)
    assert (alone.params - grouped[1].params).abs().max() / alone.params.abs().max() < 1e-5


@pytest.mark.parametrize("supervised", [False, True])
def test_jobs_differing_only_in_epochs_share_one_training_and_equal_training_alone(supervised):
    data = toy_train_data()
    base = toy_jobs([0], supervised, epochs=6)[0]
    jobs = [job_variant(base, epochs=e) for e in (2, 6, 4, 4)] + toy_jobs([1], supervised, epochs=3)
    carriers, riders = shared_paths(jobs)
    assert sorted(carriers) == [1, 4] and sorted(riders[carriers.index(1)]) == [0, 2, 3]
    together = train_many(jobs, data)
    for job, res in zip(jobs, together):
        alone = train_group([job], data)[0]                      # no sharing: trained for real
        assert res.job is job and len(res.history) == job.train.epochs == len(alone.history)
        assert (alone.params - res.params).abs().max() / alone.params.abs().max() < 1e-5
        np.testing.assert_allclose(alone.history["val_loss"], res.history["val_loss"], rtol=1e-5)
        assert res.status == alone.status


def test_shared_paths_keep_each_prefix_own_early_stopping_and_failure():
    data = toy_train_data()
    stop = toy_jobs([0], False, epochs=60)[0]
    stop = job_variant(stop, lr=3e-2, patience=3)                  # stops early, as above
    boom = job_variant(toy_jobs([1], False)[0], epochs=5)
    boom.train = diverging(boom.train)                          # diverges within a few epochs
    jobs = [job_variant(stop, epochs=e) for e in (60, 2, 40)] + [job_variant(boom, epochs=e) for e in (5, 1)]
    together = train_many(jobs, data)
    for job, res in zip(jobs, together):
        alone = train_group([job], data)[0]
        assert res.status == alone.status and res.best_epoch == alone.best_epoch
        assert len(res.history) == len(alone.history)
        assert torch.isfinite(res.params).all()
        assert (alone.params - res.params).abs().max() / alone.params.abs().max() < 1e-5
    assert together[0].status == "early-stopped" and together[3].failed


def test_flushing_denormals_leaves_the_models_the_same_within_rounding():
    """The study trains with denormals flushed to zero (TrainData.flush_denormal): only values
    below 1.2e-38 change, so the models equal the ones trained without, within float rounding,
    and repeat exactly."""
    from dataclasses import replace

    data = toy_train_data()
    jobs = toy_jobs(range(2), True)
    plain = train_many(jobs, data)
    flushed = train_many(jobs, replace(data, flush_denormal=True))
    again = train_many(jobs, replace(data, flush_denormal=True))
    for a, b, c in zip(plain, flushed, again):
        assert (a.params - b.params).abs().max() / a.params.abs().max() < 1e-5
        assert torch.equal(b.params, c.params)
    assert torch.tensor(1e-40) * 1.0 > 0                 # switched off again afterwards


def _with_missing(data: TrainData, seed=3) -> TrainData:
    """``data`` with a few unobserved cells, in a third of the rows (as in the real data)."""
    rng = np.random.default_rng(seed)
    observed = np.ones(tuple(data.X.shape), dtype=np.float32)
    rows = rng.choice(len(observed), len(observed) // 3, replace=False)
    for r in rows:
        observed[r, rng.choice(observed.shape[1], rng.integers(1, 4), replace=False)] = 0.0
    return TrainData(data.X, torch.tensor(observed), data.log_fold, data.labels)


def test_missing_cells_of_a_batch_are_the_dense_masks_zeros():
    data = _with_missing(toy_train_data())
    cells = MissingCells(data.observed)
    rng = np.random.default_rng(0)
    for _ in range(20):
        rows = rng.integers(0, len(data.X), (5, 16))
        rows[0, -3:] = 0                                          # padding rows, as _pad makes
        want = missing_cells(data.observed[torch.as_tensor(rows)])
        got = cells.batch(rows, "cpu")
        assert want is not None and torch.equal(got, want)
    full = np.flatnonzero(data.observed.numpy().min(1) == 1)
    assert cells.batch(full[:32].reshape(2, 16), "cpu") is None    # no unobserved cell: None
    with pytest.raises(ValueError, match="0 .unobserved. or 1"):  # a weight is not a mask
        MissingCells(torch.full((3, 4), 0.5))


@pytest.mark.parametrize("supervised", [False, True])
def test_unobserved_cells_group_equals_alone_and_are_left_out(supervised):
    data = _with_missing(toy_train_data())
    jobs = toy_jobs(range(4), supervised)
    grouped = train_many(jobs, data)
    for job, res in zip(jobs, grouped):
        alone = train_many([job], data)[0]
        rel = (alone.params - res.params).abs().max() / alone.params.abs().max()
        assert rel < 1e-5
    # the mask is applied (its arithmetic is checked against autograd in test_gradients.py)
    ignored = TrainData(data.X, None, data.log_fold, data.labels)
    assert not torch.equal(train_many(jobs[:1], ignored)[0].params, grouped[0].params)
