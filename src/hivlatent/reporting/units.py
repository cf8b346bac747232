"""Loss units for axis labels and reports (no matplotlib here: a process that only names the
unit need not import it)."""

from __future__ import annotations

from ..errors import DataError

DEFAULT_UNIT = "nats, summed over the features"


def loss_unit(likelihood: str, n_features: int) -> str:
    """The unit string for loss axes: per sequence, summed over the features.

    ``likelihood`` is ``"bernoulli"`` (cross-entropy, nats) or ``"mse"``/``"gaussian"``
    (squared error).
    """
    key = likelihood.lower()
    if key in {"bernoulli", "bce", "binary_crossentropy"}:
        return f"nats, summed over {n_features} features"
    if key in {"mse", "gaussian", "squared_error"}:
        return f"squared error, summed over {n_features} features"
    raise DataError(f"unknown likelihood {likelihood!r}: expected 'bernoulli' or 'mse'")
