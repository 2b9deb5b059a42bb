"""The shared base of every tabae model: validation, fit, fitted state, and the tensor interface.

A model = a fitted :class:`~tabae.encoding.TableEncoder` + a :class:`~tabae.nn.TabularNet`
(+ an optional :class:`~tabae.models.blending.ImputationBlend` for imputations).
Variants (vanilla, denoising, sparse, contractive, variational) differ only in the hooks
:meth:`_corrupt` (what the input hides) and :meth:`_loss` (what is penalised); the
training loop, the inference code and the file format are the same for all.

What a user calls on frames (scores, imputations, latent features) lives in
:mod:`tabae.models.table_methods`; this module holds what is shared below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from tabae.encoding import TableEncoder
from tabae.estimator import TableEstimatorMixin
from tabae.exceptions import NotFittedError, TabaeError
from tabae.inputs import check_training_table, set_feature_names, to_frame
from tabae.models.blending import MAX_GAUSSIAN_COLUMNS, BlendConfig, ImputationBlend, held_out_cells, plan_blend
from tabae.models.constraints import COMMON_CONSTRAINTS
from tabae.models.table_methods import TableMethods
from tabae.nn.autoregressive import IncrementalMADE
from tabae.nn.heads import sample_mask, sample_rows
from tabae.nn.linear import linear, times_transposed
from tabae.nn.losses import SpanIndex, cell_nll
from tabae.nn.network import NetConfig, TabularNet
from tabae.nn.training import auto_epochs, resolve_device, train_network
from tabae.seeding import RowRandom, seed_from, seeded
from tabae.threads import torch_threads

__all__ = ["BaseAutoencoder"]


class BaseAutoencoder(TableEstimatorMixin, TableMethods, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                      BaseEstimator):
    """Shared behaviour; use :class:`Autoencoder`, :class:`DenoisingAE` or :class:`TabularVAE`."""

    _variational = False
    #: Optimiser steps that ``epochs="auto"`` aims at (the VAE needs more to sample well).
    _auto_steps = 3000
    #: Gradient-norm clip of the training steps.
    _max_grad_norm = 10.0
    #: What every parameter accepts (tabae/params.py); subclasses add their own.
    parameter_constraints: dict = COMMON_CONSTRAINTS

    # ================================================================== fit
    def fit(self, X, y=None, *, on_epoch=None) -> "BaseAutoencoder":
        """Learn the encoder and the network from ``X`` (a DataFrame or 2-D array, NaNs anywhere).

        ``y`` is ignored (it is there for scikit-learn pipelines). ``on_epoch``, if
        given, is called after every training epoch with that epoch's record of
        :attr:`history_` (``epoch``, ``train_loss``, ``val_loss``); an exception it
        raises (e.g. Optuna's ``TrialPruned``) stops the fit. Returns ``self``.
        """
        return self._fit_guarded(X, on_epoch)

    def _fit_guarded(self, X, on_epoch, make_stream=None) -> "BaseAutoencoder":
        """:meth:`fit`; ``make_stream(encoder)``, when given, returns the training stream of
        an input larger than memory, of which ``X`` is a sample (:func:`tabae.batch.fit_stream`)."""
        self.validate_params()
        self._forget_fitted()  # a refit that stops part-way must not leave old and new parts mixed
        try:
            with torch_threads(self.n_jobs):
                return self._fit(X, on_epoch, make_stream)
        except BaseException:
            self._forget_fitted()
            raise

    def _fit(self, X, on_epoch, make_stream=None) -> "BaseAutoencoder":
        df, frame_input = to_frame(X)
        check_training_table(df, type(self).__name__, stacklevel=4)  # the caller of fit
        device = resolve_device(self.device)
        seed = seed_from(self.random_state)
        encoder = TableEncoder(numeric=self.numeric_encoding, kinds=self.kinds, random_state=seed).fit(df)
        X_np, M_np = encoder.transform(df)
        index = SpanIndex.from_spans(encoder.spans_, encoder.n_features_, encoder.n_columns_)
        categorical = [p for p, j in enumerate(index.cat_col.tolist()) if encoder.schema_.columns[j].kind == "categorical"]
        blend_config = plan_blend(
            *self._blend_settings(index.n_gauss),
            index, len(X_np), self.validation_fraction, cat_spans=categorical,
            category_models=bool(getattr(self, "category_blend", True)),
        )
        config = NetConfig(
            n_features=encoder.n_features_, n_columns=encoder.n_columns_, n_gauss=index.n_gauss,
            hidden_dims=tuple(int(h) for h in self.hidden_dims), latent_dim=self.latent_dim,
            variational=self._variational, dropout=self.dropout,
            residual_scale=self.numeric_loss == "mse" and index.n_gauss > 0,
            ar_hidden=self._ar_hidden(),
        )
        X = torch.from_numpy(X_np).to(device)
        M = torch.from_numpy(M_np).to(device)
        epochs = self.planned_epochs(len(X))
        with seeded(seed, device):
            net = TabularNet(config).to(device)
            net.set_columns(index.feature_column.to(device), index.gauss_col.to(device))
            self._attach(encoder, net, device, frame_input)
            history, val_idx = train_network(
                self.net_, X, M, corrupt=self._corrupt, loss=self._loss, epochs=epochs,
                batch_size=self.batch_size, learning_rate=self.learning_rate,
                weight_decay=self.weight_decay, validation_fraction=self.validation_fraction,
                patience=self.patience, warmup_epochs=self._warmup_epochs(), lr_schedule=self.lr_schedule,
                max_grad_norm=self._max_grad_norm, verbose=self.verbose,
                desc=type(self).__name__, on_epoch=on_epoch,
                stream=make_stream(encoder) if make_stream is not None else None,
            )
            blend = None
            if blend_config is not None:
                with seeded(_blend_seed(seed), device):  # own stream: see _blend_seed
                    blend = ImputationBlend(blend_config).to(device).fit(self, X, M, val_idx)
            self._set_results(history=history, epochs=epochs, blend=blend, score_offsets=None)
            if config.residual_scale:
                self._fit_residual_scale(X, M, val_idx)
            self._after_fit(X, M)
            if blend is not None:
                with seeded(_blend_seed(seed) + 1, device):
                    blend.fit_categories(self, X, M, val_idx)
        self.score_offsets_ = self._fit_score_offsets(df, seed)
        return self

    def planned_epochs(self, n_rows: int) -> int:
        """Epochs ``fit`` plans on a table of ``n_rows`` rows (early stopping may end it
        sooner): ``epochs``, or with ``epochs="auto"`` enough for the model's step budget
        (3,000 optimiser steps; 1,500 for :class:`DenoisingAE` and :class:`TabularVAE`)
        counted on the training rows in the batches training takes, within [20, 1000]."""
        if self.epochs != "auto":
            return int(self.epochs)
        return auto_epochs(int(n_rows), self.batch_size, self._auto_steps, self.validation_fraction)

    def validate_params(self) -> None:
        """Check every parameter against :attr:`parameter_constraints`; raise :class:`TabaeError`
        naming the first bad one and what it accepts. ``fit`` calls it before any work."""
        super().validate_params()
        explicit = [getattr(self, p, False) for p in ("gaussian_blend", "neighbour_blend")]
        if any(v not in (False, 0, "auto") for v in explicit) and self.numeric_encoding == "mode":
            raise TabaeError(
                f"{type(self).__name__}: gaussian_blend and neighbour_blend need numeric_encoding='standard' "
                "or 'quantile' (a mode-specific code is not one value per column)"
            )
        resolve_device(self.device)  # CUDA asked for on a machine without it: say so now

    def _blend_settings(self, n_numeric: int) -> tuple[bool, int]:
        """``(gaussian_blend, neighbour_blend)`` with ``"auto"`` resolved: on (k=20) unless
        the numbers are mode-coded, which the numeric blend cannot use (and the Gaussian
        off, silently, where it would be off with a warning if asked for)."""
        blendable = self.numeric_encoding != "mode"
        gaussian = getattr(self, "gaussian_blend", False)
        k = getattr(self, "neighbour_blend", 0)
        return (blendable and n_numeric <= MAX_GAUSSIAN_COLUMNS if gaussian == "auto" else bool(gaussian),
                (20 if blendable else 0) if k == "auto" else int(k))

    def _warmup_epochs(self) -> int:
        return 0

    def _ar_hidden(self) -> int:
        """Width of the decoder's column-autoregressive part (0 = none; the VAE has one)."""
        return 0

    # ================================================================== fitted state
    # Fit and load both set the fitted state through these two methods, so a new fitted
    # attribute is added in one place (and in _fitted_state, which saves it).
    def _attach(self, encoder: TableEncoder, net: TabularNet, device: torch.device, frame_input: bool) -> None:
        """Set the state that derives from the encoder and the network."""
        self.encoder_ = encoder
        self.net_ = net.to(device)
        self.device_ = device
        self.span_index_ = SpanIndex.from_spans(encoder.spans_, encoder.n_features_, encoder.n_columns_).to(device)
        self.missing_rates_ = torch.tensor(encoder.missing_rates_, dtype=torch.float32, device=device)
        set_feature_names(self, encoder.schema_.names, frame_input)
        self._n_features_out = self.latent_dim

    def _set_results(self, *, history, epochs, blend, score_offsets, extra_tensors=None) -> None:
        """Set what training produced beyond the network's weights."""
        self.history_ = history
        self.epochs_ = epochs
        self.blend_ = blend
        self.score_offsets_ = score_offsets
        if extra_tensors is not None:
            self._set_extra_tensors(extra_tensors)

    def _fitted_state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        """Everything a model file holds: JSON metadata and named tensors."""
        self._check_fitted()
        params = self.get_params(deep=False)
        params["hidden_dims"] = [int(h) for h in params["hidden_dims"]]
        if isinstance(params["random_state"], np.random.Generator):
            params["random_state"] = None  # a generator is not data; the fitted model does not need it
        meta = {
            "class": type(self).__name__,
            "params": params,
            "net_config": self.net_.config.to_dict(),
            "blend_config": self.blend_.config.to_dict() if self.blend_ is not None else None,
            "encoder": self.encoder_.get_state(),
            "fitted": {
                "history": self.history_, "epochs": self.epochs_, "score_offsets": self.score_offsets_,
                "frame_input": hasattr(self, "feature_names_in_"),
            },
        }
        tensors = {f"net/{k}": v for k, v in self.net_.state_dict().items()}
        if self.blend_ is not None:
            tensors.update({f"blend/{k}": v for k, v in self.blend_.state_dict().items()})
        tensors.update({f"extra/{k}": v for k, v in self._extra_tensors().items()})
        return meta, tensors

    @classmethod
    def _from_fitted_state(cls, meta: dict, tensors: dict[str, torch.Tensor], device: str = "auto"):
        """Rebuild a fitted model from :meth:`_fitted_state`'s output (used by :func:`tabae.load`)."""
        params = dict(meta["params"])
        params["hidden_dims"] = tuple(params["hidden_dims"])
        params["device"] = device
        model = cls(**params)
        dev = resolve_device(device)
        encoder = TableEncoder.from_state(meta["encoder"])
        net = TabularNet(NetConfig.from_dict(meta["net_config"]))
        net.load_state_dict(_section(tensors, "net/"))
        blend = None
        if meta["blend_config"] is not None:
            blend = ImputationBlend(BlendConfig.from_dict(meta["blend_config"]))
            blend.load_state_dict(_section(tensors, "blend/"))
            blend = blend.to(dev)
        fitted = meta["fitted"]
        model._attach(encoder, net.eval(), dev, fitted["frame_input"])
        model._set_results(
            history=fitted["history"], epochs=fitted["epochs"], blend=blend,
            score_offsets=fitted["score_offsets"],
            extra_tensors={k: v.to(dev) for k, v in _section(tensors, "extra/").items()},
        )
        return model

    def _extra_tensors(self) -> dict[str, torch.Tensor]:
        """Fitted tensors beyond the network and the blend (the VAE's latent prior)."""
        return {}

    def _set_extra_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        pass

    def _forget_fitted(self) -> None:
        """Drop every fitted attribute (before a fit, and after one that did not finish)."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")] + ["_plans_cache"]:
            if hasattr(self, name):
                delattr(self, name)

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "net_")  # a fit that stops part-way leaves none (_forget_fitted)
        except SklearnNotFittedError:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(df) first or tabae.load(path)"
            ) from None

    # ================================================================== after training
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
        hides = self.mask_rate > 0 or (self.blend_ is not None and self.blend_.config.n_blend > 0)
        x, m, hide = held_out_cells(X, M, val_idx, hide=hides)
        mean, _, _ = self.predict_cells(x, m & ~hide)
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
        mu, logvar, hidden = self.net_.encode(x_in, index.per_feature(m_in).float(), m_in.float())
        z = self._latent(mu, logvar, sample=training)
        # Teacher forcing: the autoregressive part sees the real previous cells.
        mean, raw_scale, mask_logits = self.net_.decode(z, self.context(x, m))
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

    # ================================================================== tensor interface
    # Encoded rows in, head outputs or encoded rows out, no gradients. Synthesis, the
    # imputation blend and the frame-level methods are built on these.
    def context(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor | None:
        """What an autoregressive decoder conditions on: the cells where ``m`` is True (None otherwise)."""
        if not self.net_.autoregressive:
            return None
        return self.net_.cells(x, m[:, self.span_index_.feature_column].float(), m.float())

    @torch.no_grad()
    def heads(self, x, m_in, *, latent_noise: torch.Tensor | None = None):
        """The network's outputs for encoded rows ``x`` with the cells where ``m_in`` is
        False hidden: means/logits ``(N, D)``, raw scales ``(N, G)``, mask logits ``(N, C)``.

        ``latent_noise`` ``(N, L)``: decode a draw from a variational model's posterior
        (``mu + sigma * noise``) instead of its mean; ignored by deterministic models.
        """
        index, net = self.span_index_, self.net_
        mu, logvar, _ = net.encode(x, m_in[:, index.feature_column].float(), m_in.float())
        if latent_noise is not None and logvar is not None:
            mu = mu + (0.5 * logvar).exp() * latent_noise
        # An autoregressive decoder conditions on the visible previous cells; hidden ones
        # are absent from its context exactly as missing cells were in training.
        return net.decode(mu, self.context(x, m_in))

    @torch.no_grad()
    def predict_cells(self, x, m_in, *, latent_noise: torch.Tensor | None = None):
        """:meth:`heads`, with the imputation blend (if any) mixed into the numeric means."""
        mean, raw_scale, mask_logits = self.heads(x, m_in, latent_noise=latent_noise)
        if self.blend_ is not None:
            mean = self.blend_.blend(self, x, m_in, mean)
        return mean, raw_scale, mask_logits

    @torch.no_grad()
    def masked_cell_nll(self, x, m) -> torch.Tensor:
        """Per-cell NLL ``(N, C)`` of each observed cell predicted with its own column hidden.

        Hiding column ``j`` changes only its own inputs, so the first layer's
        pre-activation is corrected by that column's share instead of recomputed, and only
        column ``j``'s outputs are read out. An autoregressive decoder's outputs for
        column ``j`` see only earlier columns, so they come from one pass with every cell
        visible.

        Tables wider than :data:`MASKED_PASSES` columns hide several columns at once:
        column ``j`` in pass ``j % MASKED_PASSES``, so each pass hides at most one column
        in ``MASKED_PASSES`` (300 columns: 10 of 300, far fewer than the cells a denoising
        model learnt to do without), and the cost stops growing with the square of the
        column count. Which columns share a pass depends on the column count alone.
        """
        net, index = self.net_, self.span_index_
        first, rest = net.encoder[0], net.encoder[1:]
        cells = net.cells(x, m[:, index.feature_column].float(), m.float())  # (N, D + C)
        pre = first(cells)  # (N, H)
        context = net.made(self.context(x, m)) if net.autoregressive else None  # (N, D + G + C)
        out = torch.zeros(m.shape, device=x.device)
        plans = self._column_plans()
        n_passes = min(len(plans), MASKED_PASSES)
        passes = [list(range(p, len(plans), n_passes)) for p in range(n_passes)]
        n = len(x)
        # Passes go through the hidden layers a group at a time (one large product
        # instead of many small ones).
        group = max(1, _MASKED_GROUP_ROWS // max(n, 1))
        for g0 in range(0, n_passes, group):
            members = passes[g0 : g0 + group]
            pre_hidden = torch.cat([
                pre - sum(times_transposed(cells[:, plans[j].inputs], first.weight[:, plans[j].inputs]) for j in hidden)
                for hidden in members
            ])  # (|group| * N, H)
            mu = net.to_latent(rest(pre_hidden))[:, : self.latent_dim]  # posterior mean for a VAE
            decoded = net.decoder(mu)  # (|group| * N, H0)
            for k, hidden in enumerate(members):
                for j in hidden:
                    plan = plans[j]
                    heads = linear(decoded[k * n : (k + 1) * n], net.head.weight[plan.units], net.head.bias[plan.units])
                    if context is not None:
                        heads = heads + context[:, plan.units]
                    mean, raw, _ = heads.split([plan.width, plan.n_gauss, 1], dim=1)
                    nll = cell_nll(mean, raw, x[:, plan.feats], m[:, j : j + 1], plan.index, self.numeric_loss)
                    out[:, j] = nll[:, 0]
        return out

    def draw_cells(self, mean, raw_scale, rand: RowRandom, stream: int) -> torch.Tensor:
        """One draw from every head ``(N, D)``, each row from its own random stream."""
        return sample_rows(mean, raw_scale, self.span_index_, rand, stream, self.numeric_loss,
                           residual_scale=getattr(self.net_, "residual_scale", None))

    @torch.no_grad()
    def draw_in_column_order(self, base, x, given, rand: RowRandom, stream: int, draw_missing: bool = False,
                             forced: dict | None = None, logit_bias: torch.Tensor | None = None):
        """Fill the cells not ``given`` column by column (table order), each column's heads
        seeing the cells filled before it: the autoregressive decoder's way to draw.

        base : (N, D + G + C) ``net_.decode_base`` outputs; x, given : the fixed cells.
        ``draw_missing`` also draws whether each filled cell is observed (synthesis);
        otherwise every filled cell counts as observed (imputation). Only the column
        being filled is read out and drawn, and the decoder's context is updated by that
        column alone, so the cost grows linearly with the number of columns.
        ``forced`` ``{column: ForcedLevels | ForcedMissing}`` (synthesis under conditions,
        tabae/nn/forced.py) draws those columns restricted to their condition.
        ``logit_bias`` ``(D + C,)`` is added to the heads' outputs before drawing: the
        features' and then the missingness heads' (the calibration of generated rows,
        :func:`tabae.synthesize.fit_sample_bias`).
        Returns the encoded rows ``(N, D)``, observed flags ``(N, C)`` and each row's
        probability of having met the forced conditions unrestricted ``(N,)`` (ones
        without ``forced``).
        """
        net, index = self.net_, self.span_index_
        filled, known = x * given[:, index.feature_column], given.clone()
        made = IncrementalMADE(net.made, self.context(filled, known))
        residual = getattr(net, "residual_scale", None)
        plans = self._column_plans()
        weight = torch.ones(len(base), device=base.device)
        for j, plan in enumerate(plans):
            if j % _DRAW_GROUP == 0:  # the next group of columns' outputs
                group = plans[j : j + _DRAW_GROUP]
                made.focus(torch.cat([p.units for p in group]))
                offsets = np.cumsum([0] + [len(p.units) for p in group])
            todo = ~given[:, j]
            if not todo.any():
                continue
            k = j % _DRAW_GROUP
            local = torch.arange(int(offsets[k]), int(offsets[k + 1]), device=base.device)
            out = base[:, plan.units] + made.outputs(local)  # (N, w + g + 1)
            mean, raw, mask_logit = out.split([plan.width, plan.n_gauss, 1], dim=1)
            if logit_bias is not None:
                mean = mean + logit_bias[plan.feats]
                if len(logit_bias) > index.n_features:  # files from before the holes' calibration have none
                    mask_logit = mask_logit + logit_bias[index.n_features + j]
            force = forced.get(j) if forced else None
            if force is not None:
                drawn, seen, p_met = force.draw(mean, mask_logit, plan.index, float(self.missing_rates_[j]),
                                                rand, stream + 4 * j)
                weight = weight * p_met
            else:
                drawn = sample_rows(mean, raw, plan.index, rand, stream + 4 * j, self.numeric_loss,
                                    residual_scale=None if residual is None else residual[plan.gauss])
            filled[:, plan.feats] = torch.where(todo[:, None], drawn, filled[:, plan.feats])
            if force is not None:
                known[:, j] = torch.where(todo, seen, known[:, j])
            elif draw_missing:
                seen = sample_mask(mask_logit, self.missing_rates_[j : j + 1], rand, stream + 4 * j + 3)[:, 0]
                known[:, j] = torch.where(todo, seen, known[:, j])
            else:
                known[:, j] = True
            cells = torch.cat([filled[:, plan.feats] * known[:, j : j + 1], known[:, j : j + 1].float()], dim=1)
            made.update(plan.inputs, cells)
        return filled, known, weight

    def _column_plans(self) -> list:
        """Per column: its feature block, its units among the decoder's outputs and the
        context's inputs, and a span index of its own (built once per fitted model)."""
        plans = getattr(self, "_plans_cache", None)
        if plans is None or plans[0] is not self.net_:
            index, device = self.span_index_, self.device_
            n_feat, n_gauss = index.n_features, index.n_gauss
            column_plans = []
            for j, (start, end) in enumerate(self.encoder_.column_slices_):
                feats = torch.arange(start, end, device=device)
                gauss = torch.nonzero(index.gauss_col == j).squeeze(1)
                units = torch.cat([feats, n_feat + gauss, torch.tensor([n_feat + n_gauss + j], device=device)])
                inputs = torch.cat([feats, torch.tensor([n_feat + j], device=device)])
                column_plans.append(_ColumnPlan(feats, gauss, units, inputs, index.for_column(j, start, end)))
            plans = (self.net_, column_plans)
            self._plans_cache = plans
        return plans[1]

    def transform(self, X):
        """:meth:`encode` for scikit-learn pipelines: latent features ``(n, latent_dim)``.

        Defined here (not beside ``encode``) so that scikit-learn's ``set_output`` wraps
        it: ``set_output(transform="pandas")`` gives a frame with columns named by
        ``get_feature_names_out`` and the input's index.
        """
        return self.encode(X)

    def sample(self, n: int, random_state=None, conditions=None):
        """Generate rows (only :class:`TabularVAE` is a generative model)."""
        raise TabaeError(
            f"{type(self).__name__} is not a generative model and cannot sample; "
            "fit tabae.TabularVAE to synthesise rows"
        )

    # ================================================================== persistence
    def save(self, path) -> None:
        """Write the fitted model to ``path`` (JSON metadata + raw tensors; no pickle).

        The file carries a SHA-256 of all its bytes, so any corruption or edit is
        refused at load (:class:`tabae.ModelFileError`).
        """
        from tabae.persistence import write_model_file

        meta, tensors = self._fitted_state()
        write_model_file(path, meta, tensors)


#: Rows (columns x rows of a block) that masked scoring sends through the network at once.
_MASKED_GROUP_ROWS = 8192
MASKED_PASSES = 32  # masked scoring hides columns in at most this many passes (wide tables: ~1 s a 2,000 x 300 table)
#: Columns whose direct autoregressive path is kept up to date at once while drawing.
_DRAW_GROUP = 32


@dataclass(frozen=True)
class _ColumnPlan:
    feats: torch.Tensor  # (w,) the column's positions in the encoded layout
    gauss: torch.Tensor  # (g,) its Gaussian units' numbers among the G
    units: torch.Tensor  # (w + g + 1,) its means/logits, raw scales and mask logit among the outputs
    inputs: torch.Tensor  # (w + 1,) its values and observed flag in the decoder's context
    index: SpanIndex  # its spans, positions relative to its block

    @property
    def width(self) -> int:
        return len(self.feats)

    @property
    def n_gauss(self) -> int:
        return len(self.gauss)


def _section(tensors: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _blend_seed(seed: int) -> int:
    """The seed of the imputation blend's random draws (held-out cells, bank rows), apart
    from the model's own stream: what the model samples and scores is the same whether
    or not it blends."""
    return (seed + 0x9E3779B97F4A7C15) % 2**62
