"""The measured viruses a model was trained on, kept beside it for explanations: their ids,
latent means, measured log10 fold changes, and how often each residue occurs at each position of
the training table (to flag mutations that are unusual at their position).

Stored in a model bundle as ``reference.npz`` (plain arrays, read with ``allow_pickle=False``) and
``reference.json`` (drugs and residue counts).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError

NPZ, JSON = "reference.npz", "reference.json"


@dataclass(frozen=True)
class Reference:
    ids: np.ndarray                 # (n,) str
    latent: np.ndarray              # (n, k) latent means of the model's first working member
    log_fold: np.ndarray            # (n, d) measured log10 fold changes, NaN = not tested
    drugs: list[str]
    gene: str
    counts: dict[int, dict[str, int]] = field(default_factory=dict)  # position -> residue -> n
    n_sequences: int = 0

    @classmethod
    def build(cls, model, dataset, table=None) -> "Reference":
        """From a trained model and its training Dataset; residue counts from the raw ``table``
        (a :class:`~hivlatent.data.hivdb_tables.GenoPhenoTable`) when given, else from the features."""
        X, _ = model.aligned_input(dataset)
        counts: dict[int, dict[str, int]] = {}
        if table is not None:
            from ..data.encoding import encode_cells

            columns, _ = encode_cells(table, "all")
            for (pos, res), col in columns.items():
                counts.setdefault(int(pos), {})[res] = int(col.sum())
            n = table.n_rows
        else:
            from ..data.mutations import parse_feature

            for j, name in enumerate(model.feature_names):
                m = parse_feature(name, model.gene)
                counts.setdefault(m.position, {})[next(iter(m.residues))] = int(X[:, j].sum())
            n = len(X)
        return cls(np.asarray(dataset.ids).astype(str), model.get_latent_representation(X),
                   np.asarray(dataset.log_fold, dtype=np.float64), list(dataset.drugs),
                   model.gene, counts, int(n))

    def to_files(self) -> dict[str, bytes]:
        buf = io.BytesIO()
        np.savez(buf, ids=self.ids.astype(str), latent=self.latent.astype(np.float32),
                 log_fold=self.log_fold.astype(np.float64))
        meta = {"drugs": self.drugs, "gene": self.gene, "n_sequences": self.n_sequences,
                "counts": {str(p): c for p, c in sorted(self.counts.items())}}
        return {NPZ: buf.getvalue(), JSON: json.dumps(meta).encode()}

    @classmethod
    def load(cls, folder: str | Path, model=None) -> "Reference | None":
        """The bundle's reference, or None when it has none; a damaged one is a one-line
        ModelError. ``model``: the bundle's model, whose latent size and drugs it must fit."""
        folder = Path(folder)
        if not (folder / NPZ).exists() and not (folder / JSON).exists():
            return None
        try:
            for name in (NPZ, JSON):
                if not (folder / name).is_file():
                    raise ValueError(f"{name} is missing or not a regular file")
            with np.load(folder / NPZ, allow_pickle=False) as z:
                ids, latent, log_fold = z["ids"], z["latent"], z["log_fold"]
            meta = json.loads((folder / JSON).read_text(encoding="utf-8"))
            counts = {int(p): {str(r): int(v) for r, v in c.items()}
                      for p, c in meta["counts"].items()}
            ref = cls(ids, latent, log_fold, list(meta["drugs"]), str(meta["gene"]), counts,
                      int(meta["n_sequences"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
                zipfile.BadZipFile) as exc:
            raise ModelError(f"{folder}: the reference viruses are unreadable "
                             f"({' '.join(str(exc).split())[:200]}); the model folder is "
                             "damaged") from None
        if ids.ndim != 1 or latent.ndim != 2 or log_fold.ndim != 2 \
                or not (len(ids) == len(latent) == len(log_fold)) \
                or log_fold.shape[1] != len(ref.drugs):
            raise ModelError(f"{folder}: the reference viruses' arrays do not fit each other")
        if not len(ids) or not np.isfinite(latent).all():
            raise ModelError(f"{folder / NPZ}: no reference viruses, or NaN or infinite latent "
                             "means; the model folder is damaged")
        if model is not None and (latent.shape[1] != model.model_config.latent
                                  or ref.drugs != list(model.drugs) or ref.gene != model.gene):
            raise ModelError(f"{folder}: the reference viruses ({latent.shape[1]} latent "
                             f"dimensions, drugs {', '.join(ref.drugs)}, {ref.gene}) do not fit "
                             f"the model ({model.model_config.latent}, "
                             f"{', '.join(model.drugs)}, {model.gene})")
        return ref

    def nearest(self, z: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Indices (m, k) and Euclidean distances (m, k) of the k nearest reference viruses to
        each latent point of ``z`` (m, latent), nearest first."""
        z = np.atleast_2d(np.asarray(z, dtype=np.float64))
        ref = self.latent.astype(np.float64)
        d2 = (z ** 2).sum(1)[:, None] - 2 * z @ ref.T + (ref ** 2).sum(1)[None, :]
        k = min(k, len(ref))
        idx = np.argsort(d2, axis=1, kind="stable")[:, :k]
        return idx, np.sqrt(np.maximum(np.take_along_axis(d2, idx, 1), 0.0))

    def count(self, position: int, residue: str) -> int:
        """How many training viruses carry ``residue`` at ``position`` (mixtures count)."""
        return int(self.counts.get(int(position), {}).get(residue, 0))
