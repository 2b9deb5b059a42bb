"""The model family: vanilla (optionally sparse / contractive), denoising, variational.

Each class only stores its parameters and overrides the few hooks of
:class:`~tabae.models.base.BaseAutoencoder` that make it what it is.
"""

from __future__ import annotations

import torch

from tabae.models.base import BaseAutoencoder
from tabae.models.constraints import AUTOENCODER_CONSTRAINTS, DAE_CONSTRAINTS, VAE_CONSTRAINTS
from tabae.models.ties import DominantTies
from tabae.nn.losses import kl_normal
from tabae.threads import model_threads, threaded_iter

__all__ = ["Autoencoder", "DenoisingAE", "TabularVAE"]


def _store_params(model, params: dict) -> None:
    """scikit-learn's rule: ``__init__`` stores each keyword argument as given, nothing else."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(model, name, value)

_COMMON_DOC = """
    latent_dim : int, default=16 (11 for TabularVAE)
        Size of the latent code (the features :meth:`encode` returns).
    hidden_dims : tuple of int, default=(256, 256) ((179, 179, 179) for TabularVAE)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    epochs : int or "auto", default="auto"
        Maximum passes over the data; "auto" aims at about 3,000 optimiser steps
        (1,500 for DenoisingAE and TabularVAE), counted as training takes them
        (see :meth:`planned_epochs`). Early stopping on a validation split may stop
        sooner.
    batch_size : int, default=512
        Rows per step; small tables use smaller batches (at least ~8 steps an epoch).
    learning_rate : float, default=1e-3 (4e-3 for DenoisingAE, 4.4e-3 for TabularVAE)
    lr_schedule : {"constant", "cosine"}, default="constant" ("cosine" for DenoisingAE)
        "cosine" decays the learning rate to 0 over the planned steps; pair it with a
        higher ``learning_rate`` (DenoisingAE and the imputer use 4e-3).
    weight_decay : float, default=1e-5
    dropout : float, default=0.0
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping (none for tables under 50 rows).
    patience : int, default=20
        Epochs without validation improvement before stopping; the best weights are kept.
    numeric_encoding : {"quantile", "standard", "mode"}, default="quantile"
        How numeric columns are encoded (see :class:`tabae.TableEncoder`); "mode" is
        TVAE's mode-specific normalisation.
    numeric_loss : {"gaussian", "mse"}, default="gaussian"
        Gaussian NLL with a learned per-cell scale, or plain squared error.
    kinds : dict, optional
        Column kind overrides, e.g. ``{"zip": "categorical"}``.
    n_jobs : int, "auto" or None, default=None
        Threads torch may use while this model works (fit, scores, imputations,
        samples): None is one (scikit-learn's meaning), -1 every usable core, "auto"
        the cores free now. One thread never fights other processes and keeps fits
        reproducible; training results depend on the thread count, so pin it when
        you need bit-identical refits (see :mod:`tabae.threads`).
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, optional
        Same seed, same data, same machine -> the same model.
    verbose : bool, default=True
        Show a progress bar (only when stderr is a terminal).
"""


def _document(cls):
    """Fill the shared parameter docs into a class docstring (a docstring must be a
    literal, so the shared parts cannot be concatenated in place)."""
    common = _COMMON_DOC.lstrip("\n") + "\n"
    cls.__doc__ = cls.__doc__.replace("    {blend}\n", _BLEND_DOC).replace("    {common}\n", common)
    return cls


_BLEND_DOC = """    gaussian_blend : bool, default=False
        Also fit a multivariate Gaussian to the numeric columns (EM, holes and all) and
        blend its conditional mean into numeric imputations, with one weight per column
        fitted on held-out hidden cells. The Gaussian gets linear relations right from
        a few hundred rows, where a network needs thousands: large gains on small or
        near-linear tables, weight ~1 for the network where it is better. Only :meth:`impute` uses it. Needs numeric_encoding "standard" or
        "quantile"; off (with a warning) above 128 numeric columns, where its per-row
        solves would cost more than the network. :class:`tabae.AEImputer` turns it on.
    neighbour_blend : int, default=0
        ``k > 0``: also predict numeric imputations as the distance-weighted mean of the
        k most similar training rows' observed values, rows compared on the network's
        completion of them, and blend it in like the Gaussian (weights per column fitted
        on held-out hidden cells; ~0 where it does not help). Wins on cluster-like
        tables (see docs/benchmarks.md). Keeps up to 20,000 training rows
        inside the model (and its saved file), as a k-NN imputer does. Only
        :meth:`impute` uses it; :class:`tabae.AEImputer` uses k=20.
    category_blend : bool, default=True
        Categorical imputations mix the network's class probabilities with the column's
        training frequencies (and the neighbours' votes, with ``neighbour_blend``),
        weighed on held-out hidden cells, falling back on the column's mode where the
        mix does not clearly beat it. True also weighs in a softmax classifier and a
        random forest per categorical column, fitted on the network's completion of
        each row: MissForest-level categorical fills, at a fit-time cost that grows
        with the number of categorical levels. Only :meth:`impute` uses them.
"""


@_document
class Autoencoder(BaseAutoencoder):
    """A deterministic autoencoder with masked, type-specific reconstruction losses.

    Parameters
    ----------
    sparsity : float, default=0.0
        Weight of an L1 penalty on the latent activations (a sparse autoencoder).
    contractive : float, default=0.0
        Weight of the contractive penalty ``||d z / d x||_F^2`` (estimated with one
        random projection per step, so it costs one extra backward pass).
    mask_rate : float, default=0.0
        Share of observed cells hidden from the input at each step.
    {blend}
    {common}
    Examples
    --------
    >>> import tabae
    >>> df = tabae.datasets.load_adult().sample(2000, random_state=0)
    >>> model = tabae.Autoencoder(epochs=5, random_state=0, verbose=False).fit(df)
    >>> model.encode(df).shape
    (2000, 16)
    """

    def __init__(
        self, *, latent_dim=16, hidden_dims=(256, 256), epochs="auto", batch_size=512,
        learning_rate=1e-3, lr_schedule="constant", weight_decay=1e-5, dropout=0.0, validation_fraction=0.1, patience=20,
        numeric_encoding="quantile", numeric_loss="gaussian", mask_rate=0.0, sparsity=0.0,
        contractive=0.0, gaussian_blend=False, neighbour_blend=0, category_blend=True, kinds=None, n_jobs=None,
        device="auto", random_state=None, verbose=True,
    ):
        _store_params(self, locals())

    parameter_constraints = AUTOENCODER_CONSTRAINTS

    def _contractive_weight(self) -> float:
        return self.contractive

    def _penalty(self, x_in, mu, logvar, hidden, epoch, training):
        penalty = mu.new_zeros(())
        if self.sparsity > 0:
            penalty = penalty + self.sparsity * mu.abs().sum(1).mean()
        if self.contractive > 0 and training:
            # Hutchinson: E_v ||J^T v||^2 = ||J||_F^2 for v ~ N(0, I).
            v = torch.randn_like(mu)
            (grad,) = torch.autograd.grad((mu * v).sum(), x_in, create_graph=True)
            penalty = penalty + self.contractive * grad.pow(2).sum(1).mean()
        return penalty


@_document
class DenoisingAE(BaseAutoencoder):
    """An autoencoder trained to restore artificially hidden and swapped cells.

    At every step a share ``mask_rate`` of the observed cells is hidden from the input
    (exactly as missing cells are) and a share ``swap_rate`` is replaced by the value of
    another row; the loss asks for every observed cell back. This is what makes it a good
    imputer (as in masked-autoencoder imputers such as ReMasker) and lets
    :meth:`score` predict each column from the others.

    Parameters
    ----------
    mask_rate : float, default=0.3
    swap_rate : float, default=0.1
    {blend}
    {common}
    Examples
    --------
    >>> import tabae
    >>> df = tabae.datasets.load_adult().sample(2000, random_state=0)
    >>> model = tabae.DenoisingAE(epochs=5, random_state=0, verbose=False).fit(df)
    >>> completed = model.impute(df)
    >>> bool(completed.isna().any().any())
    False
    """

    def __init__(
        self, *, latent_dim=16, hidden_dims=(256, 256), epochs="auto", batch_size=512,
        learning_rate=4e-3, lr_schedule="cosine", weight_decay=1e-5, dropout=0.0, validation_fraction=0.1, patience=20,
        numeric_encoding="quantile", numeric_loss="gaussian", mask_rate=0.3, swap_rate=0.1,
        gaussian_blend=False, neighbour_blend=0, category_blend=True, kinds=None, n_jobs=None, device="auto",
        random_state=None, verbose=True,
    ):
        _store_params(self, locals())

    parameter_constraints = DAE_CONSTRAINTS
    # A cosine decay from 4e-3 over 1,500 steps: as good as 3,000 constant 1e-3 steps on
    # adult (held-out log-likelihood, imputation) in half the time, and far better on a
    # wide table at equal time (docs/benchmarks.md, "Wide tables").
    _auto_steps = 1500

    def _swap_noise(self, x, m_in):
        if self.swap_rate <= 0:
            return x
        index = self.span_index_
        donor = torch.randperm(len(x), device=x.device)
        swap = m_in & m_in[donor] & (torch.rand(m_in.shape, device=x.device) < self.swap_rate)  # (B, C)
        swap_feat = index.per_feature(swap)  # (B, D)
        return torch.where(swap_feat, x[donor], x)


@_document
class TabularVAE(BaseAutoencoder):
    """A variational autoencoder (beta-VAE) for mixed tables; the generative model.

    Parameters
    ----------
    beta : float, default=0.35
        Weight of the KL term (beta-VAE). Below 1 the reconstructions are sharper; the
        mixture prior used for sampling makes up for the looser match to N(0, I).
    kl_warmup : int, default=11
        Epochs over which the KL weight ramps from 0 to ``beta`` (guards against
        posterior collapse).
    free_bits : float, default=0.49
        Minimum KL, in nats per latent dimension, below which the term is not pushed
        (free bits; another guard against collapse: every latent dimension keeps about
        half a nat of information about its row).
    prior : {"gmm", "normal"}, default="gmm"
        Latent distribution used by :meth:`sample`: a Gaussian mixture fitted to the
        aggregate posterior of the training rows (fills the "holes" of N(0, I) that make
        VAE samples unrealistic), or the standard normal prior.
    prior_components : int, default=10
    autoregressive : bool, default=True
        Let each column's output heads also see the previous columns' cells (table
        order), so the decoder models ``p(x_j | z, x_<j)`` instead of drawing every cell
        independently given ``z``. Keeps tightly linked columns consistent (a label
        given the features, ``education`` and ``education-num``); sampling then fills
        the columns one at a time (docs/benchmarks.md has what it buys on adult). Put
        the columns you care most about predicting last.
    mask_rate : float, default=0.0
        Share of observed cells hidden from the encoder during training. Raise it (0.2)
        when the VAE is mainly for imputation: the posterior then learns to work from
        partial rows. It costs some sample fidelity.
    gaussian_blend : bool or "auto", default="auto"
        Blend an EM Gaussian's conditional mean into numeric imputations (as in
        :class:`DenoisingAE`; weights per column fitted on held-out hidden cells).
        ``"auto"``: on, unless ``numeric_encoding="mode"`` (whose codes are not one
        value per column). On by default here: a VAE trained without hidden cells guesses them less well than
        a denoising model, and the blend brings its numeric fills within 5% of
        :class:`tabae.AEImputer`'s on the real-table benchmark (docs/benchmarks.md).
        Sampling does not use it, and its random draws are its own: a model samples the
        same rows with or without it.
    neighbour_blend : int or "auto", default="auto"
        ``"auto"``: 20, unless ``numeric_encoding="mode"`` (then 0). Blend the k nearest training rows' values into numeric imputations (as in
        :class:`DenoisingAE`); keeps up to 20,000 training rows in the model and its
        file. ``0`` turns it off (smaller files, no rows of the training table kept).
    category_blend : bool, default=False
        Also weigh a softmax classifier and a random forest per categorical column into
        categorical imputations (as :class:`DenoisingAE` does by default). Off here: the
        VAE is the generative model, and on tables with many categorical levels these
        fits cost more than training the network (on adult, 26,000 rows, ~40% of the
        fit); :meth:`sample` never uses them. Without them a categorical fill mixes the
        network, the column's frequencies and the neighbours' votes, and falls back on
        the column's mode where that mix does not clearly beat it. Turn it on for the
        best categorical imputations from a VAE, or use :class:`tabae.AEImputer`.
    spread_ties : bool, default=True
        While training, spread a value that holds half a numeric column or more (a spike
        at zero) uniformly over its share of the rank-Gauss code instead of one point
        (dequantisation; ``numeric_encoding="quantile"`` only). The Gaussian heads then
        fit the spike and the rest of the column together: on adult the samples' share
        of nonzero ``capital-gain`` moves from 2.4% to near the real 8%, and a
        classifier tells synthetic rows from real ones less well (C2ST .75 -> .82).
        Decoding is unchanged: every code in the spread interval maps back to the
        tied value exactly.
    {common}
    Examples
    --------
    >>> import tabae
    >>> df = tabae.datasets.load_adult().sample(2000, random_state=0)
    >>> vae = tabae.TabularVAE(epochs=5, random_state=0, verbose=False).fit(df)
    >>> vae.sample(3, random_state=0).shape
    (3, 15)
    """

    _variational = True
    # The defaults (latent 11, three layers of 179, learning rate 4.4e-3, beta .35,
    # warm-up 11, free bits .49) are the synthesis tuning's best adult trial; checked on
    # six tables (three seeds each), they raised the mean C2ST from .865 to .893 against
    # the earlier (32, two of 192, 2e-3, .5, 10, 0): better on four, level on yrbss,
    # worse on hmda (docs/benchmarks.md, "Synthesis"). The deeper network carries most
    # of it; a two-layer one with the same KL term lost on adult, yrbss and mn_police.
    # With the autoregressive decoder, 1,500 steps (~30 epochs on adult) sample about as
    # well as 2,700 in 60% of the time (docs/benchmarks.md).
    # The summed NLL of 15+ columns has large gradients: clipping them at 10 slowed the
    # label column's fit.
    _auto_steps = 1500
    _max_grad_norm = 100.0

    def __init__(
        self, *, latent_dim=11, hidden_dims=(179, 179, 179), epochs="auto", batch_size=512,
        learning_rate=4.4e-3, lr_schedule="constant", weight_decay=1e-5, dropout=0.0, validation_fraction=0.1, patience=20,
        numeric_encoding="quantile", numeric_loss="gaussian", mask_rate=0.0, beta=0.35,
        kl_warmup=11, free_bits=0.49, prior="gmm", prior_components=10, autoregressive=True,
        gaussian_blend="auto", neighbour_blend="auto", category_blend=False, spread_ties=True,
        kinds=None, n_jobs=None, device="auto", random_state=None, verbose=True,
    ):
        _store_params(self, locals())

    parameter_constraints = VAE_CONSTRAINTS

    def _warmup_epochs(self) -> int:
        return self.kl_warmup

    def _attach(self, encoder, net, device, frame_input) -> None:
        super()._attach(encoder, net, device, frame_input)
        # Training-only state (not saved): the ties the loss spreads.
        self._dominant_ties = DominantTies.find(encoder, self.span_index_, device) if self.spread_ties else None

    def _loss(self, x, m, hide, epoch, training):
        ties = getattr(self, "_dominant_ties", None)
        if training and ties is not None:
            x = ties.spread(x, m)
        return super()._loss(x, m, hide, epoch, training)

    def _ar_hidden(self) -> int:
        return int(tuple(self.hidden_dims)[0]) if self.autoregressive else 0

    def _latent(self, mu, logvar, sample):
        if not sample:
            return mu
        return mu + (0.5 * logvar).exp() * torch.randn_like(mu)

    def _penalty(self, x_in, mu, logvar, hidden, epoch, training):
        kl = kl_normal(mu, logvar).mean(0)  # (L,) batch-mean KL per latent dimension
        if self.free_bits > 0:
            kl = kl.clamp(min=self.free_bits)
        weight = self.beta
        if epoch is not None and self.kl_warmup > 0:
            weight = self.beta * min(1.0, (epoch + 1) / self.kl_warmup)
        return weight * kl.sum()

    # The generative side lives in tabae/synthesize.py.
    def _after_fit(self, X, M):
        from tabae.synthesize import fit_latent_prior, fit_sample_bias

        self.latent_prior_ = fit_latent_prior(self, X, M)
        self.sample_bias_ = fit_sample_bias(self, X, M)

    @model_threads
    def sample(self, n: int, random_state=None, conditions=None, start: int = 0):
        """Generate ``n`` new rows with the training schema and realistic holes.

        Parameters
        ----------
        n : int
            Number of rows.
        random_state : int, optional
        conditions : dict, optional
            Fix columns for every row: ``{"sex": "Female"}`` (a value),
            ``{"race": ["Black", "White"]}`` (any of these), ``{"age": (30, 40)}``
            (a closed numeric range), ``{"occupation": None}`` (missing).

        start : int, default=0
            Return rows ``start .. start + n - 1`` of the stream this ``random_state``
            generates (without conditions): ``sample(100, 0, start=100)`` equals
            ``sample(200, 0).iloc[100:]``. Row ``i`` depends on the seed and ``i`` alone,
            so partitions of a large sample can be made on separate workers.

        Returns
        -------
        DataFrame with a RangeIndex starting at ``start``.
        """
        from tabae.synthesize import generate

        self._check_fitted()
        return generate(self, n, random_state=random_state, conditions=conditions, start=start)

    def iter_samples(self, n: int, chunk_size: int = 50_000, random_state=None, conditions=None):
        """Yield ``n`` generated rows as frames of at most ``chunk_size`` rows (bounded memory)."""
        from tabae.synthesize import iter_generate

        self._check_fitted()
        chunks = iter_generate(self, n, chunk_size=chunk_size, random_state=random_state, conditions=conditions)
        return threaded_iter(chunks, self.n_jobs)

    def _extra_tensors(self):
        return {**self.latent_prior_, "sample_bias": self.sample_bias_}

    def _set_extra_tensors(self, tensors):
        tensors = dict(tensors)
        # files from before the categories' calibration have no offsets: none are used
        self.sample_bias_ = tensors.pop("sample_bias", None)
        self.latent_prior_ = tensors
