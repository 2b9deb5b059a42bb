"""Exceptions and warnings raised by tabae.

Every user mistake raises a :class:`TabaeError` (or a child) whose message names the
column or argument, the bad value, and what to do next.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "TabaeError",
    "SchemaError",
    "NotFittedError",
    "ModelFileError",
    "TabaeWarning",
]


class TabaeError(ValueError):
    """Root of every error tabae raises on bad input or misuse.

    It subclasses :class:`ValueError` so that code written for scikit-learn's
    conventions (``except ValueError``) keeps working.
    """


class SchemaError(TabaeError):
    """A frame does not match what tabae can encode, or what a model was fitted on."""


class NotFittedError(TabaeError, _SklearnNotFittedError):
    """A method that needs a fitted model was called before ``fit``.

    It is also scikit-learn's ``NotFittedError`` (hence a ``ValueError`` and an
    ``AttributeError``), so ``except NotFittedError`` works with either library's name.
    """


class ModelFileError(TabaeError):
    """A saved model file is unreadable, tampered with, or from an incompatible version."""


class TabaeWarning(UserWarning):
    """Something was handled automatically but the user may want to know (e.g. unseen categories)."""
