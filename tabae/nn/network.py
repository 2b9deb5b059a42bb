"""The one network every tabae model uses: encoder MLP -> latent -> decoder MLP -> heads.

Input is the encoded row with unobserved cells zeroed, concatenated with the per-column
observed mask (missingness is an input channel). The single output layer holds, in
order: the means/logits of every encoded feature (D), the raw scales of the Gaussian
units (G), and one "is observed" logit per column (C), used to synthesise realistic holes.
With ``ar_hidden > 0`` (the VAE's default) a :class:`~tabae.nn.autoregressive.ColumnMADE`
adds to each column's outputs a function of the previous columns' cells ("context", laid
out like the encoder's input), so the decoder models ``p(x_j | z, x_<j)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from tabae.nn.autoregressive import ColumnMADE
from tabae.nn.linear import Linear

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
    residual_scale: bool = False  # squared-error models: a measured spread per Gaussian unit
    ar_hidden: int = 0  # hidden width of the column-autoregressive correction (0 = none)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden_dims"] = list(self.hidden_dims)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        return cls(**{**d, "hidden_dims": tuple(d["hidden_dims"])})


def _mlp(widths: list[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:], strict=False):
        layers += [Linear(w_in, w_out), nn.SiLU()]
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
        self.to_latent = Linear(hidden[-1], c.latent_dim * (2 if c.variational else 1))
        self.decoder = _mlp([c.latent_dim, *hidden[::-1]], c.dropout)
        self.head = Linear(hidden[0], c.n_features + c.n_gauss + c.n_columns)
        if c.residual_scale:
            self.register_buffer("residual_scale", torch.ones(c.n_gauss))
        if c.ar_hidden:
            n_in, n_out = c.n_features + c.n_columns, c.n_features + c.n_gauss + c.n_columns
            self.made = ColumnMADE(n_in, n_out, c.ar_hidden)

    def set_columns(self, feature_column: torch.Tensor, gauss_column: torch.Tensor) -> None:
        """Tell the autoregressive part which column owns each unit (after construction)."""
        if not self.config.ar_hidden:
            return
        columns = torch.arange(self.config.n_columns, device=feature_column.device)
        self.made.set_columns(
            torch.cat([feature_column, columns]), torch.cat([feature_column, gauss_column, columns]),
            self.config.n_columns,
        )

    @property
    def autoregressive(self) -> bool:
        return bool(self.config.ar_hidden)

    @staticmethod
    def cells(x: torch.Tensor, m_feat: torch.Tensor, m_col: torch.Tensor) -> torch.Tensor:
        """The encoder's input, also the autoregressive context: values with hidden cells
        zeroed, then the observed flags, ``(N, D + C)``."""
        return torch.cat([x * m_feat, m_col], dim=1)

    def encode(self, x: torch.Tensor, m_feat: torch.Tensor, m_col: torch.Tensor):
        """(N, D), (N, D), (N, C) -> latent mean (N, L), log-variance (N, L) or None, hidden (N, H)."""
        h = self.encoder(self.cells(x, m_feat, m_col))  # (N, H)
        out = self.to_latent(h)
        if self.config.variational:
            mu, logvar = out.chunk(2, dim=1)
            return mu, logvar.clamp(-12.0, 8.0), h
        return out, None, h

    def decode(self, z: torch.Tensor, context: torch.Tensor | None = None):
        """(N, L) -> means/logits (N, D), raw Gaussian scales (N, G), mask logits (N, C).

        ``context`` ``(N, D + C)``: the cells the autoregressive part conditions on,
        laid out like the encoder input (values with hidden cells zeroed, then the
        observed flags); required when the net is autoregressive, ignored otherwise.
        """
        return self.split(self.decode_base(z), context)

    def decode_base(self, z: torch.Tensor) -> torch.Tensor:
        """The latent code's part of every output ``(N, D + G + C)``, before any context."""
        return self.head(self.decoder(z))

    def split(self, base: torch.Tensor, context: torch.Tensor | None):
        """Add the context's correction to ``decode_base`` outputs and split them by kind."""
        if self.config.ar_hidden:
            if context is None:
                raise RuntimeError("an autoregressive decoder needs the context cells (a tabae bug)")
            base = base + self.made(context)
        c = self.config
        return base.split([c.n_features, c.n_gauss, c.n_columns], dim=1)
