"""Hyperparameter search of the VAE / semi-supervised VAE with Optuna.

    >>> from hivlatent.sweep import SweepConfig, run_sweep
    >>> result = run_sweep(load_dataset("nrti-1246"), "runs/sweep",
    ...                    SweepConfig(n_trials=40, objectives=("elbo",), workers=2))
    >>> result.best[0]["params"]

**Objectives** (cross-validated on ``folds`` row folds, stratified by the number of drugs a virus
is resistant to; the same folds for every trial; each fold's model is trained on the other folds
and validated on its own fold):

- ``elbo`` (minimise): the validation negative ELBO, reconstruction + KL with beta = 1 and
  without the supervised term (so trials of any beta / supervised weight are comparable), in
  nats per sequence at the last epoch, averaged over the folds;
- ``probe_auc`` (maximise): the latent means of every row are scored by a linear probe
  (:func:`hivlatent.evaluation.linear_probe`) per drug, trained on the fold's training rows and
  tested on the held-out fold: AUC averaged over drugs, then folds;
- ``heads_bacc`` (maximise): balanced accuracy of the semi-supervised model's own resistance
  heads (P >= 0.5) on the held-out fold, averaged over drugs, then folds (restricts the search
  to ``model: semi``).

Several objectives make a multi-objective study (the Pareto front is reported; no pruning).

**Engine and pruning.** The folds of a trial are trained together as one batched program
(``train_many``); ``batch_trials`` > 1 asks several trials at once and hands all their folds to
the engine, which groups those of one shape and batch size (and of other widths when padding
them saves work). On 2 CPU cores the gain across trials
is small (the engine is compute bound beyond ~3 models; shapes rarely coincide in a continuous
space) while TPE learns from fewer completed trials, so the default is one trial at a time. The
engine trains whole runs, so pruning is *post hoc*: after training, the per-epoch validation
negative ELBO (mean over folds) is reported to Optuna epoch by epoch and the trial is marked
PRUNED at the first epoch where the pruner (median rule) says so; its full result is still
recorded in the user attributes. It saves no compute with this engine and is on by default only
for the single ``elbo`` objective, where the reported curve is the objective itself.

**Storage and workers.** Trials live in any database Optuna supports (default:
``sqlite:///<out>/sweep.db``). Every worker (``workers`` local processes, or the same command
started on several machines against one PostgreSQL URL) takes trials until the study holds
``n_trials`` trials; the check and the ``ask`` happen under a lock (a file lock next to a SQLite
file, a PostgreSQL advisory lock, a MySQL named lock), so the total is exact. A worker records a
heartbeat for its running trials; a trial whose worker died (heartbeat older than
``grace_period``) is marked FAIL by the next worker and re-queued with the same parameters and
seed (``RetryHeartbeatStaleTrialCallback``, up to ``max_retry`` times); a re-queued trial replaces
its failed original in the count. Re-running the same command resumes the study.
"""

from .results import SweepResult, best_trials, trials_frame, write_results
from .run import format_summary, retrain_best, run_sweep
from .settings import OBJECTIVES, Objective, SweepConfig, default_search_name, search_settings
from .space import DEFAULT_SPACE, Param, load_space
from .storage import Budget, SearchLock, budget, mask_url, open_storage
from .trials import TrialEvaluation, cv_splits, evaluate_trials

__all__ = [
    "DEFAULT_SPACE", "OBJECTIVES", "Budget", "Objective", "Param", "SearchLock", "SweepConfig",
    "SweepResult", "TrialEvaluation", "best_trials", "budget", "cv_splits", "default_search_name",
    "evaluate_trials", "format_summary", "load_space", "mask_url", "open_storage", "retrain_best",
    "run_sweep", "search_settings", "trials_frame", "write_results",
]
