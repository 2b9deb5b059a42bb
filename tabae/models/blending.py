"""Numeric imputations that blend the network with other predictors, per column.

Two optional predictors sit beside the network (both only used by ``impute``):

* ``gaussian_blend``: a multivariate Gaussian over the numeric columns, fitted by EM on
  the training rows; its conditional mean gets linear relations right from a few hundred
  rows (tabae/nn/gaussian.py).
* ``neighbour_blend=k``: the distance-weighted mean of the k nearest training rows'
  observed values, rows compared on the network's completion of them
  (tabae/nn/neighbours.py); it wins on cluster-like tables.

Each numeric column gets convex weights over the network and these predictors, fitted on
cells hidden from validation rows, which none of them trained on. All of it lives in one
:class:`ImputationBlend` module owned by the model (``model.blend_``): saved in the model
file beside the network, but not part of the network, which only predicts.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn

from tabae.exceptions import TabaeWarning
from tabae.nn.gaussian import conditional_mean, fit_gaussian_em
from tabae.nn.neighbours import completed_rows, fit_stacking_weights, neighbour_means
from tabae.nn.training import validation_size

__all__ = ["BlendConfig", "ImputationBlend", "plan_blend", "held_out_cells", "MAX_GAUSSIAN_COLUMNS", "MAX_BANK_ROWS"]

MAX_GAUSSIAN_COLUMNS = 128  # the Gaussian covers at most this many numeric columns
MAX_BANK_ROWS = 20_000  # training rows kept for the neighbour predictor
_BANK_BATCH = 8192


def held_out_cells(X, M, val_idx, hide: bool = True, hide_rate: float = 0.2, repeats: int = 8):
    """Validation rows (all rows for tiny tables), repeated, with fresh artificial holes:
    ``x``, ``m`` and the ``hidden`` cells to score. Draws from torch's current RNG."""
    rows = (val_idx if len(val_idx) else torch.arange(len(X), device=X.device))[:4096]
    x, m = X[rows].repeat(repeats, 1), M[rows].repeat(repeats, 1)
    hidden = m & (torch.rand(m.shape, device=m.device) < hide_rate) if hide else torch.zeros_like(m)
    return x, m, hidden


@dataclass(frozen=True)
class BlendConfig:
    n_features: int  # D of the encoded layout (bank rows are stored encoded)
    n_columns: int  # C
    n_blend: int  # numeric units whose imputations are blended
    gaussian: bool  # predictor: the EM Gaussian's conditional mean
    n_bank: int  # predictor: training rows kept for the neighbour mean (0 = none)
    neighbours: int  # k of the neighbour mean

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "BlendConfig":
        return cls(**d)


def plan_blend(gaussian: bool, k: int, index, n_rows: int, validation_fraction: float) -> BlendConfig | None:
    """The blend a model's parameters ask for on this layout, or None (nothing to blend)."""
    n_numeric = index.n_gauss
    if gaussian and n_numeric > MAX_GAUSSIAN_COLUMNS:
        # Every row's pattern needs a G x G solve: at this width the blend would cost
        # more than the network itself.
        warnings.warn(
            f"gaussian_blend is off: {n_numeric} numeric columns is more than "
            f"{MAX_GAUSSIAN_COLUMNS}, for which its per-row solves get too slow",
            TabaeWarning, stacklevel=4,  # the caller of fit
        )
        gaussian = False
    gaussian = bool(gaussian) and n_numeric > 0
    n_train = n_rows - validation_size(n_rows, validation_fraction)
    n_bank = min(n_train, MAX_BANK_ROWS) if k and n_numeric else 0
    if not (gaussian or n_bank):
        return None
    return BlendConfig(index.n_features, index.n_columns, n_numeric, gaussian, n_bank, int(k) if n_bank else 0)


class ImputationBlend(nn.Module):
    """The fitted predictors beside the network and their per-column stacking weights.

    Buffers (saved with the model): ``pos`` (the blended units' positions in the encoded
    layout), ``weights`` ``(n_blend, n_predictors)``, the Gaussian's ``fill_mean`` /
    ``fill_cov``, and the neighbour bank ``bank_x`` / ``bank_m`` (encoded training rows).
    """

    def __init__(self, config: BlendConfig):
        super().__init__()
        self.config = c = config
        self.register_buffer("pos", torch.zeros(c.n_blend, dtype=torch.long))
        self.register_buffer("weights", torch.zeros(c.n_blend, self.n_predictors))
        if c.gaussian:
            self.register_buffer("fill_mean", torch.zeros(c.n_blend))
            self.register_buffer("fill_cov", torch.eye(c.n_blend))
        if c.n_bank:
            self.register_buffer("bank_x", torch.zeros(c.n_bank, c.n_features))
            self.register_buffer("bank_m", torch.zeros(c.n_bank, c.n_columns, dtype=torch.bool))
        self._bank_cache = None

    @property
    def n_predictors(self) -> int:
        """Predictors of a numeric imputation: the net, then the Gaussian, then the neighbours."""
        return 1 + int(self.config.gaussian) + int(self.config.n_bank > 0)

    def _apply(self, fn, *args, **kwargs):
        self._bank_cache = None  # moved to another device: recompute the completed bank there
        return super()._apply(fn, *args, **kwargs)

    # ------------------------------------------------------------------ fit
    @torch.no_grad()
    def fit(self, model, X: torch.Tensor, M: torch.Tensor, val_idx: torch.Tensor) -> "ImputationBlend":
        """Fit the predictors on the training rows, then their weights on held-out cells.

        ``model`` is the fitted model whose network is blended (its :meth:`heads`).
        """
        index = model.span_index_
        self.pos.copy_(index.gauss_pos)
        train_rows = _training_rows(len(X), val_idx, X.device)
        if self.config.gaussian:
            self._fit_gaussian(index, X, M, train_rows)
        if self.config.n_bank:
            bank = train_rows[torch.randperm(len(train_rows), device=X.device)[: self.config.n_bank]]
            self.bank_x.copy_(X[bank])
            self.bank_m.copy_(M[bank])
        self._bank_cache = None
        x, m, hide = held_out_cells(X, M, val_idx)
        m_in = m & ~hide
        mean, _, _ = model.heads(x, m_in)
        predictions = torch.stack(self._predictions(model, x, m_in, mean)).double()
        hidden = hide[:, index.feature_column][:, self.pos]
        if self.config.n_bank and not len(val_idx):
            # A tiny table has no validation rows: the held-out rows are in the bank, where
            # their hidden cells are visible. Weigh the other predictors only.
            weights = fit_stacking_weights(predictions[:-1], x[:, self.pos].double(), hidden)
            weights = torch.cat([weights, torch.zeros_like(weights[:, :1])], dim=1)
        else:
            weights = fit_stacking_weights(predictions, x[:, self.pos].double(), hidden)
        self.weights.copy_(weights.float())
        return self

    def _fit_gaussian(self, index, X, M, rows) -> None:
        """EM on the training rows (not the validation rows, which weigh it against the net)."""
        pos = self.pos
        # A mean and a covariance need no more than ~20k rows, and each EM pass costs
        # rows x G^3: wide tables use fewer rows (at least 2,000; G=128 -> ~10k).
        budget = max(2_000, min(20_000, int(2e10 / len(pos) ** 3)))
        rows = rows[torch.randperm(len(rows), device=X.device)[:budget]]
        visible = M[rows][:, index.feature_column][:, pos]
        mean, cov = fit_gaussian_em(X[rows][:, pos], visible)
        self.fill_mean.copy_(mean)
        self.fill_cov.copy_(cov)

    # ------------------------------------------------------------------ use
    def blend(self, model, x: torch.Tensor, m_in: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """``mean`` (the network's heads) with the blended units replaced by the weighted predictors."""
        predictions = self._predictions(model, x, m_in, mean)
        mixed = sum(w * p for w, p in zip(self.weights.T, predictions, strict=False))
        return mean.index_copy(1, self.pos, mixed)

    def _predictions(self, model, x, m_in, mean) -> list[torch.Tensor]:
        """Each predictor's guess for the blended units ``(N, n_blend)``: net, Gaussian, neighbours."""
        index, pos = model.span_index_, self.pos
        m_feat = m_in[:, index.feature_column].float()
        out = [mean[:, pos]]
        if self.config.gaussian:
            out.append(conditional_mean(x[:, pos], m_feat[:, pos], self.fill_mean, self.fill_cov))
        if self.config.n_bank:
            bank_values, bank_observed, bank_rows = self._bank(model)
            near, found = neighbour_means(x * m_feat, m_feat, bank_rows, bank_values, bank_observed,
                                          self.config.neighbours)
            out.append(torch.where(found, near, mean[:, pos]))
        return out

    def _bank(self, model):
        """The bank's values and observed flags at the blended units, and its completed rows
        (computed once: the network is fixed after fit)."""
        if self._bank_cache is None:
            index, x, m = model.span_index_, self.bank_x, self.bank_m
            m_feat = m[:, index.feature_column].float()
            mean = torch.cat([
                model.heads(x[s : s + _BANK_BATCH], m[s : s + _BANK_BATCH])[0] for s in range(0, len(x), _BANK_BATCH)
            ])
            self._bank_cache = (x[:, self.pos], m_feat[:, self.pos] > 0, completed_rows(x, m_feat, mean, index))
        return self._bank_cache


def _training_rows(n: int, val_idx: torch.Tensor, device) -> torch.Tensor:
    keep = torch.ones(n, dtype=torch.bool, device=device)
    keep[val_idx] = False
    return torch.nonzero(keep).squeeze(1)
