"""The prediction side of the semi model: from the VAE heads' outputs to one predictive
distribution per virus and drug. Fitted by :mod:`hivlatent.training` (through
:mod:`hivlatent.model`), read by :mod:`hivlatent.prediction` and :mod:`hivlatent.evaluation`.

:mod:`.output_layer` (the blend of heads, forest and ridge, the residual sd and the interval's
scale: :class:`~.output_layer.OutputLayer`), :mod:`.forest` and :mod:`.linear` (the per-drug
random forest and ridge on the raw mutations, as plain arrays), :mod:`.calibration` (P(resistant)
and its per-drug recalibration), :mod:`.distribution` (:class:`PredictiveDistribution`: fold
change, interval, P(resistant) and call).
"""

from .distribution import PredictiveDistribution, call_sir, capped_interval, log_caps

__all__ = ["PredictiveDistribution", "call_sir", "capped_interval", "log_caps"]
