"""The model bundle: how a trained :class:`~hivlatent.model.VAEModel` is kept on disk. Everything
about the format is in this module.

A bundle is a folder (format ``hivlatent-model/1``, :data:`FORMAT`) holding:

``config.json``
    ``format``; ``model`` and ``train`` (the :class:`~hivlatent.config.ModelConfig` and
    :class:`~hivlatent.config.TrainConfig` as dicts); ``n_members``; ``feature_names`` (the
    model's mutations, in column order); ``drugs``; ``drug_class``; ``gene``; ``cutoffs``
    (``lower`` and ``upper``: drug -> fold); ``fold_cap`` (drug -> the reporting limit, fold);
    ``withheld`` (drug -> why the model does not answer for it); ``output`` (the semi model's
    output layer, :mod:`hivlatent.predictive.output_layer`, or null): per drug the blend
    weights ``weight`` (heads) and ``linear_weight`` (ridge), the residual ``sd``, the interval's
    ``scale``, ``recalibration`` ([slope, intercept] of the drugs recalibrated), and the drugs
    that have a ``forests`` and ``linears`` entry in the weights.
``weights.safetensors``
    The VAE's parameters, one tensor per layer of :func:`hivlatent.nn.vae.layout`, each
    stacked over the members (members, ...); and the output layer's arrays:
    ``forest.<drug>.<field>`` (the fields of :class:`~hivlatent.predictive.forest.Forest`:
    left, right, feature, threshold, value, roots) and ``linear.<drug>.coef`` /
    ``linear.<drug>.intercept`` (:class:`~hivlatent.predictive.linear.Linear`).
``history.csv``, ``history-1.csv``, ...
    Each member's loss per epoch (columns ``epoch``, ``train_loss``, ``val_loss`` at least).
``manifest.json``
    Where it came from: the hivlatent, torch and python versions, the data set's name, sha256
    and rows, the seeds, each member's status (``ok``, ``stopped early ...``, ``failed ...``)
    and training seconds, the device; and what the writer adds (``default_model`` for the
    cached default models).
``reference.npz`` and ``reference.json`` (semi models trained by the CLI)
    The measured training viruses kept for explanations
    (:class:`~hivlatent.prediction.reference.Reference`): ``ids``, ``latent`` (float32),
    ``log_fold`` (float64) in the npz; ``drugs``, ``gene``, ``n_sequences`` and ``counts``
    (position -> residue -> viruses) in the JSON.

A bundle is written to a temporary folder renamed into place, so it is either complete or
absent, and only a bundle (or an empty folder) is ever replaced. Nothing is ever unpickled:
weights are read with safetensors, the npz with ``allow_pickle=False``. Reading checks every
tensor's name and shape against the config and every value the config holds: a damaged or
mismatched bundle is a one-line :class:`~hivlatent.errors.ModelError` naming the file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import platform
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import __version__
from .errors import HivLatentError, ModelError, ModelNotFoundError
from .files import check_folder_target, chmod_dir, chmod_file, write_json

FORMAT = "hivlatent-model/1"
#: prefixes of the output layer's tensors (forest.<drug>.*, linear.<drug>.*)
OUTPUT_TENSORS = ("forest.", "linear.")
#: the columns every training history has
HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss")
#: the reference viruses' files
REFERENCE_NPZ, REFERENCE_JSON = "reference.npz", "reference.json"


def is_bundle(folder: Path) -> bool:
    """Whether ``folder`` holds an hivlatent model bundle (its config.json says so)."""
    if not (folder / "config.json").is_file():        # a FIFO would block the read
        return False
    try:
        cfg = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(cfg, dict) and cfg.get("format") == FORMAT


def check_bundle_target(path: str | os.PathLike, option: str = "--save") -> bool:
    """Check, before training, that a model bundle can be saved at ``path``: a new name, an empty
    folder, or an existing bundle (which will be replaced). Returns whether a bundle is there."""
    return check_folder_target(Path(path), option, is_bundle, "model bundle")


# ------------------------------------------------------------------------------- the model

def save_model(model, folder: str | Path, extra_manifest: dict | None = None,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Write ``model`` (a trained VAEModel) as a bundle to ``folder``."""
    from .config import to_dict

    flat = model._flat
    config = {"model": to_dict(model.model_config), "train": to_dict(model.train_config),
              "n_members": int(flat.shape[0]), "feature_names": model.feature_names,
              "drugs": model.drugs, "drug_class": model.drug_class, "gene": model.gene,
              "cutoffs": {"lower": model.cutoffs.lower, "upper": model.cutoffs.upper},
              "fold_cap": model.fold_cap, "withheld": model.withheld,
              "output": None if model.output is None else output_layer_config(model.output)}
    manifest = {**model.data_info,
                "seeds": [model.train_config.seed + k for k in range(flat.shape[0])],
                "status": model.statuses, "train_seconds": model.train_seconds,
                "device": str(model.device), **(extra_manifest or {})}
    tensors = dict(model.layout.views(flat))
    if model.output is not None:
        tensors.update({k: torch.as_tensor(v)
                        for k, v in output_layer_tensors(model.output).items()})
    return save_bundle(folder, config, tensors, model.histories, manifest, extra_files)


def load_model(cls, folder: str | Path, device: str = "cpu"):
    """The model (an instance of ``cls``, VAEModel) kept in the bundle at ``folder``."""
    from .config import ModelConfig, TrainConfig, from_dict
    from .data.cutoffs import Cutoffs

    config, tensors, histories, manifest = load_bundle(folder)
    try:
        obj = cls(from_dict(ModelConfig, config["model"]), from_dict(TrainConfig, config["train"]),
                  int(config["n_members"]), device)
        obj.feature_names = list(config["feature_names"])
        obj.drugs = list(config["drugs"])
        obj.drug_class, obj.gene = config["drug_class"], config["gene"]
        obj.cutoffs = Cutoffs(dict(config["cutoffs"]["lower"]), dict(config["cutoffs"]["upper"]))
        obj.fold_cap = {str(d): float(v) for d, v in config.get("fold_cap", {}).items()}
        obj.withheld = {str(d): str(v) for d, v in config.get("withheld", {}).items()}
        flat = checked_weights(obj, tensors, Path(folder))
        if config.get("output") is not None:
            obj.output = read_output_layer(config["output"], tensors, len(obj.feature_names),
                                           str(folder))
    except HivLatentError:            # a ValueError too, already naming what is wrong
        raise
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{folder}: the bundle does not fit its config "
                         f"({_first_line(exc)})") from None
    obj._flat = flat
    obj.data_info = {k: manifest.get(k) for k in ("data", "data_sha256", "rows")}
    obj.manifest = manifest
    if len(histories) != obj.n_members:
        raise ModelError(f"{folder}: {len(histories)} training histories (history*.csv) for "
                         f"{obj.n_members} member(s); the model folder is damaged")
    obj.histories = histories
    obj.statuses = manifest.get("status", ["ok"] * obj.n_members)
    obj.train_seconds = manifest.get("train_seconds", [float("nan")] * obj.n_members)
    for key, values in (("status", obj.statuses), ("train_seconds", obj.train_seconds)):
        if not isinstance(values, list) or len(values) != obj.n_members:
            raise ModelError(f"{Path(folder) / 'manifest.json'}: {key!r} must be a list of one "
                             f"value per member ({obj.n_members}); the model folder is damaged")
    obj.statuses = [str(s) for s in obj.statuses]
    return obj


def checked_weights(model, tensors: dict, folder: Path) -> torch.Tensor:
    """The bundle's tensors as a flat (members, P) buffer, after checking every tensor's name and
    shape against the config (a config edited by hand, or another model's weights file, is a
    one-line ModelError naming the tensor), and the config's own lists against each other."""
    where = folder / "weights.safetensors"
    names, drugs = model.feature_names, model.drugs
    if len(set(names)) != len(names) or not names:
        raise ModelError(f"{folder / 'config.json'}: feature_names must be a non-empty list of "
                         "distinct mutations")
    if model.model_config.supervised and not drugs:
        raise ModelError(f"{folder / 'config.json'}: a semi-supervised model needs its drugs")
    for d in drugs:
        model.cutoffs.for_drug(d)
    stray = (set(model.fold_cap) | set(model.withheld)) - set(drugs)
    if stray:
        raise ModelError(f"{folder / 'config.json'}: fold_cap or withheld names drugs the model lacks: "
                         f"{', '.join(sorted(stray))}")
    expected = {name: (model.n_members, *shape) for name, shape in model.layout.entries}
    extra = sorted(k for k in set(tensors) - set(expected)
                   if not k.startswith(OUTPUT_TENSORS))
    missing = sorted(set(expected) - set(tensors))
    what = (f"({model.model_config.label}, {len(names)} features, {len(drugs)} drugs, "
            f"{model.n_members} member(s))")
    if missing or extra:
        raise ModelError(f"{where}: tensors {', '.join(missing) or 'none'} missing and "
                         f"{', '.join(extra) or 'none'} unexpected for the config {what}; the "
                         "weights belong to another model")
    for name, shape in expected.items():
        got = tuple(tensors[name].shape)
        if got != shape:
            raise ModelError(f"{where}: tensor {name!r} has shape {got}, the config {what} "
                             f"expects {shape}; the weights belong to another model")
        if not torch.isfinite(tensors[name]).all():
            raise ModelError(f"{where}: tensor {name!r} holds NaN or infinite values")
    return torch.cat([tensors[name].reshape(model.n_members, -1).float()
                      for name in expected], 1)


# ------------------------------------------------------------------------ the output layer

def output_layer_config(layer) -> dict:
    """The output layer's entry of config.json."""
    return {"weight": layer.weight, "linear_weight": layer.linear_weight, "sd": layer.sd,
            "scale": layer.scale,
            "recalibration": {d: r.to_list() for d, r in layer.recalibration.items()},
            "forests": sorted(d for d, f in layer.forests.items() if f is not None),
            "linears": sorted(d for d, r in layer.linears.items() if r is not None)}


def output_layer_tensors(layer) -> dict[str, np.ndarray]:
    """The output layer's arrays by tensor name (forest.<drug>.<field>, linear.<drug>.<field>)."""
    out = {}
    for kind, parts in (("forest", layer.forests), ("linear", layer.linears)):
        for drug, part in parts.items():
            if part is not None:
                out.update({f"{kind}.{drug}.{f.name}": getattr(part, f.name)
                            for f in dataclasses.fields(part)})
    return out


def read_output_layer(config: dict, tensors: dict, n_features: int, where: str):
    """The :class:`~hivlatent.predictive.output_layer.OutputLayer` from its config entry and the
    bundle's tensors; a ValueError naming what does not fit."""
    from .predictive.calibration import Recalibration
    from .predictive.forest import Forest
    from .predictive.linear import Linear
    from .predictive.output_layer import OutputLayer

    out = OutputLayer()
    out.weight = {str(d): float(v) for d, v in config.get("weight", {}).items()}
    out.linear_weight = {str(d): float(v) for d, v in config.get("linear_weight", {}).items()}
    out.sd = {str(d): float(v) for d, v in config.get("sd", {}).items()}
    out.scale = {str(d): float(v) for d, v in config.get("scale", {}).items()}
    for drug, pair in config.get("recalibration", {}).items():
        try:
            slope, intercept = (float(v) for v in pair)
            out.recalibration[str(drug)] = Recalibration(slope, intercept)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: recalibration of {drug}: {e}") from None
    for drug in config.get("forests", []):
        f = Forest(*(np.asarray(tensors[f"forest.{drug}.{f.name}"])
                     for f in dataclasses.fields(Forest)))
        f.check(n_features, f"{where}: forest of {drug}")
        out.forests[drug] = f
    for drug in config.get("linears", []):
        r = Linear(*(np.asarray(tensors[f"linear.{drug}.{f.name}"], dtype=np.float64)
                     for f in dataclasses.fields(Linear)))
        r.check(n_features, f"{where}: ridge of {drug}")
        out.linears[drug] = r
    for value in (*out.weight.values(), *out.linear_weight.values(), *out.sd.values(),
                  *out.scale.values()):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{where}: output layer value {value!r}")
    return out


# ------------------------------------------------------------------- the reference viruses

def reference_files(reference) -> dict[str, bytes]:
    """The reference viruses (:class:`~hivlatent.prediction.reference.Reference`) as the
    bundle's files, for ``extra_files`` of :meth:`VAEModel.save <hivlatent.model.VAEModel.save>`."""
    buf = io.BytesIO()
    np.savez(buf, ids=reference.ids.astype(str), latent=reference.latent.astype(np.float32),
             log_fold=reference.log_fold.astype(np.float64))
    meta = {"drugs": reference.drugs, "gene": reference.gene,
            "n_sequences": reference.n_sequences,
            "counts": {str(p): c for p, c in sorted(reference.counts.items())}}
    return {REFERENCE_NPZ: buf.getvalue(), REFERENCE_JSON: json.dumps(meta).encode()}


def load_reference(folder: str | Path, model=None):
    """The bundle's :class:`~hivlatent.prediction.reference.Reference`, or None when it has
    none; a damaged one is a one-line ModelError. ``model``: the bundle's model, whose latent
    size and drugs it must fit."""
    from .prediction.reference import Reference

    folder = Path(folder)
    npz, meta_file = folder / REFERENCE_NPZ, folder / REFERENCE_JSON
    if not npz.exists() and not meta_file.exists():
        return None
    try:
        for path in (npz, meta_file):
            if not path.is_file():
                raise ValueError(f"{path.name} is missing or not a regular file")
        with np.load(npz, allow_pickle=False) as z:
            ids, latent, log_fold = z["ids"], z["latent"], z["log_fold"]
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        counts = {int(p): {str(r): int(v) for r, v in c.items()}
                  for p, c in meta["counts"].items()}
        ref = Reference(ids, latent, log_fold, list(meta["drugs"]), str(meta["gene"]), counts,
                        int(meta["n_sequences"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
            zipfile.BadZipFile) as exc:
        raise ModelError(f"{folder}: the reference viruses are unreadable ({_first_line(exc)}); "
                         "the model folder is damaged") from None
    if ids.ndim != 1 or latent.ndim != 2 or log_fold.ndim != 2 \
            or not (len(ids) == len(latent) == len(log_fold)) \
            or log_fold.shape[1] != len(ref.drugs):
        raise ModelError(f"{folder}: the reference viruses' arrays do not fit each other")
    if not len(ids) or not np.isfinite(latent).all():
        raise ModelError(f"{npz}: no reference viruses, or NaN or infinite latent means; the "
                         "model folder is damaged")
    if model is not None and (latent.shape[1] != model.model_config.latent
                              or ref.drugs != list(model.drugs) or ref.gene != model.gene):
        raise ModelError(f"{folder}: the reference viruses ({latent.shape[1]} latent "
                         f"dimensions, drugs {', '.join(ref.drugs)}, {ref.gene}) do not fit "
                         f"the model ({model.model_config.latent}, "
                         f"{', '.join(model.drugs)}, {model.gene})")
    return ref


# ------------------------------------------------------------------------- files on disk

def save_bundle(folder: str | Path, config: dict, tensors: dict[str, torch.Tensor],
                histories: list[pd.DataFrame], manifest: dict,
                extra_files: dict[str, bytes] | None = None) -> Path:
    """Write a bundle to ``folder`` (atomically: a temporary folder renamed into place).
    ``extra_files``: more files of the bundle by name (the reference viruses), written with
    the rest."""
    folder = Path(folder)
    check_bundle_target(folder)            # only a bundle (or nothing) is ever replaced
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    chmod_dir(tmp)
    try:
        write_json(tmp / "config.json", {"format": FORMAT, **config})
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()},
                  str(tmp / "weights.safetensors"))
        for i, h in enumerate(histories):
            h.to_csv(tmp / ("history.csv" if i == 0 else f"history-{i}.csv"), index=False)
        for name, data in (extra_files or {}).items():
            (tmp / name).write_bytes(data)
        write_json(tmp / "manifest.json", {
            "hivlatent": __version__, "torch": torch.__version__,
            "python": platform.python_version(), **manifest})
        for f in tmp.iterdir():                 # safetensors writes 0600: the umask's mode instead
            chmod_file(f)
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_bundle(folder: str | Path) -> tuple[dict, dict[str, torch.Tensor], list[pd.DataFrame], dict]:
    """(config, tensors, histories, manifest) of the bundle at ``folder``, each file checked."""
    folder = Path(folder)
    if folder.is_file():
        raise ModelError(f"{folder}: is a file; expected a model folder written by "
                         "`hivlatent train --save`")
    if not folder.is_dir():
        raise ModelNotFoundError(f"{folder}: model folder not found (expected a folder written by "
                         "`hivlatent train --save`)")
    for name in ("config.json", "weights.safetensors", "manifest.json"):
        if not (folder / name).is_file():
            raise ModelError(f"{folder / name}: missing; the model folder is incomplete")
    config = read_json_object(folder / "config.json")
    manifest = read_json_object(folder / "manifest.json")
    if config.get("format") != FORMAT:
        raise ModelError(f"{folder / 'config.json'}: format {config.get('format')!r}, expected {FORMAT!r}")
    try:
        tensors = load_file(str(folder / "weights.safetensors"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{folder / 'weights.safetensors'}: corrupt weights ({exc})") from None
    histories = [read_history(path) for path in sorted(folder.glob("history*.csv"),
                                                        key=lambda p: (len(p.name), p.name))]
    return config, tensors, histories, manifest


def read_json_object(path: Path) -> dict:
    """A bundle's JSON file, which must hold an object (a one-line ModelError otherwise)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:     # JSONDecodeError and UnicodeDecodeError included
        raise ModelError(f"{path}: not valid JSON ({_first_line(exc)}); the model folder is "
                         "damaged") from None
    if not isinstance(obj, dict):
        kind = {list: "an array", str: "a string", type(None): "null", bool: "a boolean"}.get(
            type(obj), "a number")
        raise ModelError(f"{path}: holds {kind}, expected a JSON object; the model folder is "
                         "damaged")
    return obj


def read_history(path: Path) -> pd.DataFrame:
    """One member's training history (a one-line ModelError when it is empty or unreadable)."""
    if not path.is_file():
        raise ModelError(f"{path}: not a regular file; expected a training history (CSV)")
    try:
        history = pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:  # empty, not UTF-8, malformed
        raise ModelError(f"{path}: unreadable training history ({_first_line(exc)}); the model "
                         "folder is damaged") from None
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing or history.empty:
        raise ModelError(f"{path}: expected a training history with columns "
                         f"{', '.join(HISTORY_COLUMNS)} and one row per epoch; the model folder "
                         "is damaged")
    return history


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
