"""Declarative parameter constraints, checked at the top of ``fit`` before any work.

Each estimator lists, per parameter, the values it accepts (scikit-learn's
``_parameter_constraints`` idea): a list of alternatives, any one of which may match.
One table per class serves three purposes: every parameter is checked before training
(a typo must not cost a whole fit), error messages can say what *is* allowed, and the
tuner (:mod:`tabae.tuning`) reads the numeric ranges to build its search spaces.

Examples
--------
>>> from tabae.params import Interval, Options, check_params
>>> constraints = {"rate": [Interval(float, 0, 1, closed="left")], "mode": [Options("a", "b")]}
>>> check_params("Demo", {"rate": 0.5, "mode": "a"}, constraints)
>>> check_params("Demo", {"rate": 1.0, "mode": "a"}, constraints)
Traceback (most recent call last):
...
tabae.exceptions.TabaeError: Demo: rate=1.0 is not allowed; rate must be a float in [0, 1)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from tabae.exceptions import TabaeError

__all__ = [
    "Interval",
    "Options",
    "Boolean",
    "NoneValue",
    "Predicate",
    "check_params",
    "describe",
    "COUNT",
]


@dataclass(frozen=True)
class Interval:
    """A real or integer number in a range.

    ``kind`` is ``int`` (integers only) or ``float`` (any real number, ints included);
    ``low``/``high`` of None are unbounded; ``closed`` says which ends are included.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both" | "left" | "right" | "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind is int:
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left)):
            return False
        if self.high is not None and (value > self.high or (value == self.high and not right)):
            return False
        return True

    def describe(self) -> str:
        noun = "an int" if self.kind is int else "a float"
        if self.low is None and self.high is None:
            return noun
        if self.high is None:
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {self.low:g}"
        if self.low is None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {self.high:g}"
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        return f"{noun} in {lb}{self.low:g}, {self.high:g}{rb}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (usually strings)."""

    values: tuple

    def __init__(self, *values):
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (str, int, float)) and not isinstance(value, bool) and value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Boolean:
    """True or False (numpy booleans included)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class NoneValue:
    """``None`` (usually "use the default behaviour")."""

    def accepts(self, value: Any) -> bool:
        return value is None

    def describe(self) -> str:
        return "None"


@dataclass(frozen=True)
class Predicate:
    """Anything ``test`` accepts; ``text`` says what that is."""

    test: Callable[[Any], bool]
    text: str

    def accepts(self, value: Any) -> bool:
        try:
            return bool(self.test(value))
        except Exception:  # a predicate that cannot even look at the value rejects it
            return False

    def describe(self) -> str:
        return self.text


#: A count of things: an int >= 1 (booleans are not counts).
COUNT = Interval(int, 1)


def describe(alternatives) -> str:
    """``"a float in [0, 1) or None"`` for a parameter's list of alternatives."""
    return " or ".join(c.describe() for c in alternatives)


def check_params(owner: str, params: Mapping[str, Any], constraints: Mapping[str, list]) -> None:
    """Raise :class:`TabaeError` for the first parameter whose value no alternative accepts.

    Every parameter of ``params`` must have an entry in ``constraints`` (a parameter with
    no constraint is a bug in tabae, reported as such).
    """
    for name, value in params.items():
        if name not in constraints:
            raise TabaeError(f"{owner}: parameter {name!r} has no constraint (a tabae bug; please report it)")
        alternatives = constraints[name]
        if not any(c.accepts(value) for c in alternatives):
            raise TabaeError(f"{owner}: {name}={value!r} is not allowed; {name} must be {describe(alternatives)}")
