"""The search space of ``hivlatent sweep``: its default, a YAML/TOML file that overrides it, and
the translation of one point of the space into a (ModelConfig, TrainConfig) pair.

A space file maps parameter names to specifications (YAML shown; TOML and JSON work the same)::

    latent:     {type: int, low: 2, high: 16, log: true}
    lr:         {type: float, low: 1.0e-4, high: 3.0e-3, log: true}
    batch_size: {type: categorical, choices: [32, 64]}
    epochs:     {type: int, low: 20, high: 80, step: 10}
    model: semi          # a bare value fixes the parameter (it is no longer searched)
    depth: [1, 2]        # a bare list is a categorical choice

Keys present in the file replace the default's entry of that name; the others keep their
default. A file whose key, type or range is wrong raises a one-line :class:`ConfigError` naming
the file, the key and what was expected.

Parameters (see :data:`DEFAULT_SPACE` for the default ranges):

- ``model``: ``vae`` (plain VAE) or ``semi`` (semi-supervised: per-drug heads on the latent);
- ``latent``: latent dimensions; ``hidden``: width of the first hidden layer; ``depth``: number
  of hidden layers, layer *i* (0-based) having ``max(hidden // 2**i, latent)`` units (the
  decoder mirrors the encoder);
- ``beta``: KL weight; ``sup_weight``: weight of the supervised loss (only drawn when
  ``model`` is ``semi``; a plain VAE has 0); ``lr``: Adam learning rate; ``batch_size``;
  ``epochs``; ``dropout`` (on hidden layers); ``warmup_epochs`` (KL warm-up, fixed at 0 by
  default); ``likelihood`` (``bernoulli`` by default, fixed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:  # Python >= 3.11
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ImportError:
        tomllib = None  # type: ignore[assignment]

from ..config import LIKELIHOODS, SUP_WEIGHT, ModelConfig, TrainConfig
from ..errors import ConfigError
from ..files import is_device

TYPES = ("int", "float", "categorical")
SPEC_KEYS = ("type", "low", "high", "log", "step", "choices")
MODELS = ("vae", "semi")


@dataclass(frozen=True)
class _Kind:
    """What a parameter may be: its numeric kind and the rule its values must follow."""

    kind: str                                  # int | float | choice (categorical only)
    rule: Callable[[Any], bool]
    expected: str                              # the rule in words, for error messages
    help: str


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


KNOWN: dict[str, _Kind] = {
    "model": _Kind("choice", lambda v: v in MODELS, "'vae' or 'semi'",
                   "plain VAE or semi-supervised VAE (per-drug heads on the latent)"),
    "latent": _Kind("int", lambda v: _int(v) and v >= 1, "an integer >= 1", "latent dimensions"),
    "hidden": _Kind("int", lambda v: _int(v) and v >= 1, "an integer >= 1",
                    "width of the first hidden layer (layer i: max(hidden // 2**i, latent))"),
    "depth": _Kind("int", lambda v: _int(v) and 1 <= v <= 8, "an integer from 1 to 8",
                   "number of hidden layers (the decoder mirrors them)"),
    "beta": _Kind("float", lambda v: _num(v) and v >= 0, "a number >= 0", "KL weight"),
    "sup_weight": _Kind("float", lambda v: _num(v) and v >= 0, "a number >= 0",
                        "supervised loss weight (semi-supervised trials only)"),
    "lr": _Kind("float", lambda v: _num(v) and v > 0, "a number > 0", "Adam learning rate"),
    "batch_size": _Kind("int", lambda v: _int(v) and v >= 1, "an integer >= 1", "batch size"),
    "epochs": _Kind("int", lambda v: _int(v) and v >= 1, "an integer >= 1", "training epochs"),
    "dropout": _Kind("float", lambda v: _num(v) and 0 <= v < 1, "a number with 0 <= p < 1",
                     "dropout rate on hidden layers"),
    "warmup_epochs": _Kind("int", lambda v: _int(v) and v >= 0, "an integer >= 0",
                           "KL warm-up epochs (beta rises linearly)"),
    "likelihood": _Kind("choice", lambda v: v in LIKELIHOODS,
                        " or ".join(repr(x) for x in LIKELIHOODS), "reconstruction likelihood"),
}


@dataclass(frozen=True)
class Param:
    """One parameter of the space: searched (int, float, categorical) or fixed (``value``)."""

    name: str
    type: str                                  # int | float | categorical | fixed
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()
    value: Any = None

    @property
    def searched(self) -> bool:
        return self.type != "fixed"

    def suggest(self, trial) -> Any:
        """Draw (or look up, for a re-queued trial) this parameter's value from an Optuna trial."""
        if self.type == "fixed":
            return self.value
        if self.type == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        if self.type == "float":
            return trial.suggest_float(self.name, float(self.low), float(self.high),
                                       step=self.step, log=self.log)
        return trial.suggest_categorical(self.name, list(self.choices))

    def describe(self) -> str:
        """``int 2..32, log`` / ``categorical [16, 32]`` / ``fixed 'bernoulli'``."""
        if self.type == "fixed":
            return f"fixed {self.value!r}"
        if self.type == "categorical":
            return f"categorical [{', '.join(map(repr, self.choices))}]"
        extra = (", log" if self.log else "") + (f", step {self.step:g}" if self.step else "")
        return f"{self.type} {self.low:g}..{self.high:g}{extra}"

    def to_dict(self) -> dict:
        if self.type == "fixed":
            return {"type": "fixed", "value": self.value}
        if self.type == "categorical":
            return {"type": "categorical", "choices": list(self.choices)}
        d: dict[str, Any] = {"type": self.type, "low": self.low, "high": self.high, "log": self.log}
        if self.step:
            d["step"] = self.step
        return d


def _p(name: str, type: str, low=None, high=None, log=False, step=None, choices=(), value=None) -> Param:
    return Param(name, type, low, high, log, step, tuple(choices), value)


#: the default search space (documented in docs/tutorials/sweep.md; ``hivlatent sweep --help``)
DEFAULT_SPACE: dict[str, Param] = {p.name: p for p in (
    _p("model", "categorical", choices=("vae", "semi")),
    _p("latent", "int", 2, 32, log=True),
    _p("hidden", "int", 32, 256, log=True),
    _p("depth", "int", 1, 3),
    _p("beta", "float", 0.1, 4.0, log=True),
    _p("sup_weight", "float", 1.0, 200.0, log=True),
    _p("lr", "float", 1e-4, 1e-2, log=True),
    _p("batch_size", "categorical", choices=(16, 32, 64, 128)),
    _p("epochs", "int", 20, 120, step=10),
    _p("dropout", "float", 0.0, 0.3),
    _p("warmup_epochs", "fixed", value=0),
    _p("likelihood", "fixed", value="bernoulli"),
)}


def default_space() -> dict[str, Param]:
    return dict(DEFAULT_SPACE)


def space_table(space: Mapping[str, Param]) -> list[tuple[str, str, str]]:
    """(name, range, meaning) rows, for --help, the report and the docs."""
    return [(name, p.describe(), KNOWN[name].help) for name, p in space.items()]


# ---------------------------------------------------------------------------------- parsing

def _fail(source: str, key: str, what: str) -> ConfigError:
    return ConfigError(f"search space {source}: {key}: {what}")


def parse_param(name: str, spec: Any, source: str = "(given)") -> Param:
    """One entry of a space mapping: a spec mapping, a bare list (categorical) or a bare value
    (fixed). Raises a one-line ConfigError naming ``source`` and ``name``."""
    if name not in KNOWN:
        raise _fail(source, repr(name), "unknown parameter; expected one of "
                    + ", ".join(KNOWN))
    kind = KNOWN[name]

    def check_value(v: Any, what: str) -> Any:
        if kind.kind == "float" and _int(v):
            v = float(v)
        if not kind.rule(v):
            raise _fail(source, name, f"{what} must be {kind.expected}, got {v!r}")
        return v

    if isinstance(spec, (list, tuple)):
        spec = {"type": "categorical", "choices": list(spec)}
    if not isinstance(spec, Mapping):
        return _p(name, "fixed", value=check_value(spec, "the fixed value"))
    unknown = [k for k in spec if k not in SPEC_KEYS]
    if unknown:
        raise _fail(source, name, f"unknown field {unknown[0]!r}; expected fields "
                    + ", ".join(SPEC_KEYS))
    typ = spec.get("type")
    allowed = ("categorical",) if kind.kind == "choice" else \
        (("int", "categorical") if kind.kind == "int" else ("float", "categorical"))
    if typ not in TYPES:
        raise _fail(source, name, f"'type' must be one of {', '.join(allowed)}, got {typ!r}")
    if typ not in allowed:
        raise _fail(source, name, f"'type' must be {' or '.join(allowed)} for this parameter, "
                    f"got {typ!r}")
    if typ == "categorical":
        extra = [k for k in ("low", "high", "log", "step") if k in spec]
        if extra:
            raise _fail(source, name, f"a categorical parameter takes 'choices', not {extra[0]!r}")
        choices = spec.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            raise _fail(source, name, f"'choices' must be a non-empty list, got {choices!r}")
        checked = tuple(check_value(c, "each choice") for c in choices)
        if len(set(checked)) != len(checked):
            raise _fail(source, name, f"'choices' must not repeat a value, got {list(choices)!r}")
        return _p(name, "categorical", choices=checked)
    if "choices" in spec:
        raise _fail(source, name, f"'choices' belongs to type categorical, not {typ}")
    for k in ("low", "high"):
        if k not in spec:
            raise _fail(source, name, f"type {typ} needs {k!r}")
        v = spec[k]
        if typ == "int" and not _int(v):
            raise _fail(source, name, f"{k!r} must be an integer, got {v!r}")
        if typ == "float" and not _num(v):
            raise _fail(source, name, f"{k!r} must be a number, got {v!r}")
    low, high = check_value(spec["low"], "'low'"), check_value(spec["high"], "'high'")
    if low > high:
        raise _fail(source, name, f"expected 'low' <= 'high', got low={low!r} high={high!r}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise _fail(source, name, f"'log' must be true or false, got {log!r}")
    if log and low <= 0:
        raise _fail(source, name, f"a log scale needs 'low' > 0, got low={low!r}")
    step = spec.get("step")
    if step is not None:
        if typ == "int" and (not _int(step) or step < 1):
            raise _fail(source, name, f"'step' must be an integer >= 1, got {step!r}")
        if typ == "float" and (not _num(step) or step <= 0):
            raise _fail(source, name, f"'step' must be a number > 0, got {step!r}")
        if log and step not in (None, 1):
            raise _fail(source, name, "'step' cannot be combined with 'log: true'")
    return _p(name, typ, low, high, log, step)


def parse_space(mapping: Any, source: str = "(given)", base: Mapping[str, Param] | None = None
                ) -> dict[str, Param]:
    """``base`` (default: :data:`DEFAULT_SPACE`) with the entries of ``mapping`` replaced."""
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"search space {source}: expected a mapping of parameter names to "
                          f"specifications, got {type(mapping).__name__}")
    space = dict(DEFAULT_SPACE if base is None else base)
    for name, spec in mapping.items():
        space[str(name)] = parse_param(str(name), spec, source)
    return space


def read_space_file(path: str | Path) -> dict:
    """The raw mapping of a YAML (.yaml/.yml/.json) or TOML (.toml) space file (one-line
    ConfigError when it cannot be read or parsed, or is not a mapping)."""
    path = Path(path)
    if is_device(path) or path.is_dir():
        raise ConfigError(f"search space {path}: is a folder or a device; expected a YAML or "
                          "TOML file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"search space {path}: cannot read the file ({reason})") from None
    toml = path.suffix.lower() == ".toml"
    if toml and tomllib is None:  # pragma: no cover - Python 3.10 without tomli
        raise ConfigError(f"search space {path}: reading TOML needs Python >= 3.11 or the tomli "
                          "package; expected a YAML file otherwise")
    try:
        data = tomllib.loads(text) if toml else yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        first = " ".join(str(exc).split())
        raise ConfigError(f"search space {path}: not valid {'TOML' if toml else 'YAML'} "
                          f"({first})") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"search space {path}: expected a mapping of parameter names to "
                          f"specifications, got {type(data).__name__}")
    return dict(data)


def load_space(path: str | Path | None, base: Mapping[str, Param] | None = None) -> dict[str, Param]:
    """The default space overridden by the YAML (.yaml/.yml/.json) or TOML (.toml) file ``path``
    (None: the default space itself)."""
    if path is None:
        return dict(DEFAULT_SPACE if base is None else base)
    return parse_space(read_space_file(path), str(path), base)


def space_from_dict(d: Mapping[str, Any]) -> dict[str, Param]:
    """Inverse of :func:`space_to_dict` (the form stored in the study)."""
    out = {}
    for name, spec in d.items():
        if isinstance(spec, Mapping) and spec.get("type") == "fixed":
            out[name] = parse_param(name, spec.get("value"), "(stored)")
        else:
            out[name] = parse_param(name, dict(spec), "(stored)")
    return out


def space_to_dict(space: Mapping[str, Param]) -> dict[str, dict]:
    return {name: p.to_dict() for name, p in space.items()}


def require_semi(space: Mapping[str, Param], why: str, user_given: bool) -> dict[str, Param]:
    """The space restricted to semi-supervised models (for objectives that score the heads).

    A default ``model`` entry is fixed to ``semi``; a ``model`` entry the user wrote that does
    not allow ``semi``, or allows ``vae``, is an error.
    """
    p = space["model"]
    values = [p.value] if p.type == "fixed" else list(p.choices)
    if user_given and values != ["semi"]:
        raise ConfigError(f"search space: model: {why} needs the semi-supervised model; expected "
                          f"model: semi, got {p.describe()}")
    out = dict(space)
    out["model"] = _p("model", "fixed", value="semi")
    return out


# ---------------------------------------------------------------------------------- configs

def suggest(trial, space: Mapping[str, Param]) -> dict[str, Any]:
    """Every parameter's value for ``trial`` (fixed ones included). ``sup_weight`` is drawn only
    for semi-supervised trials (a conditional parameter)."""
    values: dict[str, Any] = {}
    order = ["model"] + [n for n in space if n != "model"]
    for name in order:
        if name not in space:
            continue
        if name == "sup_weight" and values.get("model", "vae") != "semi":
            continue
        values[name] = space[name].suggest(trial)
    return values


def hidden_widths(hidden: int, depth: int, latent: int) -> tuple[int, ...]:
    """Layer i has ``max(hidden // 2**i, latent)`` units."""
    return tuple(max(int(hidden) >> i, int(latent)) for i in range(int(depth)))


def configs(values: Mapping[str, Any], seed: int = 0, val_fraction: float = 0.0
            ) -> tuple[ModelConfig, TrainConfig]:
    """The (ModelConfig, TrainConfig) of one point of the space (missing keys: the configs'
    defaults; ``sup_weight`` of a semi-supervised point without one:
    :data:`hivlatent.config.SUP_WEIGHT`)."""
    semi = values.get("model", "vae") == "semi"
    mdef, tdef = ModelConfig(), TrainConfig()
    latent = int(values.get("latent", mdef.latent))
    hidden = int(values.get("hidden", mdef.hidden[0]))
    depth = int(values.get("depth", len(mdef.hidden)))
    model = ModelConfig(latent=latent, hidden=hidden_widths(hidden, depth, latent),
                        likelihood=str(values.get("likelihood", mdef.likelihood)),
                        supervised=semi, forest=False,
                        dropout=float(values["dropout"]) if "dropout" in values else None)
    train = TrainConfig(
        epochs=int(values.get("epochs", tdef.epochs)),
        batch_size=int(values.get("batch_size", tdef.batch_size)),
        lr=float(values.get("lr", tdef.lr)), beta=float(values.get("beta", tdef.beta)),
        warmup_epochs=int(values.get("warmup_epochs", tdef.warmup_epochs)),
        sup_weight=float(values.get("sup_weight", SUP_WEIGHT)) if semi else 0.0,
        patience=0, val_fraction=val_fraction, seed=int(seed))
    return model, train
