"""Numeric imputations that blend the network with other predictors, per column.

Two optional predictors sit beside the network (both only used by ``impute``):

* ``gaussian_blend``: a multivariate Gaussian over the numeric columns, fitted by EM on
  the training rows; its conditional mean gets linear relations right from a few hundred
  rows (tabae/nn/gaussian.py).
* ``neighbour_blend=k``: the distance-weighted mean of the k nearest training rows'
  observed values, rows compared on the network's completion of them
  (tabae/nn/neighbours.py); it wins on cluster-like tables.

Each numeric column gets convex weights over the network and these predictors, fitted on
cells hidden from validation rows, which none of them trained on. The fitted pieces are
buffers of the network (saved and loaded with its weights).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from tabae.exceptions import TabaeError, TabaeWarning
from tabae.nn.gaussian import fit_gaussian_em
from tabae.nn.neighbours import completed_rows, fit_stacking_weights, neighbour_means
from tabae.nn.training import validation_size

__all__ = ["blend_plan", "fit_blend", "blend_numeric"]

MAX_GAUSSIAN_COLUMNS = 128  # the Gaussian covers at most this many numeric columns
MAX_BANK_ROWS = 20_000  # training rows kept for the neighbour predictor


def blend_plan(model, index, n_rows: int) -> dict:
    """NetConfig fields for the predictors ``model``'s parameters ask for."""
    gaussian = bool(getattr(model, "gaussian_blend", False))
    k = getattr(model, "neighbour_blend", 0)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise TabaeError(f"neighbour_blend={k!r}; pass 0 (off) or the number of neighbours, e.g. 20")
    k = int(k)
    if (gaussian or k) and model.numeric_encoding == "mode":
        raise TabaeError(
            "gaussian_blend and neighbour_blend need numeric_encoding='standard' or 'quantile' "
            "(a mode-specific code is not one value per column)"
        )
    n_numeric = index.n_gauss
    if gaussian and n_numeric > MAX_GAUSSIAN_COLUMNS:
        # Every row's pattern needs a G x G solve: at this width the blend would cost
        # more than the network itself.
        warnings.warn(
            f"gaussian_blend is off: {n_numeric} numeric columns is more than "
            f"{MAX_GAUSSIAN_COLUMNS}, for which its per-row solves get too slow",
            TabaeWarning, stacklevel=3,
        )
        gaussian = False
    gaussian = gaussian and n_numeric > 0
    n_train = n_rows - validation_size(n_rows, model.validation_fraction)
    n_bank = min(n_train, MAX_BANK_ROWS) if k and n_numeric else 0
    return {
        "n_blend": n_numeric if (gaussian or n_bank) else 0,
        "gaussian": gaussian,
        "n_bank": n_bank,
        "neighbours": k if n_bank else 0,
    }


@torch.no_grad()
def fit_blend(model, X: torch.Tensor, M: torch.Tensor, val_idx: torch.Tensor) -> None:
    """Fit the predictors on the training rows, then their weights on held-out cells."""
    net, index = model.net_, model.span_index_
    net.blend_pos.copy_(index.gauss_pos)
    train_rows = _training_rows(len(X), val_idx, X.device)
    if net.config.gaussian:
        _fit_gaussian(net, index, X, M, train_rows)
    if net.config.n_bank:
        bank = train_rows[torch.randperm(len(train_rows), device=X.device)[: net.config.n_bank]]
        net.bank_x.copy_(X[bank])
        net.bank_m.copy_(M[bank])
    model._bank_cache = None
    x, m, hide = model._held_out_cells(X, M, val_idx)
    m_in = m & ~hide
    mean, _, _ = model._forward(x, m_in)
    predictions = torch.stack(_predictions(model, x, m_in, mean)).double()
    pos = net.blend_pos
    hidden = hide[:, index.feature_column][:, pos]
    if net.config.n_bank and not len(val_idx):
        # A tiny table has no validation rows: the held-out rows are in the bank, where
        # their hidden cells are visible. Weigh the other predictors only.
        weights = fit_stacking_weights(predictions[:-1], x[:, pos].double(), hidden)
        weights = torch.cat([weights, torch.zeros_like(weights[:, :1])], dim=1)
    else:
        weights = fit_stacking_weights(predictions, x[:, pos].double(), hidden)
    net.blend_weights.copy_(weights.float())


def blend_numeric(model, x: torch.Tensor, m_in: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``mean`` with the blended numeric units replaced by the weighted predictors."""
    net = model.net_
    predictions = _predictions(model, x, m_in, mean)
    mixed = sum(w * p for w, p in zip(net.blend_weights.T, predictions))
    return mean.index_copy(1, net.blend_pos, mixed)


def _predictions(model, x, m_in, mean) -> list[torch.Tensor]:
    """Each predictor's guess for the blended units ``(N, n_blend)``: net, Gaussian, neighbours."""
    net, index = model.net_, model.span_index_
    pos = net.blend_pos
    m_feat = m_in[:, index.feature_column].float()
    out = [mean[:, pos]]
    if net.config.gaussian:
        out.append(net.fill_hidden(x, m_feat))
    if net.config.n_bank:
        bank_values, bank_observed, bank_rows = _bank(model)
        near, found = neighbour_means(x * m_feat, m_feat, bank_rows, bank_values, bank_observed,
                                      net.config.neighbours)
        out.append(torch.where(found, near, mean[:, pos]))
    return out


def _bank(model):
    """The bank's values and observed flags at the blended units, and its completed rows
    (computed once per loaded model: the network is fixed after fit)."""
    cache = getattr(model, "_bank_cache", None)
    if cache is None:
        net, index = model.net_, model.span_index_
        x, m = net.bank_x, net.bank_m
        m_feat = m[:, index.feature_column].float()
        mean = torch.cat([model._forward(x[s : s + 8192], m[s : s + 8192])[0] for s in range(0, len(x), 8192)])
        pos = net.blend_pos
        cache = (x[:, pos], m_feat[:, pos] > 0, completed_rows(x, m_feat, mean, index))
        model._bank_cache = cache
    return cache


def _training_rows(n: int, val_idx: torch.Tensor, device) -> torch.Tensor:
    keep = torch.ones(n, dtype=torch.bool, device=device)
    keep[val_idx] = False
    return torch.nonzero(keep).squeeze(1)


def _fit_gaussian(net, index, X, M, rows) -> None:
    """EM on the training rows (not the validation rows, which weigh it against the net)."""
    pos = net.blend_pos
    # A mean and a covariance need no more than ~20k rows, and each EM pass costs
    # rows x G^3: wide tables use fewer rows (at least 2,000; G=128 -> ~10k).
    budget = max(2_000, min(20_000, int(2e10 / len(pos) ** 3)))
    rows = rows[torch.randperm(len(rows), device=X.device)[:budget]]
    visible = M[rows][:, index.feature_column][:, pos]
    mean, cov = fit_gaussian_em(X[rows][:, pos], visible)
    net.fill_mean.copy_(mean)
    net.fill_cov.copy_(cov)
