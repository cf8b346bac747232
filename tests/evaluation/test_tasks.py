"""The evaluation as independent tasks: the same per-fold rows one after another in this process,
on local worker processes and on a Dask cluster of several worker processes on loopback; the
faster histogram gradient boosting gives the same models bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from helpers import TOY_DRUGS as DRUGS
from helpers import toy_dataset as synthetic
from hivlatent.errors import ConfigError
from hivlatent.evaluation import ProbeMethod, evaluate
from hivlatent.evaluation.baselines import FewBinsHGBClassifier, FewBinsHGBRegressor
from hivlatent.evaluation.cv import distinct_fit_sets, make_folds
from hivlatent.evaluation.run import build_methods
from hivlatent.evaluation.tasks import connect, plan


def _methods() -> list:
    """A tuned baseline, gradient boosting (OpenMP threads inside: a small one, for speed), a
    PCA probe and a small semi model with its latent probe (two methods sharing one fit,
    trained on the batched engine)."""
    boost = ProbeMethod("hgb-small", classifier=HistGradientBoostingClassifier(
        max_iter=15, random_state=0))
    return ["lr", boost, "pca3"] + build_methods(["semi2"], epochs=2, members=2, seed=0,
                                                 extra=None, device="cpu")


@pytest.fixture(scope="module")
def local():
    ds = synthetic(90)
    collect: dict = {}
    rows = evaluate(ds, _methods(), folds=3, seed=1, per_fold=True, n_jobs=1, collect=collect)
    return ds, rows, collect


def test_tasks_group_methods_that_share_a_fit_and_chunk_the_engine():
    ds = synthetic(90)
    folds = make_folds(ds, 3, seed=1, scheme="per-drug")
    sets, which = distinct_fit_sets(folds)
    from hivlatent.evaluation.harness import resolve_method

    methods = [resolve_method(m) for m in _methods()]
    tasks = plan(methods, folds, sets, which)
    names = [tuple(m.name for m in t.methods) for t in tasks]
    # lr, hgb-small, pca3: one task per training set; the semi latent and heads together, 5
    # sets each
    assert names.count(("lr",)) == len(sets) == 9
    assert names.count(("semi2-latent", "semi2-heads")) == 2
    semi = [t for t in tasks if len(t.methods) == 2]
    assert [len(t.fit_sets) for t in semi] == [5, 4]
    for t in tasks:                         # every fold of a task trains on one of its sets
        assert all(np.array_equal(t.fit_sets[w], f.fit_rows) for f, w in zip(t.folds, t.which))
    assert sorted(f.fold + 10 * DRUGS.index(f.drug) for t in semi for f in t.folds) == \
        sorted(f.fold + 10 * DRUGS.index(f.drug) for f in folds)


@pytest.mark.slow
def test_local_worker_processes_give_the_same_rows(local):
    ds, rows, collect = local
    assert set(rows["method"]) == {"lr", "hgb-small", "pca3", "semi2-latent", "semi2-heads"}
    again: dict = {}
    timings: list = []
    parallel = evaluate(ds, _methods(), folds=3, seed=1, per_fold=True, n_jobs=2,
                        collect=again, timings=timings)
    pd.testing.assert_frame_equal(parallel, rows)
    for drug in DRUGS:
        for (y1, p1), (y2, p2) in zip(collect["semi2-heads"][drug], again["semi2-heads"][drug]):
            np.testing.assert_array_equal(y1, y2)
            np.testing.assert_array_equal(p1, p2)
    assert len({t["process"] for t in timings}) >= 2      # the work was spread
    assert sum(t["folds"] for t in timings if t["methods"] == "lr") == 3 * len(DRUGS)


@pytest.mark.slow
def test_dask_cluster_gives_the_same_rows(local):
    from distributed import LocalCluster

    ds, rows, _ = local
    with LocalCluster(n_workers=3, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        timings: list = []
        remote = evaluate(ds, _methods(), folds=3, seed=1, per_fold=True,
                          scheduler=cluster.scheduler_address, timings=timings)
        workers = {w.split("//")[-1].split(":")[0] for w in cluster.scheduler_info["workers"]}
    pd.testing.assert_frame_equal(remote, rows)
    assert workers == {"127.0.0.1"}
    assert len({t["process"] for t in timings}) >= 2


def test_an_unreachable_scheduler_is_a_one_line_user_error():
    import importlib.util

    # without the `distributed` extra (the README's test install) the error names the extra
    expected = ("Dask scheduler 'tcp://127.0.0.1:9'.*no answer"
                if importlib.util.find_spec("distributed") else
                r"--scheduler needs Dask distributed: pip install 'hivlatent\[distributed\]'")
    with pytest.raises(ConfigError, match=expected) as err:
        connect("tcp://127.0.0.1:9", timeout="1s")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("values", [2, 5])
def test_few_bins_gradient_boosting_is_bit_identical(values):
    rng = np.random.default_rng(values)
    X = rng.integers(0, values, (200, 10)).astype(float)
    y = X[:, 0] - X[:, 1] + rng.normal(0, 0.5, 200)
    kw = {"learning_rate": 0.1, "max_iter": 30, "early_stopping": True, "n_iter_no_change": 5,
          "random_state": 0, "max_leaf_nodes": 8, "min_samples_leaf": 3}
    with threadpool_limits(1):             # OpenMP threads spin on a busy machine
        a = HistGradientBoostingRegressor(**kw).fit(X, y)
        b = FewBinsHGBRegressor(**kw).fit(X, y)
        c = HistGradientBoostingClassifier(**kw).fit(X, y > 0)
        d = FewBinsHGBClassifier(**kw).fit(X, y > 0)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert b.max_bins == 255 and b._bin_mapper.n_bins_non_missing_.max() == values
    np.testing.assert_array_equal(c.predict_proba(X), d.predict_proba(X))
    assert c.n_iter_ == d.n_iter_


def test_forest_halving_grows_the_same_trees_and_finds_the_grid_points_optimum():
    """Successive halving of the forest grids: a forest grown to 20 trees and then on to 60
    (warm start) is the 60-tree forest bit for bit, and here the halving chooses the grid
    point the exhaustive search chooses, with the same forest."""
    from sklearn.ensemble import RandomForestRegressor

    from hivlatent.evaluation.tuning import OOBForestClassifier, OOBForestRegressor

    rng = np.random.default_rng(3)
    X = (rng.random((200, 15)) < 0.3).astype(float)
    y = 2 * X[:, 0] - X[:, 1] + X[:, 2] * X[:, 3] + rng.normal(0, 0.5, 200)
    whole = RandomForestRegressor(60, max_features=0.5, oob_score=True, random_state=0).fit(X, y)
    grown = RandomForestRegressor(20, max_features=0.5, oob_score=True, random_state=0,
                                  warm_start=True).fit(X, y)
    grown.set_params(n_estimators=60).fit(X, y)
    np.testing.assert_array_equal(whole.predict(X), grown.predict(X))
    np.testing.assert_array_equal(whole.oob_prediction_, grown.oob_prediction_)
    for cls, target in ((OOBForestRegressor, y), (OOBForestClassifier, y > 0.5)):
        every = cls(n_estimators=60, halving_trees=None).fit(X, target)
        halved = cls(n_estimators=60, halving_trees=20).fit(X, target)
        assert halved.params_ == every.params_
        assert halved.estimator_.n_estimators == 60 and not halved.estimator_.warm_start
        np.testing.assert_array_equal(halved.predict(X), every.predict(X))


def test_halving_keeps_a_share_rounded_up_or_a_count():
    from hivlatent.evaluation.tuning import kept_count

    assert [kept_count(4, 1 / 3), kept_count(6, 1 / 3), kept_count(6, 0.5)] == [2, 2, 3]
    assert [kept_count(4, 0.01), kept_count(6, 1), kept_count(3, 5)] == [1, 1, 3]


def test_racing_the_inner_folds_runs_only_the_kept_grid_points_after_the_first():
    """The race of a tuned baseline's inner CV: every grid point on the first inner fold, the
    kept share (the least loss on that fold, ties to the earlier point) on the others; without
    a race the search is the exhaustive one, and here both choose the same point."""
    from sklearn.linear_model import LogisticRegression, Ridge

    from hivlatent.evaluation.tuning import TunedClassifier, TunedRegressor, raced

    assert raced([0.3, 0.1, 0.2, 0.1], 0.5) == [1, 3]          # ties: the earlier point first
    assert raced([0.3, 0.1, 0.2, 0.4, 0.5, 0.6], 1 / 3) == [1, 2]
    assert raced([0.3, 0.1, 0.2], 0.1) == [1, 2]                 # never fewer than 2
    rng = np.random.default_rng(5)
    X = (rng.random((240, 12)) < 0.3).astype(float)
    score = 2 * X[:, 0] - X[:, 1] + rng.normal(0, 0.5, 240)
    calls = []

    def logistic(C):
        calls.append(C)
        return LogisticRegression(C=C)

    grid = [{"C": c} for c in (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)]
    every = TunedClassifier(logistic, grid, inner=3, seed=0).fit(X, score > 0)
    assert len(calls) == 6 * 3 + 1
    calls.clear()
    racing = TunedClassifier(logistic, grid, inner=3, seed=0, race=0.5).fit(X, score > 0)
    assert len(calls) == 6 + 3 * 2 + 1 and racing.params_ == every.params_
    np.testing.assert_array_equal(racing.predict_proba(X), every.predict_proba(X))
    assert racing.threshold_ == every.threshold_
    ridge = [{"alpha": a} for a in (0.01, 1.0, 100.0, 1e4)]
    a = TunedRegressor(lambda alpha: Ridge(alpha=alpha), ridge, inner=3, seed=0).fit(X, score)
    b = TunedRegressor(lambda alpha: Ridge(alpha=alpha), ridge, inner=3, seed=0,
                       race=0.5).fit(X, score)
    assert a.params_ == b.params_
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_the_l1_and_elastic_net_baselines_do_not_depend_on_numpy_s_global_random_state():
    """liblinear and saga shuffle the rows; unseeded, the l1 baseline's numbers differed between
    two evaluations of the same folds."""
    from hivlatent.evaluation.baselines import estimator

    rng = np.random.default_rng(2)
    X = (rng.random((150, 10)) < 0.3).astype(float)
    y = (X[:, 0] + X[:, 1] + rng.normal(0, 0.4, 150) > 0.8).astype(int)
    for kind in ("l1", "enet"):
        np.random.seed(1)
        a = estimator(kind, seed=0).fit(X, y).predict_proba(X)
        np.random.seed(2)
        b = estimator(kind, seed=0).fit(X, y).predict_proba(X)
        np.testing.assert_array_equal(a, b)
