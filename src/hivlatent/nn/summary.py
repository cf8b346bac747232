"""A Keras-style summary of the encoder and decoder: layer, output shape, parameter count."""

from __future__ import annotations

from ..config import ModelConfig


def _table(name: str, rows: list[tuple[str, str, int]]) -> str:
    w1 = max(28, *(len(r[0]) + 2 for r in rows))
    w2 = max(20, *(len(r[1]) + 2 for r in rows))
    line = "_" * (w1 + w2 + 12)
    out = [f'Model: "{name}"', line, f"{'Layer (type)':<{w1}}{'Output Shape':<{w2}}Param #",
           "=" * len(line)]
    for layer, shape, n in rows:
        out.append(f"{layer:<{w1}}{shape:<{w2}}{n:,}")
    total = sum(r[2] for r in rows)
    out += ["=" * len(line), f"Total params: {total:,}", f"Trainable params: {total:,}",
            "Non-trainable params: 0", line]
    return "\n".join(out)


def layer_rows(cfg: ModelConfig, n_features: int, n_drugs: int = 0):
    """(encoder rows, decoder rows, head rows) as (layer, output shape, parameters)."""
    enc = [("input (InputLayer)", f"[(None, {n_features})]", 0)]
    width = n_features
    for i, h in enumerate(cfg.hidden):
        enc.append((f"enc{i} (Dense, ReLU)", f"(None, {h})", width * h + h))
        width = h
    enc.append(("enc_out (Dense: mean, log-var)", f"(None, {2 * cfg.latent})",
                width * 2 * cfg.latent + 2 * cfg.latent))
    enc.append(("z (Sampling)", f"(None, {cfg.latent})", 0))
    dec = [("latent (InputLayer)", f"[(None, {cfg.latent})]", 0)]
    width = cfg.latent
    for i, h in enumerate(reversed(cfg.hidden)):
        dec.append((f"dec{i} (Dense, ReLU)", f"(None, {h})", width * h + h))
        width = h
    act = "logits" if cfg.likelihood == "bernoulli" else "sigmoid"
    dec.append((f"dec_out (Dense, {act})", f"(None, {n_features})", width * n_features + n_features))
    heads = []
    if cfg.supervised:
        n = cfg.latent * n_drugs + n_drugs
        heads = [("latent (InputLayer)", f"[(None, {cfg.latent})]", 0),
                 ("head_fold (Dense: log10 fold)", f"(None, {n_drugs})", n),
                 ("head_res (Dense: resistance logit)", f"(None, {n_drugs})", n)]
    return enc, dec, heads


def parameter_counts(cfg: ModelConfig, n_features: int, n_drugs: int = 0) -> dict[str, int]:
    enc, dec, heads = layer_rows(cfg, n_features, n_drugs)
    return {"encoder": sum(r[2] for r in enc), "decoder": sum(r[2] for r in dec),
            "heads": sum(r[2] for r in heads)}


def summary(cfg: ModelConfig, n_features: int, n_drugs: int = 0) -> str:
    enc, dec, heads = layer_rows(cfg, n_features, n_drugs)
    parts = [_table("encoder", enc), _table("decoder", dec)]
    if heads:
        parts.append(_table("resistance heads", heads))
    return "\n\n".join(parts)
