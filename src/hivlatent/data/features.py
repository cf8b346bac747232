"""A model's input from data that names its features: the data's columns put in the model's order.

A :class:`~hivlatent.data.Dataset` names its columns (``feature_names``), so does a DataFrame
(its columns); a bare array names none and is read as it is. Matching by name is what lets a
model trained on one table (``nrti``, 213 features) read rows of another (``nrti-1246``, 228),
and it is where the two can disagree: a feature the model knows that the data lack (the data
cannot say whether a virus carries it), and a mutation of the data the model never saw (it
cannot be used). :func:`align_features` finds both; the caller decides what they mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError

#: how a model's feature that the data lack is read (``missing=`` of the model's methods)
MISSING = ("error", "absent")


@dataclass(frozen=True)
class AlignedFeatures:
    X: np.ndarray               # (n, model features) float32, in the model's order
    absent: list[str]           # the model's features the data lack (read as 0 in X)
    unused: list[str]           # the data's features unknown to the model, carried by some row

    def notes(self) -> list[str]:
        """One line for each kind of mismatch (nothing dropped silently)."""
        out = []
        if self.absent:
            out.append(f"{len(self.absent)} of the model's features are not in the data and read "
                       f"as absent: {_some(self.absent)}")
        if self.unused:
            out.append(f"{len(self.unused)} mutations of the data are unknown to the model and "
                       f"not used: {_some(self.unused)}")
        return out

    def lacking(self, what: str) -> str:
        """The one-line error for a model's features that ``what`` (the data) lack."""
        return (f"{what} lacks {len(self.absent)} of the model's {self.X.shape[1]} features "
                f"({_some(self.absent, 8)}): a virus carrying one would be read as without it; "
                "give data with these columns, or read them as absent with "
                "model.model_input(data, missing='absent')")


def _some(names: list[str], n: int = 10) -> str:
    return ", ".join(names[:n]) + (" ..." if len(names) > n else "")


def feature_names_of(data) -> list[str] | None:
    """The data's feature names: a Dataset's ``feature_names``, a DataFrame's columns; None for
    data that names none (an array)."""
    names = getattr(data, "feature_names", None)
    if names is None and hasattr(data, "columns") and hasattr(data, "to_numpy"):
        names = data.columns
    return None if names is None else [str(n) for n in names]


def align_features(data, model_features: list[str]) -> AlignedFeatures:
    """``data``'s columns in the order of ``model_features`` (a feature the data lack is 0),
    with the mismatches. ``data`` must name its features (:func:`feature_names_of`)."""
    names = feature_names_of(data)
    if hasattr(data, "X"):                                    # a Dataset: one array
        X = np.asarray(data.X, dtype=np.float32)
        column = lambda i: X[:, i]                            # noqa: E731
    else:                                                     # a DataFrame: column by column
        column = lambda i: data.iloc[:, i].to_numpy()         # noqa: E731
    where = {f: i for i, f in enumerate(names)}
    out = np.zeros((len(data.X) if hasattr(data, "X") else len(data), len(model_features)),
                   dtype=np.float32)
    for j, f in enumerate(model_features):
        if f in where:
            try:
                out[:, j] = np.asarray(column(where[f]), dtype=np.float32)
            except (TypeError, ValueError):
                raise DataError(f"feature column {f!r}: not numeric; expected 0/1 (or a "
                                "mixture's fraction) per virus") from None
    known = set(model_features)
    unused = [f for f in names if f not in known and np.any(column(where[f]) != 0)]
    return AlignedFeatures(out, [f for f in model_features if f not in where], unused)


__all__ = ["AlignedFeatures", "MISSING", "align_features", "feature_names_of"]
