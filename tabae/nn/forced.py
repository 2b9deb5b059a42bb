"""Draw a column already meeting a condition, and the probability it would have met it.

Conditional sampling by plain rejection draws whole rows until enough meet the
condition: a level held by 0.1% of the rows costs a thousand draws per row kept. The
autoregressive decoder can do better. When the fill reaches a conditioned column it
draws the cell from the head *restricted* to the allowed values, and records the
probability ``w`` that an unrestricted draw would have been allowed. A row drawn this
way, kept with probability ``w / B`` (``B`` an upper bound of ``w``), is an exact draw
from the model given the condition (rejection sampling with the restricted draw as
proposal: tabae/synthesize.py). The rows kept per row drawn are ``E[w] / B`` instead of
``E[w]``, so a rare level that no latent code makes likely is found as fast as a common
one.

Forced here: a categorical value (a set of levels of a one-hot column) and a hole (the
column missing). Numeric ranges are left to plain rejection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tabae.seeding import RowRandom

__all__ = ["ForcedLevels", "ForcedMissing"]


def _observed_probability(mask_logit: torch.Tensor, missing_rate: float) -> torch.Tensor:
    """P(the cell is observed) ``(N,)``: the mask head, or 1 for a column never missing at fit."""
    if missing_rate <= 0:
        return torch.ones(len(mask_logit), device=mask_logit.device)
    return torch.sigmoid(mask_logit[:, 0])


@dataclass(frozen=True)
class ForcedLevels:
    """The column's cell is one of the levels whose slots are ``allowed`` ``(W,)`` bool
    (its one-hot span, padded like the span index), and observed.

    Levels too rare for a slot of their own share the span's last slot and are told
    apart when decoding, by each row's uniform over their frequencies. When some of the
    allowed levels are among them, ``rare_intervals`` ``(k, 2)`` holds the allowed ones'
    stretches of that uniform's range, ``rare_share`` their total frequency among the
    rare levels and ``other_position`` the shared slot's position in the encoded row:
    :meth:`decoding` maps a row's uniform into those stretches, and a row that drew
    the shared slot had, unrestricted, ``rare_share`` times its slot's probability of
    meeting the condition.
    """

    allowed: torch.Tensor
    rare_intervals: np.ndarray | None = None
    rare_share: float = 1.0
    other_position: int = -1

    def decoding(self, u: np.ndarray, X: np.ndarray, met: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The column's decoding uniforms ``u`` and the rows' probabilities ``met``, given
        the encoded rows ``X``: a row that drew the shared rare slot decodes to an allowed
        rare level, and had ``rare_share`` times less chance of meeting the condition."""
        if self.rare_intervals is None:
            return u, met
        return self._rare_uniforms(u), np.where(X[:, self.other_position] > 0.5, met * self.rare_share, met)

    def _rare_uniforms(self, u: np.ndarray) -> np.ndarray:
        """Uniforms that make the shared slot decode to an allowed rare level, each with
        its frequency among them (the intervals laid end to end over ``(0, 1)``)."""
        lo, hi = self.rare_intervals[:, 0], self.rare_intervals[:, 1]
        ends = np.cumsum(hi - lo)
        t = u * ends[-1]
        k = np.minimum(np.searchsorted(ends, t, side="right"), len(lo) - 1)
        start = ends[k] - (hi - lo)[k]
        margin = 1e-9 * (hi[k] - lo[k])  # stay inside the stretch despite rounding in the decoder
        return np.clip(lo[k] + (t - start), lo[k] + margin, hi[k] - margin)

    def draw(self, mean, mask_logit, span_index, missing_rate: float, rand: RowRandom, stream: int):
        """Cells ``(N, width)``, observed flags ``(N,)`` and probabilities ``(N,)``."""
        pos = span_index.cat_pos[0]  # the column's only span, positions within its block
        valid = span_index.cat_valid[0]
        logits = mean[:, pos].masked_fill(~valid, float("-inf"))  # (N, W)
        allowed = self.allowed[: len(pos)] & valid
        p_allowed = torch.softmax(logits, dim=1)[:, allowed].sum(1)
        # Gumbel-max among the allowed slots: the head restricted to them, renormalised.
        u = rand.uniform(stream + 2, len(pos))
        choice = (logits.masked_fill(~allowed, float("-inf")) - torch.log(-torch.log(u))).argmax(1)
        cells = torch.zeros_like(mean)
        cells[torch.arange(len(mean), device=mean.device), pos[choice]] = 1.0
        seen = torch.ones(len(mean), dtype=torch.bool, device=mean.device)
        return cells, seen, p_allowed * _observed_probability(mask_logit, missing_rate)


@dataclass(frozen=True)
class ForcedMissing:
    """The column's cell is missing (its value is drawn, then hidden)."""

    def decoding(self, u: np.ndarray, X: np.ndarray, met: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nothing to adjust when decoding: the cell is missing."""
        return u, met

    def draw(self, mean, mask_logit, span_index, missing_rate: float, rand: RowRandom, stream: int):
        seen = torch.zeros(len(mean), dtype=torch.bool, device=mean.device)
        return torch.zeros_like(mean), seen, 1.0 - _observed_probability(mask_logit, missing_rate)
