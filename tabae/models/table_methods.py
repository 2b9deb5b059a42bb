"""What a user calls on a fitted model: outlier scores, likelihoods, latent features, imputations.

Conventions (scikit-learn and PyOD):

* ``decision_function(X)``: one outlier score per row, higher = stranger (PyOD's sign);
  ``per_column=True`` gives each column's contribution.
* ``score_samples(X)``: log-likelihood of each row's observed cells, higher = more
  normal (scikit-learn's sign); ``score(X)`` is its mean, so ``GridSearchCV`` and
  ``cross_val_score`` can compare models with their default scorer.
* ``impute(X)``: one completed table; ``impute_draws(X, n_draws)``: several, for
  multiple imputation.

Inputs are DataFrames (columns matched by name) or 2-D arrays (matched by position);
outputs follow the input: pandas in, pandas out.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch

from tabae.exceptions import TabaeError, TabaeWarning
from tabae.inputs import to_frame
from tabae.nn.blocks import map_blocks, pad_keys
from tabae.nn.heads import point_rows
from tabae.nn.losses import CategoryGroups, cell_nll, gaussian_scale
from tabae.params import COUNT
from tabae.seeding import RowRandom, row_keys, seed_from
from tabae.threads import model_threads

__all__ = ["TableMethods"]

_SCORE_METHODS = ("auto", "masked", "reconstruction")


class TableMethods:
    """Frame-level methods of every tabae model (mixed into :class:`BaseAutoencoder`)."""

    # ================================================================== inputs
    def _input(self, X) -> tuple[pd.DataFrame, bool]:
        self._check_fitted()
        return to_frame(X, self.encoder_.schema_.names)

    def _encode_frame(self, df: pd.DataFrame):
        X, M = self.encoder_.transform(df)
        return torch.from_numpy(X).to(self.device_), torch.from_numpy(M).to(self.device_)

    # ================================================================== scores
    @model_threads
    def decision_function(self, X, per_column: bool = False, method: str = "auto"):
        """How strange each row is: the negative log-likelihood of its observed cells.

        Each cell's NLL (of the value itself, in data space) is centred on that column's
        median over training rows, so a typical cell adds about 0, a surprising one a lot,
        and a missing one exactly 0. Rows rank as by the plain NLL of their observed cells
        when no cell is missing. Higher = more abnormal (PyOD's convention; scikit-learn's
        ``IsolationForest.decision_function`` has the opposite sign).

        Parameters
        ----------
        X : DataFrame or 2-D array
            Rows to score, with the fitted columns. Missing cells do not count.
        per_column : bool, default=False
            Return each column's contribution (they sum to the row score), showing
            which columns make a row strange.
        method : {"auto", "masked", "reconstruction"}, default="auto"
            ``"masked"`` predicts each column from the others with it hidden (a
            pseudo-likelihood; sharp explanations; needs a model trained with
            ``mask_rate > 0``); ``"reconstruction"`` scores the plain reconstruction.
            ``"auto"`` picks masked when the model was trained with masking.

        Returns
        -------
        Series (DataFrame when ``per_column``) indexed like ``X``; arrays for array input.
        """
        masked = self._masked(method)
        df, was_frame = self._input(X)
        nll = self._raw_cell_scores(df, masked)
        # Centre each column on its typical training value, so that contributions say
        # "more surprising than usual" and compare across columns (a wide numeric column
        # always has a large density-based NLL); observed-but-typical cells and missing
        # cells both contribute about 0.
        offsets = np.asarray(self.score_offsets_["masked" if masked else "reconstruction"])
        empty = np.isnan(nll).all(1)
        if empty.any():
            warnings.warn(
                f"{int(empty.sum())} row(s) have no observed cell (e.g. the row at position "
                f"{int(np.argmax(empty))} of this call): there is nothing to score, so their score is 0, "
                "as typical as a row can be; drop or flag them before ranking",
                TabaeWarning, stacklevel=3,
            )
        nll = np.where(np.isnan(nll), 0.0, nll - offsets)
        if per_column:
            if not was_frame:
                return nll
            return pd.DataFrame(nll, index=df.index, columns=self.encoder_.schema_.names)
        total = nll.sum(1)
        return pd.Series(total, index=df.index, name="score") if was_frame else total

    @model_threads
    def score_samples(self, X, method: str = "reconstruction"):
        """Log-likelihood of each row's observed cells, in data space; higher = more normal.

        scikit-learn's sign and meaning (as ``GaussianMixture.score_samples``): unlike
        :meth:`decision_function` it is not centred, so rows with more observed cells
        have more terms. ``method`` as in :meth:`decision_function` (default
        ``"reconstruction"``: one pass, comparable across models).

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        masked = self._masked(method)
        df, _ = self._input(X)
        return -np.nansum(self._raw_cell_scores(df, masked), axis=1)

    def score(self, X, y=None, **kwargs) -> float:
        """Mean log-likelihood per row of ``X`` (:meth:`score_samples`); higher = better.

        scikit-learn's ``score``, so model selection (``GridSearchCV``,
        ``cross_val_score``) works with its default scorer. ``y`` is ignored.
        The per-row outlier score is :meth:`decision_function`.
        """
        if kwargs or isinstance(y, (bool, np.bool_, str)):
            raise TabaeError(
                "score(X) now returns one float (the mean log-likelihood per row, higher = better), "
                "as scikit-learn expects; for the per-row outlier score use "
                "decision_function(X, per_column=..., method=...)"
            )
        return float(np.mean(self.score_samples(X)))

    def _masked(self, method: str) -> bool:
        """Whether ``method`` scores each column with itself hidden."""
        if method not in _SCORE_METHODS:
            raise TabaeError(f"method={method!r}; choose one of {_SCORE_METHODS}")
        self._check_fitted()
        # Fitted with mask_rate > 0 (not today's parameter); none yet while training.
        trained_masked = "masked" in (getattr(self, "score_offsets_", None) or {})
        if method == "masked" and not trained_masked:
            raise TabaeError(
                f"method='masked' needs a model trained with hidden cells (mask_rate > 0); this "
                f"{type(self).__name__} was not, so it never learnt to predict a column without seeing it. "
                "Use method='reconstruction', or fit with mask_rate=0.3"
            )
        return method == "masked" or (method == "auto" and trained_masked)

    def _raw_cell_scores(self, df: pd.DataFrame, masked: bool) -> np.ndarray:
        """Per-cell NLL of the values ``(n, C)``, NaN where the cell is missing."""
        return self._encoded_cell_scores(*self._encoded_with_jacobian(df), masked)

    def _encoded_with_jacobian(self, df: pd.DataFrame):
        """``df`` encoded ``(x, m)``, and the log-Jacobian of its values' encoding (or None)."""
        x, m = self._encode_frame(df)
        # Score values, not their encodings: a value deep in a column's sparse tail
        # is strange even when the model predicts its encoding well.
        jacobian = self.encoder_.log_jacobian(df) if self.numeric_loss == "gaussian" else None
        return x, m, jacobian

    def _encoded_cell_scores(self, x, m, jacobian, masked: bool) -> np.ndarray:
        nll = self._cell_nll(x, m, masked).cpu().numpy().astype(np.float64)
        if jacobian is not None:
            nll -= jacobian
        nll[~m.cpu().numpy()] = np.nan
        return nll

    @torch.no_grad()
    def _cell_nll(self, x, m, masked: bool) -> torch.Tensor:
        """Per-cell NLL ``(N, C)``; ``masked`` predicts each column with itself hidden."""
        groups = None if masked else CategoryGroups.from_index(self.span_index_)

        def block_nll(k, xb, mb):
            if masked:
                return self.masked_cell_nll(xb, mb)[:k]
            mean, raw, _ = self.heads(xb, mb)
            return cell_nll(mean, raw, xb, mb, self.span_index_, self.numeric_loss, groups)[:k]

        out = map_blocks(block_nll, x, m)
        return torch.cat(out) if out else torch.zeros(0, self.encoder_.n_columns_)

    def _fit_score_offsets(self, df: pd.DataFrame, seed: int) -> dict:
        """Median per-column NLL of (up to 5,000) training rows, for each scoring method."""
        rows = np.random.default_rng(seed).permutation(len(df))[:5000]
        sample = df.iloc[np.sort(rows)]
        offsets = {}
        # Masked scoring is for models trained with hidden cells only (see _masked).
        methods = (("reconstruction", False), ("masked", True)) if self.mask_rate > 0 else (("reconstruction", False),)
        encoded = self._encoded_with_jacobian(sample)  # once for both methods
        for method, masked in methods:
            nll = self._encoded_cell_scores(*encoded, masked)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a column with no observed cell
                offsets[method] = np.nan_to_num(np.nanmedian(nll, axis=0)).tolist()
        return offsets

    # ================================================================== latent features
    @torch.no_grad()
    @model_threads
    def encode(self, X) -> np.ndarray:
        """Latent features ``(n, latent_dim)`` (the posterior mean for the VAE), as float64.

        The network computes in float32; the features are returned as float64, the
        dtype scikit-learn transformers give back for float64 input.
        """
        df, _ = self._input(X)
        x, m = self._encode_frame(df)
        index = self.span_index_
        parts = map_blocks(lambda k, xb, mb: self.net_.encode(xb, mb[:, index.feature_column].float(), mb.float())[0][:k],
                           x, m)
        return torch.cat(parts).cpu().numpy().astype(np.float64) if parts else np.zeros((0, self.latent_dim))

    # ================================================================== imputation
    @torch.no_grad()
    @model_threads
    def impute(self, X, **kwargs):
        """Fill the missing cells of ``X``; every observed cell is returned bit-for-bit.

        Numeric cells get the model's predictive mean, categories and flags their most
        likely value: one best guess per cell. For multiple imputation use
        :meth:`impute_draws`.

        Parameters
        ----------
        X : DataFrame or 2-D array
            A table with the fitted columns (a frame's columns in any order). Index,
            column order and dtypes are kept.

        Returns
        -------
        DataFrame (an array for array input).
        """
        if kwargs:
            raise TabaeError(
                f"impute(X) takes no {sorted(kwargs)}: it returns one completion (a point estimate); "
                "for multiple imputation use impute_draws(X, n_draws=k, random_state=seed)"
            )
        df, was_frame = self._input(X)
        x, m = self._encode_frame(df)
        missing = ~m.cpu().numpy()
        rows = np.flatnonzero(missing.any(1))  # only rows with a hole need the model
        completed = self._point_completion(x[rows], m[rows])
        out = self._fill(df, completed, missing, rows)
        return out if was_frame else out.to_numpy()

    @torch.no_grad()
    @model_threads
    def impute_draws(self, X, n_draws: int = 5, random_state=None) -> list:
        """``n_draws`` completions of ``X`` drawn from the model, for multiple imputation.

        Observed cells are kept in every draw; missing cells are drawn from the model's
        conditional distribution given the row's visible cells (see :func:`tabae.pool`
        to combine the analyses of the draws).

        Returns
        -------
        list of DataFrames (arrays for array input).
        """
        if not COUNT.accepts(n_draws):
            raise TabaeError(f"n_draws={n_draws!r}; pass the number of completions, an int >= 1")
        df, was_frame = self._input(X)
        x, m = self._encode_frame(df)
        missing = ~m.cpu().numpy()
        seed = seed_from(random_state)
        # Each row draws from its own streams, keyed by its index label and values: a
        # row's draws never depend on the other rows of the call (chunks, Dask).
        rows = np.flatnonzero(missing.any(1))  # only rows with a hole are drawn
        keys = row_keys(df.index, x, m)[rows]
        x, m = x[rows], m[rows]
        n_draws = int(n_draws)

        def block_draws(start, k, xb, mb):
            rand = RowRandom(seed, pad_keys(keys[start : start + k], len(xb)), x.device)
            return [rows_drawn[:k] for rows_drawn in self._draw_completions(xb, mb, rand, n_draws)]

        drawn = map_blocks(block_draws, x, m, with_start=True)
        blocks = [[block[d] for block in drawn] for d in range(n_draws)]
        draws = []
        for d in range(n_draws):
            stream = _draw_stream(d)
            X_hat = torch.cat(blocks[d]).cpu().numpy() if blocks[d] else np.zeros((0, self.encoder_.n_features_), np.float32)
            rare = RowRandom(seed, keys).uniform_np(stream + 2, self.encoder_.n_columns_)
            decoded = self.encoder_.inverse_transform(X_hat, row_uniforms=rare)
            out = self._fill(df, decoded, missing, rows)
            draws.append(out if was_frame else out.to_numpy())
        return draws

    def _draw_completions(self, x, m, rand: RowRandom, n_draws: int):
        """``n_draws`` draws of every cell given the visible ones (only the hidden ones are used).

        The network runs once per block: a deterministic latent gives the same heads for
        every draw, and a variational one is encoded once, each draw decoding its own
        latent sample. An autoregressive decoder fills the hidden cells column by column,
        each seeing the cells drawn before it, so that linked hidden cells are drawn
        consistently.
        """
        net = self.net_
        if net.config.variational:
            mu, logvar, _ = net.encode(x, m[:, self.span_index_.feature_column].float(), m.float())
        else:
            mean, raw, _ = self.predict_cells(x, m)
        for d in range(n_draws):
            stream = _draw_stream(d)
            if not net.config.variational:
                yield self.draw_cells(mean, raw, rand, stream + 16)
                continue
            noise = rand.normal(stream + 1, self.latent_dim)
            if not net.autoregressive:
                mean_d, raw_d, _ = self.predict_cells(x, m, latent_noise=noise)
                yield self.draw_cells(mean_d, raw_d, rand, stream + 16)
                continue
            base = net.decode_base(mu + (0.5 * logvar).exp() * noise)
            yield self.draw_in_column_order(base, x, m, rand, stream + 16)[0]

    def _point_completion(self, x, m) -> pd.DataFrame:
        """Decoded best guesses; numeric columns carry their predictive mean in data space."""
        def block_points(k, xb, mb):
            mean, raw, _ = self.predict_cells(xb, mb)
            scale = gaussian_scale(raw) if self.numeric_loss == "gaussian" else torch.zeros_like(raw)
            return point_rows(mean, self.span_index_)[:k], scale[:k]

        points = map_blocks(block_points, x, m)
        means, scales = [p[0] for p in points], [p[1] for p in points]
        X_hat = torch.cat(means).cpu().numpy().astype(np.float64) if means else np.zeros((0, self.encoder_.n_features_))
        S = torch.cat(scales).cpu().numpy().astype(np.float64) if scales else np.zeros((0, self.span_index_.n_gauss))
        return self.encoder_.decode_point(X_hat, S)

    def _fill(self, df: pd.DataFrame, decoded: pd.DataFrame, missing: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        """``df`` with its holes filled from ``decoded``, the completions of rows ``rows``
        (positions); every other cell is left exactly as it was."""
        filled = {}
        for j, spec in enumerate(self.encoder_.schema_.columns):
            holes = np.flatnonzero(missing[:, j])
            if not len(holes) or spec.kind == "id":  # a key cannot be guessed: its holes stay
                continue
            name = spec.name
            column = df[name]
            if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
                # Plain floats (most cells of a wide table): in NumPy, without a Series.
                values = column.to_numpy(copy=True)
                values[holes] = decoded[name].to_numpy()[np.searchsorted(rows, holes)]
                filled[name] = values
                continue
            fill = decoded[name].iloc[np.searchsorted(rows, holes)]
            column = column.copy()
            if pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_float_dtype(column.dtype):
                fill = fill.astype(column.dtype)
            column.iloc[holes] = fill.to_numpy()
            filled[name] = column
        if not filled:
            return df.copy()
        # One new frame instead of a column assignment per filled column: on a wide
        # table those assignments cost more than the imputation.
        out = pd.DataFrame({name: filled.get(name, df[name]) for name in df.columns}, index=df.index, copy=True)
        out.columns = df.columns
        out.attrs = dict(df.attrs)
        return out


def _draw_stream(d: int) -> int:
    """First random stream of imputation draw ``d`` (each draw owns 2**20 streams)."""
    return (d + 1) << 20
