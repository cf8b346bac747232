"""hivlatent: latent representations of HIV-1 drug-resistance genotypes."""

__version__ = "0.1.0"
