"""The shared base of every tabae model: fit, impute, score, encode, save.

A model = a fitted :class:`~tabae.encoding.TableEncoder` + a :class:`~tabae.nn.TabularNet`.
Variants (vanilla, denoising, sparse, contractive, variational) differ only in the hooks
:meth:`_corrupt` (what the input hides) and :meth:`_loss` (what is penalised); the
training loop, the inference code and the file format are the same for all.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from tabae.encoding import TableEncoder
from tabae.encoding.numeric import QuantileNormalEncoder, StandardEncoder
from tabae.exceptions import NotFittedError, TabaeError
from tabae.models.blending import blend_numeric, blend_plan, fit_blend
from tabae.nn.heads import point_rows, sample_mask, sample_rows
from tabae.nn.losses import SpanIndex, cell_nll, gaussian_scale
from tabae.nn.network import NetConfig, TabularNet
from tabae.nn.training import auto_epochs, resolve_device, train_network
from tabae.schema import check_frame

__all__ = ["BaseAutoencoder"]

_INFER_BATCH = 8192
# Gauss-Hermite nodes turn a Gaussian in the encoded space into a mean in data space.
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


class BaseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared behaviour; use :class:`Autoencoder`, :class:`DenoisingAE` or :class:`TabularVAE`."""

    _variational = False
    #: Optimiser steps that ``epochs="auto"`` aims at (the VAE needs more to sample well).
    _auto_steps = 3000
    #: Gradient-norm clip of the training steps.
    _max_grad_norm = 10.0

    # ================================================================== fit
    def fit(self, df: pd.DataFrame, y=None) -> "BaseAutoencoder":
        """Learn the encoder and the network from ``df`` (NaNs anywhere). Returns ``self``."""
        self._check_params()
        device = resolve_device(self.device)
        seed = _seed_from(self.random_state)
        encoder = TableEncoder(numeric=self.numeric_encoding, kinds=self.kinds, random_state=seed)
        encoder.fit(df)
        X_np, M_np = encoder.transform(df)
        index = SpanIndex.from_spans(encoder.spans_, encoder.n_features_, encoder.n_columns_)
        plan = blend_plan(self, index, len(X_np))
        config = NetConfig(
            n_features=encoder.n_features_, n_columns=encoder.n_columns_, n_gauss=index.n_gauss,
            hidden_dims=tuple(self.hidden_dims), latent_dim=self.latent_dim,
            variational=self._variational, dropout=self.dropout,
            residual_scale=self.numeric_loss == "mse" and index.n_gauss > 0,
            ar_hidden=self._ar_hidden(), **plan,
        )
        self.encoder_, self.span_index_ = encoder, index.to(device)
        self.missing_rates_ = torch.tensor(encoder.missing_rates_, dtype=torch.float32, device=device)
        X = torch.from_numpy(X_np).to(device)
        M = torch.from_numpy(M_np).to(device)
        epochs = self.epochs if self.epochs != "auto" else auto_epochs(len(X), self.batch_size, self._auto_steps)
        self.epochs_ = epochs
        with _seeded(seed, device):
            self.net_ = TabularNet(config).to(device)
            self.net_.set_columns(self.span_index_.feature_column, self.span_index_.gauss_col)
            self.history_, val_idx = train_network(
                self.net_, X, M, corrupt=self._corrupt, loss=self._loss, epochs=epochs,
                batch_size=self.batch_size, learning_rate=self.learning_rate,
                weight_decay=self.weight_decay, validation_fraction=self.validation_fraction,
                patience=self.patience, warmup_epochs=self._warmup_epochs(), lr_schedule=self.lr_schedule,
                max_grad_norm=self._max_grad_norm, verbose=self.verbose,
                desc=type(self).__name__,
            )
            if config.n_blend:
                fit_blend(self, X, M, val_idx)
            if config.residual_scale:
                self._fit_residual_scale(X, M, val_idx)
            self._after_fit(X, M)
        self.device_ = device
        self.score_offsets_ = self._fit_score_offsets(df, seed)
        self.n_features_in_ = len(encoder.schema_)
        self.feature_names_in_ = np.asarray(encoder.schema_.names, dtype=object)
        self._n_features_out = self.latent_dim
        return self

    def _check_params(self) -> None:
        checks = {
            "latent_dim": self.latent_dim >= 1,
            "batch_size": self.batch_size >= 1,
            "learning_rate": self.learning_rate > 0,
            "validation_fraction": 0 <= self.validation_fraction < 1,
            "mask_rate": 0 <= self.mask_rate < 1,
            "dropout": 0 <= self.dropout < 1,
            "hidden_dims": len(tuple(self.hidden_dims)) >= 1 and all(int(h) >= 1 for h in self.hidden_dims),
            "epochs": self.epochs == "auto" or (isinstance(self.epochs, int) and self.epochs >= 1),
            "numeric_loss": self.numeric_loss in ("gaussian", "mse"),
            "lr_schedule": self.lr_schedule in ("constant", "cosine"),
        }
        for name, ok in checks.items():
            if not ok:
                raise TabaeError(f"{name}={getattr(self, name)!r} is not allowed; see help({type(self).__name__})")

    def _warmup_epochs(self) -> int:
        return 0

    def _ar_hidden(self) -> int:
        """Width of the decoder's column-autoregressive part (0 = none; the VAE has one)."""
        return 0

    # ================================================================== after training
    @staticmethod
    def _held_out_cells(X, M, val_idx, hide: bool = True, hide_rate: float = 0.2, repeats: int = 8):
        """Validation rows (all rows for tiny tables), repeated, with fresh artificial holes:
        ``x``, ``m`` and the ``hidden`` cells to score."""
        rows = (val_idx if len(val_idx) else torch.arange(len(X), device=X.device))[:4096]
        x, m = X[rows].repeat(repeats, 1), M[rows].repeat(repeats, 1)
        hidden = m & (torch.rand(m.shape, device=m.device) < hide_rate) if hide else torch.zeros_like(m)
        return x, m, hidden

    def _after_fit(self, X: torch.Tensor, M: torch.Tensor) -> None:
        """Hook run after training, inside the seeded context (the VAE fits its latent prior)."""

    @torch.no_grad()
    def _fit_residual_scale(self, X, M, val_idx) -> None:
        """A squared-error model predicts no spread: measure it per numeric unit as the
        RMSE of its predictions on held-out cells, so imputation draws (and samples) get
        the model's own uncertainty instead of the column's whole spread.

        Scores cells hidden from the input when the model trains with hidden cells (what
        it imputes), else the reconstructed observed cells. One spread per column: rows
        whose other columns pin a value down get draws as wide as rows where nothing
        does (a model with ``numeric_loss="gaussian"`` predicts a spread per cell).
        """
        hides = self.mask_rate > 0 or self.net_.config.n_blend > 0
        x, m, hide = self._held_out_cells(X, M, val_idx, hide=hides)
        mean, _, _ = self._forward(x, m & ~hide, blend=True)
        index = self.span_index_
        scored = (hide if hides else m)[:, index.gauss_col].float()  # (N, G)
        err = (mean[:, index.gauss_pos] - x[:, index.gauss_pos]) ** 2 * scored
        counts = scored.sum(0)
        rmse = (err.sum(0) / counts.clamp(min=1)).sqrt()
        self.net_.residual_scale.copy_(torch.where(counts > 0, rmse, torch.ones_like(rmse)).clamp(min=1e-3))

    # ================================================================== training hooks
    def _corrupt(self, m: torch.Tensor) -> torch.Tensor:
        """Which observed cells to hide from the input, ``(B, C)`` bool."""
        if self.mask_rate <= 0:
            return torch.zeros_like(m)
        return m & (torch.rand(m.shape, device=m.device) < self.mask_rate)

    def _loss(self, x, m, hide, epoch, training):
        index = self.span_index_
        m_in = m & ~hide
        x_in = self._swap_noise(x, m_in) if training else x
        if training and self._contractive_weight() > 0:
            x_in = x_in.detach().requires_grad_(True)
        mu, logvar, hidden = self.net_.encode(x_in, m_in[:, index.feature_column].float(), m_in.float())
        z = self._latent(mu, logvar, sample=training)
        # Teacher forcing: the autoregressive part sees the real previous cells.
        mean, raw_scale, mask_logits = self.net_.decode(z, self._context(x, m))
        nll = cell_nll(mean, raw_scale, x, m, index, self.numeric_loss).sum(1).mean()
        loss = nll + self._mask_loss(mask_logits, m)
        loss = loss + self._penalty(x_in, mu, logvar, hidden, epoch, training)
        return loss, {"nll": float(nll.detach())}

    def _swap_noise(self, x, m_in):
        return x

    def _contractive_weight(self) -> float:
        return 0.0

    def _latent(self, mu, logvar, sample: bool):
        return mu

    def _penalty(self, x_in, mu, logvar, hidden, epoch, training) -> torch.Tensor:
        return mu.new_zeros(())

    def _mask_loss(self, mask_logits, m):
        """Learn where values go missing (for synthesis), only for columns that had holes."""
        weight = (self.missing_rates_ > 0).float()
        if not weight.any():
            return mask_logits.new_zeros(())
        bce = F.binary_cross_entropy_with_logits(mask_logits, m.float(), reduction="none")
        return (bce * weight).sum(1).mean()

    # ================================================================== inference core
    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(df) first or tabae.load(path)"
            )

    def _encode_frame(self, df: pd.DataFrame):
        self._check_fitted()
        check_frame(df, "df")
        X, M = self.encoder_.transform(df)
        return torch.from_numpy(X).to(self.device_), torch.from_numpy(M).to(self.device_)

    def _context(self, x, m):
        """What an autoregressive decoder conditions on: the cells where ``m`` is True."""
        if not self.net_.autoregressive:
            return None
        return self.net_.cells(x, m[:, self.span_index_.feature_column].float(), m.float())

    def _forward(self, x, m_in, *, sample_latent=False, generator=None, blend=False):
        """Encode with cells where ``m_in`` is False hidden, decode; no gradients.

        ``blend``: mix the other predictors (Gaussian, neighbours; tabae/models/blending.py)
        into the numeric predictions with the fitted per-column weights (imputation only;
        scores use the network alone).
        """
        index, net = self.span_index_, self.net_
        m_feat = m_in[:, index.feature_column].float()
        mu, logvar, _ = net.encode(x, m_feat, m_in.float())
        if sample_latent and logvar is not None:
            noise = torch.randn(mu.shape, generator=generator, device=mu.device)
            mu = mu + (0.5 * logvar).exp() * noise
        # An autoregressive decoder conditions on the visible previous cells; hidden ones
        # are absent from its context exactly as missing cells were in training.
        mean, raw_scale, mask_logits = net.decode(mu, self._context(x, m_in))
        if blend and net.config.n_blend:
            mean = blend_numeric(self, x, m_in, mean)
        return mean, raw_scale, mask_logits

    @torch.no_grad()
    def _cell_nll(self, x, m, masked: bool) -> torch.Tensor:
        """Per-cell NLL ``(N, C)``; ``masked`` predicts each column with itself hidden."""
        out = []
        for s in range(0, len(x), _INFER_BATCH):
            xb, mb = x[s : s + _INFER_BATCH], m[s : s + _INFER_BATCH]
            if not masked:
                mean, raw, _ = self._forward(xb, mb)
                out.append(cell_nll(mean, raw, xb, mb, self.span_index_, self.numeric_loss))
                continue
            block = torch.zeros(mb.shape, device=xb.device)
            for j in range(mb.shape[1]):
                m_in = mb.clone()
                m_in[:, j] = False
                mean, raw, _ = self._forward(xb, m_in)
                block[:, j] = cell_nll(mean, raw, xb, mb, self.span_index_, self.numeric_loss)[:, j]
            out.append(block)
        return torch.cat(out) if out else torch.zeros(0, self.encoder_.n_columns_)

    # ================================================================== public methods
    def score(self, df: pd.DataFrame, per_column: bool = False, method: str = "auto"):
        """How strange each row is: the negative log-likelihood of its observed cells.

        Each cell's NLL (of the value itself, in data space) is centred on that column's
        median over training rows, so a typical cell adds about 0, a surprising one a lot,
        and a missing one exactly 0. Rows rank as by the plain NLL of their observed cells
        when no cell is missing.

        Parameters
        ----------
        df : DataFrame
            Rows to score, with the fitted columns. Missing cells do not count.
        per_column : bool
            Return a frame of per-column contributions (they sum to the row score),
            showing which columns make a row strange.
        method : {"auto", "masked", "reconstruction"}
            ``"masked"`` predicts each column from the others with it hidden (a
            pseudo-likelihood; sharp explanations; needs a model trained with
            ``mask_rate > 0``); ``"reconstruction"`` scores the plain reconstruction.
            ``"auto"`` picks masked when the model was trained with masking.

        Returns
        -------
        Series (higher = more abnormal) or DataFrame when ``per_column``.
        """
        if method not in ("auto", "masked", "reconstruction"):
            raise TabaeError(f"method={method!r}; choose 'auto', 'masked' or 'reconstruction'")
        masked = method == "masked" or (method == "auto" and self.mask_rate > 0)
        nll = self._raw_cell_scores(df, masked)
        # Centre each column on its typical training value, so that contributions say
        # "more surprising than usual" and compare across columns (a wide numeric column
        # always has a large density-based NLL); observed-but-typical cells and missing
        # cells both contribute about 0.
        offsets = np.asarray(self.score_offsets_["masked" if masked else "reconstruction"])
        nll = np.where(np.isnan(nll), 0.0, nll - offsets)
        if per_column:
            return pd.DataFrame(nll, index=df.index, columns=self.encoder_.schema_.names)
        return pd.Series(nll.sum(1), index=df.index, name="score")

    def _raw_cell_scores(self, df: pd.DataFrame, masked: bool) -> np.ndarray:
        """Per-cell NLL of the values ``(n, C)``, NaN where the cell is missing."""
        x, m = self._encode_frame(df)
        nll = self._cell_nll(x, m, masked).cpu().numpy().astype(np.float64)
        if self.numeric_loss == "gaussian":
            # Score values, not their encodings: a value deep in a column's sparse tail
            # is strange even when the model predicts its encoding well.
            nll -= self.encoder_.log_jacobian(df)
        nll[~m.cpu().numpy()] = np.nan
        return nll

    def _fit_score_offsets(self, df: pd.DataFrame, seed: int) -> dict:
        """Median per-column NLL of (up to 5,000) training rows, for each scoring method."""
        rows = np.random.default_rng(seed).permutation(len(df))[:5000]
        sample = df.iloc[np.sort(rows)]
        offsets = {}
        for method, masked in (("reconstruction", False), ("masked", True)):
            nll = self._raw_cell_scores(sample, masked)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a column with no observed cell
                offsets[method] = np.nan_to_num(np.nanmedian(nll, axis=0)).tolist()
        return offsets

    @torch.no_grad()
    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Latent features ``(n, latent_dim)`` (the posterior mean for the VAE)."""
        x, m = self._encode_frame(df)
        index = self.span_index_
        parts = [
            self.net_.encode(x[s : s + _INFER_BATCH], m[s : s + _INFER_BATCH][:, index.feature_column].float(),
                             m[s : s + _INFER_BATCH].float())[0]
            for s in range(0, len(x), _INFER_BATCH)
        ]
        return torch.cat(parts).cpu().numpy() if parts else np.zeros((0, self.latent_dim), np.float32)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Alias of :meth:`encode` for scikit-learn pipelines (see ``get_feature_names_out``)."""
        return self.encode(df)

    @torch.no_grad()
    def impute(self, df: pd.DataFrame, n_draws: int | None = None, random_state=None):
        """Fill the missing cells of ``df``; every observed cell is returned bit-for-bit.

        Parameters
        ----------
        df : DataFrame
            A frame with the fitted columns (any order). Index, column order and dtypes
            are kept.
        n_draws : int, optional
            ``None``: one best-guess completion (numeric cells get the model's predictive
            mean, categories the most likely value). ``k``: a list of ``k`` completions
            drawn from the model, for multiple imputation (see :func:`tabae.pool`).
        random_state : int, optional
            Seed of the draws.
        """
        if n_draws is not None and (not isinstance(n_draws, (int, np.integer)) or n_draws < 1):
            raise TabaeError(f"n_draws={n_draws!r}; pass None for one completion or an int >= 1")
        x, m = self._encode_frame(df)
        missing = ~m.cpu().numpy()
        if n_draws is None:
            return self._fill(df, self._point_completion(x, m), missing)
        generator = torch.Generator(device=x.device).manual_seed(_seed_from(random_state))
        rng = np.random.default_rng(_seed_from(random_state))
        draws = []
        for _ in range(int(n_draws)):
            rows = []
            for s in range(0, len(x), _INFER_BATCH):
                xb, mb = x[s : s + _INFER_BATCH], m[s : s + _INFER_BATCH]
                rows.append(self._draw_completion(xb, mb, generator))
            X_hat = torch.cat(rows).cpu().numpy() if rows else np.zeros((0, self.encoder_.n_features_), np.float32)
            decoded = self.encoder_.inverse_transform(X_hat, random_state=rng, index=df.index)
            draws.append(self._fill(df, decoded, missing))
        return draws

    def _draw_completion(self, x, m, generator) -> torch.Tensor:
        """One draw of every cell given the visible ones (only the hidden ones are used).

        An autoregressive decoder fills the hidden cells column by column, each seeing
        the cells drawn before it, so that linked hidden cells are drawn consistently.
        """
        net = self.net_
        if not net.autoregressive:
            mean, raw, _ = self._forward(x, m, sample_latent=True, generator=generator, blend=True)
            return self._draw_rows(mean, raw, generator)
        mu, logvar, _ = net.encode(x, m[:, self.span_index_.feature_column].float(), m.float())
        noise = torch.randn(mu.shape, generator=generator, device=mu.device)
        base = net.decode_base(mu + (0.5 * logvar).exp() * noise)
        return self._draw_in_column_order(base, x, m, generator)[0]

    def _draw_in_column_order(self, base, x, given, generator, draw_missing: bool = False):
        """Fill the cells not ``given`` column by column (table order), each column's heads
        seeing the cells filled before it: the autoregressive decoder's way to draw.

        base : (N, D + G + C) ``decode_base`` outputs; x, given : the fixed cells.
        ``draw_missing`` also draws whether each filled cell is observed (synthesis);
        otherwise every filled cell counts as observed (imputation).
        Returns the encoded rows ``(N, D)`` and observed flags ``(N, C)``.
        """
        net, feature_column = self.net_, self.span_index_.feature_column
        filled, known = x * given[:, feature_column], given.clone()
        for j in range(net.config.n_columns):
            todo = ~given[:, j]
            if not todo.any():
                continue
            mean, raw, mask_logits = net.split(base, self._context(filled, known))
            feats = feature_column == j
            drawn = self._draw_rows(mean, raw, generator)
            filled[:, feats] = torch.where(todo[:, None], drawn[:, feats], filled[:, feats])
            seen = sample_mask(mask_logits, self.missing_rates_, generator)[:, j] if draw_missing else True
            known[:, j] = torch.where(todo, seen, known[:, j])
        return filled, known

    def _draw_rows(self, mean, raw_scale, generator) -> torch.Tensor:
        """One draw from every head (imputation draws and samples share it)."""
        return sample_rows(mean, raw_scale, self.span_index_, generator, self.numeric_loss,
                           residual_scale=getattr(self.net_, "residual_scale", None))

    def _point_completion(self, x, m) -> pd.DataFrame:
        """Decoded best guesses; numeric columns carry their predictive mean in data space."""
        means, scales = [], []
        for s in range(0, len(x), _INFER_BATCH):
            mean, raw, _ = self._forward(x[s : s + _INFER_BATCH], m[s : s + _INFER_BATCH], blend=True)
            means.append(point_rows(mean, self.span_index_))
            scales.append(gaussian_scale(raw) if self.numeric_loss == "gaussian" else torch.zeros_like(raw))
        X_hat = torch.cat(means).cpu().numpy().astype(np.float64) if means else np.zeros((0, self.encoder_.n_features_))
        S = torch.cat(scales).cpu().numpy().astype(np.float64) if scales else np.zeros((0, self.span_index_.n_gauss))
        decoded = self.encoder_.inverse_transform(X_hat)
        # Point guesses of numeric cells are predictive means in data space, unrounded
        # (rounding to the column's decimals suits samples, not expectations; integer
        # columns are still rounded, their dtype demands it). The mean of a Gaussian
        # pushed through a quantile map is not the map of the mean (that is the median):
        # integrate it with Gauss-Hermite nodes instead.
        gauss_pos = self.span_index_.gauss_pos.cpu().numpy()
        for g, pos in enumerate(gauss_pos):
            j = int(self.span_index_.gauss_col[g])
            spec, enc = self.encoder_.schema_.columns[j], self.encoder_.encoders_[j]
            if spec.kind not in ("numeric", "integer"):
                continue
            if isinstance(enc, QuantileNormalEncoder):
                nodes = X_hat[:, pos, None] + S[:, g, None] * _GH_NODES  # (N, K)
                values = enc.inverse(nodes.reshape(-1, 1)).reshape(nodes.shape) @ _GH_WEIGHTS
            elif isinstance(enc, StandardEncoder):
                values = enc.inverse(X_hat[:, pos, None])  # linear: the mean maps to the mean
            else:
                continue
            if spec.kind == "integer":
                values = np.round(values)
            decoded[spec.name] = pd.Series(values).astype(decoded[spec.name].dtype)
        return decoded

    def _fill(self, df: pd.DataFrame, decoded: pd.DataFrame, missing: np.ndarray) -> pd.DataFrame:
        out = df.copy()
        for j, name in enumerate(self.encoder_.schema_.names):
            hole = missing[:, j]
            if not hole.any():
                continue
            fill = pd.Series(decoded[name].to_numpy(), index=df.index)
            column = out[name]
            if pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_float_dtype(column.dtype):
                fill = fill.astype(column.dtype if not column.dtype == object else object)
            out[name] = column.where(~hole, fill)
        return out

    def sample(self, n: int, random_state=None, conditions=None):
        """Generate rows (only :class:`TabularVAE` is a generative model)."""
        raise TabaeError(
            f"{type(self).__name__} is not a generative model and cannot sample; "
            "fit tabae.TabularVAE to synthesise rows"
        )

    # ================================================================== persistence
    def save(self, path) -> None:
        """Write the fitted model to ``path`` (JSON metadata + tensors; no pickle)."""
        from tabae.persistence import save_model

        self._check_fitted()
        save_model(self, path)

    def _extra_tensors(self) -> dict[str, torch.Tensor]:
        """Fitted tensors beyond the network's weights (the VAE's latent prior)."""
        return {}

    def _set_extra_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        pass


def _seed_from(random_state) -> int:
    """An int seed from None / int / numpy Generator, without touching global state."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**32))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**32))
    if isinstance(random_state, (int, np.integer)) and random_state >= 0:
        return int(random_state)
    raise TabaeError(f"random_state={random_state!r}; pass None, a non-negative int or a numpy Generator")


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device):
    """Seed torch inside a fork of its RNG state, so the caller's global state is untouched."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield

