"""What each model parameter accepts: one table per class, checked before any work.

The tables are also the tuner's source of truth: :mod:`tabae.tuning` draws its default
search ranges inside these intervals and refuses a user's range that leaves them.
"""

from __future__ import annotations

import numbers

import numpy as np

from tabae.params import Boolean, Interval, NoneValue, Options, Predicate
from tabae.schema import KINDS

__all__ = ["SEED", "COMMON_CONSTRAINTS", "BLEND_CONSTRAINTS", "AUTOENCODER_CONSTRAINTS", "DAE_CONSTRAINTS", "VAE_CONSTRAINTS"]


def _hidden_dims(value) -> bool:
    dims = tuple(value)
    return len(dims) >= 1 and all(
        isinstance(h, numbers.Integral) and not isinstance(h, (bool, np.bool_)) and h >= 1 for h in dims
    )


def _kinds(value) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and v in KINDS for k, v in value.items())


def _device(value) -> bool:
    return isinstance(value, str) and (value in ("auto", "cpu", "cuda") or value.startswith("cuda:"))


#: What ``random_state`` accepts everywhere in tabae.
SEED = [
    NoneValue(),
    Interval(int, 0, 2**32 - 1),
    Predicate(lambda v: isinstance(v, np.random.Generator), "a numpy Generator"),
]

COMMON_CONSTRAINTS = {
    "latent_dim": [Interval(int, 1, None)],
    "hidden_dims": [Predicate(_hidden_dims, "a non-empty tuple of positive ints, e.g. (256, 256)")],
    "epochs": [Options("auto"), Interval(int, 1, None)],
    "batch_size": [Interval(int, 1, None)],
    "learning_rate": [Interval(float, 0, 1, closed="right")],
    "lr_schedule": [Options("constant", "cosine")],
    "weight_decay": [Interval(float, 0, None)],
    "dropout": [Interval(float, 0, 1, closed="left")],
    "validation_fraction": [Interval(float, 0, 1, closed="left")],
    "patience": [Interval(int, 0, None)],
    "numeric_encoding": [Options("quantile", "standard", "mode")],
    "numeric_loss": [Options("gaussian", "mse")],
    "kinds": [NoneValue(), Predicate(_kinds, f"a dict of column name -> one of {KINDS}")],
    "n_jobs": [NoneValue(), Options("auto", -1), Interval(int, 1, None)],
    "device": [Predicate(_device, "one of 'auto', 'cpu', 'cuda' or 'cuda:N'")],
    "random_state": SEED,
    "verbose": [Boolean()],
}

BLEND_CONSTRAINTS = {
    "gaussian_blend": [Boolean(), Options("auto")],
    "neighbour_blend": [Interval(int, 0, None), Options("auto")],
    "category_blend": [Boolean()],
}

AUTOENCODER_CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    **BLEND_CONSTRAINTS,
    "mask_rate": [Interval(float, 0, 1, closed="left")],
    "sparsity": [Interval(float, 0, None)],
    "contractive": [Interval(float, 0, None)],
}

DAE_CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    **BLEND_CONSTRAINTS,
    "mask_rate": [Interval(float, 0, 1, closed="left")],
    "swap_rate": [Interval(float, 0, 1, closed="left")],
}

VAE_CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    **BLEND_CONSTRAINTS,
    "mask_rate": [Interval(float, 0, 1, closed="left")],
    "beta": [Interval(float, 0, None)],
    "kl_warmup": [Interval(int, 0, None)],
    "free_bits": [Interval(float, 0, None)],
    "prior": [Options("gmm", "normal")],
    "prior_components": [Interval(int, 1, None)],
    "autoregressive": [Boolean()],
    "spread_ties": [Boolean()],
}
