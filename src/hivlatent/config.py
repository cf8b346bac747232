"""Model and training configurations: frozen dataclasses, validated at construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .errors import ConfigError

LIKELIHOODS = ("bernoulli", "mse")


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
    """

    latent: int = 10
    hidden: tuple[int, ...] = (128,)
    likelihood: str = "bernoulli"
    supervised: bool = False
    dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
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
    """How one model is trained. Everything here may differ between models trained together."""

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    beta: float = 1.0
    warmup_epochs: int = 0
    sup_weight: float = 0.0
    patience: int = 0
    val_fraction: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, f"epochs: expected an integer >= 1, got {self.epochs!r}")
        _check(self.batch_size >= 1, f"batch size: expected an integer >= 1, got {self.batch_size!r}")
        _check(self.lr > 0, f"learning rate: expected > 0, got {self.lr!r}")
        _check(self.beta >= 0, f"beta: expected >= 0, got {self.beta!r}")
        _check(self.warmup_epochs >= 0, f"KL warm-up: expected >= 0 epochs, got {self.warmup_epochs!r}")
        _check(self.sup_weight >= 0, f"supervised weight: expected >= 0, got {self.sup_weight!r}")
        _check(self.patience >= 0, f"patience: expected >= 0 (0 = no early stopping), got {self.patience!r}")
        _check(0.0 <= self.val_fraction < 1.0,
               f"validation fraction: expected 0 <= f < 1, got {self.val_fraction!r}")

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
