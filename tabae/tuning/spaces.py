"""Search spaces: the default ranges per model, a user's overrides, and one trial's draw.

The default ranges lie inside each model's ``parameter_constraints``
(:mod:`tabae.models.constraints`): :func:`default_search_space` intersects a preferred
range with the constraint's interval, and :func:`resolve_search_space` refuses a user's
range or value that leaves it, before any trial runs.

``hidden_dims`` is searched as two numbers, ``width`` (units per hidden layer) and
``depth`` (hidden layers), since a tuple is not a value Optuna can search; fix
``hidden_dims`` itself to a tuple to take both out of the search.

Examples
--------
>>> from optuna.distributions import FloatDistribution
>>> from tabae.tuning.spaces import default_search_space
>>> space = default_search_space("dae", n_rows=1000)
>>> sorted(space)
['depth', 'epochs', 'latent_dim', 'learning_rate', 'mask_rate', 'swap_rate', 'width']
>>> space["mask_rate"]
FloatDistribution(high=0.7, log=False, low=0.05, step=None)
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Mapping

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from tabae.exceptions import TabaeError
from tabae.params import Interval, describe

__all__ = [
    "MODELS",
    "STRUCTURE",
    "SearchSpaceError",
    "build_model",
    "default_search_space",
    "resolve_search_space",
    "default_point",
    "check_params",
    "suggest",
    "to_json",
    "from_json",
]

#: Model names ``tune`` accepts and what each one is.
MODELS = {
    "vae": "TabularVAE",
    "dae": "DenoisingAE",
    "ae": "Autoencoder",
    "imputer": "the imputer's tuned DenoisingAE (tabae.impute.imputation_model)",
}

#: Search-only names that make ``hidden_dims = (width,) * depth``.
STRUCTURE = {"width": Interval(int, 1, None), "depth": Interval(int, 1, None)}

#: Parameters the tuner sets itself; a search space may not name them.
_RESERVED = {
    "random_state": "set tune(random_state=...) instead; each trial gets its own seed from it",
    "verbose": "trials always train quietly",
}

# Preferred ranges (low, high, log); each is cut to the parameter's constraint interval.
_COMMON = {
    "latent_dim": (int, 4, 64, True),
    "width": (int, 64, 512, True),
    "depth": (int, 1, 3, False),
    "learning_rate": (float, 3e-4, 1e-2, True),
}
_EXTRA = {
    "vae": {"beta": (float, 0.05, 2.0, True), "kl_warmup": (int, 0, 30, False), "free_bits": (float, 0.0, 0.5, False)},
    "dae": {"mask_rate": (float, 0.05, 0.7, False), "swap_rate": (float, 0.0, 0.3, False)},
    "ae": {},
    # Around imputation_model's choices: wide nets, cosine decay from a high rate, heavy masking.
    "imputer": {
        "latent_dim": (int, 8, 64, True),
        "width": (int, 128, 1024, True),
        "learning_rate": (float, 1e-3, 1e-2, True),
        "mask_rate": (float, 0.2, 0.7, False),
        "swap_rate": (float, 0.0, 0.2, False),
    },
}


class SearchSpaceError(TabaeError):
    """A search space names a parameter the model does not have (stops the study)."""


def build_model(model: str, n_rows: int, params: Mapping[str, Any] | None = None):
    """An unfitted model of kind ``model`` (see :data:`MODELS`) with ``params`` set."""
    import tabae.models as models
    from tabae.impute import imputation_model

    if model not in MODELS:
        raise TabaeError(f"model={model!r} is not known; choose one of {sorted(MODELS)}")
    if model == "imputer":
        estimator = imputation_model(n_rows, verbose=False)
    else:
        estimator = getattr(models, MODELS[model])(verbose=False)
    if params:
        estimator.set_params(**dict(params))
    return estimator


def _cut(name: str, kind: type, low: float, high: float, log: bool, constraints: Mapping) -> BaseDistribution:
    """``[low, high]`` cut to the first numeric interval of ``name``'s constraint."""
    interval = next((c for c in constraints[name] if isinstance(c, Interval)), None)
    if interval is not None:
        lo_open = interval.closed in ("right", "neither")
        hi_open = interval.closed in ("left", "neither")
        if interval.low is not None:
            low = max(low, interval.low + (1 if kind is int else 1e-9) * lo_open)
        if interval.high is not None:
            high = min(high, interval.high - (1 if kind is int else 1e-9) * hi_open)
    if kind is int:
        return IntDistribution(int(math.ceil(low)), int(math.floor(high)), log=log)
    return FloatDistribution(float(low), float(high), log=log)


def default_search_space(model: str = "vae", n_rows: int = 1000) -> dict[str, BaseDistribution]:
    """The ranges ``tune`` searches by default for ``model`` on a table of ``n_rows`` training rows.

    Every model: ``latent_dim``, ``width`` and ``depth`` (``hidden_dims``),
    ``learning_rate`` and ``epochs`` (from a quarter of ``epochs="auto"``'s budget to
    twice it, log-uniform, so a search can find that a table wants longer training
    than the default; early stopping and pruning end hopeless trials sooner). ``"vae"`` adds
    ``beta``, ``kl_warmup`` and ``free_bits``; ``"dae"`` and ``"imputer"`` add
    ``mask_rate`` and ``swap_rate``. The imputer's ranges centre on
    :func:`tabae.impute.imputation_model`'s choices (wide nets, high cosine-decayed
    learning rates, heavy masking).

    Parameters
    ----------
    model : {"vae", "dae", "ae", "imputer"}
    n_rows : int
        Training rows, which set the epochs range.

    Returns
    -------
    dict of str to optuna distribution
    """
    estimator = build_model(model, n_rows)
    constraints = {**estimator.parameter_constraints, **{k: [v] for k, v in STRUCTURE.items()}}
    preferred = {**_COMMON, **_EXTRA[model]}
    space = {name: _cut(name, *spec, constraints) for name, spec in preferred.items()}
    top = estimator.planned_epochs(max(int(n_rows), 1))  # the default budget (the imputer's, for "imputer")
    space["epochs"] = IntDistribution(max(1, top // 4), 2 * top, log=True)
    return space


def _ends(dist: BaseDistribution) -> list:
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, (IntDistribution, FloatDistribution)):
        return [dist.low, dist.high]
    raise TabaeError(
        f"{type(dist).__name__} is not a search range tabae can use; use optuna.distributions."
        "FloatDistribution, IntDistribution or CategoricalDistribution, or a plain value to fix"
    )


def _constraints(estimator) -> dict:
    return {**estimator.parameter_constraints, **{k: [v] for k, v in STRUCTURE.items()}}


def _check_name(name: str, estimator) -> None:
    if name in _RESERVED:
        raise SearchSpaceError(f"search_space names {name!r}: {_RESERVED[name]}")
    if name not in _constraints(estimator):
        known = sorted(estimator.get_params())
        raise SearchSpaceError(
            f"search_space names {name!r}, which {type(estimator).__name__} does not have; "
            f"its parameters are {known} (and 'width' and 'depth', which make hidden_dims)"
        )


def _accepts(name: str, value: Any, constraints: Mapping) -> bool:
    return any(c.accepts(value) for c in constraints[name])


def resolve_search_space(model: str, n_rows: int, search_space: Mapping | None) -> tuple[dict, dict]:
    """Merge a user's ``search_space`` dict into the defaults: ``(ranges, fixed values)``.

    Each entry is an optuna distribution (searched: narrows, widens or adds a
    parameter) or a plain value (fixed: taken out of the search). Raises
    :class:`~tabae.TabaeError` for a parameter the model lacks, or a range end, choice
    or value its constraints refuse.
    """
    estimator = build_model(model, n_rows)
    constraints = _constraints(estimator)
    ranges = default_search_space(model, n_rows)
    fixed: dict[str, Any] = {}
    user = dict(search_space or {})
    if "hidden_dims" in user and ({"width", "depth"} & set(user)):
        raise TabaeError("search_space gives hidden_dims and width/depth; give one or the other")
    if "hidden_dims" in user:
        ranges.pop("width", None)
        ranges.pop("depth", None)
    for name, value in user.items():
        _check_name(name, estimator)
        if isinstance(value, BaseDistribution):
            for end in _ends(value):
                if not _accepts(name, end, constraints):
                    raise TabaeError(
                        f"search_space[{name!r}] = {value} includes {end!r}, which {type(estimator).__name__} "
                        f"refuses: {name} must be {describe(constraints[name])}; narrow the range"
                    )
            if name == "hidden_dims":
                raise TabaeError("hidden_dims cannot be searched directly; search 'width' and 'depth', or fix a tuple")
            ranges[name] = value
            fixed.pop(name, None)
        else:
            if isinstance(value, list):
                value = tuple(value)
            if not _accepts(name, value, constraints):
                raise TabaeError(
                    f"search_space[{name!r}] = {value!r} is refused by {type(estimator).__name__}: "
                    f"{name} must be {describe(constraints[name])}"
                )
            fixed[name] = value
            ranges.pop(name, None)
    return ranges, fixed


def default_point(model: str, n_rows: int, ranges: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """The model's own defaults (for ``n_rows`` training rows), as values of ``ranges``.

    ``tune`` runs this point as a study's first trial, so the best trial is never worse
    on the validation objective than the defaults it is meant to beat. A parameter whose
    default lies outside its (user-narrowed) range is left to the sampler.
    """
    estimator = build_model(model, n_rows)
    params = dict(estimator.get_params())
    hidden = tuple(params.get("hidden_dims", ()))
    if hidden:
        params["width"], params["depth"] = int(hidden[0]), len(hidden)
    params["epochs"] = estimator.planned_epochs(n_rows)
    point = {}
    for name, dist in ranges.items():
        value = params.get(name)
        if value is None or isinstance(value, bool) and not isinstance(dist, CategoricalDistribution):
            continue
        if isinstance(dist, CategoricalDistribution):
            if value in dist.choices:
                point[name] = value
        elif isinstance(value, numbers.Real) and dist.low <= value <= dist.high and _on_grid(value, dist):
            point[name] = int(value) if isinstance(dist, IntDistribution) else float(value)
    return point


def _on_grid(value: float, dist) -> bool:
    """Whether ``value`` is one of the values a stepped range can draw."""
    if dist.step is None:
        return True
    steps = (value - dist.low) / dist.step
    return abs(steps - round(steps)) < 1e-9


def suggest(trial, ranges: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Draw one value per range through the trial's public ``suggest_*`` methods."""
    out = {}
    for name, dist in ranges.items():
        if isinstance(dist, IntDistribution):
            out[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        elif isinstance(dist, FloatDistribution):
            out[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            out[name] = trial.suggest_categorical(name, list(dist.choices))
    return out


def check_params(model: str, n_rows: int, params: Mapping[str, Any]) -> dict[str, Any]:
    """Model parameters from a trial's draw: ``width``/``depth`` become ``hidden_dims``.

    Unknown names raise :class:`SearchSpaceError` (the study stops: a typo); values the
    model refuses raise :class:`~tabae.TabaeError` (the trial is pruned, the study goes on).
    """
    estimator = build_model(model, n_rows)
    constraints = _constraints(estimator)
    if not isinstance(params, Mapping):
        raise SearchSpaceError(f"a search_space callable must return a dict of parameters, got {type(params).__name__}")
    params = dict(params)
    for name, value in params.items():
        _check_name(name, estimator)
        if isinstance(value, list):
            params[name] = value = tuple(value)
        if not _accepts(name, value, constraints):
            raise TabaeError(f"{name}={value!r} is refused: {name} must be {describe(constraints[name])}")
    if "width" in params or "depth" in params:
        base = tuple(estimator.get_params()["hidden_dims"])
        width = int(params.pop("width", base[0]))
        depth = int(params.pop("depth", len(base)))
        params["hidden_dims"] = (width,) * depth
    return params


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """Model parameters as JSON values (tuples become lists), for trial attributes."""
    return {name: _plain(value) for name, value in params.items()}


def from_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`to_json` for model parameters (``hidden_dims`` is a tuple)."""
    out = dict(params)
    if isinstance(out.get("hidden_dims"), list):
        out["hidden_dims"] = tuple(int(h) for h in out["hidden_dims"])
    return out


SearchSpace = Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None
