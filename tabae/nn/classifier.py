"""A softmax classifier per categorical column, on the other columns of a completed row.

The imputation blend's categorical candidates were the network, the column's
frequencies and the neighbours' votes. None of them is sharp where a category is a
threshold of one measurement (``mature`` is the mother's age from 35 on, ``premie`` a
pregnancy under 37 weeks): a forest finds the cut exactly, the network and the
neighbours blur it. This classifier sees each numeric value both as it is and as
step features (``value > edge`` at the column's training quantiles), so a single
weight can place a threshold, and the categories of the other columns one-hot; the
blend weighs it per column on held-out cells like the other candidates.

Every product puts the rows on the matrix kernel's second dimension
(:func:`tabae.nn.linear.times_transposed`), so a row's probabilities never depend on
the other rows of the call.
"""

from __future__ import annotations

import torch

from tabae.nn.linear import times_transposed

__all__ = ["N_EDGES", "affordable_rows", "step_edges", "class_features", "fit_column_classifiers",
           "class_probabilities"]

#: Step features per numeric unit (its training quantiles at 1/16 ... 15/16).
N_EDGES = 15
#: L2 penalty on the weights, per row-averaged log-loss (keeps small tables' fits finite).
L2 = 3e-3
#: Most training rows the classifiers are fitted on.
MAX_ROWS = 8192
#: L-BFGS iterations per column.
MAX_ITER = 100
#: Floating-point operations the fits may take (a few seconds on one core).
BUDGET_FLOPS = 3e11


def affordable_rows(n_features: int, n_numeric: int, n_levels: int) -> int:
    """Training rows the classifiers of ``n_levels`` class slots in all (on a layout of
    ``n_features`` encoded features and ``n_numeric`` numeric units) can be fitted on
    within :data:`BUDGET_FLOPS` (each L-BFGS iteration: a forward and backward pass)."""
    n_inputs = n_features + n_numeric * N_EDGES
    return int(min(MAX_ROWS, BUDGET_FLOPS // max(1, 6 * MAX_ITER * n_inputs * n_levels)))


def step_edges(values: torch.Tensor, observed: torch.Tensor, n_edges: int = N_EDGES) -> torch.Tensor:
    """``(G, n_edges)`` quantiles of each numeric unit's observed values (``values``: ``(N, G)``)."""
    q = torch.arange(1, n_edges + 1, dtype=values.dtype, device=values.device) / (n_edges + 1)
    edges = torch.zeros(values.shape[1], n_edges, dtype=values.dtype, device=values.device)
    for g in range(values.shape[1]):
        seen = values[observed[:, g], g]
        if len(seen):
            edges[g] = torch.quantile(seen, q)
    return edges


def class_features(completed: torch.Tensor, numeric: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """``(N, D + G * E)``: the completed encoded row, then each numeric unit's step features."""
    steps = (numeric[:, :, None] > edges[None]).to(completed.dtype)  # (N, G, E)
    return torch.cat([completed, steps.reshape(len(completed), -1)], dim=1)


def feature_owner(feature_column: torch.Tensor, gauss_col: torch.Tensor, n_edges: int = N_EDGES) -> torch.Tensor:
    """The column each feature of :func:`class_features` comes from ``(D + G * E,)``."""
    return torch.cat([feature_column, gauss_col.repeat_interleave(n_edges)])


def fit_column_classifiers(features: torch.Tensor, targets: torch.Tensor, observed: torch.Tensor,
                           keep: torch.Tensor, valid: torch.Tensor, max_iter: int = MAX_ITER) -> tuple[torch.Tensor, torch.Tensor]:
    """One L2-penalised softmax regression per column, fitted by L-BFGS.

    features : (N, F); targets : (N, P) class slots; observed : (N, P) rows where column
    ``p`` is known; keep : (P, F) the features column ``p`` may use (not its own);
    valid : (P, W) the slots of each column. Returns weights ``(P, F, W)`` and biases
    ``(P, W)``; a column with too few rows or one class gets zero weights and its
    smoothed log frequencies as biases.
    """
    n_spans, width = valid.shape
    weight = torch.zeros(n_spans, features.shape[1], width, dtype=features.dtype, device=features.device)
    bias = torch.zeros(n_spans, width, dtype=features.dtype, device=features.device)
    for p in range(n_spans):
        rows = observed[:, p]
        y = targets[rows, p]
        k = int(valid[p].sum())
        prior = torch.log(torch.bincount(y, minlength=k).to(bias.dtype) + 1)  # smoothed log frequencies
        if len(y) < 10 or len(torch.unique(y)) < 2:
            # Too little to fit: the frequencies alone, so that its argmax is the mode and
            # the blend cannot prefer it by a tie-break.
            bias[p, :k] = prior
            continue
        x = features[rows][:, keep[p]]
        w = torch.zeros(x.shape[1], k, dtype=x.dtype, device=x.device, requires_grad=True)
        b = prior.clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS([w, b], lr=1, max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure(x=x, y=y, w=w, b=b, optimizer=optimizer):
            optimizer.zero_grad()
            logits = times_transposed(x, w.T) + b
            loss = torch.nn.functional.cross_entropy(logits, y) + L2 * (w**2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            optimizer.step(closure)
        weight[p, keep[p], :k] = w.detach()
        bias[p, :k] = b.detach()
    return weight, bias


def class_probabilities(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                        valid: torch.Tensor) -> torch.Tensor:
    """``(N, P, W)`` class probabilities of every column (zero on padding slots)."""
    logits = torch.stack([times_transposed(features, weight[p].T) + bias[p] for p in range(len(weight))], dim=1)
    return torch.softmax(logits.masked_fill(~valid, float("-inf")), dim=-1)
