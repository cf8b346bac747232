"""Model and training configurations (frozen dataclasses, validated at construction) and every
default in one place.

The defaults of the semi-supervised model are the configuration the published evaluation
measures (``hivlatent evaluate``; docs/results/trust.md): the CLI (``train``, ``evaluate``,
``sweep``), the Python API (``VAEModel``, the evaluation's methods) and the sweep's space read
them from here. The plain VAE's
defaults are the study's (Keras-like: 100 epochs, batch 32, 20% validation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

from .errors import ConfigError

LIKELIHOODS = ("bernoulli", "mse")

#: the largest learning rate and validation fraction accepted (beyond them training is noise)
MAX_LR = 1.0
MAX_VAL_FRACTION = 0.5

#: progress callbacks everywhere: ``progress(done, total, description)``
Progress = Callable[[float, float, str], None]

# ------------------------------------------------------------------------------------ defaults
#: latent dimensions and hidden widths of both models
LATENT = 10
HIDDEN = (128,)
#: weight of the supervised terms (log10 fold change and resistance) of the semi model
SUP_WEIGHT = 50.0
#: dropout on the semi model's hidden layers (the plain VAE has none)
SEMI_DROPOUT = 0.2
#: the semi model's training: epochs, early-stopping patience, validation fraction, members
SEMI_EPOCHS = 150
SEMI_PATIENCE = 20
SEMI_VAL_FRACTION = 0.1
SEMI_MEMBERS = 5
#: the fewest measured phenotypes, and resistant viruses among them, a drug needs in a model's
#: training rows before the model answers for it; below either, ``predict`` says so for the drug
#: and shows HIVdb's answer instead, and ``evaluate`` leaves it out. Set by
#: ``benchmarks/too_few.py`` (docs/results/too_few.md): on the INSTI table, with one drug's
#: phenotypes cut to n training viruses, 160 was the smallest n at which RAL, EVG and DTG all
#: kept their held-out balanced accuracy within 0.05 of the full data's (DTG: 0.771 at 140 with
#: 25 resistant, 0.814 at 160 with 28, 0.848 with all 277), and 28 the fewest resistant viruses
#: among those subsets. It withholds BIC (229 measured, 20 resistant) and CAB (17, 8).
MIN_MEASURED = 160
MIN_RESISTANT = 28

# ------------------------------------------------------------- applicability of a prediction
#: measured viruses whose latent distances make a virus's "distance to the training data"
APPLICABILITY_K = 5
#: percentiles of the training viruses' own distances (to their K nearest other training
#: viruses) beyond which a virus is "farther than usual" (caution) and "outside" the training
#: data; chosen from held-out CV folds (benchmarks/applicability.py,
#: docs/methods/applicability.md)
APPLICABILITY_CAUTION = 95.0
APPLICABILITY_OUTSIDE = 99.5

# ------------------------------------------------------------------------ what predict reads
#: the longest FASTA record read (nucleotides or amino acids, gaps removed): aligning to pol
#: takes memory in proportion to the record's length (about 6 kB per letter), so a longer record
#: is refused with an error naming it. 20,000 holds a whole HIV-1 genome (about 9,700 nt) twice
MAX_RECORD_LENGTH = 20_000
#: the most bytes an input (a file, standard input, a gzip file once decompressed) may hold
MAX_INPUT_BYTES = 1 << 30
#: the most residues a typed mixture may list at one position (HIVdb reads a codon standing for
#: more than 4 amino acids as unknown, X): a longer "mixture" is an error naming it
MAX_MIXTURE = 4
#: rows per call of a model when predicting: every call gets exactly this many (the last padded),
#: because a float32 matrix product's rounding depends on the number of rows; so a genotype's
#: answer is the same bits whatever batch it comes in
PREDICT_CHUNK = 64


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape and likelihood.

    ``hidden`` lists the widths of the encoder's hidden layers; the decoder mirrors them.
    ``likelihood``: "bernoulli" (binary cross-entropy on logits, the right one for 0/1 data) or
    "mse" (squared error on sigmoid outputs, for comparison with the study).
    ``supervised``: add per-drug heads on the latent (log10 fold change and resistance), making
    the semi-supervised / multi-task VAE; their loss weight is ``TrainConfig.sup_weight``.
    ``dropout``: on the hidden layers while training (default: :data:`SEMI_DROPOUT` for the semi
    model, none for the VAE). ``forest``: blend each drug's heads with a random forest and a ridge
    regression on the raw mutations (default: yes for the semi model;
    :mod:`hivlatent.predictive.output_layer`).
    """

    latent: int = LATENT
    hidden: tuple[int, ...] = HIDDEN
    likelihood: str = "bernoulli"
    supervised: bool = False
    dropout: float | None = None      # None: SEMI_DROPOUT for the semi model, 0 for the VAE
    forest: bool | None = None        # None: True for the semi model (see predictive.output_layer)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.dropout is None:
            object.__setattr__(self, "dropout", SEMI_DROPOUT if self.supervised else 0.0)
        if self.forest is None:
            object.__setattr__(self, "forest", bool(self.supervised))
        _check(not (self.forest and not self.supervised),
               "forest: only the semi-supervised model has per-drug outputs to blend a forest into")
        _check(isinstance(self.latent, int) and self.latent >= 1,
               f"latent size: expected an integer >= 1, got {self.latent!r}")
        _check(len(self.hidden) >= 1 and all(h >= 1 for h in self.hidden),
               f"hidden widths: expected one or more integers >= 1, got {self.hidden!r}")
        _check(self.likelihood in LIKELIHOODS,
               f"likelihood: expected one of {', '.join(LIKELIHOODS)}, got {self.likelihood!r}")
        _check(0.0 <= self.dropout < 1.0, f"dropout: expected 0 <= dropout < 1, got {self.dropout!r}")

    @property
    def label(self) -> str:
        kind = "semi" if self.supervised else "vae"
        return f"{kind} h{'-'.join(map(str, self.hidden))} z{self.latent} {self.likelihood}"


@dataclass(frozen=True)
class TrainConfig:
    """How one model is trained. Everything here may differ between models trained together.

    ``sup_weight`` weighs the supervised terms of a semi model (a plain VAE has none, so it does
    not use it). :func:`default_train_config` gives the semi model's own defaults."""

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    beta: float = 1.0
    warmup_epochs: int = 0
    sup_weight: float = SUP_WEIGHT
    patience: int = 0
    val_fraction: float = 0.2
    seed: int = 0
    cv_members: bool = False   # ensemble member k validates on fold k of a K-fold split

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "warmup_epochs", "patience", "seed"):
            v = getattr(self, name)
            _check(isinstance(v, int) and not isinstance(v, bool),
                   f"{name.replace('_', ' ')}: expected an integer, got {v!r}")
        names = {"lr": "learning rate", "beta": "beta", "sup_weight": "supervised weight",
                 "val_fraction": "validation fraction"}
        for name, text in names.items():
            v = getattr(self, name)
            _check(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
                   f"{text}: expected a finite number, got {v!r}")
        _check(self.epochs >= 1, f"epochs: expected an integer >= 1, got {self.epochs!r}")
        _check(self.batch_size >= 1, f"batch size: expected an integer >= 1, got {self.batch_size!r}")
        _check(0 < self.lr <= MAX_LR, f"learning rate: expected 0 < lr <= {MAX_LR:g} (Adam; 1e-3 is "
                                      f"usual), got {self.lr!r}")
        _check(self.beta >= 0, f"beta: expected >= 0, got {self.beta!r}")
        _check(self.warmup_epochs >= 0, f"KL warm-up: expected >= 0 epochs, got {self.warmup_epochs!r}")
        _check(self.sup_weight >= 0, f"supervised weight: expected >= 0, got {self.sup_weight!r}")
        _check(self.patience >= 0, f"patience: expected >= 0 (0 = no early stopping), got {self.patience!r}")
        _check(0.0 <= self.val_fraction <= MAX_VAL_FRACTION,
               f"validation fraction: expected 0 <= f <= {MAX_VAL_FRACTION}, got {self.val_fraction!r}")
        _check(not (self.patience and self.val_fraction == 0),
               f"early stopping (patience {self.patience}) watches the validation loss: it needs "
               "a validation fraction > 0 (or patience 0)")

    def beta_at(self, epoch: int) -> float:
        """KL weight in (0-based) ``epoch``: linear warm-up from beta/warmup to beta."""
        if self.warmup_epochs <= 0:
            return self.beta
        return self.beta * min(1.0, (epoch + 1) / self.warmup_epochs)


def to_dict(cfg) -> dict:
    d = asdict(cfg)
    for k, v in d.items():
        if isinstance(v, tuple):
            d[k] = list(v)
    return d


def from_dict(cls, d: dict):
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown keys {sorted(unknown)}; expected {sorted(names)}")
    return cls(**d)


def default_train_config(model: ModelConfig, **overrides) -> TrainConfig:
    """The training defaults of ``model``: the semi model's evaluated setting (150 epochs, early
    stopping with patience 20, each member validating on its own fold of the training rows, so
    that every row has an out-of-fold prediction) or the plain VAE's; ``overrides`` replace
    fields."""
    base = (TrainConfig(epochs=SEMI_EPOCHS, patience=SEMI_PATIENCE,
                        val_fraction=SEMI_VAL_FRACTION, cv_members=True)
            if model.supervised else TrainConfig())
    return replace(base, **overrides)


#: per drug class, the semi model's settings where that class's evaluation chose others than
#: the package-wide ones above (``benchmarks/class_defaults.py``): ModelConfig and TrainConfig
#: fields; a class not listed uses the package-wide defaults
CLASS_DEFAULTS: dict[str, dict[str, dict]] = {}


def class_defaults(drug_class: str | None) -> tuple[ModelConfig, TrainConfig]:
    """The semi model's default configuration for ``drug_class`` (``NRTI``, ``NNRTI``, ``PI``,
    ``INSTI``; None or another name: the package-wide defaults)."""
    own = CLASS_DEFAULTS.get(str(drug_class or "").upper(), {})
    model = ModelConfig(supervised=True, **own.get("model", {}))
    return model, default_train_config(model, **own.get("train", {}))


def default_members(model: ModelConfig) -> int:
    """Ensemble size: :data:`SEMI_MEMBERS` for the semi model, 1 for the plain VAE."""
    return SEMI_MEMBERS if model.supervised else 1


# ---------------------------------------------------------------------------- evaluation
#: how cross-validation folds are drawn (:func:`hivlatent.evaluation.cv.make_folds`): "shared"
#: (one assignment of viruses to folds for every drug, stratified on the drugs' joint label
#: pattern, so a multi-task model or a representation is trained once per fold) or "per-drug"
#: (each drug split on its own label: before 0.4, five times the training of the multi-task models)
FOLD_SCHEME = "shared"
FOLD_SCHEMES = ("shared", "per-drug")
#: processes of an evaluation (``hivlatent evaluate --n-jobs``): 0 = one per core
EVALUATE_JOBS = 0
#: training sets per task of a model trained on the batched engine (the semi model, a VAE): one
#: task trains them together; a fixed number, so results do not depend on the workers
ENGINE_CHUNK = 5


def phenotype_support(measured: int, resistant: int) -> str | None:
    """Why a drug with ``measured`` phenotypes (``resistant`` of them resistant) in a model's
    training rows gets no learned answer, or None when it has enough (:data:`MIN_MEASURED`,
    :data:`MIN_RESISTANT`)."""
    if measured >= MIN_MEASURED and resistant >= MIN_RESISTANT:
        return None
    return (f"too few phenotypes to learn from: {measured} measured, {resistant} resistant; a "
            f"learned answer needs at least {MIN_MEASURED} measured and {MIN_RESISTANT} resistant")


def withheld_drugs(drugs, log_fold, labels) -> dict[str, str]:
    """The drugs with too few phenotypes (``log_fold``, ``labels`` (n, drugs) of the training
    rows) for a learned answer, each with the reason (:func:`phenotype_support`)."""
    import numpy as np

    out = {}
    for j, drug in enumerate(drugs):
        why = phenotype_support(int(np.isfinite(log_fold[:, j]).sum()),
                                int(np.nansum(labels[:, j])))
        if why is not None:
            out[drug] = why
    return out


def supported_drugs(dataset) -> list[str]:
    """The drugs of ``dataset`` with enough phenotypes for a learned answer."""
    skip = withheld_drugs(dataset.drugs, dataset.log_fold, dataset.labels)
    return [d for d in dataset.drugs if d not in skip]
