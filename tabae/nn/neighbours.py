"""A nearest-neighbour predictor for numeric imputations, and the stacking weights that
blend several predictors per column.

Why: on tables made of clusters (letter: 26 letters drawn by 20 fonts) a neighbour's
real value is a better guess than any smooth function of the visible cells, which is
where forests and k-NN imputers beat networks. A query row is compared with the bank
(training rows) on the query's visible cells, against the network's *completion* of each
bank row (its own holes predicted), so that a bank row's holes do not shrink the
comparison as they do in a plain k-NN imputer; the query's own predicted cells are left
out of the distance (they carry the network's errors). The prediction for a hidden cell
is the distance-weighted mean of the k nearest bank rows' *observed* values in that
column (never a neighbour's imputation). The ablation behind this choice is in
docs/benchmarks.md ("Why the imputer is built as it is").
"""

from __future__ import annotations

import itertools

import torch

from tabae.nn.heads import point_rows
from tabae.nn.linear import times_transposed
from tabae.nn.losses import SpanIndex

__all__ = ["completed_rows", "distance_terms", "nearest_rows", "neighbour_means", "neighbour_frequencies", "fit_stacking_weights"]

_QUERY_BLOCK = 1024  # queries per distance block
_BANK_BLOCK = 1024  # bank rows per product block: 1024 x 1024 floats = 4 MB


def completed_rows(x: torch.Tensor, m_feat: torch.Tensor, mean: torch.Tensor, index: SpanIndex) -> torch.Tensor:
    """Encoded rows with the visible cells as they are and the hidden ones predicted
    (numbers: means, flags: probabilities, categories: probabilities over the span)."""
    pred = point_rows(mean, index)
    if index.cat_pos.numel():
        logits = mean[:, index.cat_pos].masked_fill(~index.cat_valid, float("-inf"))
        probs = torch.softmax(logits, dim=-1)  # (N, P, W)
        valid = index.cat_valid.reshape(-1)
        pred[:, index.cat_pos.reshape(-1)[valid]] = probs.reshape(len(pred), -1)[:, valid]
    return torch.where(m_feat > 0, x, pred)


def distance_terms(bank: torch.Tensor) -> torch.Tensor:
    """``[b^2, -2b]`` ``(R, 2D)``: the bank's side of :func:`nearest_rows`' distances.

    ``sum_j v_j (q_j - b_j)^2 = [v, v*q] . [b^2, -2b] + sum_j v_j q_j^2``: one product over
    twice the width instead of two products and a difference of (n, R) blocks (1.7x
    faster on adult's bank). A fixed bank computes them once (:class:`ImputationBlend`
    caches them with the bank).
    """
    return torch.cat([bank**2, -2 * bank], 1)


def nearest_rows(query: torch.Tensor, visible: torch.Tensor, bank: torch.Tensor, k: int,
                 bank_terms: torch.Tensor | None = None):
    """The ``k`` nearest bank rows of each query row, compared on its visible cells.

    query : (N, D) encoded query rows; visible : (N, D) 1 where a query cell counts;
    bank : (R, D) completed bank rows; bank_terms : its :func:`distance_terms`, computed
    here if not given. Returns their indices ``(N, k)``, inverse-distance weights
    ``(N, k)`` (zero for a row with nothing visible: it is equally far from every bank
    row, so it has no neighbours).
    """
    k = int(min(k, len(bank)))
    if bank_terms is None:
        bank_terms = distance_terms(bank)
    indices, weights = [], []
    for s in range(0, len(query), _QUERY_BLOCK):
        q, v = query[s : s + _QUERY_BLOCK], visible[s : s + _QUERY_BLOCK].to(query.dtype)
        # The row's own constant and scale do not change its ranking: they are added to
        # the k kept, rescaled to all D cells (as scikit-learn's nan_euclidean) so rows
        # with many holes compare fairly.
        sq, idx = _smallest(torch.cat([v, v * q], 1), bank_terms, k)
        scale = bank.shape[1] / v.sum(1, keepdim=True).clamp(min=1)
        dist = ((sq + (v * q * q).sum(1, keepdim=True)).clamp(min=0) * scale).sqrt()
        weight = 1.0 / (dist + 1e-6)  # (n, k); a row's own copy in the bank has no value where it is hidden
        indices.append(idx)
        weights.append(weight * (v.sum(1, keepdim=True) > 0))
    if not indices:
        empty = torch.zeros(0, k, device=bank.device)
        return empty.long(), empty
    return torch.cat(indices), torch.cat(weights)


def _smallest(a: torch.Tensor, b: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` smallest of ``a @ b.T`` in each row, and their columns.

    The products come out of :func:`times_transposed` as a transposed view, which
    ``topk`` reads slowly; they are copied into one contiguous block ``_BANK_BLOCK``
    bank rows at a time, while each piece is still in cache (1.4x faster than copying
    the whole (n, R) block at once on adult's 20,000-row bank, and the same numbers).
    """
    products = a.new_empty(len(a), len(b))
    for start in range(0, len(b), _BANK_BLOCK):
        products[:, start : start + _BANK_BLOCK] = times_transposed(a, b[start : start + _BANK_BLOCK])
    return products.topk(k, dim=1, largest=False)


def neighbour_means(
    neighbours: tuple[torch.Tensor, torch.Tensor], bank_values: torch.Tensor, bank_observed: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance-weighted means of the nearest bank rows' observed values.

    neighbours : :func:`nearest_rows`' indices and weights ``(N, k)``;
    bank_values : (R, G) the values to average; bank_observed : (R, G) which are real.
    Returns the means ``(N, G)`` and whether any neighbour had the value ``(N, G)``.
    """
    idx, weight = neighbours
    w = weight[:, :, None] * bank_observed.to(bank_values.dtype)[idx]  # (N, k, G)
    total = w.sum(1)
    return (w * bank_values[idx]).sum(1) / total.clamp(min=1e-12), total > 0


def neighbour_frequencies(neighbours: tuple[torch.Tensor, torch.Tensor], bank_onehot: torch.Tensor) -> torch.Tensor:
    """Distance-weighted class frequencies of the nearest bank rows' observed categories.

    bank_onehot : (R, P, W) one-hot categories of the bank rows (all zero where missing).
    Returns ``(N, P, W)`` frequencies (all zero where no neighbour had the column).
    """
    idx, weight = neighbours
    # One neighbour at a time: gathering all k at once made an (N, k, P, W) block
    # (a GB for 32k held-out rows of adult).
    votes = bank_onehot.new_zeros(len(idx), *bank_onehot.shape[1:])
    for j in range(idx.shape[1]):
        votes += weight[:, j, None, None] * bank_onehot[idx[:, j]]
    return votes / votes.sum(-1, keepdim=True).clamp(min=1e-12)


@torch.no_grad()
def fit_stacking_weights(predictions: torch.Tensor, target: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """Per column, the convex weights over the predictors that minimise the squared
    error on the ``hidden`` cells.

    predictions : (P, N, G); target, hidden : (N, G). Returns ``(G, P)``: non-negative,
    each row summing to 1; the first predictor alone where a column has no hidden cell.
    With P <= 3 the exact simplex-constrained least squares is cheap: solve the affine
    least squares on every face (subset of predictors) and keep the best feasible one.
    """
    n_pred, _, n_cols = predictions.shape
    h = hidden.to(predictions.dtype)
    best = torch.zeros(n_cols, n_pred, dtype=predictions.dtype, device=predictions.device)
    best[:, 0] = 1.0
    best_err = torch.full((n_cols,), float("inf"), dtype=predictions.dtype, device=predictions.device)
    for size in range(1, n_pred + 1):
        for subset in itertools.combinations(range(n_pred), size):
            w = _affine_least_squares(predictions[list(subset)], target, h)  # (G, size)
            feasible = (w >= -1e-9).all(1)
            full = torch.zeros_like(best)
            full[:, list(subset)] = w.clamp(min=0)
            full = full / full.sum(1, keepdim=True).clamp(min=1e-12)
            mixed = torch.einsum("png,gp->ng", predictions, full)
            err = (((mixed - target) * h) ** 2).sum(0)
            better = feasible & (err < best_err - 1e-12)
            best = torch.where(better[:, None], full, best)
            best_err = torch.where(better, err, best_err)
    has_cells = h.sum(0) > 0
    fallback = torch.zeros_like(best)
    fallback[:, 0] = 1.0
    return torch.where(has_cells[:, None], best, fallback)


def _affine_least_squares(preds: torch.Tensor, target: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Weights summing to 1 per column: ``target - p_last ~ sum_i w_i (p_i - p_last)``."""
    size = preds.shape[0]
    n_cols = preds.shape[2]
    if size == 1:
        return torch.ones(n_cols, 1, dtype=preds.dtype, device=preds.device)
    base = preds[-1]
    diffs = (preds[:-1] - base) * h  # (S-1, N, G)
    resid = (target - base) * h  # (N, G)
    gram = torch.einsum("ang,bng->gab", diffs, diffs)  # (G, S-1, S-1)
    rhs = torch.einsum("ang,ng->ga", diffs, resid)  # (G, S-1)
    eye = torch.eye(size - 1, dtype=preds.dtype, device=preds.device)
    w = torch.linalg.solve(gram + 1e-9 * eye, rhs.unsqueeze(-1)).squeeze(-1)
    return torch.cat([w, 1 - w.sum(1, keepdim=True)], dim=1)
