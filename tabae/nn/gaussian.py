"""A multivariate Gaussian over the numeric columns, fitted by EM despite the holes.

Autoencoders learn non-linear structure but need many rows to learn even simple linear
relations exactly (``radius ~ perimeter / 2pi``); a Gaussian gets those from a few
hundred rows, and its conditional mean is the right linear regression for *every*
missingness pattern at once. With ``gaussian_blend=True`` a model's imputations mix the
network's prediction with that conditional mean, one weight per column fitted on
held-out hidden cells: tables where the linear model is better (small ones, near-linear
ones) keep most of it, tables where the network is better keep little.

(Feeding the conditional mean to the network's input instead of zeros was tried too: it
helped small tables no more than the blend does, and hurt cluster-like tables; see
docs/benchmarks.md.)

Everything works in the encoded space (standardised or rank-Gauss values), in batches:
each row's pattern gets its own solve, done for a whole batch with one Cholesky call.
"""

from __future__ import annotations

import torch

from tabae.nn.linear import times_transposed

__all__ = ["fit_gaussian_em", "conditional_mean"]


def conditional_mean(x: torch.Tensor, visible: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """``x`` with every hidden cell replaced by ``E[x_h | x_v]`` under ``N(mean, cov)``.

    ``x``: ``(B, G)``; ``visible``: ``(B, G)`` 0/1 floats; returns ``(B, G)``.
    """
    solve, _ = _pattern_solve(x, visible, mean, cov)
    return torch.where(visible > 0, x, mean + times_transposed(solve, cov))  # cov is symmetric


def _pattern_solve(x, visible, mean, cov):
    """Per row, ``alpha = Sigma_vv^-1 (x_v - mu_v)`` embedded in ``G`` dims (0 on hidden).

    The trick: ``K = P Sigma P + (I - P)`` with ``P = diag(visible)`` is Sigma_vv on the
    visible block and the identity elsewhere, so one batched Cholesky solves every
    pattern. Returns alpha ``(B, G)`` and the Cholesky factors ``(B, G, G)``.
    """
    g = x.shape[1]
    eye = torch.eye(g, device=x.device, dtype=x.dtype)
    outer = visible[:, :, None] * visible[:, None, :]
    K = cov * outer + eye * (1 - visible)[:, None, :]
    L, _ = torch.linalg.cholesky_ex(K)
    alpha = torch.cholesky_solve(((x - mean) * visible).unsqueeze(-1), L).squeeze(-1)
    return alpha, L


@torch.no_grad()
def fit_gaussian_em(
    x: torch.Tensor, visible: torch.Tensor, *, iterations: int = 10, ridge: float = 1e-3, chunk: int = 2048
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum-likelihood mean and covariance of ``x`` with holes (EM, Little & Rubin).

    ``x``: ``(N, G)`` (hidden cells any value); ``visible``: ``(N, G)`` bool or 0/1.
    ``ridge`` adds ``ridge * diag(Sigma)`` at each M-step: near-collinear columns (a
    radius, its perimeter and its area) would otherwise make Sigma singular. Computed in
    float64; returned in ``x``'s dtype.
    """
    dtype = x.dtype
    x, visible = x.double(), visible.double()
    x = x * visible
    n, g = x.shape
    counts = visible.sum(0).clamp(min=1)
    mean = x.sum(0) / counts
    var = (((x - mean) * visible) ** 2).sum(0) / counts
    cov = torch.diag(var.clamp(min=1e-6))  # start from independence
    for _ in range(iterations):
        s1 = torch.zeros(g, dtype=x.dtype, device=x.device)
        s2 = torch.zeros(g, g, dtype=x.dtype, device=x.device)
        for a in range(0, n, chunk):
            xb, vb = x[a : a + chunk], visible[a : a + chunk]
            alpha, L = _pattern_solve(xb, vb, mean, cov)
            filled = torch.where(vb > 0, xb, mean + alpha @ cov)
            # E-step second moment: the hidden block also carries its conditional
            # covariance Sigma_hh - Sigma_hv Sigma_vv^-1 Sigma_vh.
            cov_v = cov.unsqueeze(0) * vb[:, None, :]  # Sigma with hidden columns zeroed
            cond = cov - cov_v @ torch.cholesky_solve(cov_v.transpose(1, 2), L)
            hidden = 1 - vb
            s1 += filled.sum(0)
            s2 += filled.T @ filled + (cond * (hidden[:, :, None] * hidden[:, None, :])).sum(0)
        mean = s1 / n
        cov = s2 / n - torch.outer(mean, mean)
        cov = 0.5 * (cov + cov.T) + ridge * torch.diag(cov.diagonal().clamp(min=1e-6))
    return mean.to(dtype), cov.to(dtype)
