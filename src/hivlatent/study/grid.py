"""The study's grid (``reference/vae-hiv-report.txt``): epochs {50, 100, 150} x batch size
{16, 32, 128} at 128 hidden units and latent 10; 64 and 256 hidden units at 100 epochs, batch 32;
then latent sizes {2, 5, 10, 20} at the configuration with the lowest final validation loss."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ModelConfig
from ..errors import ConfigError


@dataclass(frozen=True)
class StudyConfig:
    epochs: tuple[int, ...] = (50, 100, 150)
    batch_sizes: tuple[int, ...] = (16, 32, 128)
    hidden: int = 128
    latent: int = 10
    hidden_sizes: tuple[int, ...] = (64, 256)
    hidden_epochs: int = 100
    hidden_batch: int = 32
    latent_sizes: tuple[int, ...] = (2, 5, 10, 20)
    likelihood: str = "mse"
    seeds: int = 1
    seed: int = 0
    val_fraction: float = 0.2
    lr: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_sizes", "hidden_sizes", "latent_sizes"):
            values = tuple(int(v) for v in getattr(self, name))
            if not values or min(values) < 1:
                raise ConfigError(f"study grid {name}: expected positive integers, got {values!r}")
            object.__setattr__(self, name, values)
        if self.seeds < 1:
            raise ConfigError(f"seeds per configuration: expected >= 1, got {self.seeds}")
        ModelConfig(likelihood=self.likelihood)  # validates the likelihood name

    @classmethod
    def quick(cls, **overrides) -> "StudyConfig":
        """A few epochs and a small grid: a smoke test of the whole pipeline."""
        base = dict(epochs=(3, 5), batch_sizes=(32, 128), hidden_sizes=(64,), hidden_epochs=4,
                    latent_sizes=(2, 10))
        base.update(overrides)
        return cls(**base)


@dataclass(frozen=True)
class Point:
    """One configuration of the grid."""

    stage: str
    hidden: int
    latent: int
    epochs: int
    batch_size: int

    @property
    def slug(self) -> str:
        return f"h{self.hidden}-z{self.latent}-e{self.epochs}-b{self.batch_size}"

    @property
    def title(self) -> str:
        return (f"hidden {self.hidden}, latent {self.latent}, "
                f"{self.epochs} epochs, batch {self.batch_size}")


def stage1_points(cfg: StudyConfig) -> list[Point]:
    pts = [Point("epochs x batch", cfg.hidden, cfg.latent, e, b)
           for e in cfg.epochs for b in cfg.batch_sizes]
    pts += [Point("hidden units", h, cfg.latent, cfg.hidden_epochs, cfg.hidden_batch)
            for h in cfg.hidden_sizes]
    return unique_points(pts)


def stage2_points(cfg: StudyConfig, best: Point) -> list[Point]:
    return [Point("latent size", best.hidden, z, best.epochs, best.batch_size) for z in cfg.latent_sizes]


def unique_points(points: list[Point]) -> list[Point]:
    seen, out = set(), []
    for p in points:
        if p.slug not in seen:
            seen.add(p.slug)
            out.append(p)
    return out
