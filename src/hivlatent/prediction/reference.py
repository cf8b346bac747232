"""The measured viruses a model was trained on, kept beside it for explanations: their ids,
latent means, measured log10 fold changes, and how often each residue occurs at each position of
the training table (to flag mutations that are unusual at their position).

Stored in a model bundle as ``reference.npz`` and ``reference.json``
(:func:`hivlatent.bundle.reference_files`, :func:`hivlatent.bundle.load_reference`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np



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
