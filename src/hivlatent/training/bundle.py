"""Model bundles on disk: a folder with config.json, weights.safetensors, history.csv (one per
ensemble member: history.csv, history-1.csv, ...) and manifest.json (package and torch versions,
data sha256, seeds, device). Writes go to a temporary folder renamed into place, so a bundle is
either complete or absent. Weights are read with safetensors: nothing is ever unpickled."""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .. import __version__
from ..errors import ModelError, ModelNotFoundError
from ..files import BUNDLE_FORMAT, check_bundle_target, chmod_dir, chmod_file, write_text
from .output import TENSOR_PREFIXES as OUTPUT_TENSORS

FORMAT = BUNDLE_FORMAT


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def save_bundle(folder: str | Path, config: dict, tensors: dict[str, torch.Tensor],
                histories: list[pd.DataFrame], manifest: dict,
                extra_files: dict[str, bytes] | None = None) -> Path:
    """Write a bundle to ``folder`` (atomically: a temporary folder renamed into place).
    ``extra_files``: more files of the bundle by name (for example the reference viruses that
    explanations use), written with the rest."""
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


#: the columns every training history has
HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss")


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
    if missing or extra:
        raise ModelError(f"{where}: tensors {', '.join(missing) or 'none'} missing and "
                         f"{', '.join(extra) or 'none'} unexpected for the config "
                         f"({model.model_config.label}, {len(names)} features, {len(drugs)} drugs, "
                         f"{model.n_members} member(s)); the weights belong to another model")
    for name, shape in expected.items():
        got = tuple(tensors[name].shape)
        if got != shape:
            raise ModelError(f"{where}: tensor {name!r} has shape {got}, the config "
                             f"({model.model_config.label}, {len(names)} features, {len(drugs)} "
                             f"drugs, {model.n_members} member(s)) expects {shape}; the weights "
                             "belong to another model")
        if not torch.isfinite(tensors[name]).all():
            raise ModelError(f"{where}: tensor {name!r} holds NaN or infinite values")
    return torch.cat([tensors[name].reshape(model.n_members, -1).float()
                      for name in expected], 1)
