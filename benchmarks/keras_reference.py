"""The seed's program: the student study's Keras VAE, one Python process per model (Keras 3 /
TensorFlow, tensorflow-cpu 2.21; optional, never a dependency of hivlatent).

    python benchmarks/keras_reference.py [--likelihood mse|bernoulli] [--seed 0] [--json out.json]
    python benchmarks/keras_reference.py --quick       # 2 models of 2 and 3 epochs (smoke test)

A faithful replica of ``shared/reference/vae-hiv-report.txt`` run the way a student runs it: every
configuration of the study's grid is trained by a fresh ``python`` process that imports
TensorFlow, reads X.csv, builds the model, fits it and exits. The wall time of each process
(start-up, import, data, model, fit) and of the whole grid is printed and, with ``--json``,
written. Nothing of hivlatent is imported (numpy, pandas when present, tensorflow only).

The model (the report's summaries; Keras defaults: Glorot-uniform weights, zero biases):

    encoder  Input(228) -> Dense(h, relu) -> Dense(2 x latent) -> Lambda: split the 2 x latent
             outputs into mean and log-variance, z = mean + exp(log-variance / 2) * eps,
             eps ~ N(0, I)  (h = 128, latent = 10: 29,312 + 2,580 = 31,892 parameters)
    decoder  Input(latent) -> Dense(h, relu) -> Dense(228, sigmoid)  (1,408 + 29,412 = 30,820)
    loss     per virus, as the Keras VAE example: 228 x mean over the 228 features of the squared
             error (mse, the study) or of the binary cross-entropy (bernoulli), plus
             KL = -0.5 x sum over latent of (1 + log-variance - mean^2 - exp(log-variance));
             averaged over the batch
    fit      Adam (lr 1e-3), vae.fit(X, X, epochs, batch_size, validation_split=0.2) (Keras
             holds out the last 20% of the rows: 996 train, 250 validation; shuffle per epoch)

Keras 3 has no symbolic ``add_loss``, so the VAE model outputs the reconstruction concatenated
with the encoder's 2 x latent statistics and the compiled loss splits them: the same loss and
gradients as the example's ``vae.add_loss(K.mean(reconstruction_loss + kl_loss))``.

The grid (14 models, one seed each): epochs {50, 100, 150} x batch {16, 32, 128} at 128 hidden
units and latent 10 (9); 64 and 256 hidden units at 100 epochs, batch 32 (2); latent {2, 5, 20}
at the best of those 11 by final validation loss (3; latent 10 is already trained).

Without TensorFlow (for the interpreter that runs the models, ``--python``) it prints one line
and exits 0, so CI can call it. Data: $HIVLATENT_DATA_DIR/X.csv (1246 x 229: ``row`` then 228
0/1 columns), default ../shared/data/hivdb beside the checkout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data" / "hivdb"
PIP_HINT = "pip install tensorflow-cpu==2.21.*"


# ----------------------------------------------------------------------------- the grid
@dataclass(frozen=True)
class Grid:
    epochs: tuple[int, ...] = (50, 100, 150)
    batch_sizes: tuple[int, ...] = (16, 32, 128)
    hidden: int = 128
    latent: int = 10
    hidden_sizes: tuple[int, ...] = (64, 256)
    hidden_epochs: int = 100
    hidden_batch: int = 32
    latent_sizes: tuple[int, ...] = (2, 5, 20)

    @classmethod
    def quick(cls) -> Grid:
        """Two models (2 and 3 epochs, batch 128), no second stage: a smoke test."""
        return cls(epochs=(2, 3), batch_sizes=(128,), hidden_sizes=(), latent_sizes=())


@dataclass(frozen=True)
class Config:
    stage: str
    hidden: int
    latent: int
    epochs: int
    batch_size: int

    @property
    def slug(self) -> str:
        return f"h{self.hidden}-z{self.latent}-e{self.epochs}-b{self.batch_size}"


def stage1(g: Grid) -> list[Config]:
    pts = [Config("epochs x batch", g.hidden, g.latent, e, b)
           for e in g.epochs for b in g.batch_sizes]
    pts += [Config("hidden units", h, g.latent, g.hidden_epochs, g.hidden_batch)
            for h in g.hidden_sizes if h != g.hidden]
    return pts


def stage2(g: Grid, best: Config) -> list[Config]:
    return [Config("latent size", best.hidden, z, best.epochs, best.batch_size)
            for z in g.latent_sizes if z != best.latent]


# ----------------------------------------------------------------------------- one model
def load_x(data_dir: Path):
    """X.csv as a float32 (1246, 228) array: pandas when installed (as a student would),
    else numpy."""
    import numpy as np

    path = data_dir / "X.csv"
    try:
        import pandas as pd
    except ImportError:
        with open(path) as f:
            header = f.readline().strip().split(",")
        x = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, len(header)))
    else:
        x = pd.read_csv(path).drop(columns="row").to_numpy()
    return x.astype("float32")


def build_vae(n_features: int, hidden: int, latent: int, likelihood: str, seed: int):
    """The report's encoder and decoder, the VAE joining them and the Keras example's loss.
    Returns (vae, encoder, decoder, loss function)."""
    import keras
    from keras import layers, ops

    noise = keras.random.SeedGenerator(seed)

    def sampling(stats):
        z_mean, z_log_var = stats[:, :latent], stats[:, latent:]
        eps = keras.random.normal(ops.shape(z_mean), seed=noise)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    inputs = keras.Input(shape=(n_features,))
    h = layers.Dense(hidden, activation="relu")(inputs)
    stats = layers.Dense(2 * latent)(h)
    z = layers.Lambda(sampling, output_shape=(latent,))(stats)
    encoder = keras.Model(inputs, [stats, z], name="encoder")

    latent_inputs = keras.Input(shape=(latent,))
    d = layers.Dense(hidden, activation="relu")(latent_inputs)
    outputs = layers.Dense(n_features, activation="sigmoid")(d)
    decoder = keras.Model(latent_inputs, outputs, name="decoder")

    stats_out, z_out = encoder(inputs)
    vae = keras.Model(inputs, layers.Concatenate()([decoder(z_out), stats_out]), name="vae")

    def vae_loss(x_true, y_pred):
        x_hat, st = y_pred[:, :n_features], y_pred[:, n_features:]
        if likelihood == "bernoulli":
            recon = keras.losses.binary_crossentropy(x_true, x_hat)
        else:
            recon = keras.losses.mean_squared_error(x_true, x_hat)
        recon = recon * n_features
        z_mean, z_log_var = st[:, :latent], st[:, latent:]
        kl = -0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
        return recon + kl

    return vae, encoder, decoder, vae_loss


def train_one(cfg: Config, data_dir: Path, likelihood: str, seed: int, t_start: float) -> dict:
    """The student's script for one configuration: import TensorFlow, read the data, build the
    VAE, fit it. Runs in its own process; returns its timings and final losses."""
    t0 = time.perf_counter()
    # the import is part of what each of a student's runs costs
    import keras
    import tensorflow as tf
    t_import = time.perf_counter() - t0

    x = load_x(data_dir)
    n_features = x.shape[1]
    keras.utils.set_random_seed(seed)
    vae, encoder, decoder, vae_loss = build_vae(n_features, cfg.hidden, cfg.latent, likelihood,
                                                seed)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=vae_loss)
    t1 = time.perf_counter()
    hist = vae.fit(x, x, epochs=cfg.epochs, batch_size=cfg.batch_size, validation_split=0.2,
                   verbose=0)
    t_fit = time.perf_counter() - t1
    loss, val = hist.history["loss"], hist.history["val_loss"]
    return {"import_seconds": round(t_import, 3), "fit_seconds": round(t_fit, 3),
            "process_seconds": round(time.perf_counter() - t_start, 3),
            "final_loss": float(loss[-1]), "final_val_loss": float(val[-1]),
            "epochs_run": len(loss), "n_params": int(encoder.count_params() + decoder.count_params()),
            "n_rows": int(x.shape[0]), "n_features": int(n_features),
            "tensorflow": tf.__version__, "keras": keras.__version__}


# ----------------------------------------------------------------------------- the grid run
@dataclass
class Result:
    config: Config
    wall_seconds: float
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {**asdict(self.config), "slug": self.config.slug,
                "wall_seconds": round(self.wall_seconds, 3), **self.detail}


def data_dir_default() -> Path:
    return Path(os.environ.get("HIVLATENT_DATA_DIR", DEFAULT_DATA_DIR))


def tensorflow_missing(python: str) -> bool:
    """True when ``python`` cannot find the tensorflow package (cheap: no import)."""
    # (not resolve(): a venv's python is a symlink to the base interpreter, but its packages differ)
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        return importlib.util.find_spec("tensorflow") is None
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('tensorflow') is None)"
    try:
        return subprocess.run([python, "-c", code], capture_output=True, check=False).returncode != 0
    except OSError:
        return True


def skip_line(python: str) -> str:
    who = "" if os.path.abspath(python) == os.path.abspath(sys.executable) else f" for {python}"
    return f"keras_reference: tensorflow-cpu is not installed{who} ({PIP_HINT}); skipped"


def run_one_process(cfg: Config, python: str, data_dir: Path, likelihood: str, seed: int) -> Result:
    """A fresh interpreter trains ``cfg``; its wall time is measured from here."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    cmd = [python, str(Path(__file__).resolve()), "--_one", json.dumps(asdict(cfg)),
           "--data-dir", str(data_dir), "--likelihood", likelihood, "--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"the Keras model {cfg.slug} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    detail = json.loads(proc.stdout.strip().splitlines()[-1])
    return Result(cfg, wall, detail)


def say(message: str) -> None:
    print(message, flush=True)


def run_grid(python: str | None = None, data_dir: Path | None = None, likelihood: str = "mse",
             seed: int = 0, quick: bool = False, log=say) -> dict | None:
    """Train the study's grid with one ``python`` process per model. Returns the measurements
    (dict, as written by --json), or None after printing the skip line when ``python`` has no
    TensorFlow."""
    python = python or sys.executable
    data_dir = Path(data_dir) if data_dir else data_dir_default()
    if tensorflow_missing(python):
        log(skip_line(python))
        return None
    if not (data_dir / "X.csv").is_file():
        raise FileNotFoundError(f"{data_dir / 'X.csv'} not found: set HIVLATENT_DATA_DIR")
    grid = Grid.quick() if quick else Grid()
    load_before = os.getloadavg()
    results: list[Result] = []
    t0 = time.perf_counter()

    def train(cfgs: list[Config]) -> None:
        for cfg in cfgs:
            r = run_one_process(cfg, python, data_dir, likelihood, seed)
            results.append(r)
            d = r.detail
            log(f"  {cfg.slug:<22} {r.wall_seconds:7.1f} s  (import {d['import_seconds']:.1f} s, "
                f"fit {d['fit_seconds']:.1f} s)  final loss {d['final_loss']:.4f}, "
                f"val {d['final_val_loss']:.4f}")

    first = stage1(grid)
    log(f"Keras reference: {len(first)} models of stage 1 "
        f"(one `{Path(python).name}` process each, {likelihood}, seed {seed})")
    train(first)
    best = min(results, key=lambda r: r.detail["final_val_loss"]).config
    second = stage2(grid, best)
    log(f"best of stage 1 by final validation loss: {best.slug}")
    if second:
        log(f"stage 2: {len(second)} latent sizes at {best.slug}")
        train(second)
    total = time.perf_counter() - t0
    load_after = os.getloadavg()
    d0 = results[0].detail
    out = {
        "program": "keras_reference", "quick": quick, "likelihood": likelihood, "seed": seed,
        "python": python, "tensorflow": d0["tensorflow"], "keras": d0["keras"],
        "data": str(data_dir / "X.csv"), "n_rows": d0["n_rows"], "n_features": d0["n_features"],
        "models": len(results), "best_stage1": best.slug,
        "grid_seconds": round(total, 3),
        "sum_of_process_seconds": round(sum(r.wall_seconds for r in results), 3),
        "sum_of_fit_seconds": round(sum(r.detail["fit_seconds"] for r in results), 3),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in load_after],
        "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "configurations": [r.to_dict() for r in results],
    }
    log(f"Keras reference grid: {len(results)} models in {total:.1f} s wall "
        f"(fit {out['sum_of_fit_seconds']:.1f} s, the rest start-up, TensorFlow import, data "
        f"and model building); load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after ({os.cpu_count()} cores)")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="The student study's Keras VAE grid, one Python process per model "
                    "(TensorFlow optional: without it one line is printed and the exit code is 0).")
    ap.add_argument("--likelihood", choices=("mse", "bernoulli"), default="mse",
                    help="reconstruction term: mse (the study) or binary cross-entropy")
    ap.add_argument("--quick", action="store_true",
                    help="2 models of 2 and 3 epochs (smoke test)")
    ap.add_argument("--seed", type=int, default=0, help="seed of every model (default 0)")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter that runs each model (default: this one)")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="folder with X.csv (default $HIVLATENT_DATA_DIR, else "
                         "../shared/data/hivdb beside the checkout)")
    ap.add_argument("--_one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._one:  # a child: train one model, print its JSON as the last line
        t_start = time.perf_counter()
        cfg = Config(**json.loads(args._one))
        res = train_one(cfg, args.data_dir or data_dir_default(), args.likelihood, args.seed,
                        t_start)
        print(json.dumps(res), flush=True)
        return 0

    try:
        out = run_grid(args.python, args.data_dir, args.likelihood, args.seed, args.quick)
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"keras_reference: {exc}", file=sys.stderr)
        return 1
    if out is None:
        return 0
    print()
    print("| configuration | stage | wall s | TF import s | fit s | final val loss |")
    print("|---|---|---:|---:|---:|---:|")
    for c in out["configurations"]:
        print(f"| {c['slug']} | {c['stage']} | {c['wall_seconds']:.1f} | "
              f"{c['import_seconds']:.1f} | {c['fit_seconds']:.1f} | {c['final_val_loss']:.4f} |")
    print(f"| **grid ({out['models']} models)** | | **{out['grid_seconds']:.1f}** | | "
          f"{out['sum_of_fit_seconds']:.1f} | |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
