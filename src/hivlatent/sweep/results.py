"""What a search found: one row per trial, the best trial(s), parameter importances, and the
files trials.csv and sweep.json."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import ConfigError
from ..files import write_text
from .optuna_verbosity import optuna_warnings_only
from .settings import ATTR, OBJECTIVES
from .space import space_from_dict, space_table
from .storage import budget, mask_url, open_storage


@dataclass
class SweepResult:
    study_name: str
    storage: str                          # masked URL
    out: Path
    objectives: tuple[str, ...]
    trials: pd.DataFrame
    best: list[dict]
    files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    best_model: Path | None = None
    seconds: float = 0.0


def value_columns(objectives: Sequence[str]) -> list[str]:
    return [f"value_{o}" for o in objectives]


def trials_frame(study, settings: dict) -> pd.DataFrame:
    """One row per trial: number, state, objective values, parameters, seed and metrics."""
    from optuna.trial import TrialState

    objectives = settings["objectives"]
    names = [n for n, p in space_from_dict(settings["space"]).items() if p.searched]
    rows = []
    for t in study.get_trials(deepcopy=False):
        ua = t.user_attrs
        m = ua.get("metrics") or {}
        vals = t.values if t.values is not None and t.state == TrialState.COMPLETE else None
        row: dict[str, Any] = {"number": t.number, "state": t.state.name}
        for o, c in zip(objectives, value_columns(objectives)):
            row[c] = vals[objectives.index(o)] if vals else None
        params = dict(ua.get("values") or t.params)
        for n in names:
            row[f"param_{n}"] = params.get(n)
        row["hidden_widths"] = "-".join(map(str, m.get("hidden_widths", []))) or None
        row["seed"] = ua.get("seed")
        for k in ("neg_elbo", "neg_elbo_best", "probe_auc", "heads_bacc", "train_seconds"):
            row[k] = m.get(k)
        for k in ("pruned_at_epoch", "error"):
            row[k] = ua.get(k)
        row["retry_of"] = t.system_attrs.get("failed_trial")
        row["worker"] = m.get("worker")
        row["datetime_start"] = t.datetime_start
        row["datetime_complete"] = t.datetime_complete
        row["duration_s"] = (None if t.datetime_start is None or t.datetime_complete is None
                             else (t.datetime_complete - t.datetime_start).total_seconds())
        rows.append(row)
    return pd.DataFrame(rows)


def best_trials(study, settings: dict) -> list:
    """Single objective: the best COMPLETE trial; several: the Pareto front, ordered by the
    first objective (best first). Empty when no trial completed."""
    from optuna.trial import TrialState

    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return []
    objectives = settings["objectives"]
    if len(objectives) == 1:
        return [study.best_trial]
    sign = 1.0 if OBJECTIVES[objectives[0]].direction == "minimize" else -1.0
    return sorted(study.best_trials, key=lambda t: (sign * t.values[0], t.number))


def best_dict(t, objectives) -> dict:
    return {"number": t.number, "values": dict(zip(objectives, t.values)),
            "params": dict(t.user_attrs.get("values") or t.params), "seed": t.user_attrs.get("seed"),
            "hidden_widths": (t.user_attrs.get("metrics") or {}).get("hidden_widths"),
            "metrics": {k: v for k, v in (t.user_attrs.get("metrics") or {}).items()
                        if k in ("neg_elbo", "probe_auc", "heads_bacc") and v is not None}}


def importances(study, settings: dict, index: int = 0) -> tuple[pd.Series, str]:
    """Parameter importance for objective ``index``: fANOVA (optuna.importance) over the
    parameters every COMPLETE trial has; with fewer than 4 such trials, or when fANOVA fails,
    the absolute Spearman rank correlation of each numeric parameter with the objective.
    Returns (importance by parameter, method); empty when fewer than 3 trials completed."""
    import optuna
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(done) >= 4:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                imp = optuna.importance.get_param_importances(
                    study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
                    target=lambda t: t.values[index])
            if imp:
                return pd.Series(imp, dtype=float).sort_values(ascending=False), "fANOVA"
        except (RuntimeError, ValueError, ZeroDivisionError):
            pass
    if len(done) < 3:
        return pd.Series(dtype=float), "too few completed trials"
    y = pd.Series([t.values[index] for t in done])
    out = {}
    for name in sorted({k for t in done for k in t.params}):
        x = pd.Series([t.params.get(name) for t in done])
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x.dropna()):
            x = x.astype("category").cat.codes.where(x.notna())
        ok = x.notna()
        if ok.sum() >= 3 and x[ok].nunique() > 1:
            rho = x[ok].astype(float).rank().corr(y[ok].rank())
            out[name] = abs(float(rho)) if math.isfinite(rho) else 0.0
    return pd.Series(out, dtype=float).sort_values(ascending=False), "|Spearman rho| (fallback)"


@optuna_warnings_only()
def write_results(url: str, name: str, out: str | Path, report: bool = True) -> SweepResult:
    """trials.csv and sweep.json of a study; with ``report``, also the figures (PNG + SVG in
    ``figures/``) and sweep_report.html."""
    import optuna
    from optuna.trial import TrialState

    from ..reporting import plots as F
    from ..reporting.html_report import Report
    from . import sweep_plots as SF

    out = Path(out)
    storage = open_storage(url, None, None)
    study = optuna.load_study(study_name=name, storage=storage)
    settings = study.user_attrs.get(ATTR)
    if settings is None:
        raise ConfigError(f"study {name!r} was not made by hivlatent sweep")
    objectives = tuple(settings["objectives"])
    space = space_from_dict(settings["space"])
    trials = study.get_trials(deepcopy=False)
    frame = trials_frame(study, settings)
    files: dict[str, Path] = {}
    csv_path = out / "trials.csv"
    write_text(csv_path, frame.to_csv(index=False))
    files["trials"] = csv_path
    best = best_trials(study, settings)
    best_dicts = [best_dict(t, objectives) for t in best]
    b = budget(trials)
    # states of the counted trials (a FAIL superseded by its re-queued copy is left out)
    superseded = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    live = [t for t in trials if not (t.state == TrialState.FAIL and t.number in superseded)]
    counts = {s.name.lower(): sum(t.state == s for t in live) for s in TrialState}
    counts["counted"] = b.counted
    counts["superseded"] = b.superseded

    summary = {"study": name, "storage": mask_url(url), "settings": settings, "counts": counts,
               "best": best_dicts, "hivlatent": __version__}
    write_text(out / "sweep.json", json.dumps(jsonable(summary), indent=2) + "\n")
    files["summary"] = out / "sweep.json"

    result = SweepResult(name, mask_url(url), out, objectives, frame, best_dicts, files, counts)
    if not report:
        return result

    figdir = out / "figures"
    figs: list[tuple[str, Any, str]] = []
    figs.append(("sweep_history", SF.plot_history(frame, objectives, settings),
                 "Objective value of every trial (dots; pruned trials hollow at their final value) "
                 "and the best so far (line)."))
    imps = {o: importances(study, settings, i) for i, o in enumerate(objectives)}
    if any(len(s) for s, _ in imps.values()):
        figs.append(("sweep_importance", SF.plot_importance(imps),
                     "Parameter importance per objective (" + "; ".join(
                         f"{o}: {m}" for o, (_, m) in imps.items()) + ")."))
    searched = [n for n, p in space.items() if p.searched]
    for o in objectives:
        if frame[f"value_{o}"].notna().any():
            figs.append((f"sweep_slice_{o}", SF.plot_slices(frame, o, searched, space),
                         f"{o} against each searched parameter (completed trials; colour: trial "
                         "number)."))
    if len(objectives) == 2 and best:
        figs.append(("sweep_pareto", SF.plot_pareto(frame, objectives, [t.number for t in best]),
                     "Completed trials in objective space; the Pareto front is ringed."))
    for stem, fig, _ in figs:
        files[stem] = F.save_figure(fig, figdir / stem)["png"]

    rep = Report(f"Hyperparameter sweep: {name}",
                 f"{settings['data']} · {b.counted} trials · objective"
                 f"{'s' if len(objectives) > 1 else ''} {', '.join(objectives)}")
    sec = rep.add_section("Settings")
    sec.add_table(pd.DataFrame({"setting": [
        "data", "rows", "storage", "study", "objectives", "cross-validation", "trials (counted)",
        "complete / pruned / failed", "re-queued after a dead worker"], "value": [
        settings["data"], settings["rows"], mask_url(url), name,
        "; ".join(f"{o} ({OBJECTIVES[o].direction}: {OBJECTIVES[o].description})" for o in objectives),
        f"{settings['folds']} folds stratified by resistance count, seed {settings['seed']}",
        b.counted, f"{counts['complete']} / {counts['pruned']} / {counts['fail']}",
        b.superseded]}), index=False)
    sec = rep.add_section("Best trial" + ("s (Pareto front)" if len(objectives) > 1 else ""))
    if best_dicts:
        rows = []
        for d in best_dicts:
            rows.append({"trial": d["number"], **{o: d["values"][o] for o in objectives},
                         **{k: v for k, v in d["params"].items()}, "seed": d["seed"]})
        sec.add_table(pd.DataFrame(rows), index=False, float_format="{:.4g}")
        sec.add_text("Retrain the best configuration on all rows with the same command and "
                     "`--best` (the model bundle goes to `best-model/` in the run folder).")
    else:
        sec.add_text("No trial has completed yet.")
    for stem, _, caption in figs:
        heading = {"sweep_history": "Optimisation history", "sweep_importance": "Parameter importance",
                   "sweep_pareto": "Pareto front"}.get(stem, "Slices")
        rep.section(heading).add_figure(figdir / stem, caption)
    for o, (s, method) in imps.items():
        if len(s):
            rep.section("Parameter importance").add_table(
                s.rename("importance").to_frame(), f"{o}: {method}", float_format="{:.3f}")
    rep.add_section("Search space").add_table(pd.DataFrame(
        space_table(space), columns=["parameter", "range", "meaning"]), index=False)
    cols = ["number", "state"] + value_columns(objectives) + \
        [c for c in frame.columns if c.startswith("param_")] + ["seed", "pruned_at_epoch", "error"]
    if len(frame):
        first = value_columns(objectives)[0]
        asc = OBJECTIVES[objectives[0]].direction == "minimize"
        table = frame[cols].sort_values(first, ascending=asc, na_position="last")
        for c in ("pruned_at_epoch", "error"):
            if table[c].isna().all():
                table = table.drop(columns=c)
            else:
                table[c] = table[c].map(lambda v: "" if v is None or v != v else v)
        rep.add_section("All trials").add_table(
            table, index=False,
            caption="Sorted by the first objective; all columns in trials.csv.", max_rows=200)
    notes = ["Pruning is post hoc: each trial trains its whole run (the engine trains runs at "
             "once), then its per-epoch validation negative ELBO is reported and the median rule "
             "may mark it PRUNED; its full result stays in trials.csv (neg_elbo)."]
    if b.superseded:
        notes.append(f"{b.superseded} trial(s) of a worker that died were marked FAIL and "
                     "re-queued with the same parameters and seed (column retry_of).")
    rep.add_section("Notes").add_list(notes)
    files["report"] = rep.write(out / "sweep_report.html")
    return result


def jsonable(x):
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return nan_to_none(x)


def nan_to_none(x):
    if isinstance(x, (list, tuple)):
        return [nan_to_none(v) for v in x]
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if not math.isfinite(x) else x
    if isinstance(x, np.integer):
        return int(x)
    return x
