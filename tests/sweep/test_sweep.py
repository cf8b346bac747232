"""hivlatent sweep: search-space files, objectives, resume, pruning, retraining the best trial,
several workers on one storage and a worker killed in the middle of a trial, on SQLite and
against a real PostgreSQL server.

The server's URL comes from HIVLATENT_TEST_POSTGRES_URL (CI: postgresql+psycopg2://postgres@
127.0.0.1:55432/postgres). In CI (CI=true) a missing URL is a failure, never a skip; locally the
PostgreSQL tests are skipped. Every PostgreSQL test uses a study name of its own, so reruns never
collide."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from hivlatent.errors import ConfigError
from hivlatent.sweep import (
    SweepConfig,
    budget,
    cv_splits,
    evaluate_trials,
    open_storage,
    retrain_best,
    run_sweep,
)
from hivlatent.sweep.space import (
    DEFAULT_SPACE,
    configs,
    hidden_widths,
    load_space,
    parse_space,
    space_from_dict,
    space_to_dict,
)

#: a tiny space: every trial trains for 2 epochs on small networks
TINY = {"epochs": 2, "hidden": [8, 16], "latent": {"type": "int", "low": 2, "high": 4},
        "depth": 1, "batch_size": [64]}
FAST = dict(heartbeat_interval=1, grace_period=2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one torch thread is faster, and the 2 cores are shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def small(data_dir):
    from hivlatent.data import load_dataset

    ds = load_dataset("nrti-1246")
    return ds.subset(np.arange(150))


def tiny_config(**kw) -> SweepConfig:
    base = dict(space=parse_space(TINY, "tiny"), **FAST)
    base.update(kw)
    return SweepConfig(**base)


def all_trials(url: str, study: str):
    storage = open_storage(url, None, None)
    return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)


# ------------------------------------------------------------------------------ space

def test_default_space_covers_the_model_hyperparameters():
    assert {"model", "latent", "hidden", "depth", "beta", "sup_weight", "lr", "batch_size",
            "epochs", "dropout"} <= set(DEFAULT_SPACE)
    assert space_from_dict(space_to_dict(DEFAULT_SPACE)) == DEFAULT_SPACE
    assert hidden_widths(256, 3, 10) == (256, 128, 64)
    assert hidden_widths(32, 3, 10) == (32, 16, 10)
    mc, tc = configs({"model": "semi", "latent": 4, "hidden": 64, "depth": 2, "beta": 0.5,
                      "sup_weight": 3.0, "lr": 1e-3, "batch_size": 16, "epochs": 7}, seed=11)
    assert mc.supervised and mc.hidden == (64, 32) and mc.latent == 4
    assert (tc.sup_weight, tc.beta, tc.epochs, tc.batch_size, tc.seed) == (3.0, 0.5, 7, 16, 11)
    mc, tc = configs({"model": "vae", "sup_weight": 3.0})
    assert not mc.supervised and tc.sup_weight == 0.0


def test_space_files_override_the_default(tmp_path):
    y = tmp_path / "space.yaml"
    y.write_text("latent: {type: int, low: 2, high: 8, log: true}\n"
                 "batch_size: [32, 64]\nmodel: semi\nlr: {type: float, low: 1.0e-4, high: 1.0e-3}\n")
    s = load_space(y)
    assert s["latent"].describe() == "int 2..8, log"
    assert s["batch_size"].choices == (32, 64)
    assert s["model"].type == "fixed" and s["model"].value == "semi"
    assert s["beta"] == DEFAULT_SPACE["beta"]            # untouched keys keep the default
    t = tmp_path / "space.toml"
    t.write_text('[epochs]\ntype = "int"\nlow = 10\nhigh = 50\nstep = 10\n'
                 '[dropout]\ntype = "float"\nlow = 0.0\nhigh = 0.2\n')
    s = load_space(t)
    assert s["epochs"].describe() == "int 10..50, step 10"
    assert s["dropout"].type == "float" and s["dropout"].high == 0.2


@pytest.mark.parametrize("text, needle", [
    ("latnt: {type: int, low: 1, high: 3}", "'latnt': unknown parameter; expected one of model, latent"),
    ("latent: {type: integer, low: 1, high: 3}", "latent: 'type' must be one of int, categorical"),
    ("latent: {type: float, low: 1, high: 3}", "latent: 'type' must be int or categorical"),
    ("latent: {type: int, low: 8, high: 2}", "latent: expected 'low' <= 'high', got low=8 high=2"),
    ("latent: {type: int, high: 2}", "latent: type int needs 'low'"),
    ("latent: {type: int, low: 0, high: 4}", "latent: 'low' must be an integer >= 1, got 0"),
    ("lr: {type: float, low: 0.0, high: 0.1, log: true}", "lr: 'low' must be a number > 0"),
    ("beta: {type: float, low: 0.0, high: 2.0, log: true}", "beta: a log scale needs 'low' > 0"),
    ("beta: {type: float, low: 0.1, high: 2.0, log: maybe}", "beta: 'log' must be true or false"),
    ("batch_size: {type: categorical}", "batch_size: 'choices' must be a non-empty list"),
    ("batch_size: {type: categorical, choices: [32, -1]}", "batch_size: each choice must be an integer >= 1, got -1"),
    ("model: {type: categorical, choices: [vae, gan]}", "model: each choice must be 'vae' or 'semi', got 'gan'"),
    ("dropout: 1.5", "dropout: the fixed value must be a number with 0 <= p < 1, got 1.5"),
    ("epochs: {type: int, low: 1, high: 9, lo: 3}", "epochs: unknown field 'lo'"),
    ("- latent\n- beta", "expected a mapping of parameter names"),
    ("latent: {type: int, low: 1, high: [", "not valid YAML"),
])
def test_bad_space_file_gives_one_line_naming_the_key(tmp_path, text, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(text + "\n")
    with pytest.raises(ConfigError) as err:
        load_space(f)
    message = str(err.value)
    assert needle in message and str(f) in message
    assert "\n" not in message


def test_bad_toml_and_missing_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[latent]\ntype = "int"\nlow = 1\nhigh = \n')
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        load_space(f)
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read the file"):
        load_space(tmp_path / "nope.yaml")


def test_objectives_and_their_space_rules(tmp_path):
    with pytest.raises(ConfigError, match="objective 'auc': expected one of elbo, probe_auc, heads_bacc"):
        SweepConfig(objectives=("auc",))
    assert SweepConfig(objectives=("probe-auc",)).objectives == ("probe_auc",)
    space, _ = SweepConfig(objectives=("heads_bacc",)).resolved_space()
    assert space["model"].value == "semi"
    f = tmp_path / "s.yaml"
    f.write_text("model: [vae, semi]\n")
    with pytest.raises(ConfigError, match="model: objective heads_bacc needs the semi-supervised"):
        SweepConfig(objectives=("heads_bacc",), space=str(f)).resolved_space()
    f.write_text("likelihood: [bernoulli, mse]\n")
    with pytest.raises(ConfigError, match="likelihood: the elbo objective"):
        SweepConfig(space=str(f)).resolved_space()
    with pytest.raises(ConfigError, match="pruning needs a single objective"):
        SweepConfig(objectives=("elbo", "probe_auc"), prune=True)
    assert SweepConfig().pruning and not SweepConfig(objectives=("probe_auc",)).pruning


# ------------------------------------------------------------------------------ objectives

def test_evaluate_trials_is_cross_validated_and_deterministic(small):
    splits = cv_splits(small, 3, 0)
    assert sorted(np.concatenate([te for _, te in splits]).tolist()) == list(range(small.n_rows))
    for tr, te in splits:
        assert not set(tr) & set(te)
    points = [{"model": "vae", "latent": 2, "hidden": 8, "depth": 1, "epochs": 3, "batch_size": 64},
              {"model": "semi", "latent": 3, "hidden": 16, "depth": 2, "epochs": 2, "batch_size": 64,
               "sup_weight": 5.0}]
    objectives = ("elbo", "probe_auc", "heads_bacc")
    a, b = evaluate_trials(small, points, [0, 1000], splits, objectives)
    assert a.error is not None and "heads_bacc" in a.error       # a plain VAE has no heads
    assert len(a.curve) == 3 and len(b.curve) == 2
    assert b.error is None
    assert 0 < b.values["elbo"] == pytest.approx(np.mean(b.metrics["neg_elbo_folds"]))
    assert 0 <= b.values["probe_auc"] <= 1 and 0 <= b.values["heads_bacc"] <= 1
    again = evaluate_trials(small, points[1:], [1000], splits, objectives)[0]
    assert again.values == pytest.approx(b.values)


# ------------------------------------------------------------------------------ one process

def test_sweep_writes_results_and_resumes(small, tmp_path):
    out = tmp_path / "run"
    r = run_sweep(small, out, tiny_config(n_trials=3), report=False)
    assert len(r.trials) == 3 and set(r.trials["state"]) == {"COMPLETE"}
    for name in ("trials.csv", "sweep.json", "sweep.db"):
        assert (out / name).is_file(), name
    assert not (out / "sweep_report.html").exists()
    csv = pd.read_csv(out / "trials.csv")
    assert list(csv["number"]) == [0, 1, 2]
    assert csv["seed"].nunique() == 3 and csv["value_elbo"].notna().all()
    assert r.best and r.best[0]["values"]["elbo"] == pytest.approx(csv["value_elbo"].min())
    url = f"sqlite:///{out / 'sweep.db'}"
    study = r.study_name
    first = {t.number: (t.params, t.user_attrs["seed"]) for t in all_trials(url, study)}
    # the same command again: nothing to do; a larger budget: only the missing trial
    assert len(run_sweep(small, out, tiny_config(n_trials=3), report=False).trials) == 3
    r4 = run_sweep(small, out, tiny_config(n_trials=4), report=False)
    trials = all_trials(url, study)
    assert [t.number for t in trials] == [0, 1, 2, 3] and len(r4.trials) == 4
    assert {t.number: (t.params, t.user_attrs["seed"]) for t in trials[:3]} == first
    # joining with other settings is refused
    with pytest.raises(ConfigError, match="was made with folds = 3; this run has 4"):
        run_sweep(small, out, tiny_config(n_trials=4, folds=4), report=False)


def test_batch_trials_are_asked_together_and_the_budget_stays_exact(small, tmp_path):
    r = run_sweep(small, tmp_path, tiny_config(n_trials=3, batch_trials=2), report=False)
    trials = all_trials(f"sqlite:///{tmp_path / 'sweep.db'}", r.study_name)
    check_exact(trials, 3)
    assert len(trials) == 3 and all(t.state == TrialState.COMPLETE for t in trials)


def test_a_trial_failed_by_another_worker_is_dropped_not_crashing(small, tmp_path):
    from hivlatent.sweep import TrialEvaluation
    from hivlatent.sweep.trial_workers import report_and_tell

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = optuna.create_study(storage=open_storage(url, None, None))
    trial = study.ask()
    study.tell(trial, state=TrialState.FAIL)           # as fail_stale_trials elsewhere would
    ev = TrialEvaluation({"elbo": 1.0}, np.array([2.0, 1.0]), {"neg_elbo": 1.0})
    assert report_and_tell(study, trial, ev, {"objectives": ["elbo"]}, prune=True) == "lost"


def test_an_error_in_a_trial_fails_it_with_the_message_and_stops(small, tmp_path, monkeypatch):
    import hivlatent.sweep.trial_workers as S

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(S, "evaluate_trials", broken)
    with pytest.raises(RuntimeError, match="engine exploded"):
        run_sweep(small, tmp_path, tiny_config(n_trials=2), report=False)
    (t,) = all_trials(f"sqlite:///{tmp_path / 'sweep.db'}", "sweep-nrti-1246-elbo")
    assert t.state == TrialState.FAIL and t.user_attrs["error"] == "RuntimeError: engine exploded"
    assert "failed_trial" not in t.system_attrs                  # not re-queued


def test_multi_objective_sweep_reports_the_pareto_front(small, tmp_path):
    r = run_sweep(small, tmp_path, tiny_config(n_trials=3, objectives=("elbo", "probe_auc")))
    assert r.best and all(set(b["values"]) == {"elbo", "probe_auc"} for b in r.best)
    for stem in ("sweep_history", "sweep_slice_elbo", "sweep_slice_probe_auc", "sweep_pareto"):
        for ext in ("png", "svg"):
            assert (tmp_path / "figures" / f"{stem}.{ext}").is_file(), (stem, ext)
    html = (tmp_path / "sweep_report.html").read_text()
    for heading in ("Best trials (Pareto front)", "Optimisation history", "Slices", "Pareto front",
                    "Parameter importance", "|Spearman rho| (fallback)",
                    "Search space", "All trials"):
        assert heading in html
    assert html.count("data:image/png;base64") == 5      # + importance (Spearman fallback)
    trials = all_trials(f"sqlite:///{tmp_path / 'sweep.db'}", r.study_name)
    assert all(not t.intermediate_values for t in trials)   # no pruning in multi-objective


def test_pruning_reports_per_epoch_values(small, tmp_path):
    prune_all = optuna.pruners.ThresholdPruner(upper=0.0)    # any positive loss is pruned
    r = run_sweep(small, tmp_path, tiny_config(n_trials=2, pruner=prune_all), report=False)
    assert set(r.trials["state"]) == {"PRUNED"}
    for t in all_trials(f"sqlite:///{tmp_path / 'sweep.db'}", r.study_name):
        assert list(t.intermediate_values) == [1]
        assert t.user_attrs["pruned_at_epoch"] == 1
        assert t.user_attrs["metrics"]["neg_elbo"] > 0       # the full run is still recorded
    assert not r.best
    with pytest.raises(ConfigError, match="no completed trial"):
        retrain_best(small, tmp_path, study_name=r.study_name)


def test_best_is_retrained_on_all_rows_and_loads(small, tmp_path):
    from hivlatent.model import VAEModel

    cfg = tiny_config(n_trials=2, objectives=("heads_bacc",))
    r = run_sweep(small, tmp_path, cfg, best=True, report=False)
    assert r.best_model == tmp_path / "best-model"
    model = VAEModel.load(r.best_model)
    best = r.best[0]
    assert model.model_config.supervised and model.model_config.latent == best["params"]["latent"]
    assert model.manifest["sweep"]["trial"] == best["number"]
    assert model.data_info["rows"] == small.n_rows
    assert model.predict_proba(small.X[:3]).shape == (3, len(small.drugs))


def test_cli_command_registers_and_reports_user_errors(small, tmp_path):
    from typer.testing import CliRunner

    from hivlatent.cli import app
    bad = tmp_path / "bad.toml"
    bad.write_text('[latent]\ntype = "int"\nlow = 10\nhigh = 2\n')
    res = CliRunner().invoke(app, ["sweep", "--space", str(bad), "--out", str(tmp_path)])
    assert isinstance(res.exception, ConfigError)
    assert "latent: expected 'low' <= 'high'" in str(res.exception)
    help_text = CliRunner().invoke(app, ["sweep", "--help"]).output
    for opt in ("--storage", "--study", "--trials", "--workers", "--space", "--objective",
                "--out", "--best", "--quiet"):
        assert opt in help_text


# ------------------------------------------------------------------------------ workers
# The two scenarios below are shared with test_sweep_postgres.py.

def check_exact(trials, n: int) -> None:
    """n counted trials, numbered 0.., each finished once; nothing left running or waiting."""
    b = budget(trials)
    assert b.counted == n and b.finished == n and b.running == 0 and b.waiting == 0
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) for t in trials)


def two_workers_scenario(dataset, tmp: Path, storage: str | None, study: str | None,
                         n: int = 4, spawn: bool = True) -> None:
    """Two worker processes started together on one storage (as on two machines) finish n
    trials in total; then ``workers=2`` (this process and a spawned one) adds two more."""
    out = tmp / "run"
    out.mkdir()
    # 8 epochs: a trial lasts long enough for both workers to be asking at the same time
    cfg = tiny_config(n_trials=n, storage=storage, study_name=study,
                      space=parse_space({**TINY, "epochs": 8}, "tiny"))
    url = storage or f"sqlite:///{out / 'sweep.db'}"
    name = study or f"sweep-{dataset.name}-elbo"
    procs = [_spawn(tmp, f"w{i}", dataset, out, cfg, sleepy=False) for i in range(2)]
    try:
        for i, p in enumerate(procs):
            assert p.wait(120) == 0, (tmp / f"w{i}.log").read_text()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    trials = all_trials(url, name)
    check_exact(trials, n)
    assert len(trials) == n and all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["seed"] for t in trials}) == n           # no trial ran twice
    assert all(t.user_attrs["metrics"]["worker"] for t in trials)
    print("trials per worker:", pd.Series([t.user_attrs["metrics"]["worker"] for t in trials])
          .value_counts().to_dict())
    if not spawn:
        return
    # the --workers path: this process plus one spawned worker, resuming the same study
    r = run_sweep(dataset, out, replace(cfg, n_trials=n + 2, workers=2), report=False)
    trials = all_trials(url, name)
    check_exact(trials, n + 2)
    assert len(trials) == n + 2 and len(r.trials) == n + 2


_WORKER = textwrap.dedent("""
    import pickle, sys, time
    import torch
    import hivlatent.sweep.trial_workers as S
    from hivlatent.sweep import run_sweep
    torch.set_num_threads(1)
    dataset, out, config, sleepy = pickle.load(open(sys.argv[1], "rb"))
    if sleepy:
        def evaluate_trials(*args, **kwargs):      # hangs in the middle of its trial
            time.sleep(600)
        S.evaluate_trials = evaluate_trials
    run_sweep(dataset, out, config, report=False)
""")


def _spawn(tmp: Path, tag: str, dataset, out: Path, config, sleepy: bool) -> subprocess.Popen:
    args = tmp / f"{tag}.pkl"
    args.write_bytes(pickle.dumps((dataset, out, config, sleepy)))
    script = tmp / "worker.py"
    script.write_text(_WORKER)
    log = open(tmp / f"{tag}.log", "w")
    return subprocess.Popen([sys.executable, str(script), str(args)], stdout=log, stderr=log)


def killed_worker_scenario(dataset, tmp: Path, storage: str | None, study: str | None,
                           n: int = 3) -> None:
    """A worker SIGKILLed in the middle of a trial: its trial is marked FAIL and re-queued (same
    parameters and seed), the other worker (here a thread of this process, started before the
    kill) carries on and runs it, and a resumed sweep finds the study complete."""
    out = tmp / "run"
    out.mkdir()
    cfg = tiny_config(n_trials=n, storage=storage, study_name=study)
    url = storage or f"sqlite:///{out / 'sweep.db'}"
    name = study or f"sweep-{dataset.name}-elbo"
    victim = _spawn(tmp, "victim", dataset, out, cfg, sleepy=True)
    done: list = []
    other = threading.Thread(target=lambda: done.append(run_sweep(dataset, out, cfg, report=False)))
    try:
        deadline = time.time() + 60
        running = []
        while time.time() < deadline and not running:
            time.sleep(0.2)
            with _quiet():
                try:
                    # kill mid-trial: every parameter drawn and the seed recorded (the
                    # parameters are drawn one by one, so a non-empty t.params is not enough)
                    running = [t for t in all_trials(url, name)
                               if t.state == TrialState.RUNNING and "seed" in t.user_attrs]
                except (KeyError, ConfigError):
                    running = []
            assert victim.poll() is None, (tmp / "victim.log").read_text()
        assert running, "the victim never started a trial"
        killed = running[0]
        other.start()
        time.sleep(0.5)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        other.join(90)
        assert not other.is_alive() and done, "the other worker did not finish"
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait(10)
    trials = all_trials(url, name)
    check_exact(trials, n)
    by_number = {t.number: t for t in trials}
    assert by_number[killed.number].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == by_number[killed.number].params == killed.params
    assert retries[0].user_attrs["seed"] == by_number[killed.number].user_attrs["seed"]
    assert len(trials) == n + 1
    # a resumed sweep finds the study complete and only writes the results
    r = run_sweep(dataset, out, cfg, report=False)
    assert len(all_trials(url, name)) == n + 1
    assert r.counts["superseded"] == 1 and r.trials["retry_of"].notna().sum() == 1


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def test_two_workers_share_one_sqlite_study(small, tmp_path):
    two_workers_scenario(small, tmp_path, None, None)


def test_killed_worker_leaves_a_usable_sqlite_study(small, tmp_path):
    killed_worker_scenario(small, tmp_path, None, None)


# ------------------------------------------------------------------ PostgreSQL
URL = os.environ.get("HIVLATENT_TEST_POSTGRES_URL", "")


@pytest.fixture
def pg_url() -> str:
    if not URL:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but HIVLATENT_TEST_POSTGRES_URL is not set: the sweep's "
                        "PostgreSQL tests must run in CI")
        pytest.skip("set HIVLATENT_TEST_POSTGRES_URL to run the PostgreSQL sweep tests")
    return URL


def _study(tag: str) -> str:
    return f"test-{tag}-{uuid.uuid4().hex[:12]}"


def test_postgres_storage_is_reachable_and_errors_are_one_line(pg_url):
    from hivlatent.errors import ConfigError
    from hivlatent.sweep import SearchLock, open_storage
    from hivlatent.sweep.storage import open_storage_locked

    open_storage(pg_url)
    lock = SearchLock(pg_url, _study("lock"))
    with lock, lock:                      # re-entrant within one worker
        pass
    lock.close()
    bad = pg_url.rsplit("/", 1)[0] + "/no_such_database_" + uuid.uuid4().hex[:6]
    for opener in (open_storage, open_storage_locked):
        with pytest.raises(ConfigError, match=r"cannot open the database") as err:
            opener(bad)
        assert "\n" not in str(err.value)
    refused = "postgresql+psycopg2://postgres:secret@127.0.0.1:1/postgres"
    with pytest.raises(ConfigError, match=r"127.0.0.1:1/postgres: cannot open the database") as err:
        open_storage_locked(refused)
    assert "secret" not in str(err.value) and "\n" not in str(err.value)


def test_two_workers_share_one_postgres_study(small, tmp_path, pg_url):
    # the --workers (spawn) path does not depend on the database: tested on SQLite only
    two_workers_scenario(small, tmp_path, pg_url, _study("two"), spawn=False)


def test_killed_worker_leaves_a_usable_postgres_study(small, tmp_path, pg_url):
    killed_worker_scenario(small, tmp_path, pg_url, _study("kill"))


def test_a_bare_postgresql_url_opens_with_the_installed_driver(pg_url):
    """The README's form, postgresql://, works whichever driver SQLAlchemy defaults to."""
    from sqlalchemy.engine import make_url

    from hivlatent.sweep import SearchLock, open_storage

    bare = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    assert bare.startswith("postgresql://")
    open_storage(bare)
    lock = SearchLock(bare, _study("bare"))
    with lock:
        pass
    lock.close()
