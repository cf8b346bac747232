"""Folds, leakage, the harness's long-form output and the atomic metrics write (synthetic data)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import Ridge

from helpers import TOY_DRUGS as DRUGS
from helpers import small_table
from helpers import toy_dataset as synthetic
from hivlatent.errors import ConfigError
from hivlatent.evaluation import (
    BasePredictor,
    BaseRepresentation,
    ProbeMethod,
    binary_metrics_from_log_fold,
    distinct_fit_sets,
    evaluate,
    make_folds,
    parse_method,
    per_drug_table,
    summarize,
    to_markdown,
    write_metrics,
)

# ----------------------------------------------------------------------------- folds


@pytest.mark.parametrize("scheme", ["shared", "per-drug"])
def test_folds_partition_known_rows_stratified_without_overlap(scheme):
    ds = synthetic()
    folds = make_folds(ds, n_splits=5, seed=0, scheme=scheme)
    assert len(folds) == 5 * len(DRUGS)
    for j, drug in enumerate(DRUGS):
        mine = [f for f in folds if f.drug == drug]
        known = np.flatnonzero(np.isfinite(ds.labels[:, j]))
        tests = np.concatenate([f.test for f in mine])
        assert np.array_equal(np.sort(tests), known)          # every known row tested once
        y = ds.labels[known, j]
        for f in mine:
            assert np.intersect1d(f.train, f.test).size == 0
            assert np.array_equal(np.union1d(f.train, f.test), known)
            assert np.intersect1d(f.fit_rows, f.test).size == 0
            assert np.array_equal(f.train, np.intersect1d(f.fit_rows, known))
            # stratified: positives in the test fold near their expected share (on the drug's
            # own label: within 1; on the joint pattern of three drugs: within 2)
            expected = y.mean() * f.test.size
            assert abs(ds.labels[f.test, j].sum() - expected) <= (1.0 if scheme == "per-drug"
                                                                  else 2.0)
            assert np.isfinite(ds.labels[f.train, j]).all()
    for k in range(5):
        mine = [f for f in folds if f.fold == k]
        tested = np.unique(np.concatenate([f.test for f in mine]))
        if scheme == "per-drug":          # a drug's fold leaves out only its own test rows
            for f in mine:
                assert np.array_equal(np.union1d(f.fit_rows, f.test), np.arange(ds.n_rows))
        else:                             # one training set per fold, for every drug
            assert all(np.array_equal(f.fit_rows, mine[0].fit_rows) for f in mine)
            assert np.array_equal(np.union1d(mine[0].fit_rows, tested), np.arange(ds.n_rows))
            assert np.intersect1d(mine[0].fit_rows, tested).size == 0


def test_untested_rows_are_never_train_or_test_but_may_be_fit_on():
    ds = synthetic()
    untested = np.flatnonzero(np.isnan(ds.labels[:, 1]))
    assert untested.size > 0
    for f in make_folds(ds, 5, seed=0, scheme="per-drug"):
        if f.drug == "ABC":
            assert np.intersect1d(f.train, untested).size == 0
            assert np.intersect1d(f.test, untested).size == 0
            assert np.isin(untested, f.fit_rows).all()
    shared = make_folds(ds, 5, seed=0)                # in the shared scheme: outside their fold
    for f in shared:
        if f.drug == "ABC":
            assert np.intersect1d(f.train, untested).size == 0
            assert np.intersect1d(f.test, untested).size == 0
            in_fold = np.concatenate([g.test for g in shared if g.fold == f.fold])
            assert np.isin(np.setdiff1d(untested, in_fold), f.fit_rows).all()


def test_shared_folds_do_not_depend_on_the_drugs_asked_for():
    ds = synthetic()
    every = make_folds(ds, 5, seed=0)
    azt = make_folds(ds, 5, seed=0, drugs=["AZT"])
    assert [f.drug for f in azt] == ["AZT"] * 5
    for f, g in zip([f for f in every if f.drug == "AZT"], azt):
        assert np.array_equal(f.test, g.test) and np.array_equal(f.fit_rows, g.fit_rows)


def test_folds_are_seeded():
    ds = synthetic()
    a, b, c = (make_folds(ds, 5, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(x.test, y.test) for x, y in zip(a, b))
    assert not all(np.array_equal(x.test, y.test) for x, y in zip(a, c))


@pytest.mark.parametrize("how", ["dataset", "column", "array"])
def test_grouped_folds_never_split_a_group(how):
    ds = synthetic(groups=True)
    if how == "dataset":
        groups, ids = None, ds.groups
    elif how == "column":
        groups, ids = "patient", ds.meta["patient"].to_numpy()
    else:
        ids = np.arange(ds.n_rows) // 5
        groups = ids
    folds = make_folds(ds, 4, seed=0, groups=groups)
    for f in folds:
        test_groups = np.unique(ids[f.test])
        assert np.intersect1d(ids[f.train], test_groups).size == 0
        assert np.intersect1d(ids[f.fit_rows], test_groups).size == 0
    for drug in DRUGS:  # each group is tested in one fold only
        seen = [set(ids[f.test]) for f in folds if f.drug == drug]
        assert sum(len(s) for s in seen) == len(set().union(*seen))
    again = make_folds(ds, 4, seed=0, groups=groups)
    assert all(np.array_equal(x.test, y.test) for x, y in zip(folds, again))


def test_group_options_and_errors():
    ds = synthetic(groups=True)
    plain = make_folds(ds, 5, seed=0, groups=False)
    assert all(np.array_equal(x.test, y.test)
               for x, y in zip(plain, make_folds(synthetic(), 5, seed=0)))
    with pytest.raises(ConfigError, match="nope"):
        make_folds(ds, 5, groups="nope")
    with pytest.raises(ConfigError):
        make_folds(synthetic(), 5, groups=True)
    with pytest.raises(ConfigError):
        make_folds(ds, 1)


@pytest.mark.parametrize("scheme, n_sets", [("per-drug", 10), ("shared", 5)])
def test_identical_training_sets_are_deduplicated(scheme, n_sets):
    ds = synthetic(same_labels=True, missing=False)
    folds = make_folds(ds, 5, seed=0, scheme=scheme)
    sets, which = distinct_fit_sets(folds)
    # per drug, 3TC and AZT have identical labels, hence identical folds: 3 drugs x 5 folds ->
    # 10 sets; shared folds: one set per fold
    assert len(sets) == n_sets and len(which) == 15
    for f, w in zip(folds, which):
        assert np.array_equal(sets[w], f.fit_rows)


# ----------------------------------------------------------------------------- leakage


class Recording(BaseRepresentation):
    """Identity features; remembers (class-wide: the default fit_many deep-copies instances)
    the ids of every row it was fit on."""

    name = "rec"
    log: list = []

    def fit(self, train):
        self.fit_ids_ = frozenset(train.ids.tolist())
        Recording.log.append(self.fit_ids_)
        return self

    def transform(self, ds):
        assert hasattr(self, "fit_ids_"), "transform before fit"
        return ds.X


class CountingMany(Recording):
    calls: list = []

    def fit_many(self, trains):
        CountingMany.calls.append(len(trains))
        return super().fit_many(trains)


@pytest.mark.slow
@pytest.mark.parametrize("grouped", [False, True])
def test_representation_never_sees_test_rows(grouped):
    ds = synthetic(groups=grouped)
    Recording.log.clear()
    evaluate(ds, [Recording()], folds=4, seed=3)
    log = Recording.log
    folds = make_folds(ds, 4, seed=3)
    assert set(log) == {frozenset(ds.ids[f.fit_rows].tolist()) for f in folds}
    for f in folds:
        fitted = frozenset(ds.ids[f.fit_rows].tolist())
        assert fitted.isdisjoint(ds.ids[f.test].tolist())
        if grouped:
            assert not set(ds.groups[np.isin(ds.ids, list(fitted))]) & set(ds.groups[f.test])


@pytest.mark.slow
@pytest.mark.parametrize("scheme, n_sets", [("per-drug", 10), ("shared", 5)])
def test_fit_many_gets_each_distinct_training_set_once(scheme, n_sets):
    ds = synthetic(same_labels=True, missing=False)
    CountingMany.calls.clear()
    Recording.log.clear()
    evaluate(ds, [CountingMany()], folds=5, seed=0, scheme=scheme)
    assert CountingMany.calls == [n_sets]          # its own fit_many: every set in one call
    assert len(Recording.log) == n_sets == len(set(Recording.log))


class RecordingPredictor(BasePredictor):
    """Predicts P(resistant) from the training prevalence; checks it never predicts its own rows."""

    name = "prev"

    def fit(self, train):
        self.ids_ = set(train.ids.tolist())
        with np.errstate(invalid="ignore"):
            self.p_ = np.nan_to_num(np.nanmean(train.labels, axis=0), nan=0.5)
        return self

    def predict_proba(self, ds):
        assert self.ids_.isdisjoint(ds.ids.tolist()), "predicting rows it was trained on"
        return np.tile(self.p_, (ds.n_rows, 1)) + 1e-3 * ds.X[:, :1]


def test_predictor_is_evaluated_without_leakage_and_only_on_its_metrics():
    ds = synthetic()
    df = evaluate(ds, [RecordingPredictor()], folds=5, seed=0)
    assert set(df["metric"]) == {"auc", "balanced_accuracy", "mcc", "brier", "ece"}
    assert set(df["drug"]) == set(DRUGS)


# ----------------------------------------------------------------------------- harness output


@pytest.mark.slow
def test_long_form_shape_per_fold_and_summary():
    ds = synthetic()
    methods = ["lr", "pca3", "ridge"]
    df = evaluate(ds, methods, folds=3, seed=0)
    assert list(df.columns) == ["method", "drug", "metric", "mean", "std"]
    # lr, pca3: auc, balanced_accuracy, mcc, brier, ece; ridge: auc, BA, MCC (derived from the
    # predicted fold) + r2, mse
    assert len(df) == len(DRUGS) * (5 + 5 + 5)
    assert list(dict.fromkeys(df["method"])) == ["lr", "pca3", "ridge"]
    assert list(dict.fromkeys(df["drug"])) == DRUGS
    assert not df.duplicated(["method", "drug", "metric"]).any()
    pf = evaluate(ds, methods, folds=3, seed=0, per_fold=True)
    assert list(pf.columns) == ["method", "drug", "metric", "fold", "value"]
    assert len(pf) == 3 * len(df)
    pd.testing.assert_frame_equal(summarize(pf), df)
    raw_auc = df.loc[(df.metric == "auc") & df.method.isin(["lr", "ridge"]), "mean"]
    assert (raw_auc > 0.8).all()  # the signal is easy


def test_regression_binary_metrics_are_derived_from_predicted_fold():
    ds = synthetic()
    pf = evaluate(ds, ["raw-ridge"], folds=3, seed=0, per_fold=True)
    f = make_folds(ds, 3, seed=0)[0]
    j = f.drug_index
    pred = Ridge(alpha=1.0).fit(ds.X[f.train], ds.log_fold[f.train, j]).predict(ds.X[f.test])
    want = binary_metrics_from_log_fold(ds.labels[f.test, j], pred, 3.0)
    got = pf[(pf.drug == f.drug) & (pf.fold == 0)].set_index("metric")["value"]
    for metric, value in want.items():
        assert got[metric] == pytest.approx(value)


@pytest.mark.slow
def test_deterministic_for_a_seed_and_string_specs():
    ds = synthetic()
    rf = ProbeMethod("rf10", classifier=RandomForestClassifier(10, random_state=0))
    # n_jobs=1: in this process (a pool gives the same rows: tests/evaluation/test_tasks.py)
    a = evaluate(ds, [rf, "lr", "rf"], folds=3, seed=5, n_jobs=1)
    b = evaluate(ds, [rf, "raw-lr", "rf"], folds=3, seed=5, n_jobs=1)   # raw-lr is lr
    pd.testing.assert_frame_equal(a, b)
    m = parse_method("raw-rf", seed=7, n_jobs=2)
    assert m.name == "rf" and m.classifier.n_estimators == 300 and m.classifier.seed == 7
    assert m.classifier.n_jobs == 2
    assert parse_method("pca-10-lr").name == "pca10" and parse_method("pca10").name == "pca10"
    assert parse_method("raw-rfreg").regressor.n_estimators == 300
    lr = parse_method("lr").classifier                       # tuned inside the training rows
    assert [g["C"] for g in lr.grid][0] == pytest.approx(1e-3) and lr.tune_threshold


def test_bad_methods_are_user_errors():
    ds = synthetic()
    with pytest.raises(ConfigError, match="unknown method"):
        evaluate(ds, ["raw-svm"], folds=3)
    with pytest.raises(ConfigError, match="unique"):
        evaluate(ds, ["raw-lr", "raw-lr"], folds=3)
    with pytest.raises(ConfigError):
        evaluate(ds, [object()], folds=3)


@pytest.mark.slow
def test_progress_callback_reaches_total():
    seen = []
    evaluate(synthetic(), ["raw-lr", "pca3"], folds=3,
             progress=lambda d, t, s: seen.append((d, t)))
    # one step per task: a method and one training set (every drug's fold k, shared scheme)
    assert [d for d, _ in seen] == list(range(1, 7))
    assert seen[-1][0] == seen[-1][1] == 2 * 3


def test_per_drug_table_and_markdown():
    df = evaluate(synthetic(), ["lr", "ridge"], folds=3, seed=0)
    t = per_drug_table(df)
    assert list(t.index) == DRUGS
    assert list(t.columns) == [("lr", "auc"), ("lr", "balanced_accuracy"),
                               ("lr", "mcc"), ("ridge", "auc"),
                               ("ridge", "balanced_accuracy"), ("ridge", "mcc"),
                               ("ridge", "r2")]
    md = to_markdown(t).splitlines()
    assert len(md) == 2 + len(DRUGS) and md[0].startswith("| drug | lr AUC |")
    s = per_drug_table(df, metrics=["auc"], std=True)
    assert " ± " in s.iloc[0, 0]


def test_write_metrics_is_atomic(tmp_path, monkeypatch):
    df = evaluate(synthetic(), ["raw-lr"], folds=3, seed=0)
    path = tmp_path / "out" / "metrics.csv"
    write_metrics(df, path)
    back = pd.read_csv(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_metrics(df.iloc[:1], path)
    assert path.read_bytes() == before          # old file intact
    assert os.listdir(path.parent) == ["metrics.csv"]  # no temporary file left behind


@pytest.mark.slow
def test_sklearn_transformer_plugs_in_as_a_representation():
    from sklearn.decomposition import PCA

    ds = synthetic()
    ours = evaluate(ds, ["pca3"], folds=3, seed=0, per_fold=True)
    theirs = evaluate(ds, [PCA(n_components=3, svd_solver="full")], folds=3, seed=0,
                      per_fold=True)
    assert set(theirs["method"]) == {"pca"}
    np.testing.assert_allclose(theirs["value"].to_numpy(), ours["value"].to_numpy(), atol=1e-9)


@pytest.mark.slow
def test_added_repeats_are_the_later_repeats_of_one_run():
    """Repeats added to an earlier run (first_repeat) are exactly the later repeats of one run:
    the same splits, fold numbers and per-fold numbers (benchmarks/trust.py --first-repeat)."""
    from hivlatent.evaluation.cv import repeated_folds
    from hivlatent.evaluation.run import build_methods

    ds = synthetic()
    whole = repeated_folds(ds, 3, repeats=3, seed=2)
    parts = repeated_folds(ds, 3, repeats=1, seed=2) + repeated_folds(ds, 3, repeats=2, seed=2,
                                                                       first_repeat=1)
    assert [(f.drug, f.fold) for f in whole] == [(f.drug, f.fold) for f in parts]
    assert all(np.array_equal(a.test, b.test) and np.array_equal(a.train, b.train)
               for a, b in zip(whole, parts))
    with pytest.raises(ConfigError, match="first repeat"):
        repeated_folds(ds, 3, repeats=1, first_repeat=-1)
    # per-fold results depend only on the split and the seed (the VAE's up to float rounding
    # of the engine's grouped training)
    methods = build_methods(["lr", "semi2"], epochs=2, members=1, seed=0, extra=None,
                            device="cpu")
    folds2 = repeated_folds(ds, 3, repeats=2, seed=2)
    # n_jobs=1: in this process (a pool gives the same rows: tests/evaluation/test_tasks.py)
    a = evaluate(ds, methods, folds=folds2, seed=0, per_fold=True, n_jobs=1)
    half = folds2[:len(folds2) // 2]
    b = pd.concat([evaluate(ds, methods, folds=half, seed=0, per_fold=True, n_jobs=1),
                   evaluate(ds, methods, folds=repeated_folds(ds, 3, 1, seed=2, first_repeat=1),
                            seed=0, per_fold=True, n_jobs=1)], ignore_index=True)
    key = ["method", "drug", "metric", "fold"]
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key], b[key])
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-4, atol=1e-5)
    lr = (a["method"] == "lr").to_numpy()
    np.testing.assert_array_equal(a["value"][lr], b["value"][lr])


def test_semi_method_computes_a_test_sets_distribution_once(monkeypatch):
    """P, fold, call and interval of the same test rows come from one predictive distribution,
    and equal what the fitted model's own methods give."""
    from hivlatent.evaluation.run import build_methods
    from hivlatent.model import VAEModel

    ds = synthetic(90)
    (semi,) = [m for m in build_methods(["semi2"], epochs=2, members=1, seed=0, extra=None,
                                        device="cpu") if hasattr(m, "predictor")]
    fitted = semi.predictor.fit(ds.subset(np.arange(60)))
    test = ds.subset(np.arange(60, 90))
    calls = []
    original = VAEModel.predict_distribution
    monkeypatch.setattr(VAEModel, "predict_distribution",
                        lambda self, data: calls.append(1) or original(self, data))
    p, lf, r = fitted.predict_proba(test), fitted.predict_log_fold(test), fitted.predict_resistant(test)
    lo, hi, _ = fitted.predict_interval(test, 0.9)
    assert len(calls) == 1
    np.testing.assert_array_equal(p, fitted.fitted.predict_proba(test))
    np.testing.assert_array_equal(lf, fitted.fitted.predict_log_fold(test))
    np.testing.assert_array_equal(r, fitted.fitted.predict_resistant(test))
    assert np.all(lo <= lf + 1e-12) and np.all(lf <= hi + 1e-12)
    fitted.predict_proba(ds.subset(np.arange(60, 90)))       # another data set: computed anew
    assert len(calls) == 5


def test_evaluate_writes_png_figures_and_svg_copies_only_when_asked(tmp_path, run):
    table = small_table(tmp_path)
    for flags, svg in (((), False), (("--svg",), True)):
        out = tmp_path / f"eval-{svg}"
        code, _, err = run("evaluate", "--data", table, "--methods", "lr", "--folds", "2",
                           "--repeats", "1", "--out", out, "--quiet", *flags)
        assert code == 0, err
        assert (out / "metrics.png").is_file() and (out / "metrics.svg").is_file() == svg
        assert "<img src=\"data:image/png;base64," in (out / "report.html").read_text()


def test_the_model_evaluated_alone_is_reported_without_a_comparison(tmp_path, run):
    """With no baseline, HIVdb or lr beside it there is nothing to pair the model with: the
    run still writes its report (it drew a figure of no panels and failed), says so, and the
    comparison's columns for a best method are empty, not -inf."""
    out = tmp_path / "alone"
    code, _, err = run("evaluate", "--data", small_table(tmp_path), "--methods", "semi2",
                       "--epochs", "2", "--members", "1", "--folds", "2", "--repeats", "1",
                       "--out", out, "--quiet")
    assert code == 0, err
    assert "No comparison method ran with the model" in (out / "report.html").read_text()
    assert not (out / "figures" / "differences.png").exists()
    assert (out / "figures" / "reliability.png").is_file()
    comparison = pd.read_csv(out / "comparison.csv")
    assert comparison["best_ba_method"].isna().all() and comparison["best_ba"].isna().all()
    assert not comparison["met_ba"].any()
