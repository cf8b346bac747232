"""One trial's cross-validation: the folds shared by every trial, and the objective values of
several points of the space trained at once on the batched engine."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from .settings import features_of
from .space import configs


def cv_splits(dataset, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (train rows, held-out rows) pairs over all rows, stratified by the number of
    drugs a virus is resistant to (plain shuffled k-fold when a stratum is too small)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    from ..training.split import resistance_strata

    n = len(features_of(dataset))
    if n < 2 * folds:
        raise ConfigError(f"cross-validation: {folds} folds need at least {2 * folds} rows, "
                          f"the data has {n}")
    labels = getattr(dataset, "labels", None)
    rows = np.arange(n)
    if labels is not None and labels.shape[1]:
        strata = resistance_strata(labels)
        _, counts = np.unique(strata, return_counts=True)
        if counts.min() >= folds:
            split = StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, strata)
            return [(np.sort(tr), np.sort(te)) for tr, te in split]
    split = KFold(folds, shuffle=True, random_state=seed).split(rows)
    return [(np.sort(tr), np.sort(te)) for tr, te in split]


@dataclass
class TrialEvaluation:
    """What one trial's cross-validation gave: objective values, the per-epoch validation
    negative ELBO curve (mean over folds), everything else worth recording, or an error."""

    values: dict[str, float]
    curve: np.ndarray
    metrics: dict[str, Any]
    error: str | None = None


def evaluate_trials(dataset, values_list: Sequence[Mapping[str, Any]], seeds: Sequence[int],
                    splits: Sequence[tuple[np.ndarray, np.ndarray]], objectives: Sequence[str],
                    device: str = "cpu") -> list[TrialEvaluation]:
    """Cross-validate several points of the space at once: one model per (point, fold), trained
    on the fold's training rows and validated on its held-out rows, all fitted together by
    :func:`hivlatent.model.fit_many` (models of one shape and batch size train together). Fold
    f of a point with seed s is initialised from seed s + f."""
    from dataclasses import replace

    from ..evaluation.metrics import classification_metrics
    from ..evaluation.probes import linear_probe
    from ..model import FitTask, VAEModel, fit_many

    cfgs, tasks = [], []
    for i, (values, seed) in enumerate(zip(values_list, seeds)):
        mc, tc = configs(values, seed)
        cfgs.append((mc, tc))
        for f, (tr, te) in enumerate(splits):
            model = VAEModel(mc, replace(tc, seed=int(seed) + f), n_members=1, device=device)
            tasks.append(FitTask(model, dataset, tr, te, name=f"p{i}f{f}"))
    fitted = fit_many(tasks)
    k = len(splits)
    out = []
    for i, (mc, tc) in enumerate(cfgs):
        models = fitted[i * k:(i + 1) * k]
        histories = [m.histories[0] for m in models]
        seconds = float(sum(m.train_seconds[0] for m in models))
        failed = [m.statuses[0] for m in models if m.statuses[0].startswith("failed")]
        curves = [(h["val_recon"] + h["val_kl"]).to_numpy(float) for h in histories]
        n_ep = min(len(c) for c in curves)
        curve = np.mean([c[:n_ep] for c in curves], axis=0)
        per_fold = [float(c[n_ep - 1]) for c in curves]
        metrics: dict[str, Any] = {
            "neg_elbo": float(curve[-1]), "neg_elbo_best": float(np.min(curve)),
            "neg_elbo_best_epoch": int(np.argmin(curve)) + 1, "neg_elbo_folds": per_fold,
            "val_loss": float(np.mean([h["val_loss"].iloc[-1] for h in histories])),
            "train_seconds": seconds, "hidden_widths": list(mc.hidden),
        }
        if failed:
            out.append(TrialEvaluation({}, curve, metrics, error=failed[0]))
            continue
        drugs = list(getattr(dataset, "drugs", []))
        if "probe_auc" in objectives:
            fold_auc = []
            for m, (tr, te) in zip(models, splits):
                z = m.get_latent_representation(dataset.X)
                aucs = []
                for j in range(len(drugs)):
                    y = dataset.labels[:, j]
                    a = tr[np.isfinite(y[tr])]
                    b = te[np.isfinite(y[te])]
                    if np.unique(y[a]).size < 2 or np.unique(y[b]).size < 2:
                        continue
                    probe = linear_probe().fit(z[a], y[a].astype(int))
                    s = probe.predict_proba(z[b])[:, 1]
                    aucs.append(classification_metrics(y[b], s)["auc"])
                fold_auc.append(float(np.nanmean(aucs)) if aucs else math.nan)
            metrics["probe_auc_folds"] = fold_auc
            metrics["probe_auc"] = float(np.nanmean(fold_auc)) if np.isfinite(fold_auc).any() else math.nan
        if mc.supervised and drugs:
            fold_bacc = []
            for m, (tr, te) in zip(models, splits):
                p = m.predict_proba(dataset.X[te])
                bacc = [classification_metrics(dataset.labels[te, j], p[:, j])["balanced_accuracy"]
                        for j in range(len(drugs)) if np.isfinite(dataset.labels[te, j]).any()]
                fold_bacc.append(float(np.nanmean(bacc)) if bacc else math.nan)
            metrics["heads_bacc_folds"] = fold_bacc
            metrics["heads_bacc"] = float(np.nanmean(fold_bacc)) if np.isfinite(fold_bacc).any() else math.nan
        values = {o: float(metrics.get("neg_elbo" if o == "elbo" else o, math.nan)) for o in objectives}
        bad = [o for o, v in values.items() if not math.isfinite(v)]
        out.append(TrialEvaluation(values, curve, metrics,
                                   error=f"objective {bad[0]} is undefined (NaN)" if bad else None))
    return out
