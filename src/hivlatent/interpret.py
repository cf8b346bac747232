"""Which mutations drive each latent dimension: the decoder's sensitivity
d P(mutation) / d z_k, averaged over the data's latent means (a local, non-linear analogue of a
loading). Positive: moving along z_k makes the mutation more likely."""

from __future__ import annotations

import pandas as pd
import torch

from .nn import vae as V


def decoder_sensitivity(model, data, member: int = 0) -> pd.DataFrame:
    """(features x latent) mean Jacobian of the decoded probabilities at the data's latent means."""
    z = torch.as_tensor(model.get_latent_representation(data, member))
    p = model._params(slice(member, member + 1))
    cfg = model.model_config

    def probs(zz):
        return torch.sigmoid(V.decode(p, cfg, zz[None]))[0].sum(0)

    jac = torch.autograd.functional.jacobian(probs, z)          # (features, n, latent)
    sens = (jac.sum(1) / z.shape[0]).numpy()
    return pd.DataFrame(sens, index=model.feature_names,
                        columns=[f"z{k + 1}" for k in range(cfg.latent)])
