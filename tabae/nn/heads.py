"""Turn head outputs into encoded rows: point predictions or random draws.

Both return a matrix in the encoded layout that :meth:`TableEncoder.inverse_transform`
decodes; a categorical block decodes by its argmax, a Bernoulli unit by ``>= 0.5``.
"""

from __future__ import annotations

import torch

from tabae.nn.losses import SpanIndex, gaussian_scale
from tabae.seeding import RowRandom

__all__ = ["point_rows", "sample_rows", "sample_mask"]


def point_rows(mean: torch.Tensor, index: SpanIndex) -> torch.Tensor:
    """Most likely encoded row: Gaussian means, category logits (argmax later), P(True)."""
    out = mean.clone()
    if index.bin_pos.numel():
        out[:, index.bin_pos] = torch.sigmoid(mean[:, index.bin_pos])
    return out


def sample_rows(
    mean: torch.Tensor,
    raw_scale: torch.Tensor,
    index: SpanIndex,
    rand: RowRandom,
    stream: int,
    numeric_loss: str = "gaussian",
    temperature: float = 1.0,
    residual_scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """One draw from every head: a Gaussian value, a category, a coin flip.

    ``rand`` gives each row its own random numbers (``stream``, ``stream + 1`` and
    ``stream + 2`` are used), so a row's draw never depends on the other rows.
    Gaussian units draw with their predicted scale; a model trained with squared error
    predicts none and uses ``residual_scale`` (per unit, measured after training), or
    1 (the encoded column's own spread) when it has none.
    """
    out = torch.zeros_like(mean)
    if index.n_gauss:
        mu = mean[:, index.gauss_pos]
        if numeric_loss == "gaussian":
            scale = gaussian_scale(raw_scale)
        else:
            scale = torch.ones_like(mu) if residual_scale is None else residual_scale.expand_as(mu)
        out[:, index.gauss_pos] = mu + temperature * scale * rand.normal(stream, mu.shape[1])
    if index.bin_pos.numel():
        p = torch.sigmoid(mean[:, index.bin_pos])
        out[:, index.bin_pos] = (rand.uniform(stream + 1, p.shape[1]) < p).float()
    if index.cat_pos.numel():
        logits = mean[:, index.cat_pos].masked_fill(~index.cat_valid, float("-inf"))  # (N, P, W)
        # Gumbel-max: one categorical draw per span, for all spans at once.
        u = rand.uniform(stream + 2, logits.shape[1] * logits.shape[2]).reshape(logits.shape)
        choice = (logits / temperature - torch.log(-torch.log(u))).argmax(-1)  # (N, P)
        positions = index.cat_pos.gather(1, choice.T).T  # (N, P) feature positions
        out.scatter_(1, positions, 1.0)
    return out


def sample_mask(mask_logits: torch.Tensor, missing_rates: torch.Tensor, rand: RowRandom, stream: int) -> torch.Tensor:
    """Draw which cells are observed; columns never missing at fit stay observed."""
    p = torch.sigmoid(mask_logits)
    return (rand.uniform(stream, p.shape[1]) < p) | (missing_rates <= 0)
