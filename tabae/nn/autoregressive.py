"""Column-autoregressive corrections to the decoder's heads (MADE masks over columns).

A VAE decoder draws every cell independently given the latent code, so columns that
pin each other down (``education`` and ``education-num``; the label given the rest) are
drawn inconsistently unless the latent code carries all of it. This module adds to the
outputs of column ``j`` a function of the *previous* columns' cells (table order, values
and observed flags), so the model factorises as ``p(x | z) = prod_j p(x_j | z, x_<j)``.

Training feeds the real previous cells (teacher forcing: one pass, like the plain
decoder); generation fills the columns one at a time. Every output unit only sees
input units of earlier columns, through masked weights (Germain et al., 2015, MADE):

* a hidden unit of degree ``k`` sees the inputs of columns ``<= k``;
* an output unit of column ``j`` sees hidden units of degree ``< j`` and, through a
  masked direct (linear) path, the inputs of columns ``< j``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tabae.nn.linear import Linear, linear, times_transposed

__all__ = ["ColumnMADE"]


class ColumnMADE(nn.Module):
    """``(N, D_in) -> (N, D_out)``, where output column ``j`` depends on input columns ``< j``.

    The owning column of every input and output unit is set with :meth:`set_columns`
    after construction (the layout comes from the fitted encoder); the masks are
    buffers, so they are saved and loaded with the weights.
    """

    def __init__(self, n_in: int, n_out: int, hidden: int):
        super().__init__()
        self.hidden = Linear(n_in, hidden)
        self.out = Linear(hidden, n_out, bias=False)
        self.skip = Linear(n_in, n_out, bias=False)
        # Start as "no correction": the plain decoder's fit is the starting point.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.skip.weight)
        self.register_buffer("mask_hidden", torch.zeros(hidden, n_in))
        self.register_buffer("mask_out", torch.zeros(n_out, hidden))
        self.register_buffer("mask_skip", torch.zeros(n_out, n_in))

    @torch.no_grad()
    def set_columns(self, in_column: torch.Tensor, out_column: torch.Tensor, n_columns: int) -> None:
        """Build the masks from the owning column (in generation order) of every unit."""
        n_hidden = self.mask_hidden.shape[0]
        # Degrees 0 .. C-2 spread evenly over the hidden units (a degree C-1 unit would
        # feed no output: nothing comes after the last column).
        degree = torch.arange(n_hidden, device=in_column.device) % max(1, n_columns - 1)
        self.mask_hidden.copy_((in_column[None, :] <= degree[:, None]).float())
        self.mask_out.copy_((degree[None, :] < out_column[:, None]).float())
        self.mask_skip.copy_((in_column[None, :] < out_column[:, None]).float())

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        h = F.silu(linear(inputs, self.hidden.weight * self.mask_hidden, self.hidden.bias))
        return linear(h, self.out.weight * self.mask_out) + linear(inputs, self.skip.weight * self.mask_skip)


class IncrementalMADE:
    """The MADE's outputs while cells are filled one column at a time, at linear cost.

    A full pass costs ``O(D_in * (H + D_out))`` per row, and filling C columns one at a
    time with a full pass each costs C times that: the square of the column count.
    Only the filled column's inputs change at each step, so the hidden pre-activations
    are updated by that column's share alone, and only the next column's outputs are read
    out. The direct (linear) path is kept for a *focus* of upcoming output units only
    (a group of columns): one product when the focus moves, small updates inside it.
    """

    def __init__(self, made: ColumnMADE, context: torch.Tensor):
        self.w_hidden = made.hidden.weight * made.mask_hidden  # (H, D_in)
        self.w_out = made.out.weight * made.mask_out  # (D_out, H)
        self.w_skip = made.skip.weight * made.mask_skip  # (D_out, D_in)
        self.context = context.clone()  # (N, D_in)
        self.pre = linear(context, self.w_hidden, made.hidden.bias)  # (N, H)
        self.focus_units = None

    def focus(self, units: torch.Tensor) -> None:
        """Keep the direct path of output ``units`` (the next group of columns) up to date."""
        self.focus_units = units
        self.focus_skip = self.w_skip[units]  # (U, D_in)
        self.direct = linear(self.context, self.focus_skip)  # (N, U)

    def outputs(self, local: torch.Tensor) -> torch.Tensor:
        """The correction to the focused units at positions ``local`` ``(N, len(local))``."""
        return linear(F.silu(self.pre), self.w_out[self.focus_units[local]]) + self.direct[:, local]

    def update(self, inputs: torch.Tensor, values: torch.Tensor) -> None:
        """Set context positions ``inputs`` to ``values`` ``(N, len(inputs))``."""
        delta = values - self.context[:, inputs]
        self.pre += times_transposed(delta, self.w_hidden[:, inputs])
        if self.focus_units is not None:
            self.direct += times_transposed(delta, self.focus_skip[:, inputs])
        self.context[:, inputs] = values
