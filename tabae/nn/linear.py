"""Linear maps whose output row depends on its input row alone, bit for bit.

``torch.nn.functional.linear(x, W)`` computes ``x @ W.T``, with the batch's rows as
the matrix kernel's row dimension. On some CPUs (an AVX-512 MKL build, measured on an
AMD EPYC) small shapes take kernels that sum a row's products in an order that
depends on the row's position in the batch (264 of 1,215 shapes tried: 5-40 inputs,
4-20 outputs, a narrow table's first layer or a small head), so the same row imputed
or scored at another position, or in another chunk, differed in its last bits; a
contiguous ``W.T`` only moved the problem (228 shapes). Computing ``(W @ x.T).T``
puts the batch's rows on the kernel's other dimension, where every row gets the same
instruction sequence: identical rows at every position for all 1,215 shapes, at the
same speed (the result is a transposed view; the next layer's product reads it as
it is).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Linear", "linear", "times_transposed"]


def times_transposed(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x @ weight.T`` row by row: ``(N, K) x (M, K) -> (N, M)``."""
    return (weight @ x.T).T


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``torch.nn.functional.linear``, with every output row a function of its input row alone."""
    flat = x.reshape(-1, x.shape[-1])
    out = weight @ flat.T if bias is None else torch.addmm(bias[:, None], weight, flat.T)
    return out.T.reshape(*x.shape[:-1], weight.shape[0])


class Linear(nn.Linear):
    """``torch.nn.Linear`` computed by :func:`linear` (same parameters, same saved names)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
