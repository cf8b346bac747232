"""hivlatent: latent representations of HIV-1 drug-resistance genotypes.

    >>> from hivlatent import load_dataset, VAEModel, ModelConfig, TrainConfig
"""

from __future__ import annotations

__version__ = "0.4.0"

_EXPORTS = {
    "load_dataset": "hivlatent.data", "resolve_data": "hivlatent.data", "Dataset": "hivlatent.data",
    "ModelConfig": "hivlatent.config", "TrainConfig": "hivlatent.config",
    "VAEModel": "hivlatent.model", "FitTask": "hivlatent.model", "fit_many": "hivlatent.model",
    "VAEEncoder": "hivlatent.estimators",
    "run_study": "hivlatent.study", "StudyConfig": "hivlatent.study",
    "evaluate": "hivlatent.evaluation", "predict": "hivlatent.prediction",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    """Import on first use, so `hivlatent --version` does not load torch."""
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hivlatent' has no attribute {name!r}")
