"""The one network every tabae model uses: encoder MLP -> latent -> decoder MLP -> heads.

Input is the encoded row with unobserved cells zeroed, concatenated with the per-column
observed mask (missingness is an input channel). The single output layer holds, in
order: the means/logits of every encoded feature (D), the raw scales of the Gaussian
units (G), and one "is observed" logit per column (C), used to synthesise realistic holes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from tabae.nn.gaussian import conditional_mean

__all__ = ["NetConfig", "TabularNet"]


@dataclass
class NetConfig:
    n_features: int  # D: width of the encoded layout
    n_columns: int  # C: one observed-mask channel and one mask logit per column
    n_gauss: int  # G: Gaussian units, each with a predicted scale
    hidden_dims: tuple[int, ...] = (256, 256)  # encoder widths; the decoder mirrors them
    latent_dim: int = 16
    variational: bool = False  # Gaussian latent (mu, logvar) instead of a point
    dropout: float = 0.0
    n_fill: int = 0  # numeric units covered by the Gaussian blended into imputations
    residual_scale: bool = False  # squared-error models: a measured spread per Gaussian unit

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden_dims"] = list(self.hidden_dims)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        return cls(**{**d, "hidden_dims": tuple(d["hidden_dims"])})


def _mlp(widths: list[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(w_in, w_out), nn.SiLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class TabularNet(nn.Module):
    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        c = config
        hidden = list(c.hidden_dims)
        self.encoder = _mlp([c.n_features + c.n_columns, *hidden], c.dropout)
        self.to_latent = nn.Linear(hidden[-1], c.latent_dim * (2 if c.variational else 1))
        self.decoder = _mlp([c.latent_dim, *hidden[::-1]], c.dropout)
        self.head = nn.Linear(hidden[0], c.n_features + c.n_gauss + c.n_columns)
        if c.n_fill:
            # The EM Gaussian and its blend weights (tabae/nn/gaussian.py), set by the
            # model after construction; buffers, so they are saved with the weights.
            self.register_buffer("fill_pos", torch.zeros(c.n_fill, dtype=torch.long))
            self.register_buffer("fill_mean", torch.zeros(c.n_fill))
            self.register_buffer("fill_cov", torch.eye(c.n_fill))
            self.register_buffer("fill_blend", torch.ones(c.n_fill))
        if c.residual_scale:
            self.register_buffer("residual_scale", torch.ones(c.n_gauss))

    def fill_hidden(self, x: torch.Tensor, m_feat: torch.Tensor) -> torch.Tensor:
        """The Gaussian conditional mean of the fill features ``(N, n_fill)``."""
        pos = self.fill_pos
        return conditional_mean(x[:, pos], m_feat[:, pos], self.fill_mean, self.fill_cov)

    def encode(self, x: torch.Tensor, m_feat: torch.Tensor, m_col: torch.Tensor):
        """(N, D), (N, D), (N, C) -> latent mean (N, L), log-variance (N, L) or None, hidden (N, H)."""
        h = self.encoder(torch.cat([x * m_feat, m_col], dim=1))  # (N, H)
        out = self.to_latent(h)
        if self.config.variational:
            mu, logvar = out.chunk(2, dim=1)
            return mu, logvar.clamp(-12.0, 8.0), h
        return out, None, h

    def decode(self, z: torch.Tensor):
        """(N, L) -> means/logits (N, D), raw Gaussian scales (N, G), mask logits (N, C)."""
        out = self.head(self.decoder(z))
        c = self.config
        return out.split([c.n_features, c.n_gauss, c.n_columns], dim=1)
